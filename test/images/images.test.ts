import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createClient } from '@clickhouse/client';
import { echoTruths, startFakeLlmServer, type FakeLlmServer, type FakeRequest, type FakeReply } from '../support/fake-llm-server';
import { TEST_OPENAI_KEY } from '../support/engine';
import { createTestDatabase, deleteRedisPrefix, ROOT, serviceEnv, spawnClickhouse, spawnReady, TEST_REDIS_URL, uniqueName, until, type ChildService } from '../support/platform';
import {
  buildTarget,
  ensureNodeBase,
  imageConfig,
  imageSize,
  megabytes,
  removeContainer,
  requireRoot,
  runArgv,
  withMountedImage,
} from './buildah';

/**
 * `npm run test:images`: both targets of the repository's Dockerfile built by buildah, inspected, and started
 * the way the Deployments start them, against the local Postgres and Redis, chdb behind ClickHouse's HTTP
 * interface and the fake LLM. Slow (a first run builds the base image and installs from the npm registry),
 * so it is not part of `npm test`; `.ci/run` runs it.
 */

/**
 * Size budget, uncompressed as `buildah images` reports it. The base (Debian bookworm minbase with Node 24,
 * as `node:24-bookworm-slim`) is about 220 MB, most of it the Node binary; what the Dockerfile adds (the
 * compiled services and their production dependencies) must stay within 150 MB, the whole image within 400 MB.
 */
const ADDED_BUDGET_MB = 150;
const TOTAL_BUDGET_MB = 400;

const TAG = `test-${process.pid}`;
const IMAGES = { orchestrator: `localhost/ai-eval/orchestrator:${TAG}`, worker: `localhost/ai-eval/worker:${TAG}` } as const;
type Target = keyof typeof IMAGES;

let base: string;
const containers: string[] = [];
const services: ChildService[] = [];
let fake: FakeLlmServer;
let database: Awaited<ReturnType<typeof createTestDatabase>>;
let clickhouse: Awaited<ReturnType<typeof spawnClickhouse>>;
let env: NodeJS.ProcessEnv;
const prefix = uniqueName('imgtest');

/** `buildah <argv>` to completion: exit code and output. */
function buildahRun(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile('buildah', argv, { timeout: 120_000 }, (error, stdout, stderr) => done({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }));
  });
}

/** Runs the image's entrypoint with `args` to completion. */
function runImage(target: Target, args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const { container, argv } = runArgv(IMAGES[target], args, { ...env, ...extraEnv });
  containers.push(container);
  return buildahRun(argv);
}

/** Starts the image's service (its CMD) and resolves once it logs that it is listening or consuming. */
async function startImage(target: Target): Promise<ChildService> {
  const { container, argv } = runArgv(IMAGES[target], [], { ...env, HOST: '127.0.0.1', PORT: '0' });
  containers.push(container);
  const service = await spawnReady('buildah', argv, { PATH: process.env.PATH }, { readyWithinMs: 120_000, processGroup: true });
  services.push(service);
  return service;
}

function script(request: FakeRequest): FakeReply {
  if (request.schemaName === 'claims') return { json: { claims: ['The parcel ships in two days.'] } };
  if (request.schemaName === 'truths') return echoTruths(request);
  if (request.schemaName === 'claim_verdicts') return { json: { verdicts: [{ verdict: 'yes', reason: 'the context says so' }] } };
  return { text: 'Answer: the parcel ships in two days.', usage: { input: 30, output: 10 } };
}

beforeAll(async () => {
  requireRoot();
  const started = Date.now();
  const made = ensureNodeBase();
  base = made.reference;
  process.stdout.write(`base ${base}: ${made.built ? `built in ${Math.round((Date.now() - started) / 1000)} s` : 'cached'}, ${megabytes(imageSize(base))} MB\n`);
  for (const target of ['orchestrator', 'worker'] as const) {
    const t0 = Date.now();
    buildTarget(ROOT, target, IMAGES[target], base);
    process.stdout.write(`${IMAGES[target]}: built in ${Math.round((Date.now() - t0) / 1000)} s, ${megabytes(imageSize(IMAGES[target]))} MB\n`);
  }
  fake = await startFakeLlmServer({ script });
  [database, clickhouse] = await Promise.all([createTestDatabase(), spawnClickhouse()]);
  env = serviceEnv({ databaseUrl: database.url, clickhouseUrl: clickhouse.url, queuePrefix: prefix }, { openaiBaseUrl: fake.openaiBaseUrl, apiKey: TEST_OPENAI_KEY });
}, 1_800_000);

afterAll(async () => {
  await Promise.allSettled(services.map((service) => service.stop('SIGTERM')));
  for (const container of containers) removeContainer(container);
  await Promise.allSettled([database?.drop(), clickhouse?.stop(), deleteRedisPrefix(TEST_REDIS_URL, prefix), fake?.close()]);
  // The tags go; the layers stay in buildah's cache for the next run.
  for (const image of Object.values(IMAGES)) spawnSync('buildah', ['rmi', image], { stdio: 'ignore' });
}, 120_000);

describe.each(Object.keys(IMAGES) as Target[])('the %s image', (target) => {
  test('runs as uid 10001 through the compiled entry, exposes 8080, and starts its service by default', () => {
    const config = imageConfig(IMAGES[target]);
    expect(config.user).toBe('10001:10001');
    expect(config.entrypoint).toEqual(['node', '--enable-source-maps', 'build/services/entry.js']);
    expect(config.cmd).toEqual([target === 'orchestrator' ? 'serve' : 'work']);
    expect(config.exposedPorts).toEqual(['8080/tcp']);
    expect(config.workingDir).toBe('/app');
    expect(config.env.NODE_ENV).toBe('production');
  });

  test(`stays within its size budget (${ADDED_BUDGET_MB} MB over the base, ${TOTAL_BUDGET_MB} MB in all)`, () => {
    const total = megabytes(imageSize(IMAGES[target]));
    const added = total - megabytes(imageSize(base));
    process.stdout.write(`${IMAGES[target]}: ${total} MB uncompressed, ${added} MB over the base\n`);
    expect(added).toBeLessThanOrEqual(ADDED_BUDGET_MB);
    expect(total).toBeLessThanOrEqual(TOTAL_BUDGET_MB);
  });

  test('holds the compiled services and production dependencies only: no sources, dev tools, chdb or CDK', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string>; optionalDependencies: Record<string, string> };
    const constructsPkg = JSON.parse(readFileSync(join(ROOT, 'constructs/package.json'), 'utf8')) as { dependencies?: Record<string, string>; peerDependencies?: Record<string, string> };
    withMountedImage(IMAGES[target], (root) => {
      const app = join(root, 'app');
      expect(readdirSync(app).sort()).toEqual(['build', 'node_modules', 'package.json']);
      expect(existsSync(join(app, 'build/services/entry.js'))).toBe(true);
      const modules = join(app, 'node_modules');
      for (const name of Object.keys(pkg.dependencies)) expect({ name, present: existsSync(join(modules, name)) }).toEqual({ name, present: true });
      // Dev tools, the optional chdb engine, the evalctl workspace, and the constructs workspace with what only it depends on (CDK).
      // A devDependency production needs too (the lockfile does not mark it dev: @opentelemetry/api, which the
      // Anthropic SDK and prom-client depend on) belongs in the image.
      const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
      const devOnly = Object.keys(pkg.devDependencies).filter((name) => lock.packages[`node_modules/${name}`]?.dev === true);
      expect(Object.keys(pkg.devDependencies).filter((name) => !devOnly.includes(name))).toEqual(['@opentelemetry/api']);
      const excluded = [
        ...devOnly,
        ...Object.keys(pkg.optionalDependencies),
        '@ai-eval-platform/constructs',
        '@ai-eval-platform/evalctl',
        ...Object.keys({ ...constructsPkg.dependencies, ...constructsPkg.peerDependencies }).filter((name) => !(name in pkg.dependencies)),
      ];
      for (const name of excluded) expect({ name, present: existsSync(join(modules, name)) }).toEqual({ name, present: false });
      const typescriptSources = readdirSync(join(app, 'build'), { recursive: true }).filter((file) => /\.ts$/.test(String(file)) && !/\.d\.ts$/.test(String(file)));
      expect(typescriptSources).toEqual([]);
    });
  });
});

test('the image’s user cannot write its code, and dev mode (which needs the embedded engine) says what to use instead', async () => {
  const { container, argv } = runArgv(IMAGES.orchestrator, [], {});
  containers.push(container);
  // The shell is the base image's; the entrypoint is bypassed on purpose for this one probe.
  const write = await buildahRun(argv.slice(0, argv.indexOf('--') + 1).concat(['sh', '-c', 'id -u && touch /app/build/x']));
  expect(write.stdout.trim()).toBe('10001');
  expect(write.code).not.toBe(0);
  expect(write.stderr).toContain('Permission denied');
  const dev = await runImage('orchestrator', ['dev', '--port', '0'], { CLICKHOUSE_URL: '' });
  expect(dev.code).not.toBe(0);
  expect(dev.stderr).toContain('set CLICKHOUSE_URL to a ClickHouse server');
});

test('the orchestrator image migrates, serves /healthz and /readyz, and a run submitted to it is consumed by the worker image', async () => {
  // The migration Job runs the orchestrator image with `migrate`.
  const migrated = await runImage('orchestrator', ['migrate']);
  expect(migrated.stderr).toBe('');
  expect(migrated.code).toBe(0);
  expect(migrated.stdout).toContain('postgres: 2026-11-27-0001-initial');
  const key = (await runImage('orchestrator', ['keys', 'create', '--project', 'images'])).stdout.trim();
  expect(key).toMatch(/^aiev_/);

  const orchestrator = await startImage('orchestrator');
  const health = await fetch(`${orchestrator.url}/healthz`);
  expect(health.status).toBe(200);
  const ready = await fetch(`${orchestrator.url}/readyz`);
  expect(ready.status).toBe(200);

  await startImage('worker');
  const submitted = await fetch(`${orchestrator.url}/v1/runs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      suite: {
        name: 'image-smoke',
        target: { type: 'openai', model: 'gpt-4o-mini' },
        judge: { provider: 'openai', model: 'gpt-4o-mini' },
        metrics: [{ name: 'faithfulness', threshold: 0.5 }, { name: 'icontains', value: 'two days' }],
        cases: [{ id: 'ships', input: 'When does my parcel ship?', retrieval_context: ['Parcels ship in two days.'] }],
      },
    }),
  });
  expect(submitted.status).toBe(202);
  const { id } = (await submitted.json()) as { id: string };
  const run = await until(async () => {
    const response = await fetch(`${orchestrator.url}/v1/runs/${id}`, { headers: { authorization: `Bearer ${key}` } });
    const body = (await response.json()) as { finished_at?: string | null };
    return body.finished_at ? body : undefined;
  }, `run ${id} to finish`, 120_000);
  expect(run).toMatchObject({ status: 'completed', progress: { total: 1, completed: 1, passed: 1, failed: 0, errored: 0 } });
  expect(fake.requests.length).toBeGreaterThanOrEqual(3);

  const client = createClient({ url: clickhouse.url });
  const rows = await until(async () => {
    const result = await client.query({ query: `SELECT count() AS n FROM ${env.CLICKHOUSE_DATABASE}.results FINAL WHERE run_id = {run:String}`, query_params: { run: id }, format: 'JSONEachRow' });
    const [row] = (await result.json()) as Array<{ n: string }>;
    return Number(row.n) > 0 ? Number(row.n) : undefined;
  }, 'the result row in ClickHouse', 60_000);
  await client.close();
  expect(rows).toBe(2); // one per metric of the case

  // The viewer ships in the image: sign in with the key, and the run's page is served with its policy.
  const login = await fetch(`${orchestrator.url}/ui/login`, { method: 'POST', redirect: 'manual', body: new URLSearchParams({ key, reviewer: 'image test', next: `/ui/runs/${id}` }) });
  expect([login.status, login.headers.get('location')]).toEqual([303, `/ui/runs/${id}`]);
  const page = await fetch(`${orchestrator.url}/ui/runs/${id}`, { headers: { cookie: login.headers.get('set-cookie')!.split(';')[0] } });
  expect(page.status).toBe(200);
  expect(page.headers.get('content-security-policy')).toMatch(/^default-src 'none'/);
  expect(await page.text()).toMatch(/<h1>image-smoke <span class="badge pass">completed<\/span><\/h1>/);
});
