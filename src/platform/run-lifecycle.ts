import type { Kysely } from 'kysely';
import type { CaseResult } from '../runner/report';
import { completeCase, finalizeRun, getRunWithProject } from '../store/postgres/runs';
import type { Database, RunStatus } from '../store/postgres/schema';
import { finalStatus, reportSummary } from './run-report';
import { runReport } from './run-results';

export interface CaseOutcome {
  /** False when the case had been counted before (a retried job). */
  counted: boolean;
  /** Set when this outcome finished the run. */
  finished?: RunStatus;
}

/**
 * Counts a case's outcome on its run, once; the outcome that completes the run writes its final status and
 * summary (the report without cases), once. Used by the workers and by the reconciler that gives up on a case.
 */
export async function recordCaseOutcome(
  db: Kysely<Database>,
  runId: string,
  caseIndex: number,
  status: 'passed' | 'failed' | 'errored',
  result: CaseResult | null,
  error: string | null,
): Promise<CaseOutcome> {
  const completion = await completeCase(db, runId, caseIndex, status, result, error);
  if (!completion.lastCase) return { counted: completion.counted };
  const run = await getRunWithProject(db, runId);
  if (!run) return { counted: completion.counted };
  const report = await runReport(db, { ...run, finished_at: new Date() });
  const final = finalStatus(report);
  const wrote = await finalizeRun(db, runId, final, reportSummary(report));
  return { counted: completion.counted, finished: wrote ? final : undefined };
}
