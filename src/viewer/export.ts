import { metaText } from './case-query';
import type { CaseRow } from './model';

/**
 * A cell as CSV holds it: quoted when it has a comma, quote or line break, and a text that a spreadsheet would
 * run as a formula (`=`, `+`, `-`, `@`, tab, carriage return first) led by an apostrophe, so that opening an
 * export never runs what a target wrote.
 */
export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  let text = typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : JSON.stringify(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** The grid's cases as CSV: one row per case, the texts whole, each metric's score, verdict and reason. */
export function casesCsv(rows: readonly CaseRow[], metricIds: readonly string[]): string {
  const metaKeys = [...new Set(rows.flatMap((row) => Object.keys(row.metadata ?? {})))].sort();
  const header = [
    'index', 'id', 'status', 'target', 'topic', 'tags', 'input', 'actual_output', 'expected_output',
    ...metricIds.flatMap((id) => [`${id}.score`, `${id}.passed`, `${id}.reason`]),
    'latency_ms', 'cost_usd', 'error', ...metaKeys.map((key) => `metadata.${key}`),
  ];
  const lines = [header.map(csvCell).join(',')];
  for (const row of rows) {
    const cells: unknown[] = [
      row.index, row.id, row.status, row.target ?? '', row.topic ?? '', row.tags.join(' '), row.input ?? '', row.actual_output ?? '', row.expected_output ?? '',
      ...metricIds.flatMap((id) => {
        const metric = row.metrics[id];
        return metric ? [metric.score, metric.error !== null && metric.score === null ? 'error' : metric.passed, metric.error ?? metric.reason ?? ''] : ['', '', ''];
      }),
      row.latency_ms ?? '', row.cost_usd ?? '', row.error ?? '',
      ...metaKeys.map((key) => (row.metadata && key in row.metadata && row.metadata[key] !== null ? metaText(row.metadata[key]) : '')),
    ];
    lines.push(cells.map(csvCell).join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}
