import { Hono } from 'hono';
import { agreementQuery, createLinkSchema, putReviewSchema, reviewsQuery, type LinkView } from '../../../src/contracts/api';
import { agreementCounts, listReviews, reviewView, saveReview } from '../../../src/store/postgres/reviews';
import { getRunCase } from '../../../src/store/postgres/runs';
import { issueViewerToken } from '../../../src/store/postgres/viewer-tokens';
import { agreementOf } from '../../../src/viewer/model';
import { checkReview } from '../../../src/viewer/reviews';
import { fail, ownRun, parse, readJson, type AppEnv, type RouteDeps } from '../http';
import { VIEWER_BASE } from '../viewer';


/** Human reviews of judged metrics, the judges' agreement with them, and read-only viewer links. */
export function reviewRoutes(deps: RouteDeps): Hono<AppEnv> {
  const { db } = deps;
  const routes = new Hono<AppEnv>();

  routes.put('/runs/:id/cases/:index/reviews/:metric', async (c) => {
    const run = await ownRun(db, c, c.req.param('id'));
    const indexText = c.req.param('index');
    if (!/^\d{1,9}$/.test(indexText)) fail(404, `no case ${indexText} in run ${run.id}`, 'index');
    const row = await getRunCase(db, run.id, Number(indexText));
    if (!row) fail(404, `no case ${indexText} in run ${run.id}`, 'index');
    const body = parse(putReviewSchema, await readJson(c), 'body');
    const checked = checkReview(
      { metric: c.req.param('metric'), reviewer: body.reviewer, agree: body.agree, corrected_passed: body.corrected_passed ?? null, comment: body.comment ?? null },
      row.result,
      run.summary,
    );
    if ('field' in checked) fail(checked.field === 'case' ? 409 : 400, checked.message, checked.field);
    const saved = await saveReview(db, {
      projectId: c.get('project').id,
      runId: run.id,
      caseIndex: row.case_index,
      metric: checked.review.metric,
      reviewer: checked.review.reviewer,
      agree: checked.review.agree,
      judgePassed: checked.judgePassed,
      correctedPassed: checked.review.corrected_passed,
      comment: checked.review.comment,
    });
    return c.json(reviewView(saved));
  });

  routes.get('/runs/:id/reviews', async (c) => {
    const run = await ownRun(db, c, c.req.param('id'));
    const query = parse(reviewsQuery, c.req.query(), 'query');
    return c.json({ reviews: (await listReviews(db, c.get('project').id, run.id, query.case)).map(reviewView) });
  });

  routes.get('/agreement', async (c) => {
    const query = parse(agreementQuery, c.req.query(), 'query');
    if (query.run) await ownRun(db, c, query.run);
    const rows = await agreementCounts(db, { projectId: c.get('project').id, metric: query.metric, runId: query.run });
    return c.json({ metrics: rows.map((row) => agreementOf(row.metric, row)) });
  });

  routes.post('/links', async (c) => {
    const body = parse(createLinkSchema, await readJson(c), 'body');
    const runs = [await ownRun(db, c, body.run)];
    if (body.baseline) runs.push(await ownRun(db, c, body.baseline));
    const expiresAt = new Date(Date.now() + body.ttl_hours * 3_600_000);
    const token = await issueViewerToken(db, {
      kind: 'link',
      projectId: c.get('project').id,
      apiKeyId: c.get('apiKeyId'),
      reviewer: null,
      runIds: runs.map((run) => run.id),
      expiresAt,
    });
    const link: LinkView = { path: `${VIEWER_BASE}/l/${token}`, expires_at: expiresAt.toISOString(), runs: runs.map((run) => run.id) };
    return c.json(link, 201);
  });

  return routes;
}
