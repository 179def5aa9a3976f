import { Construct } from 'constructs';
import * as k8s from 'cdk8s-plus-28/lib/imports/k8s';
import {
  AlertmanagerConfig,
  AlertmanagerConfigSpecRouteMatchersMatchType,
  PrometheusRule,
  ServiceMonitor,
} from '../imports/monitoring.coreos.com';
import { componentLabels, selectorLabels } from './labels';
import { PLATFORM_METRICS as M } from './platform-metrics';

export interface PlatformAlerting {
  /** Slack channel the alerts go to, e.g. `#eval-platform-alerts`. */
  readonly slackChannel: string;
  /** Waiting jobs above which Queue Lag fires (brief §5.1). */
  readonly queueLagThreshold: number;
  /** Age in minutes of the oldest waiting job that pages Slack (brief §6.4). */
  readonly oldestJobMinutes: number;
  /** LLM spend over 24 hours, in USD, above which an alert fires. */
  readonly dailyLlmBudgetUsd: number;
  /**
   * The window an online evaluator's mean score is taken over before it is compared with the evaluator's
   * threshold (a PromQL duration).
   * @default '30m'
   */
  readonly onlineQualityWindow?: string;
  /**
   * Scores an evaluator's metric needs in the window before its mean can fire the alert.
   * @default 10
   */
  readonly onlineQualityMinScores?: number;
}

export interface PlatformMonitoringProps {
  /** Namespace of the ServiceMonitors, PrometheusRule and AlertmanagerConfig. */
  readonly namespace: string;
  /** Environment name, a label on every alert. */
  readonly environment: string;
  /** Component names of the orchestrator's Service and the worker pods. */
  readonly orchestratorName: string;
  /** Name (`app.kubernetes.io/name`) of the worker Deployment to scrape. */
  readonly workerName: string;
  /** The port name of both containers' metrics endpoint. */
  readonly metricsPortName: string;
  /** Container port serving `/metrics`. */
  readonly metricsPort: number;
  /** `release` label that kube-prometheus-stack selects ServiceMonitors and PrometheusRules by. */
  readonly prometheusRelease: string;
  /** Slack channel, queue-lag threshold, oldest-job age and daily LLM budget of the alerts. */
  readonly alerting: PlatformAlerting;
  /** The Kubernetes Secret (and key) holding the Slack webhook URL, synced by External Secrets. */
  readonly slackWebhookSecret: { readonly name: string; readonly key: string };
  /**
   * How often Prometheus scrapes the services.
   * @default '30s'
   */
  readonly scrapeInterval?: string;
}

/** One alert of the platform's rule group, as Prometheus evaluates it. */
export interface PlatformAlert {
  readonly alert: string;
  readonly expr: string;
  readonly for: string;
  readonly severity: 'warning' | 'critical';
  readonly summary: string;
}

/** The platform's alert rules; exported so that tests run them through promtool. */
export function platformAlerts(alerting: PlatformAlerting, namespace: string, orchestratorName: string): PlatformAlert[] {
  const ns = `namespace="${namespace}"`;
  return [
    {
      alert: 'EvalOrchestratorDown',
      expr: `sum(up{${ns}, service="${orchestratorName}"}) == 0 or absent(up{${ns}, service="${orchestratorName}"})`,
      for: '2m',
      severity: 'critical',
      summary: 'No orchestrator replica is answering /metrics: evaluation jobs cannot be submitted.',
    },
    {
      alert: 'EvalQueueLag',
      expr: `max(${M.queueJobs}{${ns}, state="waiting"}) > ${alerting.queueLagThreshold}`,
      for: '5m',
      severity: 'warning',
      summary: `More than ${alerting.queueLagThreshold} evaluation jobs are waiting (brief §5.1).`,
    },
    {
      alert: 'EvalOldestJobWaiting',
      expr: `max(${M.queueOldestWaiting}{${ns}}) > ${alerting.oldestJobMinutes * 60}`,
      for: '1m',
      severity: 'critical',
      summary: `A job has waited more than ${alerting.oldestJobMinutes} minutes: workers are not keeping up (brief §6.4).`,
    },
    {
      alert: 'EvalWorkerErrorRate',
      expr:
        `sum(rate(${M.jobs}{${ns}, outcome="failed"}[10m])) / clamp_min(sum(rate(${M.jobs}{${ns}}[10m])), 1e-9) > 0.05` +
        ` and sum(rate(${M.jobs}{${ns}}[10m])) > 0`,
      for: '10m',
      severity: 'warning',
      summary: 'More than 5% of evaluation jobs fail after their retries.',
    },
    {
      alert: 'EvalLlmRateLimited',
      expr: `sum by (provider, model) (rate(${M.llmRateLimited}{${ns}}[5m])) > 1`,
      for: '10m',
      severity: 'warning',
      summary: 'An LLM provider answers 429/529 more than once a second: lower the suite limits or raise the quota.',
    },
    {
      alert: 'EvalDailyLlmSpend',
      expr: `sum(increase(${M.llmCost}{${ns}}[24h])) > ${alerting.dailyLlmBudgetUsd}`,
      for: '15m',
      severity: 'warning',
      summary: `LLM spend over the last 24 hours is above the $${alerting.dailyLlmBudgetUsd} budget.`,
    },
    onlineQualityAlert(alerting, ns),
  ];
}

/**
 * An online evaluator's metric whose mean over the window is on the wrong side of the evaluator's own threshold
 * (below it when higher is better, above it when lower is): production quality has drifted. The workers export
 * the scores, the orchestrator the thresholds; both carry the project, evaluator and metric.
 */
function onlineQualityAlert(alerting: PlatformAlerting, ns: string): PlatformAlert {
  const window = alerting.onlineQualityWindow ?? '30m';
  const minScores = alerting.onlineQualityMinScores ?? 10;
  const by = 'project, evaluator, metric';
  const mean = `(sum by (${by}) (rate(${M.onlineScore}_sum{${ns}}[${window}])) / sum by (${by}) (rate(${M.onlineScore}_count{${ns}}[${window}])))`;
  const enough = `sum by (${by}) (increase(${M.onlineScore}_count{${ns}}[${window}])) >= ${minScores}`;
  const threshold = (direction: string, agg: string) => `${agg} by (${by}) (${M.onlineThreshold}{${ns}, direction="${direction}"})`;
  return {
    alert: 'EvalOnlineQualityDrop',
    expr:
      `((${mean} < on (${by}) group_left ${threshold('higher_is_better', 'max')}) or (${mean} > on (${by}) group_left ${threshold('lower_is_better', 'min')}))` +
      ` and on (${by}) (${enough})`,
    for: '15m',
    severity: 'warning',
    summary: `Online evaluator {{ $labels.evaluator }} of project {{ $labels.project }}: the mean {{ $labels.metric }} of production spans over ${window} is past its threshold.`,
  };
}

/**
 * Monitoring for kube-prometheus-stack: ServiceMonitors for the orchestrator and the workers (through a
 * headless Service over the worker pods, which serve /metrics too), the platform's PrometheusRule, and an
 * AlertmanagerConfig that sends the alerts to Slack with the webhook URL from a synced Secret.
 */
export class PlatformMonitoring extends Construct {
  readonly scrapeInterval: string;
  readonly alerts: PlatformAlert[];

  constructor(scope: Construct, id: string, props: PlatformMonitoringProps) {
    super(scope, id);
    this.scrapeInterval = props.scrapeInterval ?? '30s';
    const labels = { ...componentLabels('monitoring'), release: props.prometheusRelease };
    const workerMetrics = `${props.workerName}-metrics`;
    new k8s.KubeService(this, 'worker-metrics', {
      metadata: { name: workerMetrics, namespace: props.namespace, labels: componentLabels(workerMetrics) },
      spec: {
        clusterIp: 'None',
        selector: selectorLabels(props.workerName),
        ports: [{ name: props.metricsPortName, port: props.metricsPort, targetPort: k8s.IntOrString.fromString(props.metricsPortName), protocol: 'TCP' }],
      },
    });
    const monitor = (monitorId: string, component: string) =>
      new ServiceMonitor(this, monitorId, {
        metadata: { name: component, namespace: props.namespace, labels },
        spec: {
          selector: { matchLabels: selectorLabels(component) },
          endpoints: [{ port: props.metricsPortName, path: '/metrics', interval: this.scrapeInterval }],
        },
      });
    monitor('orchestrator-monitor', props.orchestratorName);
    monitor('worker-monitor', workerMetrics);

    this.alerts = platformAlerts(props.alerting, props.namespace, props.orchestratorName);
    new PrometheusRule(this, 'rules', {
      metadata: { name: 'ai-eval-platform', namespace: props.namespace, labels },
      spec: {
        groups: [
          {
            name: 'ai-eval-platform',
            rules: this.alerts.map((a) => ({
              alert: a.alert,
              expr: a.expr,
              for: a.for,
              // `namespace` is set on the rule, not left to the expression: the operator routes an
              // AlertmanagerConfig's alerts by namespace (OnNamespace), and sum/max aggregate the label away.
              labels: { severity: a.severity, team: 'ai-eval-platform', environment: props.environment, namespace: props.namespace },
              annotations: { summary: a.summary },
            })),
          },
        ],
      },
    });

    new AlertmanagerConfig(this, 'alertmanager', {
      metadata: { name: 'ai-eval-platform-slack', namespace: props.namespace, labels },
      spec: {
        route: {
          receiver: 'slack',
          groupBy: ['alertname'],
          groupWait: '30s',
          groupInterval: '5m',
          repeatInterval: '4h',
          matchers: [{ name: 'team', value: 'ai-eval-platform', matchType: AlertmanagerConfigSpecRouteMatchersMatchType.VALUE_EQUALS }],
        },
        receivers: [
          {
            name: 'slack',
            slackConfigs: [
              {
                apiUrl: { name: props.slackWebhookSecret.name, key: props.slackWebhookSecret.key },
                channel: props.alerting.slackChannel,
                sendResolved: true,
                title: `[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }} (${props.environment})`,
                text: '{{ range .Alerts }}{{ .Annotations.summary }}\n{{ end }}',
              },
            ],
          },
        ],
      },
    });
  }
}
