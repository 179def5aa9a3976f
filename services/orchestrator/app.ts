import type { ClickHouseClient } from '@clickhouse/client';
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import { sql, type Kysely } from 'kysely';
import { z } from 'zod';
import type { BuildMetadata } from '../../src/build-metadata';
import { runReport } from '../../src/platform/run-results';
import type { CaseQueue } from '../../src/queue/types';
import { evaluateGateRules } from '../../src/runner/gate';
import { resolveSuite, SuiteError } from '../../src/suite/load';
import { checkDatabaseName } from '../../src/store/clickhouse/connect';
import { createDatasetVersion, getDatasetVersion, listDatasets, projectForKey } from '../../src/store/postgres/projects';
import { cancelRun, createRun, getRun, getRunSuite, listCaseResults, listRuns, type RunHeader } from '../../src/store/postgres/runs';
import type { Database, Project } from '../../src/store/postgres/schema';
import type { PlatformMetrics } from '../../src/telemetry/metrics';
import { openApiDocument } from './openapi';
import { compareQuery, createDatasetSchema, listRunsQuery, resultsQuery, submitRunSchema, topicsQuery, trendsQuery } from './schemas';

export interface OrchestratorDeps {
  readonly db: Kysely<Database>;
  readonly queue: CaseQueue;
  readonly clickhouse: ClickHouseClient;
  readonly clickhouseDatabase: string;
  readonly metrics: PlatformMetrics;
  readonly version: string;
  /** Default 32 MiB. */
  readonly maxBodyBytes?: number;
  /** Default 50 000. */
  readonly maxCasesPerRun?: number;
  readonly log?: (message: string, fields?: Record<string, unknown>) => void;
}

type AppEnv = { Variables: { project: Project } };

/** Every error answers `{ error: { code, message, field? } }`; `problems` lists a suite's validation problems. */
function fail(status: 400 | 401 | 404 | 409 | 413 | 415 | 422 | 503, message: string, field?: string, extra?: Record<string, unknown>): never {
  const code = { 400: 'bad_request', 401: 'unauthorized', 404: 'not_found', 409: 'conflict', 413: 'too_large', 415: 'unsupported_media_type', 422: 'unprocessable', 503: 'unavailable' }[status];
  const body = JSON.stringify({ error: { code, message, ...(field ? { field } : {}), ...extra } });
  throw new HTTPException(status, { res: new Response(body, { status, headers: { 'content-type': 'application/json' } }) });
}

async function readJson(c: Context): Promise<unknown> {
  const type = c.req.header('content-type') ?? '';
  if (!/^application\/json\b/i.test(type)) fail(415, 'send JSON with Content-Type: application/json', 'content-type');
  const text = await c.req.text();
  try {
    return JSON.parse(text);
  } catch (error) {
    return fail(400, `the body is not valid JSON: ${(error as Error).message}`, 'body');
  }
}

function parse<T>(schema: z.ZodType<T>, value: unknown, where: 'body' | 'query'): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]] : issue.path;
  const field = path.length ? path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i ? `.${String(p)}` : String(p))).join('') : where;
  return fail(400, `${field}: ${issue.code === 'unrecognized_keys' ? 'unknown field' : issue.message}`, field);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A run's status view; the list leaves out the summary. */
function runView(run: Omit<RunHeader, 'project_id' | 'dataset_version_id' | 'idempotency_key' | 'summary'> & { summary?: unknown }) {
  return {
    id: run.id,
    suite: run.suite_name,
    status: run.status,
    branch: run.branch,
    build: run.build,
    progress: {
      total: run.total_cases,
      completed: run.completed_cases,
      passed: run.passed_cases,
      failed: run.failed_cases,
      errored: run.errored_cases,
    },
    created_at: run.created_at,
    started_at: run.started_at,
    finished_at: run.finished_at,
    summary: run.summary,
  };
}

const encodeCursor = (run: { created_at: Date; id: string }) => Buffer.from(`${new Date(run.created_at).toISOString()}|${run.id}`).toString('base64url');

function decodeCursor(cursor: string): { createdAt: string; id: string } {
  const [createdAt, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  if (!createdAt || !id || !UUID.test(id) || Number.isNaN(Date.parse(createdAt))) fail(400, 'cursor: not a cursor this API returned', 'cursor');
  return { createdAt, id };
}

/** The orchestrator's routes, without listening: main.ts serves it, tests call `app.request()`. */
export function createApp(deps: OrchestratorDeps): Hono<AppEnv> {
  const { db, queue, clickhouse, metrics } = deps;
  const chDb = checkDatabaseName(deps.clickhouseDatabase);
  const maxCases = deps.maxCasesPerRun ?? 50_000;
  const app = new Hono<AppEnv>();
  const keyCache = new Map<string, { project: Project; until: number }>();

  app.use('*', async (c, next) => {
    await next();
    metrics.httpRequests.inc({ route: c.req.routePath ?? 'unknown', status: String(c.res.status) });
  });

  app.onError((error, c) => {
    if (error instanceof HTTPException) return error.getResponse();
    deps.log?.('request failed', { path: c.req.path, error: error instanceof Error ? error.message : String(error) });
    return c.json({ error: { code: 'internal', message: 'internal error' } }, 500);
  });
  app.notFound((c) => c.json({ error: { code: 'not_found', message: `no route ${c.req.method} ${c.req.path}` } }, 404));

  app.get('/healthz', (c) => c.json({ status: 'ok', version: deps.version }));

  app.get('/readyz', async (c) => {
    const checks = await Promise.all([
      sql`select 1`.execute(db).then(() => ['postgres', 'ok'] as const, (e: Error) => ['postgres', e.message] as const),
      queue.stats().then(() => ['redis', 'ok'] as const, (e: Error) => ['redis', e.message] as const),
      clickhouse.ping().then((r) => ['clickhouse', r.success ? 'ok' : String(r.error)] as const, (e: Error) => ['clickhouse', e.message] as const),
    ]);
    const status = Object.fromEntries(checks);
    const ready = checks.every(([, state]) => state === 'ok');
    return c.json({ ready, checks: status }, ready ? 200 : 503);
  });

  app.get('/metrics', async (c) => c.text(await metrics.registry.metrics(), 200, { 'content-type': metrics.registry.contentType }));

  app.get('/openapi.json', (c) => c.json(openApiDocument(deps.version)));

  app.use(
    '/v1/*',
    bodyLimit({
      maxSize: deps.maxBodyBytes ?? 32 * 1024 * 1024,
      onError: () => fail(413, `the body is larger than ${deps.maxBodyBytes ?? 32 * 1024 * 1024} bytes`, 'body'),
    }),
  );

  app.use('/v1/*', async (c, next) => {
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) fail(401, 'send Authorization: Bearer <api key> (create one with `evalctl keys create --project <name>`)', 'authorization');
    const key = match[1];
    const cached = keyCache.get(key);
    let project = cached && cached.until > Date.now() ? cached.project : undefined;
    if (!project) {
      project = await projectForKey(db, key);
      if (!project) fail(401, 'unknown or revoked API key', 'authorization');
      keyCache.set(key, { project, until: Date.now() + 30_000 });
    }
    c.set('project', project);
    await next();
  });

  /** A run of the caller's project; another project's run is indistinguishable from a missing one. */
  async function ownRun(c: Context<AppEnv>, id: string): Promise<RunHeader> {
    if (!UUID.test(id)) fail(404, `no run ${id}`, 'id');
    const run = await getRun(db, c.get('project').id, id);
    if (!run) fail(404, `no run ${id}`, 'id');
    return run;
  }

  /** The report.json of a finished run; only here is its suite read. */
  const reportOf = async (run: RunHeader) => runReport(db, { ...run, suite: await getRunSuite(db, run.id) });

  app.post('/v1/runs', async (c) => {
    const project = c.get('project');
    const body = parse(submitRunSchema, await readJson(c), 'body');
    let suite: Record<string, unknown> = body.suite;
    let datasetVersionId: string | null = null;
    if (body.dataset) {
      if ('cases' in suite) fail(400, 'suite.cases: leave it out when naming a dataset', 'suite.cases');
      const version = await getDatasetVersion(db, project.id, body.dataset.name, body.dataset.version);
      if (!version) fail(404, `no dataset ${body.dataset.name} version ${body.dataset.version}`, 'dataset');
      suite = { ...suite, cases: version.cases };
      datasetVersionId = version.id;
    }
    if (Array.isArray(suite.cases) && suite.cases.length > maxCases) fail(413, `suite.cases: at most ${maxCases} cases per run`, 'suite.cases');
    let loaded;
    try {
      // No environment: `${VAR}` in a submitted suite must never read the platform's own variables.
      loaded = resolveSuite(suite, 'suite', undefined, {});
    } catch (error) {
      if (!(error instanceof SuiteError)) throw error;
      const problems = error.problems.map((p) => ({ field: p.path ? `suite.${p.path}` : 'suite', message: p.message }));
      fail(400, `${problems[0].field}: ${problems[0].message}`, problems[0].field, { problems });
    }
    const build: BuildMetadata = { ci: null, git_sha: null, branch: null, pull_request: null, build_id: null, build_url: null, ...body.build };
    const idempotencyKey = c.req.header('idempotency-key') ?? null;
    if (idempotencyKey !== null && (idempotencyKey.length === 0 || idempotencyKey.length > 200)) fail(400, 'Idempotency-Key: 1 to 200 characters', 'idempotency-key');
    const { run, created } = await createRun(db, {
      projectId: project.id,
      suiteName: loaded.suite.name,
      suite,
      caseIds: loaded.caseIds,
      build,
      branch: build.branch,
      idempotencyKey,
      datasetVersionId,
    });
    if (created) {
      try {
        await queue.enqueue(loaded.caseIds.map((_, caseIndex) => ({ runId: run.id, caseIndex })));
      } catch (error) {
        // The run and its cases are recorded; the reconciler enqueues cases that do not move.
        deps.log?.('enqueue failed; the reconciler will retry', { run: run.id, error: (error as Error).message });
      }
    }
    return c.json(runView(run), created ? 202 : 200, { location: `/v1/runs/${run.id}` });
  });

  app.get('/v1/runs', async (c) => {
    const project = c.get('project');
    const query = parse(listRunsQuery, c.req.query(), 'query');
    if (query.project !== undefined && query.project !== project.name) return c.json({ runs: [], next_cursor: null });
    const runs = await listRuns(db, project.id, {
      branch: query.branch,
      status: query.status,
      cursor: query.cursor ? decodeCursor(query.cursor) : undefined,
      limit: query.limit,
    });
    const last = runs.at(-1);
    return c.json({
      runs: runs.map(runView),
      next_cursor: runs.length === query.limit && last ? encodeCursor(last) : null,
    });
  });

  app.get('/v1/runs/:id', async (c) => c.json(runView(await ownRun(c, c.req.param('id')))));

  app.get('/v1/runs/:id/results', async (c) => {
    const run = await ownRun(c, c.req.param('id'));
    const query = parse(resultsQuery, c.req.query(), 'query');
    const rows = await listCaseResults(db, run.id, { failedOnly: query.failed === 'true', afterIndex: query.cursor ?? -1, limit: query.limit });
    return c.json({
      results: rows.map((row) => ({ index: row.case_index, id: row.case_id, status: row.status, attempts: row.attempts, error: row.error, result: row.result })),
      next_cursor: rows.length === query.limit ? rows[rows.length - 1].case_index : null,
    });
  });

  app.get('/v1/runs/:id/report', async (c) => {
    const run = await ownRun(c, c.req.param('id'));
    if (!run.finished_at) fail(409, `run ${run.id} is ${run.status}; its report is ready when it finishes`, 'id');
    return c.json(await reportOf(run));
  });

  app.post('/v1/runs/:id/cancel', async (c) => {
    const run = await ownRun(c, c.req.param('id'));
    if (run.finished_at && run.status !== 'cancelled') fail(409, `run ${run.id} has already finished (${run.status})`, 'id');
    return c.json(runView((await cancelRun(db, c.get('project').id, run.id))!));
  });

  app.post('/v1/datasets', async (c) => {
    const body = parse(createDatasetSchema, await readJson(c), 'body');
    if (body.cases.length > maxCases) fail(413, `cases: at most ${maxCases} cases per dataset version`, 'cases');
    const version = await createDatasetVersion(db, c.get('project').id, body.name, body.cases);
    return c.json({ name: version.name, version: version.version, case_count: version.case_count }, 201);
  });

  app.get('/v1/datasets', async (c) => c.json({ datasets: await listDatasets(db, c.get('project').id) }));

  app.get('/v1/compare', async (c) => {
    const query = parse(compareQuery, c.req.query(), 'query');
    const [base, head] = await Promise.all([ownRun(c, query.base), ownRun(c, query.head)]);
    for (const run of [base, head]) if (!run.finished_at) fail(409, `run ${run.id} is ${run.status}; compare finished runs`, run === base ? 'base' : 'head');
    const [baseReport, headReport] = await Promise.all([reportOf(base), reportOf(head)]);
    const outcome = evaluateGateRules(headReport, { baseline: baseReport, maxDrop: query.max_drop });
    return c.json({
      base: base.id,
      head: head.id,
      passed: outcome.passed,
      metrics: outcome.rows,
      regressions: outcome.regressions,
      improvements: outcome.improvements,
      added_cases: outcome.addedCases,
      removed_cases: outcome.removedCases,
    });
  });

  app.get('/v1/trends', async (c) => {
    const project = c.get('project');
    const query = parse(trendsQuery, c.req.query(), 'query');
    if (query.project !== undefined && query.project !== project.name) return c.json({ points: [] });
    const result = await clickhouse.query({
      // Aliases differ from column names: ClickHouse would otherwise read them in WHERE.
      query: `SELECT run_id, any(build_id) AS build, any(git_sha) AS commit, any(branch) AS run_branch,
                     min(run_created_at) AS started, avg(score) AS mean, count() AS scored
              FROM ${chDb}.results FINAL
              WHERE project = {project:String} AND metric = {metric:String}
                AND ({branch:String} = '' OR branch = {branch:String}) AND score IS NOT NULL
              GROUP BY run_id ORDER BY started DESC LIMIT {limit:UInt32}`,
      query_params: { project: project.name, metric: query.metric, branch: query.branch ?? '', limit: query.limit },
      format: 'JSONEachRow',
    });
    const points = ((await result.json()) as Array<Record<string, unknown>>).reverse();
    return c.json({ metric: query.metric, branch: query.branch ?? null, points });
  });

  app.get('/v1/topics', async (c) => {
    const project = c.get('project');
    const query = parse(topicsQuery, c.req.query(), 'query');
    const run = await ownRun(c, query.run);
    const result = await clickhouse.query({
      query: `SELECT case_index, min(passed) AS case_passed, any(topic) AS topic, any(tags) AS tags
              FROM ${chDb}.results FINAL
              WHERE project = {project:String} AND run_id = {run:String}
              GROUP BY case_index`,
      query_params: { project: project.name, run: query.run },
      format: 'JSONEachRow',
    });
    // A case is labelled by its topic, else its first tag, else the judge's label written when the run finished.
    const judgeLabels = ((run.summary as { topic_labels?: Record<string, string> } | null)?.topic_labels ?? {}) as Record<string, string>;
    const groups = new Map<string, { topic: string; cases: number; failed: number }>();
    for (const row of (await result.json()) as Array<{ case_index: number; case_passed: number; topic: string; tags: string[] }>) {
      const label = row.topic || (row.tags.length ? `tag:${row.tags[0]}` : (judgeLabels[String(row.case_index)] ?? '(no topic or tag)'));
      const group = groups.get(label) ?? { topic: label, cases: 0, failed: 0 };
      group.cases++;
      if (!Number(row.case_passed)) group.failed++;
      groups.set(label, group);
    }
    const topics = [...groups.values()]
      .map((g) => ({ ...g, fail_rate: Math.round((g.failed / g.cases) * 10_000) / 10_000 }))
      .sort((a, b) => b.fail_rate - a.fail_rate || b.cases - a.cases || a.topic.localeCompare(b.topic));
    return c.json({ run: query.run, topics });
  });

  return app;
}
