import { randomBytes } from 'node:crypto';
import BeeQueue from 'bee-queue';
import { caseJobSchema, planJobsByRun, type CaseJob } from '../contracts/jobs';
import { CaseSlots } from './slots';
import type { CaseConsumer, CaseQueue, ConsumerHandlers, QueueStats } from './types';

export interface BeeQueueSettings {
  readonly redisUrl: string;
  readonly name: string;
  /** Key prefix; KEDA watches `<prefix>:<name>:waiting`. Tests use their own. */
  readonly prefix: string;
  /** How long an active job may go without its worker's heartbeat before another worker retries it. */
  readonly stallIntervalMs: number;
  /** Attempts after the first. */
  readonly retries: number;
  /**
   * A job running longer than this per case it carries fails (and is retried). Per case, because a worker
   * with fewer free slots than the job has cases runs them in turn; a timeout that fired while its cases were
   * still being evaluated would have them evaluated (and paid for) twice.
   */
  readonly jobTimeoutMs?: number;
  /** Cases per job at most (`planJobs`). */
  readonly casesPerJob?: number;
}

/**
 * Options of every Redis client of the services (the queue's and the workers' cache and budget): reconnect for
 * ever with a capped delay, so a Redis restart pauses the platform rather than ending its processes.
 */
export function redisOptions(url: string) {
  return { url, retry_strategy: (options: { attempt: number }) => Math.min(options.attempt * 200, 3_000) };
}

type RawClient = {
  set(key: string, value: string, nx: 'NX', cb: (e: Error | null, v: string | null) => void): void;
  get(key: string, cb: (e: Error | null, v: string | null) => void): void;
  lindex(key: string, index: number, cb: (e: Error | null, v: string | null) => void): void; hget(key: string, field: string, cb: (e: Error | null, v: string | null) => void): void };

/**
 * bee-queue runs its Lua scripts by SHA and loads them once, at start-up. Redis forgets scripts when it
 * restarts, after which every enqueue and stall check fails with NOSCRIPT for good; so the scripts are loaded
 * again each time the client (re)connects.
 */
function reloadScriptsOnReconnect(queue: BeeQueue<CaseJob>): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const lua = require('bee-queue/lib/lua') as { buildCache(client: unknown): Promise<unknown> };
  void queue
    .ready()
    .then(() => {
      const client = (queue as unknown as { client: NodeJS.EventEmitter }).client;
      client.on('ready', () => void lua.buildCache(client).catch(() => undefined));
    })
    .catch(() => undefined);
}

const call = <T>(fn: (cb: (error: Error | null, value: T) => void) => void): Promise<T> =>
  new Promise((resolve, reject) => fn((error, value) => (error ? reject(error) : resolve(value))));

/** The orchestrator's side: bulk enqueue in one round trip per batch, and the queue's depth and lag. */
export class BeeCaseQueue implements CaseQueue {
  private readonly queue: BeeQueue<CaseJob>;
  /**
   * Job ids are this process's own (`<random>-<n>`), not bee-queue's `INCR` counter: a Redis that restarts
   * empty starts that counter again at 1, and a worker finishing a job it took before the restart then deletes
   * (`removeOnSuccess`) the new job that got the same id, which is never run.
   */
  private readonly idPrefix = `${randomBytes(6).toString('hex')}-`;
  private nextId = 0;

  constructor(private readonly settings: BeeQueueSettings) {
    this.queue = new BeeQueue<CaseJob>(settings.name, {
      prefix: settings.prefix,
      redis: redisOptions(settings.redisUrl),
      isWorker: false,
      getEvents: false,
      sendEvents: false,
      removeOnSuccess: true,
    });
    reloadScriptsOnReconnect(this.queue);
  }

  async enqueue(jobs: readonly CaseJob[]): Promise<void> {
    const BATCH = 2_000;
    for (let start = 0; start < jobs.length; start += BATCH) {
      const batch = jobs.slice(start, start + BATCH).map((data) =>
        this.queue
          .createJob(data)
          .setId(`${this.idPrefix}${++this.nextId}`)
          .retries(this.settings.retries)
          .backoff('exponential', 1_000)
          .timeout((this.settings.jobTimeoutMs ?? 10 * 60_000) * data.cases.length),
      );
      const errors = await this.queue.saveAll(batch);
      if (errors.size > 0) throw [...errors.values()][0];
    }
  }

  enqueueCases(cases: ReadonlyArray<{ runId: string; caseIndex: number }>): Promise<void> {
    return this.enqueue(planJobsByRun(cases, this.settings.casesPerJob));
  }

  async stats(): Promise<QueueStats> {
    const health = await this.queue.checkHealth();
    const prefix = `${this.settings.prefix}:${this.settings.name}:`;
    const client = (this.queue as unknown as { client: RawClient }).client;
    // bee-queue pushes new jobs on the left of the waiting list: the oldest is at the right end.
    const oldestId = await call<string | null>((cb) => client.lindex(`${prefix}waiting`, -1, cb));
    let oldestWaitingSeconds: number | null = null;
    if (oldestId) {
      const raw = await call<string | null>((cb) => client.hget(`${prefix}jobs`, oldestId, cb));
      const timestamp = raw ? (JSON.parse(raw) as { options?: { timestamp?: number } }).options?.timestamp : undefined;
      if (timestamp) oldestWaitingSeconds = Math.max(0, (Date.now() - timestamp) / 1000);
    }
    return { waiting: health.waiting, active: health.active, failed: health.failed, delayed: health.delayed, oldestWaitingSeconds };
  }

  /**
   * An epoch key lives beside the queue's keys. When it is missing, Redis has lost the queue's data (a restart
   * without persistence, FLUSHALL): the producer that puts it back (SET NX, so one of several) answers `lost`.
   * The first check of a fresh Redis answers `lost` too when there is nothing to recover, which costs nothing.
   */
  async checkEpoch(): Promise<'kept' | 'lost'> {
    await this.queue.ready();
    const client = (this.queue as unknown as { client: RawClient }).client;
    const key = `${this.settings.prefix}:${this.settings.name}:epoch`;
    const current = await call<string | null>((cb) => client.get(key, cb));
    if (current !== null) return 'kept';
    const set = await call<string | null>((cb) => client.set(key, `${Date.now()}-${process.pid}`, 'NX', cb));
    return set === 'OK' ? 'lost' : 'kept';
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}

type PullingQueue = { paused: boolean; _getNextJob(): Promise<BeeQueue.Job<unknown> | null> };

/**
 * A worker's side: `concurrency` cases at once across its jobs, stall detection, retries with backoff,
 * graceful close.
 */
export class BeeCaseConsumer implements CaseConsumer {
  private readonly queue: BeeQueue<CaseJob>;
  private readonly slots: CaseSlots;

  constructor(
    private readonly settings: BeeQueueSettings,
    concurrency: number,
  ) {
    this.slots = new CaseSlots(concurrency);
    this.queue = new BeeQueue<CaseJob>(settings.name, {
      prefix: settings.prefix,
      redis: redisOptions(settings.redisUrl),
      isWorker: true,
      getEvents: false,
      sendEvents: false,
      removeOnSuccess: true,
      removeOnFailure: false,
      stallInterval: settings.stallIntervalMs,
      activateDelayedJobs: true,
    });
    reloadScriptsOnReconnect(this.queue);
  }

  start(handlers: ConsumerHandlers): void {
    // bee-queue 2 emits 'failed' on every failed attempt, and 'failed:fatal' once the job's retries are spent:
    // only the last makes the case errored, or a retried job would find its case already ended.
    (this.queue as unknown as NodeJS.EventEmitter).on('failed:fatal', (job: BeeQueue.Job<CaseJob>, error: Error) => {
      const parsed = caseJobSchema.safeParse(job.data);
      if (parsed.success) void handlers.failed(parsed.data, error).catch(() => undefined);
    });
    // Errors of the Redis connection (e.g. while it restarts) are retried by the client; they must not crash.
    this.queue.on('error', () => undefined);
    this.gatePulls();
    // A job of one case at a time needs as many jobs running as there are slots.
    this.queue.process(this.slots.capacity, async (job) => {
      const parsed = caseJobSchema.safeParse(job.data);
      if (!parsed.success) {
        this.slots.unreserve();
        // A malformed job can never succeed: fail it without retrying.
        job.options.retries = 0;
        throw new Error(`malformed job: ${parsed.error.message}`);
      }
      const admitted = this.slots.admit(parsed.data.cases.length);
      try {
        await handlers.process(parsed.data, admitted.slot);
      } finally {
        admitted.close();
      }
    });
    // Some worker must look for stalled jobs; every worker does, which is harmless and survives any one dying.
    void this.queue.checkStalledJobs(this.settings.stallIntervalMs).catch(() => undefined);
  }

  /**
   * bee-queue takes a job whenever fewer than `concurrency` jobs run, whatever their size. Each of its pulls
   * (`_getNextJob`: BRPOPLPUSH, then the job's data, retried inside while Redis is away) is made to wait
   * first for room in the worker's case slots, so a worker never holds more jobs than it can start.
   * bee-queue is pinned by the lockfile, and this throws at start-up if the method is gone.
   */
  private gatePulls(): void {
    const queue = this.queue as unknown as PullingQueue;
    const pull = queue._getNextJob;
    if (typeof pull !== 'function') throw new Error('bee-queue no longer has Queue#_getNextJob: the worker cannot bound its cases');
    queue._getNextJob = async () => {
      await this.slots.room();
      // Closing: no new job (bee-queue reads null as nothing taken).
      if (queue.paused) {
        this.slots.unreserve();
        return null;
      }
      try {
        const job = await pull.call(queue);
        if (!job) this.slots.unreserve();
        return job;
      } catch (error) {
        this.slots.unreserve();
        throw error;
      }
    };
  }

  async close(drainMs: number): Promise<void> {
    await this.queue.close(drainMs).catch(() => undefined);
  }
}
