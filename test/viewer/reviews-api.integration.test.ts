import { randomBytes } from 'node:crypto';
import { ClickHouseLogLevel, createClient } from '@clickhouse/client';
import type { Kysely } from 'kysely';
import { createApp } from '../../services/orchestrator/app';
import type { CaseResult, MetricResult } from '../../src/contracts/report';
import { readTenancyConfig } from '../../src/platform/config';
import { MemoryCaseQueue } from '../../src/queue/memory-queue';
import { connectPostgres, migratePostgres } from '../../src/store/postgres/connect';
import { createApiKey, revokeApiKey } from '../../src/store/postgres/projects';
import { countCaseOutcomes } from '../../src/store/postgres/runs';
import type { Database } from '../../src/store/postgres/schema';
import { PlatformMetrics } from '../../src/telemetry/metrics';
import { createTestDatabase } from '../support/platform';

/**
 * Reviews, agreement, links and the viewer's sign-in through the orchestrator's routes (in process, real
 * Postgres), with the inputs a hostile client would send. ClickHouse is never reached: the viewer's pages
 * do without it.
 */
let database: Awaited<ReturnType<typeof createTestDatabase>>;
let db: Kysely<Database>;
let app: ReturnType<typeof createApp>;
let key: string;
let otherKey: string;
let run: string;
let otherRun: string;

const suite = {
  name: 'reviewed',
  judge: { provider: 'openai', model: 'gpt-4o-mini' },
  metrics: [{ name: 'faithfulness', threshold: 0.9 }, { name: 'icontains', value: 'x' }],
  cases: [
    { id: 'judged-fail', input: 'q0', actual_output: 'x <script>alert(1)</script>', retrieval_context: ['c'] },
    { id: 'judged-pass', input: 'q1', actual_output: 'x', retrieval_context: ['c'] },
    { id: 'judge-errored', input: 'q2', actual_output: 'x', retrieval_context: ['c'] },
    { id: 'not-yet', input: 'q3', actual_output: 'x', retrieval_context: ['c'] },
  ],
};

function metric(id: string, score: number | null, passed: boolean, error: string | null = null): MetricResult {
  return { metric: id, name: id, score, passed, threshold: 0.9, direction: 'higher', reason: 'r', error, judge_input_tokens: 0, judge_output_tokens: 0, judge_cost_usd: 0, duration_ms: 1 };
}

function result(index: number, faithfulness: MetricResult): CaseResult {
  const status = faithfulness.error ? 'errored' : faithfulness.passed ? 'passed' : 'failed';
  return {
    suite: 'reviewed',
    id: suite.cases[index].id,
    index,
    status,
    error: faithfulness.error,
    input: suite.cases[index].input,
    actual_output: suite.cases[index].actual_output,
    expected_output: null,
    topic: null,
    tags: [],
    target: null,
    duration_ms: 1,
    metrics: { faithfulness, icontains: metric('icontains', 1, true) },
    usage: [],
  };
}

async function call(method: string, path: string, options: { body?: unknown; key?: string | null; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { ...options.headers };
  if (options.key !== null) headers.authorization = `Bearer ${options.key ?? key}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await app.request(path, { method, headers, body: options.body === undefined ? undefined : JSON.stringify(options.body) });
  const text = await response.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, json, text, headers: response.headers };
}

async function submit(withKey: string): Promise<string> {
  const response = await call('POST', '/v1/runs', { body: { suite }, key: withKey });
  expect(response.status).toBe(202);
  return response.json.id;
}

beforeAll(async () => {
  database = await createTestDatabase();
  db = await connectPostgres({ kind: 'url', url: database.url, poolSize: 4 });
  await migratePostgres(db);
  app = createApp({
    db,
    queue: new MemoryCaseQueue(1),
    clickhouse: createClient({ url: 'http://127.0.0.1:9', log: { level: ClickHouseLogLevel.OFF } }),
    clickhouseDatabase: 'evals',
    metrics: new PlatformMetrics('orchestrator', 'test'),
    version: 'test',
    limits: { requestsPerSecond: 1e6, requestBurst: 1e6, apiKeyCacheMs: 0 },
    tenancy: readTenancyConfig({ OPENAI_API_KEY: `sk-test-${randomBytes(8).toString('hex')}` }),
  });
  key = (await createApiKey(db, 'team-a')).key;
  otherKey = (await createApiKey(db, 'team-b')).key;
  run = await submit(key);
  otherRun = await submit(otherKey);
  const outcomes = (runId: string) => [
    { runId, caseIndex: 0, status: 'failed' as const, result: result(0, metric('faithfulness', 0.5, false)), error: null },
    { runId, caseIndex: 1, status: 'passed' as const, result: result(1, metric('faithfulness', 1, true)), error: null },
    { runId, caseIndex: 2, status: 'errored' as const, result: result(2, metric('faithfulness', null, false, 'faithfulness: judge unreachable')), error: 'faithfulness: judge unreachable' },
  ];
  await countCaseOutcomes(db, [...outcomes(run), ...outcomes(otherRun)]);
}, 120_000);

afterAll(async () => {
  await db?.destroy();
  await database?.drop();
});

const review = (body: Record<string, unknown>) => ({ reviewer: 'ana@example.com', agree: true, ...body });

test('a review sits beside the score; the same reviewer replaces theirs; agreement counts every reviewer', async () => {
  const first = await call('PUT', `/v1/runs/${run}/cases/0/reviews/faithfulness`, { body: review({ agree: false, comment: 'The context supports it.' }) });
  expect(first.status).toBe(200);
  expect(first.json).toMatchObject({ case_index: 0, metric: 'faithfulness', reviewer: 'ana@example.com', agree: false, judge_passed: false, corrected_passed: null, comment: 'The context supports it.' });
  // Changing one's mind replaces the review; another reviewer adds one.
  await call('PUT', `/v1/runs/${run}/cases/0/reviews/faithfulness`, { body: review({ agree: false, corrected_passed: true }) });
  await call('PUT', `/v1/runs/${run}/cases/0/reviews/faithfulness`, { body: review({ reviewer: 'Bo', agree: true }) });
  await call('PUT', `/v1/runs/${run}/cases/1/reviews/faithfulness`, { body: review({ agree: true }) });
  const listed = await call('GET', `/v1/runs/${run}/reviews?case=0`);
  expect(listed.json.reviews.map((r: any) => [r.reviewer, r.agree, r.corrected_passed, r.comment])).toEqual([
    ['ana@example.com', false, true, null],
    ['Bo', true, null, null],
  ]);
  // judge fail × human pass (Ana), fail × fail (Bo), pass × pass (case 1): po = 2/3, pe = 1/3·2/3 + 2/3·1/3 = 4/9, κ = 0.4.
  const agreement = await call('GET', '/v1/agreement');
  expect(agreement.json.metrics).toEqual([{ metric: 'faithfulness', reviews: 3, agreed: 2, agreement_rate: 0.6667, kappa: 0.4, confusion: { pass_pass: 1, pass_fail: 0, fail_pass: 1, fail_fail: 1 } }]);
  expect((await call('GET', `/v1/agreement?run=${run}&metric=icontains`)).json.metrics).toEqual([]);
  // The recorded result is untouched.
  const results = await call('GET', `/v1/runs/${run}/results`);
  expect(results.json.results[0].result.metrics.faithfulness).toMatchObject({ score: 0.5, passed: false });
  // Another project sees none of it.
  expect((await call('GET', '/v1/agreement', { key: otherKey })).json.metrics).toEqual([]);
});

test.each([
  ['an unknown metric', 'cases/0/reviews/vibes', review({}), 400, 'metric', /no metric "vibes"/],
  ['a deterministic metric', 'cases/0/reviews/icontains', review({}), 400, 'metric', /not judged by an LLM/],
  ['a metric that errored', 'cases/2/reviews/faithfulness', review({}), 400, 'metric', /errored in this case/],
  ['a case not evaluated yet', 'cases/3/reviews/faithfulness', review({}), 409, 'case', /no result yet/],
  ['a case that does not exist', 'cases/99/reviews/faithfulness', review({}), 404, 'index', /no case 99/],
  ['a case index that is not one', 'cases/-1/reviews/faithfulness', review({}), 404, 'index', /no case -1/],
  ['no reviewer', 'cases/0/reviews/faithfulness', review({ reviewer: '   ' }), 400, 'reviewer', /name or e-mail/],
  ['a reviewer on two lines', 'cases/0/reviews/faithfulness', review({ reviewer: 'ana\nadmin' }), 400, 'reviewer', /printable/],
  ['a NUL in the comment', 'cases/0/reviews/faithfulness', review({ comment: 'a\u0000b' }), 400, 'comment', /NUL/],
  ['a comment too long', 'cases/0/reviews/faithfulness', review({ comment: 'x'.repeat(5_001) }), 400, 'comment', /5000/],
  ['agreeing while correcting', 'cases/0/reviews/faithfulness', review({ agree: true, corrected_passed: true }), 400, 'corrected_passed', /disagree to correct/],
  ['agree as a string', 'cases/0/reviews/faithfulness', review({ agree: 'yes' }), 400, 'agree', /boolean/],
  ['an unknown field', 'cases/0/reviews/faithfulness', review({ score: 1 }), 400, 'score', /unknown field/],
])('a review with %s is refused, naming the field', async (_name, path, body, status, field, message) => {
  const response = await call('PUT', `/v1/runs/${run}/${path}`, { body });
  expect(response.status).toBe(status);
  expect(response.json.error.field).toBe(field);
  expect(response.json.error.message).toMatch(message);
});

test("another project's run, review or link answers 404, as a missing one does", async () => {
  expect((await call('PUT', `/v1/runs/${otherRun}/cases/0/reviews/faithfulness`, { body: review({}) })).status).toBe(404);
  expect((await call('GET', `/v1/runs/${otherRun}/reviews`)).status).toBe(404);
  expect((await call('GET', `/v1/agreement?run=${otherRun}`)).status).toBe(404);
  expect((await call('POST', '/v1/links', { body: { run: otherRun } })).status).toBe(404);
  expect((await call('POST', '/v1/links', { body: { run, baseline: otherRun } })).status).toBe(404);
  expect((await call('POST', '/v1/links', { body: { run, ttl_hours: 1_000 } })).json.error.field).toBe('ttl_hours');
});

/** A browser's view: requests with the cookie the viewer set. */
class Browser {
  cookie = '';
  async get(path: string, headers: Record<string, string> = {}) {
    return this.keep(await app.request(path, { headers: { cookie: this.cookie, ...headers } }));
  }
  async post(path: string, form: Record<string, string>, headers: Record<string, string> = {}) {
    return this.keep(await app.request(path, { method: 'POST', headers: { cookie: this.cookie, 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(form).toString() }));
  }
  private keep(response: Response) {
    const set = response.headers.get('set-cookie');
    if (set) this.cookie = set.split(';')[0];
    return response;
  }
}

test('signing in: a wrong key or no name is refused naming the field; `next` never leaves the viewer', async () => {
  const browser = new Browser();
  const unknown = await browser.post('/ui/login', { key: `aiev_${'x'.repeat(32)}`, reviewer: 'Ana' });
  expect(unknown.status).toBe(401);
  expect(await unknown.text()).toMatch(/Project API key: unknown or revoked/);
  const noName = await browser.post('/ui/login', { key, reviewer: '' });
  expect(noName.status).toBe(400);
  expect(await noName.text()).toMatch(/Your name: give your name/);
  for (const next of ['https://evil.example/', '//evil.example/ui/', '/ui/\\evil', 'javascript:alert(1)']) {
    const signedIn = await new Browser().post('/ui/login', { key, reviewer: 'Ana', next });
    expect([signedIn.status, signedIn.headers.get('location')]).toEqual([303, '/ui/']);
  }
  const crossSite = await new Browser().post('/ui/login', { key, reviewer: 'Ana' }, { origin: 'https://evil.example' });
  expect(crossSite.status).toBe(403);
  // Not signed in: every page sends the reader to sign in, and back.
  const page = await new Browser().get(`/ui/runs/${run}`);
  expect([page.status, page.headers.get('location')]).toEqual([303, `/ui/login?next=${encodeURIComponent(`/ui/runs/${run}`)}`]);
});

test('the pages: escaped tenant text, security headers, form tokens, and a review recorded from the page', async () => {
  const browser = new Browser();
  const signedIn = await browser.post('/ui/login', { key, reviewer: '<img src=x onerror=alert(1)>', next: `/ui/runs/${run}/cases/0` });
  expect(signedIn.headers.get('set-cookie')).toMatch(/HttpOnly; SameSite=Lax/);
  const page = await browser.get(`/ui/runs/${run}/cases/0`);
  expect(page.status).toBe(200);
  expect(page.headers.get('content-security-policy')).toBe("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
  expect(page.headers.get('referrer-policy')).toBe('no-referrer');
  expect(page.headers.get('cache-control')).toBe('no-store');
  const html = await page.text();
  expect(html).toContain('x &lt;script&gt;alert(1)&lt;/script&gt;');
  expect(html).not.toContain('<script>alert(1)');
  expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
  expect(html).not.toMatch(/<[^>]+ style=/);
  const csrf = /name="csrf" value="([^"]+)"/.exec(html)![1];
  // A form without the session's token, or from another site, is refused.
  expect((await browser.post(`/ui/runs/${run}/cases/0/reviews`, { metric: 'faithfulness', verdict: 'agree' })).status).toBe(403);
  expect((await browser.post(`/ui/runs/${run}/cases/0/reviews`, { metric: 'faithfulness', verdict: 'agree', csrf }, { origin: 'https://evil.example' })).status).toBe(403);
  const refused = await browser.post(`/ui/runs/${run}/cases/0/reviews`, { metric: 'icontains', verdict: 'agree', csrf });
  expect(refused.status).toBe(400);
  expect(await refused.text()).toMatch(/metric: icontains is not judged by an LLM/);
  const saved = await browser.post(`/ui/runs/${run}/cases/1/reviews`, { metric: 'faithfulness', verdict: 'disagree', corrected_passed: 'false', comment: 'too lenient', csrf });
  expect([saved.status, saved.headers.get('location')]).toEqual([303, `/ui/runs/${run}/cases/1?saved=faithfulness#metric-faithfulness`]);
  const reviews = await call('GET', `/v1/runs/${run}/reviews?case=1`);
  expect(reviews.json.reviews).toContainEqual(expect.objectContaining({ reviewer: '<img src=x onerror=alert(1)>', agree: false, corrected_passed: false, comment: 'too lenient' }));
  // Bad queries name the parameter; another project's run is a missing run.
  const badQuery = await browser.get(`/ui/runs/${run}?status=everything`);
  expect(badQuery.status).toBe(400);
  expect(await badQuery.text()).toMatch(/status: expected one of errored, failed, unfinished, passed/);
  expect((await browser.get(`/ui/runs/${otherRun}`)).status).toBe(404);
  expect((await browser.get(`/ui/runs/${run}/cases/abc`)).status).toBe(404);
  // Signing out ends the session in the database, not only in this browser.
  const cookie = browser.cookie;
  await browser.post('/ui/logout', { csrf });
  const after = await app.request(`/ui/runs/${run}`, { headers: { cookie } });
  expect(after.status).toBe(303);
});

test('a link is read only, covers only its runs, drops its token from the address, and dies with its key', async () => {
  const linkKey = (await createApiKey(db, 'team-a')).key;
  const created = await call('POST', '/v1/links', { body: { run, ttl_hours: 2 }, key: linkKey });
  expect(created.status).toBe(201);
  expect(created.json.path).toMatch(/^\/ui\/l\/[A-Za-z0-9_-]{43}$/);
  expect(Date.parse(created.json.expires_at) - Date.now()).toBeGreaterThan(1.9 * 3_600_000);
  const browser = new Browser();
  const landed = await browser.get(created.json.path);
  expect([landed.status, landed.headers.get('location')]).toEqual([303, `/ui/runs/${run}`]);
  const page = await browser.get(`/ui/runs/${run}/cases/0`);
  expect(page.status).toBe(200);
  const html = await page.text();
  expect(html).toContain('read-only link');
  expect(html).not.toContain('Your review of');
  const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';
  expect((await browser.post(`/ui/runs/${run}/cases/0/reviews`, { metric: 'faithfulness', verdict: 'agree', csrf })).status).toBe(409);
  const another = await submit(key);
  expect((await browser.get(`/ui/runs/${another}`)).status).toBe(404);
  expect((await browser.get('/ui/l/not-a-token')).status).toBe(401);
  // Revoking the key that made the link ends it.
  await revokeApiKey(db, linkKey);
  expect((await browser.get(`/ui/runs/${run}`)).status).toBe(303);
  expect((await new Browser().get(created.json.path)).status).toBe(401);
});
