import { BeeCaseConsumer, BeeCaseQueue } from './bee-queue';
import { MemoryCaseQueue } from './memory-queue';
import type { CaseConsumer, CaseQueue } from './types';

/** Where the case queue lives: a Redis server (bee-queue), or this process (`evalctl dev` with no REDIS_URL). */
export type QueueTarget = { kind: 'redis'; url: string } | { kind: 'memory' };

export interface QueueConfig {
  readonly target: QueueTarget;
  readonly name: string;
  /** Key prefix in Redis; KEDA watches `<prefix>:<name>:waiting`. */
  readonly prefix: string;
  /** How long an active job may go without its worker's heartbeat before another worker retries it. */
  readonly stallIntervalMs: number;
  /** Attempts after the first. */
  readonly retries: number;
  /** Cases one job carries at most (`planJobs`; `CASES_PER_JOB`). */
  readonly casesPerJob?: number;
}

/** Both ends of the case queue, each opened on first use, from one configuration. */
export interface CaseQueues {
  /** The orchestrator's end: enqueue, depth and lag. */
  readonly producer: CaseQueue;
  /** A worker's end, running `concurrency` jobs at once. */
  consumer(concurrency: number): CaseConsumer;
  /** Closes the producer if it was opened; a consumer is closed by its worker's drain. */
  closeProducer(): Promise<void>;
}

export function openQueue(config: QueueConfig): CaseQueues {
  const { target } = config;
  if (target.kind === 'memory') {
    // One in-process queue is both ends; it runs jobs at the consumer's concurrency.
    const memory = new MemoryCaseQueue(1, config.retries, 1_000, config.casesPerJob);
    return {
      producer: memory,
      consumer: (concurrency) => {
        memory.concurrency = concurrency;
        return memory;
      },
      closeProducer: async () => undefined,
    };
  }
  const settings = { redisUrl: target.url, name: config.name, prefix: config.prefix, stallIntervalMs: config.stallIntervalMs, retries: config.retries, casesPerJob: config.casesPerJob };
  let producer: BeeCaseQueue | undefined;
  return {
    get producer() {
      return (producer ??= new BeeCaseQueue(settings));
    },
    consumer: (concurrency) => new BeeCaseConsumer(settings, concurrency),
    closeProducer: async () => {
      await producer?.close();
    },
  };
}
