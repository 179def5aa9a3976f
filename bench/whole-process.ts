import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SuiteInput } from '../src/contracts/suite';
import { readReportStreaming } from '../src/runner/report-reader';

const root = join(__dirname, '..');

/** The benchmarks' suite: each case one target call and one judge call (g_eval with given steps). */
export function benchSuite(cases: number): SuiteInput {
  return {
    name: 'bench',
    target: { type: 'openai', model: 'gpt-4o-mini', temperature: 0, system_prompt: 'Answer briefly.' },
    judge: { provider: 'openai', model: 'gpt-4o-mini' },
    metrics: [
      {
        name: 'g_eval',
        id: 'correctness',
        evaluation_steps: ['Check the answer addresses the question.', 'Check it is factually plausible.'],
        threshold: 0.5,
      },
    ],
    cases: Array.from({ length: cases }, (_, i) => ({ id: `case-${i}`, input: `Question number ${i}: what is ${i} + ${i}?` })),
  };
}

export interface ProcessFigures {
  wallMs: number;
  /** User + system CPU of the whole process, start-up included. */
  cpuMs: number;
  /** Peak resident memory of the process. */
  peakRssMb: number;
  reportBytes: number;
}

/**
 * `evalctl run` as a CI job runs it: a fresh Node process of the compiled CLI (`entry`, by default what the
 * installed package runs), reading the suite file and writing report.json. The measured process writes its
 * own CPU use and peak RSS on exit.
 */
export async function wholeProcess(url: string, cases: number, concurrency: number, entry = join(root, 'evalctl/lib/cli/entry.js')): Promise<ProcessFigures> {
  const work = mkdtempSync(join(tmpdir(), 'bench-evalctl-'));
  try {
    const suiteFile = join(work, 'suite.json');
    writeFileSync(suiteFile, JSON.stringify(benchSuite(cases)));
    const probe = join(work, 'probe.js');
    const figures = join(work, 'figures');
    writeFileSync(
      probe,
      `process.on('exit', () => { const u = process.cpuUsage(); require('fs').writeFileSync(${JSON.stringify(figures)}, JSON.stringify({ cpuMs: (u.user + u.system) / 1000, peakRssMb: process.resourceUsage().maxRSS / 1024 })); });`,
    );
    const env = { PATH: process.env.PATH, HOME: work, OPENAI_API_KEY: 'bench-key-not-secret', OPENAI_BASE_URL: `${url}/v1` };
    const report = join(work, 'report.json');
    const args = ['--require', probe, entry, 'run', suiteFile, '--concurrency', String(concurrency), '--no-cache', '--output-json', report];
    const started = performance.now();
    await new Promise<void>((resolve, reject) =>
      execFile(process.execPath, args, { cwd: work, env, maxBuffer: 16 * 1024 * 1024 }, (error, _stdout, stderr) => (error ? reject(new Error(`evalctl run failed: ${stderr.slice(-2000)}`)) : resolve())),
    );
    const wallMs = performance.now() - started;
    const reportBytes = statSync(report).size;
    // Read a case at a time, keeping none: only the totals are looked at.
    const { totals } = readReportStreaming(report, () => undefined) as { totals: { cases: number; errored: number } };
    if (totals.cases !== cases || totals.errored > 0) throw new Error(`evalctl run: ${JSON.stringify(totals)}`);
    return { wallMs, reportBytes, ...(JSON.parse(readFileSync(figures, 'utf8')) as { cpuMs: number; peakRssMb: number }) };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** The bare start-up of a Node process on this machine in this run: `node -e ''`, median of 5. */
export async function bareNodeMs(): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const started = performance.now();
    await new Promise<void>((resolve, reject) => execFile(process.execPath, ['-e', ''], (error) => (error ? reject(error) : resolve())));
    times.push(performance.now() - started);
  }
  return times.sort((a, b) => a - b)[2];
}
