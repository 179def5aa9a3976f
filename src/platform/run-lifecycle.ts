import { sql, type Kysely } from 'kysely';
import type { CaseResult } from '../runner/report';
import { finalizeRun, getRunWithProject } from '../store/postgres/runs';
import type { Database, RunStatus } from '../store/postgres/schema';
import type { LoadedSuite } from '../suite/load';
import { finalStatus, loadRunSuite, reportSummary } from './run-report';
import { runReport } from './run-results';

export interface CaseOutcome {
  /** False when the case had been counted before (a retried job). */
  counted: boolean;
  /** Set when this outcome finished the run. */
  finished?: RunStatus;
}

/**
 * Counts a case's outcome on its run, once; the outcome that completes the run writes its final status and
 * summary (the report without cases), once. Used by the workers and by the reconciler that gives up on a case.
 */
export async function recordCaseOutcome(
  db: Kysely<Database>,
  runId: string,
  caseIndex: number,
  status: 'passed' | 'failed' | 'errored',
  result: CaseResult | null,
  error: string | null,
  labeler?: TopicLabeler,
): Promise<CaseOutcome> {
  const [outcome] = await writeCaseOutcomes(db, [{ runId, caseIndex, status, result, error }], labeler);
  return outcome;
}

export interface CaseCompletion {
  runId: string;
  caseIndex: number;
  status: 'passed' | 'failed' | 'errored';
  result: CaseResult | null;
  error: string | null;
}

/**
 * Writes case outcomes in one transaction: one UPDATE of their run_cases rows, one counter UPDATE per run.
 * A row only moves from `queued`/`running`, and only the rows that moved are counted, so a case counts once.
 * Runs the outcomes complete are then finalised, and each run's final status is reported on one outcome only.
 */
export async function writeCaseOutcomes(db: Kysely<Database>, completions: readonly CaseCompletion[], labeler?: TopicLabeler): Promise<CaseOutcome[]> {
  const { counted, finishedRuns } = await db.transaction().execute(async (trx) => {
    const values = sql.join(
      completions.map((p) => sql`(${p.runId}::uuid, ${p.caseIndex}::int, ${p.status}, ${p.result === null ? null : JSON.stringify(p.result)}::jsonb, ${p.error})`),
    );
    const moved = await sql<{ run_id: string; case_index: number; status: string }>`
      UPDATE run_cases AS rc
      SET status = v.status, result = v.result, error = v.error, updated_at = now()
      FROM (VALUES ${values}) AS v(run_id, case_index, status, result, error)
      WHERE rc.run_id = v.run_id AND rc.case_index = v.case_index AND rc.status IN ('queued', 'running')
      RETURNING rc.run_id, rc.case_index, rc.status`.execute(trx);
    const perRun = new Map<string, { passed: number; failed: number; errored: number }>();
    for (const row of moved.rows) {
      const counts = perRun.get(row.run_id) ?? { passed: 0, failed: 0, errored: 0 };
      counts[row.status as keyof typeof counts]++;
      perRun.set(row.run_id, counts);
    }
    const finished = new Set<string>();
    // Runs in id order, so two workers' batches lock them in the same order.
    for (const [runId, c] of [...perRun].sort(([a], [b]) => a.localeCompare(b))) {
      const run = await trx
        .updateTable('runs')
        .set((eb) => ({
          completed_cases: eb('completed_cases', '+', c.passed + c.failed + c.errored),
          passed_cases: eb('passed_cases', '+', c.passed),
          failed_cases: eb('failed_cases', '+', c.failed),
          errored_cases: eb('errored_cases', '+', c.errored),
        }))
        .where('id', '=', runId)
        .returning(['completed_cases', 'total_cases'])
        .executeTakeFirst();
      if (run && run.completed_cases === run.total_cases) finished.add(runId);
    }
    return { counted: new Set(moved.rows.map((r) => `${r.run_id}/${r.case_index}`)), finishedRuns: finished };
  });
  const statuses = new Map<string, RunStatus | undefined>();
  for (const runId of finishedRuns) statuses.set(runId, await finalize(db, runId, labeler));
  return completions.map((p) => {
    const wasCounted = counted.has(`${p.runId}/${p.caseIndex}`);
    const finished = wasCounted && statuses.has(p.runId) ? statuses.get(p.runId) : undefined;
    if (finished !== undefined) statuses.delete(p.runId);
    return { counted: wasCounted, finished };
  });
}

interface PendingCompletion extends CaseCompletion {
  resolve: (outcome: CaseOutcome) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit for case outcomes: the completions that arrive within `maxDelayMs` go to `writeCaseOutcomes`
 * together. A worker at concurrency 100 otherwise queues 100 transactions on the same hot `runs` row.
 */
export class CaseCompletionBatcher {
  private pending: PendingCompletion[] = [];
  private timer: NodeJS.Timeout | undefined;
  private inFlight = new Set<Promise<void>>();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly options: { maxBatch?: number; maxDelayMs?: number; labeler?: TopicLabeler } = {},
  ) {}

  complete(runId: string, caseIndex: number, status: PendingCompletion['status'], result: CaseResult | null, error: string | null): Promise<CaseOutcome> {
    return new Promise((resolve, reject) => {
      this.pending.push({ runId, caseIndex, status, result, error, resolve, reject });
      if (this.pending.length >= (this.options.maxBatch ?? 200)) this.flushNow();
      else this.timer ??= setTimeout(() => this.flushNow(), this.options.maxDelayMs ?? 20);
    });
  }

  private flushNow(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    const flight = this.write(batch).catch((error: unknown) => batch.forEach((p) => p.reject(error)));
    this.inFlight.add(flight);
    void flight.finally(() => this.inFlight.delete(flight));
  }

  /** Writes whatever is pending and waits for every write in flight (shutdown). */
  async flush(): Promise<void> {
    this.flushNow();
    await Promise.allSettled([...this.inFlight]);
  }

  private async write(batch: PendingCompletion[]): Promise<void> {
    const outcomes = await writeCaseOutcomes(this.db, batch, this.options.labeler);
    batch.forEach((p, i) => p.resolve(outcomes[i]));
  }
}

/** Labels cases that have no topic and no tags, for the topic view; given by the workers, which hold a judge. */
export type TopicLabeler = (suite: LoadedSuite, cases: ReadonlyArray<{ index: number; input: string }>) => Promise<Record<number, string>>;

async function finalize(db: Kysely<Database>, runId: string, labeler?: TopicLabeler): Promise<RunStatus | undefined> {
  const run = await getRunWithProject(db, runId);
  if (!run) return undefined;
  const report = await runReport(db, { ...run, finished_at: new Date() });
  const final = finalStatus(report);
  if (!(await finalizeRun(db, runId, final, reportSummary(report)))) return undefined;
  // Topic labels come after the run is finished, so labelling never delays a run's result.
  const unlabelled = report.cases.filter((c) => !c.topic && c.tags.length === 0).map((c) => ({ index: c.index, input: c.input }));
  if (labeler && unlabelled.length > 0) {
    const labels = await labeler(loadRunSuite(run), unlabelled).catch(() => ({}));
    await sql`UPDATE runs SET summary = jsonb_set(summary, '{topic_labels}', ${JSON.stringify(labels)}::jsonb) WHERE id = ${runId}`.execute(db);
  }
  return final;
}
