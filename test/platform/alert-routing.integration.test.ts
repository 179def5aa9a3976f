import { spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { Testing } from 'cdk8s';
import { ClusterAddonsChart, PLATFORM_METRICS, PlatformChart } from '@ai-eval-platform/constructs/k8s';
import { environment } from '../support/environments';
import { freePort, until } from '../support/platform';
import { startPrometheus, type RunningPrometheus } from '../support/prometheus';

/**
 * Each alert, fired by a real Prometheus from synthetic series, carries the labels the rules really give it;
 * the Alertmanager configuration is rendered as prometheus-operator renders an AlertmanagerConfig (its
 * namespace matcher under the matcher strategy kube-prometheus-stack is given, the receiver named
 * `<namespace>/<config>/<receiver>`, a child of the root route with `continue`); `amtool config routes test`
 * says where each alert goes. Before the rules set `namespace`, every aggregated alert went to the root
 * route's `null` receiver, while go-live check 4 said PASS.
 */
type Obj = Record<string, any>; // manifests are untyped JSON

const env = environment('prod');
const objects: Obj[] = Testing.synth(new PlatformChart(Testing.app(), 'platform', { env }));
const addons: Obj[] = Testing.synth(new ClusterAddonsChart(Testing.app(), 'cluster-addons', { env }));
const stack = addons.find((o) => o.kind === 'Application' && o.spec?.source?.chart === 'kube-prometheus-stack')!.spec.source.helm.valuesObject;
const work = mkdtempSync(join(tmpdir(), 'alert-routing-'));
let exporter: Server | undefined;
let prometheus: RunningPrometheus | undefined;

afterAll(async () => {
  prometheus?.stop();
  await new Promise((done) => (exporter ? exporter.close(done) : done(undefined)));
  rmSync(work, { recursive: true, force: true });
});

/** The Alertmanager configuration prometheus-operator generates from kube-prometheus-stack's root config and the AlertmanagerConfigs. */
function renderAlertmanager(): { config: Obj; slackReceivers: string[] } {
  const strategy = stack.alertmanager?.alertmanagerSpec?.alertmanagerConfigMatcherStrategy?.type ?? 'OnNamespace';
  const configs = objects.filter((o) => o.kind === 'AlertmanagerConfig');
  const routes = configs.map((c) => {
    const name = (receiver: string) => `${c.metadata.namespace}/${c.metadata.name}/${receiver}`;
    const matchers = (c.spec.route.matchers ?? []).map((m: Obj) => `${m.name}${m.matchType ?? '='}${JSON.stringify(m.value)}`);
    return {
      receiver: name(c.spec.route.receiver),
      group_by: c.spec.route.groupBy,
      matchers: strategy === 'OnNamespace' ? [`namespace="${c.metadata.namespace}"`, ...matchers] : matchers,
      continue: true,
    };
  });
  const receivers = configs.flatMap((c) =>
    c.spec.receivers.map((r: Obj) => ({
      name: `${c.metadata.namespace}/${c.metadata.name}/${r.name}`,
      slack_configs: (r.slackConfigs ?? []).map((s: Obj) => ({ api_url_file: `/etc/alertmanager/secrets/${s.apiURL.name}/${s.apiURL.key}`, channel: s.channel })),
    })),
  );
  // kube-prometheus-stack's own root: everything else to `null`, Watchdog too.
  const config = { route: { receiver: 'null', group_by: ['namespace'], routes: [...routes, { receiver: 'null', matchers: ['alertname="Watchdog"'] }] }, receivers: [{ name: 'null' }, ...receivers] };
  return { config, slackReceivers: receivers.filter((r: Obj) => r.slack_configs.length > 0).map((r: Obj) => r.name) };
}

/** Where Alertmanager sends an alert with these labels, as `amtool config routes test` prints it. */
function routeOf(labels: Record<string, string>): string {
  const args = ['config', 'routes', 'test', `--config.file=${join(work, 'alertmanager.yml')}`, ...Object.entries(labels).map(([k, v]) => `${k}=${v}`)];
  const result = spawnSync('amtool', args, { encoding: 'utf8' });
  if (result.status !== 0 && !result.stdout) throw new Error(`amtool ${args.join(' ')}: ${result.stderr}`);
  return result.stdout.trim();
}

test('every alert fires in Prometheus from synthetic series and reaches the Slack receiver, with the labels it really carries', async () => {
  const ns = env.kubernetes.namespace;
  const rule = objects.find((o) => o.kind === 'PrometheusRule')!;
  // `for` is set to 0 here so each alert fires within seconds; the durations are promtool's unit tests' business.
  const groups = rule.spec.groups.map((g: Obj) => ({ ...g, interval: '1s', rules: g.rules.map((r: Obj) => ({ ...r, for: '0s' })) }));

  // Synthetic series that break every threshold: counters that grow fast on each scrape.
  let scrape = 0;
  exporter = createServer((_req, res) => {
    scrape++;
    res.setHeader('content-type', 'text/plain; version=0.0.4');
    res.end(
      [
        `${PLATFORM_METRICS.queueJobs}{state="waiting"} 1000000`,
        `${PLATFORM_METRICS.queueOldestWaiting} 1000000`,
        `${PLATFORM_METRICS.jobs}{outcome="failed",reason="retries_exhausted"} ${scrape * 50}`,
        `${PLATFORM_METRICS.jobs}{outcome="completed",reason="passed"} ${scrape * 50}`,
        `${PLATFORM_METRICS.llmRateLimited}{provider="openai",model="gpt-4o-mini"} ${scrape * 1000}`,
        `${PLATFORM_METRICS.llmCost}{provider="openai",model="gpt-4o-mini"} ${scrape * 1_000_000}`,
        // An online evaluator whose scores average 0.2 against its threshold of 0.7.
        `${PLATFORM_METRICS.onlineScore}_sum{project="shop",evaluator="answers",metric="helpful",model="gpt-4o-mini"} ${scrape * 20 * 0.2}`,
        `${PLATFORM_METRICS.onlineScore}_count{project="shop",evaluator="answers",metric="helpful",model="gpt-4o-mini"} ${scrape * 20}`,
        `${PLATFORM_METRICS.onlineThreshold}{project="shop",evaluator="answers",metric="helpful",direction="higher_is_better"} 0.7`,
        '',
      ].join('\n'),
    );
  });
  const exporterPort = await freePort();
  await new Promise<void>((done) => exporter!.listen(exporterPort, '127.0.0.1', done));
  const closedPort = await freePort();
  // The labels a ServiceMonitor's target carries (namespace, service); the orchestrator's target does not answer.
  prometheus = await startPrometheus(
    work,
    [
      { job: 'worker-metrics', target: `127.0.0.1:${exporterPort}`, labels: { namespace: ns, service: 'worker-metrics' } },
      { job: 'orchestrator', target: `127.0.0.1:${closedPort}`, labels: { namespace: ns, service: 'orchestrator' } },
    ],
    groups,
  );

  const expected = rule.spec.groups.flatMap((g: Obj) => g.rules.map((r: Obj) => r.alert)).sort();
  expect(expected).toHaveLength(7);
  const firing = await until(
    async () => {
      const alerts: Obj[] = (await prometheus!.alerts()).filter((a: Obj) => a.state === 'firing');
      const names = [...new Set(alerts.map((a) => a.labels.alertname))].sort();
      return JSON.stringify(names) === JSON.stringify(expected) ? alerts : undefined;
    },
    'all seven alerts to fire',
    60_000,
    500,
  );

  const { config, slackReceivers } = renderAlertmanager();
  writeFileSync(join(work, 'alertmanager.yml'), stringify(config));
  expect(spawnSync('amtool', ['check-config', join(work, 'alertmanager.yml')]).status).toBe(0);
  expect(slackReceivers).toEqual([`${ns}/ai-eval-platform-slack/slack`]);
  const routed = firing.map((a) => ({ alert: a.labels.alertname as string, receiver: routeOf(a.labels) }));
  expect(routed.filter((r) => r.receiver !== slackReceivers[0])).toEqual([]);
  expect(routed.length).toBeGreaterThanOrEqual(7);
  // The check is real: without the namespace label the same alert falls to the root's `null` receiver.
  const { namespace: _dropped, ...withoutNamespace } = firing[0].labels as Record<string, string>;
  expect(routeOf(withoutNamespace)).toBe('null');
}, 120_000);
