import type { Kysely } from 'kysely';
import { getRunWithProject } from '../store/postgres/runs';
import type { Database } from '../store/postgres/schema';
import type { LoadedSuite } from '../suite/load';
import { loadRunSuite } from './run-report';

type RunRow = NonNullable<Awaited<ReturnType<typeof getRunWithProject>>>;

interface Entry {
  readonly run: Promise<{ run: RunRow; loaded: LoadedSuite } | undefined>;
  /** This process has moved the run to running and given its suite's limits to the gateway. */
  started: boolean;
}

/**
 * A worker's runs: each row (with its suite, which can be megabytes) is read and validated once per worker,
 * not once per case. The suite never changes; the status that can change comes back from `startCase`.
 * Bounded: the oldest run is forgotten past `maxRuns`.
 */
export class RunCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly maxRuns = 100,
  ) {}

  /** The run and its validated suite; undefined when the run no longer exists. */
  async get(runId: string): Promise<{ run: RunRow; loaded: LoadedSuite } | undefined> {
    let entry = this.entries.get(runId);
    if (!entry) {
      const run = getRunWithProject(this.db, runId).then((row) => (row ? { run: row, loaded: loadRunSuite(row) } : undefined));
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
