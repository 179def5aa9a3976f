import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { CaseResult, Report } from '../../src/contracts/report';
import { main } from '../../src/cli/main';
import { CaseSpool } from '../../src/runner/case-spool';
import { evaluateGateRules, formatGateOutcome } from '../../src/runner/gate';
import { junitCase, tallyJunitCase, toJunitXml, writeJunit, type JunitSuiteTally } from '../../src/runner/junit';
import { toMarkdownComment } from '../../src/runner/markdown';
import { caseJson, reportJsonPieces } from '../../src/runner/report-json';
import { readReportStreaming } from '../../src/runner/report-reader';
import { ReportAccumulator, buildReport } from '../../src/runner/summarize';
import { expandMatrix, loadSuites, resolveSuite } from '../../src/suite/load';
import { suitesOfFixture } from '../fixtures/report-stream/suites';
import { fakeEnv, useFakeLlmServer } from '../support/engine';

const FIXTURE = join(__dirname, '../fixtures/report-stream/report.json');
/** report.json as the in-memory builder wrote it before reports were streamed (see the fixture's generate.ts). */
const golden = readFileSync(FIXTURE, 'utf8');
const goldenReport = JSON.parse(golden) as Report;
const fixtureSuites = () => suitesOfFixture().flatMap((input) => expandMatrix(resolveSuite(input, `${input.name}.yaml`, undefined, {})));
const fixtureTimes = { build: goldenReport.build, startedAt: new Date(goldenReport.started_at), finishedAt: new Date(goldenReport.finished_at) };

/** A seeded shuffle: cases finish in any order. */
function shuffled(length: number, seed: number): number[] {
  const order = Array.from({ length }, (_, i) => i);
  let state = seed;
  for (let i = length - 1; i > 0; i--) {
    state = (state * 1103515245 + 12345) % 2147483648;
    const j = state % (i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

let work: string;
const tmpdirBefore = process.env.TMPDIR;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'report-stream-'));
  // The run's temporary case files go here, where this test can see that they are removed.
  process.env.TMPDIR = join(work, 'tmp');
  mkdirSync(process.env.TMPDIR);
});
afterAll(() => {
  // The next test file in this Jest worker gets the temporary folder it had.
  if (tmpdirBefore === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = tmpdirBefore;
  rmSync(work, { recursive: true, force: true });
});

describe('the streamed report against the report the in-memory builder wrote', () => {
  test.each([1, 2, 3])('cases counted in finishing order %i and read back from disk give the same bytes', (seed) => {
    const accumulator = new ReportAccumulator(fixtureSuites(), { relevance: 0.4 });
    const spool = new CaseSpool(1);
    try {
      for (const position of shuffled(goldenReport.cases.length, seed)) {
        accumulator.add(goldenReport.cases[position], position);
        spool.add(position, [caseJson(goldenReport.cases[position])]);
      }
      const cases = function* () {
        for (let p = 0; p < goldenReport.cases.length; p++) yield spool.read(p, 0);
      };
      expect(`${[...reportJsonPieces(accumulator.head(fixtureTimes), cases())].join('')}\n`).toBe(golden);
    } finally {
      spool.close();
    }
  });

  test('the in-memory builder still writes the same bytes, and a report with no cases is valid JSON', () => {
    const report = buildReport({ suites: fixtureSuites(), cases: goldenReport.cases, thresholds: { relevance: 0.4 }, ...fixtureTimes });
    expect(`${JSON.stringify(report, null, 2)}\n`).toBe(golden);
    const empty = { ...report, cases: [] as CaseResult[] };
    const { cases: _none, ...head } = empty;
    expect([...reportJsonPieces(head, [])].join('')).toBe(JSON.stringify(empty, null, 2));
    // Keys after the cases (a platform run's budget) keep their place.
    const withBudget = { ...report, budget: { max_cost_usd: 1, spent_usd: 0.5, exceeded: false, not_evaluated: 0 } };
    const { cases, budget, ...rest } = withBudget;
    expect([...reportJsonPieces(rest, cases.map(caseJson), { budget })].join('')).toBe(JSON.stringify(withBudget, null, 2));
  });

  test('JUnit from cases tallied as they finish is the JUnit of the whole report', () => {
    const tallies = new Map<string, JunitSuiteTally>();
    const texts: string[] = [];
    for (const position of shuffled(goldenReport.cases.length, 7)) {
      tallyJunitCase(tallies, goldenReport.cases[position]);
      texts[position] = junitCase(goldenReport.cases[position]);
    }
    const lines: string[] = [];
    writeJunit((line) => lines.push(line), goldenReport, tallies, (index) => texts.filter((_, p) => goldenReport.cases[p].suite === goldenReport.suites[index].name));
    expect(`${lines.join('\n')}\n`).toBe(toJunitXml(goldenReport));
    expect(toJunitXml(goldenReport).match(/<testcase /g)).toHaveLength(90);
  });
});

describe('evalctl run streams its cases to disk and writes the report from there', () => {
  const fake = useFakeLlmServer();
  const capture = () => {
    let text = '';
    const stream = new Writable({ write: (chunk, _encoding, done) => ((text += String(chunk)), done()) }) as unknown as NodeJS.WriteStream;
    return { stream, text: () => text };
  };

  async function evalctl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const stdout = capture();
    const stderr = capture();
    const code = await main(args, { stdout: stdout.stream, stderr: stderr.stream, env: { ...fakeEnv(fake.server), LLM_RETRY_BASE_DELAY_MS: '1', LLM_RETRY_MAX_DELAY_MS: '2' } });
    return { code, stdout: stdout.text(), stderr: stderr.text() };
  }

  /** The fixture's suites with fewer cases, judged by a script: scores from the question's number, shifted by `drop`. */
  function script(drop: number) {
    fake.server.script = (request) => {
      const n = Number(/Question (\d+)/.exec(request.prompt)?.[1] ?? 0);
      // Replies arrive out of order, so cases finish out of order.
      const delayMs = (n * 7) % 23;
      // In the later run, case 8's judge fails: a case that passed now errors.
      if (request.schemaName && drop > 0 && n === 8) return { status: 400, delayMs };
      if (request.schemaName) return { json: { score: Math.max(0, (n % 11) - drop), reason: `case ${n}: "quoted" <reason>` }, delayMs };
      // Case 5 of every suite fails its target for good (a 400 is not retried): an errored case.
      if (n === 5) return { status: 400, delayMs };
      return { text: n % 3 === 0 ? `answer ${n}` : `Answer ${n} — é ✓`, delayMs };
    };
  }

  async function suiteFiles(): Promise<string[]> {
    return suitesOfFixture().map((input) => {
      const file = join(work, `${input.name}.json`);
      writeFileSync(file, JSON.stringify({ ...input, cases: input.cases!.slice(0, 12) }));
      return file;
    });
  }

  test('report.json and JUnit equal what the whole report in memory gives, in the cases’ order, and the case file is removed', async () => {
    const files = await suiteFiles();
    script(0);
    const report = join(work, 'out/report.json');
    const junit = join(work, 'out/junit.xml');
    const run = await evalctl(['run', ...files, '--no-cache', '--concurrency', '8', '--threshold', 'relevance=0.4', '--output-json', report, '--junit', junit]);
    expect(run.stderr).not.toContain('Error');
    const text = readFileSync(report, 'utf8');
    const written = JSON.parse(text) as Report;
    expect(written.totals.cases).toBe(36);
    expect(written.totals.errored).toBe(3);
    // Written in the suites' order and each suite's case order, whatever order they finished in.
    expect(written.cases.map((c) => `${c.suite}#${c.index}`)).toEqual(written.suites.flatMap((s) => Array.from({ length: s.cases }, (_, i) => `${s.name}#${i}`)));
    const loaded = await loadSuites(files, fakeEnv(fake.server));
    const inMemory = buildReport({ suites: loaded, cases: written.cases, build: written.build, thresholds: { relevance: 0.4 }, startedAt: new Date(written.started_at), finishedAt: new Date(written.finished_at) });
    expect(text).toBe(`${JSON.stringify(inMemory, null, 2)}\n`);
    expect(readFileSync(junit, 'utf8')).toBe(toJunitXml(inMemory));
    // The console shows the first errored cases in the report's order.
    expect(run.stdout).toContain(`Errored cases (first 3 of 3):\n  support / support-5: target failed`);
    expect(run.code).toBe(written.gate.passed ? 0 : 1);
    expect(readdirSync(process.env.TMPDIR!)).toEqual([]);
  });

  test('a gate over streamed reports decides, prints and comments as over reports read whole', async () => {
    const files = await suiteFiles();
    script(0);
    const base = join(work, 'base.json');
    const head = join(work, 'head.json');
    await evalctl(['run', ...files, '--no-cache', '--concurrency', '8', '--output-json', base]);
    script(3);
    await evalctl(['run', ...files, '--no-cache', '--concurrency', '8', '--output-json', head]);
    const markdown = join(work, 'comment.md');
    const gate = await evalctl(['gate', head, '--baseline', base, '--max-drop', '0.05', '--min', 'relevance=0.3', '--markdown', markdown]);
    const whole = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as Report;
    const outcome = evaluateGateRules(whole(head), { min: { relevance: 0.3 }, max: {}, baseline: whole(base), maxDrop: 0.05 });
    expect(outcome.regressions.length).toBeGreaterThan(5);
    expect(outcome.regressions.filter((r) => r.note.startsWith('now errors: '))).toHaveLength(3);
    expect(gate.stdout).toBe(`${formatGateOutcome(outcome, true)}\n`);
    expect(gate.code).toBe(outcome.passed ? 0 : 1);
    expect(gate.code).toBe(1);
    expect(readFileSync(markdown, 'utf8')).toBe(toMarkdownComment(whole(head), { outcome, baseline: whole(base), maxDrop: 0.05, links: [] }));
  });
});

describe('reading a report a case at a time', () => {
  const write = (name: string, text: string) => {
    const file = join(work, name);
    writeFileSync(file, text);
    return file;
  };

  test('any JSON layout: minified, cases first, brackets, quotes and "cases" inside strings', () => {
    const cases = [{ id: 'a', input: 'he said "[{cases}]" \\ ok', n: [1, { x: '}' }] }, { id: 'b', input: '', metrics: {} }];
    const report = { cases, summary: { 'cases': 1 }, note: '"cases": [' };
    for (const text of [JSON.stringify(report), JSON.stringify(report, null, 4), JSON.stringify({ summary: {}, x: [[]], cases })]) {
      const seen: unknown[] = [];
      const read = readReportStreaming(write('layout.json', text), (value) => (seen.push(value), (value as { id: string }).id));
      expect(seen).toEqual(cases);
      expect(read).toEqual({ ...JSON.parse(text), cases: ['a', 'b'] });
    }
  });

  test('a case larger than a read, with characters of several bytes across the reads', () => {
    const big = 'é✓𝄞'.repeat(300_000);
    const report = { summary: {}, cases: [{ id: 'big', output: big }, { id: 'next' }] };
    const read = readReportStreaming(write('big.json', JSON.stringify(report, null, 2)), (value) => value);
    expect(read).toEqual(report);
  });

  test('a broken report names the line of the case, or says what is wrong', () => {
    const text = JSON.stringify({ summary: {}, cases: [{ id: 'a' }, { id: 'b' }] }, null, 2);
    expect(() => readReportStreaming(write('bad.json', text.replace('"b"', '"b",')), (v) => v)).toThrow(/the case starting on line 7: /);
    expect(() => readReportStreaming(write('cut.json', text.slice(0, text.indexOf('"b"'))), (v) => v)).toThrow('the cases array is not closed');
    expect(() => readReportStreaming(write('num.json', '{"cases": [{}, 3]}'), (v) => v)).toThrow('line 1: an element of "cases" is not an object');
    expect(() => readReportStreaming(write('head.json', '{"summary": {,}, "cases": []}'), (v) => v)).toThrow(/JSON/);
  });
});
