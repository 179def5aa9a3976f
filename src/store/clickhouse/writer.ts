import { randomUUID } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import { checkDatabaseName } from './connect';
import { TABLE_COLUMNS, type ClickhouseTable, type TableRows } from './tables';

/** A row as the insert's columns, in TABLE_COLUMNS order (a missing field as NULL). */
export function rowValues<T extends ClickhouseTable>(table: T, row: TableRows[T]): unknown[] {
  return (TABLE_COLUMNS[table] as readonly (keyof TableRows[T])[]).map((column) => row[column] ?? null);
}

/** One insert of rows (as `rowValues`) into a table; `token` deduplicates a retried insert of the same rows. */
export async function insertRows(client: ClickHouseClient, database: string, table: ClickhouseTable, values: unknown[][], token: string): Promise<void> {
  await client.insert({
    table: `${database}.${table}`,
    values,
    columns: TABLE_COLUMNS[table] as [string, ...string[]],
    format: 'JSONCompactEachRow',
    clickhouse_settings: { insert_deduplication_token: token, date_time_input_format: 'basic' },
  });
}

export interface WriterOptions {
  /** Rows buffered per table before a flush starts at once. */
  readonly maxRows?: number;
  /** A buffer is flushed this long after its first row at the latest. */
  readonly flushIntervalMs?: number;
  readonly maxAttempts?: number;
  readonly baseDelayMs?: number;
  /** Told of each failed attempt (the worker counts them as a metric and logs them). */
  readonly onRetry?: (table: ClickhouseTable, attempt: number, error: unknown) => void;
}

interface Pending {
  rows: unknown[][];
  waiters: Array<{ resolve: () => void; reject: (error: unknown) => void }>;
  timer?: NodeJS.Timeout;
}

/**
 * Batches rows per table and inserts them with retries. `add` resolves once the rows are stored, so a worker
 * can finish a job only after its results are durable while still sharing one insert with other jobs.
 * Each batch carries one insert_deduplication_token across its retries: an insert that succeeded but whose
 * answer was lost is not stored twice.
 */
export class ClickhouseWriter {
  private readonly pending = new Map<ClickhouseTable, Pending>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly maxRows: number;
  private readonly flushIntervalMs: number;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private closed = false;
  /** Rows stored so far, for metrics and the benchmark. */
  rowsWritten = 0;
  batchesWritten = 0;

  constructor(
    private readonly client: ClickHouseClient,
    private readonly database: string,
    private readonly options: WriterOptions = {},
  ) {
    checkDatabaseName(database);
    this.maxRows = options.maxRows ?? 5_000;
    this.flushIntervalMs = options.flushIntervalMs ?? 200;
    this.maxAttempts = options.maxAttempts ?? 6;
    this.baseDelayMs = options.baseDelayMs ?? 200;
  }

  add<T extends ClickhouseTable>(table: T, rows: readonly TableRows[T][]): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the ClickHouse writer is closed'));
    if (rows.length === 0) return Promise.resolve();
    let pending = this.pending.get(table);
    if (!pending) {
      pending = { rows: [], waiters: [] };
      this.pending.set(table, pending);
    }
    for (const row of rows) pending.rows.push(rowValues(table, row));
    const done = new Promise<void>((resolve, reject) => pending!.waiters.push({ resolve, reject }));
    if (pending.rows.length >= this.maxRows) this.startFlush(table);
    else if (!pending.timer) pending.timer = setTimeout(() => this.startFlush(table), this.flushIntervalMs);
    return done;
  }

  private startFlush(table: ClickhouseTable): void {
    const pending = this.pending.get(table);
    if (!pending || pending.rows.length === 0) return;
    clearTimeout(pending.timer);
    this.pending.delete(table);
    const flight = this.insert(table, pending.rows).then(
      () => pending.waiters.forEach((w) => w.resolve()),
      (error: unknown) => pending.waiters.forEach((w) => w.reject(error)),
    );
    this.inFlight.add(flight);
    void flight.finally(() => this.inFlight.delete(flight));
  }

  private async insert(table: ClickhouseTable, rows: unknown[][]): Promise<void> {
    const token = randomUUID();
    for (let attempt = 1; ; attempt++) {
      try {
        await insertRows(this.client, this.database, table, rows, token);
        this.rowsWritten += rows.length;
        this.batchesWritten++;
        return;
      } catch (error) {
        this.options.onRetry?.(table, attempt, error);
        if (attempt >= this.maxAttempts) throw error;
        const delay = Math.min(10_000, this.baseDelayMs * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2);
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  /** Inserts everything buffered now and waits for every insert in flight. */
  async flush(): Promise<void> {
    for (const table of [...this.pending.keys()]) this.startFlush(table);
    await Promise.allSettled([...this.inFlight]);
  }

  /** Flushes, then refuses new rows. */
  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
  }
}
