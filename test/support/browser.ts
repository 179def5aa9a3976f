import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { chromium } from 'playwright-core';
import { ROOT } from './platform';

/** Where the browser tests write their screenshots (a CI artifact; not committed). */
export const ARTIFACTS = join(ROOT, 'test-artifacts/viewer');

/**
 * Debian's Chromium (installed before the tests by scripts/ensure-test-tools.js), headless, driven by
 * playwright-core, which downloads no browser. The flags keep it off the network it cannot reach here.
 */
export async function launchChromium(): Promise<Browser> {
  mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
}

/** A screenshot of the whole page, named for the step it shows. */
export async function screenshot(page: Page, name: string): Promise<string> {
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** A screenshot of one part of a page (a section), at most `maxHeight` pixels of it from its top: for the README. */
export async function screenshotOf(locator: Locator, name: string, maxHeight = 820): Promise<string> {
  const path = join(ARTIFACTS, `${name}.png`);
  await locator.scrollIntoViewIfNeeded();
  const box = await locator.boundingBox();
  if (!box) throw new Error(`${name}: nothing to photograph`);
  const scroll = (await locator.page().evaluate('[window.scrollX, window.scrollY]')) as [number, number];
  await locator.page().screenshot({ path, fullPage: true, clip: { x: box.x + scroll[0], y: box.y + scroll[1], width: box.width, height: Math.min(box.height, maxHeight) } });
  return path;
}

/** What a page's Content-Security-Policy refused (console errors the browser logs), collected as the test goes. */
export function cspViolations(page: Page): string[] {
  const seen: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error' && /Content Security Policy/i.test(message.text())) seen.push(message.text());
  });
  return seen;
}

/**
 * axe-core's serious and critical accessibility violations on the page at `url`, checked in a context of its
 * own that may inject the checker (the viewer's policy forbids inline scripts, as it should).
 */
export async function accessibilityViolations(browser: Browser, from: BrowserContext, url: string, viewport = { width: 1280, height: 900 }): Promise<string[]> {
  const context = await browser.newContext({ bypassCSP: true, storageState: await from.storageState(), viewport });
  try {
    const page = await context.newPage();
    await page.goto(url);
    await page.addScriptTag({ content: readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8') });
    const results = (await page.evaluate(`axe.run(document, { resultTypes: ['violations'] })`)) as {
      violations: Array<{ id: string; impact: string | null; help: string; nodes: Array<{ target: string[] }> }>;
    };
    return results.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id} (${v.impact}): ${v.help}: ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join('; ')}`);
  } finally {
    await context.close();
  }
}
