import type { Kysely } from 'kysely';
import type { CaseJob } from '../../src/contracts/jobs';
import type { LlmCallEvent, LlmGateway } from '../../src/providers/llm-gateway';
import { evaluateCase, judgeSettings } from '../../src/runner/evaluate-case';
import { configureGateway } from '../../src/runner/run-suites';
import { llmCallRows, resultRows } from '../../src/platform/result-rows';
import { Judge } from '../../src/metrics/judge';
import { CaseCompletionBatcher, recordCaseOutcome, type TopicLabeler } from '../../src/platform/run-lifecycle';
import { labelTopics } from '../../src/platform/topic-labels';
import { RunCache } from '../../src/platform/run-cache';
import type { ConsumerHandlers } from '../../src/queue/types';
import type { ClickhouseWriter } from '../../src/store/clickhouse/writer';
import { startCase } from '../../src/store/postgres/runs';
import type { Database } from '../../src/store/postgres/schema';
import type { PlatformMetrics } from '../../src/telemetry/metrics';

export interface WorkerDeps {
  readonly db: Kysely<Database>;
  readonly writer: ClickhouseWriter;
  readonly gateway: LlmGateway;
  readonly metrics?: PlatformMetrics;
  readonly log?: (message: string, fields?: Record<string, unknown>) => void;
}

/**
 * The worker's job processor: a plain function of one case job. The run's suite comes from Postgres; the
 * case is evaluated by the engine; its rows are stored in ClickHouse before the case is counted in
 * Postgres; the case that completes the run writes its summary, once.
 */
export function createCaseProcessor(deps: WorkerDeps): ConsumerHandlers & { flush(): Promise<void> } {
  const { db, writer, gateway, metrics } = deps;
  // Cases without topic or tags get a label from the run's judge when the run finishes (the topic view).
  const labeler: TopicLabeler = async (suite, cases) => {
    const settings = judgeSettings(suite.suite.judge);
    return settings ? labelTopics(new Judge(gateway, settings), cases) : {};
  };
  const completions = new CaseCompletionBatcher(db, { labeler });

  const finished = (runId: string, status: string | undefined) => {
    if (!status) return;
    metrics?.runs.inc({ status });
    deps.log?.('run finished', { run: runId, status });
  };

  const runs = new RunCache(db);

  return {
    async process(job: CaseJob): Promise<void> {
      const entry = await runs.get(job.runId);
      if (!entry) return; // deleted since: nothing to do
      const { run, loaded } = entry;
      const firstOfRun = runs.markStarted(job.runId);
      if (firstOfRun) configureGateway(gateway, loaded.suite);
      if (!(await startCase(db, job.runId, job.caseIndex, firstOfRun))) return; // done already, or cancelled
      if (job.caseIndex >= loaded.suite.cases.length) throw new Error(`run ${run.id} has no case ${job.caseIndex}`);
      const calls: LlmCallEvent[] = [];
      const result = await evaluateCase(loaded, job.caseIndex, {
        gateway,
        env: process.env,
        onLlmCall: (event) => {
          calls.push(event);
          metrics?.recordLlmCall(event);
        },
      });
      const context = {
        project: run.project_name,
        runId: run.id,
        runCreatedAt: run.created_at,
        build: run.build,
        judgeModel: loaded.suite.judge ? `${loaded.suite.judge.provider}/${loaded.suite.judge.model}` : '',
      };
      // Durable first, counted second: a worker that dies in between leaves the case to be retried.
      await Promise.all([writer.add('results', resultRows(result, context)), writer.add('llm_calls', llmCallRows(calls, context, job.caseIndex))]);
      const outcome = await completions.complete(run.id, job.caseIndex, result.status, result, result.error);
      if (outcome.counted) {
        metrics?.jobs.inc({ outcome: 'completed', reason: result.status });
        for (const m of Object.values(result.metrics)) if (m.score !== null && m.score <= 1) metrics?.scores.observe({ metric: m.metric }, m.score);
      }
      finished(run.id, outcome.finished);
    },

    async failed(job: CaseJob, error: Error): Promise<void> {
      metrics?.jobs.inc({ outcome: 'failed', reason: 'retries_exhausted' });
      const outcome = await recordCaseOutcome(db, job.runId, job.caseIndex, 'errored', null, `the job failed after its retries: ${error.message}`, labeler);
      finished(job.runId, outcome.finished);
    },

    /** Writes the outcomes still batched (shutdown, after the queue has drained). */
    flush: () => completions.flush(),
  };
}
