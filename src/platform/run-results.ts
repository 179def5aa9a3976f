import type { Kysely } from 'kysely';
import type { CaseResult, Report } from '../contracts/report';
import { caseRows, getRunSuite, type RunHeader } from '../store/postgres/runs';
import type { Database } from '../store/postgres/schema';
import { buildRunReport, loadRunSuite, placeholderResult, type StoredRun } from './run-report';

/** Every case's result in order; cases that ended without one get an errored stand-in with their reason. */
export async function runCaseResults(db: Kysely<Database>, run: StoredRun, loaded = loadRunSuite(run)): Promise<CaseResult[]> {
  const rows = await caseRows(db, run.id);
  return rows.map((row) => row.result ?? placeholderResult(loaded, row.case_index, row.status, row.error));
}

/** A sum of floating-point costs, to the micro-dollar. */
export const roundUsd = (value: number): number => Math.round(value * 1e6) / 1e6;

/** The error of a case that was not started because its run had spent its budget (`max_cost_usd`). */
export const BUDGET_SPENT_ERROR = 'not evaluated: the run had spent its budget (max_cost_usd)';

/** The run's report; a run with a budget says what it could spend, what it spent, and which cases it did not start. */
export async function runReport(db: Kysely<Database>, run: StoredRun & { max_cost_usd?: number | null; cost_usd?: number }, loaded = loadRunSuite(run)): Promise<Report> {
  const report = buildRunReport(run, await runCaseResults(db, run, loaded), loaded);
  if (run.max_cost_usd !== undefined && run.max_cost_usd !== null) {
    const notEvaluated = report.cases.filter((c) => c.error === BUDGET_SPENT_ERROR).length;
    report.budget = { max_cost_usd: run.max_cost_usd, spent_usd: roundUsd(run.cost_usd ?? 0), exceeded: notEvaluated > 0, not_evaluated: notEvaluated };
  }
  return report;
}

/** The report.json of a run read without its suite (a status view's header): only here is the suite read. */
export async function headerRunReport(db: Kysely<Database>, run: RunHeader): Promise<Report> {
  return runReport(db, { ...run, suite: await getRunSuite(db, run.id) });
}
