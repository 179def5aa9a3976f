import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readPlatformConfig } from '../../src/platform/config';
import { passwordFunction, rdsCaBundle } from '../../src/store/postgres/credentials';
import { poolOptions } from '../../src/store/postgres/connect';

const dir = mkdtempSync(join(tmpdir(), 'pg-credentials-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const stores = { REDIS_URL: 'redis://r:6379', CLICKHOUSE_URL: 'http://ch:8123' };
const pieces = { ...stores, POSTGRES_HOST: 'db.abc.eu-west-1.rds.amazonaws.com', POSTGRES_DB: 'evals', PGUSER: 'eval_app' };

test('the default trust is Amazon RDS’s CA bundle: root CAs of every region, none of them in Node’s own store', () => {
  const bundle = rdsCaBundle();
  const subjects = bundle.map((pem) => new X509Certificate(pem).subject);
  expect(subjects.filter((s) => s.includes('OU=Amazon RDS') && s.includes('Root CA')).length).toBeGreaterThan(20);
  expect(subjects.some((s) => s.includes('CN=Amazon RDS eu-west-1 Root CA RSA2048 G1'))).toBe(true);
  const nodeRoots = new Set(require('node:tls').rootCertificates.map((pem: string) => new X509Certificate(pem).fingerprint256));
  expect(bundle.filter((pem) => new X509Certificate(pem).subject.includes('Amazon RDS') && nodeRoots.has(new X509Certificate(pem).fingerprint256))).toEqual([]);
});

test('the pool verifies the server: the RDS bundle, rejectUnauthorized, the host name checked by Node', () => {
  const config = readPlatformConfig({ ...pieces, POSTGRES_AUTH: 'iam', AWS_REGION: 'eu-west-1' }, { embedded: false });
  if (config.postgres.kind !== 'server') throw new Error('expected a server target');
  const options = poolOptions(config.postgres);
  expect(options).toMatchObject({ host: pieces.POSTGRES_HOST, port: 5432, database: 'evals', user: 'eval_app', ssl: { rejectUnauthorized: true, ca: rdsCaBundle() } });
  expect(options.ssl).not.toHaveProperty('checkServerIdentity');
  expect(typeof options.password).toBe('function');
  // TLS off only when asked for by name.
  const plain = readPlatformConfig({ ...pieces, PGPASSWORD: 'x', POSTGRES_SSL_MODE: 'disable' }, { embedded: false });
  expect(plain.postgres.kind === 'server' && poolOptions(plain.postgres).ssl).toBe(false);
});

test('an IAM token per connection: signed for this host, port, user and region, valid 15 minutes', async () => {
  const saved = { ...process.env };
  Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'test-secret-key-not-real', AWS_SESSION_TOKEN: '' });
  try {
    const next = passwordFunction({ kind: 'iam', region: 'eu-west-1' }, { host: pieces.POSTGRES_HOST, port: 5432, user: 'eval_app' });
    const first = await next();
    const url = new URL(`https://${first}`);
    expect(url.host).toBe(`${pieces.POSTGRES_HOST}:5432`);
    expect(Object.fromEntries(url.searchParams)).toMatchObject({ Action: 'connect', DBUser: 'eval_app', 'X-Amz-Algorithm': 'AWS4-HMAC-SHA256', 'X-Amz-Expires': '900' });
    expect(url.searchParams.get('X-Amz-Credential')).toMatch(/^AKIDEXAMPLE\/\d{8}\/eu-west-1\/rds-db\/aws4_request$/);
    await new Promise((done) => setTimeout(done, 1_100));
    // The next connection signs again: a token never outlives the connection it opened.
    expect(await next()).not.toBe(first);
  } finally {
    process.env = saved;
  }
});

test('a password file is read again for every connection (a mounted Secret the kubelet rewrites)', async () => {
  const file = join(dir, 'password');
  writeFileSync(file, 'first\n');
  const next = passwordFunction({ kind: 'file', path: file }, { host: 'h', port: 1, user: 'u' });
  expect(await next()).toBe('first');
  writeFileSync(file, 'second');
  expect(await next()).toBe('second');
  await expect(passwordFunction({ kind: 'file', path: join(dir, 'gone') }, { host: 'h', port: 1, user: 'u' })()).rejects.toThrow(`PGPASSWORD_FILE ${join(dir, 'gone')}: no such file`);
});

test.each([
  [{ ...pieces, PGUSER: undefined, PGPASSWORD: 'x' }, 'environment variable PGUSER: required with POSTGRES_HOST'],
  [pieces, 'environment variable PGPASSWORD: required with POSTGRES_HOST (or PGPASSWORD_FILE, or POSTGRES_AUTH=iam)'],
  [{ ...pieces, POSTGRES_AUTH: 'iam' }, 'environment variable AWS_REGION: required with POSTGRES_AUTH=iam'],
  [{ ...pieces, POSTGRES_AUTH: 'iam', AWS_REGION: 'eu-west-1', PGPASSWORD: 'x' }, 'environment variable POSTGRES_AUTH: iam takes no PGPASSWORD or PGPASSWORD_FILE'],
  [{ ...pieces, PGPASSWORD: 'x', PGPASSWORD_FILE: '/run/p' }, 'environment variable PGPASSWORD_FILE: set it or PGPASSWORD, not both'],
  [{ ...pieces, PGPASSWORD: 'x', POSTGRES_SSL_MODE: 'require' }, 'environment variable POSTGRES_SSL_MODE:'],
  [{ ...pieces, PGPASSWORD: 'x', POSTGRES_CA_FILE: '/nowhere/ca.pem' }, 'environment variable POSTGRES_CA_FILE: /nowhere/ca.pem: no such file'],
  [{ ...pieces, PGPASSWORD: 'x', POSTGRES_APP_USER: 'Robert"; DROP' }, 'environment variable POSTGRES_APP_USER: a Postgres role name'],
])('a misconfigured database login is named: %#', (env, message) => {
  expect(() => readPlatformConfig(env as NodeJS.ProcessEnv, { embedded: false })).toThrow(message);
});

test('a CA file without a certificate is named', () => {
  const file = join(dir, 'empty.pem');
  writeFileSync(file, 'not a certificate');
  expect(() => readPlatformConfig({ ...pieces, PGPASSWORD: 'x', POSTGRES_CA_FILE: file }, { embedded: false })).toThrow(`environment variable POSTGRES_CA_FILE: ${file}: no PEM certificate in the file`);
});
