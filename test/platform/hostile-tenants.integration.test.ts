import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { storableText } from '../../src/contracts/text';
import { startFakeLlmServer, type FakeLlmServer, type FakeRequest } from '../support/fake-llm-server';
import { TEST_OPENAI_KEY } from '../support/engine';
import { createTestDatabase, deleteRedisPrefix, spawnClickhouse, spawnService, tenantPlatformEnv, TEST_REDIS_URL, uniqueName, until, type ChildService } from '../support/platform';

/**
 * The whole class of the last attack, generated: project A sends suites and datasets made of what breaks
 * parsers, matchers and stores (catastrophic patterns, wildcard globs, runs of quotes, lone surrogates, NUL,
 * long metric lists, prices, limits), while project B uses the same platform. Whatever A sends: never a 5xx,
 * B's requests answered within a second, B's calls made with B's key at the price table's prices, and every
 * run A got accepted finishes without a write retried.
 */
let fake: FakeLlmServer;
let projectLlm: FakeLlmServer;
let database: Awaited<ReturnType<typeof createTestDatabase>>;
let clickhouse: Awaited<ReturnType<typeof spawnClickhouse>>;
let services: ChildService[] = [];
let orchestrator: ChildService;
const keys = { A: '', B: '' };
const own = { A: `tenantA-own-key-${randomBytes(12).toString('hex')}`, B: `tenantB-own-key-${randomBytes(12).toString('hex')}` };
const prefix = uniqueName('bqhostile');

async function api(project: 'A' | 'B', method: string, path: string, body?: string, type = 'application/json'): Promise<{ status: number; body: any }> {
  const response = await fetch(`${orchestrator.url}${path}`, { method, headers: { authorization: `Bearer ${keys[project]}`, 'content-type': type }, body });
  const text = await response.text();
  try {
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  } catch {
    return { status: response.status, body: text };
  }
}

beforeAll(async () => {
  const reply = (request: FakeRequest) =>
    request.schemaName === 'g_eval_score' ? { json: { reason: 'fine', score: 7 }, usage: { input: 10, output: 5 } } : { text: 'an answer', usage: { input: 10, output: 5 } };
  fake = await startFakeLlmServer({ script: reply });
  projectLlm = await startFakeLlmServer({ host: '127.0.0.2', script: reply });
  [database, clickhouse] = await Promise.all([createTestDatabase(), spawnClickhouse()]);
  const { env, keys: [a, b] } = tenantPlatformEnv({ databaseUrl: database.url, clickhouseUrl: clickhouse.url, queuePrefix: prefix }, { openaiBaseUrl: fake.openaiBaseUrl, apiKey: TEST_OPENAI_KEY }, ['hostile-a', 'victim-b']);
  Object.assign(keys, { A: a, B: b });
  services = await Promise.all([spawnService('serve', env), spawnService('work', env)]);
  [orchestrator] = services;
  for (const project of ['A', 'B'] as const) {
    const put = await api(project, 'PUT', '/v1/endpoints/own', JSON.stringify({ provider: 'openai', base_url: projectLlm.openaiBaseUrl, api_key: own[project] }));
    expect(put.status).toBe(200);
  }
}, 180_000);

afterAll(async () => {
  await Promise.all(services.map((s) => s.stop('SIGKILL')));
  await Promise.allSettled([database?.drop(), clickhouse?.stop(), fake?.close(), projectLlm?.close(), deleteRedisPrefix(TEST_REDIS_URL, prefix)]);
}, 60_000);

/** Text that breaks something somewhere: a backtracking engine, a glob, a CSV reader, Postgres, a label set. */
const hostileText = fc.oneof(
  fc.constantFrom('(a+)+$', '(a|aa)+$', '(x+x+)+y', '([a-z]+)*!', '(a)\\1', '(?=a)', '*a*a*a*a*a*a*a*b', '\u0000', '\ud800', '😀', '""""', '"', ',', '\r\n'),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.tuple(fc.constantFrom('a', '"', '""', '*a', '\u0000', '😀'), fc.integer({ min: 1, max: 3_000 })).map(([unit, times]) => unit.repeat(times)),
);

/** Hostile to the engine but storable: what gets past the front door and reaches a worker. */
const storableHostile = hostileText.map(storableText).filter((text) => text.length > 0);

const metricEntry = fc.oneof(
  storableHostile.map((pattern) => ({ name: 'regex', pattern })),
  storableHostile.map((pattern) => ({ name: 'pattern_match', pattern })),
  storableHostile.map((value) => ({ name: 'contains', value })),
  fc.constant({ name: 'exact_match' }),
  fc.constant('json_valid'),
);

/** One hostile request of A's: a suite to run, a CSV or JSONL dataset, or a query. */
const hostileRequest = fc.oneof(
  fc
    .record({
      metrics: fc.array(metricEntry, { minLength: 1, maxLength: 55 }),
      // Now and then a NUL or a lone surrogate: refused at the door, naming the field.
      cases: fc.array(fc.record({ input: storableHostile, actual_output: fc.oneof({ weight: 9, arbitrary: storableHostile }, { weight: 1, arbitrary: hostileText }), expected_output: storableHostile }), { minLength: 1, maxLength: 4 }),
      judgeModel: fc.oneof({ weight: 3, arbitrary: fc.constant('gpt-4o-mini') }, { weight: 1, arbitrary: storableHostile }),
      price: fc.oneof({ weight: 4, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
      rpm: fc.option(fc.double({ min: 0.001, max: 10, noNaN: true }), { nil: undefined }),
    })
    .map(({ metrics, cases, judgeModel, price, rpm }) => {
      // Distinct ids: the same metric twice needs them (a suite problem would hide the rest).
      const withIds = metrics.map((m, i) => (typeof m === 'string' ? { name: m, id: `m${i}` } : { ...m, id: `m${i}` }));
      const providers = [{ provider: 'openai', model: 'gpt-4o-mini', ...(rpm ? { requests_per_minute: rpm } : {}), ...(price ? { price: { input_per_mtok: 0, output_per_mtok: 0 } } : {}) }];
      const suite = { name: 'hostile', judge: { provider: 'openai', model: judgeModel || 'x', endpoint: 'own' }, metrics: withIds, providers, gate: { min_pass_rate: 0, max_errored: 1000 }, cases };
      return { method: 'POST', path: '/v1/runs', body: JSON.stringify({ suite }), type: 'application/json' };
    }),
  fc.array(fc.tuple(hostileText, hostileText), { minLength: 1, maxLength: 5 }).map((rows) => ({
    method: 'POST',
    path: '/v1/datasets?name=hostile-csv',
    body: `input,expected_output\n${rows.map((row) => row.map((cell) => `"${cell.replace(/"/g, '""')}"`).join(',')).join('\n')}\n`,
    type: 'text/csv',
  })),
  fc.array(hostileText, { minLength: 1, maxLength: 5 }).map((inputs) => ({
    method: 'POST',
    path: '/v1/datasets?name=hostile-jsonl',
    body: inputs.map((input) => JSON.stringify({ input, expected_output: input })).join('\n'),
    type: 'application/jsonl',
  })),
  fc.tuple(fc.constantFrom('/v1/runs?suite=', '/v1/runs?branch=', '/v1/agreement?metric=', '/v1/trends?metric='), hostileText).map(([path, value]) => ({
    method: 'GET',
    // A URL carries UTF-8: a lone surrogate cannot travel in one (NUL can, as %00).
    path: `${path}${encodeURIComponent((value as unknown as { toWellFormed(): string }).toWellFormed())}`.slice(0, 4_000),
    body: undefined,
    type: 'application/json',
  })),
);

test('whatever A sends: no 5xx, B answered all along, B’s calls with B’s key at list price, A’s runs all finish', async () => {
  const accepted: string[] = [];
  let answered = 0;
  let polling = true;
  const poller = (async () => {
    while (polling) {
      const response = await api('B', 'GET', '/v1/runs?limit=1');
      expect(response.status).toBe(200);
      answered++;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  })();
  try {
    await fc.assert(
      fc.asyncProperty(hostileRequest, async (request) => {
        const response = await api('A', request.method, request.path, request.body, request.type);
        expect({ path: request.path.slice(0, 40), status: response.status < 500 ? 'below 500' : response.status }).toEqual({ path: request.path.slice(0, 40), status: 'below 500' });
        if (request.path === '/v1/runs' && response.status === 400 && request.body!.includes('"price"')) expect(response.body.error.field).toMatch(/^suite\./);
        if (response.status === 202) accepted.push(response.body.id);
        if (process.env.DEBUG_HOSTILE) console.log(request.path.slice(0, 30), response.status, JSON.stringify(response.body).slice(0, 150));
      }),
      { numRuns: 80, seed: Number(process.env.FC_SEED ?? Date.now() % 2 ** 31) },
    );
  } finally {
    polling = false;
    await poller;
  }
  // B was answered all along (an event loop A's input blocked would leave its poller waiting, and this test
  // timing out); how fast is bench:platform's business, not a test's.
  expect(answered).toBeGreaterThan(5);

  // B's own run, after all that: its own key, the price table's price.
  const b = await api('B', 'POST', '/v1/runs', JSON.stringify({ suite: { name: 'victim', judge: { provider: 'openai', model: 'gpt-4o-mini', endpoint: 'own' }, target: { type: 'openai', model: 'gpt-4o-mini', endpoint: 'own' }, metrics: [{ name: 'g_eval', criteria: 'helpful', evaluation_steps: ['Check it.'] }], cases: [{ input: 'B PRIVATE QUESTION', topic: 'private' }] } }));
  expect(b.status).toBe(202);
  const run = await until(async () => {
    const { body } = await api('B', 'GET', `/v1/runs/${b.body.id}`);
    return body.finished_at ? body : undefined;
  }, 'B’s run');
  expect(run.progress.completed).toBe(1);
  const bCalls = projectLlm.requests.filter((r) => JSON.stringify(r.body).includes('B PRIVATE QUESTION'));
  expect(bCalls).toHaveLength(2);
  expect(new Set(bCalls.map((r) => r.headers.authorization))).toEqual(new Set([`Bearer ${own.B}`]));
  expect(projectLlm.requests.filter((r) => r.headers.authorization !== `Bearer ${own.A}` && r.headers.authorization !== `Bearer ${own.B}`)).toEqual([]);
  // Two calls of 10 input and 5 output tokens at gpt-4o-mini's list price.
  expect(run.cost.spent_usd).toBe(0.000009);

  // Every run A got accepted ends (its hostile patterns and text included), and no write was retried.
  for (const id of accepted) {
    await until(async () => (await api('A', 'GET', `/v1/runs/${id}`)).body.finished_at ?? undefined, `A’s run ${id}`, 60_000);
  }
  expect(services.flatMap((s) => s.log).filter((line) => /postgres write failed|request failed/.test(line))).toEqual([]);
}, 300_000);
