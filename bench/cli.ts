import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * `npm run bench:cli`: start-up of the installed evalctl as a whole process. Packs the CLI, installs the
 * tarball into a scratch project as another repository would, then times `evalctl --version` (and, for
 * context, `npx evalctl --version`, `evalctl gate` and a deterministic `evalctl run`) against a bare
 * `node -e ''` measured in the same loop. Goal: `--version` within 3× bare node.
 */
const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const root = join(__dirname, '..');
const node = process.execPath;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

function timed(command: string, args: string[], cwd: string): number {
  const started = process.hrtime.bigint();
  execFileSync(command, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  return Number(process.hrtime.bigint() - started) / 1e6;
}

function main(): void {
  const work = mkdtempSync(join(tmpdir(), 'bench-cli-'));
  try {
    const packed = execFileSync('npm', ['pack', '--workspace', 'evalctl', '--pack-destination', work, '--json'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const tarball = join(work, (JSON.parse(packed.slice(packed.indexOf('['))) as Array<{ filename: string }>)[0].filename);
    const app = join(work, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'bench-app', private: true }));
    execFileSync('npm', ['install', '--save-dev', '--no-audit', '--no-fund', '--prefer-offline', tarball], { cwd: app, stdio: 'ignore' });
    writeFileSync(
      join(app, 'suite.yaml'),
      'name: bench\nmetrics: [{ name: exact_match }]\ncases:\n  - { input: q, actual_output: a, expected_output: a }\n',
    );
    const bin = join(app, 'node_modules/@ai-eval-platform/evalctl/bin/evalctl.js');
    execFileSync(node, [bin, 'run', 'suite.yaml', '--output-json', 'report.json'], { cwd: app, stdio: 'ignore' });
    const series: Record<string, number[]> = { bare: [], version: [], npx: [], gate: [], run: [] };
    for (let i = 0; i < RUNS; i++) {
      series.bare.push(timed(node, ['-e', ''], app));
      series.version.push(timed(node, [bin, '--version'], app));
      series.gate.push(timed(node, [bin, 'gate', 'report.json', '--min', 'exact_match=1'], app));
      series.run.push(timed(node, [bin, 'run', 'suite.yaml', '--no-cache'], app));
      if (i < 5) series.npx.push(timed('npx', ['--no-install', 'evalctl', '--version'], app));
    }
    const bare = median(series.bare);
    const line = (label: string, values: number[], goal = '') =>
      `${label.padEnd(40)} ${median(values).toFixed(0).padStart(5)} ms  ${(median(values) / bare).toFixed(2).padStart(5)}× bare${goal}`;
    const ratio = median(series.version) / bare;
    console.log(`bench:cli on ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}; medians of ${RUNS} runs (npx: 5)`);
    console.log(line("node -e ''", series.bare));
    console.log(line('evalctl --version', series.version, `   goal <= 3×: ${ratio <= 3 ? 'met' : 'MISSED'}`));
    console.log(line('npx evalctl --version (npm resolving)', series.npx));
    console.log(line('evalctl gate report.json --min', series.gate));
    console.log(line('evalctl run (1 deterministic case)', series.run));
    process.exitCode = ratio <= 3 ? 0 : 1;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main();
