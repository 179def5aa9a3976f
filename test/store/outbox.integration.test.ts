import { createClient, type ClickHouseClient } from '@clickhouse/client';
import type { Kysely } from 'kysely';
import { ClickhouseOutboxDrainer } from '../../src/store/clickhouse-outbox';
import { migrateClickhouse } from '../../src/store/clickhouse/migrations';
import { clickhouseTime, type LlmCallRow, type ResultRow } from '../../src/store/clickhouse/tables';
import { insertRows, rowValues } from '../../src/store/clickhouse/writer';
import { connectPostgres, migratePostgres } from '../../src/store/postgres/connect';
import type { Database } from '../../src/store/postgres/schema';
import { createTestDatabase, spawnClickhouse, uniqueName } from '../support/platform';

let clickhouse: Awaited<ReturnType<typeof spawnClickhouse>>;
let client: ClickHouseClient;
let postgres: Awaited<ReturnType<typeof createTestDatabase>>;
let db: Kysely<Database>;
const database = uniqueName('outbox');

beforeAll(async () => {
  [clickhouse, postgres] = await Promise.all([spawnClickhouse(), createTestDatabase()]);
  client = createClient({ url: clickhouse.url });
  await migrateClickhouse(client, database);
  db = await connectPostgres({ kind: 'url', url: postgres.url });
  await migratePostgres(db);
}, 120_000);

afterAll(async () => {
  await db?.destroy();
  await postgres?.drop();
  await client?.command({ query: `DROP DATABASE IF EXISTS ${database}` }).catch(() => undefined);
  await client?.close();
  await clickhouse?.stop();
});

const result = (run: string, caseIndex: number): ResultRow => ({
  project: 'alpha', run_id: run, suite: 's', case_index: caseIndex, case_id: `c${caseIndex}`, metric: 'm', metric_name: 'm', score: 1,
  passed: 1, errored: 0, threshold: 0.5, reason: '', judge_model: 'openai/m', judge_input_tokens: 1, judge_output_tokens: 1, judge_cost_usd: 0,
  target_latency_ms: null, duration_ms: 1, topic: '', tags: [], git_sha: '', branch: 'main', pull_request: '', build_id: '', run_created_at: clickhouseTime(new Date()), version: 1,
});
const call = (run: string, caseIndex: number): LlmCallRow => ({
  project: 'alpha', run_id: run, case_index: caseIndex, kind: 'judge', provider: 'openai', model: 'm', status: 'ok', error_status: 0, cached: 0,
  attempts: 1, rate_limited: 0, input_tokens: 10, output_tokens: 2, cached_input_tokens: 0, cost_usd: 0.001, latency_ms: 50, created_at: clickhouseTime(new Date()),
  metric: 'faithfulness', step: 'claims', request: '{"messages":[]}', response: '{}',
});

/** An outbox row as a worker's counting transaction writes it: one per table per group commit. */
async function outbox(table: 'results' | 'llm_calls', rows: unknown[]): Promise<string> {
  const inserted = await db.insertInto('clickhouse_outbox').values({ table_name: table, rows: JSON.stringify(rows), row_count: rows.length }).returning('id').executeTakeFirstOrThrow();
  return inserted.id;
}

const count = async (table: string, run: string) =>
  Number(((await (await client.query({ query: `SELECT count() AS n FROM ${database}.${table} WHERE run_id = {run:String}`, query_params: { run }, format: 'JSONEachRow' })).json()) as Array<{ n: string }>)[0].n);

/** The table's active parts: ClickHouse makes one per insert (until it merges them). */
const parts = async (table: string) =>
  Number(((await (await client.query({ query: `SELECT count() AS n FROM system.parts WHERE database = {db:String} AND table = {table:String} AND active`, query_params: { db: database, table }, format: 'JSONEachRow' })).json()) as Array<{ n: string }>)[0].n);

test('a pass inserts everything waiting in one insert per table, then empties the outbox', async () => {
  const run = uniqueName('run');
  for (let batch = 0; batch < 6; batch++) {
    await outbox('results', [result(run, batch * 2), result(run, batch * 2 + 1)]);
    await outbox('llm_calls', [call(run, batch * 2), call(run, batch * 2 + 1)]);
  }
  // Merges would fold parts together while they are counted.
  await client.command({ query: `SYSTEM STOP MERGES ${database}.llm_calls` });
  const partsBefore = await parts('llm_calls');
  const drainer = new ClickhouseOutboxDrainer(db, client, database);
  expect(await drainer.drainOnce(true)).toBe(24);
  expect(await count('results', run)).toBe(12);
  expect(await count('llm_calls', run)).toBe(12);
  // Six group commits' rows went in as one insert (one new part), not six.
  expect((await parts('llm_calls')) - partsBefore).toBe(1);
  expect(await db.selectFrom('clickhouse_outbox').select('id').execute()).toEqual([]);
});

test('a drainer that died between its insert and its delete: the next pass inserts the same group under the same token, stored once', async () => {
  const run = uniqueName('run');
  const first = await outbox('llm_calls', [call(run, 0), call(run, 1)]);
  const second = await outbox('llm_calls', [call(run, 2)]);
  // What the dead drainer did: bound the two rows into its group, inserted them, and never deleted them.
  await db.updateTable('clickhouse_outbox').set({ drain_group: first }).where('id', 'in', [first, second]).execute();
  const values = [call(run, 0), call(run, 1), call(run, 2)].map((row) => rowValues('llm_calls', row));
  await insertRows(client, database, 'llm_calls', values, `outbox-group-${first}`);
  // Rows committed since, never attempted, go in a group of their own.
  await outbox('llm_calls', [call(run, 3)]);
  expect(await new ClickhouseOutboxDrainer(db, client, database).drainOnce(true)).toBe(4);
  expect(await count('llm_calls', run)).toBe(4);
  expect(await db.selectFrom('clickhouse_outbox').select('id').execute()).toEqual([]);
});

test('a group is only inserted whole: rows of it still leased elsewhere hold it back until they come free', async () => {
  const run = uniqueName('run');
  const first = await outbox('llm_calls', [call(run, 0)]);
  const second = await outbox('llm_calls', [call(run, 1)]);
  await db.updateTable('clickhouse_outbox').set({ drain_group: first }).where('id', 'in', [first, second]).execute();
  // Another drainer holds the second row's lease.
  await db.updateTable('clickhouse_outbox').set({ claimed_until: new Date(Date.now() + 60_000) }).where('id', '=', second).execute();
  const drainer = new ClickhouseOutboxDrainer(db, client, database);
  expect(await drainer.drainOnce(true)).toBe(0);
  expect(await count('llm_calls', run)).toBe(0);
  await db.updateTable('clickhouse_outbox').set({ claimed_until: null }).where('id', '=', second).execute();
  expect(await drainer.drainOnce(true)).toBe(2);
  expect(await count('llm_calls', run)).toBe(2);
});

test('rows gather: nothing is taken until the oldest waiting row is gatherMs old, then everything waiting goes together', async () => {
  const run = uniqueName('run');
  const drainer = new ClickhouseOutboxDrainer(db, client, database, { gatherMs: 400 });
  await outbox('llm_calls', [call(run, 0)]);
  expect(await drainer.drainOnce()).toBe(0);
  await new Promise((resolve) => setTimeout(resolve, 500));
  await outbox('llm_calls', [call(run, 1)]);
  expect(await drainer.drainOnce()).toBe(2);
  expect(await count('llm_calls', run)).toBe(2);
});
