import { randomBytes } from 'node:crypto';
import { startFakeLlmServer, type FakeLlmServer, type FakeRequest } from '../support/fake-llm-server';
import { startRecordingServer, type RecordingServer } from '../support/recording-server';
import { TEST_OPENAI_KEY } from '../support/engine';
import { createTestDatabase, deleteRedisPrefix, spawnClickhouse, spawnService, tenantPlatformEnv, TEST_REDIS_URL, uniqueName, until, type ChildService } from '../support/platform';

/**
 * Two projects on one platform in its deployed shape (an orchestrator and two workers over Postgres, Redis, chdb
 * and a fake LLM): what one project sets, sends or uploads never changes another's key, price, limits, latency
 * or stored results. Each test is one finding of the attack that found them, run again.
 */
let fake: FakeLlmServer;
let projectLlm: FakeLlmServer;
let agent: RecordingServer;
let database: Awaited<ReturnType<typeof createTestDatabase>>;
let clickhouse: Awaited<ReturnType<typeof spawnClickhouse>>;
let services: ChildService[] = [];
let orchestrator: ChildService;
let workers: ChildService[];
const keys: Record<'A' | 'B', string> = { A: '', B: '' };
const prefix = uniqueName('bqisolate');

/** The fake LLM's answers: a topic label per input, a g_eval score, and otherwise a short answer. */
function answer(request: FakeRequest) {
  if (request.schemaName === 'topic_labels') return { json: { labels: [...request.prompt.matchAll(/^\d+\. /gm)].map(() => 'refunds') }, usage: { input: 1_000, output: 500 } };
  if (request.schemaName === 'g_eval_score') return { json: { reason: 'fine', score: 7 }, usage: { input: 10, output: 5 } };
  return { text: `an answer to ${request.prompt.slice(0, 60)}`, usage: { input: 10, output: 5 } };
}

async function api(project: 'A' | 'B', method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const response = await fetch(`${orchestrator.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${keys[project]}`, 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // An HTML page or plain text.
  }
  return { status: response.status, body: parsed };
}

const submit = async (project: 'A' | 'B', suite: Record<string, unknown>) => {
  const response = await api(project, 'POST', '/v1/runs', { suite: { gate: { min_pass_rate: 0, max_errored: 1000 }, ...suite } });
  expect(response).toMatchObject({ status: 202 });
  return response.body.id as string;
};

const finished = (project: 'A' | 'B', id: string, timeoutMs = 60_000) =>
  until(async () => {
    const { body } = await api(project, 'GET', `/v1/runs/${id}`);
    return body.finished_at ? body : undefined;
  }, `run ${id} to finish`, timeoutMs);

/** Requests `path` as project B every 25 ms while `attack` runs; returns how many were answered, and with which statuses. */
async function answeredWhile(attack: () => Promise<unknown>, path = '/v1/runs?limit=1'): Promise<{ answered: number; statuses: Set<number> }> {
  let running = true;
  let answered = 0;
  const statuses = new Set<number>();
  const poller = (async () => {
    while (running) {
      const response = await api('B', 'GET', path);
      statuses.add(response.status);
      answered++;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  })();
  try {
    await attack();
  } finally {
    running = false;
    await poller;
  }
  return { answered, statuses };
}

beforeAll(async () => {
  fake = await startFakeLlmServer({ script: answer });
  // The projects' own LLM provider, on an address the operator allowed: both register it under the same name.
  projectLlm = await startFakeLlmServer({ host: '127.0.0.2', script: answer });
  // A's agent under test, also allowed: it answers with text Postgres cannot store as it is.
  agent = await startRecordingServer('127.0.0.2', (path) => ({ body: path === '/nul' ? '{"answer": "before\\u0000after"}' : '{"answer": "ok"}' }));
  [database, clickhouse] = await Promise.all([createTestDatabase(), spawnClickhouse()]);
  const { env, keys: [a, b] } = tenantPlatformEnv({ databaseUrl: database.url, clickhouseUrl: clickhouse.url, queuePrefix: prefix }, { openaiBaseUrl: fake.openaiBaseUrl, apiKey: TEST_OPENAI_KEY }, ['tenant-a', 'tenant-b']);
  Object.assign(keys, { A: a, B: b });
  services = await Promise.all([spawnService('serve', env), spawnService('work', env), spawnService('work', env)]);
  [orchestrator, ...workers] = services;
}, 180_000);

afterAll(async () => {
  await Promise.all(services.map((s) => s.stop('SIGKILL')));
  await Promise.allSettled([database?.drop(), clickhouse?.stop(), fake?.close(), projectLlm?.close(), agent?.close(), deleteRedisPrefix(TEST_REDIS_URL, prefix)]);
}, 60_000);

test('1. two projects register the same endpoint name and URL with their own keys: every call carries its own project’s key', async () => {
  const own = { A: `tenantA-own-key-${randomBytes(12).toString('hex')}`, B: `tenantB-own-key-${randomBytes(12).toString('hex')}` };
  for (const project of ['A', 'B'] as const) {
    expect((await api(project, 'PUT', '/v1/endpoints/openai-own', { provider: 'openai', base_url: projectLlm.openaiBaseUrl, api_key: own[project] })).status).toBe(200);
  }
  const suite = (project: 'A' | 'B', round: number) => ({
    name: `own-${round}`,
    target: { type: 'openai', model: 'gpt-4o-mini', endpoint: 'openai-own' },
    metrics: ['json_valid'],
    cases: Array.from({ length: 4 }, (_, i) => ({ input: `VICTIM ${project} CONFIDENTIAL PROMPT ${round}.${i}` })),
  });
  // Both orders, and both at once, across both workers.
  for (const [round, order] of [['A', 'B'], ['B', 'A']].entries()) {
    const ids = await Promise.all(order.map((project) => submit(project as 'A' | 'B', suite(project as 'A' | 'B', round))));
    await Promise.all(ids.map((id, i) => finished(order[i] as 'A' | 'B', id)));
  }
  const sent = projectLlm.requests.filter((r) => r.prompt.includes('CONFIDENTIAL PROMPT'));
  expect(sent).toHaveLength(16);
  for (const request of sent) {
    const project = request.prompt.includes('VICTIM A') ? 'A' : 'B';
    expect({ prompt: request.prompt, authorization: request.headers.authorization }).toEqual({ prompt: request.prompt, authorization: `Bearer ${own[project]}` });
  }
  for (const project of ['A', 'B'] as const) await api(project, 'DELETE', '/v1/endpoints/openai-own');
}, 120_000);

test('2. a suite cannot set prices; its rate limit binds its own run: B’s run at list price finishes while A’s waits on its 6 a minute', async () => {
  const priced = await api('A', 'POST', '/v1/runs', {
    suite: { name: 'free', metrics: ['json_valid'], providers: [{ provider: 'openai', model: 'gpt-4o', price: { input_per_mtok: 0, output_per_mtok: 0 } }], cases: [{ input: 'q', actual_output: '{}' }] },
  });
  expect(priced.status).toBe(400);
  expect(priced.body.error).toMatchObject({ field: 'suite.providers[0].price', message: expect.stringContaining("set by the platform's operator") });

  const slow = await submit('A', {
    name: 'limited',
    target: { type: 'openai', model: 'gpt-4o-mini' },
    metrics: ['json_valid'],
    providers: [{ provider: 'openai', model: 'gpt-4o-mini', requests_per_minute: 6 }],
    cases: Array.from({ length: 3 }, (_, i) => ({ input: `limited ${i}` })),
  });
  await until(async () => fake.requests.some((r) => r.prompt === 'limited 0' || r.prompt === 'limited 1' || r.prompt === 'limited 2'), 'A’s first call');
  const quick = await submit('B', {
    name: 'unlimited',
    target: { type: 'openai', model: 'gpt-4o-mini' },
    metrics: ['json_valid'],
    cases: Array.from({ length: 6 }, (_, i) => ({ input: `unlimited ${i}` })),
  });
  const b = await finished('B', quick);
  const a = (await api('A', 'GET', `/v1/runs/${slow}`)).body;
  // A's next call waits ten seconds for its bucket; B's six calls went out meanwhile.
  expect({ b: b.progress.completed, aFinished: a.finished_at }).toEqual({ b: 6, aFinished: null });
  // B pays the price table's gpt-4o-mini: 10 input and 5 output tokens a call at $0.15 and $0.60 per million.
  expect(b.cost.spent_usd).toBeCloseTo(6 * (10 * 0.15 + 5 * 0.6) / 1e6, 12);
  await api('A', 'POST', `/v1/runs/${slow}/cancel`);
}, 120_000);

test('3 and 4. a backtracking model pattern and a 10 MB CSV of escaped quotes: both handled, and B’s requests answered meanwhile', async () => {
  const starsKey = `stars-key-${randomBytes(12).toString('hex')}`;
  expect((await api('A', 'PUT', '/v1/endpoints/stars', { provider: 'openai', base_url: projectLlm.openaiBaseUrl, api_key: starsKey, models: ['*a*a*a*a*a*a*a*b'] })).status).toBe(200);
  const tooMany = await api('A', 'PUT', '/v1/endpoints/stars2', { provider: 'openai', base_url: projectLlm.openaiBaseUrl, api_key: starsKey, models: ['*a*a*a*a*a*a*a*a*a*b'] });
  expect(tooMany).toMatchObject({ status: 400, body: { error: { field: 'models[0]', message: expect.stringContaining('at most 8') } } });
  const csv = `input,expected_output\n"${'""'.repeat(5_000_000)}",x\n`;
  const attack = await answeredWhile(async () => {
    for (let i = 0; i < 5; i++) {
      const refused = await api('A', 'POST', '/v1/runs', {
        suite: { name: 'glob', judge: { provider: 'openai', model: 'a'.repeat(200), endpoint: 'stars' }, metrics: ['faithfulness'], cases: [{ input: 'q', actual_output: 'a', retrieval_context: ['c'] }] },
      });
      expect(refused).toMatchObject({ status: 400, body: { error: { field: 'suite.judge.model' } } });
    }
    const uploaded = await api('A', 'POST', '/v1/datasets?name=quotes', csv, { 'content-type': 'text/csv' });
    expect(uploaded.status).toBe(201);
  });
  expect(attack.statuses).toEqual(new Set([200]));
  // Answered while the attack ran (answeredWhile polls until it ends): a backtracking matcher or a quadratic CSV
  // reader would hold the event loop, and this test would time out.
  expect(attack.answered).toBeGreaterThan(3);
  await api('A', 'DELETE', '/v1/endpoints/stars');
}, 120_000);

test('5. a catastrophic pattern in A’s regex metric does not hold a worker: B’s one-case run finishes, and so do A’s cases', async () => {
  const cases = Array.from({ length: 8 }, () => ({ input: 'q', actual_output: `${'a'.repeat(5_000)}!` }));
  const attacker = await submit('A', { name: 'redos', metrics: [{ name: 'regex', pattern: '(a+)+$' }, { name: 'pattern_match', id: 'whole', pattern: '(a|aa)+' }], cases });
  const victim = await submit('B', { name: 'victim', metrics: ['json_valid'], cases: [{ input: 'q', actual_output: '{}' }] });
  const b = await finished('B', victim);
  expect(b.progress.passed).toBe(1);
  const a = await finished('A', attacker);
  expect(a.progress).toMatchObject({ completed: 8, failed: 8 });
}, 60_000);

test('6. text Postgres cannot store is made storable before the write: no retry, no delay for B, nothing cut inside a character', async () => {
  const attacker = await submit('A', {
    name: 'unstorable',
    target: { type: 'http', url: `${agent.url}/nul`, output: '$.answer' },
    metrics: [{ name: 'exact_match' }],
    cases: Array.from({ length: 6 }, () => ({ input: 'q', expected_output: `${'a'.repeat(79)}😀` })),
  });
  const victim = await submit('B', { name: 'victim-2', metrics: ['json_valid'], cases: Array.from({ length: 4 }, () => ({ input: 'q', actual_output: '{}' })) });
  const [a, b] = await Promise.all([finished('A', attacker, 30_000), finished('B', victim, 30_000)]);
  expect(a.progress).toMatchObject({ completed: 6, failed: 6, errored: 0 });
  expect(b.progress).toMatchObject({ completed: 4, passed: 4 });
  const stored = (await api('A', 'GET', `/v1/runs/${attacker}/results`)).body.results;
  expect(stored[0].result.actual_output).toBe('beforeafter');
  expect(stored[0].result.metrics.exact_match.reason).toBe(`The output differs from "${'a'.repeat(79)}…".`);
  expect(workers.flatMap((w) => w.log).filter((line) => line.includes('postgres write failed'))).toEqual([]);
}, 60_000);

test('7. spend is bounded inside a case, and topic labelling is billed to its run', async () => {
  // Twenty LLM-judged metrics in one case, under a budget that holds one call's worst case.
  const metrics = Array.from({ length: 20 }, (_, i) => ({ name: 'g_eval', id: `crit_${i}`, criteria: `criterion ${i}`, evaluation_steps: ['Check it.'] }));
  const budgeted = await submit('A', {
    name: 'budget',
    judge: { provider: 'openai', model: 'gpt-4o-2024-08-06', max_tokens: 100 },
    metrics,
    max_cost_usd: 0.0015,
    cases: [{ input: 'q', actual_output: 'a', topic: 'budgets' }],
  });
  const run = await finished('A', budgeted);
  const calls = fake.requests.filter((r) => r.model === 'gpt-4o-2024-08-06');
  // Each call may cost up to $0.001 (100 output tokens at $10/M plus the prompt): at most two fit in $0.0015,
  // one at a time; before, all twenty went out at once.
  expect(calls.length).toBeGreaterThanOrEqual(1);
  expect(calls.length).toBeLessThanOrEqual(3);
  expect(run.cost.spent_usd).toBeLessThanOrEqual(0.0015);
  const results = (await api('A', 'GET', `/v1/runs/${budgeted}/results`)).body.results;
  expect(Object.values(results[0].result.metrics).filter((m: any) => /not called: the run has spent its budget/.test(m.error ?? '')).length).toBeGreaterThanOrEqual(17);

  // Two unlabelled cases: the judge labels them when the run finishes, and the run pays for that call.
  const labelled = await submit('A', {
    name: 'labels',
    judge: { provider: 'openai', model: 'gpt-4o-mini-2024-07-18' },
    metrics: ['json_valid'],
    cases: [{ input: 'where is my refund', actual_output: '{}' }, { input: 'refund please', actual_output: '{}' }],
  });
  await finished('A', labelled);
  const withLabels = await until(async () => {
    const report = (await api('A', 'GET', `/v1/runs/${labelled}`)).body;
    return report.summary?.topic_labels && Object.keys(report.summary.topic_labels).length === 2 ? report : undefined;
  }, 'topic labels');
  expect(fake.requests.filter((r) => r.schemaName === 'topic_labels' && r.model === 'gpt-4o-mini-2024-07-18')).toHaveLength(1);
  // 1,000 input and 500 output tokens at gpt-4o-mini's $0.15 and $0.60 per million.
  expect(withLabels.cost.spent_usd).toBe(0.00045);
}, 90_000);

test('8. metric ids and model names from suites are not Prometheus labels without a bound', async () => {
  const metrics = Array.from({ length: 50 }, (_, i) => ({ name: 'contains', id: `tenant_label_${i}`, value: 'x' }));
  const id = await submit('A', { name: 'labels-50', metrics, cases: Array.from({ length: 4 }, () => ({ input: 'q', actual_output: 'x' })) });
  await finished('A', id);
  const scraped = await Promise.all(workers.map(async (w) => (await fetch(`${w.url}/metrics`)).text()));
  const all = scraped.join('\n');
  expect(all).toMatch(/eval_score_bucket\{[^}]*metric="contains"/);
  expect(all).not.toContain('tenant_label_');
}, 60_000);

test('9. the small ones: NUL in a query parameter, a refused sign-out, a read-only link’s agreement', async () => {
  for (const path of ['/v1/runs?suite=%00', '/v1/agreement?metric=%00', '/ui/?branch=%00']) {
    const response = await api('B', 'GET', path);
    expect({ path, status: response.status, field: response.body?.error?.field }).toEqual({ path, status: 400, field: path.includes('suite') ? 'suite' : path.includes('metric') ? 'metric' : 'branch' });
  }

  // Two runs of B's, each with a reviewed g_eval case; a link for the first sees the first's review only.
  const judged = () =>
    submit('B', { name: 'judged', judge: { provider: 'openai', model: 'gpt-4o-mini' }, metrics: [{ name: 'g_eval', criteria: 'helpful', evaluation_steps: ['Check it.'] }], cases: [{ input: 'q', actual_output: 'a', topic: 't' }] });
  const [first, second] = await Promise.all([judged(), judged()]);
  await Promise.all([finished('B', first), finished('B', second)]);
  for (const [run, agree] of [[first, true], [second, false], [second, true]] as const) {
    const reviewer = `${agree ? 'ann' : 'bob'}-${run.slice(0, 4)}-${Math.random().toString(36).slice(2, 6)}`;
    expect((await api('B', 'PUT', `/v1/runs/${run}/cases/0/reviews/g_eval`, { reviewer, agree })).status).toBe(200);
  }
  const link = (await api('B', 'POST', '/v1/links', { run: first })).body;
  const landed = await fetch(`${orchestrator.url}${link.path}`, { redirect: 'manual' });
  const cookie = landed.headers.get('set-cookie')!.split(';')[0];
  const page = await (await fetch(`${orchestrator.url}/ui/agreement`, { headers: { cookie } })).text();
  expect(/<th scope="row">g_eval<\/th>\s*<td class="num">(\d+)<\/td>/.exec(page)?.[1]).toBe('1');

  // Sign in, then another site posts a sign-out: refused, and the session still opens pages.
  const form = new URLSearchParams({ key: keys.B, reviewer: 'carol', next: '/ui/' });
  const signedIn = await fetch(`${orchestrator.url}/ui/login`, { method: 'POST', body: form, redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  const session = signedIn.headers.get('set-cookie')!.split(';')[0];
  const forged = await fetch(`${orchestrator.url}/ui/logout`, {
    method: 'POST',
    body: new URLSearchParams({ csrf: 'guess' }),
    redirect: 'manual',
    headers: { cookie: session, origin: 'https://evil.example', 'content-type': 'application/x-www-form-urlencoded' },
  });
  expect(forged.status).toBe(403);
  expect(forged.headers.get('set-cookie')).toBeNull();
  expect((await fetch(`${orchestrator.url}/ui/`, { headers: { cookie: session }, redirect: 'manual' })).status).toBe(200);
}, 90_000);
