import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * `npm run bench:synth`: synthesizes every environment (Terraform, Kubernetes, go-live) in one fresh Node
 * process, several times, and prints the median wall time, the peak RSS and the ratio to a bare
 * `node -e ''` start measured in the same run. Targets on a 2-core machine: <= 1.5 s and <= 300 MB.
 * It runs the compiled JavaScript, as a consumer of the packed library would.
 */
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const root = join(__dirname, '..');
const node = process.execPath;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

function main(): void {
  const work = mkdtempSync(join(tmpdir(), 'bench-synth-'));
  const rssFile = join(work, 'rss');
  const probe = join(work, 'probe.js');
  // The measured process writes its own peak RSS on exit.
  writeFileSync(probe, `process.on('exit', () => require('fs').writeFileSync(${JSON.stringify(rssFile)}, String(process.resourceUsage().maxRSS)));`);
  const run = (args: string[]) => {
    const started = process.hrtime.bigint();
    execFileSync(node, ['--require', probe, ...args], { cwd: work, stdio: ['ignore', 'ignore', 'inherit'] });
    return { wallMs: Number(process.hrtime.bigint() - started) / 1e6, rssMB: Number(readFileSync(rssFile, 'utf8')) / 1024 };
  };
  try {
    execFileSync('npm', ['run', 'build', '--workspace', 'constructs'], { cwd: root, stdio: 'ignore' });
    execFileSync(node, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'bench/tsconfig.json')], { stdio: 'inherit' });
    // The pinned release records are data beside the compiled synth, as they are beside its sources.
    cpSync(join(root, 'synth/releases'), join(root, '.tmp/bench-build/synth/releases'), { recursive: true });
    const entry = join(root, '.tmp/bench-build/synth/all.js');
    const bare: number[] = [];
    const synth: { wallMs: number; rssMB: number }[] = [];
    for (let i = 0; i < RUNS; i++) {
      bare.push(run(['-e', '']).wallMs);
      synth.push(run([entry]));
    }
    const wall = median(synth.map((s) => s.wallMs));
    const rss = Math.max(...synth.map((s) => s.rssMB));
    const bareMs = median(bare);
    console.log(`bench:synth  runs=${RUNS}  environments=dev,prod  node=${process.version}  cores=${cpus().length}`);
    console.log(`  synth all (Terraform + Kubernetes + go-live): median wall ${(wall / 1000).toFixed(2)} s (target <= 1.50 s) ${wall <= 1500 ? 'OK' : 'MISSED'}`);
    console.log(`  peak RSS ${rss.toFixed(0)} MB (target <= 300 MB) ${rss <= 300 ? 'OK' : 'MISSED'}`);
    console.log(`  bare node -e '' median ${bareMs.toFixed(0)} ms; synth / bare start = ${(wall / bareMs).toFixed(1)}x`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main();
