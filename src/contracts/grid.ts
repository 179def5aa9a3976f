/**
 * The viewer's case grid as every store answers it: the filters, searches and sorts over a run's cases
 * (report files in memory, the platform in SQL).
 */

/** A case's state as the run page filters it; `unfinished`: queued, running, or cancelled before it was evaluated. */
export const CASE_STATUSES = ['errored', 'failed', 'unfinished', 'passed'] as const;

/**
 * What the grid sorts by: `status` (errored, failed, unfinished, passed, then by index: the default), the
 * case's place, id, target latency or LLM cost, a metric's score (`score:<metric>`) or a metadata value
 * (`meta:<key>`).
 */
export type CaseSort = 'status' | 'index' | 'id' | 'latency' | 'cost' | `score:${string}` | `meta:${string}`;

export interface CaseFilter {
  status?: (typeof CASE_STATUSES)[number];
  /** Cases where this metric did not pass. */
  metric?: string;
  topic?: string;
  tag?: string;
  /** Text searched (case-insensitively) in the case's id, input, actual output and expected output. */
  q?: string;
  /** A metadata field's value (compared as text: `tier=gold`, `retries=2`). */
  meta?: { key: string; value: string };
  /** A score range of one metric, bounds included; a case the metric did not score is outside any range. */
  score?: { metric: string; min?: number; max?: number };
  /** A matrix's target (its cases' suites are `<suite>[<target>]`). */
  target?: string;
  sort?: CaseSort;
  /** Default: ascending, except for scores, latency and cost, which put the worst (lowest score, highest cost) first. */
  dir?: 'asc' | 'desc';
  offset: number;
  limit: number;
}

/** The direction a sort takes when none is asked for. */
export const defaultDirection = (sort: CaseSort | undefined): 'asc' | 'desc' => (sort === 'latency' || sort === 'cost' ? 'desc' : 'asc');

/** The filters a run's cases offer: topics, tags, metadata fields with their values, matrix targets. */
export interface CaseFacets {
  topics: string[];
  tags: string[];
  /** Metadata field → its most frequent values (at most 30 fields, 50 values each). */
  metadata: Record<string, string[]>;
  targets: string[];
}

