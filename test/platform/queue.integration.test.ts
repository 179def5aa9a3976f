import { randomUUID } from 'node:crypto';
import { caseJobSchema, planJobs, planJobsByRun, type CaseJob } from '../../src/contracts/jobs';
import { BeeCaseConsumer, BeeCaseQueue } from '../../src/queue/bee-queue';
import { MemoryCaseQueue } from '../../src/queue/memory-queue';
import type { CaseConsumer, CaseQueue, CaseSlot } from '../../src/queue/types';
import { deleteRedisPrefix, TEST_REDIS_URL, uniqueName, until } from '../support/platform';

const sizes = (jobs: CaseJob[]) => jobs.map((j) => j.cases.length);

describe('a run is split into jobs that carry a batch of cases', () => {
  const run = randomUUID();
  const indexes = (n: number) => Array.from({ length: n }, (_, i) => i);

  test('a large run: full jobs of casesPerJob, every case once, in order', () => {
    const jobs = planJobs(run, indexes(1000), 25);
    expect(sizes(jobs)).toEqual(Array(40).fill(25));
    expect(jobs.flatMap((j) => j.cases)).toEqual(indexes(1000));
    expect(sizes(planJobs(run, indexes(1001), 25))).toHaveLength(41);
  });

  test('a small run still spreads: at least 8 jobs while it has 8 cases, sizes within one of each other', () => {
    expect(sizes(planJobs(run, indexes(20), 25)).sort()).toEqual([2, 2, 2, 2, 3, 3, 3, 3]);
    expect(sizes(planJobs(run, indexes(100), 25)).every((n) => n === 12 || n === 13)).toBe(true);
    expect(sizes(planJobs(run, indexes(5), 25))).toEqual([1, 1, 1, 1, 1]);
    expect(planJobs(run, [], 25)).toEqual([]);
  });

  test('stale cases of several runs are planned per run', () => {
    const other = randomUUID();
    const jobs = planJobsByRun([{ runId: run, caseIndex: 7 }, { runId: other, caseIndex: 1 }, { runId: run, caseIndex: 3 }], 25);
    expect(jobs).toEqual([{ runId: run, cases: [3] }, { runId: run, cases: [7] }, { runId: other, cases: [1] }]);
  });

  test('a job queued before batching (one caseIndex) is still read; a hostile job is refused', () => {
    expect(caseJobSchema.parse({ runId: run, caseIndex: 4 })).toEqual({ runId: run, cases: [4] });
    expect(caseJobSchema.safeParse({ runId: run, cases: [1, 1] }).success).toBe(false);
    expect(caseJobSchema.safeParse({ runId: run, cases: [] }).success).toBe(false);
    expect(caseJobSchema.safeParse({ runId: run, cases: indexes(1001) }).success).toBe(false);
    expect(caseJobSchema.safeParse({ runId: run, cases: [-1] }).success).toBe(false);
  });
});

/**
 * Consumers whose handlers hold every case until released: what a worker takes, and how many cases it runs at
 * once, can then be read while nothing finishes.
 */
function blockingHandlers() {
  const state = { running: 0, peak: 0, started: [] as number[], jobs: 0, release: [] as Array<() => void> };
  return {
    state,
    handlers: {
      async process(job: CaseJob, slot: CaseSlot) {
        state.jobs++;
        await Promise.all(
          job.cases.map((index) =>
            slot(async () => {
              state.running++;
              state.peak = Math.max(state.peak, state.running);
              state.started.push(index);
              await new Promise<void>((resolve) => state.release.push(resolve));
              state.running--;
            }),
          ),
        );
      },
      async failed() {},
    },
    /** Lets the cases started so far finish. */
    releaseAll() {
      state.release.splice(0).forEach((resolve) => resolve());
    },
  };
}

async function takesOnlyWhatItCanStart(queue: CaseQueue, consumers: CaseConsumer[]): Promise<void> {
  // 12 jobs of 5 cases; each worker runs 10 cases at once.
  const run = randomUUID();
  await queue.enqueue(Array.from({ length: 12 }, (_, j) => ({ runId: run, cases: [0, 1, 2, 3, 4].map((i) => j * 5 + i) })));
  const workers = consumers.map((consumer) => {
    const worker = blockingHandlers();
    consumer.start(worker.handlers);
    return worker;
  });
  // Each worker takes the two jobs it can start and no more: the rest stays waiting for other workers.
  await until(async () => workers.every((w) => w.state.running === 10) || undefined, 'both workers running 10 cases', 20_000, 20);
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(workers.map((w) => w.state.jobs)).toEqual([2, 2]);
  expect((await queue.stats()).waiting).toBe(8);
  // Finishing cases lets each take more, never running more than its 10 at once; all 60 cases run once.
  await until(
    async () => {
      workers.forEach((w) => w.releaseAll());
      return workers.reduce((n, w) => n + w.state.started.length, 0) === 60 || undefined;
    },
    'every case started',
    20_000,
    20,
  );
  workers.forEach((w) => w.releaseAll());
  expect(workers.map((w) => w.state.peak)).toEqual([10, 10]);
  expect(workers.flatMap((w) => w.state.started).sort((a, b) => a - b)).toEqual(Array.from({ length: 60 }, (_, i) => i));
  await until(async () => ((await queue.stats()).active === 0 ? true : undefined), 'no job active', 20_000, 50);
}

test('bee-queue workers take a job only while their case slots have room, and run at most WORKER_CONCURRENCY cases', async () => {
  const prefix = uniqueName('bqslots');
  const settings = { redisUrl: TEST_REDIS_URL, name: 'eval-cases', prefix, stallIntervalMs: 5_000, retries: 0 };
  const producer = new BeeCaseQueue(settings);
  const consumers = [new BeeCaseConsumer(settings, 10), new BeeCaseConsumer(settings, 10)];
  try {
    await takesOnlyWhatItCanStart(producer, consumers);
  } finally {
    await Promise.all(consumers.map((c) => c.close(1_000)));
    await producer.close();
    await deleteRedisPrefix(TEST_REDIS_URL, prefix);
  }
});

test('the in-process queue of evalctl dev follows the same rule', async () => {
  // One in-process queue is one worker (producer and consumer in the process).
  const queue = new MemoryCaseQueue(10);
  const run = randomUUID();
  const jobs = Array.from({ length: 12 }, (_, j) => ({ runId: run, cases: [0, 1, 2, 3, 4].map((i) => j * 5 + i) }));
  const worker = blockingHandlers();
  queue.start(worker.handlers);
  await queue.enqueue(jobs);
  await until(async () => (worker.state.running === 10 ? true : undefined), '10 cases running', 5_000, 10);
  expect(worker.state.jobs).toBe(2);
  expect((await queue.stats()).waiting).toBe(10);
  await until(
    async () => {
      worker.releaseAll();
      return worker.state.started.length === 60 || undefined;
    },
    'every case started',
    5_000,
    10,
  );
  worker.releaseAll();
  expect(worker.state.peak).toBe(10);
  await queue.close(1_000);
});

test('a job whose cases take their turns in a worker with fewer slots is not timed out and run again', async () => {
  // One slot and a job of three cases of 250 ms each: 750 ms, past a 400 ms timeout but not past 400 ms a case.
  const prefix = uniqueName('bqtimeout');
  const settings = { redisUrl: TEST_REDIS_URL, name: 'eval-cases', prefix, stallIntervalMs: 5_000, retries: 2, jobTimeoutMs: 400 };
  const producer = new BeeCaseQueue(settings);
  const consumer = new BeeCaseConsumer(settings, 1);
  const runs: number[] = [];
  let done = false;
  try {
    consumer.start({
      async process(job, slot) {
        await Promise.all(job.cases.map((index) => slot(async () => {
          runs.push(index);
          await new Promise((resolve) => setTimeout(resolve, 250));
        })));
        done = true;
      },
      async failed() {},
    });
    await producer.enqueue([{ runId: randomUUID(), cases: [0, 1, 2] }]);
    await until(async () => done || undefined, 'the job done', 10_000, 20);
    // A timed-out job would come back after its 1 s backoff.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(runs).toEqual([0, 1, 2]);
  } finally {
    await consumer.close(1_000);
    await producer.close();
    await deleteRedisPrefix(TEST_REDIS_URL, prefix);
  }
});
