import type { Report } from '../contracts/report';
import { show, signed, type GateOutcome } from './gate';
import { sideBySide } from './side-by-side';

/** The first line of every comment evalctl writes: the PR gate finds its own comment by it and edits it. */
export const COMMENT_MARKER = '<!-- evalctl-gate -->';

/** Rows of a long list shown before "and N more". */
const LIST_LIMIT = 20;

const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
const usd = (value: number | null): string => (value === null ? 'unknown (a model has no price)' : `$${value.toFixed(6)}`);

function limited<T>(items: readonly T[], row: (item: T) => string): string[] {
  const lines = items.slice(0, LIST_LIMIT).map(row);
  if (items.length > LIST_LIMIT) lines.push(`\n…and ${items.length - LIST_LIMIT} more in report.json.`);
  return lines;
}

/**
 * A pull-request comment: the verdict, every metric against its threshold (and the baseline), cost, the cases
 * that regressed against the baseline and the cases that errored with their cause. Markdown for GitHub.
 */
export function toMarkdownComment(
  report: Report,
  options: { outcome?: GateOutcome; baseline?: Report; maxDrop?: number; title?: string; links?: ReadonlyArray<{ suite: string; url: string; expires_at?: string; compares: boolean }> } = {},
): string {
  const { outcome, baseline } = options;
  const ownPassed = report.gate?.passed !== false;
  const rulesPassed = outcome?.passed !== false;
  const verdict = ownPassed && rulesPassed ? '✅ passed' : '❌ failed';
  const lines = [COMMENT_MARKER, `### ${options.title ?? 'Evaluation'}: ${verdict}`, ''];
  const totals = report.totals;
  lines.push(`${totals.cases} cases: ${totals.passed} passed, ${totals.failed} failed, ${totals.errored} errored · LLM cost ${usd(report.usage.total_cost_usd)}${report.build?.git_sha ? ` · \`${report.build.git_sha.slice(0, 12)}\`` : ''}`, '');
  for (const link of options.links ?? []) {
    const what = link.compares ? 'the comparison with the baseline' : 'the run';
    const how = link.expires_at ? ` (read-only link, valid until ${link.expires_at.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')})` : ' (sign in with a project key)';
    lines.push(`🔎 [${cell(link.suite)}: open ${what} in the viewer](${link.url})${how}`);
  }
  if (options.links?.length) lines.push('');

  const header = baseline ? '| metric | mean | baseline | Δ | threshold | passed |' : '| metric | mean | threshold | passed |';
  lines.push(header, header.replace(/[^|]+/g, '---'));
  for (const [id, metric] of Object.entries(report.metrics)) {
    const all = metric.passed + metric.failed + metric.errored;
    const base = baseline ? (baseline.summary?.[id] ?? null) : null;
    const delta = base !== null && metric.mean !== null ? metric.mean - base : null;
    const threshold = `${metric.direction === 'higher' ? '≥' : '≤'} ${metric.threshold}`;
    const passed = `${metric.passed}/${all}${metric.errored ? ` (${metric.errored} errored)` : ''}`;
    lines.push(baseline ? `| ${cell(id)} | ${show(metric.mean)} | ${show(base)} | ${signed(delta)} | ${threshold} | ${passed} |` : `| ${cell(id)} | ${show(metric.mean)} | ${threshold} | ${passed} |`);
  }
  lines.push('');

  const matrix = sideBySide(report);
  if (matrix) {
    lines.push('**Targets side by side**', '', `| ${matrix.header.map(cell).join(' | ')} |`, `|${matrix.header.map(() => '---').join('|')}|`);
    lines.push(...matrix.rows.map((row) => `| ${row.map(cell).join(' | ')} |`), '');
  }
  if (!ownPassed) lines.push('**Thresholds**', '', ...report.gate.failures.map((f) => `- ${cell(f)}`), '');
  if (outcome && !outcome.passed) {
    lines.push('**Against the baseline**', '', ...outcome.rows.filter((r) => !r.passed).map((r) => `- ${cell(r.metric)}: ${show(r.value)} (${r.rule}${r.baseline !== null ? `, baseline ${show(r.baseline)}` : ''})`), '');
  }
  if (baseline && outcome) {
    if (outcome.regressions.length > 0) {
      lines.push(`**Cases that got worse (${outcome.regressions.length})**`, '', '| suite | case | metric | baseline | now | change |', '|---|---|---|---|---|---|');
      lines.push(...limited(outcome.regressions, (c) => `| ${cell(c.suite)} | ${cell(c.id)} | ${cell(c.metric)} | ${show(c.baseline)} | ${show(c.value)} | ${cell(c.note)} |`), '');
    } else lines.push(`No case got worse than the baseline (max drop ${options.maxDrop ?? 0}).`, '');
    if (outcome.improvements.length > 0) lines.push(`${outcome.improvements.length} case result(s) got better.`, '');
  } else if (!baseline) lines.push('_No baseline report to compare with: gated on thresholds only._', '');

  const errored = report.cases.filter((c) => c.status === 'errored');
  if (errored.length > 0) {
    lines.push(`**Errored cases (${errored.length})**`, '');
    lines.push(...limited(errored, (c) => `- ${cell(c.suite)} / ${cell(c.id)}: ${cell(c.error ?? 'errored')}`), '');
  }
  if (report.build?.build_url) lines.push(`[The run](${report.build.build_url}) · report.json and JUnit are attached to it.`);
  return `${lines.join('\n').trimEnd()}\n`;
}
