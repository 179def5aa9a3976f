/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { Context, MiddlewareHandler } from 'hono';
import { Hono } from 'hono';
import { z } from 'zod';
import type { CaseResult } from '../contracts/report';
import { evaluateGateRules } from '../runner/gate';
import { assetNamed, SECURITY_HEADERS } from './assets';
import { CasePage } from './case-page';
import { ComparePage } from './compare-page';
import { AgreementPage, TrendsPage } from './insight-pages';
import { Problem, type Viewer } from './layout';
import { CASE_STATUSES, RUN_STATUSES, type RunDetail, type RunRow, type ViewerSource } from './model';
import { checkReview, isJudged } from './reviews';
import { RunPage, RunsPage } from './run-pages';

/** Set by the host before the pages run: what this request may read, and who is reading. */
export type ViewerEnv = { Variables: { viewerSource: ViewerSource; viewer: Viewer } };

/** Cases per page of a run, and changes per page of a comparison. */
export const CASES_PER_PAGE = 50;

const text = (max: number) => z.string().max(max).optional().transform((v) => (v === '' ? undefined : v));
const offset = z.coerce.number().int().min(0).max(10_000_000).optional().default(0);

/** A choice from a list; an empty value (a filter's "any") is none. */
const choice = <T extends readonly [string, ...string[]]>(values: T) => z.preprocess((v) => (v === '' ? undefined : v), z.enum(values).optional());

const runsQuery = z.object({ suite: text(300), branch: text(300), status: choice(RUN_STATUSES), cursor: text(300) });
const runQuery = z.object({
  status: choice(CASE_STATUSES),
  metric: text(200),
  topic: text(500),
  tag: text(500),
  offset,
});
const caseQuery = z.object({ saved: text(200) });
const compareQuery = z.object({ base: z.string().min(1).max(100), head: z.string().min(1).max(100), max_drop: z.coerce.number().min(0).max(1).optional().default(0), roffset: offset, ioffset: offset });
const trendsQuery = z.object({ metric: text(200), branch: text(300) });
const reviewForm = z.object({
  metric: z.string().min(1).max(200),
  verdict: z.enum(['agree', 'disagree'], { message: 'choose agree or disagree' }),
  corrected_passed: z.enum(['', 'true', 'false']).optional().default(''),
  comment: z.string().max(20_000).optional().default(''),
});

class PageProblem extends Error {
  constructor(readonly status: 400 | 404 | 409, readonly title: string, message: string) {
    super(message);
  }
}

/** Parses a query or form with its schema; the first problem becomes a page naming the field. */
function parseOrRefuse<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const message = issue.code === 'invalid_value' ? `expected one of ${issue.values.join(', ')}` : issue.message;
  throw new PageProblem(400, 'Bad request', `${issue.path.join('.') || 'query'}: ${message}`);
}

async function ownRun(source: ViewerSource, id: string): Promise<RunDetail> {
  const run = await source.run(id);
  if (!run) throw new PageProblem(404, 'No such run', `There is no run ${id} here (or it belongs to another project, or the link you followed does not cover it).`);
  return run;
}

const caseIndex = (value: string): number => {
  if (!/^\d{1,9}$/.test(value)) throw new PageProblem(404, 'No such case', `There is no case ${value} in this run.`);
  return Number(value);
};

/** Runs of the same suite to compare with, and the one to suggest: the newest finished run before this one, on main if there is one. */
async function comparable(source: ViewerSource, run: RunDetail): Promise<{ others: RunRow[]; suggested: string | null }> {
  const { runs } = await source.runs({ suite: run.suite });
  const others = runs.filter((other) => other.id !== run.id && other.finished_at !== null);
  const older = others.filter((other) => other.created_at <= run.created_at);
  const main = older.find((other) => other.build.branch === 'main' || other.build.branch === 'master');
  return { others, suggested: (main ?? older[0] ?? others[0])?.id ?? null };
}

/** Every viewer response's security headers (`SECURITY_HEADERS`), and no caching of pages that hold data. */
export const securityHeaders: MiddlewareHandler = async (c, next) => {
  await next();
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) c.res.headers.set(name, value);
  if (!c.res.headers.has('cache-control')) c.res.headers.set('cache-control', 'no-store');
};

/** The viewer's pages, mounted by a host that sets `viewerSource` and `viewer` first (the orchestrator at `/ui`, `evalctl view` at the root). */
export function viewerPages(): Hono<ViewerEnv> {
  const pages = new Hono<ViewerEnv>();

  pages.use('*', securityHeaders);

  pages.onError((error, c) => {
    if (error instanceof PageProblem) return c.html(<Problem viewer={c.get('viewer')} title={error.title} message={error.message} />, error.status);
    throw error;
  });

  pages.get('/', async (c) => {
    const source = c.get('viewerSource');
    const filter = parseOrRefuse(runsQuery, c.req.query());
    const [{ runs, nextCursor }, { suites, branches }] = await Promise.all([source.runs(filter), source.runFacets()]);
    return c.html(<RunsPage viewer={c.get('viewer')} filter={filter} runs={runs} nextCursor={nextCursor} suites={suites} branches={branches} />);
  });

  pages.get('/runs/:id', async (c) => {
    const source = c.get('viewerSource');
    const run = await ownRun(source, c.req.param('id'));
    const query = parseOrRefuse(runQuery, c.req.query());
    const filter = { ...query, limit: CASES_PER_PAGE };
    const [page, facets, topics, agreement, compare] = await Promise.all([
      source.cases(run.id, filter),
      source.caseFacets(run.id),
      run.finished_at ? source.topics(run) : Promise.resolve([]),
      source.agreement({}),
      comparable(source, run),
    ]);
    return c.html(
      <RunPage
        viewer={c.get('viewer')}
        data={{ run, filter, cases: page.cases, total: page.total, facets, topics, agreement, others: compare.others, suggestedBase: compare.suggested }}
      />,
    );
  });

  const casePage = async (c: Context<ViewerEnv>, extra: { refused?: { metric: string; message: string } } = {}) => {
    const source = c.get('viewerSource');
    const run = await ownRun(source, c.req.param('id')!);
    const index = caseIndex(c.req.param('index')!);
    const detail = await source.caseDetail(run.id, index);
    if (!detail) throw new PageProblem(404, 'No such case', `There is no case ${index} in this run.`);
    const query = parseOrRefuse(caseQuery, c.req.query());
    const [calls, reviews, agreement] = await Promise.all([source.llmCalls(run, index), source.reviews(run.id, index), source.agreement({})]);
    const result: CaseResult | null = detail.result;
    const judged = new Set(result ? Object.keys(result.metrics).filter((id) => isJudged(id, result, run.summary)) : []);
    return c.html(
      <CasePage viewer={c.get('viewer')} data={{ run, detail, calls, reviews, agreement, judged, saved: query.saved, refused: extra.refused }} />,
      extra.refused ? 400 : 200,
    );
  };

  pages.get('/runs/:id/cases/:index', (c) => casePage(c));

  pages.post('/runs/:id/cases/:index/reviews', async (c) => {
    const source = c.get('viewerSource');
    const viewer = c.get('viewer');
    if (!source.saveReview || !viewer.reviewer) throw new PageProblem(409, 'Read only', 'This session cannot record reviews: sign in with a project key and your name.');
    const run = await ownRun(source, c.req.param('id'));
    const index = caseIndex(c.req.param('index'));
    const form = parseOrRefuse(reviewForm, Object.fromEntries(Object.entries(await c.req.parseBody()).map(([k, v]) => [k, typeof v === 'string' ? v : ''])));
    const detail = await source.caseDetail(run.id, index);
    if (!detail) throw new PageProblem(404, 'No such case', `There is no case ${index} in this run.`);
    const checked = checkReview(
      {
        metric: form.metric,
        reviewer: viewer.reviewer,
        agree: form.verdict === 'agree',
        corrected_passed: form.corrected_passed === '' ? null : form.corrected_passed === 'true',
        comment: form.comment,
      },
      detail.result,
      run.summary,
    );
    if ('field' in checked) return casePage(c, { refused: { metric: form.metric, message: checked.message } });
    await source.saveReview(run.id, index, { ...checked.review, judge_passed: checked.judgePassed });
    return c.redirect(`${viewer.paths.case(run.id, index)}?saved=${encodeURIComponent(form.metric)}#metric-${encodeURIComponent(form.metric)}`, 303);
  });

  pages.get('/compare', async (c) => {
    const source = c.get('viewerSource');
    const query = parseOrRefuse(compareQuery, c.req.query());
    const [base, head] = await Promise.all([ownRun(source, query.base), ownRun(source, query.head)]);
    for (const run of [base, head]) if (!run.finished_at) throw new PageProblem(409, 'Not finished', `Run ${run.suite} (${run.id}) is ${run.status}: compare it once it has finished.`);
    const [baseReport, headReport] = await Promise.all([source.report(base.id), source.report(head.id)]);
    const outcome = evaluateGateRules(headReport, { baseline: baseReport, maxDrop: query.max_drop });
    const byKey = (cases: CaseResult[]) => new Map(cases.map((result, at) => [`${result.suite}/${result.id}`, { result, at }]));
    return c.html(
      <ComparePage
        viewer={c.get('viewer')}
        data={{
          base,
          head,
          outcome,
          maxDrop: query.max_drop,
          baseCases: byKey(baseReport.cases),
          headCases: byKey(headReport.cases),
          regressionsOffset: query.roffset,
          improvementsOffset: query.ioffset,
          limit: CASES_PER_PAGE,
        }}
      />,
    );
  });

  pages.get('/trends', async (c) => {
    const source = c.get('viewerSource');
    const query = parseOrRefuse(trendsQuery, c.req.query());
    const [{ runs }, { branches }] = await Promise.all([source.runs({}), source.runFacets()]);
    const metrics = [...new Set(runs.flatMap((run) => Object.keys(run.means ?? {})))];
    const metric = query.metric ?? metrics[0];
    const points = metric ? await source.trends(metric, query.branch) : [];
    if (metric && !metrics.includes(metric)) metrics.push(metric);
    return c.html(<TrendsPage viewer={c.get('viewer')} metric={metric} branch={query.branch} metrics={metrics} branches={branches} points={points} />);
  });

  pages.get('/agreement', async (c) => c.html(<AgreementPage viewer={c.get('viewer')} agreement={await c.get('viewerSource').agreement({})} />));

  return pages;
}

/** The viewer's CSS and script, by their hashed names: public (the sign-in page needs them) and cached for good. */
export function viewerAssets(): Hono {
  const assets = new Hono();
  assets.get('/:name', (c) => {
    const asset = assetNamed(c.req.param('name'));
    if (!asset) return c.text('no such asset', 404);
    return c.body(asset.body, 200, { 'content-type': asset.type, 'cache-control': 'public, max-age=31536000, immutable', 'x-content-type-options': 'nosniff' });
  });
  return assets;
}
