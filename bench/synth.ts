import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * `npm run bench:synth`: `npm run synth` as users run it (npm, then scripts/run-synth.js running the
 * compiled entry, rebuilt only when a source changed) synthesizing every environment (Terraform, Kubernetes,
 * go-live), several times, in the checkout (its cdktf.out/ and dist/ are put back afterwards); prints the
 * median wall time against the goal, the same without npm's own start-up, one run that must compile first
 * (a fresh clone or a changed source), the peak RSS of the synth process, and a bare `node -e ''` start
 * measured in the same loop.
 * Targets on a 2-core machine: `npm run synth` <= 1.5 s, peak RSS <= 300 MB.
 */
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const root = join(__dirname, '..');
const node = process.execPath;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

function main(): void {
  const work = mkdtempSync(join(tmpdir(), 'bench-synth-'));
  const rssFile = join(work, 'rss');
  const probe = join(work, 'probe.js');
  // The synth process writes its own peak RSS on exit (NODE_OPTIONS reaches it through npm).
  writeFileSync(probe, `process.on('exit', () => { if (process.mainModule && process.mainModule.filename.endsWith('run-synth.js')) require('fs').writeFileSync(${JSON.stringify(rssFile)}, String(process.resourceUsage().maxRSS)); });`);
  const env = { ...process.env, NODE_OPTIONS: `--require ${probe}` };
  const time = (command: string, args: string[]) => {
    const started = process.hrtime.bigint();
    execFileSync(command, args, { cwd: root, env, stdio: ['ignore', 'ignore', 'inherit'] });
    return Number(process.hrtime.bigint() - started) / 1e6;
  };
  const cache = join(root, 'node_modules/.cache/ai-eval-platform/synth');
  // The synthesized folders are the user's: kept as they were, and left absent where they were (a fresh clone).
  const saved = join(work, 'saved');
  const folders = ['cdktf.out', 'dist'].map((name) => ({ name, existed: existsSync(join(root, name)) }));
  for (const { name, existed } of folders) if (existed) cpSync(join(root, name), join(saved, name), { recursive: true });
  try {
    rmSync(cache, { recursive: true, force: true });
    const compiling = time('npm', ['run', '--silent', 'synth']);
    const bare: number[] = [];
    const npmRuns: number[] = [];
    const direct: number[] = [];
    const rss: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      bare.push(time(node, ['-e', '']));
      npmRuns.push(time('npm', ['run', '--silent', 'synth']));
      rss.push(Number(readFileSync(rssFile, 'utf8')) / 1024);
      direct.push(time(node, ['scripts/run-synth.js', 'synth/all.ts']));
    }
    const wall = median(npmRuns);
    const peak = Math.max(...rss);
    console.log(`bench:synth  runs=${RUNS}  environments=dev,prod  node=${process.version}  cores=${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}`);
    console.log(`  npm run synth (Terraform + Kubernetes + go-live): median wall ${(wall / 1000).toFixed(2)} s (target <= 1.50 s) ${wall <= 1500 ? 'OK' : 'MISSED'}`);
    console.log(`  the same without npm (node scripts/run-synth.js synth/all.ts): median ${(median(direct) / 1000).toFixed(2)} s`);
    console.log(`  first run after a source change (compiles first): ${(compiling / 1000).toFixed(2)} s`);
    console.log(`  peak RSS ${peak.toFixed(0)} MB (target <= 300 MB) ${peak <= 300 ? 'OK' : 'MISSED'}`);
    console.log(`  bare node -e '' median ${median(bare).toFixed(0)} ms; npm run synth / bare start = ${(wall / median(bare)).toFixed(1)}x`);
  } finally {
    for (const { name, existed } of folders) {
      rmSync(join(root, name), { recursive: true, force: true });
      if (existed) cpSync(join(saved, name), join(root, name), { recursive: true });
    }
    rmSync(work, { recursive: true, force: true });
  }
}

main();
