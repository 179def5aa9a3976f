import type { PlatformConfig } from '../../src/platform/config';
import { openQueue, type CaseQueues } from '../../src/queue/open';
import { PlatformMetrics } from '../../src/telemetry/metrics';
import { ENGINE_VERSION } from '../../src/version';
import { closeServer, jsonLogger, listen, type RunningService } from '../runtime';
import { openStores, type Stores } from '../stores';
import { createApp } from './app';
import { startReconciler } from './reconciler';

/** `evalctl serve`: the HTTP API, the queue producer and the reconciler. */
export async function startOrchestrator(config: PlatformConfig, injected: { stores?: Stores; queues?: CaseQueues } = {}): Promise<RunningService> {
  const log = jsonLogger('orchestrator');
  const stores = injected.stores ?? (await openStores(config, log));
  const queues = injected.queues ?? openQueue(config.queue);
  const queue = queues.producer;
  const metrics = new PlatformMetrics('orchestrator', ENGINE_VERSION, () => queue.stats());
  const app = createApp({
    db: stores.db,
    queue,
    clickhouse: stores.clickhouse,
    clickhouseDatabase: config.clickhouseDatabase,
    metrics,
    version: ENGINE_VERSION,
    limits: config.limits,
    tenancy: config.tenancy,
    log,
  });
  const reconciler = startReconciler(stores.db, queue, { ...config.reconcile, epochCheckMs: config.queueEpochCheckMs }, log);
  const { server, url } = await listen(app, config.port, config.host);
  log('listening', { url });
  return {
    url,
    async close() {
      await closeServer(server, config.shutdownDrainMs);
      await reconciler.stop();
      if (!injected.queues) await queues.closeProducer().catch(() => undefined);
      if (!injected.stores) await stores.close();
    },
  };
}
