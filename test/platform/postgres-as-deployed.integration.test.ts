import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { Client } from 'pg';
import { startFakeLlmServer, type FakeLlmServer } from '../support/fake-llm-server';
import { TEST_OPENAI_KEY } from '../support/engine';
import { deleteRedisPrefix, evalctlSync, ROOT, serviceEnv, spawnClickhouse, spawnService, TEST_REDIS_URL, uniqueName, until, type ChildService } from '../support/platform';
import { makeTestPki, startTlsPostgres, type TestPki } from '../support/tls-postgres';

/**
 * Postgres as RDS runs it and as the pods reach it: TLS only, a certificate from a CA Node does not trust by
 * itself, password authentication, and a password that changes under a running platform (RDS rotates its
 * secrets; IAM tokens expire). The services get the pieces the constructs inject (POSTGRES_HOST, PGUSER, …),
 * never a DATABASE_URL.
 */
let pki: TestPki;
let server: Awaited<ReturnType<typeof startTlsPostgres>>;
let admin: Client;
let clickhouse: Awaited<ReturnType<typeof spawnClickhouse>>;
let fake: FakeLlmServer;
const database = uniqueName('evals');
const appUser = uniqueName('eval_app');
const prefix = uniqueName('bq');
let passwordFile: string;

beforeAll(async () => {
  pki = makeTestPki(['localhost']);
  [server, clickhouse, fake] = await Promise.all([startTlsPostgres(pki), spawnClickhouse(), startFakeLlmServer({ latencyMs: 60 })]);
  admin = await server.admin();
  await admin.query(`CREATE ROLE eval_admin LOGIN CREATEROLE PASSWORD 'master-one'`);
  await admin.query(`CREATE DATABASE ${database} OWNER eval_admin`);
  passwordFile = join(pki.dir, 'app-password');
}, 120_000);

afterAll(async () => {
  await admin?.end();
  await Promise.allSettled([server?.stop(), clickhouse?.stop(), fake?.close(), deleteRedisPrefix(TEST_REDIS_URL, prefix)]);
  if (pki) rmSync(pki.dir, { recursive: true, force: true });
}, 60_000);

/** What the constructs inject, pointed at this server; `extra` overrides. */
function deployedEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...serviceEnv({ databaseUrl: '', clickhouseUrl: clickhouse.url, queuePrefix: prefix }, { openaiBaseUrl: fake.openaiBaseUrl, apiKey: TEST_OPENAI_KEY }),
    POSTGRES_HOST: 'localhost',
    POSTGRES_PORT: String(server.port),
    POSTGRES_DB: database,
    CLICKHOUSE_DATABASE: database,
    ...extra,
  };
  delete env.DATABASE_URL;
  return env;
}

const master = (extra: NodeJS.ProcessEnv = {}) => deployedEnv({ PGUSER: 'eval_admin', PGPASSWORD: 'master-one', POSTGRES_CA_FILE: pki.caFile, ...extra });

/** `evalctl migrate` as a child process: its exit status and what it printed. */
function migrate(env: NodeJS.ProcessEnv): { status: number | null; output: string } {
  const result = spawnSync(process.execPath, [join(ROOT, 'bin/evalctl.js'), 'migrate'], { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

test('TLS is verified against the configured CA and the host name; another CA, the default RDS bundle and a wrong name are refused', () => {
  // With the CA that signed the server's certificate: migrations run, and the application role is created.
  const ok = migrate(master({ POSTGRES_APP_USER: appUser }));
  expect(ok.output).toContain(`application role: ${appUser} (created)`);
  expect(ok.status).toBe(0);

  // Any other trust is refused, with the certificate error in the message.
  const other = migrate(master({ POSTGRES_CA_FILE: pki.otherCaFile }));
  expect(other.status).not.toBe(0);
  expect(other.output).toMatch(/self[- ]signed certificate in certificate chain|unable to (verify|get local issuer)/);
  // Unset, the CA is Amazon RDS's bundle, which did not sign this server: verification really happens.
  const rds = migrate(master({ POSTGRES_CA_FILE: undefined }));
  expect(rds.status).not.toBe(0);
  expect(rds.output).toMatch(/self[- ]signed certificate in certificate chain|unable to (verify|get local issuer)/);
  // The right CA, but the certificate does not name 127.0.0.1: verify-full checks the host too.
  const wrongName = migrate(master({ POSTGRES_HOST: '127.0.0.1' }));
  expect(wrongName.status).not.toBe(0);
  expect(wrongName.output).toMatch(/IP: 127\.0\.0\.1 is not in the cert's list|does not match/);
  // A connection without TLS is refused by the server (as RDS's force_ssl does), so the checks above were over TLS.
  const plain = migrate(master({ POSTGRES_SSL_MODE: 'disable' }));
  expect(plain.status).not.toBe(0);
  expect(plain.output).toMatch(/no encryption|pg_hba\.conf rejects/);
  // A CA file that is not there is named.
  const missing = migrate(master({ POSTGRES_CA_FILE: join(pki.dir, 'nope.pem') }));
  expect(missing.output).toContain(`environment variable POSTGRES_CA_FILE: ${join(pki.dir, 'nope.pem')}: no such file`);
}, 120_000);

test('the application role can read and write the tables, and nothing more', async () => {
  await admin.query(`ALTER ROLE ${appUser} PASSWORD 'probe-password'`);
  const app = new Client({ host: 'localhost', port: server.port, user: appUser, password: 'probe-password', database, ssl: { ca: readFileSync(pki.caFile, 'utf8') } });
  await app.connect();
  try {
    await app.query('SELECT count(*) FROM runs');
    await expect(app.query('CREATE TABLE intruder (id int)')).rejects.toThrow(/permission denied/);
    await expect(app.query('DROP TABLE runs')).rejects.toThrow(/must be owner/);
    await expect(app.query(`CREATE ROLE someone`)).rejects.toThrow(/permission denied/);
  } finally {
    await app.end();
  }
  // Re-running the migration grants again and creates nothing.
  expect(migrate(master({ POSTGRES_APP_USER: appUser })).output).toContain(`application role: ${appUser} (granted)`);
}, 60_000);

test('the password changes twice mid-run (a rotation), every connection is cut: the run completes, nothing lost, no process restarts', async () => {
  writeFileSync(passwordFile, 'rotation-one\n');
  await admin.query(`ALTER ROLE ${appUser} PASSWORD 'rotation-one'`);
  const env = deployedEnv({ PGUSER: appUser, PGPASSWORD_FILE: passwordFile, POSTGRES_CA_FILE: pki.caFile, WORKER_CONCURRENCY: '8', PROJECT_REQUESTS_PER_SECOND: '1000' });
  const key = evalctlSync(['keys', 'create', '--project', 'rotation'], env).trim();
  const services: ChildService[] = await Promise.all([spawnService('serve', env), spawnService('work', env)]);
  try {
    const [orchestrator] = services;
    const api = async (method: string, path: string, body?: unknown) => {
      const response = await fetch(`${orchestrator.url}${path}`, { method, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
      return { status: response.status, body: (await response.json().catch(() => undefined)) as any };
    };
    const cases = 240;
    const submitted = await api('POST', '/v1/runs', {
      suite: {
        name: 'rotation',
        target: { type: 'openai', model: 'gpt-4o-mini' },
        metrics: [{ name: 'icontains', value: 'answer' }],
        gate: { min_pass_rate: 0, max_errored: 1_000 },
        cases: Array.from({ length: cases }, (_, i) => ({ id: `c${i}`, input: `rotation case ${i}` })),
      },
    });
    expect(submitted.status).toBe(202);
    const progress = async () => (await api('GET', `/v1/runs/${submitted.body.id}`)).body?.progress?.completed ?? 0;
    let cut = 0;
    for (const [after, password] of [[20, 'rotation-two'], [90, 'rotation-three']] as const) {
      await until(async () => (await progress()) >= after, `${after} cases`, 60_000);
      // As a rotation does it: the new password is set, the Secret (here its mounted file) follows, old sessions end.
      await admin.query(`ALTER ROLE ${appUser} PASSWORD '${password}'`);
      writeFileSync(passwordFile, `${password}\n`);
      const ended = await admin.query('SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE usename = $1', [appUser]);
      cut += ended.rows[0].n;
    }
    expect(cut).toBeGreaterThan(1);
    expect(await progress()).toBeLessThan(cases);
    const run = await until(async () => {
      const { body } = await api('GET', `/v1/runs/${submitted.body.id}`);
      return body?.finished_at ? body : undefined;
    }, 'the run to finish', 180_000);
    expect(run).toMatchObject({ status: 'completed', progress: { total: cases, completed: cases, errored: 0 } });
    expect(services.every((s) => s.child.exitCode === null && s.child.signalCode === null)).toBe(true);
    // The pools came back with the latest password: the services hold sessions again, as the application role.
    const sessions = await admin.query('SELECT count(*)::int AS n, bool_and(s.ssl) AS all_tls FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) WHERE a.usename = $1', [appUser]);
    expect(sessions.rows[0]).toEqual({ n: expect.any(Number), all_tls: true });
    expect(sessions.rows[0].n).toBeGreaterThan(0);
    // The cuts were felt, and survived.
    expect(services.flatMap((s) => s.log).some((line) => line.includes('postgres connection lost'))).toBe(true);
  } finally {
    await Promise.all(services.map((s) => s.stop('SIGKILL')));
  }
}, 300_000);
