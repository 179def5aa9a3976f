import { createClient as createRedisClient } from 'redis';
import type { PlatformConfig } from '../../src/platform/config';
import type { ResponseCache } from '../../src/providers/cache';
import { LlmGateway } from '../../src/providers/llm-gateway';
import { RedisSharedBudget } from '../../src/providers/redis-budget';
import { RedisResponseCache } from '../../src/providers/redis-cache';
import { redisOptions } from '../../src/queue/bee-queue';
import { openQueue, type CaseQueues } from '../../src/queue/open';
import { ClickhouseOutboxDrainer } from '../../src/store/clickhouse-outbox';
import { PlatformMetrics } from '../../src/telemetry/metrics';
import { ENGINE_VERSION } from '../../src/version';
import { clickhouseCheck, closeServer, jsonLogger, listen, operationsRoutes, postgresCheck, type RunningService } from '../runtime';
import { openStores, type Stores } from '../stores';
import { createCaseProcessor } from './processor';

/**
 * `evalctl work`: consumes case jobs. It also serves /healthz, /readyz and /metrics on PORT for its probes
 * and Prometheus. Shutdown order: stop taking jobs and finish those in flight (up to SHUTDOWN_DRAIN_MS),
 * flush the ClickHouse writer, close the clients.
 */
export async function startWorker(config: PlatformConfig, injected: { stores?: Stores; queues?: CaseQueues; cache?: ResponseCache } = {}): Promise<RunningService> {
  const log = jsonLogger('worker');
  const stores = injected.stores ?? (await openStores(config, log));
  const metrics = new PlatformMetrics('worker', ENGINE_VERSION);
  // Results reach ClickHouse through the Postgres outbox: a ClickHouse outage delays them and fails nothing.
  let lastDrainError = 0;
  const drainer = new ClickhouseOutboxDrainer(stores.db, stores.clickhouse, config.clickhouseDatabase, {
    onError: (error) => {
      metrics.clickhouseRetries.inc({ table: 'outbox' });
      // One line per 10 s at most while ClickHouse (or Postgres) is down.
      if (Date.now() - lastDrainError > 10_000) log('clickhouse outbox drain failed; retrying', { error: (error as Error).message });
      lastDrainError = Date.now();
    },
  });
  const target = config.queue.target;
  const redis = target.kind === 'redis' ? createRedisClient(redisOptions(target.url)) : undefined;
  redis?.on('error', () => undefined);
  const cache = injected.cache ?? (redis ? new RedisResponseCache(redis, `${config.queue.prefix}:cache:`) : undefined);
  // The suites' per-minute limits hold for every worker together, through Redis.
  const sharedBudget = redis ? new RedisSharedBudget(redis, `${config.queue.prefix}:rate:`) : undefined;
  const gateway = new LlmGateway({ retry: config.retry, cache, env: process.env, sharedBudget, endpoints: config.tenancy.endpoints });
  const consumer = (injected.queues ?? openQueue(config.queue)).consumer(config.workerConcurrency);
  const processor = createCaseProcessor({
    db: stores.db,
    gateway,
    tenancy: config.tenancy,
    storeRetryMs: config.storeRetryMs,
    callBodies: config.callBodies,
    onRunFinished: () => drainer.drainSoon(),
    metrics,
    log,
  });
  let rowsReported = 0;
  const probes = operationsRoutes({
    version: ENGINE_VERSION,
    metrics,
    // Results wait in the outbox while ClickHouse is down: reported, not required.
    checks: { postgres: postgresCheck(stores.db) },
    reported: { clickhouse: clickhouseCheck(stores.clickhouse) },
    log,
    beforeScrape: () => {
      metrics.clickhouseRows.inc({ table: 'all' }, drainer.rowsWritten - rowsReported);
      rowsReported = drainer.rowsWritten;
    },
  });
  const { server, url } = await listen(probes, config.port, config.host);
  drainer.start();
  consumer.start(processor);
  log('consuming', { queue: config.queue.name, concurrency: config.workerConcurrency, url });
  return {
    url,
    async close() {
      await consumer.close(config.shutdownDrainMs);
      await processor.flush();
      // What this worker committed is in the outbox; another worker drains what is left after the deadline.
      await drainer.stop(Math.min(config.shutdownDrainMs, 5_000));
      await closeServer(server);
      redis?.quit();
      if (!injected.stores) await stores.close();
    },
  };
}
