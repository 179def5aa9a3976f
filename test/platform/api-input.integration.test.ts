import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { readTenancyConfig } from '../../src/platform/config';
import type { Kysely } from 'kysely';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { createApp } from '../../services/orchestrator/app';
import { MemoryCaseQueue } from '../../src/queue/memory-queue';
import { migrateClickhouse } from '../../src/store/clickhouse/migrations';
import { connectPostgres, migratePostgres } from '../../src/store/postgres/connect';
import { createApiKey, revokeApiKey } from '../../src/store/postgres/projects';
import type { Database } from '../../src/store/postgres/schema';
import { PlatformMetrics } from '../../src/telemetry/metrics';
import { createTestDatabase, spawnClickhouse, uniqueName } from '../support/platform';

/** Bad input answers 400, 401, 404, 409, 413 or 415 with a JSON error naming the field; never a 5xx. */
let database: Awaited<ReturnType<typeof createTestDatabase>>;
let clickhouseProcess: Awaited<ReturnType<typeof spawnClickhouse>>;
let db: Kysely<Database>;
let clickhouse: ClickHouseClient;
let app: ReturnType<typeof createApp>;
let key: string;
let queuedRun: string;
let chDatabase: string;

const validSuite = { name: 's', metrics: [{ name: 'icontains', value: 'x' }], cases: [{ input: 'q', actual_output: 'x' }] };

function appWith(tenancy: ReturnType<typeof readTenancyConfig>) {
  return createApp({
    db,
    queue: new MemoryCaseQueue(1),
    clickhouse,
    clickhouseDatabase: chDatabase,
    metrics: new PlatformMetrics('orchestrator', 'test'),
    version: 'test',
    limits: { maxBodyBytes: 64 * 1024, maxCasesPerRun: 10, requestsPerSecond: 1e6, requestBurst: 1e6 },
    tenancy,
  });
}

beforeAll(async () => {
  [database, clickhouseProcess] = await Promise.all([createTestDatabase(), spawnClickhouse()]);
  db = await connectPostgres({ kind: 'url', url: database.url, poolSize: 4 });
  await migratePostgres(db);
  clickhouse = createClient({ url: clickhouseProcess.url });
  chDatabase = uniqueName('evals');
  await migrateClickhouse(clickhouse, chDatabase);
  app = appWith(readTenancyConfig({ ENDPOINT_KEYS_SECRET: randomBytes(32).toString('base64'), OPENAI_API_KEY: `sk-test-${randomBytes(8).toString('hex')}` }));
  key = (await createApiKey(db, 'inputs')).key;
  const run = await app.request('/v1/runs', { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ suite: validSuite }) });
  queuedRun = ((await run.json()) as { id: string }).id;
}, 120_000);

afterAll(async () => {
  await db?.destroy();
  await clickhouse?.close();
  await Promise.allSettled([database?.drop(), clickhouseProcess?.stop()]);
});

async function call(method: string, path: string, options: { body?: string; type?: string | null; auth?: boolean } = {}) {
  const headers: Record<string, string> = {};
  if (options.auth !== false) headers.authorization = `Bearer ${key}`;
  if (options.type !== null && options.body !== undefined) headers['content-type'] = options.type ?? 'application/json';
  const response = await app.request(path, { method, headers, body: options.body });
  const text = await response.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, json, text };
}

const big = JSON.stringify({ suite: { ...validSuite, description: 'x'.repeat(70 * 1024) } });

test.each([
  ['no key', 'GET', '/v1/runs', { auth: false }, 401, 'authorization'],
  ['a form instead of JSON', 'POST', '/v1/runs', { body: 'suite=1', type: 'application/x-www-form-urlencoded' }, 415, 'content-type'],
  ['no content type', 'POST', '/v1/runs', { body: '{}', type: null }, 415, 'content-type'],
  ['broken JSON', 'POST', '/v1/runs', { body: '{"suite": ' }, 400, 'body'],
  ['an empty object', 'POST', '/v1/runs', { body: '{}' }, 400, 'suite'],
  ['an unknown field', 'POST', '/v1/runs', { body: JSON.stringify({ suite: validSuite, priority: 1 }) }, 400, 'priority'],
  ['a bad case', 'POST', '/v1/runs', { body: JSON.stringify({ suite: { ...validSuite, cases: [{ input: 7 }] } }) }, 400, 'suite.cases[0].input'],
  ['an unknown metric', 'POST', '/v1/runs', { body: JSON.stringify({ suite: { ...validSuite, metrics: ['vibes'] } }) }, 400, 'suite.metrics[0]'],
  [
    'a ${VAR} that would read the server’s environment',
    'POST',
    '/v1/runs',
    { body: JSON.stringify({ suite: { ...validSuite, target: { type: 'http', url: 'https://example.com', headers: { x: '${DATABASE_URL}' }, output: '$.a' } } }) },
    400,
    'suite.target.headers.x',
  ],
  ['a missing dataset', 'POST', '/v1/runs', { body: JSON.stringify({ suite: { name: 's', metrics: ['json_valid'] }, dataset: { name: 'nope', version: 1 } }) }, 404, 'dataset'],
  ['a dataset and inline cases', 'POST', '/v1/runs', { body: JSON.stringify({ suite: validSuite, dataset: { name: 'd', version: 1 } }) }, 400, 'suite.cases'],
  // A conversation is a target call per user turn, each with the whole history: its length is bounded.
  [
    'a conversation of 101 turns',
    'POST',
    '/v1/runs',
    { body: JSON.stringify({ suite: { ...validSuite, cases: [{ turns: Array.from({ length: 101 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: 'hi' })) }] } }) },
    400,
    'suite.cases[0].turns',
  ],
  ['too many cases', 'POST', '/v1/runs', { body: JSON.stringify({ suite: { ...validSuite, cases: Array.from({ length: 11 }, () => validSuite.cases[0]) } }) }, 413, 'suite.cases'],
  ['a body over the limit', 'POST', '/v1/runs', { body: big }, 413, 'body'],
  ['a page size of 0', 'GET', '/v1/runs?limit=0', {}, 400, 'limit'],
  ['a forged cursor', 'GET', '/v1/runs?cursor=bm90LWEtY3Vyc29y', {}, 400, 'cursor'],
  ['an unknown status', 'GET', '/v1/runs?status=done', {}, 400, 'status'],
  ['an unknown query parameter', 'GET', '/v1/runs?colour=red', {}, 400, 'colour'],
  ['a run id that is not a UUID', 'GET', '/v1/runs/12345', {}, 404, 'id'],
  ['a run that does not exist', 'GET', '/v1/runs/00000000-0000-4000-8000-000000000000', {}, 404, 'id'],
  ['results paging past a bad cursor', 'GET', '/v1/runs/00000000-0000-4000-8000-000000000000/results?cursor=abc', {}, 404, 'id'],
  ['compare without head', 'GET', '/v1/compare?base=00000000-0000-4000-8000-000000000000', {}, 400, 'head'],
  ['trends without a metric', 'GET', '/v1/trends', {}, 400, 'metric'],
  ['topics of a non-UUID', 'GET', '/v1/topics?run=x', {}, 400, 'run'],
  ['a dataset name with a slash', 'POST', '/v1/datasets', { body: JSON.stringify({ name: 'a/b', cases: [{ input: 'q' }] }) }, 400, 'name'],
  ['a dataset case with output for input', 'POST', '/v1/datasets', { body: JSON.stringify({ name: 'd', cases: [{ output: 'q' }] }) }, 400, 'cases[0].output'],
  ['a dataset case without input', 'POST', '/v1/datasets', { body: JSON.stringify({ name: 'd', cases: [{ expected_output: 'q' }] }) }, 400, 'cases[0].input'],
  ['a DeepEval CSV without ?name=', 'POST', '/v1/datasets', { body: 'input\nq\n', type: 'text/csv' }, 400, 'name'],
  ['a DeepEval JSON array with a bad name', 'POST', '/v1/datasets?name=a%2Fb', { body: '[{"input": "q"}]' }, 400, 'name'],
  ['a DeepEval JSONL line nested too deep', 'POST', '/v1/datasets?name=d', { body: `${'['.repeat(100)}${']'.repeat(100)}\n`, type: 'application/jsonl' }, 400, 'line 1'],
  ['a NUL in a DeepEval CSV cell', 'POST', '/v1/datasets?name=d', { body: 'input\na\u0000b\n', type: 'text/csv' }, 400, '[0].input'],
  ['a DeepEval golden field of the wrong type', 'POST', '/v1/datasets?name=d', { body: '{"input": "q", "retrieval_context": 5}\n', type: 'application/jsonl' }, 400, '[0].retrieval_context'],
  ['a dataset in a type that is not JSON, JSONL or CSV', 'POST', '/v1/datasets?name=d', { body: 'input: q', type: 'text/yaml' }, 415, 'content-type'],
] as const)('%s: %s %s → %i naming %s', async (_, method, path, options, status, field) => {
  const response = await call(method, path, options as Parameters<typeof call>[2]);
  expect(response.status).toBe(status);
  expect(response.json.error.field).toBe(field);
  expect(response.json.error.message).toEqual(expect.any(String));
});

test('a report of an unfinished run is a conflict, not an error', async () => {
  const response = await call('GET', `/v1/runs/${queuedRun}/report`);
  expect(response).toMatchObject({ status: 409, json: { error: { code: 'conflict' } } });
});

test('an unknown route answers a JSON 404', async () => {
  expect(await call('GET', '/v2/everything')).toMatchObject({ status: 404, json: { error: { code: 'not_found' } } });
});

describe('property-based: whatever arrives, never a 5xx', () => {
  const noServerError = (response: { status: number; json: any; text: string }) => {
    if (response.status >= 500) throw new Error(`HTTP ${response.status}: ${response.text}`);
    if (response.status >= 400 && typeof response.json?.error?.message !== 'string') throw new Error(`unshaped error: ${response.text}`);
  };

  test('arbitrary JSON bodies to POST /v1/runs and /v1/datasets', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('/v1/runs', '/v1/datasets'), fc.jsonValue(), async (path, body) => {
        noServerError(await call('POST', path, { body: JSON.stringify(body) }));
      }),
      { numRuns: 150 },
    );
  });

  test('suite-shaped bodies with wrong types in every field', async () => {
    const anything = fc.oneof(fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(fc.string(), { maxLength: 3 }), fc.dictionary(fc.string(), fc.string(), { maxKeys: 3 }));
    const suiteLike = fc.record(
      {
        name: anything,
        target: fc.oneof(anything, fc.record({ type: fc.constantFrom('openai', 'anthropic', 'http', 'none', 'x'), model: anything, url: anything, output: anything })),
        judge: fc.oneof(anything, fc.record({ provider: anything, model: anything })),
        metrics: fc.oneof(anything, fc.array(fc.oneof(fc.constantFrom('faithfulness', 'regex', 'json_schema', 'g_eval', 'contains'), fc.record({ name: anything, threshold: anything, pattern: anything, schema: anything }, { requiredKeys: [] })), { maxLength: 3 })),
        cases: fc.oneof(anything, fc.array(fc.record({ input: anything, actual_output: anything, retrieval_context: anything, expected_tools: anything }, { requiredKeys: [] }), { maxLength: 3 })),
        concurrency: anything,
        gate: anything,
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(suiteLike, fc.option(fc.record({ name: fc.string(), version: anything }), { nil: undefined }), async (suite, dataset) => {
        noServerError(await call('POST', '/v1/runs', { body: JSON.stringify({ suite, ...(dataset ? { dataset } : {}) }) }));
      }),
      { numRuns: 200 },
    );
  });

  test('hostile values in every field a tenant controls at the boundary: model endpoints and URLs, budgets, its own endpoints', async () => {
    const anything = fc.oneof(fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(fc.string(), { maxLength: 2 }));
    const url = fc.oneof(
      fc.webUrl(),
      fc.constantFrom('http://127.0.0.1:6379/', 'http://[::ffff:a9fe:a9fe]/', 'file:///etc/passwd', 'gopher://x/', 'http://localhost./', 'http://0/', 'javascript:alert(1)', 'http://[::1]:80/', 'https://user:pw@169.254.169.254/'),
      fc.string(),
    );
    const model = fc.record({ provider: fc.constantFrom('openai', 'anthropic'), model: fc.oneof(fc.constant('gpt-4o-mini'), fc.string()), base_url: fc.option(url, { nil: undefined }), endpoint: fc.option(fc.oneof(fc.string(), anything), { nil: undefined }) }, { requiredKeys: ['provider', 'model'] });
    const suite = fc.record({
      judge: model,
      target: fc.oneof(model.map(({ provider, ...rest }) => ({ type: provider, ...rest })), fc.record({ type: fc.constant('http'), url, output: fc.constant('$.a'), headers: fc.dictionary(fc.string(), fc.string(), { maxKeys: 2 }) })),
      max_cost_usd: fc.option(anything, { nil: undefined }),
    });
    await fc.assert(
      fc.asyncProperty(suite, async (fields) => {
        const response = await call('POST', '/v1/runs', { body: JSON.stringify({ suite: { ...validSuite, cases: [{ input: 'q' }], ...fields } }) });
        noServerError(response);
        // A URL of its own (not an endpoint of the platform) is never accepted for a model.
        if (response.status === 202) expect([fields.judge.base_url, 'base_url' in fields.target ? fields.target.base_url : undefined].filter(Boolean)).toEqual([]);
      }),
      { numRuns: 200 },
    );
    await fc.assert(
      fc.asyncProperty(fc.string(), fc.record({ provider: fc.oneof(fc.constantFrom('openai', 'anthropic'), anything), base_url: url, api_key: fc.oneof(fc.string(), anything), models: fc.option(anything, { nil: undefined }) }, { requiredKeys: [] }), async (name, body) => {
        const response = await call('PUT', `/v1/endpoints/${encodeURIComponent(name)}`, { body: JSON.stringify(body) });
        noServerError(response);
        expect(response.text).not.toContain(typeof body.api_key === 'string' && body.api_key.length >= 8 ? body.api_key : '\u0000never');
      }),
      { numRuns: 200 },
    );
  });

  test('arbitrary ids and query strings on every GET route', async () => {
    const routes = ['/v1/runs', '/v1/runs/{id}', '/v1/runs/{id}/results', '/v1/runs/{id}/report', '/v1/compare', '/v1/trends', '/v1/topics', '/v1/datasets'];
    const queryName = fc.constantFrom('limit', 'cursor', 'status', 'branch', 'project', 'failed', 'base', 'head', 'max_drop', 'metric', 'run', 'x');
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), fc.string(), fc.array(fc.tuple(queryName, fc.string()), { maxLength: 4 }), async (route, id, query) => {
        const path = route.replace('{id}', encodeURIComponent(id));
        const search = new URLSearchParams(query).toString();
        noServerError(await call('GET', search ? `${path}?${search}` : path));
      }),
      { numRuns: 200 },
    );
  });
});

describe('hostile input: refused with 400 naming the place, never a 5xx', () => {
  const post = (body: string) => call('POST', '/v1/runs', { body });
  test('a NUL character in a case input', async () => {
    const response = await post(JSON.stringify({ suite: { ...validSuite, cases: [{ input: 'a\u0000b', actual_output: 'x' }] } }));
    expect(response).toMatchObject({ status: 400, json: { error: { field: 'suite.cases[0].input', message: expect.stringContaining('NUL') } } });
  });
  test('a lone surrogate in a suite name', async () => {
    const response = await post('{"suite": {"name": "\\ud800", "metrics": ["json_valid"], "cases": [{"input": "q"}]}}');
    expect(response).toMatchObject({ status: 400, json: { error: { field: 'suite.name', message: expect.stringContaining('surrogate') } } });
  });
  test('a NUL character in a field name', async () => {
    const response = await post(JSON.stringify({ suite: { ...validSuite, cases: [{ input: 'q', metadata: { 'a\u0000': 1 } }] } }));
    expect(response.status).toBe(400);
    expect(response.json.error.field).toBe('suite.cases[0].metadata.a\u0000');
  });
  test('JSON nested 10,000 deep', async () => {
    const response = await post(`{"suite": ${'['.repeat(10_000)}${']'.repeat(10_000)}}`);
    expect(response).toMatchObject({ status: 400, json: { error: { field: 'body', message: expect.stringContaining('deeper than 64') } } });
  });
});

describe('per-project limits and keys', () => {
  let limited: ReturnType<typeof createApp>;
  let limitedKey: string;
  const request = (path: string, init: { method?: string; body?: unknown; key?: string; headers?: Record<string, string> } = {}) =>
    limited.request(path, {
      method: init.method ?? 'GET',
      headers: { authorization: `Bearer ${init.key ?? limitedKey}`, 'content-type': 'application/json', ...init.headers },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });

  beforeAll(async () => {
    limited = createApp({
      db,
      queue: new MemoryCaseQueue(1),
      clickhouse,
      clickhouseDatabase: uniqueName('evals'),
      metrics: new PlatformMetrics('orchestrator', 'test'),
      version: 'test',
      limits: { requestsPerSecond: 2, requestBurst: 4, maxActiveRuns: 2, maxQueuedCases: 5, apiKeyCacheMs: 1_000 },
    });
    limitedKey = (await createApiKey(db, 'limited')).key;
  });

  test('the same Idempotency-Key with a different body is 422; with the same body, the same run', async () => {
    const body = { suite: validSuite };
    const first = await request('/v1/runs', { method: 'POST', body, headers: { 'idempotency-key': 'k1' } });
    const same = await request('/v1/runs', { method: 'POST', body, headers: { 'idempotency-key': 'k1' } });
    const other = await request('/v1/runs', { method: 'POST', body: { suite: { ...validSuite, name: 'other' } }, headers: { 'idempotency-key': 'k1' } });
    expect([first.status, same.status, other.status]).toEqual([202, 200, 422]);
    expect(((await same.json()) as { id: string }).id).toBe(((await first.json()) as { id: string }).id);
    expect(await other.json()).toMatchObject({ error: { field: 'idempotency-key', message: expect.stringContaining('different body') } });
    await new Promise((resolve) => setTimeout(resolve, 1_500)); // the request bucket refills
  });

  test('unfinished runs and waiting cases over the project’s limits answer 429 with retry-after', async () => {
    // One run is unfinished (the previous test's); a second fits; a third does not.
    const second = await request('/v1/runs', { method: 'POST', body: { suite: validSuite } });
    expect(second.status).toBe(202);
    const third = await request('/v1/runs', { method: 'POST', body: { suite: validSuite } });
    expect(third.status).toBe(429);
    expect(third.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(await third.json()).toMatchObject({ error: { field: 'project', limit: 'active_runs' } });
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    await db.updateTable('runs').set({ finished_at: new Date(), status: 'cancelled' }).where('project_id', '=', (await db.selectFrom('projects').select('id').where('name', '=', 'limited').executeTakeFirstOrThrow()).id).execute();
    const tooMany = await request('/v1/runs', { method: 'POST', body: { suite: { ...validSuite, cases: Array.from({ length: 6 }, () => validSuite.cases[0]) } } });
    expect(tooMany.status).toBe(429);
    expect(await tooMany.json()).toMatchObject({ error: { limit: 'queued_cases' } });
    await new Promise((resolve) => setTimeout(resolve, 1_500));
  });

  test('a project over its request rate gets 429 with retry-after; a wrong key is cached as unknown', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await request('/v1/runs')).status);
    expect(statuses.slice(0, 4)).toEqual([200, 200, 200, 200]);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(3);
    const limitedResponse = await request('/v1/runs');
    expect(limitedResponse.headers.get('retry-after')).toBe('1');
    const wrong = await request('/v1/runs', { key: 'aiev_not-a-key' });
    expect(wrong.status).toBe(401);
  });

  test('a flood of wrong keys does not lock out valid ones (behind the Ingress every client shares one address)', async () => {
    const wrong: number[] = [];
    for (let i = 0; i < 50; i++) wrong.push((await request('/v1/datasets', { key: i % 2 ? `aiev_unknown-${i}` : `aiev_${'A'.repeat(30)}${String(i).padStart(2, '0')}` })).status);
    expect(wrong).toEqual(Array(50).fill(401));
    const keys = await Promise.all(Array.from({ length: 30 }, (_, i) => createApiKey(db, `many-${i}`)));
    const valid = await Promise.all(keys.map(({ key: k }) => request('/v1/datasets', { key: k })));
    expect(valid.map((r) => r.status)).toEqual(keys.map(() => 200));
  });

  test('a revoked key stops working within a second', async () => {
    const { key: doomed } = await createApiKey(db, 'revoked');
    expect((await request('/v1/datasets', { key: doomed })).status).toBe(200);
    await revokeApiKey(db, doomed);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect((await request('/v1/datasets', { key: doomed })).status).toBe(401);
  });
});

test('a platform without ENDPOINT_KEYS_SECRET: registering a project endpoint answers 503 naming it, and stores nothing', async () => {
  const unsealed = appWith(readTenancyConfig({ OPENAI_API_KEY: `sk-test-${randomBytes(8).toString('hex')}` }));
  const body = JSON.stringify({ provider: 'openai', base_url: 'https://llm.example.com/v1', api_key: `project-key-${randomBytes(8).toString('hex')}` });
  const response = await unsealed.request('/v1/endpoints/unsealed', { method: 'PUT', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body });
  expect(response.status).toBe(503);
  expect(await response.json()).toMatchObject({ error: { field: 'name', message: expect.stringContaining('ENDPOINT_KEYS_SECRET') } });
  const listed = (await (await unsealed.request('/v1/endpoints', { headers: { authorization: `Bearer ${key}` } })).json()) as { endpoints: { name: string }[] };
  expect(listed.endpoints.map((e) => e.name)).not.toContain('unsealed');
  expect(await db.selectFrom('project_endpoints').select('name').where('name', '=', 'unsealed').execute()).toEqual([]);
});
