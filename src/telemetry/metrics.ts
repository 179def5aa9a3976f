import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { LlmCallEvent } from '../providers/llm-gateway';
import type { QueueStats } from '../queue/types';

/**
 * Every Prometheus metric the services expose, by name: the dashboards and alert rules import these names
 * rather than repeating strings. Labels stay low-cardinality: never a run, case or project id.
 */
export const METRIC_NAMES = {
  buildInfo: 'eval_build_info',
  uptime: 'eval_process_uptime_seconds',
  queueJobs: 'eval_queue_jobs',
  queueOldestWaiting: 'eval_queue_oldest_waiting_seconds',
  jobs: 'eval_jobs_total',
  llmTokens: 'eval_llm_tokens_total',
  llmCost: 'eval_llm_cost_usd_total',
  llmLatency: 'eval_llm_request_duration_seconds',
  llmRetries: 'eval_llm_retries_total',
  llmRateLimited: 'eval_llm_rate_limited_total',
  llmLimiterWait: 'eval_llm_rate_limit_wait_seconds_total',
  scores: 'eval_score',
  runs: 'eval_runs_finished_total',
  clickhouseRows: 'eval_clickhouse_rows_written_total',
  clickhouseRetries: 'eval_clickhouse_insert_retries_total',
  httpRequests: 'eval_http_requests_total',
  judgeAgreement: 'eval_judge_agreement_ratio',
  judgeKappa: 'eval_judge_cohen_kappa',
  judgeReviews: 'eval_judge_reviews',
  spansReceived: 'eval_spans_received_total',
  onlineScore: 'eval_online_score',
  onlineThreshold: 'eval_online_threshold',
  onlineCases: 'eval_online_cases_total',
} as const;

/** One judged metric of one project, as people reviewed it (the viewer's agreement figures). */
export interface JudgeAgreementSample {
  project: string;
  metric: string;
  reviews: number;
  agreement_rate: number;
  kappa: number | null;
}

/**
 * The judge agreement series are labelled by project and metric id, the one exception to the rule above: the
 * figure means nothing across projects. Metric ids come from tenants' suites, so the series are capped: the
 * most reviewed first, at most this many.
 */
export const MAX_AGREEMENT_SERIES = 500;

/**
 * Model names come from tenants' suites: a process labels series with the first this many it sees, and every
 * later one as `other`, so no suite can grow /metrics without bound (each model adds about 40 series).
 */
export const MAX_MODEL_LABELS = 50;

/** The label a model's series carry: its name while fewer than MAX_MODEL_LABELS are known, else `other`. */
class ModelLabels {
  private readonly known = new Set<string>();

  of(provider: string, model: string): string {
    const key = `${provider}/${model}`;
    if (this.known.has(key)) return model;
    if (this.known.size >= MAX_MODEL_LABELS || model.length > 100) return 'other';
    this.known.add(key);
    return model;
  }
}

/**
 * Online scores are labelled by project and evaluator (a tenant's name), the second exception: an alert on a
 * project's quality means nothing across projects. A process labels the first this many evaluators it sees,
 * every later one as `other`.
 */
export const MAX_ONLINE_EVALUATOR_LABELS = 100;

/** One online evaluator's metric as its alert reads it: the threshold and which way is better. */
export interface OnlineThresholdSample {
  project: string;
  evaluator: string;
  metric: string;
  threshold: number;
  higherIsBetter: boolean;
}

export type ServiceRole = 'orchestrator' | 'worker' | 'dev';

/** One registry per process, with the metrics of its role and Node's defaults. */
export class PlatformMetrics {
  readonly registry = new Registry();
  readonly jobs: Counter<'outcome' | 'reason'>;
  readonly llmTokens: Counter<'provider' | 'model' | 'kind' | 'type'>;
  readonly llmCost: Counter<'provider' | 'model' | 'kind'>;
  readonly llmLatency: Histogram<'provider' | 'model'>;
  readonly llmRetries: Counter<'provider' | 'model' | 'status'>;
  readonly llmRateLimited: Counter<'provider' | 'model'>;
  readonly llmLimiterWait: Counter<'provider' | 'model'>;
  readonly scores: Histogram<'metric'>;
  readonly runs: Counter<'status'>;
  readonly clickhouseRows: Counter<'table'>;
  readonly clickhouseRetries: Counter<'table'>;
  readonly httpRequests: Counter<'route' | 'status'>;
  readonly spansReceived: Counter<'outcome'>;
  readonly onlineCases: Counter<'outcome'>;
  private readonly onlineScore: Histogram<'project' | 'evaluator' | 'metric' | 'model'>;
  private readonly modelLabels = new ModelLabels();
  private readonly onlineEvaluators = new Set<string>();

  constructor(role: ServiceRole, version: string, queueStats?: () => Promise<QueueStats>) {
    const registry = this.registry;
    registry.setDefaultLabels({ service: role });
    collectDefaultMetrics({ register: registry });
    new Gauge({ name: METRIC_NAMES.buildInfo, help: 'Build information; always 1.', labelNames: ['version'], registers: [registry] }).set({ version }, 1);
    const started = Date.now();
    new Gauge({
      name: METRIC_NAMES.uptime,
      help: 'Seconds since the process started.',
      registers: [registry],
      collect() {
        this.set((Date.now() - started) / 1000);
      },
    });
    if (queueStats) {
      // Read from Redis at scrape time, so every orchestrator replica reports the same truth.
      let pending: Promise<QueueStats> | undefined;
      const refresh = () => (pending ??= queueStats().finally(() => (pending = undefined)));
      new Gauge({
        name: METRIC_NAMES.queueJobs,
        help: 'Jobs in the case queue by state.',
        labelNames: ['state'],
        registers: [registry],
        async collect() {
          const stats = await refresh().catch(() => undefined);
          if (!stats) return;
          for (const state of ['waiting', 'active', 'failed', 'delayed'] as const) this.set({ state }, stats[state]);
        },
      });
      new Gauge({
        name: METRIC_NAMES.queueOldestWaiting,
        help: 'Age of the oldest waiting job in seconds (0 when none waits).',
        registers: [registry],
        async collect() {
          const stats = await refresh().catch(() => undefined);
          if (stats) this.set(stats.oldestWaitingSeconds ?? 0);
        },
      });
    }
    this.jobs = new Counter({ name: METRIC_NAMES.jobs, help: 'Case jobs finished, by outcome and reason.', labelNames: ['outcome', 'reason'], registers: [registry] });
    this.llmTokens = new Counter({ name: METRIC_NAMES.llmTokens, help: 'LLM tokens by provider, model, kind (target or judge) and type.', labelNames: ['provider', 'model', 'kind', 'type'], registers: [registry] });
    this.llmCost = new Counter({ name: METRIC_NAMES.llmCost, help: 'LLM cost in USD (calls with a known price).', labelNames: ['provider', 'model', 'kind'], registers: [registry] });
    this.llmLatency = new Histogram({
      name: METRIC_NAMES.llmLatency,
      help: 'LLM call latency, retries included, in seconds.',
      labelNames: ['provider', 'model'],
      buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120],
      registers: [registry],
    });
    this.llmRetries = new Counter({ name: METRIC_NAMES.llmRetries, help: 'LLM calls retried, by the final status.', labelNames: ['provider', 'model', 'status'], registers: [registry] });
    this.llmRateLimited = new Counter({ name: METRIC_NAMES.llmRateLimited, help: '429/529 answers from LLM providers.', labelNames: ['provider', 'model'], registers: [registry] });
    this.llmLimiterWait = new Counter({ name: METRIC_NAMES.llmLimiterWait, help: 'Seconds calls waited for the client-side rate limiter.', labelNames: ['provider', 'model'], registers: [registry] });
    this.scores = new Histogram({ name: METRIC_NAMES.scores, help: 'Evaluation scores by metric.', labelNames: ['metric'], buckets: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1], registers: [registry] });
    this.runs = new Counter({ name: METRIC_NAMES.runs, help: 'Runs finished, by status.', labelNames: ['status'], registers: [registry] });
    this.clickhouseRows = new Counter({ name: METRIC_NAMES.clickhouseRows, help: 'Rows written to ClickHouse.', labelNames: ['table'], registers: [registry] });
    this.clickhouseRetries = new Counter({ name: METRIC_NAMES.clickhouseRetries, help: 'Failed ClickHouse insert attempts (retried).', labelNames: ['table'], registers: [registry] });
    this.httpRequests = new Counter({ name: METRIC_NAMES.httpRequests, help: 'HTTP requests by route and status.', labelNames: ['route', 'status'], registers: [registry] });
    this.spansReceived = new Counter({
      name: METRIC_NAMES.spansReceived,
      help: 'Spans received over OTLP, by outcome: stored, or refused (rate, size, invalid, store_unavailable).',
      labelNames: ['outcome'],
      registers: [registry],
    });
    this.onlineCases = new Counter({
      name: METRIC_NAMES.onlineCases,
      help: "Spans and conversations online evaluators took, by outcome: queued, or left unscored (budget, window_full).",
      labelNames: ['outcome'],
      registers: [registry],
    });
    this.onlineScore = new Histogram({
      name: METRIC_NAMES.onlineScore,
      help: "Online evaluators' scores of production spans, by project, evaluator, metric and the span's model.",
      labelNames: ['project', 'evaluator', 'metric', 'model'],
      buckets: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1],
      registers: [registry],
    });
  }

  /** An online evaluator's score of a span: the series its quality alert reads. */
  recordOnlineScore(labels: { project: string; evaluator: string; metric: string; model: string }, score: number): void {
    const key = `${labels.project}/${labels.evaluator}`;
    let project = labels.project;
    let evaluator = labels.evaluator;
    if (!this.onlineEvaluators.has(key)) {
      if (this.onlineEvaluators.size >= MAX_ONLINE_EVALUATOR_LABELS) project = evaluator = 'other';
      else this.onlineEvaluators.add(key);
    }
    // The span's model, as the agent reported it: bounded like the LLM calls' (its own key in the same budget).
    const model = labels.model ? this.modelLabels.of('span', labels.model) : '';
    this.onlineScore.observe({ project, evaluator, metric: labels.metric, model }, score);
  }

  /**
   * Exports each online evaluator's thresholds (read from Postgres at scrape time, kept 15 s): the alert compares
   * the online mean against them, so a project's own threshold is what fires it.
   */
  exportOnlineThresholds(read: () => Promise<OnlineThresholdSample[]>): void {
    let cached: { at: number; samples: Promise<OnlineThresholdSample[]> } | undefined;
    const samples = () => {
      if (!cached || Date.now() - cached.at > 15_000) cached = { at: Date.now(), samples: read().catch(() => []) };
      return cached.samples;
    };
    new Gauge({
      name: METRIC_NAMES.onlineThreshold,
      help: "An online evaluator's threshold for a metric; `direction` says which side of it is good.",
      labelNames: ['project', 'evaluator', 'metric', 'direction'],
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const s of (await samples()).slice(0, MAX_ONLINE_EVALUATOR_LABELS * 10)) {
          this.set({ project: s.project, evaluator: s.evaluator, metric: s.metric, direction: s.higherIsBetter ? 'higher_is_better' : 'lower_is_better' }, s.threshold);
        }
      },
    });
  }

  /**
   * Exports the judges' agreement with human reviews, read (from Postgres, by the orchestrator) at scrape time
   * and kept for 15 s, so every replica reports the same figures without a query per scrape.
   */
  exportJudgeAgreement(read: () => Promise<JudgeAgreementSample[]>): void {
    let cached: { at: number; samples: Promise<JudgeAgreementSample[]> } | undefined;
    const samples = () => {
      if (!cached || Date.now() - cached.at > 15_000) cached = { at: Date.now(), samples: read().catch(() => []) };
      return cached.samples;
    };
    const labelNames = ['project', 'metric'] as const;
    const gauge = (name: string, help: string, value: (sample: JudgeAgreementSample) => number | null) =>
      new Gauge({
        name,
        help,
        labelNames,
        registers: [this.registry],
        async collect() {
          this.reset();
          for (const sample of (await samples()).slice(0, MAX_AGREEMENT_SERIES)) {
            const v = value(sample);
            if (v !== null) this.set({ project: sample.project, metric: sample.metric }, v);
          }
        },
      });
    gauge(METRIC_NAMES.judgeAgreement, 'Share of human reviews that agreed with an LLM-judged metric, per project and metric.', (s) => s.agreement_rate);
    gauge(METRIC_NAMES.judgeKappa, "Cohen's kappa of an LLM judge's pass/fail against human reviewers (absent unless both verdicts occur).", (s) => s.kappa);
    gauge(METRIC_NAMES.judgeReviews, 'Human reviews of an LLM-judged metric, per project and metric.', (s) => s.reviews);
  }

  recordLlmCall(event: LlmCallEvent): void {
    const model = { provider: event.provider, model: this.modelLabels.of(event.provider, event.model) };
    this.llmTokens.inc({ ...model, kind: event.kind, type: 'input' }, event.input_tokens);
    this.llmTokens.inc({ ...model, kind: event.kind, type: 'output' }, event.output_tokens);
    this.llmTokens.inc({ ...model, kind: event.kind, type: 'cached_input' }, event.cached_input_tokens);
    if (event.cost_usd !== null) this.llmCost.inc({ ...model, kind: event.kind }, event.cost_usd);
    if (!event.cached) this.llmLatency.observe(model, event.latency_ms / 1000);
    if (event.attempts > 1) this.llmRetries.inc({ ...model, status: event.status === 'ok' ? 'ok' : String(event.error_status ?? 'error') }, event.attempts - 1);
    if (event.rate_limited > 0) this.llmRateLimited.inc(model, event.rate_limited);
    if (event.limiter_wait_ms > 0) this.llmLimiterWait.inc(model, event.limiter_wait_ms / 1000);
  }
}
