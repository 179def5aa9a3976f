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
  stats(): Promise<QueueStats>;
  /**
   * Whether the queue still holds what was put in it. `lost`: its store came back empty (a Redis restart
   * without data, FLUSHALL) since this or another producer marked it, and this call marked it again, so the
   * caller (one, whichever won) re-enqueues every unfinished case at once.
   */
  checkEpoch(): Promise<'kept' | 'lost'>;
  close(): Promise<void>;
}

export interface ConsumerHandlers {
  /** Evaluates one case; a throw makes the queue retry the job with backoff. */
  process(job: CaseJob): Promise<void>;
  /** Called once a job has used up its retries: the case must still end (errored), never stay running. */
  failed(job: CaseJob, error: Error): Promise<void>;
}

/** The consumer side, used by workers. */
export interface CaseConsumer {
  start(handlers: ConsumerHandlers): void;
  /** Stops taking jobs and waits up to `drainMs` for the ones in flight. */
  close(drainMs: number): Promise<void>;
}
