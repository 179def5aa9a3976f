import type { Kysely } from 'kysely';
import { recordCaseOutcome } from '../../src/platform/run-lifecycle';
import type { CaseQueue } from '../../src/queue/types';
import { claimStaleCases } from '../../src/store/postgres/runs';
import type { Database } from '../../src/store/postgres/schema';

export interface ReconcilerOptions {
  readonly intervalMs: number;
  /** How often the queue is asked whether it lost its data (`checkEpoch`); 0: never. */
  readonly epochCheckMs?: number;
  /** A case that has not moved for this long has lost its job. */
  readonly staleMs: number;
  /** Past this many attempts a case ends errored rather than being enqueued again. */
  readonly maxAttempts: number;
}

/**
 * Postgres is the record of what must be evaluated; the queue only delivers it. Jobs lost with Redis (a
 * restart without persistence, a flushed key) or dropped by a failed enqueue are found here by their cases
 * not moving, and enqueued again; a case that keeps failing ends errored, so no run stays running for ever.
 */
export function startReconciler(db: Kysely<Database>, queue: CaseQueue, options: ReconcilerOptions, log?: (m: string, f?: Record<string, unknown>) => void) {
  let running: Promise<void> | undefined;
  const pass = async () => {
    const stale = await claimStaleCases(db, options.staleMs);
    const retry = stale.filter((c) => c.attempts < options.maxAttempts);
    for (const gaveUp of stale.filter((c) => c.attempts >= options.maxAttempts)) {
      await recordCaseOutcome(db, gaveUp.run_id, gaveUp.case_index, 'errored', null, `the case did not complete after ${gaveUp.attempts} attempts`);
    }
    if (retry.length > 0) {
      await queue.enqueueCases(retry.map((c) => ({ runId: c.run_id, caseIndex: c.case_index })));
      log?.('re-enqueued stale cases', { cases: retry.length });
    }
  };
  // Redis lost the queue: every unfinished case is enqueued again now, not after the staleness window.
  const recoverQueue = async () => {
    if ((await queue.checkEpoch()) !== 'lost') return;
    const cases = await claimStaleCases(db, 0);
    if (cases.length === 0) return;
    log?.('the queue lost its jobs; re-enqueueing unfinished cases', { cases: cases.length });
    await queue.enqueueCases(cases.map((c) => ({ runId: c.run_id, caseIndex: c.case_index })));
  };
  const schedule = (work: () => Promise<void>) => {
    running ??= work()
      .catch((error: unknown) => log?.('reconcile failed', { error: (error as Error).message }))
      .finally(() => (running = undefined));
  };
  const timer = setInterval(() => schedule(pass), options.intervalMs);
  timer.unref();
  const epochTimer = options.epochCheckMs ? setInterval(() => schedule(recoverQueue), options.epochCheckMs) : undefined;
  epochTimer?.unref();
  return {
    /** One pass now (tests and start-up). */
    runOnce: pass,
    /** One queue check now (tests and start-up). */
    recoverQueue,
    async stop() {
      clearInterval(timer);
      clearInterval(epochTimer);
      await running;
    },
  };
}
