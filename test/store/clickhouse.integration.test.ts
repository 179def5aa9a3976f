import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { CLICKHOUSE_MIGRATIONS, migrateClickhouse } from '../../src/store/clickhouse/migrations';
import { metricTrend, runCaseOutcomes } from '../../src/store/clickhouse/queries';
import { clickhouseTime, TABLE_COLUMNS, type ClickhouseTable, type ResultRow } from '../../src/store/clickhouse/tables';
import { ClickhouseWriter } from '../../src/store/clickhouse/writer';
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
  it('creates every table ON CLUSTER with a Replicated engine keyed by the shard and replica macros', () => {
    expect(clustered).toHaveLength(2);
    for (const statement of clustered) {
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
