import { Hono } from 'hono';
import { createClient as createRedisClient } from 'redis';
import { sql } from 'kysely';
import type { PlatformConfig } from '../../src/platform/config';
import { LlmGateway } from '../../src/providers/llm-gateway';
import { RedisSharedBudget } from '../../src/providers/redis-budget';
import { RedisResponseCache } from '../../src/providers/redis-cache';
import type { ResponseCache } from '../../src/providers/cache';
import { BeeCaseConsumer } from '../../src/queue/bee-queue';
import type { CaseConsumer } from '../../src/queue/types';
import { ENGINE_VERSION } from '../../src/version';
import { ClickhouseWriter } from '../../src/store/clickhouse/writer';
import { PlatformMetrics } from '../../src/telemetry/metrics';
import { closeServer, listen, type RunningService } from '../orchestrator/main';
import { jsonLogger, openStores, type Stores } from '../stores';
import { createCaseProcessor } from './processor';

/**
 * `evalctl work`: consumes case jobs. It also serves /healthz, /readyz and /metrics on PORT for its probes
 * and Prometheus. Shutdown order: stop taking jobs and finish those in flight (up to SHUTDOWN_DRAIN_MS),
 * flush the ClickHouse writer, close the clients.
 */
export async function startWorker(config: PlatformConfig, injected: { stores?: Stores; consumer?: CaseConsumer; cache?: ResponseCache } = {}): Promise<RunningService> {
  const log = jsonLogger('worker');
  const stores = injected.stores ?? (await openStores(config));
  const metrics = new PlatformMetrics('worker', ENGINE_VERSION);
  const writer = new ClickhouseWriter(stores.clickhouse, config.clickhouseDatabase, {
    onRetry: (table, attempt, error) => {
      metrics.clickhouseRetries.inc({ table });
      log('clickhouse insert failed; retrying', { table, attempt, error: (error as Error).message });
    },
  });
  let redis: ReturnType<typeof createRedisClient> | undefined;
  if (config.redisUrl) {
    redis = createRedisClient({ url: config.redisUrl, retry_strategy: (o: { attempt: number }) => Math.min(o.attempt * 200, 3_000) });
    redis.on('error', () => undefined);
  }
  const cache = injected.cache ?? (redis ? new RedisResponseCache(redis, `${config.queue.prefix}:cache:`) : undefined);
  // The suites' per-minute limits hold for every worker together, through Redis.
  const sharedBudget = redis ? new RedisSharedBudget(redis, `${config.queue.prefix}:rate:`) : undefined;
  const gateway = new LlmGateway({ retry: config.retry, cache, env: process.env, sharedBudget });
  const consumer =
    injected.consumer ??
    new BeeCaseConsumer(
      { redisUrl: config.redisUrl!, name: config.queue.name, prefix: config.queue.prefix, stallIntervalMs: config.queue.stallIntervalMs, retries: config.queue.retries },
      config.workerConcurrency,
    );
  const processor = createCaseProcessor({ db: stores.db, writer, gateway, metrics, log });
  let rowsReported = 0;
  const probes = new Hono();
  probes.get('/healthz', (c) => c.json({ status: 'ok', version: ENGINE_VERSION }));
  probes.get('/readyz', async (c) => {
    const postgres = await sql`select 1`.execute(stores.db).then(() => 'ok', (e: Error) => e.message);
    const clickhouse = await stores.clickhouse.ping().then((r) => (r.success ? 'ok' : String(r.error)), (e: Error) => e.message);
    const ready = postgres === 'ok' && clickhouse === 'ok';
    return c.json({ ready, checks: { postgres, clickhouse } }, ready ? 200 : 503);
  });
  probes.get('/metrics', async (c) => {
    metrics.clickhouseRows.inc({ table: 'all' }, writer.rowsWritten - rowsReported);
    rowsReported = writer.rowsWritten;
    return c.text(await metrics.registry.metrics(), 200, { 'content-type': metrics.registry.contentType });
  });
  const { server, url } = await listen(probes, config.port, config.host);
  consumer.start(processor);
  log('consuming', { queue: config.queue.name, concurrency: config.workerConcurrency, url });
  return {
    url,
    async close() {
      await consumer.close(config.shutdownDrainMs);
      await processor.flush();
      await writer.close();
      await closeServer(server);
      redis?.quit();
      if (!injected.stores) await stores.close();
    },
  };
}
