import type { CaseSlot } from './types';

/** The cases of one taken job, counted against the worker's slots until they have run or the job ends. */
export interface AdmittedJob {
  /** Runs one of the job's cases in a slot, waiting for one if all are taken. */
  readonly slot: CaseSlot;
  /** The job is over: its cases that never asked for a slot stop counting. */
  close(): void;
}

/**
 * The cases one worker evaluates at once, across its jobs (`WORKER_CONCURRENCY`). A job carries a batch of
 * cases, so the queue's own concurrency (jobs) cannot bound them: each case runs in a slot, and the consumer
 * takes its next job only while a slot is free that no admitted case and no other pull waits for (`room`).
 * A worker therefore holds at most one job's worth of cases beyond its slots, and never takes work it cannot
 * start soon, which leaves the rest in the waiting list for other workers (and for KEDA to see).
 */
export class CaseSlots {
  private busy = 0;
  /** Cases of admitted jobs that have not started yet (waiting for a slot, or not yet asked). */
  private pending = 0;
  private queued: Array<() => void> = [];
  /** Pulls let through by `room` whose job has not been admitted yet. */
  private reserved = 0;
  private roomWaiters: Array<() => void> = [];

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`worker concurrency must be a positive integer, not ${capacity}`);
  }

  private hasRoom(): boolean {
    return this.busy + this.pending + this.reserved < this.capacity;
  }

  /**
   * Resolves when another job may be taken, and reserves that room until the job is admitted (`admit`) or
   * the pull brings none (`unreserve`).
   */
  room(): Promise<void> {
    if (this.tryRoom()) return Promise.resolve();
    return new Promise((resolve) =>
      this.roomWaiters.push(() => {
        this.reserved++;
        resolve();
      }),
    );
  }

  /** `room` without waiting: true (and reserved) when another job may be taken now. */
  tryRoom(): boolean {
    if (!this.hasRoom()) return false;
    this.reserved++;
    return true;
  }

  /** Called when room may have appeared (a case ended, a job was admitted or given up). */
  onRoom?: () => void;

  /** The pull found no job (closing, a removed job, a malformed one). */
  unreserve(): void {
    this.reserved = Math.max(0, this.reserved - 1);
    this.wake();
  }

  /** The pulled job has `cases` cases: they count against the slots from now on, in place of the reservation. */
  admit(cases: number): AdmittedJob {
    this.reserved = Math.max(0, this.reserved - 1);
    this.pending += cases;
    let unasked = cases;
    return {
      slot: async (work) => {
        if (unasked > 0) {
          unasked--;
          this.pending--;
        }
        return this.run(work);
      },
      close: () => {
        this.pending -= unasked;
        unasked = 0;
        this.wake();
      },
    };
  }

  private async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.busy < this.capacity && this.queued.length === 0) this.busy++;
    else await new Promise<void>((resolve) => this.queued.push(resolve));
    try {
      return await work();
    } finally {
      const next = this.queued.shift();
      // The slot passes straight to the next waiting case; otherwise it is free.
      if (next) next();
      else this.busy--;
      this.wake();
    }
  }

  private wake(): void {
    while (this.roomWaiters.length > 0 && this.hasRoom()) this.roomWaiters.shift()!();
    if (this.hasRoom()) this.onRoom?.();
  }
}
