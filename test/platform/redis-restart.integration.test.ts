import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { startFakeLlmServer, type FakeLlmServer } from '../support/fake-llm-server';
import { TEST_OPENAI_KEY } from '../support/engine';
import { createTestDatabase, freePort, ROOT, spawnClickhouse, spawnRedis, spawnService, uniqueName, until, type ChildService } from '../support/platform';

/**
 * Redis restarted mid-run, without persistence (as this machine's Redis and a cache-mode ElastiCache would):
 * every queued job is gone. The orchestrator sees the queue's epoch key missing, enqueues every unfinished
 * case again at once (the staleness window, 10 minutes by default, is only the backstop); the run
 * completes with every case counted once.
 */
let fake: FakeLlmServer;
let database: Awaited<ReturnType<typeof createTestDatabase>>;
let clickhouse: Awaited<ReturnType<typeof spawnClickhouse>>;
let redis: Awaited<ReturnType<typeof spawnRedis>>;
let services: ChildService[] = [];
let work: string;

afterAll(async () => {
  await Promise.all(services.map((s) => s.stop('SIGKILL')));
  await Promise.allSettled([database?.drop(), clickhouse?.stop(), redis?.kill(), fake?.close()]);
  rmSync(work, { recursive: true, force: true });
}, 60_000);

test('a run survives a Redis restart that loses every job', async () => {
  work = mkdtempSync(join(tmpdir(), 'redis-restart-'));
  fake = await startFakeLlmServer({ script: (r) => (r.schemaName ? { json: { score: 8, reason: 'ok' } } : { text: 'an answer' }), latencyMs: 100 });
  const port = await freePort();
  [database, clickhouse, redis] = await Promise.all([createTestDatabase(), spawnClickhouse(), spawnRedis(port)]);
  const env = {
    DATABASE_URL: database.url,
    REDIS_URL: redis.url,
    CLICKHOUSE_URL: clickhouse.url,
    CLICKHOUSE_DATABASE: uniqueName('evals'),
    OPENAI_BASE_URL: fake.openaiBaseUrl,
    OPENAI_API_KEY: TEST_OPENAI_KEY,
    QUEUE_STALL_INTERVAL_MS: '1000',
    RECONCILE_INTERVAL_MS: '500',
    // Far beyond the test's time: only the epoch check can bring the lost jobs back (the staleness window is
    // the backstop, and when it came first it made which of the two recovered the run a matter of timing).
    RECONCILE_STALE_MS: '120000',
    WORKER_CONCURRENCY: '4',
  };
  const cli = (args: string[]) => execFileSync(process.execPath, [join(ROOT, 'bin/evalctl.js'), ...args], { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  cli(['migrate']);
  const key = cli(['keys', 'create', '--project', 'gamma']).trim();
  services = await Promise.all([spawnService('serve', env), spawnService('work', env)]);
  const [orchestrator] = services;
  const api = async (method: string, path: string, body?: unknown) =>
    (await fetch(`${orchestrator.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: body ? JSON.stringify(body) : undefined,
    }).then((r) => r.json())) as any;

  const submitted = await api('POST', '/v1/runs', {
    suite: {
      name: 'restart',
      target: { type: 'openai', model: 'gpt-4o-mini', temperature: 0.3 },
      judge: { provider: 'openai', model: 'gpt-4o-mini', temperature: 0.3 },
      metrics: [{ name: 'g_eval', evaluation_steps: ['Is it an answer?'] }],
      cases: Array.from({ length: 30 }, (_, i) => ({ input: `q${i}` })),
    },
  });
  await until(async () => ((await api('GET', `/v1/runs/${submitted.id}`)).progress.completed >= 3 ? true : undefined), 'some progress');
  await redis.kill();
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  redis = await spawnRedis(port);
  const run = await until(async () => {
    const view = await api('GET', `/v1/runs/${submitted.id}`);
    return view.finished_at ? view : undefined;
  }, 'the run to finish after the restart', 90_000).catch(async (error: Error) => {
    const view = await api('GET', `/v1/runs/${submitted.id}`);
    throw new Error(`${error.message}: ${JSON.stringify(view.progress)}\n${services.map((s) => s.log.slice(-15).join('\n')).join('\n---\n')}`);
  });
  expect(run).toMatchObject({ status: 'completed', progress: { total: 30, completed: 30, passed: 30, errored: 0 } });
  // Recovered by the queue's epoch check (the epoch key came back missing), not by the staleness window.
  expect(services[0].log.some((line) => line.includes('the queue lost its jobs'))).toBe(true);
}, 180_000);
