import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { platformDashboards } from '@ai-eval-platform/constructs/k8s';
import { startFakeLlmServer, type FakeLlmServer } from '../support/fake-llm-server';
import { TEST_OPENAI_KEY } from '../support/engine';
import { startPrometheus, type RunningPrometheus } from '../support/prometheus';
import { createTestDatabase, deleteRedisPrefix, ROOT, serviceEnv, spawnClickhouse, spawnService, TEST_REDIS_URL, uniqueName, until, type ChildService } from '../support/platform';

/**
 * A real Prometheus (the Debian package) scrapes a running orchestrator and worker while a small evaluation
 * runs; the dashboards' own queries, read back through Prometheus's HTTP API, return the queue, token and
 * latency series they plot.
 */
const NAMESPACE = 'ai-eval';
let fake: FakeLlmServer;
let database: Awaited<ReturnType<typeof createTestDatabase>>;
let clickhouse: Awaited<ReturnType<typeof spawnClickhouse>>;
let services: ChildService[] = [];
let prometheus: RunningPrometheus | undefined;
const prefix = uniqueName('bqprom');
const work = mkdtempSync(join(tmpdir(), 'prometheus-'));

afterAll(async () => {
  prometheus?.stop();
  await Promise.all(services.map((s) => s.stop('SIGKILL')));
  await Promise.allSettled([database?.drop(), clickhouse?.stop(), deleteRedisPrefix(TEST_REDIS_URL, prefix), fake?.close()]);
  rmSync(work, { recursive: true, force: true });
}, 60_000);

test('Prometheus scrapes the services and the dashboards’ queries return their series', async () => {
  fake = await startFakeLlmServer({ script: (r) => (r.schemaName ? { json: { score: 7, reason: 'ok' } } : { text: 'an answer', usage: { input: 20, output: 5 } }), latencyMs: 30 });
  [database, clickhouse] = await Promise.all([createTestDatabase(), spawnClickhouse()]);
  const env = serviceEnv({ databaseUrl: database.url, clickhouseUrl: clickhouse.url, queuePrefix: prefix }, { openaiBaseUrl: fake.openaiBaseUrl, apiKey: TEST_OPENAI_KEY });
  const cli = (args: string[]) => execFileSync(process.execPath, [join(ROOT, 'bin/evalctl.js'), ...args], { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  cli(['migrate']);
  const key = cli(['keys', 'create', '--project', 'observed']).trim();
  services = await Promise.all([spawnService('serve', env), spawnService('work', env)]);
  const [orchestrator, worker] = services;

  // Targets carry the labels the Kubernetes service discovery would give them, so the dashboards' queries
  // (scoped to the namespace) run unchanged.
  const hostOf = (url: string) => new URL(url).host;
  prometheus = await startPrometheus(work, [
    { job: 'orchestrator', target: hostOf(orchestrator.url), labels: { namespace: NAMESPACE, service: 'orchestrator' } },
    { job: 'worker', target: hostOf(worker.url), labels: { namespace: NAMESPACE, service: 'worker-metrics' } },
  ]);
  const { query } = prometheus;
  await until(async () => (await query('up')).length === 2, 'Prometheus to scrape both services', 60_000);

  const evaluate = async () => {
    const submitted = (await (
      await fetch(`${orchestrator.url}/v1/runs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          suite: {
            name: 'observed',
            target: { type: 'openai', model: 'gpt-4o-mini', temperature: 0.1 },
            judge: { provider: 'openai', model: 'gpt-4o-mini', temperature: 0.1 },
            metrics: [{ name: 'g_eval', evaluation_steps: ['Is it an answer?'] }],
            cases: Array.from({ length: 12 }, (_, i) => ({ input: `q${i}`, topic: 'observability' })),
          },
        }),
      })
    ).json()) as { id: string };
    await until(async () => {
      const view = (await (await fetch(`${orchestrator.url}/v1/runs/${submitted.id}`, { headers: { authorization: `Bearer ${key}` } })).json()) as { finished_at: string | null };
      return view.finished_at ? true : undefined;
    }, 'the run');
  };
  // Two runs a few scrapes apart: a labelled series appears at its first observation, so rates need the
  // second run's increments.
  await evaluate();
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  await evaluate();

  const [health, cost] = platformDashboards({ namespace: NAMESPACE, environment: 'prod', prometheusDatasourceUid: 'p', clickhouseDatasourceUid: 'c', clickhouseDatabase: 'evals' });
  const panel = (promql: readonly string[], needle: string) => promql.find((q) => q.includes(needle))!;
  // The target's tokens: 2 runs × 12 calls of 20 input and 5 output tokens, as the fake server reported them.
  const tokens = await until(async () => {
    const result = await query(`sum by (type) (eval_llm_tokens_total{namespace="${NAMESPACE}", kind="target"})`);
    const input = result.find((r) => r.metric.type === 'input');
    return input && Number(input.value[1]) === 24 * 20 ? result : undefined;
  }, 'the token counters', 30_000);
  expect(Number(tokens.find((r) => r.metric.type === 'output')!.value[1])).toBe(24 * 5);
  const perDay = await until(async () => {
    const result = await query(panel(cost.promql, 'eval_llm_tokens_total'));
    return result.length > 0 ? result : undefined;
  }, 'tokens per day', 30_000);
  expect(perDay.map((r) => r.metric.model)).toContain('gpt-4o-mini');
  const p95 = await until(async () => {
    const result = await query(panel(cost.promql, 'histogram_quantile'));
    return result.some((r) => r.metric.provider === 'openai' && Number(r.value[1]) > 0) ? result : undefined;
  }, 'latency P95', 30_000);
  expect(Number(p95.find((r) => r.metric.provider === 'openai')!.value[1])).toBeLessThan(10);
  const lag = await query(panel(health.promql, 'eval_queue_jobs'));
  expect(lag.map((r) => r.metric.state).sort()).toEqual(['active', 'delayed', 'failed', 'waiting']);
  // The panel samples a day at one-minute steps; a test Prometheus a minute old has none yet, so the same
  // expression is read at one-second steps.
  const uptime = await until(async () => {
    const result = await query(panel(health.promql, 'up{').replace('[1d:1m]', '[1d:1s]'));
    return result.length > 0 && Number(result[0].value[1]) === 100 ? result : undefined;
  }, 'uptime', 30_000);
  expect(Number(uptime[0].value[1])).toBe(100);
}, 240_000);
