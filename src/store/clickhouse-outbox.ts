import type { ClickHouseClient } from '@clickhouse/client';
import { sql, type Kysely } from 'kysely';
import type { ClickhouseTable, TableRows } from './clickhouse/tables';
import { insertRows, rowValues } from './clickhouse/writer';
import type { Database } from './postgres/schema';

/**
 * The ClickHouse rows of counted cases wait in Postgres (`clickhouse_outbox`, written in the transaction that
 * counts them) until a drainer has inserted them. Each outbox row is one ClickHouse insert whose
 * deduplication token is the row's id, so a drainer that dies between the insert and the delete, or two
 * drainers whose leases overlap, store the rows once. A ClickHouse outage delays results; it never fails a
 * case, loses a row, or makes Postgres and ClickHouse disagree once it is over.
 */
export interface OutboxDrainerOptions {
  /** Outbox rows claimed per pass. */
  readonly batch?: number;
  /** How long a claim holds before another drainer may take the rows. */
  readonly leaseMs?: number;
  /** Pause between passes that found nothing (or failed), growing to `maxIdleMs` while ClickHouse is down. */
  readonly idleMs?: number;
  readonly maxIdleMs?: number;
  readonly onError?: (error: unknown) => void;
}

export class ClickhouseOutboxDrainer {
  private stopped = false;
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

  /** Asks for a pass now (a batch of outcomes was just committed). */
  poke(): void {
    this.wake?.();
  }

  /** Claims up to `batch` outbox rows, inserts each into ClickHouse, deletes what was stored. Returns rows inserted. */
  async drainOnce(): Promise<number> {
    const leaseMs = this.options.leaseMs ?? 30_000;
    const claimed = await sql<{ id: string; table_name: ClickhouseTable; rows: unknown[] }>`
      UPDATE clickhouse_outbox SET claimed_until = now() + make_interval(secs => ${leaseMs / 1000})
      WHERE id IN (
        SELECT id FROM clickhouse_outbox
        WHERE claimed_until IS NULL OR claimed_until < now()
        ORDER BY id LIMIT ${this.options.batch ?? 20}
        FOR UPDATE SKIP LOCKED)
      RETURNING id, table_name, rows`.execute(this.db);
    let inserted = 0;
    const done: string[] = [];
    try {
      for (const entry of claimed.rows.sort((a, b) => Number(a.id) - Number(b.id))) {
        const values = (entry.rows as TableRows[typeof entry.table_name][]).map((row) => rowValues(entry.table_name, row));
        await insertRows(this.clickhouse, this.database, entry.table_name, values, `outbox-${entry.id}`);
        done.push(entry.id);
        inserted += entry.rows.length;
      }
    } finally {
      if (done.length > 0) await this.db.deleteFrom('clickhouse_outbox').where('id', 'in', done).execute();
      const failed = claimed.rows.map((r) => r.id).filter((id) => !done.includes(id));
      // Give back what was not stored, so the next pass (of any drainer) retries it without waiting for the lease.
      if (failed.length > 0) await this.db.updateTable('clickhouse_outbox').set({ claimed_until: null }).where('id', 'in', failed).execute().catch(() => undefined);
    }
    this.rowsWritten += inserted;
    return inserted;
  }

  private async run(): Promise<void> {
    const idle = this.options.idleMs ?? 100;
    let pause = idle;
    while (!this.stopped) {
      let progressed = false;
      try {
        progressed = (await this.drainOnce()) > 0;
        pause = idle;
      } catch (error) {
        this.options.onError?.(error);
        pause = Math.min(this.options.maxIdleMs ?? 2_000, pause * 2);
      }
      if (progressed || this.stopped) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, pause);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
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
      await this.drainOnce().catch(() => new Promise((resolve) => setTimeout(resolve, 200)));
    }
  }
}

/** Outbox rows not yet in ClickHouse (the worker's gauge; tests wait for zero). */
export async function outboxBacklog(db: Kysely<Database>): Promise<number> {
  const row = await db.selectFrom('clickhouse_outbox').select((eb) => eb.fn.coalesce(eb.fn.sum<number>('row_count'), sql<number>`0`).as('n')).executeTakeFirst();
  return Number(row?.n ?? 0);
}
