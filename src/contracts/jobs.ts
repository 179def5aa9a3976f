import { z } from 'zod';

/** The queue the workers consume, by default; KEDA scales them on `<prefix>:<name>:waiting`. */
export const CASE_QUEUE_NAME = 'eval-cases';

/** The queue's Redis key prefix, by default (bee-queue's own). */
export const CASE_QUEUE_PREFIX = 'bq';

/** Cases one job carries at most, by default (`CASES_PER_JOB`). */
export const DEFAULT_CASES_PER_JOB = 25;

/** The most cases one job may carry, whatever the configuration says. */
export const MAX_CASES_PER_JOB = 1_000;

/**
 * A run is split into at least this many jobs when it has that many cases, so a small run still spreads
 * across workers; past `casesPerJob × MIN_JOBS_PER_RUN` cases, jobs are full.
 */
export const MIN_JOBS_PER_RUN = 8;

const caseIndex = z.number().int().nonnegative();

/**
 * Some cases of one run. The worker loads the run's suite from Postgres, so jobs stay small. The queue's
 * fixed cost per job (its Redis round trips, the claim and the outcome writes) is paid once per batch.
 * A job of one case in the form queued before batching (`caseIndex`) is still read, so jobs waiting in
 * Redis across an upgrade are run.
 */
export const caseJobSchema = z.union([
  z
    .object({
      runId: z.uuid(),
      cases: z
        .array(caseIndex)
        .min(1)
        .max(MAX_CASES_PER_JOB)
        .refine((cases) => new Set(cases).size === cases.length, 'case indexes must be distinct'),
    })
    .strict(),
  z
    .object({ runId: z.uuid(), caseIndex })
    .strict()
    .transform(({ runId, caseIndex }) => ({ runId, cases: [caseIndex] })),
]);

export type CaseJob = z.output<typeof caseJobSchema>;

/**
 * Splits cases of a run into jobs: as few as `casesPerJob` allows, but at least `MIN_JOBS_PER_RUN` while
 * there are that many cases, with sizes that differ by one at most, in case order.
 */
export function planJobs(runId: string, cases: readonly number[], casesPerJob = DEFAULT_CASES_PER_JOB): CaseJob[] {
  if (cases.length === 0) return [];
  const perJob = Math.max(1, Math.min(casesPerJob, MAX_CASES_PER_JOB));
  const count = Math.min(cases.length, Math.max(Math.ceil(cases.length / perJob), MIN_JOBS_PER_RUN));
  const jobs: CaseJob[] = [];
  for (let i = 0, start = 0; i < count; i++) {
    const end = Math.round(((i + 1) * cases.length) / count);
    jobs.push({ runId, cases: cases.slice(start, end) });
    start = end;
  }
  return jobs;
}

/** Jobs for cases of several runs (the reconciler's stale cases), each run planned on its own. */
export function planJobsByRun(cases: ReadonlyArray<{ runId: string; caseIndex: number }>, casesPerJob?: number): CaseJob[] {
  const byRun = new Map<string, number[]>();
  for (const c of cases) (byRun.get(c.runId) ?? byRun.set(c.runId, []).get(c.runId)!).push(c.caseIndex);
  return [...byRun].flatMap(([runId, indexes]) => planJobs(runId, indexes.sort((a, b) => a - b), casesPerJob));
}
