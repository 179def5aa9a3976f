import { Construct } from 'constructs';
import * as k8s from 'cdk8s-plus-28/lib/imports/k8s';
import { componentLabels } from './labels';
import { PLATFORM_METRICS as M } from './platform-metrics';

// The SDK publishes each panel kind as a subpath export, which this package's module resolution cannot
// type; the modules are required and typed from the files behind them.
/* eslint-disable @typescript-eslint/no-require-imports */
const dashboard = require('@grafana/grafana-foundation-sdk/dashboard') as typeof import('@grafana/grafana-foundation-sdk/dist/dashboard');
const prometheus = require('@grafana/grafana-foundation-sdk/prometheus') as typeof import('@grafana/grafana-foundation-sdk/dist/prometheus');
const timeseries = require('@grafana/grafana-foundation-sdk/timeseries') as typeof import('@grafana/grafana-foundation-sdk/dist/timeseries');
const stat = require('@grafana/grafana-foundation-sdk/stat') as typeof import('@grafana/grafana-foundation-sdk/dist/stat');
const table = require('@grafana/grafana-foundation-sdk/table') as typeof import('@grafana/grafana-foundation-sdk/dist/table');
const common = require('@grafana/grafana-foundation-sdk/common') as typeof import('@grafana/grafana-foundation-sdk/dist/common');
/* eslint-enable @typescript-eslint/no-require-imports */

type DataqueryBuilder = import('@grafana/grafana-foundation-sdk/dist/cog').Builder<import('@grafana/grafana-foundation-sdk/dist/cog').Dataquery>;

export interface PlatformDashboardsProps {
  /** Namespace of the dashboard ConfigMaps (Grafana's sidecar finds them by label). */
  readonly namespace: string;
  /** Environment name, in the dashboards' titles, tags and UIDs. */
  readonly environment: string;
  /** UIDs of the Grafana data sources: Prometheus for live operations, ClickHouse for run history. */
  readonly prometheusDatasourceUid: string;
  /** UID of the Grafana ClickHouse data source the run-history panels query. */
  readonly clickhouseDatasourceUid: string;
  /** ClickHouse database of the `results` table. */
  readonly clickhouseDatabase: string;
  /**
   * Label the Grafana sidecar loads dashboards by.
   * @default { grafana_dashboard: '1' }
   */
  readonly sidecarLabel?: Record<string, string>;
}

/** A SQL query for the ClickHouse data source (grafana-clickhouse-datasource), as a dashboard target. */
class ClickhouseQuery implements DataqueryBuilder {
  constructor(
    private readonly refId: string,
    private readonly uid: string,
    private readonly sql: string,
    private readonly format: 'table' | 'time_series',
  ) {}

  build() {
    return {
      refId: this.refId,
      datasource: { type: 'grafana-clickhouse-datasource', uid: this.uid },
      editorType: 'sql',
      queryType: this.format === 'table' ? 'table' : 'timeseries',
      format: this.format === 'table' ? 1 : 0,
      rawSql: this.sql,
      _implementsDataqueryVariant() {},
    } as unknown as ReturnType<DataqueryBuilder['build']>;
  }
}

/** A dashboard's panels with their queries, kept for the README and the tests (every PromQL is parsed). */
export interface DashboardSpec {
  readonly uid: string;
  readonly title: string;
  readonly model: Record<string, unknown>;
  readonly promql: readonly string[];
  readonly sql: readonly string[];
}

/**
 * The brief's three dashboards as code (@grafana/grafana-foundation-sdk), one ConfigMap each for the Grafana
 * sidecar. Live operations read Prometheus; run history (quality by build, regressions, topics) reads the
 * ClickHouse `results` table, where it lives, through the ClickHouse data source.
 */
export function platformDashboards(props: Omit<PlatformDashboardsProps, 'sidecarLabel'>): DashboardSpec[] {
  const ns = `namespace="${props.namespace}"`;
  const promDs = { type: 'prometheus', uid: props.prometheusDatasourceUid };
  const db = props.clickhouseDatabase;
  const promql: Record<string, string[]> = {};
  const sql: Record<string, string[]> = {};
  const prom = (uid: string, expr: string, legend: string, refId = 'A') => {
    (promql[uid] ??= []).push(expr);
    return new prometheus.DataqueryBuilder().expr(expr).legendFormat(legend).refId(refId).datasource(promDs);
  };
  const ch = (uid: string, query: string, format: 'table' | 'time_series', refId = 'A') => {
    (sql[uid] ??= []).push(query);
    return new ClickhouseQuery(refId, props.clickhouseDatasourceUid, query, format);
  };
  const last24h = new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false);
  const base = (uid: string, title: string) =>
    new dashboard.DashboardBuilder(`${title} (${props.environment})`)
      .uid(uid)
      .tags(['ai-eval-platform', props.environment])
      .refresh('1m')
      .time({ from: 'now-24h', to: 'now' })
      .timezone('browser')
      .readonly();

  const healthUid = `ai-eval-health-${props.environment}`;
  const health = base(healthUid, 'Platform Health')
    .withPanel(
      new stat.PanelBuilder()
        .title('Orchestrator uptime (24 h)')
        .unit('percent')
        .reduceOptions(last24h)
        .withTarget(prom(healthUid, `100 * avg_over_time((sum(up{${ns}, service="orchestrator"}) > bool 0)[1d:1m])`, 'uptime'))
        .span(6)
        .height(6),
    )
    .withPanel(
      new stat.PanelBuilder()
        .title('Oldest waiting job')
        .unit('s')
        .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
        .withTarget(prom(healthUid, `max(${M.queueOldestWaiting}{${ns}})`, 'age'))
        .span(6)
        .height(6),
    )
    .withPanel(
      new timeseries.PanelBuilder()
        .title('Queue lag (jobs by state)')
        .withTarget(prom(healthUid, `max by (state) (${M.queueJobs}{${ns}})`, '{{state}}'))
        .span(12)
        .height(8),
    )
    .withPanel(
      new timeseries.PanelBuilder()
        .title('Worker error rate')
        .unit('percentunit')
        .withTarget(
          prom(healthUid, `sum(rate(${M.jobs}{${ns}, outcome="failed"}[5m])) / clamp_min(sum(rate(${M.jobs}{${ns}}[5m])), 1e-9)`, 'failed / all jobs'),
        )
        .span(12)
        .height(8),
    );

  const costUid = `ai-eval-llm-${props.environment}`;
  const cost = base(costUid, 'LLM Cost & Performance')
    .time({ from: 'now-7d', to: 'now' })
    .withPanel(
      new timeseries.PanelBuilder()
        .title('Tokens per day by model')
        .unit('short')
        .withTarget(prom(costUid, `sum by (model, type) (increase(${M.llmTokens}{${ns}}[1d]))`, '{{model}} {{type}}'))
        .span(12)
        .height(8),
    )
    .withPanel(
      new stat.PanelBuilder()
        .title('Average LLM cost per run (24 h)')
        .unit('currencyUSD')
        .reduceOptions(last24h)
        .withTarget(
          prom(costUid, `sum(increase(${M.llmCost}{${ns}}[1d])) / clamp_min(sum(increase(${M.runs}{${ns}}[1d])), 1)`, 'USD per run'),
        )
        .span(6)
        .height(6),
    )
    .withPanel(
      new stat.PanelBuilder()
        .title('LLM spend (24 h)')
        .unit('currencyUSD')
        .reduceOptions(last24h)
        .withTarget(prom(costUid, `sum(increase(${M.llmCost}{${ns}}[1d]))`, 'USD'))
        .span(6)
        .height(6),
    )
    .withPanel(
      new timeseries.PanelBuilder()
        .title('LLM latency P95 by provider')
        .unit('s')
        .withTarget(
          prom(costUid, `histogram_quantile(0.95, sum by (le, provider) (rate(${M.llmLatency}_bucket{${ns}}[5m])))`, '{{provider}}'),
        )
        .span(12)
        .height(8),
    );

  const qualityUid = `ai-eval-quality-${props.environment}`;
  const quality = base(qualityUid, 'AI Quality Trends')
    .time({ from: 'now-30d', to: 'now' })
    .withPanel(
      new timeseries.PanelBuilder()
        .title('Mean score by build, per metric (main)')
        .unit('percentunit')
        .withTarget(
          ch(
            qualityUid,
            `SELECT min(run_created_at) AS time, metric, avg(score) AS mean FROM ${db}.results FINAL ` +
              `WHERE branch = 'main' AND score IS NOT NULL AND metric != '_case' AND $__timeFilter(run_created_at) ` +
              `GROUP BY run_id, metric ORDER BY time`,
            'time_series',
          ),
        )
        .span(24)
        .height(9),
    )
    .withPanel(
      new table.PanelBuilder()
        .title('Regression tracker: the last two runs on main, per metric')
        .withTarget(
          ch(
            qualityUid,
            `WITH runs AS (SELECT run_id, min(run_created_at) AS started FROM ${db}.results FINAL WHERE branch = 'main' GROUP BY run_id ORDER BY started DESC LIMIT 2) ` +
              `SELECT metric, avgIf(score, run_id = (SELECT run_id FROM runs ORDER BY started DESC LIMIT 1)) AS latest, ` +
              `avgIf(score, run_id = (SELECT run_id FROM runs ORDER BY started ASC LIMIT 1)) AS previous, latest - previous AS change ` +
              `FROM ${db}.results FINAL WHERE run_id IN (SELECT run_id FROM runs) AND metric != '_case' GROUP BY metric ORDER BY change`,
            'table',
          ),
        )
        .span(12)
        .height(9),
    )
    .withPanel(
      new table.PanelBuilder()
        .title('Fail rate by topic (last run on main)')
        .withTarget(
          ch(
            qualityUid,
            `SELECT if(topic != '', topic, if(length(tags) > 0, concat('tag:', tags[1]), '(no topic or tag)')) AS label, ` +
              `count() AS cases, countIf(case_passed = 0) AS failed, round(failed / cases, 4) AS fail_rate FROM (` +
              `SELECT case_index, any(topic) AS topic, any(tags) AS tags, min(passed) AS case_passed FROM ${db}.results FINAL ` +
              `WHERE run_id = (SELECT run_id FROM ${db}.results FINAL WHERE branch = 'main' GROUP BY run_id ORDER BY min(run_created_at) DESC LIMIT 1) ` +
              `GROUP BY case_index) GROUP BY label ORDER BY fail_rate DESC`,
            'table',
          ),
        )
        .span(12)
        .height(9),
    )
    .withPanel(
      new table.PanelBuilder()
        .title('Judge agreement with human reviews (per project and metric; κ: Cohen’s kappa)')
        .withTarget(prom(qualityUid, `max by (project, metric) (${M.judgeAgreement}{${ns}})`, 'agreement {{project}} {{metric}}', 'A'))
        .withTarget(prom(qualityUid, `max by (project, metric) (${M.judgeKappa}{${ns}})`, 'kappa {{project}} {{metric}}', 'B'))
        .withTarget(prom(qualityUid, `max by (project, metric) (${M.judgeReviews}{${ns}})`, 'reviews {{project}} {{metric}}', 'C'))
        .span(24)
        .height(8),
    )
    .withPanel(
      new timeseries.PanelBuilder()
        .title('Online scores of production spans, per evaluator, metric and model (hourly mean)')
        .withTarget(
          ch(
            qualityUid,
            `SELECT toStartOfHour(scored_at) AS time, concat(project, ' / ', evaluator, ' / ', metric, ' / ', if(model != '', model, '(no model)')) AS series, avg(score) AS mean ` +
              `FROM ${db}.span_scores WHERE score IS NOT NULL AND $__timeFilter(scored_at) GROUP BY time, series ORDER BY time`,
            'time_series',
          ),
        )
        .span(12)
        .height(9),
    )
    .withPanel(
      new timeseries.PanelBuilder()
        .title('Online mean over 30 minutes against the evaluator\'s threshold (what EvalOnlineQualityDrop compares)')
        .withTarget(
          prom(
            qualityUid,
            `sum by (project, evaluator, metric) (rate(${M.onlineScore}_sum{${ns}}[30m])) / sum by (project, evaluator, metric) (rate(${M.onlineScore}_count{${ns}}[30m]))`,
            'mean {{project}} {{evaluator}} {{metric}}',
            'A',
          ),
        )
        .withTarget(prom(qualityUid, `max by (project, evaluator, metric) (${M.onlineThreshold}{${ns}})`, 'threshold {{project}} {{evaluator}} {{metric}}', 'B'))
        .span(12)
        .height(9),
    );

  const spec = (uid: string, builder: InstanceType<typeof dashboard.DashboardBuilder>): DashboardSpec => {
    const model = JSON.parse(JSON.stringify(builder.build())) as Record<string, unknown>;
    return { uid, title: String(model.title), model, promql: promql[uid] ?? [], sql: sql[uid] ?? [] };
  };
  return [spec(healthUid, health), spec(costUid, cost), spec(qualityUid, quality)];
}

/** One ConfigMap per dashboard, labelled for the Grafana sidecar. */
export class PlatformDashboards extends Construct {
  readonly dashboards: DashboardSpec[];

  constructor(scope: Construct, id: string, props: PlatformDashboardsProps) {
    super(scope, id);
    this.dashboards = platformDashboards(props);
    for (const d of this.dashboards) {
      new k8s.KubeConfigMap(this, d.uid, {
        metadata: {
          name: d.uid,
          namespace: props.namespace,
          labels: { ...componentLabels('dashboards'), ...(props.sidecarLabel ?? { grafana_dashboard: '1' }) },
          annotations: { grafana_folder: 'AI Eval Platform' },
        },
        data: { [`${d.uid}.json`]: JSON.stringify(d.model) },
      });
    }
  }
}
