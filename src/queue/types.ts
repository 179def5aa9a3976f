import type { CaseJob } from '../contracts/jobs';

export interface QueueStats {
  waiting: number;
  active: number;
  failed: number;
  delayed: number;
  /** Age of the oldest job still waiting, in seconds; null when none waits. */
  oldestWaitingSeconds: number | null;
}

/** The producer side, used by the orchestrator. */
export interface CaseQueue {
  enqueue(jobs: readonly CaseJob[]): Promise<void>;
  /** Enqueues cases (of one run or several) as jobs of up to the queue's `casesPerJob` (`planJobsByRun`). */
  enqueueCases(cases: ReadonlyArray<{ runId: string; caseIndex: number }>): Promise<void>;
  stats(): Promise<QueueStats>;
  /**
   * Whether the queue still holds what was put in it. `lost`: its store came back empty (a Redis restart
   * without data, FLUSHALL) since this or another producer marked it, and this call marked it again, so the
   * caller (one, whichever won) re-enqueues every unfinished case at once.
   */
  checkEpoch(): Promise<'kept' | 'lost'>;
  close(): Promise<void>;
}

/** Runs one case's work in one of the worker's slots (its concurrency), waiting for a free one. */
export type CaseSlot = <T>(work: () => Promise<T>) => Promise<T>;

export interface ConsumerHandlers {
  /**
   * Evaluates a job's cases, each in a slot (`slot`); a throw makes the queue retry the job with backoff,
   * which runs again only the cases that have not ended.
   */
  process(job: CaseJob, slot: CaseSlot): Promise<void>;
  /** Called once a job has used up its retries: its cases must still end (errored), never stay running. */
  failed(job: CaseJob, error: Error): Promise<void>;
}

/** The consumer side, used by workers: `concurrency` is cases at once, across jobs (`CaseSlots`). */
export interface CaseConsumer {
  start(handlers: ConsumerHandlers): void;
  /** Stops taking jobs and waits up to `drainMs` for the ones in flight. */
  close(drainMs: number): Promise<void>;
}
