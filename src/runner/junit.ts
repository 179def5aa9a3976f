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

/**
 * JUnit XML: one testsuite per suite, one testcase per case; failed metrics are failures, errors are errors.
 * Cases run concurrently, so `time` is the time spent on cases, added up: a testcase's own duration, a
 * testsuite's the sum of its cases', the testsuites' the sum of its suites' (each level adds up the one below,
 * as JUnit readers expect). The run's wall-clock time is the `wall_time_s` property of each testsuite.
 */
export function toJunitXml(report: Report): string {
  const lines = ['<?xml version="1.0" encoding="UTF-8"?>'];
  // Rounded per case first, so that every level is the exact sum of the one below as written.
  const millis = (ms: number) => Math.round(ms);
  const seconds = (ms: number) => (ms / 1000).toFixed(3);
  const suites = report.suites.map((suite) => {
    const cases = report.cases.filter((c) => c.suite === suite.name);
    return { suite, cases, time: cases.reduce((total, c) => total + millis(c.duration_ms), 0) };
  });
  lines.push(
    `<testsuites name="evalctl" tests="${report.totals.cases}" failures="${report.totals.failed}" errors="${report.totals.errored}" time="${seconds(suites.reduce((t, s) => t + s.time, 0))}">`,
  );
  for (const { suite, cases, time } of suites) {
    const failures = cases.filter((c) => c.status === 'failed').length;
    const errors = cases.filter((c) => c.status === 'errored').length;
    lines.push(
      `  <testsuite name="${escapeXml(suite.name)}" file="${escapeXml(suite.file)}" tests="${cases.length}" failures="${failures}" errors="${errors}" time="${seconds(time)}" timestamp="${escapeXml(report.started_at.replace(/Z$/, ''))}">`,
      '    <properties>',
      `      <property name="wall_time_s" value="${seconds(report.duration_ms)}"/>`,
      '    </properties>',
    );
    for (const result of cases) {
      const open = `    <testcase classname="${escapeXml(suite.name)}" name="${escapeXml(result.id)}" time="${seconds(millis(result.duration_ms))}"`;
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
