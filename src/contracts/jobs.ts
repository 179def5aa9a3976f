import { z } from 'zod';

/** The queue the workers consume; KEDA scales them on `bq:eval-cases:waiting` (bee-queue's default prefix). */
export const CASE_QUEUE_NAME = 'eval-cases';

/** One case of one run. The worker loads the run's suite from Postgres, so jobs stay small. */
export const caseJobSchema = z
  .object({
    runId: z.uuid(),
    caseIndex: z.number().int().nonnegative(),
  })
  .strict();

export type CaseJob = z.infer<typeof caseJobSchema>;
