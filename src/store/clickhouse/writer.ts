import { randomUUID } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import { checkDatabaseName } from './connect';

export type ClickhouseTable = 'results' | 'llm_calls';

/**
 * The columns written, in order. Rows travel as JSONCompactEachRow (values only): a third of the bytes of
 * JSONEachRow and about 1.4× faster for ClickHouse to parse.
 */
export const TABLE_COLUMNS: Readonly<Record<ClickhouseTable, readonly string[]>> = {
  results: [
    'project', 'run_id', 'suite', 'case_index', 'case_id', 'metric', 'metric_name', 'score', 'passed', 'errored', 'threshold', 'reason',
    'judge_model', 'judge_input_tokens', 'judge_output_tokens', 'judge_cost_usd', 'target_latency_ms', 'duration_ms', 'topic', 'tags',
    'git_sha', 'branch', 'pull_request', 'build_id', 'run_created_at', 'version',
  ],
  llm_calls: [
    'project', 'run_id', 'case_index', 'kind', 'provider', 'model', 'status', 'error_status', 'cached', 'attempts', 'rate_limited',
    'input_tokens', 'output_tokens', 'cached_input_tokens', 'cost_usd', 'latency_ms', 'created_at',
  ],
};

/** DateTime64 in ClickHouse's basic format ('2026-11-27 10:20:00.123', UTC), the cheapest to parse. */
export const clickhouseTime = (date: Date): string => date.toISOString().replace('T', ' ').replace('Z', '');

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

  add(table: ClickhouseTable, rows: Record<string, unknown>[]): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the ClickHouse writer is closed'));
    if (rows.length === 0) return Promise.resolve();
    let pending = this.pending.get(table);
    if (!pending) {
      pending = { rows: [], waiters: [] };
      this.pending.set(table, pending);
    }
    const columns = TABLE_COLUMNS[table];
    for (const row of rows) pending.rows.push(columns.map((column) => row[column] ?? null));
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
        await this.client.insert({
          table: `${this.database}.${table}`,
          values: rows,
          columns: TABLE_COLUMNS[table] as [string, ...string[]],
          format: 'JSONCompactEachRow',
          clickhouse_settings: { insert_deduplication_token: token, date_time_input_format: 'basic' },
        });
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
