import type { Kysely } from 'kysely';
import type { CaseResult, Report } from '../contracts/report';
import { caseRows, getRunSuite, listCaseResults, type RunHeader } from '../store/postgres/runs';
import type { Database } from '../store/postgres/schema';
import { caseJson, reportJsonBatches } from '../runner/report-json';
import { ReportAccumulator, type ReportHead } from '../runner/summarize';
import { buildRunReport, loadRunSuite, placeholderResult, type StoredRun } from './run-report';

/** Cases read from Postgres at a time when a whole run is walked (its report, its end). */
const CASE_BATCH = 500;

type BudgetedRun = StoredRun & { max_cost_usd?: number | null; cost_usd?: number };

/** Every case's result in order; cases that ended without one get an errored stand-in with their reason. */
export async function runCaseResults(db: Kysely<Database>, run: StoredRun, loaded = loadRunSuite(run)): Promise<CaseResult[]> {
  const rows = await caseRows(db, run.id);
  return rows.map((row) => row.result ?? placeholderResult(loaded, row.case_index, row.status, row.error));
}

/**
 * Every case's result in order, `CASE_BATCH` at a time (keyset on the case index): a run of 100,000 cases is
 * walked in the memory of one batch.
 */
export async function* runCaseBatches(db: Kysely<Database>, run: Pick<StoredRun, 'id'>, loaded: ReturnType<typeof loadRunSuite>): AsyncGenerator<CaseResult[]> {
  let after = -1;
  for (;;) {
    const rows = await listCaseResults(db, run.id, { failedOnly: false, afterIndex: after, limit: CASE_BATCH });
    if (rows.length > 0) yield rows.map((row) => row.result ?? placeholderResult(loaded, row.case_index, row.status, row.error));
    // A batch short of full was the last.
    if (rows.length < CASE_BATCH) return;
    after = rows[rows.length - 1].case_index;
  }
}

/** A sum of floating-point costs, to the micro-dollar. */
export const roundUsd = (value: number): number => Math.round(value * 1e6) / 1e6;

/** The error of a case that was not started because its run had spent its budget (`max_cost_usd`). */
export const BUDGET_SPENT_ERROR = 'not evaluated: the run had spent its budget (max_cost_usd)';

/** A run with a budget says what it could spend, what it spent, and how many cases it did not start. */
function budgetOf(run: BudgetedRun, notEvaluated: number): Report['budget'] {
  if (run.max_cost_usd === undefined || run.max_cost_usd === null) return undefined;
  return { max_cost_usd: run.max_cost_usd, spent_usd: roundUsd(run.cost_usd ?? 0), exceeded: notEvaluated > 0, not_evaluated: notEvaluated };
}

/** The run's report; a run with a budget says what it could spend, what it spent, and which cases it did not start. */
export async function runReport(db: Kysely<Database>, run: BudgetedRun, loaded = loadRunSuite(run)): Promise<Report> {
  const report = buildRunReport(run, await runCaseResults(db, run, loaded), loaded);
  const budget = budgetOf(run, report.cases.filter((c) => c.error === BUDGET_SPENT_ERROR).length);
  if (budget) report.budget = budget;
  return report;
}

/**
 * The run's report without its cases, counted a batch of cases at a time; `visit` sees each case as it is
 * counted. The same figures as `runReport`, in the memory of one batch.
 */
export async function runReportHead(
  db: Kysely<Database>,
  run: BudgetedRun,
  loaded = loadRunSuite(run),
  visit?: (result: CaseResult) => void,
): Promise<ReportHead> {
  const accumulator = new ReportAccumulator([loaded], {});
  let position = 0;
  let notEvaluated = 0;
  for await (const batch of runCaseBatches(db, run, loaded)) {
    for (const result of batch) {
      accumulator.add(result, position++);
      if (result.error === BUDGET_SPENT_ERROR) notEvaluated++;
      visit?.(result);
    }
  }
  const head: ReportHead = accumulator.head({ build: run.build, startedAt: run.created_at, finishedAt: run.finished_at ?? new Date() });
  const budget = budgetOf(run, notEvaluated);
  return budget ? { ...head, budget } : head;
}

/**
 * The run's report.json as text pieces, the same JSON as `runReport` gives: the figures are counted over the
 * cases first, then the cases are read again and written one at a time. Memory holds a batch, not the run.
 */
export async function* runReportText(db: Kysely<Database>, run: BudgetedRun, loaded = loadRunSuite(run)): AsyncGenerator<string> {
  const { budget, ...head } = await runReportHead(db, run, loaded);
  const batches = async function* () {
    for await (const batch of runCaseBatches(db, run, loaded)) yield batch.map(caseJson);
  };
  yield* reportJsonBatches(head, batches(), { budget });
}

/** The report.json of a run read without its suite (a status view's header): only here is the suite read. */
export async function headerRunReport(db: Kysely<Database>, run: RunHeader): Promise<Report> {
  return runReport(db, { ...run, suite: await getRunSuite(db, run.id) });
}
