import type { Report } from '../contracts/report';

export interface GateRules {
  /** Metric id → lowest acceptable mean. */
  readonly min?: Readonly<Record<string, number>>;
  /** Metric id → highest acceptable mean. */
  readonly max?: Readonly<Record<string, number>>;
  readonly baseline?: Report;
  /** How much a metric's mean may worsen against the baseline (in the metric's own direction). Default 0. */
  readonly maxDrop?: number;
}

export interface GateRow {
  readonly metric: string;
  readonly value: number | null;
  readonly baseline: number | null;
  /** head − baseline. */
  readonly delta: number | null;
  readonly rule: string;
  readonly passed: boolean;
}

export interface CaseChange {
  readonly suite: string;
  readonly id: string;
  readonly metric: string;
  readonly baseline: number | null;
  readonly value: number | null;
  readonly note: string;
}

export interface GateOutcome {
  readonly passed: boolean;
  readonly rows: readonly GateRow[];
  readonly regressions: readonly CaseChange[];
  readonly improvements: readonly CaseChange[];
  readonly addedCases: number;
  readonly removedCases: number;
}

const directionOf = (report: Report, metric: string): 'higher' | 'lower' => report.metrics?.[metric]?.direction ?? 'higher';

/** How much worse `value` is than `baseline` in the metric's direction (positive = worse). */
const worsening = (direction: 'higher' | 'lower', baseline: number, value: number): number =>
  direction === 'higher' ? baseline - value : value - baseline;

/** Applies --min / --max to the report's summary and, with a baseline, compares every metric and case. */
export function evaluateGateRules(report: Report, rules: GateRules): GateOutcome {
  const rows: GateRow[] = [];
  const summary = report.summary ?? {};
  const baseSummary = rules.baseline?.summary ?? {};
  const maxDrop = rules.maxDrop ?? 0;
  const baseOf = (metric: string) => (rules.baseline ? (baseSummary[metric] ?? null) : null);
  const row = (metric: string, rule: string, check: (value: number) => boolean): GateRow => {
    const value = metric in summary ? summary[metric] : null;
    const baseline = baseOf(metric);
    return {
      metric,
      value,
      baseline,
      delta: value !== null && baseline !== null ? value - baseline : null,
      rule: metric in summary ? rule : `${rule} (not in report)`,
      passed: value !== null && check(value),
    };
  };
  for (const [metric, min] of Object.entries(rules.min ?? {})) rows.push(row(metric, `>= ${min}`, (v) => v >= min));
  for (const [metric, max] of Object.entries(rules.max ?? {})) rows.push(row(metric, `<= ${max}`, (v) => v <= max));

  const regressions: CaseChange[] = [];
  const improvements: CaseChange[] = [];
  let addedCases = 0;
  let removedCases = 0;
  if (rules.baseline) {
    const baseline = rules.baseline;
    for (const metric of Object.keys(summary)) {
      if (!(metric in baseSummary)) continue;
      const direction = directionOf(report, metric);
      rows.push(
        row(metric, `drop <= ${maxDrop} vs baseline`, (value) => {
          const base = baseSummary[metric];
          return base === null || worsening(direction, base, value) <= maxDrop + 1e-12;
        }),
      );
    }
    const key = (c: { suite: string; id: string }) => `${c.suite}\u0000${c.id}`;
    const baseCases = new Map(baseline.cases.map((c) => [key(c), c]));
    const headKeys = new Set(report.cases.map(key));
    removedCases = baseline.cases.filter((c) => !headKeys.has(key(c))).length;
    for (const head of report.cases) {
      const base = baseCases.get(key(head));
      if (!base) {
        addedCases++;
        continue;
      }
      for (const [metric, result] of Object.entries(head.metrics)) {
        const before = base.metrics[metric];
        if (!before) continue;
        const change = { suite: head.suite, id: head.id, metric, baseline: before.score, value: result.score };
        const direction = result.direction;
        if (before.passed && !result.passed) {
          regressions.push({ ...change, note: result.error ? `now errors: ${result.error}` : 'passed → failed' });
        } else if (!before.passed && result.passed) {
          improvements.push({ ...change, note: 'failed → passed' });
        } else if (before.score !== null && result.score !== null) {
          const worse = worsening(direction, before.score, result.score);
          if (worse > maxDrop + 1e-12) regressions.push({ ...change, note: 'score worse' });
          else if (-worse > maxDrop + 1e-12) improvements.push({ ...change, note: 'score better' });
        }
      }
    }
  }
  return { passed: rows.every((r) => r.passed), rows, regressions, improvements, addedCases, removedCases };
}

/** A score as every table shows it: four decimals, `—` when there is none. */
export const show = (value: number | null | undefined): string => (value === null || value === undefined ? '—' : value.toFixed(4));
/** A change of score, with its sign. */
export const signed = (value: number | null): string => (value === null ? '—' : `${value >= 0 ? '+' : ''}${value.toFixed(4)}`);

function table(header: string[], body: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

/** The gate's verdict as a readable table, with the per-case changes against the baseline. */
export function formatGateOutcome(outcome: GateOutcome, hasBaseline: boolean): string {
  const parts: string[] = [];
  if (outcome.rows.length === 0) parts.push('No rule given: pass --min, --max or --baseline.');
  else {
    parts.push(
      table(
        hasBaseline ? ['metric', 'baseline', 'value', 'delta', 'rule', 'result'] : ['metric', 'value', 'rule', 'result'],
        outcome.rows.map((r) =>
          hasBaseline
            ? [r.metric, show(r.baseline), show(r.value), signed(r.delta), r.rule, r.passed ? 'pass' : 'FAIL']
            : [r.metric, show(r.value), r.rule, r.passed ? 'pass' : 'FAIL'],
        ),
      ),
    );
  }
  if (hasBaseline) {
    const changes = (title: string, list: readonly CaseChange[]) => {
      if (list.length === 0) return `${title}: none`;
      return `${title} (${list.length}):\n${table(
        ['suite', 'case', 'metric', 'baseline', 'value', 'change'],
        list.map((c) => [c.suite, c.id, c.metric, show(c.baseline), show(c.value), c.note]),
      )}`;
    };
    parts.push(changes('Cases that got worse', outcome.regressions));
    parts.push(changes('Cases that got better', outcome.improvements));
    if (outcome.addedCases || outcome.removedCases) {
      parts.push(`Cases only in this report: ${outcome.addedCases}; only in the baseline: ${outcome.removedCases}.`);
    }
  }
  parts.push(outcome.passed ? 'Gate passed.' : `Gate FAILED: ${outcome.rows.filter((r) => !r.passed).map((r) => `${r.metric} ${r.rule}`).join('; ')}.`);
  return parts.join('\n\n');
}
