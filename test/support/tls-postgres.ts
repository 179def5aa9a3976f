import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { freePort } from './platform';

/** A certificate authority made for one test, and a server certificate it signed. */
export interface TestPki {
  readonly dir: string;
  readonly caFile: string;
  /** A second CA that signed nothing: trusting it alone must not be enough. */
  readonly otherCaFile: string;
  readonly certFile: string;
  readonly keyFile: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A CA, a server certificate for `names` (DNS names) signed by it, and an unrelated second CA. */
export function makeTestPki(names: readonly string[]): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'pki-'));
  for (const ca of ['ca', 'other-ca']) {
    openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=ai-eval-platform test ${ca}`, '-keyout', `${ca}.key`, '-out', `${ca}.pem`], dir);
  }
  writeFileSync(join(dir, 'server.ext'), `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n`);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${names[0]}`, '-keyout', 'server.key', '-out', 'server.csr'], dir);
  openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'server.ext', '-out', 'server.pem'], dir);
  return { dir, caFile: join(dir, 'ca.pem'), otherCaFile: join(dir, 'other-ca.pem'), certFile: join(dir, 'server.pem'), keyFile: join(dir, 'server.key') };
}

function postgresBin(tool: string): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  for (const version of versions) if (existsSync(join(root, version, 'bin', tool))) return join(root, version, 'bin', tool);
  throw new Error(`no ${tool} under ${root}: install Debian's postgresql package (scripts/ensure-test-services.js does)`);
}

/**
 * A PostgreSQL server of its own, as RDS runs one: TLS only (a connection without TLS is refused, like
 * `rds.force_ssl`), password authentication (scram-sha-256), a certificate from `pki` for `localhost`.
 * Runs as the `postgres` user when the tests run as root (initdb refuses root).
 */
export async function startTlsPostgres(pki: TestPki): Promise<{ port: number; superuser: { user: string; password: string }; admin(): Promise<Client>; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'tls-postgres-'));
  const data = join(dir, 'data');
  const password = 'superuser-test-password';
  const asRoot = userInfo().uid === 0;
  const owner = asRoot ? (execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim()) : undefined;
  const run = (tool: string, args: string[]) =>
    execFileSync(asRoot ? 'runuser' : postgresBin(tool), asRoot ? ['-u', 'postgres', '--', postgresBin(tool), ...args] : args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir });
  writeFileSync(join(dir, 'pwfile'), `${password}\n`);
  // The server's key must belong to the server's user and be private.
  for (const [from, to] of [[pki.certFile, 'server.pem'], [pki.keyFile, 'server.key']]) copyFileSync(from, join(dir, to));
  chmodSync(join(dir, 'server.key'), 0o600);
  if (owner) for (const f of ['', 'pwfile', 'server.pem', 'server.key']) chownSync(join(dir, f), Number(owner), Number(owner));
  chmodSync(dir, 0o700);
  run('initdb', ['-D', data, '-U', 'postgres', '--pwfile', join(dir, 'pwfile'), '-A', 'scram-sha-256', '--no-sync']);
  const port = await freePort();
  writeFileSync(
    join(data, 'postgresql.auto.conf'),
    [`port = ${port}`, "listen_addresses = '127.0.0.1'", `unix_socket_directories = '${dir}'`, 'ssl = on', `ssl_cert_file = '${join(dir, 'server.pem')}'`, `ssl_key_file = '${join(dir, 'server.key')}'`, 'fsync = off', ''].join('\n'),
  );
  writeFileSync(join(data, 'pg_hba.conf'), ['hostnossl all all 0.0.0.0/0 reject', 'hostssl all all 127.0.0.1/32 scram-sha-256', 'local all postgres scram-sha-256', ''].join('\n'));
  if (owner) for (const f of ['postgresql.auto.conf', 'pg_hba.conf']) chownSync(join(data, f), Number(owner), Number(owner));
  run('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-w', 'start']);
  const superuser = { user: 'postgres', password };
  return {
    port,
    superuser,
    async admin() {
      const client = new Client({ host: 'localhost', port, user: 'postgres', password, database: 'postgres', ssl: { ca: readFileSync(pki.caFile, 'utf8') } });
      await client.connect();
      return client;
    },
    async stop() {
      try {
        run('pg_ctl', ['-D', data, '-m', 'immediate', 'stop']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
