import { cpus } from 'node:os';
import { peakRssMb } from './processes';
import { deployedContainers } from '../test/support/environments';
import { createTestDatabase, deleteRedisPrefix, largestRefusedSubmission, spawnClickhouse, spawnService, tenantPlatformEnv, TEST_REDIS_URL, uniqueName } from '../test/support/platform';

/**
 * `npm run bench:ingest`: the orchestrator's memory under the largest submissions, as the dev Deployment runs
 * it (its NODE_OPTIONS heap cap, the smallest orchestrator memory limit of the environments, 512 MiB). Each
 * round starts a fresh orchestrator, posts six concurrent bodies of 27.8 MiB (300,000 small cases each, the
 * costliest shape to parse) and reads its peak resident memory (VmHWM). Target: every round's peak under the
 * memory limit. (tenant-safety.integration.test.ts holds the behaviour: each body read or deferred, the process
 * alive under its heap cap, still answering.)
 */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const BODIES = 6;

async function main(): Promise<void> {
  const deployed = deployedContainers('dev').orchestrator;
  const [database, clickhouse] = await Promise.all([createTestDatabase(), spawnClickhouse()]);
  const prefix = uniqueName('bqingest');
  try {
    const platform = tenantPlatformEnv({ databaseUrl: database.url, clickhouseUrl: clickhouse.url, queuePrefix: prefix }, { openaiBaseUrl: 'http://127.0.0.1:9/v1', apiKey: 'unused' }, ['ingest']);
    const [key] = platform.keys;
    const body = largestRefusedSubmission();
    const peaks: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const orchestrator = await spawnService('serve', { ...platform.env, NODE_OPTIONS: deployed.env.NODE_OPTIONS });
      const started = Date.now();
      const statuses = await Promise.all(
        Array.from({ length: BODIES }, () =>
          fetch(`${orchestrator.url}/v1/runs`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body }).then(async (r) => {
            await r.arrayBuffer();
            return r.status;
          }),
        ),
      );
      const peak = peakRssMb(orchestrator.child.pid!);
      peaks.push(peak);
      console.log(`round ${round + 1}: peak ${peak.toFixed(0)} MiB, answers ${statuses.sort().join(' ')} in ${Date.now() - started} ms`);
      await orchestrator.stop('SIGTERM');
    }
    const sorted = [...peaks].sort((a, b) => a - b);
    const over = peaks.filter((p) => p >= deployed.memoryLimitMiB).length;
    console.log(
      `\n${BODIES} concurrent bodies of ${(body.length / 1048576).toFixed(1)} MiB, ${ROUNDS} rounds, ${cpus().length} × ${cpus()[0]?.model}, Node ${process.version}:\n` +
        `  orchestrator peak RSS: median ${sorted[Math.floor(sorted.length / 2)].toFixed(0)} MiB, max ${sorted.at(-1)!.toFixed(0)} MiB; limit ${deployed.memoryLimitMiB} MiB (heap cap: ${deployed.env.NODE_OPTIONS})\n` +
        `  ${over === 0 ? 'PASS' : 'FAIL'}: ${over} of ${ROUNDS} rounds at or over the limit`,
    );
    if (over > 0) process.exitCode = 1;
  } finally {
    await Promise.allSettled([database.drop(), clickhouse.stop(), deleteRedisPrefix(TEST_REDIS_URL, prefix)]);
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
