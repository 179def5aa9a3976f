import type { Report } from '../contracts/report';
import { show } from './gate';

/**
 * A matrix run's targets next to each other: one row per metric (its mean per target), then the pass rate,
 * the LLM cost and the gate. Undefined for a run without `targets`. Cells are plain text; the console and the
 * pull-request comment lay them out.
 */
export function sideBySide(report: Report): { header: string[]; rows: string[][] } | undefined {
  return targetsSideBySide(report);
}

/** `sideBySide` of anything with a report's `targets` (the head of a streamed run). */
export function targetsSideBySide(report: Pick<Report, 'targets'>): { header: string[]; rows: string[][] } | undefined {
  if (!report.targets) return undefined;
  const ids = Object.keys(report.targets);
  const targets = ids.map((id) => report.targets![id]);
  const metrics = [...new Set(targets.flatMap((t) => Object.keys(t.metrics)))];
  const rows = metrics.map((metric) => {
    const direction = targets.find((t) => t.metrics[metric])?.metrics[metric].direction;
    return [`${metric} (${direction === 'lower' ? 'lower' : 'higher'} is better)`, ...targets.map((t) => show(t.summary[metric]))];
  });
  rows.push(['cases passed', ...targets.map((t) => `${t.totals.passed}/${t.totals.cases}`)]);
  rows.push(['LLM cost', ...targets.map((t) => (t.cost_usd === null ? 'unknown' : `$${t.cost_usd.toFixed(6)}`))]);
  rows.push(['gate', ...targets.map((t) => (t.gate.passed ? 'passed' : 'FAILED'))]);
  return { header: ['', ...ids], rows };
}
