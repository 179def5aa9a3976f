import type { Browser, BrowserContext } from 'playwright-core';
import { fileViewerApp } from '../../src/cli/view-command';
import { FileViewerSource } from '../../src/viewer/file-source';
import { serveLocally } from '../../src/viewer/local-server';
import { accessibilityViolations, cspViolations, launchChromium, screenshot, screenshotOf } from '../support/browser';
import { startFakeLlmServer, type FakeLlmServer } from '../support/fake-llm-server';
import { BROKEN_ON_BRANCH, triageReports } from '../support/triage-fixture';

/**
 * The triage pages in Debian's Chromium over the reports the real engine wrote: typing a search, sorting by a
 * header, filtering, choosing columns, walking cases with the keyboard, a comparison by case and targets side by
 * side; each page under the viewer's policy, at desk and phone width, light and dark, with no serious axe-core
 * violation. Screenshots go to test-artifacts/viewer/ (the README shows three of them).
 */
let fake: FakeLlmServer;
let browser: Browser;
let served: Awaited<ReturnType<typeof serveLocally>>;
const id = (i: number) => `order-${String(i).padStart(2, '0')}`;

beforeAll(async () => {
  fake = await startFakeLlmServer();
  const [{ base, head, matrix }, launched] = await Promise.all([triageReports(fake), launchChromium()]);
  browser = launched;
  const source = new FileViewerSource([
    { id: 'report', file: 'head.json', report: head },
    { id: 'baseline', file: 'base.json', report: base },
    { id: 'matrix', file: 'matrix.json', report: matrix },
  ]);
  served = await serveLocally(fileViewerApp(source), { port: 0 });
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await served?.close();
  await fake?.close();
});

const url = (path: string) => `${served.url}${path}`;
const rowIds = (context: BrowserContext) => async (page = context.pages()[0]) => page.locator('table[data-grid] tbody tr th a').allInnerTexts();

test('the grid: search as you type and press Enter, sort by a header, filter by metadata, pick columns', async () => {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
  const refused = cspViolations(page);
  const ids = rowIds(context);
  // The runs list fits the desk: every column, the gate and when it started included.
  await page.goto(url('/'));
  expect(await page.evaluate('document.documentElement.scrollWidth')).toBe(1440);
  expect(await page.getByRole('region', { name: 'Runs' }).evaluate((region) => region.scrollWidth <= region.clientWidth)).toBe(true);
  expect(await page.getByRole('columnheader', { name: 'Started' }).isVisible()).toBe(true);
  await page.goto(url('/runs/report?cols=1&col=input&col=output&col=expected&col=meta:locale'));
  await screenshot(page, 'grid');
  await screenshotOf(page.locator('section:has(> #cases) table[data-grid]'), 'readme-grid');
  // "/" puts the cursor in the search; the marks show where the text matched.
  await page.keyboard.press('/');
  await page.keyboard.type('order 19?');
  await page.keyboard.press('Enter');
  await page.waitForURL(/q=order\+19%3F/);
  expect(await ids()).toEqual(['order-19']);
  expect(await page.locator('table[data-grid] mark').first().innerText()).toBe('order 19?');
  await page.getByRole('link', { name: 'Clear filters' }).click();
  // A header sorts; a second click turns the order round.
  await page.locator('table[data-grid] thead').getByRole('link', { name: 'faithfulness' }).click();
  await page.waitForURL(/sort=score%3Afaithfulness/);
  expect((await ids()).slice(0, 5).sort()).toEqual(BROKEN_ON_BRANCH.map(id));
  expect(await page.locator('th[aria-sort="ascending"]').innerText()).toMatch(/faithfulness/);
  await page.locator('table[data-grid] thead').getByRole('link', { name: 'faithfulness' }).click();
  await page.waitForURL(/dir=desc/);
  expect(await page.locator('th[aria-sort="descending"]').innerText()).toMatch(/faithfulness/);
  // A metadata filter applies as soon as it is chosen, and keeps the sort.
  await page.getByLabel('Metadata').selectOption('locale=de-DE');
  await page.waitForURL(/meta=locale%3Dde-DE/);
  expect(page.url()).toMatch(/sort=score%3Afaithfulness/);
  expect(await ids()).toHaveLength(10);
  // Columns: add the tier, drop the expected output.
  await page.locator('details.columns summary').click();
  await page.getByRole('checkbox', { name: 'tier' }).check();
  await page.getByRole('checkbox', { name: 'Expected output' }).uncheck();
  await page.getByRole('button', { name: 'Show these columns' }).click();
  await page.waitForURL(/col=meta%3Atier/);
  expect(await page.locator('table[data-grid] thead').innerText()).toMatch(/tier/);
  expect(await page.locator('table[data-grid] thead').innerText()).not.toMatch(/Expected output/);
  expect(page.url()).toMatch(/meta=locale%3Dde-DE/);
  // A long output expands in place, without a script.
  const reason = page.locator('table[data-grid] details.reason').first();
  await reason.locator('summary').click();
  expect(await reason.locator('.why').isVisible()).toBe(true);
  expect(refused).toEqual([]);
  await context.close();
});

test('the keyboard walks the grid and the cases: j and k, Enter, then j, k and u on a case page', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await page.goto(url('/runs/report?status=failed'));
  await page.keyboard.press('j');
  await page.keyboard.press('j');
  await page.keyboard.press('k');
  await page.keyboard.press('j');
  expect(await page.locator('tr.current th a').innerText()).toBe(id(BROKEN_ON_BRANCH[1]));
  await page.keyboard.press('Enter');
  await page.waitForURL(new RegExp(`/cases/${BROKEN_ON_BRANCH[1]}\\?status=failed$`));
  expect(await page.locator('nav.case-nav').innerText()).toMatch(/2 of 5/);
  await page.keyboard.press('j');
  await page.waitForURL(new RegExp(`/cases/${BROKEN_ON_BRANCH[2]}\\?status=failed$`));
  await page.keyboard.press('ArrowLeft');
  await page.waitForURL(new RegExp(`/cases/${BROKEN_ON_BRANCH[1]}\\?status=failed$`));
  await page.keyboard.press('u');
  await page.waitForURL(/\/runs\/report\?status=failed#cases$/);
  await context.close();
});

test('a comparison by case and two targets side by side, at desk and phone width, in dark mode too', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const refused = cspViolations(page);
  await page.goto(url('/compare?base=baseline&head=report'));
  const regressed = page.getByRole('region', { name: 'Regressed cases' });
  expect(await regressed.locator('tbody > tr > th').allInnerTexts()).toEqual(BROKEN_ON_BRANCH.map(id));
  await screenshot(page, 'compare-by-case');
  await screenshotOf(page.locator('section:has(> #regressions)'), 'readme-compare');
  await page.goto(url('/compare?base=matrix&head=matrix&base_target=gpt-4o-mini&head_target=haiku'));
  const first = page.locator('#reworded ~ details').first();
  await first.locator('summary').click();
  expect(await first.locator('ins').first().isVisible()).toBe(true);
  await screenshot(page, 'compare-targets');
  await page.goto(url('/side-by-side?runs=matrix:gpt-4o-mini,matrix:haiku'));
  await screenshot(page, 'side-by-side-files');
  expect(refused).toEqual([]);

  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true });
  const small = await phone.newPage();
  for (const path of ['/runs/report', '/compare?base=baseline&head=report', '/runs/report/cases/3', '/side-by-side?runs=matrix:gpt-4o-mini,matrix:haiku', '/trends']) {
    await small.goto(url(path));
    expect({ path, width: await small.evaluate('document.documentElement.scrollWidth') }).toEqual({ path, width: 390 });
  }
  await screenshot(small, 'grid-phone');

  const dark = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: 'dark' });
  const night = await dark.newPage();
  await night.goto(url('/runs/report'));
  expect(await night.evaluate(`getComputedStyle(document.documentElement).backgroundColor`)).toBe('rgb(13, 17, 23)');
  await screenshot(night, 'grid-dark');
  for (const path of ['/runs/report', '/compare?base=baseline&head=report']) {
    expect({ path, violations: await accessibilityViolations(browser, dark, url(path)) }).toEqual({ path, violations: [] });
  }
  await Promise.all([context.close(), phone.close(), dark.close()]);
});

test('no serious accessibility violation on any triage page', async () => {
  const context = await browser.newContext();
  const paths = [
    '/',
    '/runs/report',
    '/runs/report?q=leeds&sort=score:faithfulness&cols=1&col=input&col=output&col=meta:tier&col=latency&col=cost',
    '/runs/report/cases/3?status=failed',
    '/runs/matrix',
    '/compare?base=baseline&head=report',
    '/compare?base=matrix&head=matrix&base_target=gpt-4o-mini&head_target=haiku',
    '/side-by-side?runs=matrix:gpt-4o-mini,matrix:haiku',
    '/trends?metric=faithfulness',
    '/nowhere',
  ];
  for (const path of paths) expect({ path, violations: await accessibilityViolations(browser, context, url(path)) }).toEqual({ path, violations: [] });
  await context.close();
});
