import type { Kysely } from 'kysely';
import type { CaseJob } from '../../src/contracts/jobs';
import type { CaseResult } from '../../src/contracts/report';
import type { CaseCompletion } from '../../src/store/postgres/runs';
import { BudgetSpentError, llmCallScope, type LlmCallEvent, type LlmGateway } from '../../src/providers/llm-gateway';
import { evaluateCase, judgeSettings, tenantCallScope, type TenantBoundary } from '../../src/runner/evaluate-case';
import { suiteModelLimits } from '../../src/runner/run-suites';
import { isDataError } from '../../src/store/postgres/errors';
import { llmCallRows, resultRows, spanScoreRows, type CallBodies } from '../../src/platform/result-rows';
import { onlineCaseRef } from '../../src/platform/online';
import { Judge } from '../../src/metrics/judge';
import { CaseCompletionBatcher, writeCaseOutcomes, type CaseOutcome, type TopicLabeler } from '../../src/platform/run-lifecycle';
import { BUDGET_SPENT_ERROR } from '../../src/platform/run-results';
import { labelTopics } from '../../src/platform/topic-labels';
import { RunCache, type CachedRun } from '../../src/platform/run-cache';
import type { CallBodyPolicy } from '../../src/platform/config';
import { egressGuardFor, projectEndpointPolicy, secretValues, storedForm, type TenancyConfig } from '../../src/platform/tenancy';
import { listProjectEndpoints } from '../../src/store/postgres/endpoints';
import type { CaseSlot, ConsumerHandlers } from '../../src/queue/types';
import { startCases } from '../../src/store/postgres/runs';
import type { Database } from '../../src/store/postgres/schema';
import type { PlatformMetrics } from '../../src/telemetry/metrics';

export interface WorkerDeps {
  readonly db: Kysely<Database>;
  readonly gateway: LlmGateway;
  readonly tenancy: TenancyConfig;
  /** How long a failed Postgres write is retried inside the job (default 2 minutes). */
  readonly storeRetryMs?: number;
  /** Told when an outcome finished a run (its rows are wanted in ClickHouse now). */
  readonly onRunFinished?: (runId: string) => void;
  readonly metrics?: PlatformMetrics;
  readonly log?: (message: string, fields?: Record<string, unknown>) => void;
  /** Whether and how much of each LLM call's messages and reply are stored (the operator's policy); absent: none. */
  readonly callBodies?: CallBodyPolicy;
}

/** A run's tenant boundary in this worker, and what it has spent as far as this worker has seen. */
interface Boundary {
  readonly tenant: TenantBoundary;
  readonly secrets: string[];
  /** How its LLM calls' texts are stored (redacted as its results are); null: not at all (the operator's retention 0, or the project's choice). */
  readonly bodies: CallBodies | null;
  /** What the run had spent when this worker last counted a case of it. */
  spentUsd: number;
  /** What this worker's calls for the run cost since, in cases not yet counted. */
  pendingUsd: number;
}

/**
 * The budget check before each call: refused once what is spent (`committedUsd`) and what this worker's calls in
 * flight hold reach `budgetUsd`; otherwise the call's worst case is held until it ends. Concurrent calls (a case's
 * metrics together) see each other's holds, so the spend passes the budget by at most one call's worst case.
 */
function holdWithin(budgetUsd: number | null, committedUsd: () => number): NonNullable<TenantBoundary['beforeCall']> {
  let heldUsd = 0;
  return (worstCaseUsd) => {
    if (budgetUsd !== null && committedUsd() + heldUsd >= budgetUsd) throw new BudgetSpentError(budgetUsd);
    heldUsd += worstCaseUsd;
    return () => {
      heldUsd -= worstCaseUsd;
    };
  };
}

/** Whether the budget refused one of the case's calls (its error, or a metric's, says so). */
const refusedByBudget = (result: CaseResult): boolean =>
  [result.error, ...Object.values(result.metrics).map((m) => m.error)].some((error) => error?.includes(BudgetSpentError.MESSAGE));

/** USD a case's LLM calls cost (unknown prices count as 0). */
const caseCost = (result: CaseResult): number => result.usage.reduce((sum, u) => sum + (u.cost_usd ?? 0), 0);

/**
 * Retries a store operation (Postgres restarting, a failover, a terminated connection) with capped backoff
 * for up to `forMs`; the last error is thrown after that. Results already paid for wait in memory meanwhile.
 * An error of the data itself is no outage: it is thrown at once (waiting would not make it storable).
 */
async function retryStore<T>(forMs: number, operation: () => Promise<T>, onRetry?: (error: unknown) => void): Promise<T> {
  const deadline = Date.now() + forMs;
  for (let delay = 50; ; delay = Math.min(delay * 2, 2_000)) {
    try {
      return await operation();
    } catch (error) {
      if (isDataError(error) || Date.now() + delay > deadline) throw error;
      onRetry?.(error);
      await new Promise((resolve) => setTimeout(resolve, delay * (0.5 + Math.random() / 2)));
    }
  }
}

/**
 * The worker's job processor: a plain function of one job (some cases of one run). The run's suite comes
 * from Postgres; the job's cases are claimed in one statement and each is evaluated in a slot of the worker
 * by the engine inside the run's tenant boundary (its endpoints, the egress guard); its result, with every
 * known secret redacted, is counted in Postgres together with its ClickHouse rows (the outbox), once, in a
 * group commit with the other cases that ended meanwhile; the case that completes the run writes its summary,
 * once. A run whose spending has reached its `max_cost_usd` starts no further case.
 */
export function createCaseProcessor(deps: WorkerDeps): ConsumerHandlers & { flush(): Promise<void> } {
  const { db, gateway, metrics, tenancy } = deps;
  const storeRetryMs = deps.storeRetryMs ?? 120_000;
  const stored = <T>(operation: () => Promise<T>) =>
    retryStore(storeRetryMs, operation, (error) => deps.log?.('postgres write failed; retrying', { error: (error as Error).message }));
  // Cases without topic or tags get a label from the run's judge when the run finishes (the topic view), inside
  // the run's boundary, under what is left of its budget, and billed to it.
  const labeler: TopicLabeler = async (suite, cases, run) => {
    const settings = judgeSettings(suite.suite.judge);
    const entry = settings ? await runs.get(run.id) : undefined;
    if (!settings || !entry) return { labels: {}, costUsd: 0 };
    let costUsd = 0;
    const tenant: TenantBoundary = { ...entry.extra.tenant, beforeCall: holdWithin(run.budgetLeftUsd, () => costUsd) };
    const record = (event: LlmCallEvent) => {
      costUsd += event.cost_usd ?? 0;
      metrics?.recordLlmCall(event);
    };
    const labels = await llmCallScope.run(tenantCallScope(tenant, 'judge', record), () => labelTopics(new Judge(gateway, settings), cases));
    return { labels, costUsd };
  };
  const completions = new CaseCompletionBatcher(db, { labeler });
  /**
   * Each run's tenant boundary, read once per worker with the run: its endpoints (the project's own, keys
   * opened), its egress guard, the secrets to redact, and the latest spending this worker has seen.
   */
  const runs = new RunCache<Boundary>(db, async (run, loaded) => {
    const endpoints = projectEndpointPolicy(tenancy, await listProjectEndpoints(db, run.project_id), true);
    // Checked before every call, inside a case too, against what the run has spent and this worker has pending.
    const beforeCall = holdWithin(run.max_cost_usd, () => boundary.spentUsd + boundary.pendingUsd);
    const secrets = secretValues(loaded.suite, process.env, endpoints.keys());
    const boundary: Boundary = {
      tenant: {
        endpoints,
        fetch: egressGuardFor(tenancy, run.project_name).fetch,
        // The suite's `providers[]` limits bind this run only (fleet-wide, under the run's key in Redis).
        limiters: gateway.runLimiters(`run:${run.id}`, suiteModelLimits(loaded.suite)),
        cacheScope: `project:${run.project_id}`,
        beforeCall,
      },
      secrets,
      bodies: deps.callBodies && deps.callBodies.retentionDays > 0 && run.project_llm_call_bodies ? { maxChars: deps.callBodies.maxChars, protect: (text: string) => storedForm(text, secrets) } : null,
      spentUsd: run.cost_usd,
      pendingUsd: 0,
    };
    return boundary;
  });

  const finished = (boundary: Boundary | undefined, runId: string, outcome: CaseOutcome) => {
    if (boundary && outcome.spentUsd !== undefined) boundary.spentUsd = Math.max(boundary.spentUsd, outcome.spentUsd);
    if (!outcome.finished) return;
    deps.onRunFinished?.(runId);
    metrics?.runs.inc({ status: outcome.finished });
    deps.log?.('run finished', { run: runId, status: outcome.finished });
  };

  /** How one case ended, to be counted: its result, cost and ClickHouse rows (or the budget's refusal). */
  type Ended = Omit<CaseCompletion, 'runId' | 'caseIndex'>;

  /** Evaluates one case of a started job (in a slot of the worker): the engine inside the run's boundary. */
  const evaluate = async (entry: CachedRun<Boundary>, caseIndex: number): Promise<Ended> => {
    const { run, loaded, extra: boundary } = entry;
    const calls: LlmCallEvent[] = [];
    const evaluated = await evaluateCase(loaded, caseIndex, {
      gateway,
      env: process.env,
      tenant: boundary.tenant,
      onLlmCall: (event) => {
        calls.push(event);
        boundary.pendingUsd += event.cost_usd ?? 0;
        metrics?.recordLlmCall(event);
      },
    });
    // A case whose every call the budget refused was not evaluated: it ends as the cases never started do.
    if (calls.length === 0 && refusedByBudget(evaluated)) return { status: 'errored', result: null, error: BUDGET_SPENT_ERROR };
    // Whatever the target or a judge echoed, no key or secret header value is stored; and the text is made
    // storable (no NUL, no lone surrogate), so the write cannot fail on what a tenant's target returned.
    const result = storedForm(evaluated, boundary.secrets);
    const context = {
      project: run.project_name,
      runId: run.id,
      runCreatedAt: run.created_at,
      build: run.build,
      judgeModel: loaded.suite.judge ? `${loaded.suite.judge.provider}/${loaded.suite.judge.model}` : '',
    };
    // Made of the stored result and the suite's validated names: storable as they are.
    const rows = {
      results: resultRows(result, context),
      llm_calls: llmCallRows(calls, context, caseIndex, boundary.bodies),
      // An online evaluator's case: its scores also go beside the span they judged.
      ...(run.online_evaluator ? { span_scores: spanScoreRows(result, { ...context, evaluator: run.online_evaluator }) } : {}),
    };
    return { status: result.status, result, error: result.error, costUsd: caseCost(result), rows };
  };

  /** Counts an ended case, in a group commit with the others that ended meanwhile. */
  const commit = async (entry: CachedRun<Boundary>, caseIndex: number, ended: Ended): Promise<void> => {
    const { run, extra: boundary } = entry;
    // The LLM calls are paid for: a Postgres outage is waited out here, not answered by evaluating again.
    const outcome = await stored(() => completions.complete({ runId: run.id, caseIndex, ...ended }));
    if (outcome.counted) {
      metrics?.jobs.inc({ outcome: 'completed', reason: ended.result ? ended.status : 'budget_spent' });
      // Labelled by the metric's kind (the registry's name), never by the suite's id for it: a tenant's string.
      for (const m of Object.values(ended.result?.metrics ?? {})) if (m.score !== null && m.score <= 1) metrics?.scores.observe({ metric: m.name }, m.score);
      // Online scores by project, evaluator and metric id: the series the quality alert compares with the evaluator's threshold.
      const ref = run.online_evaluator ? onlineCaseRef(ended.result?.metadata) : undefined;
      if (ref) {
        for (const m of Object.values(ended.result?.metrics ?? {})) {
          if (m.score !== null && Number.isFinite(m.score)) metrics?.recordOnlineScore({ project: run.project_name, evaluator: run.online_evaluator!, metric: m.metric, model: ref.model }, m.score);
        }
      }
    }
    // The run's spend now counts the case (spentUsd, in `finished`): it is no longer pending.
    finished(boundary, run.id, outcome);
    boundary.pendingUsd = Math.max(0, boundary.pendingUsd - (ended.costUsd ?? 0));
  };

  /** One case of a started job: evaluated in a slot (unless the run's budget is spent), then counted. */
  const runCase = async (entry: CachedRun<Boundary>, caseIndex: number, slot: CaseSlot): Promise<void> => {
    const { run, extra: boundary } = entry;
    const budget = run.max_cost_usd;
    if (budget === null) {
      // The slot bounds the evaluation; the write waits outside it, so the next case starts at once.
      const ended = await slot(() => evaluate(entry, caseIndex));
      await commit(entry, caseIndex, ended);
      return;
    }
    // A run with a budget counts each case before its slot passes on, so the next case reads what the run
    // has spent (as far as this worker has seen), and the spend passes the budget by at most the cases in
    // flight in the workers' slots.
    await slot(async () => {
      const ended: Ended = boundary.spentUsd >= budget ? { status: 'errored', result: null, error: BUDGET_SPENT_ERROR } : await evaluate(entry, caseIndex);
      await commit(entry, caseIndex, ended);
    });
  };

  return {
    async process(job: CaseJob, slot: CaseSlot): Promise<void> {
      const entry = await stored(() => runs.get(job.runId));
      if (!entry) return; // deleted since: nothing to do
      const { run, loaded } = entry;
      const unknown = job.cases.find((index) => index >= loaded.suite.cases.length);
      if (unknown !== undefined) throw new Error(`run ${run.id} has no case ${unknown}`);
      const firstOfRun = runs.markStarted(job.runId);
      // One claim for the job's cases; those done already (a retried job) or cancelled are left out.
      const started = await stored(() => startCases(db, job.runId, job.cases, firstOfRun));
      const settled = await Promise.allSettled(started.map((caseIndex) => runCase(entry, caseIndex, slot)));
      // Every case has ended or failed before the job does, so a retry never overlaps a case still running.
      const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
      if (failure) throw failure.reason;
    },

    async failed(job: CaseJob, error: Error): Promise<void> {
      metrics?.jobs.inc({ outcome: 'failed', reason: 'retries_exhausted' });
      const message = `the job failed after its retries: ${error.message}`;
      const outcomes = await stored(() =>
        writeCaseOutcomes(db, job.cases.map((caseIndex) => ({ runId: job.runId, caseIndex, status: 'errored' as const, result: null, error: message })), labeler),
      );
      for (const outcome of outcomes) finished(undefined, job.runId, outcome);
    },

    /** Writes the outcomes still batched (shutdown, after the queue has drained). */
    flush: () => completions.flush(),
  };
}
