import type { BuildMetadata } from '../build-metadata';
import { pendingResult } from '../runner/evaluate-case';
import type { CaseResult, Report } from '../runner/report';
import { buildReport } from '../runner/summarize';
import { resolveSuite, type LoadedSuite } from '../suite/load';
import type { RunCaseStatus, RunStatus } from '../store/postgres/schema';

export interface StoredRun {
  id: string;
  suite: unknown;
  build: unknown;
  created_at: Date;
  finished_at: Date | null;
}

const suites = new Map<string, LoadedSuite>();

/**
 * The run's suite, validated as when it was submitted. Suites from the API never see the server's
 * environment: `${VAR}` would otherwise read the platform's own secrets.
 */
export function loadRunSuite(run: Pick<StoredRun, 'id' | 'suite'>): LoadedSuite {
  let loaded = suites.get(run.id);
  if (!loaded) {
    loaded = resolveSuite(run.suite, `run ${run.id}`, undefined, {});
    if (suites.size > 500) suites.delete(suites.keys().next().value!);
    suites.set(run.id, loaded);
  }
  return loaded;
}

/** A stand-in result for a case that ended without one (its job failed for good, or the run was cancelled). */
export function placeholderResult(loaded: LoadedSuite, index: number, status: RunCaseStatus, error: string | null): CaseResult {
  return { ...pendingResult(loaded, index), error: error ?? (status === 'cancelled' ? 'the run was cancelled' : 'the case was not evaluated') };
}

/** The same report.json the CLI writes, built from the stored case results. */
export function buildRunReport(run: StoredRun, cases: CaseResult[]): Report {
  const loaded = loadRunSuite(run);
  return buildReport({
    suites: [loaded],
    cases,
    build: run.build as BuildMetadata,
    thresholds: {},
    startedAt: run.created_at,
    finishedAt: run.finished_at ?? new Date(),
  });
}

export function finalStatus(report: Report): RunStatus {
  return report.totals.errored > 0 ? 'completed_with_errors' : 'completed';
}

/** The report without its cases, kept on the run row as its summary. */
export function reportSummary(report: Report): Omit<Report, 'cases'> {
  const { cases: _cases, ...summary } = report;
  return summary;
}
