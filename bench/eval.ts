import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { LlmGateway } from '../src/providers/llm-gateway';
import { runSuites } from '../src/runner/run-suites';
import { resolveSuite } from '../src/suite/load';
import { cpuSeconds, startFakeLlmProcess } from './processes';
import { runPromptfooComparison } from './promptfoo';
import { bareNodeMs, benchSuite, wholeProcess } from './whole-process';

/**
 * `npm run bench:eval`: 1,000 cases, each one target call and one LLM-judged metric (g_eval with given
 * steps: one judge call), against the fake OpenAI-compatible server at 50 ms latency, concurrency 100.
 * Ideal wall time: 1,000 × 2 × 50 ms / 100 = 1.0 s. The fake server runs in its own process so that only the
 * engine's CPU is counted. Prints, in one run: the engine in-process (first and steady state); `evalctl run` as
 * a whole process (the compiled CLI in a fresh Node, suite file to report.json: what a CI job pays) with its
 * efficiency (goal >= 0.8), CPU and peak RSS, next to the bare `node -e ''` start-up; promptfoo on the same
 * workload and server when installed (bench/setup-promptfoo.sh), wall and CPU, and the CPU ratio (goal >= 10×);
 * then 100,000 cases (BENCH_LARGE_CASES; 0 skips) at concurrency 200 with 0 ms replies: peak RSS (goal <= 300
 * MB), CPU per case (goal: no more than at 1,000 cases) and the size of report.json.
 */
const CASES = Number(process.env.BENCH_CASES ?? 1000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 100);
const LATENCY_MS = Number(process.env.BENCH_LATENCY_MS ?? 50);
/** The large run's cases (0: none). */
const LARGE_CASES = Number(process.env.BENCH_LARGE_CASES ?? 100_000);
const root = join(__dirname, '..');

async function run(url: string, cases: number) {
  const env = { OPENAI_API_KEY: 'bench-key-not-secret', OPENAI_BASE_URL: `${url}/v1` };
  const loaded = resolveSuite(benchSuite(cases), 'bench', undefined, env);
  const gateway = new LlmGateway({ env });
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const report = await runSuites([loaded], { concurrency: CONCURRENCY, gateway, env, build: { ci: null, git_sha: null, branch: null, pull_request: null, build_id: null, build_url: null } });
  const wallMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  if (report.totals.errored > 0 || report.totals.cases !== cases) throw new Error(`bench run errored: ${JSON.stringify(report.totals)}`);
  return { wallMs, cpuMsPerCase: (cpu.user + cpu.system) / 1000 / cases, calls: report.usage.by_model[0].calls };
}

async function main(): Promise<void> {
  const { url, child } = await startFakeLlmProcess(LATENCY_MS);
  const { url: url0, child: child0 } = await startFakeLlmProcess(0);
  try {
    await run(url, 100); // SDK loading, connection pool
    const serverCpuBefore = cpuSeconds(child.pid!) * 1000;
    // The first full run is what a one-shot `evalctl run` in CI sees; later runs are a long-lived worker's
    // steady state, once V8 has optimised the SDK and HTTP paths.
    const first = await run(url, CASES);
    const serverCpuMs = cpuSeconds(child.pid!) * 1000 - serverCpuBefore;
    const steadyRuns = [await run(url, CASES), await run(url, CASES), await run(url, CASES)];
    const steady = [...steadyRuns].sort((a, b) => a.wallMs - b.wallMs)[1];
    const idealMs = (CASES * 2 * LATENCY_MS) / CONCURRENCY;
    const rssMB = process.resourceUsage().maxRSS / 1024;
    const line = (label: string, r: { wallMs: number; cpuMsPerCase: number }) =>
      `${label}: wall ${(r.wallMs / 1000).toFixed(2)} s, efficiency ${(idealMs / r.wallMs).toFixed(2)}, CPU ${r.cpuMsPerCase.toFixed(2)} ms/case, ${(CASES / (r.wallMs / 1000)).toFixed(0)} cases/s`;
    console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}`);
    console.log(`workload: ${CASES} cases × (1 target call + 1 judge call) = ${first.calls} calls, ${LATENCY_MS} ms latency, concurrency ${CONCURRENCY}; ideal ${(idealMs / 1000).toFixed(2)} s`);
    console.log(line('first run ', first));
    console.log(line('steady    ', steady) + ' (median of 3 later runs)');
    console.log(`targets: efficiency >= 0.8, CPU <= 2 ms/case, peak RSS <= 250 MB`);
    console.log(`peak RSS: ${rssMB.toFixed(0)} MB over all runs`);
    console.log(`fake server CPU during the first run: ${serverCpuMs} ms (its own process, on the same ${cpus().length} cores)`);
    execFileSync('npm', ['run', 'build', '--workspace', 'evalctl'], { cwd: root, stdio: 'ignore' });
    console.log(`bare Node start-up (node -e '', median of 5): ${(await bareNodeMs()).toFixed(0)} ms`);
    const processes = [];
    for (let i = 0; i < 3; i++) processes.push(await wholeProcess(url, CASES, CONCURRENCY));
    const measured = [...processes].sort((a, b) => a.wallMs - b.wallMs)[1];
    const perCase = measured.cpuMs / CASES;
    console.log(
      `evalctl run, whole process (compiled CLI, fresh Node, suite file to report.json), median of 3: wall ${(measured.wallMs / 1000).toFixed(2)} s, efficiency ${(idealMs / measured.wallMs).toFixed(2)} (goal >= 0.8) ${idealMs / measured.wallMs >= 0.8 ? 'OK' : 'MISSED'}, CPU ${(measured.cpuMs / 1000).toFixed(2)} s (${perCase.toFixed(2)} ms per case, start-up included), peak RSS ${measured.peakRssMb.toFixed(0)} MB`,
    );
    const promptfoo = await runPromptfooComparison({ root, url, cases: CASES, concurrency: CONCURRENCY });
    if (promptfoo) {
      const ratio = promptfoo.wallMs / measured.wallMs;
      const cpuRatio = promptfoo.cpuMs / measured.cpuMs;
      console.log(`promptfoo ${promptfoo.version}, whole process: wall ${(promptfoo.wallMs / 1000).toFixed(2)} s, efficiency ${(idealMs / promptfoo.wallMs).toFixed(2)}, CPU ${(promptfoo.cpuMs / 1000).toFixed(2)} s`);
      console.log(`CPU ratio (promptfoo / evalctl, whole processes, this run): ${cpuRatio.toFixed(1)}× (goal >= 10×) ${cpuRatio >= 10 ? 'OK' : 'MISSED'}`);
      console.log(`wall ratio: ${ratio.toFixed(1)}× (the most any tool could reach against this promptfoo run: its wall / the ${(idealMs / 1000).toFixed(2)} s ideal = ${(promptfoo.wallMs / idealMs).toFixed(1)}×)`);
    } else {
      console.log('promptfoo: not installed (bash bench/setup-promptfoo.sh installs it with a Node 22 binary); comparison skipped');
    }
    if (LARGE_CASES > 0) {
      // Memory must not grow with the number of cases: the LLM answers at once, so the run is all evalctl.
      const large = await wholeProcess(url0, LARGE_CASES, 200);
      const largePerCase = large.cpuMs / LARGE_CASES;
      console.log(
        `${LARGE_CASES} cases, c200, 0 ms per call, whole process: wall ${(large.wallMs / 1000).toFixed(1)} s, CPU ${(large.cpuMs / 1000).toFixed(1)} s = ${largePerCase.toFixed(2)} ms per case (goal: no more than at ${CASES} cases, ${perCase.toFixed(2)}) ${largePerCase <= perCase ? 'OK' : 'MISSED'}, peak RSS ${large.peakRssMb.toFixed(0)} MB (goal <= 300) ${large.peakRssMb <= 300 ? 'OK' : 'MISSED'}, report.json ${(large.reportBytes / 1e6).toFixed(1)} MB`,
      );
    }
  } finally {
    child.kill();
    child0.kill();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
