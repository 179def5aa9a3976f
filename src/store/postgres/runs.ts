import { sql, type Kysely } from 'kysely';
import type { BuildMetadata } from '../../contracts/build';
import type { CaseResult, ReportSummary } from '../../contracts/report';
import type { LlmCallRow, ResultRow, SpanScoreRow } from '../clickhouse/tables';
import { defaultDirection, type CaseFacets, type CaseFilter } from '../../contracts/grid';
import type { Database, Run, RunCase, RunStatus } from './schema';

const INSERT_CHUNK = 5_000;

export interface NewRunInput {
  projectId: string;
  suiteName: string;
  /** The suite as submitted (validated), kept for the workers. */
  suite: Record<string, unknown>;
  caseIds: readonly string[];
  build: BuildMetadata;
  branch: string | null;
  idempotencyKey: string | null;
  datasetVersionId: string | null;
  /** sha256 of the request body: the same Idempotency-Key with another body is a conflict. */
  requestHash?: string | null;
  /** The run's budget in USD (already capped by the project's daily budget); null: none. */
  maxCostUsd?: number | null;
  /** The project's limits, checked under a per-project lock so concurrent submissions cannot pass them together. */
  limits?: { maxActiveRuns: number; maxQueuedCases: number; dailyCostUsd?: number };
  /** The online evaluator whose sample this run scores. */
  onlineEvaluator?: string;
}

export type CreateRunResult =
  | { kind: 'created' | 'existing'; run: Run }
  /** The Idempotency-Key was used before with another body. */
  | { kind: 'idempotency_conflict'; run: Run }
  | { kind: 'limit'; limit: 'active_runs' | 'queued_cases' | 'daily_cost'; message: string };

/**
 * Records a run and its cases in one transaction. With an idempotency key already used by the project for the
 * same body, the existing run is returned (`existing`). The project's limits (unfinished runs, cases waiting,
 * spending today) are checked under a per-project advisory lock, so they hold for concurrent submissions.
 */
export async function createRun(db: Kysely<Database>, input: NewRunInput): Promise<CreateRunResult> {
  return db.transaction().execute(async (trx): Promise<CreateRunResult> => {
    await sql`SELECT pg_advisory_xact_lock(hashtextextended(${input.projectId}::text, 0))`.execute(trx);
    if (input.idempotencyKey !== null) {
      const existing = await trx.selectFrom('runs').selectAll().where('project_id', '=', input.projectId).where('idempotency_key', '=', input.idempotencyKey).executeTakeFirst();
      if (existing) {
        const same = !existing.request_hash || !input.requestHash || existing.request_hash === input.requestHash;
        return { kind: same ? 'existing' : 'idempotency_conflict', run: existing };
      }
    }
    if (input.limits) {
      const open = await sql<{ runs: number; cases: number; spent: number }>`
        SELECT
          count(*) FILTER (WHERE finished_at IS NULL)::int AS runs,
          coalesce(sum(total_cases - completed_cases) FILTER (WHERE finished_at IS NULL), 0)::int AS cases,
          coalesce(sum(cost_usd) FILTER (WHERE created_at >= date_trunc('day', now(), 'UTC')), 0)::float8 AS spent
        FROM runs WHERE project_id = ${input.projectId}`.execute(trx);
      const { runs, cases, spent } = open.rows[0];
      const { maxActiveRuns, maxQueuedCases, dailyCostUsd } = input.limits;
      if (runs >= maxActiveRuns) return { kind: 'limit', limit: 'active_runs', message: `the project has ${runs} unfinished runs, its limit` };
      if (cases + input.caseIds.length > maxQueuedCases) {
        return { kind: 'limit', limit: 'queued_cases', message: `the project has ${cases} cases waiting; ${input.caseIds.length} more would pass its limit of ${maxQueuedCases}` };
      }
      if (dailyCostUsd !== undefined && spent >= dailyCostUsd) {
        return { kind: 'limit', limit: 'daily_cost', message: `the project has spent $${spent.toFixed(4)} today (UTC), its daily budget of $${dailyCostUsd}` };
      }
      if (dailyCostUsd !== undefined) {
        // A run may spend at most what is left of the day's budget.
        const left = dailyCostUsd - spent;
        input = { ...input, maxCostUsd: input.maxCostUsd == null ? left : Math.min(input.maxCostUsd, left) };
      }
    }
    const inserted = await trx
      .insertInto('runs')
      .values({
        project_id: input.projectId,
        suite_name: input.suiteName,
        status: 'queued',
        suite: JSON.stringify(input.suite),
        dataset_version_id: input.datasetVersionId,
        build: JSON.stringify(input.build),
        branch: input.branch,
        idempotency_key: input.idempotencyKey,
        request_hash: input.requestHash ?? null,
        max_cost_usd: input.maxCostUsd ?? null,
        total_cases: input.caseIds.length,
        online_evaluator: input.onlineEvaluator ?? null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    for (let start = 0; start < input.caseIds.length; start += INSERT_CHUNK) {
      const rows = input.caseIds.slice(start, start + INSERT_CHUNK).map((caseId, offset) => ({
        run_id: inserted.id,
        case_index: start + offset,
        case_id: caseId,
        status: 'queued' as const,
        error: null,
        result: null,
      }));
      await trx.insertInto('run_cases').values(rows).execute();
    }
    return { kind: 'created', run: inserted };
  });
}

/** A run without its suite: what status views need, without reading a suite that can be megabytes. */
export type RunHeader = Omit<Run, 'suite' | 'request_hash' | 'online_evaluator'>;

const HEADER_COLUMNS = [
  'id', 'project_id', 'suite_name', 'status', 'dataset_version_id', 'build', 'branch', 'idempotency_key', 'total_cases',
  'completed_cases', 'passed_cases', 'failed_cases', 'errored_cases', 'summary', 'created_at', 'started_at', 'finished_at',
  'cost_usd', 'max_cost_usd',
] as const;

export async function getRun(db: Kysely<Database>, projectId: string, runId: string): Promise<RunHeader | undefined> {
  return db.selectFrom('runs').select(HEADER_COLUMNS).where('id', '=', runId).where('project_id', '=', projectId).executeTakeFirst();
}

/** A run's suite, for the reports built from it. */
export async function getRunSuite(db: Kysely<Database>, runId: string): Promise<Record<string, unknown>> {
  return (await db.selectFrom('runs').select('suite').where('id', '=', runId).executeTakeFirstOrThrow()).suite;
}

export interface RunListFilter {
  suite?: string;
  branch?: string;
  status?: RunStatus;
  /** Opaque: `<created_at ISO>|<id>` of the last run of the previous page. */
  cursor?: { createdAt: string; id: string };
  limit: number;
}

/** A project's runs, newest first; without the suite, which can be large. */
export async function listRuns(db: Kysely<Database>, projectId: string, filter: RunListFilter) {
  let query = db
    .selectFrom('runs')
    .select([
      'id',
      'suite_name',
      'status',
      'branch',
      'build',
      'total_cases',
      'completed_cases',
      'passed_cases',
      'failed_cases',
      'errored_cases',
      'cost_usd',
      'max_cost_usd',
      'created_at',
      'started_at',
      'finished_at',
      // The metric means of a finished run, without the rest of its summary (topic labels can be long).
      sql<Record<string, number | null> | null>`summary->'summary'`.as('means'),
      sql<string[] | null>`summary->'metric_order'`.as('metric_order'),
      sql<boolean | null>`(summary->'gate'->>'passed')::boolean`.as('gate_passed'),
    ])
    .where('project_id', '=', projectId);
  // The runs online evaluators make (one per window, `online/<evaluator>`) are listed when their suite is asked for.
  if (filter.suite) query = query.where('suite_name', '=', filter.suite);
  else query = query.where('online_evaluator', 'is', null);
  if (filter.branch) query = query.where('branch', '=', filter.branch);
  if (filter.status) query = query.where('status', '=', filter.status);
  if (filter.cursor) {
    const { createdAt, id } = filter.cursor;
    query = query.where((eb) =>
      eb.or([eb('created_at', '<', new Date(createdAt)), eb.and([eb('created_at', '=', new Date(createdAt)), eb('id', '<', id)])]),
    );
  }
  return query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(filter.limit).execute();
}

/** The suites and branches a project's runs have used (newest first), to offer as filters. */
export async function runFacets(db: Kysely<Database>, projectId: string): Promise<{ suites: string[]; branches: string[] }> {
  const recent = (column: 'suite_name' | 'branch') =>
    sql<{ value: string }>`SELECT ${sql.ref(column)} AS value FROM runs WHERE project_id = ${projectId} AND ${sql.ref(column)} IS NOT NULL
      GROUP BY 1 ORDER BY max(created_at) DESC LIMIT 200`.execute(db);
  const [suites, branches] = await Promise.all([recent('suite_name'), recent('branch')]);
  return { suites: suites.rows.map((r) => r.value), branches: branches.rows.map((r) => r.value) };
}

/** The grid's filter (`CaseFilter` of the viewer): the same answers as the in-memory one (`queryCases`). */
export type CasePageFilter = CaseFilter;

/** One case of a page: its state, labels, texts and per-metric verdicts. */
export interface CasePageRow {
  case_index: number;
  case_id: string;
  status: RunCase['status'];
  error: string | null;
  suite: string | null;
  topic: string | null;
  tags: string[] | null;
  input: string | null;
  actual_output: string | null;
  expected_output: string | null;
  metadata: Record<string, unknown> | null;
  latency_ms: number | null;
  /** null when no result yet, or a price was unknown. */
  cost_usd: number | null;
  metrics: Record<string, { score: number | null; passed: boolean; error: string | null; reason?: string }> | null;
}

const RANK_SQL = sql`CASE status WHEN 'errored' THEN 0 WHEN 'failed' THEN 1 WHEN 'passed' THEN 3 ELSE 2 END`;
/** A case's LLM cost (of its `result` column, under the query's name for it): the sum of its per-model costs, null when one of them is unknown. */
const costSql = (result: ReturnType<typeof sql.ref>) => sql`(SELECT CASE WHEN bool_or(u->'cost_usd' = 'null'::jsonb) THEN NULL ELSE coalesce(sum((u->>'cost_usd')::float8), 0) END
  FROM jsonb_array_elements(CASE WHEN jsonb_typeof(${result}->'usage') = 'array' THEN ${result}->'usage' ELSE '[]'::jsonb END) u)`;
/** A metadata value as text, like `metaText`: a string as it is, a number or a boolean as its JSON text; an object, array or null is none. */
const metaSql = (key: string) =>
  sql`CASE WHEN jsonb_typeof(result->'metadata'->${key}::text) IN ('string', 'number', 'boolean') THEN result->'metadata'->>${key}::text END`;

/** The WHERE of a grid's filter. */
function caseConditions(runId: string, filter: CaseFilter) {
  const conditions = [sql`run_id = ${runId}`];
  if (filter.status === 'unfinished') conditions.push(sql`status IN ('queued', 'running', 'cancelled')`);
  else if (filter.status) conditions.push(sql`status = ${filter.status}`);
  if (filter.metric) conditions.push(sql`(result->'metrics'->${filter.metric}::text->>'passed') = 'false'`);
  if (filter.topic) conditions.push(sql`result->>'topic' = ${filter.topic}::text`);
  if (filter.tag) conditions.push(sql`result->'tags' ? ${filter.tag}::text`);
  if (filter.target) conditions.push(sql`result->>'suite' LIKE ${'%[' + filter.target.replace(/[\\%_]/g, (c) => `\\${c}`) + ']'}::text`);
  if (filter.meta) conditions.push(sql`${metaSql(filter.meta.key)} = ${filter.meta.value}::text`);
  if (filter.score) {
    const score = sql`(result->'metrics'->${filter.score.metric}::text->>'score')::float8`;
    conditions.push(sql`${score} IS NOT NULL`);
    if (filter.score.min !== undefined) conditions.push(sql`${score} >= ${filter.score.min}::float8`);
    if (filter.score.max !== undefined) conditions.push(sql`${score} <= ${filter.score.max}::float8`);
  }
  if (filter.q) {
    // strpos: a plain substring, whatever % or _ the search holds; `search_text` is the id, input and outputs
    // lower-cased, one per line (a search that spans two of them matches neither, as in memory).
    conditions.push(sql`strpos(search_text, ${filter.q.toLowerCase()}::text) > 0 AND NOT ${filter.q.includes('\n')}::boolean`);
  }
  return sql.join(conditions, sql` AND `);
}

/** The ORDER BY of a grid's sort; a missing value last whatever the direction, then by index. */
function caseOrderBy(filter: CaseFilter) {
  const sort = filter.sort ?? 'status';
  const direction = (filter.dir ?? defaultDirection(sort)) === 'desc' ? sql`DESC` : sql`ASC`;
  if (sort === 'index') return sql`case_index ${direction}`;
  const key =
    sort === 'status'
      ? RANK_SQL
      : sort === 'id'
        ? sql`case_id COLLATE "C"`
        : sort === 'latency'
          ? sql`(result->'target'->>'latency_ms')::float8`
          : sort === 'cost'
            ? costSql(sql.ref('result'))
            : sort.startsWith('score:')
              ? sql`(result->'metrics'->${sort.slice(6)}::text->>'score')::float8`
              : sql`${metaSql(sort.slice(5))} COLLATE "C"`;
  return sql`${key} ${direction} NULLS LAST, case_index`;
}

/**
 * A page of a run's cases in the grid's order (errored and failed first, then unfinished, then passed, each
 * by index, unless sorted otherwise), with the number of cases the filter matches. The page's indexes are chosen
 * first, and only those rows' results are read.
 */
export async function listCasePage(db: Kysely<Database>, runId: string, filter: CasePageFilter): Promise<{ rows: CasePageRow[]; total: number }> {
  const where = caseConditions(runId, filter);
  // One pass over the run's cases: each one's sort key read once, its place and the number matched beside it.
  const page = await sql<CasePageRow & { total: string }>`
      WITH ordered AS (
        SELECT case_index, row_number() OVER (ORDER BY ${caseOrderBy(filter)}) AS place, count(*) OVER () AS total FROM run_cases WHERE ${where}
      ), page AS (
        SELECT case_index, place, total FROM ordered WHERE place > ${filter.offset} AND place <= ${filter.offset + filter.limit}
      )
      SELECT page.total, rc.case_index, rc.case_id, rc.status, rc.error, rc.result->>'suite' AS suite, rc.result->>'topic' AS topic, rc.result->'tags' AS tags,
        rc.result->>'input' AS input, rc.result->>'actual_output' AS actual_output, rc.result->>'expected_output' AS expected_output,
        rc.result->'metadata' AS metadata, (rc.result->'target'->>'latency_ms')::float8 AS latency_ms,
        ${costSql(sql.ref('rc.result'))} AS cost_usd,
        (SELECT jsonb_object_agg(m.key, jsonb_build_object('score', m.value->'score', 'passed', m.value->'passed', 'error', m.value->'error', 'reason', left(m.value->>'reason', 2000)))
           FROM jsonb_each(rc.result->'metrics') m) AS metrics
      FROM page JOIN run_cases rc ON rc.run_id = ${runId} AND rc.case_index = page.case_index
      ORDER BY page.place`.execute(db);
  // A page past the end holds no row to carry the count.
  const total = page.rows.length ? Number(page.rows[0].total) : (await sql<{ n: number }>`SELECT count(*)::int AS n FROM run_cases WHERE ${where}`.execute(db)).rows[0].n;
  return { rows: page.rows.map(({ total: _total, ...row }) => ({ ...row, cost_usd: row.cost_usd === null ? null : Number(row.cost_usd) })), total };
}

/** Every index the filter matches, in the grid's order: the previous and next case of a case page. */
export async function listCaseOrder(db: Kysely<Database>, runId: string, filter: CasePageFilter): Promise<number[]> {
  const rows = await sql<{ case_index: number }>`SELECT case_index FROM run_cases WHERE ${caseConditions(runId, filter)} ORDER BY ${caseOrderBy(filter)}`.execute(db);
  return rows.rows.map((row) => row.case_index);
}

/**
 * The filters a run's cases offer, most frequent first: topics and tags (at most 200 of each), metadata fields
 * (at most 30, by name) with their values (at most 50 each), matrix targets.
 */
export async function caseFacets(db: Kysely<Database>, runId: string): Promise<CaseFacets> {
  const [topics, tags, metadata, targets] = await Promise.all([
    sql<{ value: string }>`SELECT result->>'topic' AS value FROM run_cases WHERE run_id = ${runId} AND result->>'topic' IS NOT NULL
      GROUP BY 1 ORDER BY count(*) DESC, (result->>'topic') COLLATE "C" LIMIT 200`.execute(db),
    sql<{ value: string }>`SELECT t AS value FROM run_cases, jsonb_array_elements_text(CASE WHEN jsonb_typeof(result->'tags') = 'array' THEN result->'tags' ELSE '[]'::jsonb END) t
      WHERE run_id = ${runId} GROUP BY 1 ORDER BY count(*) DESC, t COLLATE "C" LIMIT 200`.execute(db),
    sql<{ key: string; value: string; n: number }>`
      WITH pairs AS (
        SELECT m.key, CASE jsonb_typeof(m.value) WHEN 'string' THEN m.value #>> '{}' ELSE m.value::text END AS value
        FROM run_cases, jsonb_each(CASE WHEN jsonb_typeof(result->'metadata') = 'object' THEN result->'metadata' ELSE '{}'::jsonb END) m
        WHERE run_id = ${runId} AND jsonb_typeof(m.value) IN ('string', 'number', 'boolean')
      ), keys AS (
        SELECT key FROM pairs GROUP BY key ORDER BY count(*) DESC, key COLLATE "C" LIMIT 30
      ), counted AS (
        SELECT key, value, count(*)::int AS n, row_number() OVER (PARTITION BY key ORDER BY count(*) DESC, value COLLATE "C") AS place
        FROM pairs WHERE key IN (SELECT key FROM keys) GROUP BY key, value
      )
      SELECT key, value, n FROM counted WHERE place <= 50 ORDER BY key COLLATE "C", place`.execute(db),
    sql<{ value: string }>`SELECT substring(result->>'suite' from ${'\\[([^\\]]+)\\]$'}::text) AS value FROM run_cases WHERE run_id = ${runId} AND result->>'suite' LIKE '%]'
      GROUP BY 1 ORDER BY min(case_index)`.execute(db),
  ]);
  const byKey: Record<string, string[]> = {};
  for (const row of metadata.rows) (byKey[row.key] ??= []).push(row.value);
  return { topics: topics.rows.map((r) => r.value), tags: tags.rows.map((r) => r.value), metadata: byKey, targets: targets.rows.flatMap((r) => (r.value ? [r.value] : [])) };
}

/** Metric id → every score a run's cases got (errored metrics have none): the viewer's histograms. */
export async function runScores(db: Kysely<Database>, runId: string): Promise<Record<string, number[]>> {
  const rows = await sql<{ metric: string; scores: number[] }>`
    SELECT m.key AS metric, array_agg((m.value->>'score')::float8 ORDER BY case_index) AS scores
    FROM run_cases, jsonb_each(CASE WHEN jsonb_typeof(result->'metrics') = 'object' THEN result->'metrics' ELSE '{}'::jsonb END) m
    WHERE run_id = ${runId} AND jsonb_typeof(m.value->'score') = 'number'
    GROUP BY 1`.execute(db);
  return Object.fromEntries(rows.rows.map((row) => [row.metric, row.scores.map(Number)]));
}

/** One case of a run: its state and result (null until it ended with one). */
export async function getRunCase(db: Kysely<Database>, runId: string, caseIndex: number) {
  return db
    .selectFrom('run_cases')
    .select(['case_index', 'case_id', 'status', 'attempts', 'error', 'result'])
    .where('run_id', '=', runId)
    .where('case_index', '=', caseIndex)
    .executeTakeFirst();
}

export async function listCaseResults(
  db: Kysely<Database>,
  runId: string,
  options: { failedOnly: boolean; afterIndex: number; limit: number },
) {
  let query = db
    .selectFrom('run_cases')
    .select(['case_index', 'case_id', 'status', 'attempts', 'error', 'result'])
    .where('run_id', '=', runId)
    .where('case_index', '>', options.afterIndex);
  if (options.failedOnly) query = query.where('status', 'in', ['failed', 'errored']);
  return query.orderBy('case_index').limit(options.limit).execute();
}

/**
 * Marks cases of a run as being worked on and counts the attempt, in one statement. Returns the cases that
 * can run: those that have already ended (done by an earlier attempt, or their run was cancelled) are left
 * out. `markRun` also moves a queued run to running (a worker does it once per run).
 */
export async function startCases(db: Kysely<Database>, runId: string, caseIndexes: readonly number[], markRun: boolean): Promise<number[]> {
  if (markRun) {
    await db
      .updateTable('runs')
      .set({ status: 'running', started_at: sql`coalesce(started_at, now())` })
      .where('id', '=', runId)
      .where('status', '=', 'queued')
      .execute();
  }
  if (caseIndexes.length === 0) return [];
  const moved = await db
    .updateTable('run_cases')
    .set({ status: 'running', attempts: sql`attempts + 1`, updated_at: sql`now()` })
    .where('run_id', '=', runId)
    .where('case_index', '=', sql<number>`any(${sql.val(caseIndexes)}::int[])`)
    .where('status', 'in', ['queued', 'running'])
    .returning('case_index')
    .execute();
  return moved.map((row) => row.case_index).sort((a, b) => a - b);
}

/** Writes the final status and summary; only the first call for a run changes anything. */
export async function finalizeRun(db: Kysely<Database>, runId: string, status: RunStatus, summary: ReportSummary): Promise<boolean> {
  const row = await db
    .updateTable('runs')
    .set({ status, summary: JSON.stringify(summary), finished_at: sql`now()` })
    .where('id', '=', runId)
    .where('finished_at', 'is', null)
    .returning('id')
    .executeTakeFirst();
  return row !== undefined;
}

export async function cancelRun(db: Kysely<Database>, projectId: string, runId: string): Promise<RunHeader | undefined> {
  await db
    .updateTable('runs')
    .set({ status: 'cancelled', finished_at: sql`now()` })
    .where('id', '=', runId)
    .where('project_id', '=', projectId)
    .where('finished_at', 'is', null)
    .execute();
  await db.updateTable('run_cases').set({ status: 'cancelled', updated_at: sql`now()` }).where('run_id', '=', runId).where('status', 'in', ['queued']).execute();
  return getRun(db, projectId, runId);
}

/** A run with its project's name, for the workers (which write the name into ClickHouse). */
export async function getRunWithProject(db: Kysely<Database>, runId: string) {
  return db
    .selectFrom('runs')
    .innerJoin('projects', 'projects.id', 'runs.project_id')
    .selectAll('runs')
    .select(['projects.name as project_name', 'projects.llm_call_bodies as project_llm_call_bodies'])
    .where('runs.id', '=', runId)
    .executeTakeFirst();
}

export async function caseRows(db: Kysely<Database>, runId: string) {
  return db.selectFrom('run_cases').select(['case_index', 'status', 'error', 'result']).where('run_id', '=', runId).orderBy('case_index').execute();
}

/**
 * Cases of unfinished runs that have not moved for `staleMs` (their job was lost, e.g. with a Redis restart,
 * or its worker died): they are handed back to be enqueued again, their clock reset. Jobs are idempotent,
 * so a case enqueued twice is still counted once.
 */
export async function claimStaleCases(db: Kysely<Database>, staleMs: number) {
  return db
    .updateTable('run_cases')
    .set({ updated_at: sql`now()` })
    .where(({ eb, and, selectFrom }) =>
      and([
        eb('status', 'in', ['queued', 'running']),
        eb('updated_at', '<', sql<Date>`now() - make_interval(secs => ${staleMs / 1000})`),
        eb(
          'run_id',
          'in',
          selectFrom('runs').select('id').where('finished_at', 'is', null),
        ),
      ]),
    )
    .returning(['run_id', 'case_index', 'attempts'])
    .execute();
}

/** The end of one case: how it went, and its result when the engine produced one. */
export interface CaseCompletion {
  runId: string;
  caseIndex: number;
  status: 'passed' | 'failed' | 'errored';
  result: CaseResult | null;
  error: string | null;
  /** USD its LLM calls cost (0 when none, or unknown). */
  costUsd?: number;
  /** Its ClickHouse rows: results (kept only if this completion is the one counted) and LLM calls (paid, so always kept). */
  rows?: { results: readonly ResultRow[]; llm_calls: readonly LlmCallRow[]; span_scores?: readonly SpanScoreRow[] };
}

/**
 * Writes case outcomes in one transaction: one UPDATE of their run_cases rows, one counter UPDATE per run, and
 * their ClickHouse rows into the outbox (drained by `drainClickhouseOutbox`). A row only moves from
 * `queued`/`running`, and only the rows that moved are counted, so a case counts once and its results are
 * stored once. Returns the cases counted now (`<run id>/<case index>`), the runs whose last case this was, and
 * what each run has spent so far.
 */
export async function countCaseOutcomes(
  db: Kysely<Database>,
  completions: readonly CaseCompletion[],
): Promise<{ counted: Set<string>; finishedRuns: Set<string>; spentUsd: Map<string, number> }> {
  return db.transaction().execute(async (trx) => {
    const values = sql.join(
      completions.map((p) => sql`(${p.runId}::uuid, ${p.caseIndex}::int, ${p.status}, ${p.result === null ? null : JSON.stringify(p.result)}::jsonb, ${p.error})`),
    );
    const moved = await sql<{ run_id: string; case_index: number; status: CaseCompletion['status'] }>`
      UPDATE run_cases AS rc
      SET status = v.status, result = v.result, error = v.error, updated_at = now()
      FROM (VALUES ${values}) AS v(run_id, case_index, status, result, error)
      WHERE rc.run_id = v.run_id AND rc.case_index = v.case_index AND rc.status IN ('queued', 'running')
      RETURNING rc.run_id, rc.case_index, rc.status`.execute(trx);
    const perRun = new Map<string, { passed: number; failed: number; errored: number; cost: number }>();
    const byKey = new Map(completions.map((p) => [`${p.runId}/${p.caseIndex}`, p]));
    const results: ResultRow[] = [];
    const spanScores: SpanScoreRow[] = [];
    for (const row of moved.rows) {
      const counts = perRun.get(row.run_id) ?? { passed: 0, failed: 0, errored: 0, cost: 0 };
      counts[row.status]++;
      const completion = byKey.get(`${row.run_id}/${row.case_index}`);
      counts.cost += completion?.costUsd ?? 0;
      if (completion?.rows) results.push(...completion.rows.results);
      if (completion?.rows?.span_scores) spanScores.push(...completion.rows.span_scores);
      perRun.set(row.run_id, counts);
    }
    const calls = completions.flatMap((p) => p.rows?.llm_calls ?? []);
    const outbox = [
      { table_name: 'results' as const, rows: results },
      { table_name: 'llm_calls' as const, rows: calls },
      { table_name: 'span_scores' as const, rows: spanScores },
    ].filter((entry) => entry.rows.length > 0);
    if (outbox.length > 0) {
      await trx
        .insertInto('clickhouse_outbox')
        .values(outbox.map((entry) => ({ table_name: entry.table_name, rows: JSON.stringify(entry.rows), row_count: entry.rows.length })))
        .execute();
    }
    const finishedRuns = new Set<string>();
    const spentUsd = new Map<string, number>();
    // Runs in id order, so two workers' batches lock them in the same order.
    for (const [runId, c] of [...perRun].sort(([a], [b]) => a.localeCompare(b))) {
      const run = await trx
        .updateTable('runs')
        .set((eb) => ({
          completed_cases: eb('completed_cases', '+', c.passed + c.failed + c.errored),
          passed_cases: eb('passed_cases', '+', c.passed),
          failed_cases: eb('failed_cases', '+', c.failed),
          errored_cases: eb('errored_cases', '+', c.errored),
          cost_usd: eb('cost_usd', '+', c.cost),
        }))
        .where('id', '=', runId)
        .returning(['completed_cases', 'total_cases', 'cost_usd'])
        .executeTakeFirst();
      if (run && run.completed_cases === run.total_cases) finishedRuns.add(runId);
      if (run) spentUsd.set(runId, run.cost_usd);
    }
    return { counted: new Set(moved.rows.map((r) => `${r.run_id}/${r.case_index}`)), finishedRuns, spentUsd };
  });
}

/** Adds the judge's topic labels (case index → label) to a finished run's summary, and what labelling cost to the run's spend. */
export async function setTopicLabels(db: Kysely<Database>, runId: string, labels: Record<string, string>, costUsd = 0): Promise<void> {
  await sql`UPDATE runs SET summary = jsonb_set(summary, '{topic_labels}', ${JSON.stringify(labels)}::jsonb), cost_usd = cost_usd + ${costUsd} WHERE id = ${runId}`.execute(db);
}
