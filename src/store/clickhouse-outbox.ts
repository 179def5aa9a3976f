import type { ClickHouseClient } from '@clickhouse/client';
import { sql, type Kysely } from 'kysely';
import type { ClickhouseTable, TableRows } from './clickhouse/tables';
import { insertRows, rowValues } from './clickhouse/writer';
import type { Database } from './postgres/schema';

/**
 * The ClickHouse rows of counted cases wait in Postgres (`clickhouse_outbox`, written in the transaction that
 * counts them) until a drainer has inserted them. A pass claims the waiting outbox rows and inserts them per
 * table in one insert (ClickHouse makes a part per insert: few large inserts, not many small ones). Before the
 * first attempt the rows of an insert are bound together (`drain_group`, named by their smallest id), and the
 * group's id is the insert's deduplication token, so a drainer that dies between the insert and the delete,
 * or two drainers whose leases overlap, store the rows once: a group is only ever inserted whole, under its
 * token. A ClickHouse outage delays results; it never fails a case, loses a row, or makes Postgres and
 * ClickHouse disagree once it is over.
 */
export interface OutboxDrainerOptions {
  /** Outbox rows claimed per pass. */
  readonly batch?: number;
  /** How long a claim holds before another drainer may take the rows. */
  readonly leaseMs?: number;
  /** Pause between passes that found nothing (or failed), growing to `maxIdleMs` while ClickHouse is down. */
  readonly idleMs?: number;
  readonly maxIdleMs?: number;
  /**
   * Rows are taken once the oldest waiting row is this old, so that ClickHouse gets a few large inserts
   * rather than one per group commit, whatever the number of workers (each runs a drainer). Results reach
   * ClickHouse this much later; Postgres has them at once.
   */
  readonly gatherMs?: number;
  readonly onError?: (error: unknown) => void;
}

type Claimed = { id: string; table_name: ClickhouseTable; rows: unknown[]; drain_group: string | null };

export class ClickhouseOutboxDrainer {
  private stopped = false;
  /** The next pass takes what waits without gathering (a run finished: its rows are wanted now). */
  private urgent = false;
  private wake?: () => void;
  private loop?: Promise<void>;
  /** Rows inserted by this drainer, for metrics. */
  rowsWritten = 0;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly clickhouse: ClickHouseClient,
    private readonly database: string,
    private readonly options: OutboxDrainerOptions = {},
  ) {}

  start(): void {
    this.loop ??= this.run();
  }

  /** A pass now that takes everything waiting, without gathering (a run just finished). */
  drainSoon(): void {
    this.urgent = true;
    this.wake?.();
  }

  /**
   * Claims up to `batch` outbox rows (once the oldest has waited `gatherMs`, unless `now`), inserts them group
   * by group, deletes what was stored. Returns rows inserted.
   */
  async drainOnce(now = false): Promise<number> {
    const leaseMs = this.options.leaseMs ?? 30_000;
    const gatherMs = now ? 0 : (this.options.gatherMs ?? 250);
    const claimed = (
      await sql<Claimed>`
        UPDATE clickhouse_outbox SET claimed_until = now() + make_interval(secs => ${leaseMs / 1000})
        WHERE id IN (
          SELECT id FROM clickhouse_outbox
          WHERE claimed_until IS NULL OR claimed_until < now()
          ORDER BY id LIMIT ${this.options.batch ?? 100}
          FOR UPDATE SKIP LOCKED)
        AND EXISTS (
          SELECT 1 FROM clickhouse_outbox
          WHERE (claimed_until IS NULL OR claimed_until < now()) AND created_at <= now() - make_interval(secs => ${gatherMs / 1000}))
        RETURNING id, table_name, rows, drain_group`.execute(this.db)
    ).rows.sort((a, b) => Number(a.id) - Number(b.id));
    if (claimed.length === 0) return 0;
    let inserted = 0;
    const done: string[] = [];
    try {
      const groups = await this.groupsOf(claimed);
      for (const [group, members] of groups) {
        const table = members[0].table_name;
        const values = members.flatMap((entry) => (entry.rows as TableRows[typeof table][]).map((row) => rowValues(table, row)));
        await insertRows(this.clickhouse, this.database, table, values, `outbox-group-${group}`);
        done.push(...members.map((m) => m.id));
        inserted += values.length;
      }
    } finally {
      if (done.length > 0) await this.db.deleteFrom('clickhouse_outbox').where('id', 'in', done).execute();
      const left = claimed.map((r) => r.id).filter((id) => !done.includes(id));
      // Give back what was not stored, so the next pass (of any drainer) retries it without waiting for the lease.
      if (left.length > 0) await this.db.updateTable('clickhouse_outbox').set({ claimed_until: null }).where('id', 'in', left).execute().catch(() => undefined);
    }
    this.rowsWritten += inserted;
    return inserted;
  }

  /**
   * The claimed rows by insert: rows never attempted become one group per table (recorded before any insert);
   * rows of an earlier attempt keep their group, which is inserted only if this claim holds all of it.
   */
  private async groupsOf(claimed: Claimed[]): Promise<Map<string, Claimed[]>> {
    const earlier = new Set(claimed.flatMap((r) => (r.drain_group === null ? [] : [r.drain_group])));
    for (const table of new Set(claimed.filter((r) => r.drain_group === null).map((r) => r.table_name))) {
      const fresh = claimed.filter((r) => r.drain_group === null && r.table_name === table);
      const group = fresh[0].id;
      const bound = await this.db
        .updateTable('clickhouse_outbox')
        .set({ drain_group: group })
        .where('id', 'in', fresh.map((r) => r.id))
        .where('drain_group', 'is', null)
        .returning('id')
        .execute();
      const ids = new Set(bound.map((r) => r.id));
      // A row another drainer bound meanwhile (its lease ran out under this one) is left to the next pass.
      for (const row of fresh) if (ids.has(row.id)) row.drain_group = group;
    }
    const groups = new Map<string, Claimed[]>();
    for (const row of claimed) if (row.drain_group !== null) (groups.get(row.drain_group) ?? groups.set(row.drain_group, []).get(row.drain_group)!).push(row);
    // Groups bound just now are whole by construction; only an earlier attempt's may be partly elsewhere.
    if (earlier.size === 0) return groups;
    const sizes = await this.db
      .selectFrom('clickhouse_outbox')
      .select(['drain_group', (eb) => eb.fn.countAll<string>().as('n')])
      .where('drain_group', 'in', [...earlier])
      .groupBy('drain_group')
      .execute();
    const whole = new Map(sizes.map((r) => [r.drain_group!, Number(r.n)]));
    for (const group of earlier) if (whole.get(group) !== groups.get(group)?.length) groups.delete(group);
    return groups;
  }

  private async run(): Promise<void> {
    const idle = this.options.idleMs ?? 100;
    let pause = idle;
    while (!this.stopped) {
      let progressed = false;
      const now = this.urgent;
      this.urgent = false;
      try {
        progressed = (await this.drainOnce(now)) > 0;
        pause = idle;
      } catch (error) {
        this.options.onError?.(error);
        pause = Math.min(this.options.maxIdleMs ?? 2_000, pause * 2);
      }
      if (this.stopped) break;
      // More may wait than one pass takes; otherwise the next pass comes after a pause (or at once, `drainSoon`).
      if (!progressed && !this.urgent) await this.sleep(pause);
    }
  }

  private async sleep(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }

  /** Stops the loop; with `flushMs`, first keeps draining until the outbox is empty or the time is up. */
  async stop(flushMs = 0): Promise<void> {
    const deadline = Date.now() + flushMs;
    this.stopped = true;
    this.wake?.();
    await this.loop;
    while (Date.now() < deadline) {
      const left = await outboxBacklog(this.db).catch(() => 0);
      if (left === 0) return;
      await this.drainOnce(true).catch(() => new Promise((resolve) => setTimeout(resolve, 200)));
    }
  }
}

/** Outbox rows not yet in ClickHouse (the worker's gauge; tests wait for zero). */
export async function outboxBacklog(db: Kysely<Database>): Promise<number> {
  const row = await db.selectFrom('clickhouse_outbox').select((eb) => eb.fn.coalesce(eb.fn.sum<number>('row_count'), sql<number>`0`).as('n')).executeTakeFirst();
  return Number(row?.n ?? 0);
}
