import type { Kysely } from 'kysely';
import type { CaseResult, Report } from '../runner/report';
import { caseRows } from '../store/postgres/runs';
import type { Database } from '../store/postgres/schema';
import { buildRunReport, loadRunSuite, placeholderResult, type StoredRun } from './run-report';

/** Every case's result in order; cases that ended without one get an errored stand-in with their reason. */
export async function runCaseResults(db: Kysely<Database>, run: StoredRun): Promise<CaseResult[]> {
  const loaded = loadRunSuite(run);
  const rows = await caseRows(db, run.id);
  return rows.map((row) => (row.result as CaseResult | null) ?? placeholderResult(loaded, row.case_index, row.status, row.error));
}

export async function runReport(db: Kysely<Database>, run: StoredRun): Promise<Report> {
  return buildRunReport(run, await runCaseResults(db, run));
}
