import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@clickhouse/client';
import { PLATFORM_METRICS } from '@ai-eval-platform/constructs/k8s';
import type { FakeRequest, FakeReply } from '../support/fake-llm-server';
import { echoTruths, startFakeLlmServer, type FakeLlmServer } from '../support/fake-llm-server';
import { TEST_OPENAI_KEY } from '../support/engine';
import { buildReport } from '../../src/runner/summarize';
import { toJunitXml } from '../../src/runner/junit';
import { parseSuiteText } from '../../src/suite/load';
import {
  createTestDatabase,
  deleteRedisPrefix,
  ROOT,
  spawnClickhouse,
  spawnService,
  TEST_REDIS_URL,
  uniqueName,
  until,
  type ChildService,
} from '../support/platform';

/** Two worker processes and an orchestrator against real Postgres and Redis, chdb as ClickHouse, the fake LLM. */
let fake: FakeLlmServer;
let database: Awaited<ReturnType<typeof createTestDatabase>>;
let clickhouse: Awaited<ReturnType<typeof spawnClickhouse>>;
let env: NodeJS.ProcessEnv;
let orchestrator: ChildService;
let workers: ChildService[] = [];
let alphaKey: string;
let betaKey: string;
const prefix = uniqueName('bqtest');
const chDatabase = uniqueName('evals');
let work: string;

function evalctl(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [join(ROOT, 'bin/evalctl.js'), ...args], { cwd: work, env: { PATH: process.env.PATH, ...env, ...extraEnv } }, (error, stdout, stderr) =>
      done({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** The judge finds the second claim contradicted when the context says "Mars"; the agent answers briefly. */
function script(request: FakeRequest): FakeReply {
  if (request.schemaName === 'claims') return { json: { claims: ['claim one', 'claim two'] } };
  if (request.schemaName === 'truths') return echoTruths(request);
  if (request.schemaName === 'topic_labels') {
    const inputs = request.prompt.split('\n').filter((line) => /^\d+\. /.test(line));
    return { json: { labels: inputs.map((line) => (line.includes('refund') ? 'Refunds' : 'Shipping')) } };
  }
  if (request.schemaName === 'claim_verdicts') {
    const bad = request.prompt.includes('Mars');
    return { json: { verdicts: [{ verdict: 'yes', reason: 'ok' }, { verdict: bad ? 'no' : 'yes', reason: 'r' }] } };
  }
  return { text: `Answer: ${request.prompt.slice(0, 40)}`, usage: { input: 30, output: 10 } };
}

function suite(name: string, cases: number, options: { mars?: (i: number) => boolean } = {}) {
  return {
    name,
    target: { type: 'openai', model: 'gpt-4o-mini', temperature: 0.5 },
    judge: { provider: 'openai', model: 'gpt-4o-mini', temperature: 0.5 },
    metrics: [{ name: 'faithfulness', threshold: 0.9 }, { name: 'icontains', value: 'answer' }],
    gate: { min_pass_rate: 0 },
    cases: Array.from({ length: cases }, (_, i) => ({
      id: `case-${i}`,
      input: `Question ${i}?`,
      retrieval_context: [options.mars?.(i) ? 'It happened on Mars.' : 'It happened on Earth.'],
      topic: i % 2 ? 'odd' : 'even',
    })),
  };
}

async function api<T = any>(key: string | undefined, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: T }> {
  const response = await fetch(`${orchestrator.url}${path}`, {
    method,
    headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as T };
}

const finished = (key: string, id: string) =>
  until(async () => {
    const { body } = await api(key, 'GET', `/v1/runs/${id}`);
    return body.finished_at ? body : undefined;
  }, `run ${id} to finish`, 90_000);

async function clickhouseCount(table: 'results' | 'llm_calls', runId: string): Promise<number> {
  const client = createClient({ url: clickhouse.url });
  const final = table === 'results' ? 'FINAL' : '';
  const result = await client.query({ query: `SELECT count() AS n FROM ${chDatabase}.${table} ${final} WHERE run_id = {run:String}`, query_params: { run: runId }, format: 'JSONEachRow' });
  const [row] = (await result.json()) as Array<{ n: string | number }>;
  await client.close();
  return Number(row.n);
}

/**
 * The rows reach ClickHouse through the outbox, shortly after the run's cases are counted: waits until the
 * count reaches `expected`, then checks it is exactly that (nothing stored twice).
 */
async function storedInClickhouse(table: 'results' | 'llm_calls', runId: string, expected: number): Promise<void> {
  await until(async () => (await clickhouseCount(table, runId)) >= expected, `${expected} ${table} rows of run ${runId}`, 30_000);
  expect(await clickhouseCount(table, runId)).toBe(expected);
}

async function workerMetric(worker: ChildService, name: string): Promise<number> {
  const text = await (await fetch(`${worker.url}/metrics`)).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith(name))
    .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'platform-'));
  fake = await startFakeLlmServer({ script });
  fake.latencyMs = 20;
  [database, clickhouse] = await Promise.all([createTestDatabase(), spawnClickhouse()]);
  env = {
    DATABASE_URL: database.url,
    REDIS_URL: TEST_REDIS_URL,
    QUEUE_PREFIX: prefix,
    CLICKHOUSE_URL: clickhouse.url,
    CLICKHOUSE_DATABASE: chDatabase,
    OPENAI_BASE_URL: fake.openaiBaseUrl,
    OPENAI_API_KEY: TEST_OPENAI_KEY,
    QUEUE_STALL_INTERVAL_MS: '1500',
    WORKER_CONCURRENCY: '8',
    SHUTDOWN_DRAIN_MS: '10000',
    LLM_RETRY_BASE_DELAY_MS: '5',
    LLM_RETRY_MAX_DELAY_MS: '20',
  };
  const migrated = await evalctl(['migrate']);
  expect(migrated.stderr).toBe('');
  expect(migrated.stdout).toContain('postgres: 2026-11-27-0001-initial');
  alphaKey = (await evalctl(['keys', 'create', '--project', 'alpha'])).stdout.trim();
  betaKey = (await evalctl(['keys', 'create', '--project', 'beta'])).stdout.trim();
  expect(alphaKey).toMatch(/^aiev_/);
  [orchestrator, ...workers] = await Promise.all([spawnService('serve', env), spawnService('work', env), spawnService('work', env)]);
}, 180_000);

afterAll(async () => {
  await Promise.all([orchestrator, ...workers].filter(Boolean).map((s) => s.stop('SIGKILL')));
  await Promise.allSettled([database?.drop(), clickhouse?.stop(), deleteRedisPrefix(TEST_REDIS_URL, prefix), fake?.close()]);
  rmSync(work, { recursive: true, force: true });
}, 60_000);

test('a run goes from submission over HTTP to results in Postgres and ClickHouse, across two workers', async () => {
  const submitted = await api(alphaKey, 'POST', '/v1/runs', { suite: suite('e2e', 24, { mars: (i) => i % 4 === 0 }), build: { branch: 'main', git_sha: 'abc' } });
  expect(submitted.status).toBe(202);
  expect(submitted.body).toMatchObject({ status: 'queued', progress: { total: 24, completed: 0 } });
  const run = await finished(alphaKey, submitted.body.id);
  expect(run).toMatchObject({ status: 'completed', progress: { total: 24, completed: 24, passed: 18, failed: 6, errored: 0 } });
  expect(run.summary.summary.faithfulness).toBeCloseTo((18 * 1 + 6 * 0.5) / 24);
  await storedInClickhouse('results', run.id, 48);
  // Per case: the target, then the judge's claims, truths and verdicts.
  await storedInClickhouse('llm_calls', run.id, 96);
  expect(await Promise.all(workers.map((w) => workerMetric(w, 'eval_jobs_total{')))).toEqual([expect.any(Number), expect.any(Number)]);
  const perWorker = await Promise.all(workers.map((w) => workerMetric(w, 'eval_jobs_total{')));
  expect(perWorker.every((n) => n > 0)).toBe(true);
  expect(perWorker.reduce((a, b) => a + b)).toBe(24);

  const report = await api(alphaKey, 'GET', `/v1/runs/${run.id}/report`);
  expect(report.body).toMatchObject({ totals: { cases: 24, passed: 18, failed: 6 }, build: { branch: 'main', git_sha: 'abc' } });
  expect(report.body.cases).toHaveLength(24);
  const failedOnly = await api(alphaKey, 'GET', `/v1/runs/${run.id}/results?failed=true&limit=4`);
  expect(failedOnly.body.results.map((r: { id: string }) => r.id)).toEqual(['case-0', 'case-4', 'case-8', 'case-12']);
  const nextPage = await api(alphaKey, 'GET', `/v1/runs/${run.id}/results?failed=true&limit=4&cursor=${failedOnly.body.next_cursor}`);
  expect(nextPage.body.results.map((r: { id: string }) => r.id)).toEqual(['case-16', 'case-20']);
  const topics = await api(alphaKey, 'GET', `/v1/topics?run=${run.id}`);
  expect(topics.body.topics).toEqual([
    { topic: 'even', cases: 12, failed: 6, fail_rate: 0.5 },
    { topic: 'odd', cases: 12, failed: 0, fail_rate: 0 },
  ]);

  // A second run on the same branch where every case passes: the regression tracker and the trend see both.
  const second = await api(alphaKey, 'POST', '/v1/runs', { suite: suite('e2e', 24), build: { branch: 'main', git_sha: 'def' } });
  await finished(alphaKey, second.body.id);
  const compare = await api(alphaKey, 'GET', `/v1/compare?base=${second.body.id}&head=${run.id}&max_drop=0.02`);
  expect(compare.body.passed).toBe(false);
  expect(compare.body.regressions).toHaveLength(6);
  expect(compare.body.regressions[0]).toMatchObject({ id: 'case-0', metric: 'faithfulness', note: 'passed → failed' });
  const trends = await api(alphaKey, 'GET', '/v1/trends?metric=faithfulness&branch=main');
  expect(trends.body.points.map((p: { commit: string; mean: number }) => [p.commit, Number(p.mean.toFixed(4))])).toEqual([
    ['abc', 0.875],
    ['def', 1],
  ]);
});

test('every /v1 route needs a key, and a key sees only its own project', async () => {
  const submitted = await api(alphaKey, 'POST', '/v1/runs', { suite: suite('private', 2) });
  expect((await api(undefined, 'GET', '/v1/runs')).status).toBe(401);
  expect((await api('aiev_not-a-real-key', 'GET', '/v1/runs')).body).toMatchObject({ error: { code: 'unauthorized', field: 'authorization' } });
  const other = await api(betaKey, 'GET', `/v1/runs/${submitted.body.id}`);
  expect(other).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
  expect((await api(betaKey, 'GET', `/v1/runs/${submitted.body.id}/report`)).status).toBe(404);
  expect((await api(betaKey, 'POST', `/v1/runs/${submitted.body.id}/cancel`)).status).toBe(404);
  expect((await api(betaKey, 'GET', `/v1/topics?run=${submitted.body.id}`)).status).toBe(404);
  expect((await api(betaKey, 'GET', '/v1/runs')).body.runs).toEqual([]);
  const mine = await api(alphaKey, 'GET', '/v1/runs?limit=2');
  expect(mine.body.runs).toHaveLength(2);
  expect(mine.body.runs[0].id).toBe(submitted.body.id);
  const page2 = await api(alphaKey, 'GET', `/v1/runs?limit=2&cursor=${mine.body.next_cursor}`);
  expect(page2.body.runs.map((r: { id: string }) => r.id)).not.toContain(submitted.body.id);
  await finished(alphaKey, submitted.body.id);
});

test('the same Idempotency-Key returns the same run and enqueues its cases once', async () => {
  const body = { suite: suite('idempotent', 5) };
  const first = await api(alphaKey, 'POST', '/v1/runs', body, { 'idempotency-key': 'build-42' });
  const again = await api(alphaKey, 'POST', '/v1/runs', body, { 'idempotency-key': 'build-42' });
  expect(first.status).toBe(202);
  expect(again.status).toBe(200);
  expect(again.body.id).toBe(first.body.id);
  const run = await finished(alphaKey, first.body.id);
  expect(run.progress).toMatchObject({ total: 5, completed: 5 });
  const other = await api(betaKey, 'POST', '/v1/runs', body, { 'idempotency-key': 'build-42' });
  expect(other.body.id).not.toBe(first.body.id);
  await finished(betaKey, other.body.id);
});

test('failed ClickHouse inserts are retried; every result is stored once', async () => {
  const before = (await Promise.all(workers.map((w) => workerMetric(w, 'eval_clickhouse_insert_retries_total{')))).reduce((a, b) => a + b);
  await clickhouse.failInserts(3);
  const submitted = await api(alphaKey, 'POST', '/v1/runs', { suite: suite('ch-faults', 10) });
  const run = await finished(alphaKey, submitted.body.id);
  expect(run).toMatchObject({ status: 'completed', progress: { completed: 10, errored: 0 } });
  await storedInClickhouse('results', run.id, 20);
  const after = (await Promise.all(workers.map((w) => workerMetric(w, 'eval_clickhouse_insert_retries_total{')))).reduce((a, b) => a + b);
  expect(after - before).toBe(3);
});

test('a worker killed with SIGKILL mid-run: its jobs are retried elsewhere and every case counts once', async () => {
  fake.latencyMs = 150;
  try {
    // Long enough (about 2 s over two workers of 8) that the kill lands while the worker holds jobs.
    const submitted = await api(alphaKey, 'POST', '/v1/runs', { suite: suite('sigkill', 100) });
    await until(async () => ((await api(alphaKey, 'GET', `/v1/runs/${submitted.body.id}`)).body.progress.completed >= 4 ? true : undefined), 'some progress', 60_000, 50);
    await workers[0].stop('SIGKILL');
    const run = await finished(alphaKey, submitted.body.id);
    expect(run).toMatchObject({ status: 'completed', progress: { total: 100, completed: 100, passed: 100, errored: 0 } });
    await storedInClickhouse('results', run.id, 200);
    const results = await api(alphaKey, 'GET', `/v1/runs/${run.id}/results?limit=100`);
    const attempts = results.body.results.map((r: { attempts: number }) => r.attempts);
    // The killed worker's in-flight cases ran twice; each was still counted once.
    expect(attempts.some((n: number) => n > 1)).toBe(true);
  } finally {
    fake.latencyMs = 20;
    workers[0] = await spawnService('work', env);
  }
});

test('SIGTERM: a worker stops taking jobs, finishes those in flight, flushes and exits 0', async () => {
  fake.latencyMs = 100;
  try {
    const submitted = await api(alphaKey, 'POST', '/v1/runs', { suite: suite('sigterm', 30) });
    await until(async () => ((await api(alphaKey, 'GET', `/v1/runs/${submitted.body.id}`)).body.progress.completed >= 2 ? true : undefined), 'some progress');
    expect(await workers[1].stop('SIGTERM')).toBe(0);
    const run = await finished(alphaKey, submitted.body.id);
    expect(run.progress).toMatchObject({ completed: 30, errored: 0 });
    await storedInClickhouse('results', run.id, 60);
    const results = await api(alphaKey, 'GET', `/v1/runs/${run.id}/results?limit=100`);
    expect(results.body.results.every((r: { attempts: number }) => r.attempts === 1)).toBe(true);
  } finally {
    fake.latencyMs = 20;
    workers[1] = await spawnService('work', env);
  }
});

test('cases without topic or tags are labelled by the run’s judge for the topic view', async () => {
  const unlabelled = {
    ...suite('labels', 4, { mars: (i) => i < 2 }),
    cases: ['Where is my refund?', 'Is a refund possible?', 'When does it ship?', 'Shipping to Canada?'].map((input, i) => ({
      input,
      retrieval_context: [i < 2 ? 'It happened on Mars.' : 'It happened on Earth.'],
    })),
  };
  const submitted = await api(alphaKey, 'POST', '/v1/runs', { suite: unlabelled });
  await finished(alphaKey, submitted.body.id);
  // The topic view counts ClickHouse rows, which the outbox drains after the run's count in Postgres: wait for
  // all 8 (4 cases × 2 metrics), or a slow drain shows a topic with one case where it has two.
  await storedInClickhouse('results', submitted.body.id, 8);
  // Labels are written just after the run finishes, so they never delay its result.
  const topics = await until(async () => {
    const view = await api(alphaKey, 'GET', `/v1/topics?run=${submitted.body.id}`);
    return view.body.topics.length === 2 ? view : undefined;
  }, 'the judge topic labels');
  expect(topics.body.topics).toEqual([
    { topic: 'refunds', cases: 2, failed: 2, fail_rate: 1 },
    { topic: 'shipping', cases: 2, failed: 0, fail_rate: 0 },
  ]);
});

test('the workers share the LLM response cache in Redis: an unchanged re-run makes no LLM call', async () => {
  const cached = { ...suite('cached', 6), target: { type: 'openai', model: 'gpt-4o-mini', temperature: 0 }, judge: { provider: 'openai', model: 'gpt-4o-mini' } };
  const first = await api(alphaKey, 'POST', '/v1/runs', { suite: cached });
  await finished(alphaKey, first.body.id);
  const calls = fake.requests.length;
  const second = await api(alphaKey, 'POST', '/v1/runs', { suite: cached });
  const run = await finished(alphaKey, second.body.id);
  expect(fake.requests.length).toBe(calls);
  expect(run.summary.usage.total_cost_usd).toBe(0);
  // 6 cases × (the target, claims, truths, verdicts).
  expect(run.summary.usage.by_model[0]).toMatchObject({ calls: 24, cache_hits: 24 });
});

test('every metric the alert rules read is exported by the running orchestrator and workers', async () => {
  const scraped = (await Promise.all([orchestrator, ...workers].map(async (s) => (await fetch(`${s.url}/metrics`)).text()))).join('\n');
  for (const name of Object.values(PLATFORM_METRICS)) expect(scraped).toContain(`# TYPE ${name} `);
  expect(scraped).toMatch(/^eval_queue_jobs\{state="waiting",service="orchestrator"\} \d+/m);
});

test('evalctl run --server submits, waits and writes the same report and exit code as a local run', async () => {
  const file = join(work, 'remote.json');
  writeFileSync(file, JSON.stringify({ ...suite('remote', 6, { mars: (i) => i === 0 }), gate: { min_pass_rate: 1 } }));
  const remote = await evalctl(['run', file, '--server', orchestrator.url, '--output-json', 'remote-report.json', '--junit', 'remote-junit.xml'], { EVAL_API_KEY: alphaKey });
  expect(remote.stderr).toContain('progress: 6/6 cases');
  const local = await evalctl(['run', file, '--output-json', 'local-report.json', '--no-cache']);
  expect(remote.code).toBe(1);
  expect(local.code).toBe(1);
  const [r, l] = ['remote-report.json', 'local-report.json'].map((name) => JSON.parse(readFileSync(join(work, name), 'utf8')));
  expect(r.summary).toEqual(l.summary);
  expect(r.totals).toEqual(l.totals);
  expect(r.gate).toEqual(l.gate);
  // The platform's reports are read a case at a time into the same report.json, its runs named last, and the
  // same JUnit, as the report built whole from those cases.
  expect(Object.keys(r).at(-1)).toBe('platform');
  expect(r.cases.map((c: { index: number }) => c.index)).toEqual([0, 1, 2, 3, 4, 5]);
  const { platform, ...rest } = r;
  const whole = buildReport({ suites: [parseSuiteText(readFileSync(file, 'utf8'), file, {})], cases: rest.cases, build: r.build, thresholds: {}, startedAt: new Date(r.started_at), finishedAt: new Date(r.finished_at) });
  expect(readFileSync(join(work, 'remote-report.json'), 'utf8')).toBe(`${JSON.stringify({ ...whole, suites: r.suites, platform }, null, 2)}\n`);
  expect(readFileSync(join(work, 'remote-junit.xml'), 'utf8')).toBe(toJunitXml({ ...whole, suites: r.suites }));
  const badKey = await evalctl(['run', file, '--server', orchestrator.url], { EVAL_API_KEY: 'aiev_wrong' });
  // A key the platform refuses: nothing was evaluated (exit 3), not a usage error and not a regression.
  expect(badKey).toMatchObject({ code: 3, stderr: expect.stringContaining('not evaluated: POST /v1/runs: HTTP 401: unknown or revoked API key') });
});

test('a DeepEval dataset file, uploaded as it is, is named by a run and evaluated; evalctl --server sends a dataset_file suite’s cases', async () => {
  const fixtures = join(ROOT, 'test/fixtures/deepeval');
  const upload = async (file: string, type: string, name: string) => {
    const response = await fetch(`${orchestrator.url}/v1/datasets?name=${name}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${alphaKey}`, 'content-type': type },
      body: readFileSync(join(fixtures, file)),
    });
    return { status: response.status, body: (await response.json()) as any };
  };
  expect(await upload('goldens.csv', 'text/csv', 'support-goldens')).toEqual({ status: 201, body: { name: 'support-goldens', version: 1, case_count: 3 } });
  expect(await upload('goldens.jsonl', 'application/jsonl', 'support-goldens')).toMatchObject({ status: 201, body: { version: 2, case_count: 3 } });
  expect(await upload('goldens.json', 'application/json', 'support-goldens')).toMatchObject({ status: 201, body: { version: 3, case_count: 3 } });
  expect(await upload('conversations.json', 'application/json', 'late-orders')).toMatchObject({ status: 201, body: { case_count: 1 } });
  // A broken file is refused whole, naming the line and the field.
  const broken = await fetch(`${orchestrator.url}/v1/datasets?name=broken`, {
    method: 'POST',
    headers: { authorization: `Bearer ${alphaKey}`, 'content-type': 'text/csv' },
    body: 'input,expected_tools\nq1,\nq2,"[{""input_parameters"": {}}]"\n',
  });
  expect(broken.status).toBe(400);
  expect(await broken.json()).toMatchObject({ error: { field: '[1].expected_tools[0].name', message: 'line 3: [1].expected_tools[0].name: missing: a tool call needs its name' } });

  const metrics = [{ name: 'faithfulness' }, { name: 'tool_correctness', check_arguments: true }];
  const datasetRun = { name: 'goldens', judge: { provider: 'openai', model: 'gpt-4o-mini' }, metrics, gate: { min_pass_rate: 0 } };
  const submitted = await api(alphaKey, 'POST', '/v1/runs', { suite: datasetRun, dataset: { name: 'support-goldens', version: 1 } });
  expect(submitted.status).toBe(202);
  const run = await finished(alphaKey, submitted.body.id);
  expect(run).toMatchObject({ status: 'completed', progress: { total: 3, completed: 3, errored: 0 } });
  const report = await api(alphaKey, 'GET', `/v1/runs/${run.id}/report`);
  expect(report.body.cases.map((c: any) => [c.id, c.metrics.tool_correctness.score])).toEqual([
    ['refund-window', 1],
    ['order-status', 0.5],
    ['greeting', 1],
  ]);

  // The same file through evalctl: the suite names it, and --server submits its cases (the platform never reads a path).
  writeFileSync(join(work, 'goldens.csv'), readFileSync(join(fixtures, 'goldens.csv')));
  writeFileSync(join(work, 'goldens-suite.yaml'), `name: goldens-cli\njudge: { provider: openai, model: gpt-4o-mini }\ndataset_file: goldens.csv\nmetrics:\n  - faithfulness\n  - { name: tool_correctness, check_arguments: true }\ngate: { min_pass_rate: 0 }\n`);
  const remote = await evalctl(['run', 'goldens-suite.yaml', '--server', orchestrator.url, '--output-json', 'goldens-remote.json'], { EVAL_API_KEY: alphaKey });
  expect(remote.code).toBe(0);
  const remoteReport = JSON.parse(readFileSync(join(work, 'goldens-remote.json'), 'utf8'));
  expect(remoteReport.summary).toEqual(report.body.summary);
  // A suite that names a path is refused by the platform with what to do instead.
  const withPath = await api(alphaKey, 'POST', '/v1/runs', { suite: { ...datasetRun, dataset_file: '/etc/passwd' } });
  expect(withPath.status).toBe(400);
  expect(JSON.stringify(withPath.body)).toContain('dataset_file: a file path is read by `evalctl run` on your machine');
});
