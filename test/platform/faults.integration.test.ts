import { ClickHouseLogLevel, createClient } from '@clickhouse/client';
import { Client } from 'pg';
import { createClient as createRedisClient } from 'redis';
import { startFakeLlmServer, type FakeLlmServer, type FakeRequest } from '../support/fake-llm-server';
import { TEST_OPENAI_KEY } from '../support/engine';
import { createTestDatabase, evalctlSync, freePort, serviceEnv, spawnClickhouse, spawnRedis, spawnService, uniqueName, until, type ChildService } from '../support/platform';

/**
 * Faults a production platform meets, against real processes (an orchestrator and two workers), real
 * Postgres, a Redis of its own, chdb as ClickHouse and the fake LLM: every backend connection terminated,
 * ClickHouse down for a minute, Redis flushed, a storm of 429s, a run's budget spent. Each ends with exact
 * counts in Postgres and ClickHouse, no process exit, and no LLM call paid for twice.
 */
let fake: FakeLlmServer;
let database: Awaited<ReturnType<typeof createTestDatabase>>;
let clickhouse: Awaited<ReturnType<typeof spawnClickhouse>>;
let redis: Awaited<ReturnType<typeof spawnRedis>>;
let orchestrator: ChildService;
let workers: ChildService[];
let key: string;
const chDatabase = uniqueName('evals');
/** Replies per run marker: a share of 429s for the storm, usage for the budget. */
let rateLimitShare = 0;

function script(request: FakeRequest) {
  if (rateLimitShare > 0 && Math.random() < rateLimitShare) return { status: 429, headers: { 'retry-after': '1' }, json: { error: { message: 'rate limited' } } };
  return { text: `answer to ${request.prompt}`, usage: { input: 1_000, output: 1_000 } };
}

async function api(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${orchestrator.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json().catch(() => undefined) };
}

/** A suite of `cases` cases whose one LLM call each (the target) carries `marker`, so this run's calls can be counted. */
function suite(marker: string, cases: number, extra: Record<string, unknown> = {}) {
  return {
    name: marker,
    target: { type: 'openai', model: 'gpt-4o-mini', temperature: 0.7 },
    metrics: [{ name: 'icontains', value: 'answer' }, { name: 'json_valid', threshold: 0 }],
    gate: { min_pass_rate: 0, max_errored: 1_000 },
    cases: Array.from({ length: cases }, (_, i) => ({ id: `c${i}`, input: `${marker} case ${i}` })),
    ...extra,
  };
}

const callsOf = (marker: string) => fake.requests.filter((r) => r.prompt.startsWith(`${marker} case `));

const finished = (id: string, timeoutMs = 120_000) =>
  until(async () => {
    const { status, body } = await api('GET', `/v1/runs/${id}`);
    return status === 200 && body.finished_at ? body : undefined;
  }, `run ${id} to finish`, timeoutMs);

async function clickhouseCount(table: 'results' | 'llm_calls', runId: string): Promise<number> {
  // Quiet: during the outage these queries fail on purpose.
  const client = createClient({ url: clickhouse.url, log: { level: ClickHouseLogLevel.OFF } });
  try {
    const result = await client.query({ query: `SELECT count() AS n FROM ${chDatabase}.${table} ${table === 'results' ? 'FINAL' : ''} WHERE run_id = {run:String}`, query_params: { run: runId }, format: 'JSONEachRow' });
    return Number(((await result.json()) as Array<{ n: string }>)[0].n);
  } finally {
    await client.close();
  }
}

/** Waits for the outbox to bring the rows over, then checks there are exactly `expected`. */
async function storedInClickhouse(table: 'results' | 'llm_calls', runId: string, expected: number, timeoutMs = 60_000): Promise<void> {
  await until(async () => (await clickhouseCount(table, runId).catch(() => -1)) >= expected, `${expected} ${table} rows`, timeoutMs, 500);
  expect(await clickhouseCount(table, runId)).toBe(expected);
}

const alive = () => [orchestrator, ...workers].every((s) => s.child.exitCode === null && s.child.signalCode === null);

beforeAll(async () => {
  fake = await startFakeLlmServer({ script, latencyMs: 40 });
  const port = await freePort();
  [database, clickhouse, redis] = await Promise.all([createTestDatabase(), spawnClickhouse(), spawnRedis(port)]);
  const env = {
    ...serviceEnv({ databaseUrl: database.url, clickhouseUrl: clickhouse.url, queuePrefix: 'bq', redisUrl: redis.url }, { openaiBaseUrl: fake.openaiBaseUrl, apiKey: TEST_OPENAI_KEY }),
    CLICKHOUSE_DATABASE: chDatabase,
    QUEUE_STALL_INTERVAL_MS: '2000',
    QUEUE_EPOCH_CHECK_MS: '500',
    WORKER_CONCURRENCY: '8',
    // Two attempts per call: without the rate-limit budget, a 30 % storm errors about one call in eleven.
    LLM_RETRY_MAX_ATTEMPTS: '2',
    LLM_RETRY_BASE_DELAY_MS: '20',
    LLM_RETRY_MAX_DELAY_MS: '200',
    PROJECT_REQUESTS_PER_SECOND: '1000',
  };
  evalctlSync(['migrate'], env);
  key = evalctlSync(['keys', 'create', '--project', 'faults'], env).trim();
  [orchestrator, ...workers] = await Promise.all([spawnService('serve', env), spawnService('work', env), spawnService('work', env)]);
}, 180_000);

afterAll(async () => {
  await Promise.all([orchestrator, ...(workers ?? [])].filter(Boolean).map((s) => s.stop('SIGKILL')));
  await Promise.allSettled([database?.drop(), clickhouse?.stop(), redis?.kill(), fake?.close()]);
}, 60_000);

/** Rows still waiting in the outbox (Postgres), i.e. not yet in ClickHouse. */
async function outboxRows(): Promise<number> {
  const pg = new Client({ connectionString: database.url });
  await pg.connect();
  try {
    return Number((await pg.query('SELECT coalesce(sum(row_count), 0) AS n FROM clickhouse_outbox')).rows[0].n);
  } finally {
    await pg.end();
  }
}

/** Runs `body` with the fake LLM answering after `ms`: long enough runs that a fault lands mid-run. */
async function withLatency<T>(ms: number, body: () => Promise<T>): Promise<T> {
  fake.latencyMs = ms;
  try {
    return await body();
  } finally {
    fake.latencyMs = 40;
  }
}

test('every platform backend terminated mid-run (pg_terminate_backend): no process exits, the run completes exactly', () => withLatency(100, async () => {
  const submitted = await api('POST', '/v1/runs', { suite: suite('pgkill', 400) });
  expect(submitted.status).toBe(202);
  await until(async () => ((await api('GET', `/v1/runs/${submitted.body.id}`)).body?.progress?.completed >= 10 ? true : undefined), 'some progress');
  const admin = new Client({ connectionString: database.url });
  await admin.connect();
  const name = new URL(database.url).pathname.slice(1);
  let terminated = 0;
  for (let round = 0; round < 3; round++) {
    const result = await admin.query('SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name]);
    terminated += Number(result.rows[0].n);
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  await admin.end();
  expect(terminated).toBeGreaterThan(3);
  // The faults landed mid-run.
  expect((await api('GET', `/v1/runs/${submitted.body.id}`)).body.progress.completed).toBeLessThan(400);
  const run = await finished(submitted.body.id);
  expect(alive()).toBe(true);
  expect(run).toMatchObject({ status: 'completed', progress: { total: 400, completed: 400, passed: 400, errored: 0 } });
  await storedInClickhouse('results', run.id, 800);
  expect([...orchestrator.log, ...workers.flatMap((w) => w.log)].some((line) => line.includes('postgres connection lost'))).toBe(true);
}), 180_000);

test('ClickHouse down mid-run until the run has finished: zero errored cases, every result stored once afterwards, no LLM call repeated', async () => {
  const run = await withLatency(100, async () => {
    const submitted = await api('POST', '/v1/runs', { suite: suite('chdown', 400) });
    await until(async () => ((await api('GET', `/v1/runs/${submitted.body.id}`)).body?.progress?.completed >= 10 ? true : undefined), 'some progress');
    // Down until this test brings it back, however long the run takes on this machine.
    await clickhouse.down(3_600_000);
    expect((await api('GET', `/v1/runs/${submitted.body.id}`)).body.progress.completed).toBeLessThan(400);
    // The orchestrator stays in its Service: ClickHouse is reported, not required, and no error text leaks.
    const ready = await fetch(`${orchestrator.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ ready: true, checks: { postgres: 'ok', redis: 'ok' }, reported: { clickhouse: 'unavailable' } });
    const ended = await finished(submitted.body.id, 180_000);
    // The run finished while ClickHouse was still down (it still drops every connection), and most of its rows
    // waited in the outbox.
    await expect(fetch(`${clickhouse.url}/ping`)).rejects.toThrow();
    expect(await outboxRows()).toBeGreaterThan(400);
    await clickhouse.down(0);
    return ended;
  });
  expect(run).toMatchObject({ status: 'completed', progress: { total: 400, completed: 400, errored: 0 } });
  await storedInClickhouse('results', run.id, 800, 120_000);
  await storedInClickhouse('llm_calls', run.id, 400);
  expect(await outboxRows()).toBe(0);
  // One target call per case: nothing paid for twice.
  expect(callsOf('chdown')).toHaveLength(400);
  expect(alive()).toBe(true);
}, 420_000);

test('Redis flushed mid-run (FLUSHALL): the run completes on its own, each case counted once', async () => {
  fake.latencyMs = 100;
  try {
    const submitted = await api('POST', '/v1/runs', { suite: suite('flushed', 400) });
    await until(async () => ((await api('GET', `/v1/runs/${submitted.body.id}`)).body?.progress?.completed >= 20 ? true : undefined), 'some progress');
    const client = createRedisClient({ url: redis.url });
    // The fault lands mid-run: progress is below the total when the queue loses its jobs.
    const before = (await api('GET', `/v1/runs/${submitted.body.id}`)).body.progress.completed;
    await new Promise<void>((resolve, reject) => client.flushall((error) => (error ? reject(error) : resolve())));
    client.quit();
    expect(before).toBeLessThan(400);
    // No operator action: the orchestrator notices the lost jobs and enqueues what is left.
    const run = await finished(submitted.body.id, 180_000);
    expect(run).toMatchObject({ status: 'completed', progress: { total: 400, completed: 400, passed: 400, errored: 0 } });
    await storedInClickhouse('results', run.id, 800);
    expect(orchestrator.log.some((line) => line.includes('the queue lost its jobs'))).toBe(true);
  } finally {
    fake.latencyMs = 40;
  }
}, 240_000);

test('30 % of LLM calls answered 429 (retry-after 1 s): zero errored cases', async () => {
  rateLimitShare = 0.3;
  try {
    const submitted = await api('POST', '/v1/runs', { suite: suite('storm', 150) });
    const run = await finished(submitted.body.id, 150_000);
    expect(run).toMatchObject({ status: 'completed', progress: { total: 150, completed: 150, errored: 0 } });
    // The storm was real: well over a hundred calls were refused and retried.
    expect(callsOf('storm').length).toBeGreaterThan(150 + 30);
  } finally {
    rateLimitShare = 0;
  }
}, 180_000);

test('a run with max_cost_usd stops starting cases once its budget is spent, and says so', async () => {
  // gpt-4o-mini at $0.15 / $0.60 per million tokens: 1,000 in and 1,000 out cost $0.00075 a case.
  const perCase = 0.00075;
  const submitted = await api('POST', '/v1/runs', { suite: suite('budget', 200, { max_cost_usd: 0.01 }) });
  expect(submitted.body.cost).toEqual({ spent_usd: 0, max_usd: 0.01 });
  const run = await finished(submitted.body.id);
  expect(run.status).toBe('budget_exceeded');
  expect(run.progress.completed).toBe(200);
  const report = (await api('GET', `/v1/runs/${run.id}/report`)).body;
  const evaluated = 200 - report.budget.not_evaluated;
  expect(report.budget).toMatchObject({ max_cost_usd: 0.01, exceeded: true });
  expect(report.budget.not_evaluated).toBeGreaterThan(150);
  // Calls were made only for the cases evaluated; the spend passed the budget by at most what was in flight.
  expect(callsOf('budget')).toHaveLength(evaluated);
  expect(run.cost.spent_usd).toBeCloseTo(evaluated * perCase, 6);
  expect(run.cost.spent_usd).toBeGreaterThanOrEqual(0.01);
  expect(run.cost.spent_usd).toBeLessThanOrEqual(0.01 + 2 * 8 * perCase);
  const skipped = report.cases.filter((c: { error: string | null }) => c.error?.includes('budget'));
  expect(skipped).toHaveLength(report.budget.not_evaluated);
}, 120_000);
