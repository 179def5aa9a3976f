import type { BuildMetadata } from '../contracts/build';
import { pendingResult } from '../runner/evaluate-case';
import type { CaseResult, Report, ReportSummary } from '../contracts/report';
import { buildReport, type ReportHead } from '../runner/summarize';
import { resolveSuite, type LoadedSuite } from '../suite/load';
import type { RunCaseStatus, RunStatus } from '../store/postgres/schema';

export interface StoredRun {
  id: string;
  suite: Record<string, unknown>;
  build: BuildMetadata;
  created_at: Date;
  finished_at: Date | null;
}

/**
 * The run's suite, validated as when it was submitted. Suites from the API never see the server's
 * environment: `${VAR}` would otherwise read the platform's own secrets. The workers keep the result per run
 * (`RunCache`); reports, built once per finished run or request, resolve it afresh.
 */
export function loadRunSuite(run: Pick<StoredRun, 'id' | 'suite'>): LoadedSuite {
  return resolveSuite(run.suite, `run ${run.id}`, undefined, {});
}

/** A stand-in result for a case that ended without one (its job failed for good, or the run was cancelled). */
export function placeholderResult(loaded: LoadedSuite, index: number, status: RunCaseStatus, error: string | null): CaseResult {
  return { ...pendingResult(loaded, index), error: error ?? (status === 'cancelled' ? 'the run was cancelled' : 'the case was not evaluated') };
}

/** The same report.json the CLI writes, built from the stored case results. */
export function buildRunReport(run: StoredRun, cases: CaseResult[], loaded = loadRunSuite(run)): Report {
  return buildReport({
    suites: [loaded],
    cases,
    build: run.build,
    thresholds: {},
    startedAt: run.created_at,
    finishedAt: run.finished_at ?? new Date(),
  });
}

/** A run that stopped at its budget says so; otherwise whether any case errored. */
export function finalStatus(report: Pick<Report, 'budget' | 'totals'>): RunStatus {
  if (report.budget?.exceeded) return 'budget_exceeded';
  return report.totals.errored > 0 ? 'completed_with_errors' : 'completed';
}

/** The report without its cases, kept on the run row as its summary. */
export function reportSummary(report: Report | ReportHead): ReportSummary {
  const { cases: _cases, ...summary } = report as Report;
  return { ...summary, metric_order: Object.keys(report.metrics) };
}
