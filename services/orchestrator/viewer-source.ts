import type { ClickHouseClient } from '@clickhouse/client';
import type { Kysely } from 'kysely';
import type { Report } from '../../src/contracts/report';
import { headerRunReport } from '../../src/platform/run-results';
import { groupByTopic } from '../../src/runner/topics';
import { caseLlmCalls, metricTrend, runCaseOutcomes } from '../../src/store/clickhouse/queries';
import { agreementCounts, listReviews, reviewView, saveReview } from '../../src/store/postgres/reviews';
import { caseFacets, runScores, getRun, getRunCase, listCaseOrder, listCasePage, listRuns, runFacets, type RunHeader } from '../../src/store/postgres/runs';
import type { Database, Project } from '../../src/store/postgres/schema';
import { agreementOf, facetsOf, inOrder, runMatches, targetOfSuite, type CaseFacets, type CaseFilter, type CaseRow, type RunDetail, type RunFilter, type RunRow, type ViewerSource } from '../../src/viewer/model';
import { setBounded } from './limits';
import { decodeCursor, encodeCursor, runView, UUID } from './http';

const RUNS_PER_PAGE = 50;

/** The reports of finished runs, which do not change: a comparison of two 10,000-case runs reads them once. */
const reports = new Map<string, Promise<Report>>();

/**
 * A finished run's filters and scores, which no longer change: read once per orchestrator (each is a pass over
 * every case of the run), for the 16 runs read last.
 */
const facetsOfRuns = new Map<string, Promise<CaseFacets>>();
const scoresOfRuns = new Map<string, Promise<Record<string, number[]>>>();

function finishedOnce<T>(cache: Map<string, Promise<T>>, run: RunDetail, read: () => Promise<T>): Promise<T> {
  if (!run.finished_at) return read();
  const kept = cache.get(run.id);
  if (kept) return kept;
  const reading = read();
  setBounded(cache, run.id, reading, 16);
  reading.catch(() => cache.delete(run.id));
  return reading;
}

type ListedRun = Awaited<ReturnType<typeof listRuns>>[number];

/** A run as the viewer lists it: the API's view of it, with its duration and metric means. */
function runRow(run: Omit<ListedRun, 'means' | 'metric_order' | 'gate_passed'>, means: RunRow['means'], order: string[] | null | undefined, gate: boolean | null): RunRow {
  const view = runView(run);
  const { id, suite, status, branch, build, created_at, finished_at, progress } = view;
  return { id, suite, status, branch, build, created_at, finished_at, progress, means: means && inOrder(means, order), gate_passed: gate, cost_usd: view.cost.spent_usd, duration_ms: finished_at ? Date.parse(finished_at) - Date.parse(view.started_at ?? created_at) : null };
}

const detail = (run: RunHeader): RunDetail => {
  const order = run.summary?.metric_order;
  const summary = run.summary && { ...run.summary, metrics: inOrder(run.summary.metrics, order) };
  return { ...runRow(run, run.summary?.summary ?? null, order, run.summary?.gate.passed ?? null), summary, max_cost_usd: run.max_cost_usd };
};

/**
 * The viewer over one project's runs on the platform: Postgres for runs, cases and reviews, ClickHouse for LLM
 * calls, trends and topics (the dashboards' data). A link's session sees only the runs it names (`runIds`);
 * reviews are recorded only with a reviewer (a session opened with a key).
 */
export class PlatformViewerSource implements ViewerSource {
  readonly mode = 'platform' as const;
  readonly title: string;
  readonly saveReview?: ViewerSource['saveReview'];

  constructor(
    private readonly db: Kysely<Database>,
    private readonly clickhouse: ClickHouseClient,
    private readonly clickhouseDatabase: string,
    readonly project: Project,
    readonly runIds: readonly string[] | null,
    reviewer: string | null,
  ) {
    this.title = project.name;
    if (reviewer !== null) {
      this.saveReview = async (runId, index, review) =>
        reviewView(
          await saveReview(this.db, {
            projectId: this.project.id,
            runId,
            caseIndex: index,
            metric: review.metric,
            reviewer: review.reviewer,
            agree: review.agree,
            judgePassed: review.judge_passed,
            correctedPassed: review.corrected_passed,
            comment: review.comment,
          }),
        );
    }
  }

  private inScope(id: string): boolean {
    return UUID.test(id) && (this.runIds === null || this.runIds.includes(id));
  }

  /** A link's runs, which are all it may list. */
  private async linkedRuns(): Promise<RunDetail[]> {
    return (await Promise.all((this.runIds ?? []).map((id) => this.run(id)))).filter((run): run is RunDetail => run !== undefined);
  }

  async runs(filter: RunFilter) {
    if (this.runIds !== null) return { runs: (await this.linkedRuns()).filter((run) => runMatches(run, filter)), nextCursor: null };
    const cursor = filter.cursor ? decodeCursor(filter.cursor, () => undefined) : undefined;
    const rows = await listRuns(this.db, this.project.id, { suite: filter.suite, branch: filter.branch, status: filter.status, cursor, limit: RUNS_PER_PAGE });
    const runs = rows.map((row) => runRow(row, row.means, row.metric_order, row.gate_passed));
    const last = runs.at(-1);
    return { runs, nextCursor: runs.length === RUNS_PER_PAGE && last ? encodeCursor(last) : null };
  }

  async runFacets() {
    return this.runIds !== null ? facetsOf(await this.linkedRuns()) : runFacets(this.db, this.project.id);
  }

  async run(id: string) {
    if (!this.inScope(id)) return undefined;
    const run = await getRun(this.db, this.project.id, id);
    return run ? detail(run) : undefined;
  }

  async cases(runId: string, filter: CaseFilter) {
    const { rows, total } = await listCasePage(this.db, runId, filter);
    return {
      total,
      cases: rows.map(
        (row): CaseRow => ({
          index: row.case_index,
          id: row.case_id,
          status: row.status,
          error: row.error,
          topic: row.topic,
          tags: Array.isArray(row.tags) ? row.tags : [],
          metrics: row.metrics ?? {},
          target: row.suite ? targetOfSuite(row.suite) : null,
          input: row.input,
          actual_output: row.actual_output,
          expected_output: row.expected_output,
          metadata: row.metadata ?? {},
          latency_ms: row.latency_ms,
          cost_usd: row.cost_usd,
        }),
      ),
    };
  }

  caseOrder(runId: string, filter: CaseFilter) {
    return listCaseOrder(this.db, runId, filter);
  }

  caseFacets(run: RunDetail) {
    return finishedOnce(facetsOfRuns, run, () => caseFacets(this.db, run.id));
  }

  async caseDetail(runId: string, index: number) {
    const row = await getRunCase(this.db, runId, index);
    return row ? { index: row.case_index, id: row.case_id, status: row.status, attempts: row.attempts, error: row.error, result: row.result } : undefined;
  }

  async llmCalls(run: RunDetail, index: number) {
    // The calls' times are the workers' clocks: an hour's margin before the run covers any skew.
    const since = new Date(Date.parse(run.created_at) - 3_600_000);
    // ClickHouse is not required for the platform to work; without it the page shows the per-model totals.
    return caseLlmCalls(this.clickhouse, this.clickhouseDatabase, { project: this.project.name, runId: run.id, caseIndex: index, since }).catch(() => null);
  }

  async report(runId: string): Promise<Report> {
    const run = await getRun(this.db, this.project.id, runId);
    if (!run) throw new Error(`no run ${runId}`);
    const cached = reports.get(run.id);
    if (cached) return cached;
    const built = headerRunReport(this.db, run);
    if (run.finished_at) setBounded(reports, run.id, built, 4);
    built.catch(() => reports.delete(run.id));
    return built;
  }

  async topics(run: RunDetail) {
    const cases = await runCaseOutcomes(this.clickhouse, this.clickhouseDatabase, { project: this.project.name, runId: run.id }).catch(() => []);
    return groupByTopic(cases, run.summary?.topic_labels);
  }

  scores(run: RunDetail) {
    return finishedOnce(scoresOfRuns, run, () => runScores(this.db, run.id));
  }

  async trends(metric: string, filter: { branch?: string; suite?: string }) {
    const points = await metricTrend(this.clickhouse, this.clickhouseDatabase, { project: this.project.name, metric, branch: filter.branch, suite: filter.suite, limit: 100 }).catch(() => []);
    return this.runIds === null ? points : points.filter((point) => this.runIds!.includes(point.run_id));
  }

  async reviews(runId: string, index?: number) {
    return (await listReviews(this.db, this.project.id, runId, index)).map(reviewView);
  }

  async agreement(filter: { metric?: string; runId?: string }) {
    // A link's session sees the agreement of its runs only, not the project's.
    const rows = await agreementCounts(this.db, { projectId: this.project.id, metric: filter.metric, runId: filter.runId, runIds: this.runIds ?? undefined });
    return rows.map((row) => agreementOf(row.metric, row));
  }
}
