import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { migrateClickhouse } from '../../src/store/clickhouse/migrations';
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
