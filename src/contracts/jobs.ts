import { z } from 'zod';

/** The queue the workers consume, by default; KEDA scales them on `<prefix>:<name>:waiting`. */
export const CASE_QUEUE_NAME = 'eval-cases';

/** The queue's Redis key prefix, by default (bee-queue's own). */
export const CASE_QUEUE_PREFIX = 'bq';

/** One case of one run. The worker loads the run's suite from Postgres, so jobs stay small. */
export const caseJobSchema = z
  .object({
    runId: z.uuid(),
    caseIndex: z.number().int().nonnegative(),
  })
  .strict();

export type CaseJob = z.infer<typeof caseJobSchema>;
