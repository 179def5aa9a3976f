import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createClient } from '@clickhouse/client';
import { Testing } from 'cdk8s';
import { PlatformChart } from '@ai-eval-platform/constructs/k8s';
import { environment } from '../support/environments';
import { accessibilityViolations, cspViolations, launchChromium } from '../support/browser';
import { echoTruths, startFakeLlmServer, type FakeLlmServer } from '../support/fake-llm-server';
import { TEST_OPENAI_KEY } from '../support/engine';
import { startPrometheus, type RunningPrometheus } from '../support/prometheus';
import { createTestDatabase, deleteRedisPrefix, evalctlSync, ROOT, serviceEnv, spawnClickhouse, spawnService, TEST_REDIS_URL, uniqueName, until, type ChildService } from '../support/platform';

/**
 * Online evaluation end to end: a scratch agent instrumented with the GenAI conventions exports its spans with
 * the official OpenTelemetry SDK and OTLP exporters (protobuf, then JSON) to a running orchestrator; the spans
 * are queryable; an online evaluator scores its sample through the fake LLM in a worker; the scores reach
 * ClickHouse and the worker's /metrics; and when the stream degrades, the platform's own alert rule fires in a
 * real Prometheus, with the labels its Slack route needs.
 */
type Obj = Record<string, any>; // manifests and API bodies are untyped JSON
const execFileAsync = promisify(execFile);
const env8s = environment('prod');
const NAMESPACE = env8s.kubernetes.namespace;
let fake: FakeLlmServer;
let database: Awaited<ReturnType<typeof createTestDatabase>>;
let clickhouse: Awaited<ReturnType<typeof spawnClickhouse>>;
let services: ChildService[] = [];
let prometheus: RunningPrometheus | undefined;
const prefix = uniqueName('bqonline');
const work = mkdtempSync(join(tmpdir(), 'online-eval-'));

afterAll(async () => {
  prometheus?.stop();
  await Promise.all(services.map((s) => s.stop('SIGKILL')));
  await Promise.allSettled([database?.drop(), clickhouse?.stop(), deleteRedisPrefix(TEST_REDIS_URL, prefix), fake?.close()]);
  rmSync(work, { recursive: true, force: true });
}, 60_000);

/** Runs the scratch agent: `count` conversations exported over OTLP with `protocol`. */
async function runAgent(url: string, key: string, protocol: 'proto' | 'json', count: number, quality: 'healthy' | 'degraded', label: string): Promise<{ exported: number; failed: number }> {
  const { stdout } = await execFileAsync(process.execPath, ['--import', 'tsx', join(ROOT, 'test/fixtures/otel-agent/agent.ts'), protocol, String(count), quality, label], {
    env: {
      PATH: process.env.PATH,
      // What the README tells an agent's operator to set.
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${url}/v1/traces`,
      OTEL_EXPORTER_OTLP_HEADERS: `Authorization=Bearer ${key}`,
      OTEL_SERVICE_NAME: 'shop-agent',
    },
    cwd: ROOT,
  });
  return JSON.parse(stdout.trim().split('\n').pop()!);
}

test('spans sent with the OpenTelemetry SDK are stored, sampled, scored online, exported, and a degraded stream fires the quality alert', async () => {
  fake = await startFakeLlmServer({
    script: (r) => {
      if (r.schemaName === 'truths') return echoTruths(r);
      if (r.schemaName === 'claims') return { json: { claims: ['The order ships tomorrow.'] } };
      if (r.schemaName === 'claim_verdicts') return { json: { verdicts: [{ verdict: 'yes', reason: 'the context says so' }] } };
      // g_eval: a degraded answer is judged unhelpful.
      if (r.schemaName) return { json: { score: r.prompt.includes('DEGRADED') ? 1 : 9, reason: r.prompt.includes('DEGRADED') ? 'refuses to help' : 'answers the question' } };
      return { text: 'unused', usage: { input: 10, output: 5 } };
    },
  });
  [database, clickhouse] = await Promise.all([createTestDatabase(), spawnClickhouse()]);
  const env: NodeJS.ProcessEnv = {
    ...serviceEnv({ databaseUrl: database.url, clickhouseUrl: clickhouse.url, queuePrefix: prefix }, { openaiBaseUrl: fake.openaiBaseUrl, apiKey: TEST_OPENAI_KEY }),
    ONLINE_EVAL_INTERVAL_MS: '500',
    ONLINE_EVAL_LAG_MS: '1000',
  };
  evalctlSync(['migrate'], env);
  const key = evalctlSync(['keys', 'create', '--project', 'shop'], env).trim();
  services = await Promise.all([spawnService('serve', env), spawnService('work', env)]);
  const [orchestrator, worker] = services;
  const api = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${orchestrator.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: response.status, body: (await response.json().catch(() => null)) as Obj };
  };

  // The evaluator: half of the shop agent's chat spans, helpfulness by g_eval and faithfulness to the passages
  // the agent records in `app.retrieval.documents`.
  const evaluator = {
    match: { service: 'shop-agent', operation: 'chat' },
    sample_rate: 0.5,
    metrics: [{ name: 'g_eval', id: 'helpful', criteria: 'Does the answer help the shopper?', evaluation_steps: ['Does it answer the question asked?'], threshold: 0.5 }, 'faithfulness'],
    judge: { provider: 'openai', model: 'gpt-4o-mini' },
    mapping: { retrieval_context: 'app.retrieval.documents' },
    daily_budget_usd: 5,
  };
  // A metric the spans cannot feed is refused when declared, naming what is missing.
  const refused = await api('PUT', '/v1/online-evaluators/answers', { ...evaluator, mapping: {} });
  expect(refused.status).toBe(400);
  expect(refused.body.error.message).toMatch(/retrieval_context/);
  const declared = await api('PUT', '/v1/online-evaluators/answers', evaluator);
  expect(declared.status).toBe(201);

  // Healthy traffic: 40 conversations over protobuf, 40 over JSON, every batch answered 200.
  expect(await runAgent(orchestrator.url, key, 'proto', 40, 'healthy', 'p')).toEqual({ exported: 120, failed: 0 });
  expect(await runAgent(orchestrator.url, key, 'json', 40, 'healthy', 'j')).toEqual({ exported: 120, failed: 0 });

  // The spans are queryable: 80 traces, each an agent span with its chat and tool spans.
  const listed = await api('GET', '/v1/traces?limit=500&service=shop-agent');
  expect(listed.body.traces).toHaveLength(80);
  const one = listed.body.traces.find((t: Obj) => t.input_text === 'Where is my order j-7?');
  expect(one).toMatchObject({ service: 'shop-agent', name: 'invoke_agent shop', spans: 3, models: ['gpt-4o-mini'], output_text: 'Your order j-7 ships tomorrow from the Leeds warehouse.', session_id: 'j-session-3' });
  const detail = await api('GET', `/v1/traces/${one.trace_id}`);
  const chat = detail.body.spans.find((s: Obj) => s.operation === 'chat');
  expect(chat).toMatchObject({
    model: 'gpt-4o-mini',
    provider: 'openai',
    input_tokens: 127,
    output_tokens: 30,
    session_id: 'j-session-3',
    input_messages: [
      { role: 'system', content: 'You help shoppers.' },
      { role: 'user', content: 'Where is my order j-7?' },
    ],
    output_messages: [{ role: 'assistant', content: 'Your order j-7 ships tomorrow from the Leeds warehouse.', tool_calls: [{ name: 'track_order', arguments: { order: 'j-7' }, id: 'call-7' }] }],
    tool_calls: [{ name: 'track_order', arguments: { order: 'j-7' } }],
  });
  expect(chat.attributes['app.customer_tier']).toBe('basic');
  expect(chat.resource_attributes['deployment.environment']).toBe('prod');
  const tool = detail.body.spans.find((s: Obj) => s.operation === 'execute_tool');
  expect(tool).toMatchObject({ parent_span_id: chat.span_id, tool_calls: [{ name: 'track_order', arguments: { order: 'j-7' }, output: { status: 'packed' } }] });

  // The sample: the chat spans ClickHouse puts in half by trace id; each is scored on both metrics, beside its span.
  const ch = createClient({ url: clickhouse.url });
  const chDatabase = env.CLICKHOUSE_DATABASE!;
  const count = async (query: string) => Number(((await (await ch.query({ query, format: 'JSONEachRow' })).json()) as Array<{ n: string }>)[0].n);
  const sample = await count(`SELECT count() AS n FROM ${chDatabase}.spans WHERE operation = 'chat' AND cityHash64(trace_id) % 1000000 < 500000`);
  expect(sample).toBeGreaterThan(20);
  expect(sample).toBeLessThan(60);
  await until(async () => (await count(`SELECT count() AS n FROM ${chDatabase}.span_scores WHERE metric = 'helpful'`)) === sample || undefined, 'the sample to be scored', 90_000, 500);
  expect(await count(`SELECT count() AS n FROM ${chDatabase}.span_scores WHERE metric = 'faithfulness' AND score = 1`)).toBe(sample);
  const scored = (await (await ch.query({ query: `SELECT trace_id, span_id, evaluator, score, reason, model FROM ${chDatabase}.span_scores WHERE metric = 'helpful' LIMIT 1`, format: 'JSONEachRow' })).json()) as Obj[];
  expect(scored[0]).toMatchObject({ evaluator: 'answers', score: 0.9, reason: 'answers the question', model: 'gpt-4o-mini' });
  // The trace's scores are on its page of the API.
  const scoredTrace = await api('GET', `/v1/traces/${scored[0].trace_id}`);
  expect(scoredTrace.body.scores.map((s: Obj) => s.metric).sort()).toEqual(['faithfulness', 'helpful']);
  await ch.close();

  // The worker's /metrics carries the online scores, by project, evaluator, metric and model.
  const series = (text: string, name: string, labels: Record<string, string>) =>
    text
      .split('\n')
      .filter((line) => line.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)))
      .map((line) => Number(line.slice(line.lastIndexOf(' ') + 1)));
  const labels = { project: 'shop', evaluator: 'answers', metric: 'helpful' };
  expect(series(await (await fetch(`${worker.url}/metrics`)).text(), 'eval_online_score_count', { ...labels, model: 'gpt-4o-mini' })).toEqual([sample]);
  expect(series(await (await fetch(`${orchestrator.url}/metrics`)).text(), 'eval_online_threshold', { ...labels, direction: 'higher_is_better' })).toEqual([0.5]);

  // The viewer: the traces with their scores, a trace's spans and messages and the judge's reasons, and the trace
  // made a dataset case in one action (the loop from production back to the CI suite).
  const signIn = await fetch(`${orchestrator.url}/ui/login`, { method: 'POST', body: new URLSearchParams({ key, reviewer: 'Dana', next: '/ui/traces' }), redirect: 'manual' });
  const cookie = signIn.headers.get('set-cookie')!.split(';')[0];
  const page = async (path: string, init: RequestInit = {}) => {
    const response = await fetch(`${orchestrator.url}${path}`, { ...init, headers: { cookie, ...(init.headers ?? {}) }, redirect: 'manual' });
    return { status: response.status, html: await response.text() };
  };
  const tracesPage = await page('/ui/traces?evaluator=answers');
  expect(tracesPage.status).toBe(200);
  expect(tracesPage.html).toContain(`/ui/traces/${scored[0].trace_id}`);
  expect(tracesPage.html).toMatch(/helpful 0\.9 ✓/);
  const tracePage = await page(`/ui/traces/${scored[0].trace_id}`);
  expect(tracePage.html).toContain('answers the question');
  expect(tracePage.html).toContain('You help shoppers.');
  expect(tracePage.html).toContain('→ track_order({&quot;order&quot;:');
  const csrf = /name="csrf" value="([^"]+)"/.exec(tracePage.html)![1];
  const question = /<option value="([0-9a-f]{16})" selected="">chat gpt-4o-mini: (Where is my order [^<]+)<\/option>/.exec(tracePage.html)!;
  const added = await page(`/ui/traces/${scored[0].trace_id}/dataset`, {
    method: 'POST',
    body: new URLSearchParams({ csrf, dataset: 'from-production', span_id: question[1], expected_output: 'It ships tomorrow.' }),
  });
  expect(added.status).toBe(200);
  expect(added.html).toContain('Added to dataset from-production, version 1 (1 cases)');
  const dataset = await api('GET', '/v1/datasets/from-production/versions/1');
  expect(dataset.body.cases).toEqual([
    {
      id: expect.stringMatching(/^trace-/),
      input: question[2],
      expected_output: 'It ships tomorrow.',
      topic: 'shop-agent',
      tags: ['production'],
      metadata: { source: 'production', trace_id: scored[0].trace_id, span_id: question[1], service: 'shop-agent', model: 'gpt-4o-mini', added_by: 'Dana' },
    },
  ]);

  // The same in a real browser: signed in through the form, the pages load under the viewer's policy with no
  // serious accessibility problem at desk and phone width, and the form adds the trace to the dataset.
  const browser = await launchChromium();
  try {
    for (const viewport of [{ width: 1280, height: 900 }, { width: 390, height: 844 }]) {
      const context = await browser.newContext({ viewport });
      const tab = await context.newPage();
      const csp = cspViolations(tab);
      await tab.goto(`${orchestrator.url}/ui/login?next=${encodeURIComponent('/ui/traces?evaluator=answers')}`);
      await tab.getByLabel('Project API key').fill(key);
      await tab.getByLabel(/Your name/).fill('Dana');
      await tab.getByRole('button', { name: /sign in/i }).click();
      await tab.getByRole('heading', { name: 'Production traces' }).waitFor();
      await tab.locator(`a[href="/ui/traces/${scored[0].trace_id}"]`).click();
      await tab.getByRole('heading', { name: 'Online scores' }).waitFor();
      expect(await accessibilityViolations(browser, context, `${orchestrator.url}/ui/traces?evaluator=answers`, viewport)).toEqual([]);
      expect(await accessibilityViolations(browser, context, `${orchestrator.url}/ui/traces/${scored[0].trace_id}`, viewport)).toEqual([]);
      if (viewport.width === 1280) {
        await tab.getByLabel('Dataset').fill('from-production');
        await tab.getByRole('button', { name: 'Add to dataset' }).click();
        await tab.getByText('Added to dataset from-production, version 2 (2 cases)').waitFor();
      }
      expect(csp).toEqual([]);
      await context.close();
    }
  } finally {
    await browser.close();
  }

  // A real Prometheus with the platform's synthesized rules (`for` set to 0: its duration is promtool's business).
  const objects: Obj[] = Testing.synth(new PlatformChart(Testing.app(), 'platform', { env: env8s }));
  const rule = objects.find((o) => o.kind === 'PrometheusRule')!;
  const groups = rule.spec.groups.map((g: Obj) => ({ ...g, interval: '1s', rules: g.rules.filter((r: Obj) => r.alert === 'EvalOnlineQualityDrop').map((r: Obj) => ({ ...r, for: '0s' })) }));
  const hostOf = (url: string) => new URL(url).host;
  prometheus = await startPrometheus(
    work,
    [
      { job: 'orchestrator', target: hostOf(orchestrator.url), labels: { namespace: NAMESPACE, service: 'orchestrator' } },
      { job: 'worker', target: hostOf(worker.url), labels: { namespace: NAMESPACE, service: 'worker-metrics' } },
    ],
    groups,
  );
  const { alerts, query } = prometheus;
  await until(async () => (await query('eval_online_score_count')).length > 0 && (await query('eval_online_threshold')).length > 0, 'Prometheus to scrape the scores and thresholds', 60_000, 500);
  // Healthy: the mean (0.9) is above the threshold; the rule has evaluated and nothing fires.
  await new Promise((resolve) => setTimeout(resolve, 4_000));
  expect((await alerts()).filter((a) => a.labels.alertname === 'EvalOnlineQualityDrop')).toEqual([]);

  // Degraded traffic: the agent starts refusing. Once scored, the mean falls under 0.5 and the alert fires.
  expect(await runAgent(orchestrator.url, key, 'proto', 160, 'degraded', 'd')).toEqual({ exported: 480, failed: 0 });
  const firing = await until(
    async () => {
      const found = (await alerts()).filter((a) => a.labels.alertname === 'EvalOnlineQualityDrop' && a.state === 'firing');
      return found.length > 0 ? found : undefined;
    },
    'the online quality alert to fire',
    120_000,
    1_000,
  );
  expect(firing[0].labels).toMatchObject({ project: 'shop', evaluator: 'answers', metric: 'helpful', namespace: NAMESPACE, team: 'ai-eval-platform', severity: 'warning' });
  // Faithfulness held: only helpfulness drifted.
  expect(firing.map((a) => a.labels.metric)).toEqual(['helpful']);
}, 300_000);
