import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { Testing } from 'cdk8s';
import { PLATFORM_METRICS, PlatformChart } from '@ai-eval-platform/constructs/k8s';
import { METRIC_NAMES } from '../../src/telemetry/metrics';
import { environment } from '../support/environments';

type Obj = Record<string, any>; // manifests are untyped JSON

const env = environment('prod');
const objects: Obj[] = Testing.synth(new PlatformChart(Testing.app(), 'platform', { env }));
const one = (kind: string, name?: string) => objects.find((o) => o.kind === kind && (!name || o.metadata.name === name))!;
const work = mkdtempSync(join(tmpdir(), 'monitoring-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function run(command: string, args: string[]): { status: number | null; output: string } {
  const result = spawnSync(command, args, { cwd: work, encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

test('the alert rules read only metric names the services export', () => {
  const exported = new Set<string>(Object.values(METRIC_NAMES));
  for (const name of Object.values(PLATFORM_METRICS)) expect(exported).toContain(name);
});

test('ServiceMonitors for the orchestrator and the workers, selected by kube-prometheus-stack', () => {
  const monitors = objects.filter((o) => o.kind === 'ServiceMonitor');
  expect(monitors.map((m) => m.metadata.name).sort()).toEqual(['orchestrator', 'worker-metrics']);
  for (const monitor of monitors) {
    expect(monitor.metadata.labels.release).toBe(env.kubernetes.prometheusRelease);
    expect(monitor.spec.endpoints).toEqual([{ port: 'http', path: '/metrics', interval: '30s' }]);
    // Each selects a Service that exists, on the port the monitor names.
    const service = objects.find((o) => o.kind === 'Service' && Object.entries(monitor.spec.selector.matchLabels).every(([k, v]) => o.metadata.labels?.[k] === v));
    expect(service?.spec.ports.map((p: Obj) => p.name)).toContain('http');
  }
  const workerService = one('Service', 'worker-metrics');
  const workerPods = one('Deployment', 'worker').spec.template.metadata.labels;
  for (const [key, value] of Object.entries(workerService.spec.selector)) expect(workerPods[key]).toBe(value);
  // Prometheus may reach the metrics port through the default-deny network policies.
  const policy = one('NetworkPolicy', 'metrics-from-prometheus');
  expect(policy.spec.ingress[0].from[0].namespaceSelector.matchLabels).toEqual({ 'kubernetes.io/metadata.name': env.kubernetes.monitoringNamespace });
});

test('promtool accepts the rules and their unit tests pass: queue lag, job age, error rate', () => {
  const rule = one('PrometheusRule');
  writeFileSync(join(work, 'rules.yml'), stringify({ groups: rule.spec.groups }));
  const check = run('promtool', ['check', 'rules', 'rules.yml']);
  expect(check.output).toContain('SUCCESS: 7 rules found');
  expect(check.status).toBe(0);

  const ns = env.kubernetes.namespace;
  // Every alert carries the namespace its AlertmanagerConfig route matches on (test/platform/alert-routing.integration.test.ts).
  const labels = { severity: 'warning', team: 'ai-eval-platform', environment: 'prod', namespace: ns };
  writeFileSync(
    join(work, 'tests.yml'),
    stringify({
      rule_files: ['rules.yml'],
      evaluation_interval: '1m',
      tests: [
        {
          interval: '1m',
          input_series: [
            // 500 waiting jobs for 5 minutes, then 1,500 for 10.
            { series: `eval_queue_jobs{namespace="${ns}",state="waiting"}`, values: '500x5 1500x10' },
            // The oldest job ages a minute a minute from 0.
            { series: `eval_queue_oldest_waiting_seconds{namespace="${ns}"}`, values: '0+60x15' },
            // 100 jobs a minute, 10 of them failing from minute 0.
            { series: `eval_jobs_total{namespace="${ns}",outcome="completed",reason="passed"}`, values: '0+90x30' },
            { series: `eval_jobs_total{namespace="${ns}",outcome="failed",reason="retries_exhausted"}`, values: '0+10x30' },
            { series: `up{namespace="${ns}",service="orchestrator"}`, values: '1x30' },
          ],
          alert_rule_test: [
            { eval_time: '8m', alertname: 'EvalQueueLag', exp_alerts: [] },
            { eval_time: '12m', alertname: 'EvalQueueLag', exp_alerts: [{ exp_labels: labels, exp_annotations: { summary: 'More than 1000 evaluation jobs are waiting (brief §5.1).' } }] },
            { eval_time: '5m', alertname: 'EvalOldestJobWaiting', exp_alerts: [] },
            {
              eval_time: '7m',
              alertname: 'EvalOldestJobWaiting',
              exp_alerts: [{ exp_labels: { ...labels, severity: 'critical' }, exp_annotations: { summary: 'A job has waited more than 5 minutes: workers are not keeping up (brief §6.4).' } }],
            },
            // 10% failing: pending during its first 10 minutes, firing after.
            { eval_time: '5m', alertname: 'EvalWorkerErrorRate', exp_alerts: [] },
            { eval_time: '15m', alertname: 'EvalWorkerErrorRate', exp_alerts: [{ exp_labels: labels, exp_annotations: { summary: 'More than 5% of evaluation jobs fail after their retries.' } }] },
            { eval_time: '20m', alertname: 'EvalOrchestratorDown', exp_alerts: [] },
          ],
        },
      ],
    }),
  );
  const unit = run('promtool', ['test', 'rules', 'tests.yml']);
  expect(unit.output).toContain('SUCCESS');
  expect(unit.status).toBe(0);
});

test('amtool accepts the Alertmanager configuration the operator builds from the AlertmanagerConfig', () => {
  const config = one('AlertmanagerConfig').spec;
  const [slack] = config.receivers[0].slackConfigs;
  expect(slack).toMatchObject({ apiURL: { name: 'alertmanager-slack', key: 'url' }, channel: env.alerting.slackChannel, sendResolved: true });
  // As the operator renders it: a child of the root route, matched to the rule's namespace as well, and the
  // Secret mounted as a file.
  const rendered = {
    route: {
      receiver: 'default',
      routes: [
        {
          receiver: config.route.receiver,
          group_by: config.route.groupBy,
          group_wait: config.route.groupWait,
          group_interval: config.route.groupInterval,
          repeat_interval: config.route.repeatInterval,
          matchers: [`namespace="${env.kubernetes.namespace}"`, ...config.route.matchers.map((m: Obj) => `${m.name}${m.matchType}"${m.value}"`)],
        },
      ],
    },
    receivers: [{ name: 'default' }, ...config.receivers.map((r: Obj) => ({
      name: r.name,
      slack_configs: r.slackConfigs.map((s: Obj) => ({
        api_url_file: `/etc/alertmanager/secrets/${s.apiURL.name}/${s.apiURL.key}`,
        channel: s.channel,
        send_resolved: s.sendResolved,
        title: s.title,
        text: s.text,
      })),
    }))],
  };
  writeFileSync(join(work, 'alertmanager.yml'), stringify(rendered));
  const check = run('amtool', ['check-config', 'alertmanager.yml']);
  expect(check.output).toMatch(/SUCCESS/);
  expect(check.status).toBe(0);
  // A broken route is refused: the check is real.
  writeFileSync(join(work, 'broken.yml'), stringify({ ...rendered, route: { ...rendered.route, routes: [{ ...rendered.route.routes[0], receiver: 'nobody' }] } }));
  expect(run('amtool', ['check-config', 'broken.yml']).status).not.toBe(0);
});
