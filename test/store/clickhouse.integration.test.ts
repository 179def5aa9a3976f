import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { applyCallBodyRetention, CLICKHOUSE_MIGRATIONS, migrateClickhouse } from '../../src/store/clickhouse/migrations';
import { metricTrend, runCaseOutcomes } from '../../src/store/clickhouse/queries';
import { clickhouseTime, TABLE_COLUMNS, type ClickhouseTable, type ResultRow } from '../../src/store/clickhouse/tables';
import { ClickhouseWriter, insertRows, rowValues } from '../../src/store/clickhouse/writer';
import { spawnClickhouse, uniqueName } from '../support/platform';

let clickhouse: Awaited<ReturnType<typeof spawnClickhouse>>;
let client: ClickHouseClient;
const database = uniqueName('store');

beforeAll(async () => {
  clickhouse = await spawnClickhouse();
  client = createClient({ url: clickhouse.url });
  await migrateClickhouse(client, database);
}, 120_000);

afterAll(async () => {
  await client?.command({ query: `DROP DATABASE IF EXISTS ${database}` }).catch(() => undefined);
  await client?.close();
  await clickhouse?.stop();
});

test.each(['results', 'llm_calls'] as ClickhouseTable[])('the %s columns the writer sends are the table’s, in the migrated DDL', async (table) => {
  const described = await client.query({ query: `DESCRIBE TABLE ${database}.${table}`, format: 'JSONEachRow' });
  const columns = ((await described.json()) as Array<{ name: string }>).map((c) => c.name);
  expect([...columns].sort()).toEqual([...TABLE_COLUMNS[table]].map(String).sort());
});

const row = (runId: string, caseIndex: number, metric: string, score: number, extra: Partial<ResultRow> = {}): ResultRow => ({
  project: 'alpha', run_id: runId, suite: 's', case_index: caseIndex, case_id: `c${caseIndex}`, metric, metric_name: metric, score,
  passed: score >= 0.5 ? 1 : 0, errored: 0, threshold: 0.5, reason: '', judge_model: 'openai/m', judge_input_tokens: 1, judge_output_tokens: 1,
  judge_cost_usd: 0, target_latency_ms: null, duration_ms: 1, topic: '', tags: [], git_sha: `sha-${runId}`, branch: 'main', pull_request: '',
  build_id: runId, run_created_at: clickhouseTime(new Date(Date.UTC(2026, 10, Number(runId.slice(-1))))), version: 1, ...extra,
});

test('typed rows written by the writer read back as trends and per-case outcomes', async () => {
  const writer = new ClickhouseWriter(client, database, { flushIntervalMs: 10 });
  await writer.add('results', [
    row('run-1', 0, 'faithfulness', 0.4),
    row('run-1', 1, 'faithfulness', 0.8, { topic: 'billing' }),
    row('run-2', 0, 'faithfulness', 1, { tags: ['refunds'] }),
    row('run-2', 0, 'relevancy', 0.2, { tags: ['refunds'] }),
    row('run-2', 1, 'faithfulness', 0.6, { branch: 'feature' }),
  ]);
  await writer.close();
  const trend = await metricTrend(client, database, { project: 'alpha', metric: 'faithfulness', branch: 'main', limit: 10 });
  expect(trend.map((p) => [p.run_id, p.commit, Number(p.mean.toFixed(2)), p.scored])).toEqual([
    ['run-1', 'sha-run-1', 0.6, 2],
    ['run-2', 'sha-run-2', 1, 1],
  ]);
  const outcomes = await runCaseOutcomes(client, database, { project: 'alpha', runId: 'run-2' });
  expect(outcomes.sort((a, b) => a.case_index - b.case_index)).toEqual([
    { case_index: 0, passed: false, topic: '', tags: ['refunds'] },
    { case_index: 1, passed: true, topic: '', tags: [] },
  ]);
  expect(await runCaseOutcomes(client, database, { project: 'beta', runId: 'run-2' })).toEqual([]);
});

describe('replicated ClickHouse (prod: one shard, three replicas, Keeper)', () => {
  const clustered = CLICKHOUSE_MIGRATIONS.flatMap((m) => m.statements('evals', { cluster: 'eval' }));

  // No Keeper runs here, so the Replicated engines cannot be created: the generated statements are checked by string.
  it('creates every table ON CLUSTER with a Replicated engine keyed by the shard and replica macros, and alters them ON CLUSTER', () => {
    const creates = clustered.filter((statement) => statement.startsWith('CREATE'));
    expect(creates).toHaveLength(4);
    for (const statement of clustered.filter((s) => !s.startsWith('CREATE'))) expect(statement).toMatch(/^ALTER TABLE evals\.llm_calls ON CLUSTER eval\n/);
    for (const statement of creates) {
      expect(statement).toMatch(/^CREATE TABLE IF NOT EXISTS evals\.\w+ ON CLUSTER eval \(/);
      expect(statement).toMatch(/ENGINE = Replicated(Replacing)?MergeTree\('\/clickhouse\/tables\/\{shard\}\/\{database\}\/\{table\}', '\{replica\}'/);
      expect(statement).not.toContain('non_replicated_deduplication_window');
    }
    expect(clustered[0]).toContain("ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}', version)");
    expect(() => CLICKHOUSE_MIGRATIONS[0].statements('evals', { cluster: 'eval; DROP' })).toThrow('CLICKHOUSE_CLUSTER');
  });

  it('leaves the single-server statements as they were, and the clustered ones define the same tables (run on chdb)', async () => {
    const single = CLICKHOUSE_MIGRATIONS.flatMap((m) => m.statements('x', {}));
    expect(single.join('\n')).not.toMatch(/ON CLUSTER|Replicated/);
    // What a replica would run, minus what only a cluster has: the same columns, keys and TTLs must create.
    const replicaDb = uniqueName('replica');
    await client.command({ query: `CREATE DATABASE ${replicaDb}` });
    try {
      for (const statement of CLICKHOUSE_MIGRATIONS.flatMap((m) => m.statements(replicaDb, { cluster: 'eval' }))) {
        const local = statement.replace(' ON CLUSTER eval', '').replace(/Replicated(\w*MergeTree)\('[^']*', '[^']*'(?:, )?/, '$1(').replace(/MergeTree\(\)/, 'MergeTree');
        await client.command({ query: local });
      }
      for (const table of ['results', 'llm_calls'] as ClickhouseTable[]) {
        const described = await client.query({ query: `DESCRIBE TABLE ${replicaDb}.${table}`, format: 'JSONEachRow' });
        expect(((await described.json()) as Array<{ name: string }>).map((c) => c.name).sort()).toEqual([...TABLE_COLUMNS[table]].map(String).sort());
      }
    } finally {
      await client.command({ query: `DROP DATABASE IF EXISTS ${replicaDb}` });
    }
  });
});

test('the texts of LLM calls are kept for the configured days and then emptied; the call itself stays', async () => {
  const db = uniqueName('retention');
  await migrateClickhouse(client, db);
  try {
    const ddl = async () => ((await (await client.query({ query: `SHOW CREATE TABLE ${db}.llm_calls`, format: 'JSONEachRow' })).json()) as Array<{ statement: string }>)[0].statement;
    expect(await ddl()).not.toMatch(/request String .*TTL/);
    expect(await applyCallBodyRetention(client, db, 30)).toBe(true);
    expect(await ddl()).toMatch(/`request` String DEFAULT '' CODEC\(ZSTD\(3\)\) TTL toDateTime\(created_at\) \+ toIntervalDay\(30\)/);
    // The same retention again changes nothing (a change rewrites the table's parts); another one does.
    expect(await applyCallBodyRetention(client, db, 30)).toBe(false);
    expect(await applyCallBodyRetention(client, db, 7)).toBe(true);
    expect(await ddl()).toMatch(/`response` String DEFAULT '' CODEC\(ZSTD\(3\)\) TTL toDateTime\(created_at\) \+ toIntervalDay\(7\)/);
    expect(await applyCallBodyRetention(client, db, 0)).toBe(false);
    await expect(applyCallBodyRetention(client, db, 1.5)).rejects.toThrow('LLM_CALL_BODY_RETENTION_DAYS: 1.5');
    // A call older than the retention keeps its figures and loses its texts when its part is merged.
    const call = (days: number, n: number) =>
      rowValues('llm_calls', {
        project: 'alpha', run_id: 'r', case_index: n, kind: 'judge', provider: 'openai', model: 'm', status: 'ok', error_status: 0, cached: 0, attempts: 1, rate_limited: 0,
        input_tokens: 10, output_tokens: 2, cached_input_tokens: 0, cost_usd: 0.001, latency_ms: 5, created_at: clickhouseTime(new Date(Date.now() - days * 86_400_000)),
        metric: 'faithfulness', step: 'claims', request: '{"messages":[{"role":"user","content":"hi"}]}', response: '{"claims":[]}',
      });
    await insertRows(client, db, 'llm_calls', [call(10, 0), call(1, 1)], uniqueName('t'));
    await client.command({ query: `OPTIMIZE TABLE ${db}.llm_calls FINAL` });
    const rows = (await (await client.query({ query: `SELECT case_index, input_tokens, step, request, response FROM ${db}.llm_calls ORDER BY case_index`, format: 'JSONEachRow' })).json()) as Array<Record<string, unknown>>;
    expect(rows).toEqual([
      { case_index: 0, input_tokens: 10, step: 'claims', request: '', response: '' },
      { case_index: 1, input_tokens: 10, step: 'claims', request: '{"messages":[{"role":"user","content":"hi"}]}', response: '{"claims":[]}' },
    ]);
  } finally {
    await client.command({ query: `DROP DATABASE IF EXISTS ${db}` });
  }
});
