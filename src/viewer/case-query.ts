import type { CaseResult } from '../contracts/report';
import { defaultDirection, targetOfSuite, type CaseFacets, type CaseFilter, type CaseRow, type CaseSort } from './model';

/**
 * The grid's filters and sorts over cases held in memory (report files). The platform answers the same
 * filters in SQL (`listCasePage`); `test/viewer/case-query.integration.test.ts` holds the two to the same
 * answers on the same cases.
 */

const RANK: Record<string, number> = { errored: 0, failed: 1, passed: 3 };

/** Text as the grid shows a metadata value: a string as it is, anything else as its JSON text. */
export const metaText = (value: unknown): string => (typeof value === 'string' ? value : value === undefined ? '' : JSON.stringify(value));

/** A metadata value the grid filters and sorts by: a string, number or boolean (as `metaText`); an object, array or null is none. */
export const metaScalar = (value: unknown): string | null => (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? metaText(value) : null);

/** USD of a case's LLM calls; null when a price was unknown. */
export function caseCost(result: CaseResult): number | null {
  let total = 0;
  for (const usage of result.usage ?? []) {
    if (usage.cost_usd === null) return null;
    total += usage.cost_usd;
  }
  return total;
}

/** Whether a case passes the grid's filters (every one of them). */
export function caseMatches(result: CaseResult, filter: CaseFilter): boolean {
  if (filter.status === 'unfinished') return false;
  if (filter.status && result.status !== filter.status) return false;
  if (filter.metric && result.metrics[filter.metric]?.passed !== false) return false;
  if (filter.topic && result.topic !== filter.topic) return false;
  if (filter.tag && !result.tags.includes(filter.tag)) return false;
  if (filter.target && targetOfSuite(result.suite) !== filter.target) return false;
  if (filter.meta && metaScalar(result.metadata?.[filter.meta.key]) !== filter.meta.value) return false;
  if (filter.score) {
    const value = result.metrics[filter.score.metric]?.score;
    if (value === null || value === undefined) return false;
    if (filter.score.min !== undefined && value < filter.score.min) return false;
    if (filter.score.max !== undefined && value > filter.score.max) return false;
  }
  if (filter.q) {
    // A search is one line: the platform keeps the texts one per line, and a line break never matches.
    if (filter.q.includes('\n')) return false;
    const needle = filter.q.toLowerCase();
    const haystack = [result.id, result.input, result.actual_output ?? '', result.expected_output ?? ''];
    if (!haystack.some((text) => text.toLowerCase().includes(needle))) return false;
  }
  return true;
}

type Key = number | string | null;

function sortKey(result: CaseResult, sort: CaseSort): Key {
  if (sort === 'id') return result.id;
  if (sort === 'latency') return result.target?.latency_ms ?? null;
  if (sort === 'cost') return caseCost(result);
  if (sort.startsWith('score:')) return result.metrics[sort.slice(6)]?.score ?? null;
  if (sort.startsWith('meta:')) return metaScalar(result.metadata?.[sort.slice(5)]);
  return null;
}

/** Compares two keys; a missing value always goes last, whatever the direction. */
function compareKeys(a: Key, b: Key, descending: boolean): number {
  if (a === null || b === null) return a === b ? 0 : a === null ? 1 : -1;
  const order = typeof a === 'number' && typeof b === 'number' ? a - b : String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0;
  return descending ? -order : order;
}

/** The matching cases in the grid's order, each with its place in the report. */
export function queryCases(cases: readonly CaseResult[], filter: CaseFilter): Array<{ result: CaseResult; at: number }> {
  const sort = filter.sort ?? 'status';
  const descending = (filter.dir ?? defaultDirection(sort)) === 'desc';
  const picked = cases.map((result, at) => ({ result, at })).filter(({ result }) => caseMatches(result, filter));
  if (sort === 'status') return picked.sort((a, b) => (descending ? -1 : 1) * ((RANK[a.result.status] ?? 2) - (RANK[b.result.status] ?? 2)) || a.at - b.at);
  if (sort === 'index') return descending ? picked.reverse() : picked;
  const keyed = picked.map((entry) => ({ ...entry, key: sortKey(entry.result, sort) }));
  return keyed.sort((a, b) => compareKeys(a.key, b.key, descending) || a.at - b.at);
}

/** A case as the grid shows it. */
export function caseRowOf(result: CaseResult, at: number): CaseRow {
  return {
    index: at,
    id: result.id,
    status: result.status,
    error: result.error,
    topic: result.topic,
    tags: result.tags,
    metrics: Object.fromEntries(Object.entries(result.metrics).map(([id, m]) => [id, { score: m.score, passed: m.passed, error: m.error, reason: m.reason }])),
    target: targetOfSuite(result.suite),
    input: result.input,
    actual_output: result.actual_output,
    expected_output: result.expected_output,
    metadata: result.metadata ?? {},
    latency_ms: result.target?.latency_ms ?? null,
    cost_usd: caseCost(result),
  };
}

/** Metric id → every score the cases got (an errored metric has none): the histograms. */
export function scoresOfCases(cases: readonly CaseResult[]): Record<string, number[]> {
  const scores: Record<string, number[]> = {};
  for (const result of cases) for (const [id, metric] of Object.entries(result.metrics)) if (metric.score !== null) (scores[id] ??= []).push(metric.score);
  return scores;
}

/** Values counted, most frequent first, then by name. */
function ranked(values: Iterable<string>, limit: number): string[] {
  const counts = new Map<string, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return [...counts]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, limit)
    .map(([value]) => value);
}

/** The filters a set of cases offers. */
export function facetsOfCases(cases: readonly CaseResult[]): CaseFacets {
  const scalars = cases.map((c) => Object.entries(c.metadata ?? {}).flatMap(([key, value]) => {
    const text = metaScalar(value);
    return text === null ? [] : [[key, text] as const];
  }));
  const keys = ranked(
    scalars.flatMap((pairs) => pairs.map(([key]) => key)),
    30,
  ).sort();
  return {
    topics: ranked(
      cases.flatMap((c) => (c.topic ? [c.topic] : [])),
      200,
    ),
    tags: ranked(
      cases.flatMap((c) => c.tags),
      200,
    ),
    metadata: Object.fromEntries(keys.map((key) => [key, ranked(scalars.flatMap((pairs) => pairs.filter(([k]) => k === key).map(([, text]) => text)), 50)])),
    targets: [...new Set(cases.flatMap((c) => targetOfSuite(c.suite) ?? []))],
  };
}
