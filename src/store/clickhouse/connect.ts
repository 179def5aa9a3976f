import type { ClickHouseClient } from '@clickhouse/client';

export type ClickhouseTarget =
  | { kind: 'url'; url: string; username?: string; password?: string }
  /** chdb, the ClickHouse engine in-process, through @clickhouse/client's connection hook. */
  | { kind: 'embedded'; dataDir: string };

/** A ClickHouse name that needs no quoting: databases, clusters. */
export const CLICKHOUSE_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Database names come from configuration, never from requests; they are still checked before use in SQL. */
export function checkDatabaseName(name: string): string {
  if (!CLICKHOUSE_IDENTIFIER.test(name)) throw new Error(`ClickHouse database name "${name}" must be letters, digits and _`);
  return name;
}

export async function connectClickhouse(target: ClickhouseTarget): Promise<ClickHouseClient> {
  const { createClient, ClickHouseLogLevel } = await import('@clickhouse/client');
  // The client's own logger prints every failed attempt with its stack; the writer retries and reports instead.
  const log = { level: ClickHouseLogLevel.OFF };
  if (target.kind === 'url') {
    return createClient({
      url: target.url,
      username: target.username,
      password: target.password,
      request_timeout: 30_000,
      clickhouse_settings: { date_time_input_format: 'best_effort' },
      log,
    });
  }
  // chdb loads only here, so the orchestrator and workers on a real server never load the native engine.
  // `chdb/connection` is an exports subpath, which this project's module resolution cannot type; the types are
  // read from the file behind it.
  let chdb: typeof import('chdb/dist/connection/index');
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    chdb = require('chdb/connection') as typeof import('chdb/dist/connection/index');
  } catch (error) {
    throw new Error(
      `the embedded ClickHouse (chdb, an optional dependency) is not installed for ${process.platform}-${process.arch}: ` +
        `set CLICKHOUSE_URL to a ClickHouse server (${(error as Error).message.split('\n')[0]})`,
    );
  }
  const { createChdbConnection } = chdb;
  const connection = createChdbConnection({ path: target.dataDir });
  return createClient({ connection, clickhouse_settings: { date_time_input_format: 'best_effort' }, log } as Parameters<typeof createClient>[0]);
}
