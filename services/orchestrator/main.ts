import { serve, type ServerType } from '@hono/node-server';
import type { PlatformConfig } from '../../src/platform/config';
import { BeeCaseQueue } from '../../src/queue/bee-queue';
import type { CaseQueue } from '../../src/queue/types';
import { ENGINE_VERSION } from '../../src/version';
import { PlatformMetrics } from '../../src/telemetry/metrics';
import { jsonLogger, openStores, type Stores } from '../stores';
import { createApp } from './app';
import { startReconciler } from './reconciler';

export interface RunningService {
  readonly url: string;
  /** Ordered shutdown: stop accepting, finish in-flight requests, stop background work, close clients. */
  close(): Promise<void>;
}

export function listen(app: { fetch: (request: Request) => Response | Promise<Response> }, port: number, host: string): Promise<{ server: ServerType; url: string }> {
  return new Promise((resolve) => {
    const server = serve({ fetch: app.fetch, port, hostname: host }, (info) => {
      const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
      resolve({ server, url: `http://${shown}:${info.port}` });
    });
  });
}

export const closeServer = (server: ServerType): Promise<void> =>
  new Promise((resolve) => {
    server.close(() => resolve());
    // Idle keep-alive connections would hold close() open.
    (server as { closeIdleConnections?: () => void }).closeIdleConnections?.();
  });

/** `evalctl serve`: the HTTP API, the queue producer and the reconciler. */
export async function startOrchestrator(config: PlatformConfig, injected: { stores?: Stores; queue?: CaseQueue } = {}): Promise<RunningService> {
  const log = jsonLogger('orchestrator');
  const stores = injected.stores ?? (await openStores(config));
  const queue =
    injected.queue ??
    new BeeCaseQueue({ redisUrl: config.redisUrl!, name: config.queue.name, prefix: config.queue.prefix, retries: config.queue.retries, stallIntervalMs: config.queue.stallIntervalMs });
  const metrics = new PlatformMetrics('orchestrator', ENGINE_VERSION, () => queue.stats());
  const app = createApp({ db: stores.db, queue, clickhouse: stores.clickhouse, clickhouseDatabase: config.clickhouseDatabase, metrics, version: ENGINE_VERSION, log });
  const reconciler = startReconciler(stores.db, queue, config.reconcile, log);
  const { server, url } = await listen(app, config.port, config.host);
  log('listening', { url });
  return {
    url,
    async close() {
      await closeServer(server);
      await reconciler.stop();
      if (!injected.queue) await queue.close().catch(() => undefined);
      if (!injected.stores) await stores.close();
    },
  };
}
