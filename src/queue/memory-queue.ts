import type { CaseJob } from '../contracts/jobs';
import type { CaseConsumer, CaseQueue, ConsumerHandlers, QueueStats } from './types';

interface Entry {
  job: CaseJob;
  attempts: number;
  enqueuedAt: number;
}

/**
 * The queue of the embedded default (`npm run dev`): producer and consumer in one process, with the same
 * retries and backoff as the bee-queue pair. Nothing survives the process, as nothing else of dev mode does
 * unless a data folder is given.
 */
export class MemoryCaseQueue implements CaseQueue, CaseConsumer {
  private readonly waiting: Entry[] = [];
  private active = 0;
  private delayed = 0;
  private failedCount = 0;
  private handlers: ConsumerHandlers | undefined;
  private closing = false;
  private readonly idle: Array<() => void> = [];

  constructor(
    /** Jobs run at once; the consumer's, set when a worker opens it (`openQueue`). */
    public concurrency: number,
    private readonly retries = 3,
    private readonly backoffMs = 1_000,
  ) {}

  async enqueue(jobs: readonly CaseJob[]): Promise<void> {
    const now = Date.now();
    for (const job of jobs) this.waiting.push({ job, attempts: 0, enqueuedAt: now });
    this.pump();
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
    while (this.handlers && !this.closing && this.active < this.concurrency && this.waiting.length > 0) {
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
    try {
      await this.handlers!.process(entry.job);
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
    }
  }

  async close(drainMs = 0): Promise<void> {
    this.closing = true;
    if (this.active === 0) return;
    await Promise.race([new Promise<void>((resolve) => this.idle.push(resolve)), new Promise((resolve) => setTimeout(resolve, drainMs))]);
  }
}
