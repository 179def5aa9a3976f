import type { PlatformConfig } from '../../src/platform/config';
import { openQueue, type CaseQueues } from '../../src/queue/open';
import { agreementCounts } from '../../src/store/postgres/reviews';
import { MAX_AGREEMENT_SERIES, PlatformMetrics } from '../../src/telemetry/metrics';
import { agreementOf } from '../../src/viewer/model';
import { ENGINE_VERSION } from '../../src/version';
import { closeServer, jsonLogger, listen, type RunningService } from '../runtime';
import { openStores, type Stores } from '../stores';
import { createApp } from './app';
import { startReconciler } from './reconciler';
import { startOnlineScheduler } from './online-scheduler';
import { allOnlineEvaluators } from '../../src/store/postgres/online-evaluators';
import { evaluatorThresholds } from '../../src/platform/online';

/** `evalctl serve`: the HTTP API, the queue producer and the reconciler. */
export async function startOrchestrator(config: PlatformConfig, injected: { stores?: Stores; queues?: CaseQueues } = {}): Promise<RunningService> {
  const log = jsonLogger('orchestrator');
  const stores = injected.stores ?? (await openStores(config, log));
  const queues = injected.queues ?? openQueue(config.queue);
  const queue = queues.producer;
  const metrics = new PlatformMetrics('orchestrator', ENGINE_VERSION, () => queue.stats());
  metrics.exportJudgeAgreement(async () =>
    (await agreementCounts(stores.db, { projectId: null, limit: MAX_AGREEMENT_SERIES })).map((row) => ({ project: row.project, ...agreementOf(row.metric, row) })),
  );
  metrics.exportOnlineThresholds(async () =>
    (await allOnlineEvaluators(stores.db))
      .filter((e) => e.config.enabled)
      .flatMap((e) => evaluatorThresholds(e.name, e.config).map((t) => ({ project: e.project_name, evaluator: e.name, ...t }))),
  );
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
  // The queue's epoch is checked before the API takes a run: a Redis that lost its jobs while no orchestrator
  // ran is recovered now, and a run submitted to this process is never mistaken for one to recover.
  // A Redis that does not answer within 5 s is left to the periodic check.
  await Promise.race([
    reconciler.recoverQueue().catch((error: unknown) => log('queue check at start failed', { error: (error as Error).message })),
    new Promise((resolve) => setTimeout(resolve, 5_000).unref()),
  ]);
  const online = startOnlineScheduler({ db: stores.db, clickhouse: stores.clickhouse, clickhouseDatabase: config.clickhouseDatabase, queue, metrics, log }, config.online);
  const { server, url } = await listen(app, config.port, config.host);
  log('listening', { url });
  return {
    url,
    async close() {
      await closeServer(server, config.shutdownDrainMs);
      await reconciler.stop();
      await online.stop();
      if (!injected.queues) await queues.closeProducer().catch(() => undefined);
      if (!injected.stores) await stores.close();
    },
  };
}
