/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { Context, MiddlewareHandler } from 'hono';
import { Hono } from 'hono';
import { z } from 'zod';
import type { CaseResult } from '../contracts/report';
import { assetNamed, SECURITY_HEADERS } from './assets';
import { baseSuiteName, compareByCase, reportOfTarget } from './case-compare';
import { scoresOfCases } from './case-query';
import { CasePage } from './case-page';
import { ComparePage } from './compare-page';
import { casesCsv } from './export';
import { gridQuery, parseGrid, withQuery, type GridState } from './grid';
import { AgreementPage, TrendsPage } from './insight-pages';
import { Problem, type Viewer } from './layout';
import { RUN_STATUSES, targetOfSuite, type CaseRow, type RunDetail, type RunRow, type ViewerSource } from './model';
import { nextInQueue, QUEUE_ORDERS, queueOf, type QueueOrder } from './review-queue';
import { ReviewPage } from './review-page';
import { checkReview, isJudged } from './reviews';
import { RunPage, RunsPage } from './run-pages';
import { SideBySidePage } from './side-by-side';

/** Set by the host before the pages run: what this request may read, and who is reading. */
export type ViewerEnv = { Variables: { viewerSource: ViewerSource; viewer: Viewer } };

/** Cases per page of a run, and changes per page of a comparison. */
export const CASES_PER_PAGE = 50;

const text = (max: number) => z.string().max(max).optional().transform((v) => (v === '' ? undefined : v));
const offset = z.coerce.number().int().min(0).max(10_000_000).optional().default(0);

/** A choice from a list; an empty value (a filter's "any") is none. */
const choice = <T extends readonly [string, ...string[]]>(values: T) => z.preprocess((v) => (v === '' ? undefined : v), z.enum(values).optional());

const runsQuery = z.object({ suite: text(300), branch: text(300), status: choice(RUN_STATUSES), cursor: text(300) });
const compareQuery = z.object({
  base: z.string().min(1).max(100),
  head: z.string().min(1).max(100),
  base_target: text(200),
  head_target: text(200),
  any_suite: z.enum(['', '1']).optional(),
  max_drop: z.coerce.number().min(0).max(1).optional().default(0),
  roffset: offset,
  ioffset: offset,
});
const trendsQuery = z.object({ metric: text(200), branch: text(300), suite: text(300) });
const queueQuery = z.object({ order: choice(QUEUE_ORDERS), size: z.coerce.number().int().min(1).max(100_000).optional(), after: z.coerce.number().int().min(-1).optional() });
const reviewPageQuery = z.object({ metric: text(200) });
const sideQuery = z.object({ runs: z.string().min(1).max(2_000), offset });
const reviewForm = z.object({
  metric: z.string().min(1).max(200),
  verdict: z.enum(['agree', 'disagree'], { message: 'choose agree or disagree' }),
  corrected_passed: z.enum(['', 'true', 'false']).optional().default(''),
  comment: z.string().max(20_000).optional().default(''),
  queue: choice(QUEUE_ORDERS),
  size: z.string().max(10).optional().default(''),
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

/**
 * Runs to compare with, and the one to suggest: runs of the same suite (the newest finished run before this
 * one, on main if there is one) and, for a target of a matrix submitted to the platform (a run per target, its
 * suite `<suite>[<target>]`), the other targets' runs of the same build: its siblings.
 */
async function comparable(source: ViewerSource, run: RunDetail): Promise<{ others: RunRow[]; suggested: string | null; siblings: RunRow[] }> {
  const target = targetOfSuite(run.suite);
  const [same, recent] = await Promise.all([source.runs({ suite: run.suite }), target ? source.runs({ branch: run.branch ?? undefined }) : Promise.resolve({ runs: [] as RunRow[] })]);
  const sameBuild = (other: RunRow) => other.build.git_sha === run.build.git_sha && other.build.build_id === run.build.build_id;
  const siblings = recent.runs.filter((other) => other.id !== run.id && other.suite !== run.suite && targetOfSuite(other.suite) !== null && baseSuiteName(other.suite) === baseSuiteName(run.suite) && sameBuild(other));
  const others = same.runs.filter((other) => other.id !== run.id && other.finished_at !== null);
  const older = others.filter((other) => other.created_at <= run.created_at);
  const main = older.find((other) => other.build.branch === 'main' || other.build.branch === 'master');
  return { others: [...others, ...siblings.filter((s) => s.finished_at !== null)], suggested: (main ?? older[0] ?? others[0])?.id ?? null, siblings };
}

/** At most this many cases in one export. */
const EXPORT_LIMIT = 100_000;

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

  /** The grid's state of a page's query; a bad parameter is refused naming it. */
  const gridOf = (c: Context<ViewerEnv>): GridState => {
    const { saved: _saved, queue: _queue, size: _size, ...query } = c.req.query();
    const state = parseGrid(query, c.req.queries('col'));
    if ('field' in state) throw new PageProblem(400, 'Bad request', `${state.field}: ${state.message}`);
    return state;
  };

  pages.get('/runs/:id', async (c) => {
    const source = c.get('viewerSource');
    const run = await ownRun(source, c.req.param('id'));
    const grid = gridOf(c);
    const filter = { ...grid.filter, offset: grid.offset, limit: CASES_PER_PAGE };
    const [page, facets, topics, agreement, scores, compare] = await Promise.all([
      source.cases(run.id, filter),
      source.caseFacets(run),
      run.finished_at ? source.topics(run) : Promise.resolve([]),
      source.agreement({ runId: run.id }),
      source.scores(run),
      comparable(source, run),
    ]);
    return c.html(
      <RunPage
        viewer={c.get('viewer')}
        data={{
          run,
          grid,
          cases: page.cases,
          total: page.total,
          limit: CASES_PER_PAGE,
          facets,
          topics,
          agreement,
          scores,
          others: compare.others,
          suggestedBase: compare.suggested,
          siblings: compare.siblings,
          reviewing: Boolean(source.saveReview && c.get('viewer').reviewer),
        }}
      />,
    );
  });

  pages.get('/runs/:id/cases.:format{csv|json}', async (c) => {
    const source = c.get('viewerSource');
    const run = await ownRun(source, c.req.param('id'));
    const grid = gridOf(c);
    const rows: CaseRow[] = [];
    for (let at = 0; at < EXPORT_LIMIT; at += 1_000) {
      const page = await source.cases(run.id, { ...grid.filter, offset: at, limit: 1_000 });
      rows.push(...page.cases);
      if (page.cases.length < 1_000) break;
    }
    const metricIds = Object.keys(run.summary?.metrics ?? {}).length ? Object.keys(run.summary!.metrics) : [...new Set(rows.flatMap((row) => Object.keys(row.metrics)))];
    const name = `${run.suite.replace(/[^A-Za-z0-9._-]+/g, '_')}-cases.${c.req.param('format')}`;
    const headers = { 'content-disposition': `attachment; filename="${name}"` };
    if (c.req.param('format') === 'json') return c.body(JSON.stringify({ run: { id: run.id, suite: run.suite }, filter: grid.filter, cases: rows }, null, 2), 200, { ...headers, 'content-type': 'application/json; charset=utf-8' });
    return c.body(casesCsv(rows, metricIds), 200, { ...headers, 'content-type': 'text/csv; charset=utf-8' });
  });

  const casePage = async (c: Context<ViewerEnv>, extra: { refused?: { metric: string; message: string } } = {}) => {
    const source = c.get('viewerSource');
    const run = await ownRun(source, c.req.param('id')!);
    const index = caseIndex(c.req.param('index')!);
    const detail = await source.caseDetail(run.id, index);
    if (!detail) throw new PageProblem(404, 'No such case', `There is no case ${index} in this run.`);
    const query = c.req.query();
    const grid = gridOf(c);
    const queue = parseOrRefuse(queueQuery, { order: query.queue, size: query.size });
    const [calls, reviews, agreement, order] = await Promise.all([
      source.llmCalls(run, index),
      source.reviews(run.id, index),
      source.agreement({ runId: run.id }),
      source.caseOrder(run.id, { ...grid.filter, offset: 0, limit: 0 }),
    ]);
    const result: CaseResult | null = detail.result;
    const judged = new Set(result ? Object.keys(result.metrics).filter((id) => isJudged(id, result, run.summary)) : []);
    const at = order.indexOf(index);
    const gridQueryText = gridQuery(grid, { offset: 0 });
    const neighbours = {
      position: at,
      total: order.length,
      previous: at > 0 ? order[at - 1] : null,
      next: at >= 0 && at < order.length - 1 ? order[at + 1] : null,
      query: gridQueryText,
      gridHref: withQuery(c.get('viewer').paths.run(run.id), gridQuery(grid, { offset: Math.max(0, at) - (Math.max(0, at) % CASES_PER_PAGE) })) + '#cases',
    };
    return c.html(
      <CasePage
        viewer={c.get('viewer')}
        data={{ run, detail, calls, reviews, agreement, judged, saved: query.saved?.slice(0, 200), refused: extra.refused, neighbours, queue: queue.order ? { order: queue.order, size: queue.size } : undefined }}
      />,
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
    const back = new URLSearchParams({ saved: form.metric });
    if (form.queue) back.set('queue', form.queue);
    if (form.queue && /^\d+$/.test(form.size)) back.set('size', form.size);
    return c.redirect(`${viewer.paths.case(run.id, index)}?${back}#metric-${encodeURIComponent(form.metric)}`, 303);
  });

  /** The run's review queue, for the signed-in reviewer. */
  const reviewQueue = async (c: Context<ViewerEnv>, run: RunDetail, order: QueueOrder, size: number | undefined) => {
    const source = c.get('viewerSource');
    const [report, reviews] = await Promise.all([source.report(run.id), source.reviews(run.id)]);
    return queueOf(run, report, reviews, c.get('viewer').reviewer!, order, size);
  };

  pages.get('/runs/:id/review', async (c) => {
    const source = c.get('viewerSource');
    const viewer = c.get('viewer');
    if (viewer.mode !== 'platform') throw new PageProblem(404, 'No reviews here', 'Reviews are recorded on the platform; report files are read only.');
    const run = await ownRun(source, c.req.param('id'));
    const query = parseOrRefuse(reviewPageQuery, c.req.query());
    const [reviews, agreement] = await Promise.all([source.reviews(run.id), source.agreement({ runId: run.id })]);
    const queue = viewer.reviewer && run.finished_at ? await reviewQueue(c, run, 'index', undefined) : null;
    return c.html(<ReviewPage viewer={viewer} data={{ run, reviews, agreement, metric: query.metric, queue }} />);
  });

  pages.get('/runs/:id/review/next', async (c) => {
    const source = c.get('viewerSource');
    const viewer = c.get('viewer');
    if (!source.saveReview || !viewer.reviewer) throw new PageProblem(409, 'Read only', 'This session cannot record reviews: sign in with a project key and your name.');
    const run = await ownRun(source, c.req.param('id'));
    if (!run.finished_at) throw new PageProblem(409, 'Not finished', `Run ${run.suite} is ${run.status}: review it once it has finished.`);
    const query = parseOrRefuse(queueQuery, c.req.query());
    const order = query.order ?? 'index';
    const queue = await reviewQueue(c, run, order, query.size);
    const next = nextInQueue(queue, query.after);
    if (next === null) return c.redirect(`${viewer.paths.review(run.id)}?done=1`, 303);
    const params = new URLSearchParams({ queue: order });
    if (query.size) params.set('size', String(query.size));
    return c.redirect(`${viewer.paths.case(run.id, next)}?${params}`, 303);
  });

  pages.get('/compare', async (c) => {
    const source = c.get('viewerSource');
    const query = parseOrRefuse(compareQuery, c.req.query());
    const [base, head] = await Promise.all([ownRun(source, query.base), ownRun(source, query.head)]);
    for (const run of [base, head]) if (!run.finished_at) throw new PageProblem(409, 'Not finished', `Run ${run.suite} (${run.id}) is ${run.status}: compare it once it has finished.`);
    if ((query.base_target === undefined) !== (query.head_target === undefined)) throw new PageProblem(400, 'Bad request', 'base_target and head_target: name both targets, or neither');
    const [baseFull, headFull] = await Promise.all([source.report(base.id), source.report(head.id)]);
    // Two targets of one matrix (in one report, or two platform runs of it) meet by suite and case id.
    const siblings = baseSuiteName(base.suite) === baseSuiteName(head.suite) && base.suite !== head.suite;
    const targets = query.base_target !== undefined || siblings;
    const baseReport = targets ? reportOfTarget(baseFull, query.base_target) : baseFull;
    const headReport = targets ? reportOfTarget(headFull, query.head_target) : headFull;
    if (query.base_target !== undefined) {
      for (const [target, report] of [[query.base_target, baseReport], [query.head_target!, headReport]] as const) {
        if (report.cases.length === 0) throw new PageProblem(404, 'No such target', `Run ${base.id === head.id ? base.suite : ''} has no target ${target}.`.replace('  ', ' '));
      }
    }
    const differentSuites = baseSuiteName(base.suite) !== baseSuiteName(head.suite);
    if (differentSuites && query.any_suite !== '1') {
      throw new PageProblem(
        409,
        'Different suites',
        `${base.suite} and ${head.suite} are different suites: their cases are not the same cases, so a comparison would only list them as added and removed. Compare runs of one suite, or add any_suite=1 to the address to compare them anyway.`,
      );
    }
    const comparison = compareByCase(baseReport, headReport, query.max_drop);
    const [baseScores, headScores] = [scoresOfCases(baseReport.cases), scoresOfCases(headReport.cases)];
    const scores = Object.fromEntries(
      Object.keys(headReport.metrics)
        .filter((id) => id in baseReport.metrics && (baseScores[id]?.length || headScores[id]?.length))
        .map((id) => [id, { range: headReport.metrics[id].range, base: baseScores[id] ?? [], head: headScores[id] ?? [] }]),
    );
    return c.html(
      <ComparePage
        viewer={c.get('viewer')}
        data={{
          base,
          head,
          baseTarget: query.base_target ?? (siblings ? targetOfSuite(base.suite) ?? undefined : undefined),
          headTarget: query.head_target ?? (siblings ? targetOfSuite(head.suite) ?? undefined : undefined),
          comparison,
          maxDrop: query.max_drop,
          differentSuites,
          scores,
          regressionsOffset: query.roffset,
          improvementsOffset: query.ioffset,
          limit: CASES_PER_PAGE,
          query: { base_target: query.base_target, head_target: query.head_target, any_suite: query.any_suite || undefined, max_drop: query.max_drop || undefined },
        }}
      />,
    );
  });

  pages.get('/side-by-side', async (c) => {
    const source = c.get('viewerSource');
    const query = parseOrRefuse(sideQuery, c.req.query());
    const specs = query.runs.split(',').slice(0, 8).map((spec) => {
      const colon = spec.indexOf(':');
      return colon === -1 ? { id: spec, target: undefined } : { id: spec.slice(0, colon), target: spec.slice(colon + 1) };
    });
    if (specs.length < 2) throw new PageProblem(400, 'Bad request', 'runs: name two runs or targets or more, separated by commas (<run>[:<target>])');
    const columns = await Promise.all(
      specs.map(async (spec) => {
        const run = await ownRun(source, spec.id);
        const page = await source.cases(run.id, { sort: 'index', target: spec.target, offset: query.offset, limit: CASES_PER_PAGE });
        return { run, target: spec.target ?? targetOfSuite(run.suite) ?? run.suite, cases: page.cases, total: page.total };
      }),
    );
    return c.html(<SideBySidePage viewer={c.get('viewer')} columns={columns} offset={query.offset} limit={CASES_PER_PAGE} runs={query.runs} />);
  });

  pages.get('/trends', async (c) => {
    const source = c.get('viewerSource');
    const query = parseOrRefuse(trendsQuery, c.req.query());
    const [{ runs }, { suites, branches }] = await Promise.all([source.runs({ suite: query.suite, branch: query.branch }), source.runFacets()]);
    const metrics = [...new Set(runs.flatMap((run) => Object.keys(run.means ?? {})))];
    const metric = query.metric ?? metrics[0];
    const points = metric ? await source.trends(metric, { branch: query.branch, suite: query.suite }) : [];
    if (metric && !metrics.includes(metric)) metrics.push(metric);
    return c.html(<TrendsPage viewer={c.get('viewer')} filter={{ metric, branch: query.branch, suite: query.suite }} metrics={metrics} suites={suites} branches={branches} points={points} runs={runs} />);
  });

  pages.get('/agreement', async (c) => c.html(<AgreementPage viewer={c.get('viewer')} agreement={await c.get('viewerSource').agreement({})} />));

  // Any other address under the viewer is a page of its own, not the API's JSON.
  pages.all('*', (c) => {
    throw new PageProblem(404, 'No such page', `There is no page ${new URL(c.req.url).pathname} in the viewer.`);
  });

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
