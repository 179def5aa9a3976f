import type { Kysely } from 'kysely';
import type { CaseResult } from '../contracts/report';
import { clipText, storableDeep, storableText } from '../contracts/text';
import { isDataError } from '../store/postgres/errors';
import { countCaseOutcomes, finalizeRun, getRunWithProject, setTopicLabels, type CaseCompletion } from '../store/postgres/runs';
import type { Database, RunStatus } from '../store/postgres/schema';
import type { LoadedSuite } from '../suite/load';
import { finalStatus, loadRunSuite, reportSummary } from './run-report';
import { runReportHead } from './run-results';
import { LABEL_INPUT_CHARS } from './topic-labels';

export interface CaseOutcome {
  /** False when the case had been counted before (a retried job). */
  counted: boolean;
  /** Set when this outcome finished the run. */
  finished?: RunStatus;
  /** What the run had spent, in USD, once this outcome was written (when this write counted a case of it). */
  spentUsd?: number;
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

/**
 * Counts case outcomes once each (`countCaseOutcomes`); the runs they complete are then finalised, and each
 * run's final status is reported on one outcome only.
 */
export async function writeCaseOutcomes(db: Kysely<Database>, completions: readonly CaseCompletion[], labeler?: TopicLabeler): Promise<CaseOutcome[]> {
  const { counted, finishedRuns, spentUsd } = await countCaseOutcomes(db, completions);
  const statuses = new Map<string, RunStatus | undefined>();
  for (const runId of finishedRuns) statuses.set(runId, await finalize(db, runId, labeler));
  return completions.map((p) => {
    const wasCounted = counted.has(`${p.runId}/${p.caseIndex}`);
    const finished = wasCounted && statuses.has(p.runId) ? statuses.get(p.runId) : undefined;
    if (finished !== undefined) statuses.delete(p.runId);
    return { counted: wasCounted, finished, spentUsd: spentUsd.get(p.runId) };
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

  complete(completion: CaseCompletion): Promise<CaseOutcome> {
    return new Promise((resolve, reject) => {
      this.pending.push({ ...completion, resolve, reject });
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
    try {
      const outcomes = await writeCaseOutcomes(this.db, batch, this.options.labeler);
      batch.forEach((p, i) => p.resolve(outcomes[i]));
    } catch (error) {
      if (!isDataError(error)) throw error;
      // One case's data failed the group's transaction: each is written alone, so only that case pays for it.
      for (const p of batch) {
        try {
          p.resolve((await writeCaseOutcomes(this.db, [p], this.options.labeler))[0]);
        } catch (alone) {
          if (!isDataError(alone)) throw alone;
          p.resolve((await writeCaseOutcomes(this.db, [unstoredCompletion(p, alone)], this.options.labeler))[0]);
        }
      }
    }
  }
}

/** A case whose result Postgres refused: counted as errored with the database's reason, without the result or its rows. */
function unstoredCompletion(completion: CaseCompletion, error: unknown): CaseCompletion {
  return {
    runId: completion.runId,
    caseIndex: completion.caseIndex,
    status: 'errored',
    result: null,
    error: storableText(`the case's result could not be stored: ${(error as Error).message}`),
    costUsd: completion.costUsd,
  };
}

/**
 * Labels cases that have no topic and no tags, for the topic view; given by the workers, which hold a judge.
 * Its calls are the run's: made within what is left of its budget, and their cost is added to it.
 */
export type TopicLabeler = (
  suite: LoadedSuite,
  cases: ReadonlyArray<{ index: number; input: string }>,
  run: { id: string; maxCostUsd: number | null; budgetLeftUsd: number | null },
) => Promise<{ labels: Record<number, string>; costUsd: number }>;

async function finalize(db: Kysely<Database>, runId: string, labeler?: TopicLabeler): Promise<RunStatus | undefined> {
  const run = await getRunWithProject(db, runId);
  if (!run) return undefined;
  const loaded = loadRunSuite(run);
  // The cases are counted a batch at a time: finishing a run of 100,000 cases holds one batch, and the inputs
  // of the unlabelled cases (clipped as the labeller clips them).
  const unlabelled: Array<{ index: number; input: string }> = [];
  const head = await runReportHead(db, { ...run, finished_at: new Date() }, loaded, (c) => {
    if (!c.topic && c.tags.length === 0) unlabelled.push({ index: c.index, input: clipText(c.input, LABEL_INPUT_CHARS) });
  });
  const final = finalStatus(head);
  if (!(await finalizeRun(db, runId, final, reportSummary(head)))) return undefined;
  // Topic labels come after the run is finished, and off the write path: labelling (its judge slow, or held by
  // the run's own rate limits) never delays a run's result, nor the other runs a group commit finishes with it.
  if (labeler && unlabelled.length > 0) {
    const maxCostUsd = run.max_cost_usd;
    const budgetLeftUsd = maxCostUsd === null ? null : Math.max(0, maxCostUsd - run.cost_usd);
    void labeler(loaded, unlabelled, { id: runId, maxCostUsd, budgetLeftUsd })
      .then(({ labels, costUsd }) => setTopicLabels(db, runId, storableDeep(labels), costUsd))
      // Unlabelled cases are still counted, under "(no topic or tag)".
      .catch(() => undefined);
  }
  return final;
}
