import { existsSync, mkdirSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { UsageError } from '../src/cli/errors';
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
  /** The worker's own address (its /metrics and probes). */
  readonly workerUrl: string;
}

/** A data folder that does not exist yet is made (its parent must exist); a path that is not a folder is refused. */
export function prepareDataDir(dataDir: string): void {
  if (existsSync(dataDir)) {
    if (!statSync(dataDir).isDirectory()) throw new UsageError(`--data-dir ${dataDir}: not a folder`);
    return;
  }
  if (!existsSync(dirname(resolve(dataDir)))) throw new UsageError(`--data-dir ${dataDir}: neither it nor its parent folder ${dirname(resolve(dataDir))} exists`);
  mkdirSync(dataDir);
}

/**
 * `npm run dev` / `evalctl dev`: orchestrator and worker in one process with nothing else running.
 * Postgres → PGlite, ClickHouse → chdb, the queue → an in-process queue; DATABASE_URL, REDIS_URL and
 * CLICKHOUSE_URL switch each to a real server. Data lives in `dataDir` when given, else in memory / a
 * temporary folder.
 */
export async function startDev(options: { port?: number; workerPort?: number; dataDir?: string; env?: NodeJS.ProcessEnv; project?: string }): Promise<DevService> {
  const env = { ...(options.env ?? process.env) };
  if (options.dataDir) prepareDataDir(options.dataDir);
  if (options.port !== undefined) env.PORT = String(options.port);
  env.HOST ??= '127.0.0.1';
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'evalctl-dev-'));
  const config = readPlatformConfig(env, { embedded: true, dataDir: options.dataDir ?? dataDir });
  if (!options.dataDir && config.postgres.kind === 'embedded') config.postgres = { kind: 'embedded' };
  const stores = await openStores(config);
  await migrateStores(stores, config);
  const queues = openQueue(config.queue);
  const orchestrator = await startOrchestrator(config, { stores, queues });
  const worker = await startWorker({ ...config, port: options.workerPort ?? 0 }, { stores, queues });
  const project = options.project ?? 'default';
  const { key } = await createApiKey(stores.db, project);
  return {
    url: orchestrator.url,
    workerUrl: worker.url,
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
