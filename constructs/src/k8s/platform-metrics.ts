/**
 * The Prometheus metric names the platform's services export that the alert rules and dashboards read. The services
 * declare them in src/telemetry/metrics.ts; this library cannot import the services, so a test holds the two
 * lists equal and another checks each name on a running service's /metrics.
 */
export const PLATFORM_METRICS = {
  queueJobs: 'eval_queue_jobs',
  queueOldestWaiting: 'eval_queue_oldest_waiting_seconds',
  jobs: 'eval_jobs_total',
  llmRateLimited: 'eval_llm_rate_limited_total',
  llmCost: 'eval_llm_cost_usd_total',
  llmTokens: 'eval_llm_tokens_total',
  llmLatency: 'eval_llm_request_duration_seconds',
  runs: 'eval_runs_finished_total',
  buildInfo: 'eval_build_info',
  judgeAgreement: 'eval_judge_agreement_ratio',
  judgeKappa: 'eval_judge_cohen_kappa',
  judgeReviews: 'eval_judge_reviews',
  spansReceived: 'eval_spans_received_total',
  onlineScore: 'eval_online_score',
  onlineThreshold: 'eval_online_threshold',
  onlineCases: 'eval_online_cases_total',
} as const;
