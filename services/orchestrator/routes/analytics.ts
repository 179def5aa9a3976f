import { Hono } from 'hono';
import { compareQuery, topicsQuery, trendsQuery } from '../../../src/contracts/api';
import { headerRunReport } from '../../../src/platform/run-results';
import { groupByTopic } from '../../../src/runner/topics';
import { evaluateGateRules } from '../../../src/runner/gate';
import { metricTrend, runCaseOutcomes } from '../../../src/store/clickhouse/queries';
import { fail, ownRun, parse, type AppEnv, type RouteDeps } from '../http';

/** Comparing two runs, a metric's trend over runs, and a run's failures by topic. */
export function analyticsRoutes(deps: RouteDeps): Hono<AppEnv> {
  const { db, clickhouse, clickhouseDatabase } = deps;
  const routes = new Hono<AppEnv>();

  routes.get('/compare', async (c) => {
    const query = parse(compareQuery, c.req.query(), 'query');
    const [base, head] = await Promise.all([ownRun(db, c, query.base), ownRun(db, c, query.head)]);
    for (const run of [base, head]) if (!run.finished_at) fail(409, `run ${run.id} is ${run.status}; compare finished runs`, run === base ? 'base' : 'head');
    const [baseReport, headReport] = await Promise.all([headerRunReport(db, base), headerRunReport(db, head)]);
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

  routes.get('/trends', async (c) => {
    const project = c.get('project');
    const query = parse(trendsQuery, c.req.query(), 'query');
    if (query.project !== undefined && query.project !== project.name) return c.json({ points: [] });
    const points = await metricTrend(clickhouse, clickhouseDatabase, { project: project.name, metric: query.metric, branch: query.branch, limit: query.limit });
    return c.json({ metric: query.metric, branch: query.branch ?? null, points });
  });

  routes.get('/topics', async (c) => {
    const project = c.get('project');
    const query = parse(topicsQuery, c.req.query(), 'query');
    const run = await ownRun(db, c, query.run);
    const cases = await runCaseOutcomes(clickhouse, clickhouseDatabase, { project: project.name, runId: query.run });
    return c.json({ run: query.run, topics: groupByTopic(cases, run.summary?.topic_labels) });
  });

  return routes;
}
