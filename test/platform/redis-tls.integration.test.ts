import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { readPlatformConfig } from '../../src/platform/config';
import { freePort, ROOT, until } from '../support/platform';
import { makeTestPki, type TestPki } from '../support/tls-postgres';

/**
 * Redis over TLS as the pods reach ElastiCache (REDIS_TLS=true from the connections secret): the client
 * verifies the server's certificate and its name against Node's trust store, which holds Amazon's roots
 * (ElastiCache's certificates chain to Amazon Root CA 1). A server signed by a CA Node does not trust is refused.
 */
let pki: TestPki;
let server: ChildProcess;
let port: number;

beforeAll(async () => {
  pki = makeTestPki(['localhost']);
  port = await freePort();
  server = spawn('redis-server', ['--port', '0', '--tls-port', String(port), '--bind', '127.0.0.1', '--tls-cert-file', pki.certFile, '--tls-key-file', pki.keyFile, '--tls-ca-cert-file', pki.caFile, '--tls-auth-clients', 'no', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  await until(async () => spawnSync('redis-cli', ['-p', String(port), '--tls', '--cacert', pki.caFile, '-h', 'localhost', 'ping'], { encoding: 'utf8' }).stdout.includes('PONG'), 'redis-server with TLS', 20_000);
}, 30_000);

afterAll(() => {
  server?.kill('SIGKILL');
  if (pki) rmSync(pki.dir, { recursive: true, force: true });
});

/** PING through the services' Redis URL with the client the queue uses, in a process of its own: the first error or PONG. */
function ping(url: string, env: NodeJS.ProcessEnv = {}): string {
  const script = `const c = require('redis').createClient({ url: ${JSON.stringify(url)}, retry_strategy: () => undefined });
c.on('error', () => undefined);
c.ping((e, v) => { console.log(v === 'PONG' ? 'PONG' : (e.origin || e).message); process.exit(0); });`;
  return spawnSync(process.execPath, ['-e', script], { cwd: ROOT, env: { PATH: process.env.PATH, ...env }, encoding: 'utf8', timeout: 20_000 }).stdout.trim();
}

test('the queue’s Redis URL over TLS verifies the certificate: refused from an untrusted CA or for another name, accepted once the CA is trusted', () => {
  const config = readPlatformConfig({ DATABASE_URL: 'postgres://db/x', CLICKHOUSE_URL: 'http://ch:8123', REDIS_HOST: 'localhost', REDIS_PORT: String(port), REDIS_TLS: 'true' }, { embedded: false });
  const url = config.queue.target.kind === 'redis' ? config.queue.target.url : '';
  expect(url).toBe(`rediss://localhost:${port}`);
  expect(ping(url)).toMatch(/self[- ]signed certificate in certificate chain|unable to (verify|get local issuer)/);
  expect(ping(url, { NODE_EXTRA_CA_CERTS: pki.caFile })).toBe('PONG');
  // The right CA, but the certificate names localhost, not 127.0.0.1.
  expect(ping(`rediss://127.0.0.1:${port}`, { NODE_EXTRA_CA_CERTS: pki.caFile })).toMatch(/IP: 127\.0\.0\.1 is not in the cert's list/);
});

test('Node’s own store holds the Amazon roots ElastiCache’s certificates chain to', () => {
  const { X509Certificate } = require('node:crypto') as typeof import('node:crypto');
  const subjects = (require('node:tls') as typeof import('node:tls')).rootCertificates.map((pem) => new X509Certificate(pem).subject);
  expect(subjects.filter((s) => /CN=Amazon Root CA [1-4]$/m.test(s))).toHaveLength(4);
});
