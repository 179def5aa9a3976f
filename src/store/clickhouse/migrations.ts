import type { ClickHouseClient } from '@clickhouse/client';
import { checkDatabaseName, CLICKHOUSE_IDENTIFIER } from './connect';

/**
 * Where the tables live. Alone (dev, tests, `evalctl dev`): plain MergeTree engines on one server. On a
 * cluster (prod: one shard, three replicas with ClickHouse Keeper): every statement runs `ON CLUSTER`, the
 * engines are their Replicated variants with the `{shard}` and `{replica}` macros each node defines, so
 * every replica holds the whole table, and a write to any of them is seen by reads on all.
 */
export interface ClickhouseTopology {
  /** Cluster name of `remote_servers` (`CLICKHOUSE_CLUSTER`); absent on a single server. */
  readonly cluster?: string;
}

const SINGLE: ClickhouseTopology = {};

/** ` ON CLUSTER <name>` on a cluster, else nothing. */
export function onCluster(topology: ClickhouseTopology): string {
  return topology.cluster ? ` ON CLUSTER ${checkClusterName(topology.cluster)}` : '';
}

export function checkClusterName(name: string): string {
  if (!CLICKHOUSE_IDENTIFIER.test(name)) throw new Error(`CLICKHOUSE_CLUSTER: ${JSON.stringify(name)} is not a cluster name (letters, digits, _)`);
  return name;
}

/** A MergeTree-family engine, replicated through Keeper on a cluster (one path per shard and table). */
export function tableEngine(topology: ClickhouseTopology, family: 'MergeTree' | 'ReplacingMergeTree', args: string[] = []): string {
  if (!topology.cluster) return args.length > 0 ? `${family}(${args.join(', ')})` : family;
  return `Replicated${family}(${["'/clickhouse/tables/{shard}/{database}/{table}'", "'{replica}'", ...args].join(', ')})`;
}

/**
 * On a single server, a window of insert tokens per table, so a retried insert is not stored twice (replicated
 * tables keep theirs in Keeper).
 */
const dedupWindow = (t: ClickhouseTopology): string => (t.cluster ? '' : '\n      SETTINGS non_replicated_deduplication_window = 1000');

/**
 * Versioned ClickHouse migrations; a version that has run is never edited (on a single server each statement
 * is the text it always was). The tables serve the dashboards:
 * `results` is ordered by (project, metric, run, case) for trends per metric and deduplicates a retried
 * job's rows (ReplacingMergeTree on that key, read with FINAL); a bloom filter finds one run's rows.
 * `llm_calls` is ordered for cost and latency by provider and model over time; a retried batch insert is
 * deduplicated by its insert_deduplication_token.
 */
export const CLICKHOUSE_MIGRATIONS: ReadonlyArray<{ version: number; name: string; statements: (db: string, topology: ClickhouseTopology) => string[] }> = [
  {
    version: 1,
    name: 'results and llm_calls',
    statements: (db, t) => [
      `CREATE TABLE IF NOT EXISTS ${db}.results${onCluster(t)} (
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
      ENGINE = ${tableEngine(t, 'ReplacingMergeTree', ['version'])}
      PARTITION BY toYYYYMM(run_created_at)
      ORDER BY (project, metric, run_id, case_index)
      TTL toDateTime(run_created_at) + INTERVAL 400 DAY`,
      `CREATE TABLE IF NOT EXISTS ${db}.llm_calls${onCluster(t)} (
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
      ENGINE = ${tableEngine(t, 'MergeTree')}
      PARTITION BY toYYYYMM(created_at)
      ORDER BY (project, provider, model, created_at)
      TTL toDateTime(created_at) + INTERVAL 90 DAY${dedupWindow(t)}`,
    ],
  },
  {
    version: 2,
    name: 'llm_calls: the metric and step each call served, and what was sent and received',
    // The texts are compressed harder than the rest; how long they are kept is `applyCallBodyRetention`'s.
    statements: (db, t) => [
      `ALTER TABLE ${db}.llm_calls${onCluster(t)}
        ADD COLUMN IF NOT EXISTS metric LowCardinality(String) DEFAULT '',
        ADD COLUMN IF NOT EXISTS step LowCardinality(String) DEFAULT '',
        ADD COLUMN IF NOT EXISTS request String DEFAULT '' CODEC(ZSTD(3)),
        ADD COLUMN IF NOT EXISTS response String DEFAULT '' CODEC(ZSTD(3))`,
    ],
  },
  {
    version: 3,
    name: 'spans and span_scores: production traces over OTLP, and the online evaluators\' scores',
    // `spans`: partitioned by the day they arrived (a client's clock cannot make a partition per span); each row
    // is kept its project's `retention_days`. A retried export is deduplicated by its insert_deduplication_token.
    // `span_scores`: an online evaluator's score of a span (or of a conversation, on its last span), beside it.
    statements: (db, t) => [
      `CREATE TABLE IF NOT EXISTS ${db}.spans${onCluster(t)} (
        project LowCardinality(String),
        trace_id String,
        span_id String,
        parent_span_id String,
        session_id String,
        service LowCardinality(String),
        name String,
        kind UInt8,
        operation LowCardinality(String),
        provider LowCardinality(String),
        model LowCardinality(String),
        agent_name String,
        start_time DateTime64(6, 'UTC'),
        duration_ms Float64,
        status_code UInt8,
        status_message String,
        input_tokens UInt32,
        output_tokens UInt32,
        input_messages String CODEC(ZSTD(3)),
        output_messages String CODEC(ZSTD(3)),
        input_text String CODEC(ZSTD(3)),
        output_text String CODEC(ZSTD(3)),
        tool_calls String CODEC(ZSTD(3)),
        attributes Map(String, String) CODEC(ZSTD(3)),
        resource_attributes Map(String, String) CODEC(ZSTD(3)),
        retention_days UInt16,
        ingested_at DateTime64(3, 'UTC'),
        INDEX trace_idx trace_id TYPE bloom_filter GRANULARITY 4,
        INDEX session_idx session_id TYPE bloom_filter GRANULARITY 4
      )
      ENGINE = ${tableEngine(t, 'MergeTree')}
      PARTITION BY toDate(ingested_at)
      ORDER BY (project, ingested_at, trace_id)
      TTL toDateTime(ingested_at) + toIntervalDay(retention_days)${dedupWindow(t)}`,
      `CREATE TABLE IF NOT EXISTS ${db}.span_scores${onCluster(t)} (
        project LowCardinality(String),
        evaluator LowCardinality(String),
        trace_id String,
        span_id String,
        session_id String,
        service LowCardinality(String),
        model LowCardinality(String),
        metric LowCardinality(String),
        metric_name LowCardinality(String),
        score Nullable(Float64),
        passed UInt8,
        errored UInt8,
        threshold Float64,
        reason String,
        judge_model LowCardinality(String),
        judge_cost_usd Nullable(Float64),
        run_id String,
        scored_at DateTime64(3, 'UTC'),
        INDEX trace_idx trace_id TYPE bloom_filter GRANULARITY 4
      )
      ENGINE = ${tableEngine(t, 'MergeTree')}
      PARTITION BY toYYYYMM(scored_at)
      ORDER BY (project, evaluator, metric, scored_at)
      TTL toDateTime(scored_at) + INTERVAL 400 DAY${dedupWindow(t)}`,
    ],
  },
];

/**
 * How long the calls' texts (`request`, `response`) are kept: a column TTL, after which ClickHouse empties them
 * while the call's figures stay for the table's 90 days. Changed only when it differs from the table's own
 * (a change rewrites the table's parts in the background). `days` 0: the workers store no text; the TTL is
 * left as it was.
 */
export async function applyCallBodyRetention(client: ClickHouseClient, database: string, days: number, topology: ClickhouseTopology = SINGLE): Promise<boolean> {
  const db = checkDatabaseName(database);
  if (!Number.isInteger(days) || days < 0 || days > 3_650) throw new Error(`LLM_CALL_BODY_RETENTION_DAYS: ${days} is not a whole number of days from 0 to 3650`);
  if (days === 0) return false;
  const shown = await client.query({ query: `SHOW CREATE TABLE ${db}.llm_calls`, format: 'JSONEachRow' });
  const ddl = ((await shown.json()) as Array<{ statement: string }>)[0]?.statement ?? '';
  const current = /`?request`? String DEFAULT '' CODEC\(ZSTD\(3\)\) TTL toDateTime\(created_at\) \+ toIntervalDay\((\d+)\)/.exec(ddl);
  if (current && Number(current[1]) === days) return false;
  const ttl = `TTL toDateTime(created_at) + INTERVAL ${days} DAY`;
  await client.command({
    query: `ALTER TABLE ${db}.llm_calls${onCluster(topology)}
      MODIFY COLUMN request String DEFAULT '' CODEC(ZSTD(3)) ${ttl},
      MODIFY COLUMN response String DEFAULT '' CODEC(ZSTD(3)) ${ttl}`,
  });
  return true;
}

/**
 * Creates the database and applies pending migrations, recording each in `schema_migrations` (replicated
 * too on a cluster, so every replica knows what ran). Replicated tables deduplicate a retried insert by
 * its token through Keeper; a single server keeps a window of tokens per table instead.
 */
export async function migrateClickhouse(client: ClickHouseClient, database: string, topology: ClickhouseTopology = SINGLE): Promise<number[]> {
  const db = checkDatabaseName(database);
  const on = onCluster(topology);
  await client.command({ query: `CREATE DATABASE IF NOT EXISTS ${db}${on}` });
  await client.command({
    query: `CREATE TABLE IF NOT EXISTS ${db}.schema_migrations${on} (version UInt32, name String, applied_at DateTime DEFAULT now()) ENGINE = ${tableEngine(topology, 'MergeTree')} ORDER BY version`,
  });
  const applied = await client.query({ query: `SELECT version FROM ${db}.schema_migrations`, format: 'JSONEachRow' });
  const done = new Set(((await applied.json()) as Array<{ version: number }>).map((row) => Number(row.version)));
  const ran: number[] = [];
  for (const migration of CLICKHOUSE_MIGRATIONS) {
    if (done.has(migration.version)) continue;
    for (const statement of migration.statements(db, topology)) await client.command({ query: statement });
    await client.insert({ table: `${db}.schema_migrations`, values: [{ version: migration.version, name: migration.name }], format: 'JSONEachRow' });
    ran.push(migration.version);
  }
  return ran;
}
