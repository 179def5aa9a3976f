import type { ClickHouseClient } from '@clickhouse/client';
import type { Kysely } from 'kysely';
import type { PlatformConfig } from '../src/platform/config';
import { connectClickhouse } from '../src/store/clickhouse/connect';
import { applyCallBodyRetention, migrateClickhouse } from '../src/store/clickhouse/migrations';
import { grantApplicationRole } from '../src/store/postgres/app-role';
import { connectPostgres, migratePostgres } from '../src/store/postgres/connect';
import type { Database } from '../src/store/postgres/schema';

export interface Stores {
  readonly db: Kysely<Database>;
  readonly clickhouse: ClickHouseClient;
  close(): Promise<void>;
}

export async function openStores(config: PlatformConfig, log?: (message: string, fields?: Record<string, unknown>) => void): Promise<Stores> {
  // A connection the server ends (a restart, a failover, pg_terminate_backend) is logged and replaced; it never ends the process.
  const db = await connectPostgres(config.postgres, (error) => log?.('postgres connection lost; the pool reconnects', { error: error.message }));
  const clickhouse = await connectClickhouse(config.clickhouse);
  return {
    db,
    clickhouse,
    async close() {
      await Promise.allSettled([db.destroy(), clickhouse.close()]);
    },
  };
}

/** Postgres first (kysely's Migrator), then ClickHouse's versioned migrations. */
export async function migrateStores(stores: Stores, config: PlatformConfig): Promise<{ postgres: string[]; clickhouse: number[]; appRole?: string; retention?: string }> {
  const postgres = await migratePostgres(stores.db);
  let appRole: string | undefined;
  if (config.postgresAppUser) {
    const granted = await grantApplicationRole(stores.db, config.postgresAppUser);
    appRole = `${config.postgresAppUser} (${granted.created ? 'created' : 'granted'}${granted.iam ? ', IAM authentication' : ''})`;
  }
  const clickhouse = await migrateClickhouse(stores.clickhouse, config.clickhouseDatabase, config.clickhouseTopology);
  const retention = (await applyCallBodyRetention(stores.clickhouse, config.clickhouseDatabase, config.callBodies.retentionDays, config.clickhouseTopology))
    ? `LLM call texts kept ${config.callBodies.retentionDays} days`
    : undefined;
  return { postgres, clickhouse, appRole, retention };
}
