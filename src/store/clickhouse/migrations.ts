import type { ClickHouseClient } from '@clickhouse/client';
import { checkDatabaseName } from './connect';

/**
 * Versioned ClickHouse migrations; a version that has run is never edited. The tables serve the dashboards:
 * `results` is ordered by (project, metric, run, case) for trends per metric and deduplicates a retried
 * job's rows (ReplacingMergeTree on that key, read with FINAL); a bloom filter finds one run's rows.
 * `llm_calls` is ordered for cost and latency by provider and model over time; a retried batch insert is
 * deduplicated by its insert_deduplication_token.
 */
export const CLICKHOUSE_MIGRATIONS: ReadonlyArray<{ version: number; name: string; statements: (db: string) => string[] }> = [
  {
    version: 1,
    name: 'results and llm_calls',
    statements: (db) => [
      `CREATE TABLE IF NOT EXISTS ${db}.results (
        project LowCardinality(String),
        run_id String,
        suite LowCardinality(String),
        case_index UInt32,
        case_id String,
        metric LowCardinality(String),
        metric_name LowCardinality(String),
        score Nullable(Float64),
        passed UInt8,
        errored UInt8,
        threshold Float64,
        reason String,
        judge_model LowCardinality(String),
        judge_input_tokens UInt32,
        judge_output_tokens UInt32,
        judge_cost_usd Nullable(Float64),
        target_latency_ms Nullable(Float64),
        duration_ms Float64,
        topic LowCardinality(String),
        tags Array(LowCardinality(String)),
        git_sha String,
        branch LowCardinality(String),
        pull_request String,
        build_id String,
        run_created_at DateTime64(3, 'UTC'),
        version UInt64,
        INDEX run_idx run_id TYPE bloom_filter GRANULARITY 4
      )
      ENGINE = ReplacingMergeTree(version)
      PARTITION BY toYYYYMM(run_created_at)
      ORDER BY (project, metric, run_id, case_index)
      TTL toDateTime(run_created_at) + INTERVAL 400 DAY`,
      `CREATE TABLE IF NOT EXISTS ${db}.llm_calls (
        project LowCardinality(String),
        run_id String,
        case_index UInt32,
        kind LowCardinality(String),
        provider LowCardinality(String),
        model LowCardinality(String),
        status LowCardinality(String),
        error_status UInt16,
        cached UInt8,
        attempts UInt8,
        rate_limited UInt16,
        input_tokens UInt32,
        output_tokens UInt32,
        cached_input_tokens UInt32,
        cost_usd Nullable(Float64),
        latency_ms Float64,
        created_at DateTime64(3, 'UTC')
      )
      ENGINE = MergeTree
      PARTITION BY toYYYYMM(created_at)
      ORDER BY (project, provider, model, created_at)
      TTL toDateTime(created_at) + INTERVAL 90 DAY
      SETTINGS non_replicated_deduplication_window = 1000`,
    ],
  },
];

/** Creates the database and applies pending migrations, recording each in `schema_migrations`. */
export async function migrateClickhouse(client: ClickHouseClient, database: string): Promise<number[]> {
  const db = checkDatabaseName(database);
  await client.command({ query: `CREATE DATABASE IF NOT EXISTS ${db}` });
  await client.command({
    query: `CREATE TABLE IF NOT EXISTS ${db}.schema_migrations (version UInt32, name String, applied_at DateTime DEFAULT now()) ENGINE = MergeTree ORDER BY version`,
  });
  const applied = await client.query({ query: `SELECT version FROM ${db}.schema_migrations`, format: 'JSONEachRow' });
  const done = new Set(((await applied.json()) as Array<{ version: number }>).map((row) => Number(row.version)));
  const ran: number[] = [];
  for (const migration of CLICKHOUSE_MIGRATIONS) {
    if (done.has(migration.version)) continue;
    for (const statement of migration.statements(db)) await client.command({ query: statement });
    await client.insert({ table: `${db}.schema_migrations`, values: [{ version: migration.version, name: migration.name }], format: 'JSONEachRow' });
    ran.push(migration.version);
  }
  return ran;
}
