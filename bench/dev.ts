import { cpus } from 'node:os';
import { startDev } from '../services/dev';

/**
 * `npm run bench:dev`: `evalctl dev` as a developer runs it (PGlite, chdb, the in-process queue, one process),
 * given runs of deterministic cases only (recorded outputs, two deterministic metrics each: no LLM call), so
 * what is measured is the platform's own path: HTTP submit, queue, worker, Postgres, the ClickHouse outbox.
 * Prints cases per second and the process's CPU use over the run (target >= 2,000 cases/s, CPU-bound).
 */
const CASES = Number(process.env.BENCH_CASES ?? 5000);

function suite(cases: number) {
  return {
    name: 'bench-dev',
    metrics: [{ name: 'icontains', value: 'paris' }, { name: 'levenshtein', threshold: 0.5 }],
    cases: Array.from({ length: cases }, (_, i) => ({ input: `Capital of France, case ${i}?`, actual_output: i % 3 ? 'Paris' : 'Lyon', expected_output: 'Paris' })),
  };
}

async function main(): Promise<void> {
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'error' };
  const dev = await startDev({ port: 0, env, dataDir: process.env.BENCH_DATA_DIR });
  const headers = { authorization: `Bearer ${dev.apiKey}`, 'content-type': 'application/json' };
  const submitAndWait = async (cases: number) => {
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    const response = await fetch(`${dev.url}/v1/runs`, { method: 'POST', headers, body: JSON.stringify({ suite: suite(cases) }) });
    if (response.status !== 202 && response.status !== 201) throw new Error(`submit answered ${response.status}: ${await response.text()}`);
    const { id } = (await response.json()) as { id: string };
    for (;;) {
      const run = (await (await fetch(`${dev.url}/v1/runs/${id}`, { headers })).json()) as { finished_at: string | null; status: string };
      if (run.finished_at) {
        const wallMs = performance.now() - started;
        const cpu = process.cpuUsage(cpuBefore);
        if (run.status !== 'completed') throw new Error(`the bench run ended ${run.status}`);
        return { wallMs, cpuShare: (cpu.user + cpu.system) / 1000 / wallMs };
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  try {
    await submitAndWait(200); // warm-up: JIT, PGlite, chdb
    const measured = await submitAndWait(CASES);
    console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}; evalctl dev (PGlite, chdb, in-process queue)`);
    console.log(
      `dev mode, ${CASES} deterministic cases (2 metrics each): ${(measured.wallMs / 1000).toFixed(2)} s, ${Math.round(CASES / (measured.wallMs / 1000)).toLocaleString('en')} cases/s (target >= 2,000), process CPU ${(measured.cpuShare * 100).toFixed(0)} % of one core`,
    );
  } finally {
    await dev.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
