import { randomBytes } from 'node:crypto';
import { Agent as HttpAgent, get as httpGet, request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { startFakeLlmServer, type FakeLlmServer } from '../support/fake-llm-server';
import { startRecordingServer, type RecordingServer } from '../support/recording-server';
import { TEST_OPENAI_KEY } from '../support/engine';
import { deployedContainers } from '../support/environments';
import { createTestDatabase, deleteRedisPrefix, largestRefusedSubmission, spawnClickhouse, spawnService, tenantPlatformEnv, TEST_REDIS_URL, uniqueName, until, type ChildService } from '../support/platform';

/**
 * A hostile tenant against real services (an orchestrator and a worker over Postgres, Redis, chdb and the fake
 * LLM): its suites point model URLs and `http` targets at listeners of its own, at this machine, at the cloud
 * metadata address, through DNS and through redirects. The platform's key never leaves for such a URL, no
 * internal address is reached, and no secret is stored.
 */
let fake: FakeLlmServer;
let database: Awaited<ReturnType<typeof createTestDatabase>>;
let clickhouse: Awaited<ReturnType<typeof spawnClickhouse>>;
let services: ChildService[] = [];
let orchestrator: ChildService;
let key: string;
const prefix = uniqueName('bqtenant');
const deployed = deployedContainers('dev');
const devOrchestrator = deployed.orchestrator;
/** A name the tenant controls, which its DNS answers with this machine's loopback address. */
const TENANT_NAME_FOR_LOOPBACK = 'agent.tenant-zone.example';


async function api(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${orchestrator.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

const base = { metrics: [{ name: 'icontains', value: 'x', threshold: 0 }], gate: { min_pass_rate: 0, max_errored: 100 }, cases: [{ input: 'What is the refund window?' }] };

const finished = (id: string) =>
  until(async () => {
    const { body } = await api('GET', `/v1/runs/${id}`);
    return body.finished_at ? body : undefined;
  }, `run ${id} to finish`, 60_000);

let projectLlm: FakeLlmServer;
let internal: RecordingServer;
let attacker: RecordingServer;
let agent: RecordingServer;

beforeAll(async () => {
  fake = await startFakeLlmServer({ script: () => ({ text: 'an answer', usage: { input: 10, output: 5 } }) });
  [database, clickhouse] = await Promise.all([createTestDatabase(), spawnClickhouse()]);
  // The project's own LLM provider, on an address the operator allowed.
  projectLlm = await startFakeLlmServer({ host: '127.0.0.2', script: () => ({ text: 'from the project’s own endpoint', usage: { input: 10, output: 5 } }) });
  // What must stay unreached: an internal service on this machine.
  internal = await startRecordingServer('127.0.0.1');
  // The tenant's own server, posing as an LLM API: it would record any key sent to it.
  attacker = await startRecordingServer('127.0.0.1', () => ({ body: JSON.stringify({ choices: [{ message: { role: 'assistant', content: 'hi' } }] }) }));
  // The agent under test, on an address the operator allowed (EGRESS_ALLOW): it echoes what it was sent,
  // and on /redirect sends the worker on to the internal service.
  agent = await startRecordingServer('127.0.0.2', (path, headers) =>
    path === '/redirect'
      ? { status: 302, body: '', headers: { location: `${internal.url}/latest/meta-data/iam/security-credentials/` } }
      : { body: JSON.stringify({ answer: `seen authorization=${headers.authorization} and the platform key ${TEST_OPENAI_KEY}` }) },
  );
  const platform = tenantPlatformEnv({ databaseUrl: database.url, clickhouseUrl: clickhouse.url, queuePrefix: prefix }, { openaiBaseUrl: fake.openaiBaseUrl, apiKey: TEST_OPENAI_KEY }, ['tenant']);
  const env = platform.env;
  [key] = platform.keys;
  // Each service as the dev Deployment runs it: with its NODE_OPTIONS (the heap cap its memory limit sets).
  services = await Promise.all([
    spawnService('serve', { ...env, NODE_OPTIONS: devOrchestrator.env.NODE_OPTIONS }),
    spawnService('work', { ...env, NODE_OPTIONS: `${deployed.worker.env.NODE_OPTIONS} --require ${join(__dirname, '../support/dns-records.cjs')}`, TEST_DNS_RECORDS: `${TENANT_NAME_FOR_LOOPBACK}=127.0.0.1` }),
  ]);
  [orchestrator] = services;
}, 180_000);

afterAll(async () => {
  await Promise.all(services.map((s) => s.stop('SIGKILL')));
  await Promise.allSettled([database?.drop(), clickhouse?.stop(), fake?.close(), projectLlm?.close(), internal?.close(), attacker?.close(), agent?.close(), deleteRedisPrefix(TEST_REDIS_URL, prefix)]);
}, 60_000);

test('a model URL of the tenant’s own is refused with 400 naming the field; its listener never sees the platform key', async () => {
  const judge = await api('POST', '/v1/runs', { suite: { ...base, name: 'judge-url', target: { type: 'openai', model: 'gpt-4o-mini' }, judge: { provider: 'openai', model: 'gpt-4o-mini', base_url: `${attacker.url}/v1` } } });
  expect(judge.status).toBe(400);
  expect(judge.body.error).toMatchObject({ field: 'suite.judge.base_url', message: expect.stringContaining('not an endpoint of this platform') });
  const target = await api('POST', '/v1/runs', { suite: { ...base, name: 'target-url', target: { type: 'anthropic', model: 'claude-3-5-haiku', base_url: attacker.url } } });
  expect(target.status).toBe(400);
  expect(target.body.error.field).toBe('suite.target.base_url');
  const unknown = await api('POST', '/v1/runs', { suite: { ...base, name: 'endpoint', target: { type: 'openai', model: 'gpt-4o-mini' }, judge: { provider: 'openai', model: 'gpt-4o-mini', endpoint: 'mine' } } });
  expect(unknown.body.error).toMatchObject({ field: 'suite.judge.endpoint', message: expect.stringContaining('"openai" (openai)') });
  // The platform's own endpoint, by name or by leaving it out, is called with the platform's key.
  const own = await api('POST', '/v1/runs', { suite: { ...base, name: 'own', target: { type: 'openai', model: 'gpt-4o-mini', endpoint: 'openai' } } });
  expect(own.status).toBe(202);
  expect((await finished(own.body.id)).progress.errored).toBe(0);
  expect(fake.requests.at(-1)!.headers.authorization).toBe(`Bearer ${TEST_OPENAI_KEY}`);
  expect(attacker.received).toHaveLength(0);
}, 60_000);

test.each([
  ['this machine', () => `${internal.url}/latest/meta-data/`],
  ['the metadata address', () => 'http://169.254.169.254/latest/meta-data/iam/security-credentials/'],
  ['the metadata address inside IPv6', () => 'http://[::ffff:169.254.169.254]/latest/meta-data/'],
  ['localhost', () => `http://localhost:${new URL(internal.url).port}/`],
  ['a file', () => 'file:///etc/passwd'],
  ['gopher', () => 'gopher://127.0.0.1:6379/_INFO'],
])('an http target at %s is refused at submission', async (_, url) => {
  const response = await api('POST', '/v1/runs', { suite: { ...base, name: 'ssrf', target: { type: 'http', url: url(), output: '$.answer' } } });
  expect(response.status).toBe(400);
  expect(response.body.error).toMatchObject({ field: 'suite.target.url', message: expect.stringContaining('blocked by egress policy') });
  expect(internal.received).toHaveLength(0);
});

test('a DNS name that resolves to this machine, and a redirect to it, are refused when the worker calls; nothing internal is read', async () => {
  // The tenant's own zone points a public-looking name at this machine (the worker's DNS_RECORDS, above).
  const name = TENANT_NAME_FOR_LOOPBACK;
  const viaDns = await api('POST', '/v1/runs', { suite: { ...base, name: 'dns', target: { type: 'http', url: `http://${name}:${new URL(internal.url).port}/latest/meta-data/`, output: '$.AccessKeyId' } } });
  const viaRedirect = await api('POST', '/v1/runs', { suite: { ...base, name: 'redirect', target: { type: 'http', url: `${agent.url}/redirect`, output: '$.AccessKeyId' } } });
  expect([viaDns.status, viaRedirect.status]).toEqual([202, 202]);
  for (const submitted of [viaDns, viaRedirect]) {
    const run = await finished(submitted.body.id);
    expect(run.progress).toMatchObject({ completed: 1, errored: 1 });
    const results = await api('GET', `/v1/runs/${run.id}/results`);
    const [only] = results.body.results;
    expect(only.result.error).toContain('blocked by egress policy');
    expect(JSON.stringify(results.body)).not.toContain('internal-metadata-secret-value');
  }
  expect(internal.received).toHaveLength(0);
  expect(agent.received.filter((r) => r.path === '/redirect')).toHaveLength(1);
}, 60_000);

test('an allowed agent that echoes its credentials and the platform key: both are redacted from everything stored', async () => {
  const tenantToken = 'tenant-token-9f8e7d6c5b4a';
  const submitted = await api('POST', '/v1/runs', {
    suite: { ...base, name: 'echo', target: { type: 'http', url: `${agent.url}/answer`, headers: { authorization: `Bearer ${tenantToken}` }, output: '$.answer' } },
  });
  expect(submitted.status).toBe(202);
  const run = await finished(submitted.body.id);
  expect(run.progress).toMatchObject({ completed: 1, errored: 0 });
  expect(agent.received.at(-1)!.headers.authorization).toBe(`Bearer ${tenantToken}`);
  const results = JSON.stringify((await api('GET', `/v1/runs/${run.id}/results`)).body);
  const report = JSON.stringify((await api('GET', `/v1/runs/${run.id}/report`)).body);
  for (const stored of [results, report]) {
    expect(stored).toContain('seen authorization=[REDACTED] and the platform key [REDACTED]');
    expect(stored).not.toContain(tenantToken);
    expect(stored).not.toContain(TEST_OPENAI_KEY);
  }
  const logs = services.flatMap((s) => s.log).join('\n');
  expect(logs).not.toContain(TEST_OPENAI_KEY);
  expect(logs).not.toContain(tenantToken);
}, 60_000);

test('a project’s own endpoint: its key is sealed, never returned, sent only to its URL, and redacted from results', async () => {
  const projectKey = `sk-proj-${randomBytes(16).toString('hex')}`;
  const put = (name: string, body: unknown) => api('PUT', `/v1/endpoints/${name}`, body);
  // A URL on this machine, or one of the platform's names, is refused.
  expect((await put('mine', { provider: 'openai', base_url: `${attacker.url}/v1`, api_key: projectKey })).body.error).toMatchObject({ field: 'base_url', message: expect.stringContaining('blocked by egress policy') });
  expect((await put('openai', { provider: 'openai', base_url: projectLlm.openaiBaseUrl, api_key: projectKey })).status).toBe(409);
  const registered = await put('mine', { provider: 'openai', base_url: projectLlm.openaiBaseUrl, api_key: projectKey, models: ['gpt-4o*'] });
  expect(registered).toMatchObject({ status: 200, body: { name: 'mine', owner: 'project', key_hint: `…${projectKey.slice(-4)}` } });
  const listed = await api('GET', '/v1/endpoints');
  expect(listed.body.endpoints.map((e: { name: string }) => e.name)).toEqual(['openai', 'mine']);
  expect(JSON.stringify([registered.body, listed.body])).not.toContain(projectKey);
  // The key is stored sealed: the plaintext is nowhere in the database.
  const { Client } = await import('pg');
  const pg = new Client({ connectionString: database.url });
  await pg.connect();
  const row = (await pg.query('SELECT sealed_key FROM project_endpoints WHERE name = $1', ['mine'])).rows[0] as { sealed_key: string };
  await pg.end();
  expect(row.sealed_key).toMatch(/^v1\./);
  expect(row.sealed_key).not.toContain(projectKey);

  const platformCalls = fake.requests.length;
  const submitted = await api('POST', '/v1/runs', {
    suite: { ...base, name: 'own-endpoint', target: { type: 'openai', model: 'gpt-4o-mini', endpoint: 'mine' }, cases: [{ input: `echo ${projectKey}` }] },
  });
  expect(submitted.status).toBe(202);
  const run = await finished(submitted.body.id);
  expect(run.progress).toMatchObject({ completed: 1, errored: 0 });
  expect(projectLlm.requests.at(-1)!.headers.authorization).toBe(`Bearer ${projectKey}`);
  expect(fake.requests.length).toBe(platformCalls);
  const results = JSON.stringify((await api('GET', `/v1/runs/${run.id}/results`)).body);
  expect(results).toContain('from the project’s own endpoint');
  expect(results).not.toContain(projectKey);
  // A model the endpoint does not serve is refused at submission.
  const wrongModel = await api('POST', '/v1/runs', { suite: { ...base, name: 'm', target: { type: 'openai', model: 'o3', endpoint: 'mine' } } });
  expect(wrongModel.body.error.field).toBe('suite.target.model');
  expect((await api('DELETE', '/v1/endpoints/mine')).status).toBe(204);
}, 60_000);

test('six bodies of the maximum size at once: one is read (and refused for its field), five are told to retry; the orchestrator lives on under its heap cap', async () => {
  const body = Buffer.from(largestRefusedSubmission());
  expect(body.length).toBeGreaterThan(25 * 1024 * 1024);
  expect(body.length).toBeLessThan(32 * 1024 * 1024);
  // The orchestrator runs with the dev Deployment's NODE_OPTIONS (its heap cap). Its peak memory against the
  // 512 MiB limit is measured by `npm run bench:ingest`; here, what the body budget does: all six requests are
  // in flight at once (headers and a first megabyte sent), so whatever the machine's speed only one body may be
  // read, and the others are answered before they are read.
  expect(devOrchestrator.env.NODE_OPTIONS).toMatch(/--max-old-space-size=\d+/);
  const { port } = new URL(orchestrator.url);
  const requests = Array.from({ length: 6 }, () => {
    let send!: () => void;
    const answered = new Promise<{ status: number; retryAfter: string | undefined; body: string }>((resolve, reject) => {
      const request = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/v1/runs', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'content-length': body.length } }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode!, retryAfter: response.headers['retry-after'], body: Buffer.concat(chunks).toString() }));
      });
      request.on('error', reject);
      request.write(body.subarray(0, 1024 * 1024));
      send = () => request.end(body.subarray(1024 * 1024));
    });
    return { answered, send, done: false };
  });
  for (const r of requests) void r.answered.then(() => (r.done = true), () => (r.done = true));
  const deferred = await until(async () => (requests.filter((r) => r.done).length >= 5 ? requests.filter((r) => r.done) : undefined), 'five requests answered before their bodies were sent', 60_000, 20);
  for (const r of deferred) expect(await r.answered).toMatchObject({ status: 503, retryAfter: '1', body: expect.stringContaining('"field":"body"') });
  const admitted = requests.filter((r) => !r.done);
  expect(admitted).toHaveLength(1);
  admitted[0].send();
  const read = await admitted[0].answered;
  expect({ status: read.status, field: JSON.parse(read.body).error.field }).toEqual({ status: 400, field: 'priority' });
  // The budget is given back: the next body is read.
  const again = await fetch(`${orchestrator.url}/v1/runs`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body });
  expect(again.status).toBe(400);
  expect({ exitCode: orchestrator.child.exitCode, signal: orchestrator.child.signalCode }).toEqual({ exitCode: null, signal: null });
  expect(orchestrator.log.filter((line) => /heap out of memory|FATAL ERROR/.test(line))).toEqual([]);
  expect((await api('GET', '/v1/runs')).status).toBe(200);
}, 120_000);

test('SIGTERM while a keep-alive client keeps polling: the orchestrator exits on its own within its pod’s grace period, not when the client stops', async () => {
  const agent = new HttpAgent({ keepAlive: true });
  let polling = true;
  let answered = 0;
  const poll = async () => {
    while (polling) {
      await new Promise<void>((resolve) => {
        const request = httpGet(`${orchestrator.url}/healthz`, { agent }, (response) => {
          response.resume();
          response.on('end', () => {
            answered++;
            resolve();
          });
        });
        request.on('error', () => resolve());
      });
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };
  const poller = Promise.all([poll(), poll(), poll(), pollFetch()]);
  async function pollFetch() {
    while (polling) {
      await fetch(`${orchestrator.url}/v1/runs`, { headers: { authorization: `Bearer ${key}` } }).then((r) => r.text()).catch(() => undefined);
    }
  }
  await until(async () => answered >= 3, 'the poller to be answered');
  const stoppedAt = Date.now();
  expect(await orchestrator.stop('SIGTERM')).toBe(0);
  const took = Date.now() - stoppedAt;
  polling = false;
  await poller;
  agent.destroy();
  // Before the kubelet's SIGKILL (the Deployment's terminationGracePeriodSeconds), while the clients were still
  // polling: a server that waited for its keep-alive connections to close would still be running.
  expect(devOrchestrator.terminationGracePeriodSeconds).toBeGreaterThan(0);
  expect(took).toBeLessThan(devOrchestrator.terminationGracePeriodSeconds * 1000);
}, 120_000);
