import type { AgreementView, LlmCallView, ReviewView, TopicGroup, TrendPoint } from '../contracts/api';
import type { BuildMetadata } from '../contracts/build';
import type { CaseResult, Report, ReportSummary } from '../contracts/report';

export type { AgreementView, ReviewView };

/**
 * What the viewer's pages read, whoever stores it: the platform (Postgres and ClickHouse, one project, through
 * the orchestrator) or report files on disk (`evalctl view`). Every method answers for the caller's scope only:
 * a run outside it is `undefined`, exactly like a missing one.
 */
export interface ViewerSource {
  /** `files`: `evalctl view` over reports (no reviews, no per-call records); `platform`: a project's runs. */
  readonly mode: 'platform' | 'files';
  /** The project's name, or the first report's file name. */
  readonly title: string;
  runs(filter: RunFilter): Promise<{ runs: RunRow[]; nextCursor: string | null }>;
  /** The suites and branches the runs have used, newest first: what the filters offer. */
  runFacets(): Promise<{ suites: string[]; branches: string[] }>;
  run(id: string): Promise<RunDetail | undefined>;
  cases(runId: string, filter: CaseFilter): Promise<{ cases: CaseRow[]; total: number }>;
  /** The filters a run's cases offer (a finished run's may be kept: its cases no longer change). */
  caseFacets(run: RunDetail): Promise<CaseFacets>;
  /** The indexes of every case the filter matches, in its order (offset and limit ignored): previous and next on a case page. */
  caseOrder(runId: string, filter: CaseFilter): Promise<number[]>;
  caseDetail(runId: string, index: number): Promise<CaseDetail | undefined>;
  /** The case's LLM calls one by one; null where only the per-model totals are known (a report file). */
  llmCalls(run: RunDetail, index: number): Promise<LlmCallView[] | null>;
  /** The whole report of a finished run, for comparisons. */
  report(runId: string): Promise<Report>;
  topics(run: RunDetail): Promise<TopicGroup[]>;
  /** Metric id → the scores the run's cases got (errored ones left out): the histograms. */
  scores(run: RunDetail): Promise<Record<string, number[]>>;
  /** The metric's mean per run, oldest first, over the runs of a branch and suite when given. */
  trends(metric: string, filter: { branch?: string; suite?: string }): Promise<TrendPoint[]>;
  reviews(runId: string, index?: number): Promise<ReviewView[]>;
  agreement(filter: { metric?: string; runId?: string }): Promise<AgreementView[]>;
  /** Absent where reviews cannot be recorded (report files, a read-only link). */
  saveReview?(runId: string, index: number, review: ReviewInput & { judge_passed: boolean }): Promise<ReviewView>;
}

export const RUN_STATUSES = ['queued', 'running', 'completed', 'completed_with_errors', 'cancelled', 'budget_exceeded'] as const;

export interface RunFilter {
  suite?: string;
  branch?: string;
  status?: (typeof RUN_STATUSES)[number];
  cursor?: string;
}

/** A run as the list shows it. */
export interface RunRow {
  id: string;
  suite: string;
  status: string;
  branch: string | null;
  build: BuildMetadata;
  created_at: string;
  finished_at: string | null;
  duration_ms: number | null;
  progress: { total: number; completed: number; passed: number; failed: number; errored: number };
  /** Metric id → mean, once the run has finished, in the suite's order. */
  means: Record<string, number | null> | null;
  /** The gate's verdict, once the run has finished. */
  gate_passed: boolean | null;
  cost_usd: number | null;
}

/** Metric id → value in `order` first (the suite's), then any other key. */
export function inOrder<T>(values: Record<string, T>, order: readonly string[] | null | undefined): Record<string, T> {
  const keys = [...(order ?? []).filter((key) => key in values), ...Object.keys(values).filter((key) => !(order ?? []).includes(key))];
  return Object.fromEntries(keys.map((key) => [key, values[key]]));
}

/** Whether a run passes the list's filters (a report of several suites names them joined by ", "). */
export const runMatches = (row: RunRow, filter: RunFilter): boolean =>
  (!filter.suite || row.suite === filter.suite || row.suite.split(', ').includes(filter.suite)) &&
  (!filter.branch || row.branch === filter.branch) &&
  (!filter.status || row.status === filter.status);

/** The suites and branches of runs held in memory (report files, a link's runs). */
export const facetsOf = (rows: readonly RunRow[]): { suites: string[]; branches: string[] } => ({
  suites: [...new Set(rows.flatMap((row) => row.suite.split(', ')))],
  branches: [...new Set(rows.flatMap((row) => (row.branch ? [row.branch] : [])))],
});

export interface RunDetail extends RunRow {
  /** The report without its cases, once the run has finished. */
  summary: ReportSummary | null;
  max_cost_usd: number | null;
}

export { CASE_STATUSES, defaultDirection, type CaseFacets, type CaseFilter, type CaseSort } from '../contracts/grid';
import type { CaseFacets, CaseFilter } from '../contracts/grid';

/** A metric's verdict as the grid shows it: the score, and the judge's reason on hover or expand. */
export interface MetricCell {
  score: number | null;
  passed: boolean;
  error: string | null;
  reason?: string;
}

/** A case as a run's grid shows it: state, labels, texts, per-metric verdicts, latency and cost. */
export interface CaseRow {
  index: number;
  id: string;
  status: string;
  error: string | null;
  topic: string | null;
  tags: string[];
  metrics: Record<string, MetricCell>;
  /** The matrix target that produced it (from its suite's `[target]`); null outside a matrix. */
  target?: string | null;
  input?: string | null;
  actual_output?: string | null;
  expected_output?: string | null;
  metadata?: Record<string, unknown>;
  latency_ms?: number | null;
  /** USD of the case's LLM calls (target and judges); null when a price was unknown. */
  cost_usd?: number | null;
}

/** The matrix target of a case's suite (`support[gpt-4o]` → `gpt-4o`), or null. */
export const targetOfSuite = (suite: string): string | null => /\[([^\]]+)\]$/.exec(suite)?.[1] ?? null;

export interface CaseDetail {
  index: number;
  id: string;
  status: string;
  /** Times a worker took it up; null for a report file. */
  attempts: number | null;
  error: string | null;
  /** null until it ended with a result. */
  result: CaseResult | null;
}

export interface ReviewInput {
  metric: string;
  reviewer: string;
  agree: boolean;
  /** The reviewer's verdict when disagreeing; null: the opposite of the judge's. */
  corrected_passed: boolean | null;
  comment: string | null;
}

/**
 * The agreement figures from a 2 × 2 table of judge against reviewer. Cohen's kappa is (po − pe) / (1 − pe):
 * the observed agreement corrected for what two raters with these pass rates would agree by chance. It is
 * undefined when only one class occurs (pe = 1), and reported as null then.
 */
export function agreementOf(metric: string, counts: { reviews: number; agreed: number; pass_pass: number; pass_fail: number; fail_pass: number; fail_fail: number }): AgreementView {
  const { pass_pass, pass_fail, fail_pass, fail_fail } = counts;
  const n = pass_pass + pass_fail + fail_pass + fail_fail;
  let kappa: number | null = null;
  if (n > 0) {
    const observed = (pass_pass + fail_fail) / n;
    const judgePass = (pass_pass + pass_fail) / n;
    const humanPass = (pass_pass + fail_pass) / n;
    const chance = judgePass * humanPass + (1 - judgePass) * (1 - humanPass);
    if (chance < 1) kappa = Math.round(((observed - chance) / (1 - chance)) * 10_000) / 10_000;
  }
  return {
    metric,
    reviews: counts.reviews,
    agreed: counts.agreed,
    agreement_rate: counts.reviews ? Math.round((counts.agreed / counts.reviews) * 10_000) / 10_000 : 0,
    kappa,
    confusion: { pass_pass, pass_fail, fail_pass, fail_fail },
  };
}

/** Where the viewer is mounted (`/ui` on the orchestrator, `` for `evalctl view`), and how to reach its pages. */
export class ViewerPaths {
  constructor(readonly base: string) {}
  runs = (query: Record<string, string | undefined> = {}) => `${this.base}/${queryString(query)}`;
  run = (id: string, query: Record<string, string | number | undefined> = {}) => `${this.base}/runs/${encodeURIComponent(id)}${queryString(query)}`;
  case = (runId: string, index: number) => `${this.base}/runs/${encodeURIComponent(runId)}/cases/${index}`;
  compare = (base: string, head: string, query: Record<string, string | number | undefined> = {}) => `${this.comparePage()}${queryString({ base, head, ...query })}`;
  comparePage = () => `${this.base}/compare`;
  trends = (query: Record<string, string | undefined> = {}) => `${this.base}/trends${queryString(query)}`;
  agreement = () => `${this.base}/agreement`;
  traces = (query: Record<string, string | undefined> = {}) => `${this.base}/traces${queryString(query)}`;
  trace = (id: string) => `${this.base}/traces/${encodeURIComponent(id)}`;
  sideBySide = (runs: string) => `${this.base}/side-by-side?runs=${encodeURIComponent(runs)}`;
  review = (runId: string) => `${this.base}/runs/${encodeURIComponent(runId)}/review`;
  export = (runId: string, format: 'csv' | 'json') => `${this.base}/runs/${encodeURIComponent(runId)}/cases.${format}`;
  asset = (name: string) => `${this.base}/assets/${name}`;
}

export function queryString(query: Record<string, string | number | undefined>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined && value !== '') params.set(key, String(value));
  const text = params.toString();
  return text ? `?${text}` : '';
}
