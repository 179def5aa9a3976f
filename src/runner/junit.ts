import type { CaseResult, Report } from '../contracts/report';

const escapeXml = (text: string): string =>
  text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!)
    // XML 1.0 forbids most control characters, which model output can contain.
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F]/g, '');

function describe(result: CaseResult): string {
  return Object.values(result.metrics)
    .map((m) =>
      m.error
        ? `${m.metric}: errored: ${m.error}`
        : `${m.metric}: ${m.score?.toFixed(3)} (${m.direction === 'higher' ? '>=' : '<='} ${m.threshold}) ${m.passed ? 'passed' : 'FAILED'}: ${m.reason}`,
    )
    .join('\n');
}

/** JUnit XML: one testsuite per suite, one testcase per case; failed metrics are failures, errors are errors. */
export function toJunitXml(report: Report): string {
  const lines = ['<?xml version="1.0" encoding="UTF-8"?>'];
  const seconds = (ms: number) => (ms / 1000).toFixed(3);
  lines.push(
    `<testsuites name="evalctl" tests="${report.totals.cases}" failures="${report.totals.failed}" errors="${report.totals.errored}" time="${seconds(report.duration_ms)}">`,
  );
  for (const suite of report.suites) {
    const cases = report.cases.filter((c) => c.suite === suite.name);
    const failures = cases.filter((c) => c.status === 'failed').length;
    const errors = cases.filter((c) => c.status === 'errored').length;
    const time = cases.reduce((total, c) => total + c.duration_ms, 0);
    lines.push(
      `  <testsuite name="${escapeXml(suite.name)}" file="${escapeXml(suite.file)}" tests="${cases.length}" failures="${failures}" errors="${errors}" time="${seconds(time)}">`,
    );
    for (const result of cases) {
      const open = `    <testcase classname="${escapeXml(suite.name)}" name="${escapeXml(result.id)}" time="${seconds(result.duration_ms)}"`;
      if (result.status === 'passed') {
        lines.push(`${open}/>`);
        continue;
      }
      lines.push(`${open}>`);
      if (result.status === 'errored') {
        const why = result.error ?? Object.values(result.metrics).find((m) => m.error)?.error ?? 'errored';
        lines.push(`      <error message="${escapeXml(why)}">${escapeXml(result.error ?? describe(result))}</error>`);
      } else {
        const failed = Object.values(result.metrics).filter((m) => !m.passed).map((m) => m.metric);
        lines.push(`      <failure message="${escapeXml(`failed: ${failed.join(', ')}`)}">${escapeXml(describe(result))}</failure>`);
      }
      lines.push('    </testcase>');
    }
    lines.push('  </testsuite>');
  }
  lines.push('</testsuites>');
  return `${lines.join('\n')}\n`;
}
