import type { CaseResult, Report } from '../contracts/report';
import { evaluateGateRules, type CaseChange, type GateOutcome } from '../runner/gate';
import { caseCost } from './case-query';
import { targetOfSuite } from './model';

/**
 * Two runs compared case by case, by the gate's own rules (`evaluateGateRules` with the same `max-drop`):
 * one row per case, not per (case, metric). Quality changes come first and apart from speed and cost, which
 * drift between any two runs and never decide the gate.
 */
export interface CaseDelta {
  key: string;
  suite: string;
  id: string;
  base: { result: CaseResult; at: number };
  head: { result: CaseResult; at: number };
  /** `fails`: passed in the base, fails or errors in the head; `worse`: every verdict kept, a score dropped past max-drop. */
  kind: 'fails' | 'worse' | 'passes' | 'better';
  /** The gate's changes of this case, one per metric that moved. */
  changes: CaseChange[];
  /** The largest worsening of a score in its metric's direction (an errored score counts as the whole drop). */
  drop: number;
}

export interface SpeedDelta {
  key: string;
  id: string;
  base: { value: number; at: number };
  head: { value: number; at: number };
  delta: number;
}

export interface CaseComparison {
  outcome: GateOutcome;
  regressed: CaseDelta[];
  improved: CaseDelta[];
  latency: SpeedDelta[];
  cost: SpeedDelta[];
  /** Cases in neither list whose actual output is not the same text: what a model change did where no score moved. */
  reworded: Array<{ key: string; id: string; base: { result: CaseResult; at: number }; head: { result: CaseResult; at: number } }>;
}

/** A latency change counts past both: half the base and 500 ms (less is a network's or a provider's jitter). */
export const LATENCY_CHANGE = { ratio: 0.5, ms: 500 };
/** A cost change counts past both: a quarter of the base and $0.0001. */
export const COST_CHANGE = { ratio: 0.25, usd: 0.0001 };

const keyOf = (c: { suite: string; id: string }) => `${c.suite}\u0000${c.id}`;

function worsening(change: CaseChange, direction: 'higher' | 'lower'): number {
  if (change.baseline === null || change.value === null) return change.value === null ? Number.POSITIVE_INFINITY : 0;
  return direction === 'higher' ? change.baseline - change.value : change.value - change.baseline;
}

/** Whether a move from `base` to `head` is past both the relative and the absolute bound. */
const moved = (base: number, head: number, ratio: number, absolute: number) => Math.abs(head - base) > Math.max(absolute, Math.abs(base) * ratio);

export function compareByCase(base: Report, head: Report, maxDrop: number): CaseComparison {
  const outcome = evaluateGateRules(head, { baseline: base, maxDrop });
  const baseCases = new Map(base.cases.map((result, at) => [keyOf(result), { result, at }]));
  const headCases = new Map(head.cases.map((result, at) => [keyOf(result), { result, at }]));
  const grouped = new Map<string, { regressions: CaseChange[]; improvements: CaseChange[] }>();
  const entry = (change: CaseChange) => {
    const key = keyOf(change);
    let group = grouped.get(key);
    if (!group) grouped.set(key, (group = { regressions: [], improvements: [] }));
    return group;
  };
  for (const change of outcome.regressions) entry(change).regressions.push(change);
  for (const change of outcome.improvements) entry(change).improvements.push(change);

  const regressed: CaseDelta[] = [];
  const improved: CaseDelta[] = [];
  for (const [key, group] of grouped) {
    const before = baseCases.get(key)!;
    const after = headCases.get(key)!;
    const direction = (metric: string) => after.result.metrics[metric]?.direction ?? 'higher';
    if (group.regressions.length) {
      const fails = before.result.status === 'passed' && after.result.status !== 'passed';
      const drop = Math.max(...group.regressions.map((c) => worsening(c, direction(c.metric))));
      regressed.push({ key, suite: after.result.suite, id: after.result.id, base: before, head: after, kind: fails ? 'fails' : 'worse', changes: [...group.regressions, ...group.improvements], drop });
    } else {
      const passes = before.result.status !== 'passed' && after.result.status === 'passed';
      const gain = Math.max(...group.improvements.map((c) => -worsening(c, direction(c.metric))));
      improved.push({ key, suite: after.result.suite, id: after.result.id, base: before, head: after, kind: passes ? 'passes' : 'better', changes: group.improvements, drop: -gain });
    }
  }
  // Newly failing first, then drift; each by the size of the drop, then by place.
  const rank = (d: CaseDelta) => (d.kind === 'fails' || d.kind === 'passes' ? 0 : 1);
  regressed.sort((a, b) => rank(a) - rank(b) || b.drop - a.drop || a.head.at - b.head.at);
  improved.sort((a, b) => rank(a) - rank(b) || a.drop - b.drop || a.head.at - b.head.at);

  const latency: SpeedDelta[] = [];
  const cost: SpeedDelta[] = [];
  const reworded: CaseComparison['reworded'] = [];
  for (const [key, after] of headCases) {
    const before = baseCases.get(key);
    if (!before) continue;
    if (!grouped.has(key) && (before.result.actual_output ?? '') !== (after.result.actual_output ?? '')) reworded.push({ key, id: after.result.id, base: before, head: after });
    const baseLatency = before.result.target?.latency_ms;
    const headLatency = after.result.target?.latency_ms;
    if (typeof baseLatency === 'number' && typeof headLatency === 'number' && moved(baseLatency, headLatency, LATENCY_CHANGE.ratio, LATENCY_CHANGE.ms)) {
      latency.push({ key, id: after.result.id, base: { value: baseLatency, at: before.at }, head: { value: headLatency, at: after.at }, delta: headLatency - baseLatency });
    }
    const baseCost = caseCost(before.result);
    const headCost = caseCost(after.result);
    if (baseCost !== null && headCost !== null && moved(baseCost, headCost, COST_CHANGE.ratio, COST_CHANGE.usd)) {
      cost.push({ key, id: after.result.id, base: { value: baseCost, at: before.at }, head: { value: headCost, at: after.at }, delta: headCost - baseCost });
    }
  }
  latency.sort((a, b) => b.delta - a.delta);
  cost.sort((a, b) => b.delta - a.delta);
  return { outcome, regressed, improved, latency, cost, reworded };
}

/** The suite a run was of, without a matrix's `[target]`: what two runs must share to be compared. */
export const baseSuiteName = (suite: string): string => suite.replace(/\[[^\]]+\]$/, '');

/**
 * One target's part of a report (a matrix report holds every target's cases, under `<suite>[<target>]`), with
 * the target taken out of the suite names so that two targets' cases meet by suite and id. `target` undefined:
 * every case, the suites' targets taken out (two platform runs of one matrix, one target each).
 */
export function reportOfTarget(report: Report, target: string | undefined): Report {
  const cases = report.cases.filter((c) => target === undefined || targetOfSuite(c.suite) === target).map((c) => ({ ...c, suite: baseSuiteName(c.suite) }));
  const part = target !== undefined ? report.targets?.[target] : undefined;
  return part ? { ...report, summary: part.summary, metrics: part.metrics, totals: part.totals, cases } : { ...report, cases };
}

export type DiffPart = { op: 'same' | 'del' | 'ins'; text: string };

/** Past this many word pairs the diff marks the changed middle as a whole instead of word by word. */
const MAX_DIFF_CELLS = 4_000_000;

/**
 * A word-level diff of two texts (each word with the whitespace after it): the common prefix and suffix, then the
 * longest common subsequence of the words between. Joining the `same` and `del` parts gives `before`, the
 * `same` and `ins` parts `after`.
 */
export function wordDiff(before: string, after: string): DiffPart[] {
  // A word with the space after it: spaces never match on their own, so changed words read as phrases.
  const a = before.match(/^\s+|\S+\s*/g) ?? [];
  const b = after.match(/^\s+|\S+\s*/g) ?? [];
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const parts: DiffPart[] = [];
  const push = (op: DiffPart['op'], text: string) => {
    if (!text) return;
    const last = parts[parts.length - 1];
    if (last && last.op === op) last.text += text;
    else parts.push({ op, text });
  };
  push('same', a.slice(0, start).join(''));
  const midA = a.slice(start, endA);
  const midB = b.slice(start, endB);
  if ((midA.length + 1) * (midB.length + 1) > MAX_DIFF_CELLS) {
    push('del', midA.join(''));
    push('ins', midB.join(''));
  } else {
    // lengths[i][j]: the LCS of midA[i..] and midB[j..], in one flat array.
    const width = midB.length + 1;
    const lengths = new Uint32Array((midA.length + 1) * width);
    for (let i = midA.length - 1; i >= 0; i--) {
      for (let j = midB.length - 1; j >= 0; j--) {
        lengths[i * width + j] = midA[i] === midB[j] ? lengths[(i + 1) * width + j + 1] + 1 : Math.max(lengths[(i + 1) * width + j], lengths[i * width + j + 1]);
      }
    }
    let i = 0;
    let j = 0;
    while (i < midA.length && j < midB.length) {
      if (midA[i] === midB[j]) {
        push('same', midA[i]);
        i++;
        j++;
      } else if (lengths[(i + 1) * width + j] >= lengths[i * width + j + 1]) push('del', midA[i++]);
      else push('ins', midB[j++]);
    }
    while (i < midA.length) push('del', midA[i++]);
    while (j < midB.length) push('ins', midB[j++]);
  }
  push('same', a.slice(endA).join(''));
  return parts;
}
