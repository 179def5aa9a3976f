import type { Kysely } from 'kysely';
import { getRunWithProject } from '../store/postgres/runs';
import type { Database } from '../store/postgres/schema';
import type { LoadedSuite } from '../suite/load';
import { loadRunSuite } from './run-report';

export type RunRow = NonNullable<Awaited<ReturnType<typeof getRunWithProject>>>;

/** A cached run: its row, its validated suite, and what the cache's owner derives from them once. */
export interface CachedRun<T> {
  readonly run: RunRow;
  readonly loaded: LoadedSuite;
  readonly extra: T;
}

interface Entry<T> {
  readonly run: Promise<CachedRun<T> | undefined>;
  /** This process has moved the run to running and given its suite's limits to the gateway. */
  started: boolean;
}

/**
 * A worker's runs: each row (with its suite, which can be megabytes) is read and validated once per worker,
 * not once per case, together with whatever `derive` makes of it (the worker's tenant boundary). The suite
 * never changes; the status that can change comes back from `startCases`. Bounded: the oldest run is
 * forgotten past `maxRuns`.
 */
export class RunCache<T = undefined> {
  private readonly entries = new Map<string, Entry<T>>();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly derive: (run: RunRow, loaded: LoadedSuite) => Promise<T> = async () => undefined as T,
    private readonly maxRuns = 100,
  ) {}

  /** The run, its validated suite and what was derived from them; undefined when the run no longer exists. */
  async get(runId: string): Promise<CachedRun<T> | undefined> {
    let entry = this.entries.get(runId);
    if (!entry) {
      const run = getRunWithProject(this.db, runId).then(async (row) => {
        if (!row) return undefined;
        const loaded = loadRunSuite(row);
        return { run: row, loaded, extra: await this.derive(row, loaded) };
      });
      entry = { run, started: false };
      if (this.entries.size >= this.maxRuns) this.entries.delete(this.entries.keys().next().value!);
      this.entries.set(runId, entry);
    }
    const found = await entry.run.catch((error: unknown) => {
      this.entries.delete(runId);
      throw error;
    });
    if (!found) this.entries.delete(runId);
    return found;
  }

  /** True the first time it is called for a run (while the run is cached). */
  markStarted(runId: string): boolean {
    const entry = this.entries.get(runId);
    if (!entry || entry.started) return false;
    entry.started = true;
    return true;
  }
}
