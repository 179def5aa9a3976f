import { planJobsByRun, type CaseJob } from '../contracts/jobs';
import { CaseSlots } from './slots';
import type { CaseConsumer, CaseQueue, ConsumerHandlers, QueueStats } from './types';

interface Entry {
  job: CaseJob;
  attempts: number;
  enqueuedAt: number;
}

/**
 * The queue of the embedded default (`npm run dev`): producer and consumer in one process, with the same
 * retries and backoff as the bee-queue pair, and the same rule for taking jobs: only while the worker's
 * case slots have room. Nothing survives the process, as nothing else of dev mode does unless a data folder
 * is given.
 */
export class MemoryCaseQueue implements CaseQueue, CaseConsumer {
  private readonly waiting: Entry[] = [];
  private active = 0;
  private delayed = 0;
  private failedCount = 0;
  private handlers: ConsumerHandlers | undefined;
  private closing = false;
  private readonly idle: Array<() => void> = [];
  private slots: CaseSlots;

  constructor(
    /** Cases run at once; the consumer's, set when a worker opens it (`openQueue`). */
    concurrency: number,
    private readonly retries = 3,
    private readonly backoffMs = 1_000,
    private readonly casesPerJob?: number,
  ) {
    this.slots = this.slotsOf(concurrency);
  }

  set concurrency(cases: number) {
    this.slots = this.slotsOf(cases);
  }

  private slotsOf(cases: number): CaseSlots {
    const slots = new CaseSlots(cases);
    slots.onRoom = () => this.pump();
    return slots;
  }

  async enqueue(jobs: readonly CaseJob[]): Promise<void> {
    const now = Date.now();
    for (const job of jobs) this.waiting.push({ job, attempts: 0, enqueuedAt: now });
    this.pump();
  }

  enqueueCases(cases: ReadonlyArray<{ runId: string; caseIndex: number }>): Promise<void> {
    return this.enqueue(planJobsByRun(cases, this.casesPerJob));
  }

  /** This process's queue cannot lose its jobs without losing the process. */
  async checkEpoch(): Promise<'kept'> {
    return 'kept';
  }

  async stats(): Promise<QueueStats> {
    return {
      waiting: this.waiting.length,
      active: this.active,
      failed: this.failedCount,
      delayed: this.delayed,
      oldestWaitingSeconds: this.waiting.length ? (Date.now() - this.waiting[0].enqueuedAt) / 1000 : null,
    };
  }

  start(handlers: ConsumerHandlers): void {
    this.handlers = handlers;
    this.pump();
  }

  private pump(): void {
    while (this.handlers && !this.closing && this.waiting.length > 0 && this.slots.tryRoom()) {
      const entry = this.waiting.shift()!;
      this.active++;
      void this.run(entry).finally(() => {
        this.active--;
        if (this.active === 0) this.idle.splice(0).forEach((resolve) => resolve());
        this.pump();
      });
    }
  }

  private async run(entry: Entry): Promise<void> {
    entry.attempts++;
    const admitted = this.slots.admit(entry.job.cases.length);
    try {
      await this.handlers!.process(entry.job, admitted.slot);
    } catch (error) {
      if (entry.attempts <= this.retries && !this.closing) {
        this.delayed++;
        setTimeout(() => {
          this.delayed--;
          this.waiting.push(entry);
          this.pump();
        }, this.backoffMs * 2 ** (entry.attempts - 1));
      } else {
        this.failedCount++;
        await this.handlers!.failed(entry.job, error instanceof Error ? error : new Error(String(error))).catch(() => undefined);
      }
    } finally {
      admitted.close();
    }
  }

  async close(drainMs = 0): Promise<void> {
    this.closing = true;
    if (this.active === 0) return;
    await Promise.race([new Promise<void>((resolve) => this.idle.push(resolve)), new Promise((resolve) => setTimeout(resolve, drainMs))]);
  }
}
