import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { createClient } from '@clickhouse/client';
import { accessibilityViolations, cspViolations, launchChromium, screenshot, screenshotOf } from '../support/browser';
import { TEST_OPENAI_KEY } from '../support/engine';
import { echoTruths, startFakeLlmServer, type FakeLlmServer, type FakeRequest, type FakeReply } from '../support/fake-llm-server';
import { createTestDatabase, deleteRedisPrefix, ROOT, spawnClickhouse, spawnService, TEST_REDIS_URL, uniqueName, until, type ChildService } from '../support/platform';

/**
 * The viewer as its users meet it: a real orchestrator and worker (Postgres, Redis, chdb, the fake LLM behind
 * the OpenAI SDK), runs submitted by `evalctl run --server`, and Debian's Chromium driven by playwright-core.
 */
let fake: FakeLlmServer;
let database: Awaited<ReturnType<typeof createTestDatabase>>;
let clickhouse: Awaited<ReturnType<typeof spawnClickhouse>>;
let env: NodeJS.ProcessEnv;
let orchestrator: ChildService;
let worker: ChildService;
let browser: Browser;
let work: string;
let alphaKey: string;
let betaKey: string;
let gammaKey: string;
const prefix = uniqueName('bqview');
const runs: { base: string; head: string; other: string; beta: string; matrix: string[] } = { base: '', head: '', other: '', beta: '', matrix: [] };

function evalctl(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [join(ROOT, 'bin/evalctl.js'), ...args], { cwd: work, env: { PATH: process.env.PATH, ...env, ...extraEnv } }, (error, stdout, stderr) =>
      done({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** The judge finds the second claim contradicted when the context says "Mars"; the agent answers briefly. */
function script(request: FakeRequest): FakeReply {
  if (request.schemaName === 'claims') return { json: { claims: ['The order ships in two days.', 'It ships from the warehouse.'] } };
  if (request.schemaName === 'truths') return echoTruths(request);
  if (request.schemaName === 'topic_labels') return { json: { labels: request.prompt.split('\n').filter((l) => /^\d+\. /.test(l)).map(() => 'Other') } };
  if (request.schemaName === 'claim_verdicts') {
    const bad = request.prompt.includes('Mars');
    return {
      json: {
        verdicts: [
          { reason: 'The context says two days.', verdict: 'yes' },
          { reason: bad ? 'The context says it ships from Mars, not the warehouse.' : 'The context names the warehouse.', verdict: bad ? 'no' : 'yes' },
        ],
      },
    };
  }
  return { text: `Answer: your order ships in two days from the warehouse. (${request.prompt.slice(0, 30)})`, usage: { input: 40, output: 18 } };
}

function suiteFile(name: string, mars: (i: number) => boolean, matrix = false): string {
  const cases = Array.from({ length: 12 }, (_, i) => ({
    id: `order-${i}`,
    // Case 11's customer pastes a key: stored redacted, in the result and in what was sent to each LLM.
    input: i === 11 ? `Where is my order ${i}? My key is ${TEST_OPENAI_KEY}` : `Where is my order ${i}?`,
    retrieval_context: [mars(i) ? `Order ${i} ships from Mars within two days.` : `Order ${i} ships from the warehouse within two days.`],
    topic: i % 3 === 0 ? 'shipping' : 'refunds',
    tags: i % 2 ? ['priority'] : [],
  }));
  const path = join(work, `${name}.json`);
  writeFileSync(
    path,
    JSON.stringify({
      name: 'support-bot',
      ...(matrix ? { targets: [{ type: 'openai', model: 'gpt-4o-mini' }, { type: 'openai', model: 'gpt-4.1-mini' }] } : { target: { type: 'openai', model: 'gpt-4o-mini', system_prompt: 'You are the shop assistant.' } }),
      judge: { provider: 'openai', model: 'gpt-4o-mini' },
      metrics: [{ name: 'faithfulness', threshold: 0.9 }, { name: 'icontains', value: 'answer' }],
      cases,
    }),
  );
  return path;
}

/** `evalctl run --server` as CI would, on a branch and commit; the report it writes. */
async function runOnPlatform(key: string, name: string, mars: (i: number) => boolean, build: { branch: string; sha: string }, matrix = false): Promise<{ id: string; ids: string[]; report: string }> {
  const report = join(work, `${name}-report.json`);
  const result = await evalctl(['run', suiteFile(name, mars, matrix), '--server', orchestrator.url, '--output-json', report], {
    EVAL_API_KEY: key,
    EVAL_BRANCH: build.branch,
    EVAL_GIT_SHA: build.sha,
  });
  expect(result.stderr).not.toMatch(/evalctl: /);
  const written = JSON.parse(readFileSync(report, 'utf8'));
  return { id: written.platform.runs[0].run_id, ids: written.platform.runs.map((r: { run_id: string }) => r.run_id), report };
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'viewer-'));
  fake = await startFakeLlmServer({ script });
  [database, clickhouse, browser] = await Promise.all([createTestDatabase(), spawnClickhouse(), launchChromium()]);
  env = {
    DATABASE_URL: database.url,
    REDIS_URL: TEST_REDIS_URL,
    QUEUE_PREFIX: prefix,
    CLICKHOUSE_URL: clickhouse.url,
    CLICKHOUSE_DATABASE: uniqueName('evals'),
    OPENAI_BASE_URL: fake.openaiBaseUrl,
    OPENAI_API_KEY: TEST_OPENAI_KEY,
    WORKER_CONCURRENCY: '8',
    LLM_RETRY_BASE_DELAY_MS: '5',
    LLM_RETRY_MAX_DELAY_MS: '20',
  };
  expect((await evalctl(['migrate'])).stdout).toContain('2026-12-01-0001-viewer');
  alphaKey = (await evalctl(['keys', 'create', '--project', 'alpha'])).stdout.trim();
  betaKey = (await evalctl(['keys', 'create', '--project', 'beta'])).stdout.trim();
  gammaKey = (await evalctl(['keys', 'create', '--project', 'gamma'])).stdout.trim();
  // The operator keeps no text of beta's LLM calls.
  const off = await evalctl(['projects', 'set', 'beta', '--llm-call-bodies', 'off']);
  expect(off.stderr).toMatch(/^project beta: the workers store no text of its LLM calls from now on/);
  expect((await evalctl(['projects', 'set', 'nobody', '--llm-call-bodies', 'off'])).code).toBe(2);
  [orchestrator, worker] = await Promise.all([spawnService('serve', env), spawnService('work', env)]);
  // main fails two cases; the pull request's head fails five (three of them newly); beta is another project.
  const [base, beta] = await Promise.all([
    runOnPlatform(alphaKey, 'base', (i) => i < 2, { branch: 'main', sha: 'aaaa1111bbbb' }),
    runOnPlatform(betaKey, 'beta', () => false, { branch: 'main', sha: 'beta0000' }),
  ]);
  const head = await runOnPlatform(alphaKey, 'head', (i) => i < 5, { branch: 'feature/shipping', sha: 'cccc2222dddd' });
  const [other, matrix] = await Promise.all([
    runOnPlatform(alphaKey, 'other', () => false, { branch: 'main', sha: 'eeee3333' }),
    // One suite against two models, submitted over HTTP: a run per target, of one build.
    runOnPlatform(gammaKey, 'matrix', (i) => i === 3, { branch: 'main', sha: 'ffff4444' }, true),
  ]);
  Object.assign(runs, { base: base.id, head: head.id, other: other.id, beta: beta.id, matrix: matrix.ids });
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await Promise.all([orchestrator, worker].filter(Boolean).map((s) => s.stop('SIGKILL')));
  await Promise.allSettled([database?.drop(), clickhouse?.stop(), deleteRedisPrefix(TEST_REDIS_URL, prefix), fake?.close()]);
  rmSync(work, { recursive: true, force: true });
}, 60_000);

const ui = (path: string) => `${orchestrator.url}/ui${path}`;

async function signIn(context: BrowserContext, next: string, key = alphaKey): Promise<Page> {
  const page = await context.newPage();
  await page.goto(ui(next));
  // Not signed in: the sign-in page, which comes back to the page asked for.
  await page.getByLabel('Project API key').fill(key);
  await page.getByLabel(/Your name/).fill('Ana Reviewer');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((url) => url.pathname === `/ui${next}`);
  return page;
}

test('sign in, open a run with failures, drill into a case, review it and watch the agreement rate move', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await signIn(context, `/runs/${runs.head}`);
  const refused = cspViolations(page);
  await page.reload();

  // The run: its gate verdict, metrics against thresholds, and the failed cases first.
  expect(await page.locator('h1').innerText()).toMatch(/support-bot/);
  expect(await page.locator('#gate').innerText()).toMatch(/failed/);
  const metricsTable = page.getByRole('region', { name: 'Metrics' });
  expect(await metricsTable.getByRole('row', { name: /faithfulness/ }).innerText()).toMatch(/≥ 0\.9\s+7\s+5\s+0/);
  const caseRows = page.getByRole('region', { name: 'Cases' }).locator('tbody tr');
  expect(await caseRows.count()).toBe(12);
  const statuses = await caseRows.locator('td:nth-child(3)').allInnerTexts();
  expect(statuses.slice(0, 5)).toEqual(['failed', 'failed', 'failed', 'failed', 'failed']);
  expect(statuses.slice(5)).toEqual(Array(7).fill('passed'));
  // The topics come from ClickHouse, which the outbox fills shortly after the run's last case.
  await until(async () => {
    await page.reload();
    return (await page.getByRole('region', { name: 'Fail rate by topic' }).count()) === 1;
  }, 'the run’s topics in the viewer', 30_000, 500);
  expect(await page.getByRole('region', { name: 'Fail rate by topic' }).innerText()).toMatch(/shipping\s+4\s+2\s+50\.0 %/);
  // The stylesheet came from the viewer itself under its policy, and nothing was refused.
  expect(await page.evaluate(`getComputedStyle(document.querySelector('header.top')).display`)).toBe('flex');
  await screenshot(page, 'run');

  // Filters: by topic, and the cases where a metric did not pass.
  await page.getByRole('combobox', { name: 'Topic' }).selectOption('shipping');
  await page.waitForURL(/topic=shipping/);
  expect(await page.getByRole('region', { name: 'Cases' }).locator('tbody tr').count()).toBe(4);
  await page.goto(ui(`/runs/${runs.head}?metric=faithfulness`));
  expect(await page.getByRole('region', { name: 'Cases' }).locator('tbody tr').count()).toBe(5);

  // A failed case: what went in, what came out, the judge's verdicts and its LLM calls.
  // order-2 fails on this branch only (main passed it): the judge saw a new context, so its calls are not all answered from the cache.
  await page.getByRole('link', { name: 'order-2', exact: true }).click();
  // The case page keeps the grid's filter: its previous and next walk the cases where faithfulness did not pass.
  await page.waitForURL(/\/cases\/2\?metric=faithfulness$/);
  expect(await page.locator('h1').innerText()).toMatch(/order-2\s+failed/);
  expect(await page.getByText('Order 2 ships from Mars within two days.').first().isVisible()).toBe(true);
  expect(await page.locator('#metric-faithfulness').innerText()).toMatch(/0\.5 \(threshold ≥ 0\.9\)[\s\S]*ships from Mars, not the warehouse/);
  // The calls reach ClickHouse through the outbox: the target, then the judge's claims, truths and verdicts.
  await until(async () => {
    await page.reload();
    return (await page.getByRole('region', { name: 'LLM calls' }).locator('tbody tr').count()) === 4;
  }, 'the case’s LLM calls in the viewer', 30_000, 500);
  const calls = await page.getByRole('region', { name: 'LLM calls' }).innerText();
  expect(calls).toMatch(/1\s+target\s+reply\s+openai gpt-4o-mini\s+ok/);
  expect(calls).toMatch(/judge\s+faithfulness · claim_verdicts\s+openai gpt-4o-mini\s+ok\s+\d+/);
  // What was sent and what came back, call by call: the target with its system prompt, the judge's steps.
  expect(await page.getByRole('region', { name: 'call 1: system prompt' }).innerText()).toBe('You are the shop assistant.');
  expect(await page.getByRole('region', { name: 'call 1: message 1 (user)' }).innerText()).toBe('Where is my order 2?');
  expect(await page.getByRole('region', { name: 'call 1: reply' }).innerText()).toMatch(/^Answer: your order ships in two days from the warehouse/);
  const verdicts = page.locator('details.call', { hasText: 'faithfulness · claim_verdicts' });
  expect(await verdicts.innerText()).toMatch(/Order 2 ships from Mars within two days\.[\s\S]*Reply[\s\S]*ships from Mars, not the warehouse/);
  // The metric names the calls it made, each a link to what it sent.
  const served = page.locator('#metric-faithfulness').getByRole('link', { name: /claim_verdicts/ });
  expect(await served.getAttribute('href')).toMatch(/^#call-\d$/);
  await screenshot(page, 'calls');
  await screenshotOf(page.locator('div.calls'), 'readme-calls');
  await page.goto(ui(`/runs/${runs.head}/cases/11`));
  await until(async () => {
    await page.reload();
    return (await page.locator('details.call').count()) > 0;
  }, 'case 11’s calls in the viewer', 30_000, 500);
  const sent = await page.locator('section:has(> #calls)').innerText();
  expect(sent).toContain('My key is [REDACTED]');
  expect(sent).not.toContain(TEST_OPENAI_KEY);
  await page.goto(ui(`/runs/${runs.head}/cases/2?metric=faithfulness`));
  await screenshot(page, 'case');

  // A review beside the score: disagree with the judge's fail.
  const review = page.getByRole('form', { name: 'Your review of faithfulness' });
  await review.getByRole('radio', { name: 'Disagree' }).check();
  await review.getByLabel('Comment (optional)').fill('The context is a template error; the answer is right.');
  await review.getByRole('button', { name: 'Save review' }).click();
  await page.waitForURL(/saved=faithfulness/);
  expect(await page.getByRole('status').innerText()).toMatch(/Review saved/);
  expect(await page.locator('#metric-faithfulness').innerText()).toMatch(/0\.5 \(threshold/);
  expect(await page.locator('#metric-faithfulness').innerText()).toMatch(/Ana Reviewer disagrees \(should be pass\)/);
  await page.goto(ui('/agreement'));
  expect(await page.getByRole('row', { name: /faithfulness/ }).innerText()).toMatch(/faithfulness\s+1\s+0\s+0\.0 %\s+0\.00\s+0\s+1/);

  // A second review, agreeing on a passed case: the rate moves, and kappa can be computed.
  await page.goto(ui(`/runs/${runs.head}/cases/7`));
  const second = page.getByRole('form', { name: 'Your review of faithfulness' });
  await second.getByRole('radio', { name: 'Agree with the judge' }).check();
  await second.getByRole('button', { name: 'Save review' }).click();
  await page.waitForURL(/saved=faithfulness/);
  await page.goto(ui('/agreement'));
  expect(await page.getByRole('row', { name: /faithfulness/ }).innerText()).toMatch(/faithfulness\s+2\s+1\s+50\.0 %\s+0\.00/);
  await screenshot(page, 'agreement');
  await page.goto(ui(`/runs/${runs.head}`));
  expect(await page.getByRole('region', { name: 'Metrics' }).getByRole('row', { name: /faithfulness/ }).innerText()).toMatch(/50\.0 % of 2 reviews · κ 0\.00/);

  // The same figures through the API and on the orchestrator's /metrics; the score itself never changed.
  const api: any = await (await fetch(`${orchestrator.url}/v1/agreement`, { headers: { authorization: `Bearer ${alphaKey}` } })).json();
  expect(api.metrics).toEqual([{ metric: 'faithfulness', reviews: 2, agreed: 1, agreement_rate: 0.5, kappa: 0, confusion: { pass_pass: 1, pass_fail: 0, fail_pass: 1, fail_fail: 0 } }]);
  const reviews: any = await (await fetch(`${orchestrator.url}/v1/runs/${runs.head}/reviews`, { headers: { authorization: `Bearer ${alphaKey}` } })).json();
  expect(reviews.reviews.map((r: { case_index: number; agree: boolean; reviewer: string }) => [r.case_index, r.agree, r.reviewer])).toEqual([
    [2, false, 'Ana Reviewer'],
    [7, true, 'Ana Reviewer'],
  ]);
  const metricsText = await (await fetch(`${orchestrator.url}/metrics`)).text();
  expect(metricsText).toMatch(/eval_judge_agreement_ratio\{[^}]*project="alpha"[^}]*metric="faithfulness"[^}]*\} 0\.5/);
  expect(metricsText).toMatch(/eval_judge_reviews\{[^}]*project="alpha"[^}]*\} 2/);
  const results: any = await (await fetch(`${orchestrator.url}/v1/runs/${runs.head}/results?limit=3`, { headers: { authorization: `Bearer ${alphaKey}` } })).json();
  expect(results.results[2].result.metrics.faithfulness).toMatchObject({ score: 0.5, passed: false });

  expect(refused).toEqual([]);
  await context.close();
});

test('compare two runs: deltas, regressed cases and their outputs side by side', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await signIn(context, `/runs/${runs.head}`);
  // The run page suggests main's last finished run before it as the base.
  expect(await page.getByLabel('Compare with').inputValue()).toBe(runs.base);
  await page.getByRole('button', { name: 'Compare' }).click();
  await page.waitForURL(/\/compare\?/);
  expect(await page.locator('h1').innerText()).toMatch(/failed/);
  expect(await page.getByRole('region', { name: 'Metric deltas' }).getByRole('row', { name: /faithfulness/ }).innerText()).toMatch(/0\.917\s+0\.792\s+-0\.125/);
  const regressions = page.getByRole('region', { name: 'Regressed cases' });
  expect(await page.locator('#regressions').innerText()).toBe('Regressed cases (3)');
  expect(await regressions.locator('tbody tr th').allInnerTexts()).toEqual(['order-2', 'order-3', 'order-4']);
  // The first regressions show their outputs at once.
  expect(await regressions.locator('details').first().innerText()).toMatch(/Base[\s\S]*Answer: your order ships[\s\S]*Head[\s\S]*Answer: your order ships/);
  await screenshot(page, 'compare');
  // Trends: faithfulness by build.
  await until(async () => {
    await page.goto(ui('/trends?metric=faithfulness'));
    return (await page.getByRole('region', { name: 'Mean faithfulness per run' }).locator('tbody tr').count()) === 3;
  }, 'three runs in the trend', 30_000, 500);
  expect(await page.getByRole('img', { name: 'Mean faithfulness per run' }).count()).toBe(1);
  await screenshot(page, 'trends');
  await context.close();
});

test('a review queue: the next unreviewed case, agreement of this run only, the disagreements one click away', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await signIn(context, `/runs/${runs.head}`);
  // The first test's two reviews are of this run; the other run of the project has none.
  expect(await page.getByRole('region', { name: 'Metrics' }).getByRole('row', { name: /faithfulness/ }).innerText()).toMatch(/50\.0 % of 2 reviews · κ 0\.00 · 1 disagreed/);
  await page.getByRole('link', { name: '1 disagreed' }).click();
  expect(await page.getByRole('region', { name: 'Disagreements' }).innerText()).toMatch(/#2\s+faithfulness\s+fail\s+Ana Reviewer: pass\s+The context is a template error/);
  expect(await page.locator('#queue').locator('xpath=..').innerText()).toMatch(/You have reviewed 2 of the 12 cases with a metric an LLM judged\./);
  await screenshot(page, 'review');
  // Next unreviewed, in order: case 0; saving keeps the queue, whose next is case 1.
  await page.getByRole('link', { name: 'Next unreviewed case' }).click();
  await page.waitForURL(/\/cases\/0\?queue=index$/);
  const form = page.getByRole('form', { name: 'Your review of faithfulness' });
  await form.getByRole('radio', { name: 'Agree with the judge' }).check();
  await form.getByRole('button', { name: 'Save review' }).click();
  await page.waitForURL(/\/cases\/0\?saved=faithfulness&queue=index/);
  await page.getByRole('link', { name: 'Next unreviewed case →' }).click();
  await page.waitForURL(/\/cases\/1\?queue=index$/);
  // The other run of the project: its own agreement, no reviews yet.
  await page.goto(ui(`/runs/${runs.other}`));
  expect(await page.getByRole('region', { name: 'Metrics' }).getByRole('row', { name: /faithfulness/ }).innerText()).toMatch(/no reviews/);
  await context.close();
});

test('one suite against two models, submitted over HTTP: the targets’ runs know each other, compare case by case and sit side by side', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const [first, second] = runs.matrix;
  const page = await signIn(context, `/runs/${first}`, gammaKey);
  expect(await page.locator('h1').innerText()).toMatch(/support-bot\[gpt-4o-mini\]/);
  expect(await page.getByText('Other targets of this matrix:').innerText()).toContain('support-bot[gpt-4.1-mini]');
  // The other target is offered to compare with; the comparison meets the cases, not "12 added, 12 removed".
  await page.getByLabel('Compare with').selectOption(second);
  await page.getByRole('button', { name: 'Compare' }).click();
  await page.waitForURL(/\/compare\?/);
  expect(await page.locator('h1').innerText()).toMatch(/Compare targets: gpt-4\.1-mini against gpt-4o-mini/);
  expect(await page.locator('dl.facts').innerText()).toMatch(/0 added, 0 removed/);
  await page.goto(ui(`/runs/${first}`));
  await page.getByRole('link', { name: 'every target side by side' }).click();
  expect(await page.locator('h1').innerText()).toBe('Side by side: gpt-4o-mini, gpt-4.1-mini');
  expect(await page.getByRole('region', { name: 'Targets side by side' }).locator('table.side > tbody > tr').count()).toBe(12);
  await screenshot(page, 'side-by-side');
  await context.close();
});

test('the operator’s switch: no text of beta’s LLM calls is stored, its calls still are', async () => {
  const client = createClient({ url: clickhouse.url });
  try {
    await until(async () => {
      const counted = await (await client.query({ query: `SELECT count() AS n FROM ${env.CLICKHOUSE_DATABASE}.llm_calls WHERE project = 'beta'`, format: 'JSONEachRow' })).json();
      return Number((counted as Array<{ n: string }>)[0].n) > 0;
    }, 'beta’s calls in ClickHouse', 30_000, 500);
    const rows = (await (await client.query({ query: `SELECT project, countIf(request != '') AS texts, count() AS calls FROM ${env.CLICKHOUSE_DATABASE}.llm_calls GROUP BY project ORDER BY project`, format: 'JSONEachRow' })).json()) as Array<{ project: string; texts: string; calls: string }>;
    const byProject = Object.fromEntries(rows.map((r) => [r.project, { texts: Number(r.texts), calls: Number(r.calls) }]));
    expect(byProject.beta.texts).toBe(0);
    expect(byProject.beta.calls).toBeGreaterThan(0);
    expect(byProject.alpha.texts).toBeGreaterThan(0);
  } finally {
    await client.close();
  }
});

test("another project's run is not reachable, whatever the path", async () => {
  const context = await browser.newContext();
  const page = await signIn(context, '/');
  expect(await page.getByRole('region', { name: 'Runs' }).locator('tbody tr').count()).toBe(3);
  for (const path of [
    `/runs/${runs.beta}`,
    `/runs/${runs.beta}/cases/0`,
    `/compare?base=${runs.beta}&head=${runs.head}`,
    `/runs/${runs.beta}/cases.csv`,
    `/runs/${runs.beta}/cases.json?q=order`,
    `/runs/${runs.beta}/review`,
    `/runs/${runs.beta}/review/next`,
    `/side-by-side?runs=${runs.head},${runs.beta}`,
  ]) {
    const response = await page.goto(ui(path));
    expect(response?.status()).toBe(404);
    expect(await page.getByRole('alert').innerText()).toMatch(/no run/i);
  }
  // A review posted, with this session's own form token, at another project's case: no such run either.
  const csrf = await page.locator('input[name=csrf]').first().inputValue();
  const posted = await page.request.post(ui(`/runs/${runs.beta}/cases/0/reviews`), { form: { metric: 'faithfulness', verdict: 'agree', csrf } });
  expect(posted.status()).toBe(404);
  // And without the session's token, no form is taken at all.
  const forged = await page.request.post(ui(`/runs/${runs.head}/cases/0/reviews`), { form: { metric: 'faithfulness', verdict: 'agree', csrf: 'forged' } });
  expect(forged.status()).toBe(403);
  await context.close();
});

test('the pull-request link: evalctl gate writes it, it opens the comparison read-only, and only its runs', async () => {
  const gate = await evalctl(['gate', join(work, 'head-report.json'), '--baseline', join(work, 'base-report.json'), '--max-drop', '0.02', '--markdown', join(work, 'comment.md')], { EVAL_API_KEY: alphaKey });
  expect(gate.code).toBe(1);
  const comment = readFileSync(join(work, 'comment.md'), 'utf8');
  const link = /\[support-bot: open the comparison with the baseline in the viewer\]\((http[^)]+)\) \(read-only link, valid until [^)]+\)/.exec(comment);
  expect(link).not.toBeNull();
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(link![1]);
  // The token leaves the address bar at once.
  expect(page.url()).toBe(ui(`/compare?base=${runs.base}&head=${runs.head}`));
  expect(await page.locator('#regressions').innerText()).toBe('Regressed cases (3)');
  await page.goto(ui(`/runs/${runs.head}/cases/0`));
  expect(await page.getByText('read-only link').isVisible()).toBe(true);
  expect(await page.getByRole('form', { name: 'Your review of faithfulness' }).count()).toBe(0);
  // Another run of the same project is outside the link.
  expect((await page.goto(ui(`/runs/${runs.other}`)))?.status()).toBe(404);
  await context.close();
});

test('at phone width, readable and operable: no sideways page, a skip link first, no serious accessibility violation', async () => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true });
  const page = await signIn(context, `/runs/${runs.head}`);
  expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
  await screenshot(page, 'run-phone');
  await page.goto(ui(`/runs/${runs.head}/cases/0`));
  expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
  await screenshot(page, 'case-phone');
  await page.keyboard.press('Tab');
  expect(await page.evaluate('document.activeElement?.textContent?.trim()')).toBe('Skip to content');
  for (const path of [`/runs/${runs.head}`, `/runs/${runs.head}/cases/0`, `/runs/${runs.head}/cases/2`, `/compare?base=${runs.base}&head=${runs.head}`, `/runs/${runs.head}/review`, '/agreement', '/trends', '/']) {
    expect({ path, violations: await accessibilityViolations(browser, context, ui(path)) }).toEqual({ path, violations: [] });
  }
  await context.close();
});

test('evalctl view renders report files in the same pages, with no platform', async () => {
  const child: ChildProcess = spawn(process.execPath, [join(ROOT, 'bin/evalctl.js'), 'view', 'head-report.json', 'base-report.json', '--port', '0'], {
    cwd: work,
    env: { PATH: process.env.PATH },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    const url = await new Promise<string>((done, failed) => {
      createInterface({ input: child.stdout! }).on('line', (line) => {
        const match = /^evalctl view: (http\S+)/.exec(line);
        if (match) done(match[1]);
      });
      child.once('exit', (code) => failed(new Error(`evalctl view exited ${code}`)));
    });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const refused = cspViolations(page);
    await page.goto(url);
    expect(await page.locator('#regressions').innerText()).toBe('Regressed cases (3)');
    await page.getByRole('region', { name: 'Regressed cases' }).getByRole('link', { name: 'order-2' }).click();
    expect(await page.locator('h1').innerText()).toMatch(/order-2\s+failed/);
    expect(await page.locator('#metric-faithfulness').innerText()).toMatch(/ships from Mars, not the warehouse/);
    expect(await page.getByRole('region', { name: 'LLM calls by model' }).innerText()).toMatch(/openai gpt-4o-mini\s+4/);
    await screenshot(page, 'view-case');
    await page.goto(url.replace(/\/compare.*/, '/'));
    expect(await page.getByRole('region', { name: 'Runs' }).locator('tbody tr').count()).toBe(2);
    expect(await page.getByText('report files (read only)').isVisible()).toBe(true);
    expect(refused).toEqual([]);
    await context.close();
  } finally {
    child.kill('SIGINT');
  }
});
