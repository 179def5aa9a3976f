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

export async function runReport(db: Kysely<Database>, run: StoredRun, loaded = loadRunSuite(run)): Promise<Report> {
  return buildRunReport(run, await runCaseResults(db, run, loaded), loaded);
}

/** The report.json of a run read without its suite (a status view's header): only here is the suite read. */
export async function headerRunReport(db: Kysely<Database>, run: RunHeader): Promise<Report> {
  return runReport(db, { ...run, suite: await getRunSuite(db, run.id) });
}
