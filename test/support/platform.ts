import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { Client } from 'pg';
import { createClient as createRedisClient } from 'redis';
import type { Kysely } from 'kysely';
import { connectPostgres, migratePostgres } from '../../src/store/postgres/connect';
import type { Database } from '../../src/store/postgres/schema';

export const ROOT = resolve(__dirname, '../..');
export const ADMIN_DATABASE_URL = process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const TEST_REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export const uniqueName = (prefix: string) => `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;

/** A database of its own, dropped afterwards. */
export async function createTestDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = uniqueName('evaltest');
  const admin = new Client({ connectionString: ADMIN_DATABASE_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(ADMIN_DATABASE_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new Client({ connectionString: ADMIN_DATABASE_URL });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

/**
 * A migrated database of its own for a test file's tests: made in `beforeAll`, closed and dropped in
 * `afterAll`. Read `db` inside tests (it is set once the hook has run).
 */
export function useMigratedDatabase(): { readonly db: Kysely<Database> } {
  let postgres: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
  const state: { db?: Kysely<Database> } = {};
  beforeAll(async () => {
    postgres = await createTestDatabase();
    state.db = await connectPostgres({ kind: 'url', url: postgres.url });
    await migratePostgres(state.db);
  }, 60_000);
  afterAll(async () => {
    await state.db?.destroy();
    await postgres?.drop();
  });
  return {
    get db() {
      if (!state.db) throw new Error('the database is made in beforeAll: read db inside a test');
      return state.db;
    },
  };
}

/** Deletes every Redis key under a test's queue prefix. */
export async function deleteRedisPrefix(redisUrl: string, prefix: string): Promise<void> {
  const client = createRedisClient({ url: redisUrl });
  client.on('error', () => undefined);
  const keys = await new Promise<string[]>((done) => client.keys(`${prefix}:*`, (error, found) => done(error ? [] : found)));
  if (keys.length > 0) await new Promise((done) => client.del(keys, done));
  await new Promise((done) => client.quit(done));
}

export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
    server.on('error', fail);
  });
}

/** A line of a child's output that matches, or a rejection with what the child printed. */
function waitForLine(child: ChildProcess, stream: 'stdout' | 'stderr', match: (line: string) => boolean, timeoutMs: number): Promise<string> {
  return new Promise((done, fail) => {
    let seen = '';
    const lines = createInterface({ input: child[stream]! });
    const timer = setTimeout(() => fail(new Error(`no matching line within ${timeoutMs} ms; output:\n${seen}`)), timeoutMs);
    lines.on('line', (line) => {
      seen += `${line}\n`;
      if (match(line)) {
        clearTimeout(timer);
        done(line);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`exited with ${code} before it was ready; output:\n${seen}`));
    });
  });
}

export interface ChildService {
  readonly child: ChildProcess;
  readonly url: string;
  /** Everything it logged (JSON lines on stderr). */
  readonly log: string[];
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

const tsx = [require.resolve('tsx/cjs')];

/**
 * `evalctl serve` or `evalctl work` in a child process, resolved once it logs that it is ready: the
 * repository's entry by default, or another (the compiled `build/services/entry.js` the images run).
 */
export function spawnService(command: 'serve' | 'work', env: NodeJS.ProcessEnv, nodeArgs: string[] = [], entry = join(ROOT, 'bin/evalctl.js')): Promise<ChildService> {
  return spawnReady(process.execPath, [...nodeArgs, entry, command], {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    PORT: '0',
    HOST: '127.0.0.1',
    ...env,
  });
}

/**
 * A service started by any command line (the repository's entry, or an image's through `buildah run`),
 * resolved once it logs that it is listening or consuming. With `processGroup`, it runs in a group of its
 * own and `stop` signals the whole group (a launcher such as `buildah run` and the service under it).
 */
export async function spawnReady(
  file: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  options: { readyWithinMs?: number; processGroup?: boolean } = {},
): Promise<ChildService> {
  const { readyWithinMs = 60_000, processGroup = false } = options;
  const child = spawn(file, args, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: processGroup });
  const log: string[] = [];
  const ready = waitForLine(child, 'stderr', (line) => /"message":"(listening|consuming)"/.test(line), readyWithinMs);
  createInterface({ input: child.stderr! }).on('line', (line) => log.push(line));
  const line = await ready;
  const url = (JSON.parse(line) as { url: string }).url;
  return {
    child,
    url,
    log,
    stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
      return new Promise((done) => {
        child.once('exit', (code) => done(code));
        if (processGroup) process.kill(-child.pid!, signal);
        else child.kill(signal);
      });
    },
  };
}

/** chdb behind ClickHouse's HTTP interface, in its own process, on a fresh data folder. */
export async function spawnClickhouse(): Promise<{ url: string; pid: number; failInserts(count: number): Promise<void>; down(ms: number): Promise<void>; stop(): Promise<void> }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'chdb-test-'));
  const child = spawn(process.execPath, ['--require', ...tsx, join(ROOT, 'test/support/chdb-bridge-process.ts'), dataDir], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await waitForLine(child, 'stdout', (l) => l.startsWith('{'), 60_000);
  const url = (JSON.parse(line) as { url: string }).url;
  return {
    url,
    pid: child.pid!,
    async failInserts(count) {
      await fetch(`${url}/_faults/fail-inserts?count=${count}`, { method: 'POST' });
    },
    /** Every request for the next `ms` has its connection dropped: ClickHouse is down. */
    async down(ms) {
      await fetch(`${url}/_faults/down?ms=${ms}`, { method: 'POST' });
    },
    stop: () =>
      new Promise((done) => {
        child.once('exit', () => {
          rmSync(dataDir, { recursive: true, force: true });
          done();
        });
        child.kill('SIGTERM');
      }),
  };
}

/** A throwaway redis-server from the Debian package on a port of its own (for tests that restart it). */
export async function spawnRedis(port: number): Promise<{ url: string; kill(): Promise<void> }> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'ignore'] });
  await waitForLine(child, 'stdout', (l) => /Ready to accept connections/.test(l), 20_000);
  return {
    url: `redis://127.0.0.1:${port}`,
    kill: () =>
      new Promise((done) => {
        child.once('exit', () => done());
        child.kill('SIGKILL');
      }),
  };
}

export async function until<T>(probe: () => Promise<T | undefined | false>, what: string, timeoutMs = 60_000, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((done) => setTimeout(done, everyMs));
  }
}

/** The environment of services under test: their own database, queue prefix and ClickHouse database. */
export function serviceEnv(stores: { databaseUrl: string; clickhouseUrl: string; queuePrefix: string; redisUrl?: string }, llm: { openaiBaseUrl: string; apiKey: string }): NodeJS.ProcessEnv {
  return {
    DATABASE_URL: stores.databaseUrl,
    REDIS_URL: stores.redisUrl ?? TEST_REDIS_URL,
    QUEUE_PREFIX: stores.queuePrefix,
    CLICKHOUSE_URL: stores.clickhouseUrl,
    CLICKHOUSE_DATABASE: uniqueName('evals'),
    OPENAI_BASE_URL: llm.openaiBaseUrl,
    OPENAI_API_KEY: llm.apiKey,
  };
}

/** `evalctl <args>` run to completion with `env` (migrate, keys create): its stdout. */
export function evalctlSync(args: string[], env: NodeJS.ProcessEnv): string {
  return execFileSync(process.execPath, [join(ROOT, 'bin/evalctl.js'), ...args], { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/**
 * A migrated platform environment for tenant tests, with an API key for each project: 127.0.0.2 stands for the
 * outside the operator allowed (EGRESS_ALLOW), projects may register their own endpoints (a fresh
 * ENDPOINT_KEYS_SECRET), and LLM retries are fast.
 */
export function tenantPlatformEnv(
  stores: Parameters<typeof serviceEnv>[0],
  llm: Parameters<typeof serviceEnv>[1],
  projects: readonly string[],
): { env: NodeJS.ProcessEnv; keys: string[] } {
  const env = {
    ...serviceEnv(stores, llm),
    EGRESS_ALLOW: '127.0.0.2/32',
    ENDPOINT_KEYS_SECRET: randomBytes(32).toString('base64'),
    LLM_RETRY_BASE_DELAY_MS: '5',
    LLM_RETRY_MAX_DELAY_MS: '20',
  };
  evalctlSync(['migrate'], env);
  return { env, keys: projects.map((project) => evalctlSync(['keys', 'create', '--project', project], env).trim()) };
}

/**
 * The costliest submission to parse within the body limit: 300,000 small cases (about 29 MB), with a field the
 * API refuses (`priority`) only after a full parse. The tenant-safety test and `npm run bench:ingest` send it.
 */
export function largestRefusedSubmission(): string {
  const cases = Array.from({ length: 300_000 }, (_, i) => ({ id: `case-${i}`, input: `question number ${i} about refunds and shipping`, tags: ['a', 'b'] }));
  return JSON.stringify({ suite: { name: 'big', metrics: ['json_valid'], cases }, priority: 1 });
}
