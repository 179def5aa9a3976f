import type { Kysely } from 'kysely';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { readTenancyConfig } from '../../src/platform/config';
import { createApp } from '../../services/orchestrator/app';
import { startOnlineScheduler } from '../../services/orchestrator/online-scheduler';
import { MemoryCaseQueue } from '../../src/queue/memory-queue';
import { migrateClickhouse } from '../../src/store/clickhouse/migrations';
import { connectPostgres, migratePostgres } from '../../src/store/postgres/connect';
import { createApiKey } from '../../src/store/postgres/projects';
import { getRunSuite } from '../../src/store/postgres/runs';
import type { Database } from '../../src/store/postgres/schema';
import { PlatformMetrics } from '../../src/telemetry/metrics';
import { createTestDatabase, spawnClickhouse, uniqueName } from '../support/platform';

/**
 * Online evaluators as tenants write them and as the scheduler runs them: every field a project controls refused
 * with its name when it is wrong; an attribute filter matched as the text it is (never as SQL); one project's
 * evaluator never sees another's spans; a window taken once when two orchestrators race for it; a spent budget
 * leaves spans unscored; a conversation scored once idle, as one case of its turns.
 */
type Obj = Record<string, any>;
let database: Awaited<ReturnType<typeof createTestDatabase>>;
let clickhouseProcess: Awaited<ReturnType<typeof spawnClickhouse>>;
let db: Kysely<Database>;
let clickhouse: ClickHouseClient;
let chDatabase: string;
let app: ReturnType<typeof createApp>;
const keys: Record<string, string> = {};
const metrics = new PlatformMetrics('orchestrator', 'test');

beforeAll(async () => {
  [database, clickhouseProcess] = await Promise.all([createTestDatabase(), spawnClickhouse()]);
  db = await connectPostgres({ kind: 'url', url: database.url, poolSize: 4 });
  await migratePostgres(db);
  clickhouse = createClient({ url: clickhouseProcess.url });
  chDatabase = uniqueName('evals');
  await migrateClickhouse(clickhouse, chDatabase);
  app = createApp({
    db,
    queue: new MemoryCaseQueue(1),
    clickhouse,
    clickhouseDatabase: chDatabase,
    metrics,
    version: 'test',
    limits: { requestsPerSecond: 1e6, requestBurst: 1e6 },
    tenancy: readTenancyConfig({ OPENAI_API_KEY: 'sk-test-online', EGRESS_ALLOW: '127.0.0.2/32' }),
  });
  for (const project of ['alpha', 'beta']) keys[project] = (await createApiKey(db, project)).key;
}, 120_000);

afterAll(async () => {
  await db?.destroy();
  await clickhouse?.close();
  await Promise.allSettled([database?.drop(), clickhouseProcess?.stop()]);
});

async function call(project: string, method: string, path: string, body?: unknown) {
  const response = await app.request(path, {
    method,
    headers: { authorization: `Bearer ${keys[project]}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json().catch(() => null)) as Obj };
}

let counter = 0;
/** One OTLP JSON span: a chat turn of `service`, with attributes. */
function span(service: string, question: string, answer: string, attributes: Record<string, string> = {}) {
  counter++;
  return {
    resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
    scopeSpans: [
      {
        spans: [
          {
            traceId: counter.toString(16).padStart(32, 'a'),
            spanId: counter.toString(16).padStart(16, 'b'),
            name: 'chat',
            // Each span a nanosecond after the one before: the order a conversation's turns are read in.
            startTimeUnixNano: String(BigInt(Date.now()) * 1_000_000n + BigInt(counter)),
            attributes: [
              { key: 'gen_ai.operation.name', value: { stringValue: 'chat' } },
              { key: 'gen_ai.prompt', value: { stringValue: question } },
              { key: 'gen_ai.completion', value: { stringValue: answer } },
              ...Object.entries(attributes).map(([key, value]) => ({ key, value: { stringValue: value } })),
            ],
          },
        ],
      },
    ],
  };
}

async function send(project: string, spans: Obj[]) {
  const response = await app.request('/v1/traces', { method: 'POST', headers: { authorization: `Bearer ${keys[project]}`, 'content-type': 'application/json' }, body: JSON.stringify({ resourceSpans: spans }) });
  expect(response.status).toBe(200);
}

const evaluator = { match: { service: 'agent' }, sample_rate: 1, metrics: [{ name: 'icontains', value: 'ships' }], daily_budget_usd: 1 };

test.each([
  ['a name with a slash', 'a%2Fb', evaluator, 'name'],
  ['a name of 65 characters', 'n'.repeat(65), evaluator, 'name'],
  ['an unknown field', 'x', { ...evaluator, priority: 1 }, 'priority'],
  ['a sample rate above 1', 'x', { ...evaluator, sample_rate: 2 }, 'sample_rate'],
  ['no budget', 'x', { ...evaluator, daily_budget_usd: undefined }, 'daily_budget_usd'],
  ['an attribute key with a space', 'x', { ...evaluator, match: { attributes: { 'a b': 'c' } } }, 'match.attributes.a b'],
  ['eleven attribute filters', 'x', { ...evaluator, match: { attributes: Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`k${i}`, 'v'])) } }, 'match.attributes'],
  ['an unknown metric', 'x', { ...evaluator, metrics: ['vibes'] }, 'metrics[0]'],
  ['a judge metric without a judge', 'x', { ...evaluator, metrics: ['answer_relevancy'] }, 'metrics[0]'],
  ['a judge at a URL outside the platform’s endpoints', 'x', { ...evaluator, metrics: ['answer_relevancy'], judge: { provider: 'openai', model: 'gpt-4o-mini', base_url: 'http://169.254.169.254/v1' } }, 'judge.base_url'],
  ['a conversation metric on single spans', 'x', { ...evaluator, metrics: ['conversation_completeness'], judge: { provider: 'openai', model: 'gpt-4o-mini' } }, 'mapping.turns'],
] as Array<[string, string, Obj, string]>)('%s is refused, naming the field', async (_what, name, body, field) => {
  const answer = await call('alpha', 'PUT', `/v1/online-evaluators/${name}`, body);
  expect(answer.status).toBe(400);
  expect(answer.body.error.field).toBe(field);
});

test('an attribute filter is matched as text; one project never sees another’s spans or evaluators; a window is taken once', async () => {
  const hostile = "gold' OR 1=1 --";
  expect((await call('alpha', 'PUT', '/v1/online-evaluators/tier', { ...evaluator, match: { service: 'agent', attributes: { 'app.tier': hostile } } })).status).toBe(201);
  const before = Date.now();
  await send('alpha', [span('agent', 'q1', 'it ships', { 'app.tier': hostile }), span('agent', 'q2', 'it ships', { 'app.tier': 'gold' }), span('agent', 'q3', 'it ships')]);
  // Beta's spans of the same service and attribute: never alpha's evaluator's.
  await send('beta', [span('agent', 'q4', 'it ships', { 'app.tier': hostile })]);
  expect((await call('beta', 'GET', '/v1/online-evaluators/tier')).status).toBe(404);
  expect((await call('beta', 'DELETE', '/v1/online-evaluators/tier')).status).toBe(404);
  while (Date.now() - before < 50) await new Promise((resolve) => setTimeout(resolve, 10));
  // Two orchestrators schedule at once: each claims a window of its own (never the same), and the span is in one run.
  const queue = new MemoryCaseQueue(1);
  const schedulers = [0, 1].map(() => startOnlineScheduler({ db, clickhouse, clickhouseDatabase: chDatabase, queue, metrics }, { intervalMs: 3_600_000, lagMs: 0, maxCasesPerWindow: 100 }));
  const outcomes = (await Promise.all(schedulers.map((s) => s.runOnce()))).flat().filter((o) => o.evaluator === 'tier' && o.runId);
  await Promise.all(schedulers.map((s) => s.stop()));
  expect(outcomes).toHaveLength(1);
  expect(outcomes[0]).toMatchObject({ project: 'alpha', cases: 1 });
  const suite = (await getRunSuite(db, outcomes[0].runId!)) as Obj;
  expect(suite.name).toBe('online/tier');
  expect(suite.cases.map((c: Obj) => c.input)).toEqual(['q1']);
  await call('alpha', 'DELETE', '/v1/online-evaluators/tier');
});

test('a spent daily budget leaves the window unscored; a conversation is scored once idle, as one case of its turns', async () => {
  expect((await call('alpha', 'PUT', '/v1/online-evaluators/broke', { ...evaluator, match: { service: 'broke-agent' } })).status).toBe(201);
  expect(
    (await call('alpha', 'PUT', '/v1/online-evaluators/talks', { ...evaluator, scope: 'conversation', conversation_idle_seconds: 1, match: { service: 'talk-agent' }, metrics: [{ name: 'icontains', value: 'ships' }] })).status,
  ).toBe(201);
  // Today's spend of `broke` already reaches its budget.
  await db.insertInto('runs').values({ project_id: (await db.selectFrom('projects').select('id').where('name', '=', 'alpha').executeTakeFirstOrThrow()).id, suite_name: 'online/broke', status: 'completed', suite: '{}', build: '{}', branch: null, idempotency_key: null, request_hash: null, total_cases: 0, max_cost_usd: null, dataset_version_id: null, online_evaluator: 'broke', cost_usd: 1 }).execute();
  await send('alpha', [span('broke-agent', 'q', 'it ships')]);
  await send('alpha', [span('talk-agent', 'hello', 'hi there', { 'gen_ai.conversation.id': 's-1' }), span('talk-agent', 'where is it?', 'it ships today', { 'gen_ai.conversation.id': 's-1' })]);
  const queue = new MemoryCaseQueue(1);
  const scheduler = startOnlineScheduler({ db, clickhouse, clickhouseDatabase: chDatabase, queue, metrics }, { intervalMs: 3_600_000, lagMs: 0, maxCasesPerWindow: 100 });
  try {
    // Right away the conversation is not idle yet.
    const first = await scheduler.runOnce();
    expect(first.find((o) => o.evaluator === 'broke')).toMatchObject({ skipped: 'budget', cases: 0 });
    expect(first.find((o) => o.evaluator === 'talks')?.runId).toBeUndefined();
    await new Promise((resolve) => setTimeout(resolve, 1_300));
    const talks = (await scheduler.runOnce()).find((o) => o.evaluator === 'talks')!;
    expect(talks.cases).toBe(1);
    const suite = (await getRunSuite(db, talks.runId!)) as Obj;
    expect(suite.cases).toEqual([
      expect.objectContaining({
        id: 'session:s-1',
        turns: [
          { role: 'user', content: 'hello' },
          { role: 'assistant', content: 'hi there' },
          { role: 'user', content: 'where is it?' },
          { role: 'assistant', content: 'it ships today' },
        ],
      }),
    ]);
  } finally {
    await scheduler.stop();
  }
  expect(await metrics.registry.getSingleMetricAsString('eval_online_cases_total')).toMatch(/eval_online_cases_total\{outcome="budget",service="orchestrator"\} 1/);
});

test('an evaluator paused and enabled again starts from now, not from the spans of the pause; replaced while on, it keeps its place', async () => {
  const put = (enabled: boolean) => call('alpha', 'PUT', '/v1/online-evaluators/paused', { ...evaluator, match: { service: 'paused-agent' }, enabled });
  const first = await put(true);
  await put(false);
  await send('alpha', [span('paused-agent', 'during the pause', 'it ships')]);
  await new Promise((resolve) => setTimeout(resolve, 20));
  const resumed = await put(true);
  expect(Date.parse(resumed.body.watermark)).toBeGreaterThan(Date.parse(first.body.watermark));
  const replaced = await put(true);
  expect(replaced.body.watermark).toBe(resumed.body.watermark);
  const queue = new MemoryCaseQueue(1);
  const scheduler = startOnlineScheduler({ db, clickhouse, clickhouseDatabase: chDatabase, queue, metrics }, { intervalMs: 3_600_000, lagMs: 0, maxCasesPerWindow: 100 });
  try {
    expect((await scheduler.runOnce()).find((o) => o.evaluator === 'paused')).toMatchObject({ cases: 0 });
  } finally {
    await scheduler.stop();
  }
});
