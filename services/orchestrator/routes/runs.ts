import { createHash } from 'node:crypto';
import { Hono } from 'hono';
import { egressGuardFor, projectEndpointPolicy, tenantSuiteProblems } from '../../../src/platform/tenancy';
import { listProjectEndpoints } from '../../../src/store/postgres/endpoints';
import { listRunsQuery, resultsQuery, submitRunSchema } from '../../../src/contracts/api';
import { UNKNOWN_BUILD, type BuildMetadata } from '../../../src/contracts/build';
import { runReportText } from '../../../src/platform/run-results';
import { resolveSuite, SuiteError } from '../../../src/suite/load';
import { getDatasetVersion } from '../../../src/store/postgres/projects';
import { cancelRun, createRun, getRunSuite, listCaseResults, listRuns } from '../../../src/store/postgres/runs';
import { decodeCursor, encodeCursor, fail, ownRun, parse, readJson, runView, streamedJson, type AppEnv, type RouteDeps } from '../http';

/** Submitting, listing, following and cancelling runs; their results and reports. */
export function runRoutes(deps: RouteDeps): Hono<AppEnv> {
  const { db, queue, limits } = deps;
  const maxCases = limits.maxCasesPerRun;
  const routes = new Hono<AppEnv>();

  routes.post('/runs', async (c) => {
    const project = c.get('project');
    const raw = await readJson(c);
    const requestHash = createHash('sha256').update(JSON.stringify(raw)).digest('hex');
    const body = parse(submitRunSchema, raw, 'body');
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
    // A run is one suite against one target: `evalctl run --server` submits a matrix as one run per target.
    if (loaded.suite.targets) fail(400, 'suite.targets: a run evaluates one target; submit one run per target (evalctl run --server does)', 'suite.targets');
    // The tenant boundary: only the platform's endpoints, only URLs the egress guard allows.
    const endpoints = projectEndpointPolicy(deps.tenancy, await listProjectEndpoints(db, project.id), false);
    const refused = tenantSuiteProblems(loaded.suite, endpoints, egressGuardFor(deps.tenancy, project.name));
    if (refused.length > 0) fail(400, `${refused[0].field}: ${refused[0].message}`, refused[0].field, { problems: refused });
    const build: BuildMetadata = { ...UNKNOWN_BUILD, ...body.build };
    const idempotencyKey = c.req.header('idempotency-key') ?? null;
    if (idempotencyKey !== null && (idempotencyKey.length === 0 || idempotencyKey.length > 200)) fail(400, 'Idempotency-Key: 1 to 200 characters', 'idempotency-key');
    const outcome = await createRun(db, {
      projectId: project.id,
      suiteName: loaded.suite.name,
      suite,
      caseIds: loaded.caseIds,
      build,
      branch: build.branch,
      idempotencyKey,
      datasetVersionId,
      requestHash,
      maxCostUsd: loaded.suite.max_cost_usd ?? limits.runDefaultMaxCostUsd ?? null,
      limits: { maxActiveRuns: limits.maxActiveRuns, maxQueuedCases: limits.maxQueuedCases, dailyCostUsd: limits.projectDailyCostUsd },
    });
    if (outcome.kind === 'limit') {
      // Runs finish and days end: the client may try again later.
      const now = new Date();
      const retryAfter = outcome.limit === 'daily_cost' ? (Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1) - now.getTime()) / 1000 : 10;
      fail(429, outcome.message, 'project', { limit: outcome.limit }, retryAfter);
    }
    if (outcome.kind === 'idempotency_conflict') {
      fail(422, `Idempotency-Key was used for run ${outcome.run.id} with a different body; use a new key for a different run`, 'idempotency-key');
    }
    const { run } = outcome;
    const created = outcome.kind === 'created';
    if (created) {
      try {
        await queue.enqueueCases(loaded.caseIds.map((_, caseIndex) => ({ runId: run.id, caseIndex })));
      } catch (error) {
        // The run and its cases are recorded; the reconciler enqueues cases that do not move.
        deps.log?.('enqueue failed; the reconciler will retry', { run: run.id, error: (error as Error).message });
      }
    }
    return c.json(runView(run), created ? 202 : 200, { location: `/v1/runs/${run.id}` });
  });

  routes.get('/runs', async (c) => {
    const project = c.get('project');
    const query = parse(listRunsQuery, c.req.query(), 'query');
    if (query.project !== undefined && query.project !== project.name) return c.json({ runs: [], next_cursor: null });
    const runs = await listRuns(db, project.id, {
      suite: query.suite,
      branch: query.branch,
      status: query.status,
      cursor: query.cursor ? decodeCursor(query.cursor, () => fail(400, 'cursor: not a cursor this API returned', 'cursor')) : undefined,
      limit: query.limit,
    });
    const last = runs.at(-1);
    return c.json({
      runs: runs.map(runView),
      next_cursor: runs.length === query.limit && last ? encodeCursor(last) : null,
    });
  });

  routes.get('/runs/:id', async (c) => c.json(runView(await ownRun(db, c, c.req.param('id')))));

  routes.get('/runs/:id/results', async (c) => {
    const run = await ownRun(db, c, c.req.param('id'));
    const query = parse(resultsQuery, c.req.query(), 'query');
    const rows = await listCaseResults(db, run.id, { failedOnly: query.failed === 'true', afterIndex: query.cursor ?? -1, limit: query.limit });
    return c.json({
      results: rows.map((row) => ({ index: row.case_index, id: row.case_id, status: row.status, attempts: row.attempts, error: row.error, result: row.result })),
      next_cursor: rows.length === query.limit ? rows[rows.length - 1].case_index : null,
    });
  });

  routes.get('/runs/:id/report', async (c) => {
    const run = await ownRun(db, c, c.req.param('id'));
    if (!run.finished_at) fail(409, `run ${run.id} is ${run.status}; its report is ready when it finishes`, 'id');
    // Written as it is read, a batch of cases at a time: the orchestrator's memory does not grow with the run.
    return streamedJson(runReportText(db, { ...run, suite: await getRunSuite(db, run.id) }));
  });

  routes.post('/runs/:id/cancel', async (c) => {
    const run = await ownRun(db, c, c.req.param('id'));
    if (run.finished_at && run.status !== 'cancelled') fail(409, `run ${run.id} has already finished (${run.status})`, 'id');
    return c.json(runView((await cancelRun(db, c.get('project').id, run.id))!));
  });

  return routes;
}
