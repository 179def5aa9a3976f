import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readPlatformConfig } from '../src/platform/config';
import { openQueue } from '../src/queue/open';
import { createApiKey } from '../src/store/postgres/projects';
import { startOrchestrator } from './orchestrator/main';
import type { RunningService } from './runtime';
import { migrateStores, openStores } from './stores';
import { startWorker } from './worker/main';

export interface DevService extends RunningService {
  readonly apiKey: string;
  readonly project: string;
}

/**
 * `npm run dev` / `evalctl dev`: orchestrator and worker in one process with nothing else running.
 * Postgres → PGlite, ClickHouse → chdb, the queue → an in-process queue; DATABASE_URL, REDIS_URL and
 * CLICKHOUSE_URL switch each to a real server. Data lives in `dataDir` when given, else in memory / a
 * temporary folder.
 */
export async function startDev(options: { port?: number; dataDir?: string; env?: NodeJS.ProcessEnv; project?: string }): Promise<DevService> {
  const env = { ...(options.env ?? process.env) };
  if (options.port !== undefined) env.PORT = String(options.port);
  env.HOST ??= '127.0.0.1';
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'evalctl-dev-'));
  const config = readPlatformConfig(env, { embedded: true, dataDir: options.dataDir ?? dataDir });
  if (!options.dataDir && config.postgres.kind === 'embedded') config.postgres = { kind: 'embedded' };
  const stores = await openStores(config);
  await migrateStores(stores, config);
  const queues = openQueue(config.queue);
  const orchestrator = await startOrchestrator(config, { stores, queues });
  const worker = await startWorker({ ...config, port: 0 }, { stores, queues });
  const project = options.project ?? 'default';
  const { key } = await createApiKey(stores.db, project);
  return {
    url: orchestrator.url,
    apiKey: key,
    project,
    async close() {
      await orchestrator.close();
      await worker.close();
      await queues.closeProducer();
      await stores.close();
    },
  };
}
