import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpuSeconds, peakRssMb, rssMb, startFakeLlmProcess } from './processes';
import { LlmGateway } from '../src/providers/llm-gateway';
import { runSuites } from '../src/runner/run-suites';
import { resolveSuite } from '../src/suite/load';
import { connectClickhouse } from '../src/store/clickhouse/connect';
import { migrateClickhouse } from '../src/store/clickhouse/migrations';
import { clickhouseTime, type ResultRow } from '../src/store/clickhouse/tables';
import { outboxBacklog } from '../src/store/clickhouse-outbox';
import { connectPostgres } from '../src/store/postgres/connect';
import { ClickhouseWriter } from '../src/store/clickhouse/writer';
import {
  createTestDatabase,
  deleteRedisPrefix,
  ROOT,
  serviceEnv,
  spawnClickhouse,
  spawnService,
  TEST_REDIS_URL,
  uniqueName,
  type ChildService,
} from '../test/support/platform';

/**
 * `npm run bench:platform`: the platform as deployed, on this machine. An orchestrator and two worker
 * processes (concurrency 100 each; the compiled services, run as the images run them) against real Postgres and Redis, chdb behind ClickHouse's HTTP interface,
 * and the fake LLM (its own process) at 50 ms. Prints: efficiency of a 1,000-case run submitted over HTTP
 * (one target call and one judge call per case; ideal = 1,000 × 2 × 50 ms / 200), its CPU per case over every
 * platform process next to the engine's in this process on the same suite and server (the ratio's goal is
 * <= 1.5×), the time to accept a 10,000-case submission, rows per second through the ClickHouse writer, each
 * process's peak RSS; then a run of 100,000 cases (BENCH_LARGE_CASES; 0 skips): accepted (<= 2 s), finished,
 * its CPU per case, its report streamed and its results paged, and every service's peak RSS against its
 * container's memory limit in the dev environment.
 */
const CASES = Number(process.env.BENCH_CASES ?? 1000);
/** The large run's cases (0: none). */
const LARGE_CASES = Number(process.env.BENCH_LARGE_CASES ?? 100_000);
/** The containers' memory limits in the dev environment (synth/environments/dev.ts). */
const LIMIT_MB = { orchestrator: 512, worker: 1024 };
const LATENCY_MS = 50;
const CONCURRENCY = 100;

/** Every process of a program (Postgres backends, redis-server). */
function pidsOf(name: string): number[] {
  try {
    return execFileSync('pgrep', ['-f', name], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function suite(cases: number) {
  return {
    name: 'bench',
    target: { type: 'openai', model: 'gpt-4o-mini', temperature: 0.2 },
    judge: { provider: 'openai', model: 'gpt-4o-mini', temperature: 0.2 },
    metrics: [{ name: 'g_eval', evaluation_steps: ['Does the answer address the question?'] }],
    cases: Array.from({ length: cases }, (_, i) => ({ input: `Question ${i}?` })),
  };
}

async function writerThroughput(): Promise<{ http: number; embedded: number }> {
  const rows = Array.from({ length: 200_000 }, (_, i): ResultRow => ({
    project: 'bench', run_id: `run-${Math.floor(i / 1000)}`, suite: 'bench', case_index: i % 1000, case_id: `c${i}`, metric: 'g_eval', metric_name: 'g_eval',
    score: (i % 10) / 10, passed: 1, errored: 0, threshold: 0.5, reason: 'The answer addresses the question.', judge_model: 'openai/gpt-4o-mini',
    judge_input_tokens: 120, judge_output_tokens: 20, judge_cost_usd: 0.00003, target_latency_ms: 51.2, duration_ms: 52.1, topic: 'bench', tags: ['a'],
    git_sha: 'abc', branch: 'main', pull_request: '', build_id: '1', run_created_at: clickhouseTime(new Date()), version: 1,
  }));
  const measure = async (client: Awaited<ReturnType<typeof connectClickhouse>>) => {
    const database = uniqueName('bench');
    await migrateClickhouse(client, database);
    const writer = new ClickhouseWriter(client, database, { maxRows: 20_000 });
    const started = performance.now();
    // Jobs add their rows in small groups, as the workers do.
    await Promise.all(Array.from({ length: rows.length / 50 }, (_, i) => writer.add('results', rows.slice(i * 50, i * 50 + 50))));
    return rows.length / ((performance.now() - started) / 1000);
  };
  const bridge = await spawnClickhouse();
  const overHttp = await connectClickhouse({ kind: 'url', url: bridge.url });
  const http = await measure(overHttp);
  await overHttp.close();
  await bridge.stop();
  const dir = mkdtempSync(join(tmpdir(), 'bench-chdb-'));
  const embeddedClient = await connectClickhouse({ kind: 'embedded', dataDir: dir });
  const embedded = await measure(embeddedClient);
  await embeddedClient.close();
  rmSync(dir, { recursive: true, force: true });
  return { http, embedded };
}

/**
 * The same suite through the engine in this process (no orchestrator, queue or stores), concurrency 200 as the
 * two workers together: a 200-case warm-up, then the median CPU per case of three runs, as the workers are
 * measured warm.
 */
async function engineCpuPerCase(url: string): Promise<number> {
  const env = { OPENAI_API_KEY: 'bench-key-not-secret', OPENAI_BASE_URL: `${url}/v1` };
  const gateway = new LlmGateway({ env });
  const build = { ci: null, git_sha: null, branch: null, pull_request: null, build_id: null, build_url: null };
  const once = async (cases: number) => {
    const loaded = resolveSuite(suite(cases), 'bench', undefined, env);
    const before = process.cpuUsage();
    const report = await runSuites([loaded], { concurrency: 2 * CONCURRENCY, gateway, env, build });
    const used = process.cpuUsage(before);
    if (report.totals.errored > 0) throw new Error(`the engine's run errored: ${JSON.stringify(report.totals)}`);
    return (used.user + used.system) / 1000 / cases;
  };
  await once(200);
  const runs = [await once(CASES), await once(CASES), await once(CASES)];
  return runs.sort((a, b) => a - b)[1];
}

async function main(): Promise<void> {
  const prefix = uniqueName('bqbench');
  const fake = await startFakeLlmProcess(LATENCY_MS);
  const [database, clickhouse] = await Promise.all([createTestDatabase(), spawnClickhouse()]);
  const env = {
    ...serviceEnv({ databaseUrl: database.url, clickhouseUrl: clickhouse.url, queuePrefix: prefix }, { openaiBaseUrl: `${fake.url}/v1`, apiKey: 'bench-key-not-secret' }),
    WORKER_CONCURRENCY: String(CONCURRENCY),
    MAX_CASES_PER_RUN: String(Math.max(LARGE_CASES, 100_000)),
    ...(process.env.LLM_CALL_BODY_RETENTION_DAYS ? { LLM_CALL_BODY_RETENTION_DAYS: process.env.LLM_CALL_BODY_RETENTION_DAYS } : {}),
  };
  const services: ChildService[] = [];
  let closeDb: (() => Promise<void>) | undefined;
  try {
    const cli = (args: string[]) =>
      new Promise<string>((resolve, reject) => {
        const child = spawn(process.execPath, [join(ROOT, 'bin/evalctl.js'), ...args], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
        child.on('exit', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`evalctl ${args.join(' ')} exited ${code}`))));
      });
    await cli(['migrate']);
    const key = await cli(['keys', 'create', '--project', 'bench']);
    // The services as the images run them: the compiled entry, with the image's flags.
    execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore' });
    // BENCH_PROFILE=<dir> writes a CPU profile of each worker (they stop with SIGTERM to write it).
    const profile = process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : [];
    const service = (command: 'serve' | 'work', nodeArgs: string[] = []) =>
      spawnService(command, env, [...nodeArgs, '--enable-source-maps'], join(ROOT, 'build/services/entry.js'));
    services.push(...(await Promise.all([service('serve'), service('work', profile), service('work', profile)])));
    const [orchestrator, ...workers] = services;
    const api = async (method: string, path: string, body?: unknown) => {
      // A submission carries an idempotency key, so that asking again after a dropped connection cannot run it twice.
      const idempotency: Record<string, string> = method === 'POST' ? { 'idempotency-key': uniqueName('bench') } : {};
      for (let attempt = 1; ; attempt++) {
        let response: Response;
        try {
          response = await fetch(`${orchestrator.url}${path}`, {
            method,
            headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...idempotency },
            body: body ? JSON.stringify(body) : undefined,
          });
        } catch (error) {
          // A keep-alive connection the server had just closed: asked again once, on a new one.
          if (attempt > 1 || orchestrator.child.exitCode !== null) throw error;
          continue;
        }
        // Polling every 20 ms can pass the project's request rate (20/s, burst 60) in a slow run. Read as an
        // answer, a 429 left the next run's submission without an id and the bench polling \`undefined\` forever;
        // it is asked again 50 ms later (not after retry-after's whole second, which would blur the wall time).
        if (response.status === 429) {
          await response.text();
          await new Promise((resolve) => setTimeout(resolve, 50));
          continue;
        }
        return (await response.json()) as { id: string; finished_at: string | null; status: string; progress: { completed: number } };
      }
    };
    const waitFor = async (id: string) => {
      for (;;) {
        const run = await api('GET', `/v1/runs/${id}`);
        if (run.finished_at) return run;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    // Warm-up: connections, JIT, the fake server.
    await waitFor((await api('POST', '/v1/runs', { suite: suite(Number(process.env.BENCH_WARMUP ?? 200)) })).id);

    const db = await connectPostgres({ kind: 'url', url: database.url });
    closeDb = () => db.destroy();
    const tracked = {
      orchestrator: [orchestrator.child.pid!],
      workers: workers.map((w) => w.child.pid!),
      'fake LLM': [fake.child.pid!],
      'chdb (ClickHouse)': [clickhouse.pid],
      postgres: pidsOf('postgres'),
      redis: pidsOf('redis-server'),
    };
    const cpuOf = () => Object.fromEntries(Object.entries(tracked).map(([name, pids]) => [name, pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0)]));
    const idealMs = (CASES * 2 * LATENCY_MS) / (2 * CONCURRENCY);
    const excluded = new Set(['fake LLM']);
    /**
     * One run: wall time until the run is finished (Postgres), CPU of every process until its rows are in
     * ClickHouse too (the outbox is empty), per process and summed over the platform's (the fake LLM aside).
     */
    const measure = async () => {
      const cpuBefore = cpuOf();
      const started = performance.now();
      const submitted = await api('POST', '/v1/runs', { suite: suite(CASES) });
      const run = await waitFor(submitted.id);
      const wallMs = performance.now() - started;
      if (run.status !== 'completed') throw new Error(`the bench run ended ${run.status}`);
      while ((await outboxBacklog(db)) > 0) await new Promise((resolve) => setTimeout(resolve, 20));
      const cpuAfter = cpuOf();
      const used = Object.fromEntries(Object.keys(cpuAfter).map((name) => [name, cpuAfter[name] - cpuBefore[name]]));
      const platformCpu = Object.entries(used).reduce((sum, [name, seconds]) => (excluded.has(name) ? sum : sum + seconds), 0);
      return { wallMs, used, cpuMsPerCase: (platformCpu * 1000) / CASES };
    };
    /** A run of `cases`: accepted, finished, its report streamed and its results paged, with what each cost. */
    const largeRun = async (cases: number) => {
      await new Promise((resolve) => setTimeout(resolve, 3_500));
      const cpuBefore = cpuOf();
      const started = performance.now();
      const submitted = await api('POST', '/v1/runs', { suite: suite(cases) });
      const acceptMs = performance.now() - started;
      let run = submitted;
      while (!run.finished_at) {
        await new Promise((resolve) => setTimeout(resolve, 500));
        run = await api('GET', `/v1/runs/${submitted.id}`);
      }
      const wallMs = performance.now() - started;
      while ((await outboxBacklog(db)) > 0) await new Promise((resolve) => setTimeout(resolve, 200));
      const cpuAfter = cpuOf();
      const platformCpu = Object.keys(cpuAfter).reduce((sum, name) => (excluded.has(name) ? sum : sum + cpuAfter[name] - cpuBefore[name]), 0);
      const rssNow = () => rssMb(orchestrator.child.pid!);
      const rssBeforeReport = rssNow();
      const reportStarted = performance.now();
      const response = await fetch(`${orchestrator.url}/v1/runs/${submitted.id}/report`, { headers: { authorization: `Bearer ${key}` } });
      if (!response.ok || !response.body) throw new Error(`report: ${response.status}`);
      let reportBytes = 0;
      let tail = '';
      for await (const chunk of response.body) {
        reportBytes += chunk.byteLength;
        tail = (tail + Buffer.from(chunk).toString('utf8')).slice(-64);
      }
      if (!tail.trimEnd().endsWith('}')) throw new Error('the report ended early');
      const reportMs = performance.now() - reportStarted;
      const rssAfterReport = rssNow();
      const resultsStarted = performance.now();
      let cursor: number | null = -1;
      for (let page = 0; page < 10 && cursor !== null; page++) {
        const answer = await fetch(`${orchestrator.url}/v1/runs/${submitted.id}/results?limit=500${cursor >= 0 ? `&cursor=${cursor}` : ''}`, { headers: { authorization: `Bearer ${key}` } });
        cursor = ((await answer.json()) as { next_cursor: number | null }).next_cursor;
      }
      const resultsMs = performance.now() - resultsStarted;
      return { acceptMs, wallMs, status: run.status, cpuMsPerCase: (platformCpu * 1000) / cases, reportBytes, reportMs, rssBeforeReport, rssAfterReport, resultsMs };
    };
    // Workers are long-lived: three runs in a row, the figures are their medians (each run is printed too).
    const runs = [await measure(), await measure(), await measure()];
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[1];
    const wallMs = median(runs.map((r) => r.wallMs));
    const cpuMsPerCase = median(runs.map((r) => r.cpuMsPerCase));
    const used = Object.fromEntries(Object.keys(runs[0].used).map((name) => [name, median(runs.map((r) => r.used[name]))]));
    const cpuUse = Object.entries(used).map(([name, seconds]) => `${name} ${seconds.toFixed(2)} s`);

    if (process.env.BENCH_PROFILE) {
      // The profiles cover the measured run only (and the warm-up before it).
      console.log(`run of ${CASES} cases: ${(wallMs / 1000).toFixed(2)} s, ideal ${(idealMs / 1000).toFixed(2)} s; CPU ${cpuUse.join(', ')}`);
      return;
    }
    // The polling above spends the project's request burst; a large body refused with 429 before it is read
    // ends its connection (the client sees "other side closed"), so the bucket is let refill first.
    await new Promise((resolve) => setTimeout(resolve, 3_500));
    const acceptStarted = performance.now();
    const big = await api('POST', '/v1/runs', { suite: suite(10_000) });
    const acceptMs = performance.now() - acceptStarted;
    await api('POST', `/v1/runs/${big.id}/cancel`);
    const engineMsPerCase = await engineCpuPerCase(fake.url);

    const throughput = await writerThroughput();
    console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}; Postgres and Redis local, chdb ClickHouse`);
    const efficiency = idealMs / wallMs;
    console.log(
      `run of ${CASES} cases (2 LLM calls each, ${LATENCY_MS} ms) over HTTP, 2 workers × ${CONCURRENCY}, median of 3: ${(wallMs / 1000).toFixed(2)} s, ideal ${(idealMs / 1000).toFixed(2)} s, efficiency ${efficiency.toFixed(2)} (target >= 0.7) ${efficiency >= 0.7 ? 'OK' : 'MISSED'}`,
    );
    const ratio = cpuMsPerCase / engineMsPerCase;
    console.log(`CPU per case over orchestrator, workers, Postgres, Redis and ClickHouse: ${cpuMsPerCase.toFixed(2)} ms; the engine in-process on the same suite and server, this run: ${engineMsPerCase.toFixed(2)} ms; ratio ${ratio.toFixed(2)}× (goal <= 1.5×) ${ratio <= 1.5 ? 'OK' : 'MISSED'}`);
    console.log(`CPU per run (medians), until its rows were in ClickHouse: ${cpuUse.join(', ')}`);
    console.log(`each run: ${runs.map((r) => `${(r.wallMs / 1000).toFixed(2)} s / ${r.cpuMsPerCase.toFixed(2)} ms per case`).join(', ')}`);
    console.log(`accepting a 10,000-case submission: ${(acceptMs / 1000).toFixed(2)} s (target <= 2)`);
    console.log(`ClickHouse writer: ${Math.round(throughput.embedded).toLocaleString('en')} rows/s into embedded chdb, ${Math.round(throughput.http).toLocaleString('en')} rows/s over HTTP (target >= 50,000)`);
    console.log(`peak RSS: orchestrator ${peakRssMb(orchestrator.child.pid!).toFixed(0)} MB, workers ${workers.map((w) => peakRssMb(w.child.pid!).toFixed(0)).join(' and ')} MB`);
    if (LARGE_CASES > 0) {
      const large = await largeRun(LARGE_CASES);
      const within = (mb: number, limit: number) => `${mb.toFixed(0)} MB of ${limit} ${mb <= limit ? 'OK' : 'MISSED'}`;
      console.log(
        `${LARGE_CASES.toLocaleString('en')}-case run: accepted in ${(large.acceptMs / 1000).toFixed(2)} s (goal <= 2) ${large.acceptMs <= 2000 ? 'OK' : 'MISSED'}, finished ${large.status} in ${(large.wallMs / 1000).toFixed(0)} s, CPU ${large.cpuMsPerCase.toFixed(2)} ms per case, ${(large.cpuMsPerCase / engineMsPerCase).toFixed(2)}× the engine's (goal <= 1.5×) ${large.cpuMsPerCase / engineMsPerCase <= 1.5 ? 'OK' : 'MISSED'}`,
      );
      console.log(`  report: ${(large.reportBytes / 1e6).toFixed(0)} MB streamed in ${(large.reportMs / 1000).toFixed(1)} s (orchestrator RSS ${large.rssBeforeReport.toFixed(0)} → ${large.rssAfterReport.toFixed(0)} MB); results, 10 pages of 500: ${(large.resultsMs / 1000).toFixed(2)} s`);
      console.log(
        `  peak RSS over the whole bench against the dev containers' limits: orchestrator ${within(peakRssMb(orchestrator.child.pid!), LIMIT_MB.orchestrator)}, workers ${workers.map((w) => within(peakRssMb(w.child.pid!), LIMIT_MB.worker)).join(' and ')}`,
      );
    }
  } catch (error) {
    // What the services said last is usually why.
    for (const [name, service] of services.map((s, i) => [i === 0 ? 'orchestrator' : `worker ${i}`, s] as const)) {
      console.error(`${name} (exit ${service.child.exitCode ?? service.child.signalCode ?? 'running'}), last lines:\n${service.log.slice(-8).join('\n')}`);
    }
    throw error;
  } finally {
    await Promise.all(services.map((s) => s.stop(process.env.BENCH_PROFILE ? 'SIGTERM' : 'SIGKILL')));
    await closeDb?.();
    await Promise.allSettled([database.drop(), clickhouse.stop(), deleteRedisPrefix(TEST_REDIS_URL, prefix)]);
    fake.child.kill();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
