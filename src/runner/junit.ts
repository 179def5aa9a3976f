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

/** A suite's testcases so far: their number, failures, errors and time (each case's ms rounded, then added). */
export interface JunitSuiteTally {
  tests: number;
  failures: number;
  errors: number;
  timeMs: number;
}

/** Counts a case into its suite's tally. */
export function tallyJunitCase(tallies: Map<string, JunitSuiteTally>, result: CaseResult): void {
  const tally = tallies.get(result.suite) ?? { tests: 0, failures: 0, errors: 0, timeMs: 0 };
  tally.tests++;
  if (result.status === 'failed') tally.failures++;
  if (result.status === 'errored') tally.errors++;
  // Rounded per case first, so that every level is the exact sum of the one below as written.
  tally.timeMs += Math.round(result.duration_ms);
  tallies.set(result.suite, tally);
}

const seconds = (ms: number) => (ms / 1000).toFixed(3);

/** A case's `<testcase>` element, its lines joined. */
export function junitCase(result: CaseResult): string {
  const open = `    <testcase classname="${escapeXml(result.suite)}" name="${escapeXml(result.id)}" time="${seconds(Math.round(result.duration_ms))}"`;
  if (result.status === 'passed') return `${open}/>`;
  const lines = [`${open}>`];
  if (result.status === 'errored') {
    const why = result.error ?? Object.values(result.metrics).find((m) => m.error)?.error ?? 'errored';
    lines.push(`      <error message="${escapeXml(why)}">${escapeXml(result.error ?? describe(result))}</error>`);
  } else {
    const failed = Object.values(result.metrics).filter((m) => !m.passed).map((m) => m.metric);
    lines.push(`      <failure message="${escapeXml(`failed: ${failed.join(', ')}`)}">${escapeXml(describe(result))}</failure>`);
  }
  lines.push('    </testcase>');
  return lines.join('\n');
}

/**
 * Writes JUnit XML line by line: `tallies` per suite name, `casesOf(i)` the testcase elements of the report's
 * i-th suite in order. `toJunitXml` and the streamed run write the same text through it.
 */
export function writeJunit(
  write: (line: string) => void,
  head: Pick<Report, 'totals' | 'suites' | 'started_at' | 'duration_ms'>,
  tallies: ReadonlyMap<string, JunitSuiteTally>,
  casesOf: (suite: number) => Iterable<string>,
): void {
  const empty: JunitSuiteTally = { tests: 0, failures: 0, errors: 0, timeMs: 0 };
  const total = head.suites.reduce((t, s) => t + (tallies.get(s.name) ?? empty).timeMs, 0);
  write('<?xml version="1.0" encoding="UTF-8"?>');
  write(`<testsuites name="evalctl" tests="${head.totals.cases}" failures="${head.totals.failed}" errors="${head.totals.errored}" time="${seconds(total)}">`);
  head.suites.forEach((suite, index) => {
    const tally = tallies.get(suite.name) ?? empty;
    write(
      `  <testsuite name="${escapeXml(suite.name)}" file="${escapeXml(suite.file)}" tests="${tally.tests}" failures="${tally.failures}" errors="${tally.errors}" time="${seconds(tally.timeMs)}" timestamp="${escapeXml(head.started_at.replace(/Z$/, ''))}">`,
    );
    write('    <properties>');
    write(`      <property name="wall_time_s" value="${seconds(head.duration_ms)}"/>`);
    write('    </properties>');
    for (const testcase of casesOf(index)) write(testcase);
    write('  </testsuite>');
  });
  write('</testsuites>');
}

/**
 * JUnit XML: one testsuite per suite, one testcase per case; failed metrics are failures, errors are errors.
 * Cases run concurrently, so `time` is the time spent on cases, added up: a testcase's own duration, a
 * testsuite's the sum of its cases', the testsuites' the sum of its suites' (each level adds up the one below,
 * as JUnit readers expect). The run's wall-clock time is the `wall_time_s` property of each testsuite.
 */
export function toJunitXml(report: Report): string {
  const tallies = new Map<string, JunitSuiteTally>();
  for (const result of report.cases) tallyJunitCase(tallies, result);
  const lines: string[] = [];
  writeJunit((line) => lines.push(line), report, tallies, (index) => report.cases.filter((c) => c.suite === report.suites[index].name).map(junitCase));
  return `${lines.join('\n')}\n`;
}
