import { Kysely, Migrator, PostgresDialect, type MigrationResultSet } from 'kysely';
import { POSTGRES_MIGRATIONS } from './migrations';
import { PglitePool } from './pglite-pool';
import type { Database } from './schema';
import { passwordFunction, type PostgresPasswordSource, type PostgresTls } from './credentials';

/**
 * `url`: one connection string (DATABASE_URL, local development and tests). `server`: the pieces a deployment
 * injects, with TLS and the password source explicit (never implied by a connection string's `sslmode`).
 */
export type PostgresTarget =
  | { kind: 'url'; url: string; poolSize?: number }
  | {
      kind: 'server';
      host: string;
      port: number;
      database: string;
      user: string;
      password: PostgresPasswordSource;
      tls: PostgresTls;
      poolSize?: number;
    }
  | { kind: 'embedded'; dataDir?: string };

/** The `pg` pool options of a server target: the password asked for on each new connection, TLS verified against the configured CAs. */
export function poolOptions(target: Extract<PostgresTarget, { kind: 'server' }>) {
  return {
    host: target.host,
    port: target.port,
    database: target.database,
    user: target.user,
    password: passwordFunction(target.password, target),
    // pg hands tls.connect the host, and SNI when it is a name: Node checks the certificate names that host.
    ssl: target.tls.mode === 'disable' ? false : { ca: [...target.tls.ca], rejectUnauthorized: true },
    max: target.poolSize ?? 10,
  };
}

/**
 * A kysely instance on a real server (DATABASE_URL) or on embedded PGlite (a data folder, or memory).
 * The `pg` and PGlite modules load only for the one that is used.
 */
export async function connectPostgres(target: PostgresTarget, onConnectionError?: (error: Error) => void): Promise<Kysely<Database>> {
  if (target.kind === 'url' || target.kind === 'server') {
    const { Pool, types } = await import('pg');
    // bigint counts (count(*)) as numbers; they stay far below 2^53.
    types.setTypeParser(20, (value: string) => Number(value));
    const pool = new Pool(target.kind === 'url' ? { connectionString: target.url, max: target.poolSize ?? 10 } : poolOptions(target));
    // A client whose connection the server ends (a restart, a failover, pg_terminate_backend) emits 'error':
    // while idle the pool re-emits it, while checked out (between the queries of a transaction) the client
    // does, with no listener; unhandled, either ends the process. Both are handled: the query in flight fails
    // (and is retried by its caller), the pool drops the client and opens a new one on the next query.
    pool.on('error', (error) => onConnectionError?.(error));
    pool.on('connect', (client) => client.on('error', (error) => onConnectionError?.(error)));
    return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  }
  const { PGlite } = await import('@electric-sql/pglite');
  const db = new PGlite(target.dataDir);
  await db.waitReady;
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool: new PglitePool(db) }) });
}

export function postgresMigrator(db: Kysely<Database>): Migrator {
  return new Migrator({ db, provider: { getMigrations: async () => POSTGRES_MIGRATIONS } });
}

/** Runs pending migrations; throws with the failing migration's name. */
export async function migratePostgres(db: Kysely<Database>): Promise<string[]> {
  const { error, results }: MigrationResultSet = await postgresMigrator(db).migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error) throw new Error(`Postgres migration ${failed?.migrationName ?? ''} failed: ${error instanceof Error ? error.message : String(error)}`);
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
