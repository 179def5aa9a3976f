import type { ClickHouseClient } from '@clickhouse/client';
import type { Kysely } from 'kysely';
import type { TestCase } from '../../src/contracts/case';
import { UNKNOWN_BUILD } from '../../src/contracts/build';
import type { OnlineEvaluationConfig } from '../../src/platform/config';
import { onlineSuite, onlineSuiteName, sessionCase, spanCase } from '../../src/platform/online';
import type { CaseQueue } from '../../src/queue/types';
import { childToolCalls, windowSessions, windowSpans } from '../../src/store/clickhouse/traces';
import { allOnlineEvaluators, claimOnlineWindow, onlineSpendToday, type OnlineEvaluatorRow } from '../../src/store/postgres/online-evaluators';
import { createRun } from '../../src/store/postgres/runs';
import type { Database } from '../../src/store/postgres/schema';
import type { PlatformMetrics } from '../../src/telemetry/metrics';
import type { Logger } from '../runtime';

export interface OnlineSchedulerDeps {
  readonly db: Kysely<Database>;
  readonly clickhouse: ClickHouseClient;
  readonly clickhouseDatabase: string;
  readonly queue: CaseQueue;
  readonly metrics?: PlatformMetrics;
  readonly log?: Logger;
  readonly now?: () => number;
}

/** What one pass did, per evaluator: the run it queued (if any) and the cases left unscored. */
export interface WindowOutcome {
  evaluator: string;
  project: string;
  runId?: string;
  cases: number;
  skipped?: 'budget' | 'window_full';
}

/**
 * Turns production spans into online evaluators' runs. Each pass, every enabled evaluator claims the window
 * of spans ingested since its watermark up to `lagMs` ago (moving the watermark in Postgres, so among
 * orchestrator replicas one takes it), reads the matching spans of its sample from ClickHouse, and queues them
 * as one run (`online/<evaluator>`) on the case queue, its budget what is left of the evaluator's day.
 * A window is taken at most once: if this process dies between the claim and the run, that window's sample
 * goes unscored (its spans stay stored).
 */
export function startOnlineScheduler(deps: OnlineSchedulerDeps, config: OnlineEvaluationConfig) {
  const now = deps.now ?? Date.now;
  let running: Promise<WindowOutcome[]> | undefined;

  const evaluate = async (evaluator: OnlineEvaluatorRow & { project_name: string }, spentToday: Map<string, number>): Promise<WindowOutcome | undefined> => {
    const { config: rule } = evaluator;
    const from = new Date(evaluator.watermark);
    const to = new Date(now() - config.lagMs);
    if (to <= from) return undefined;
    if (!(await claimOnlineWindow(deps.db, evaluator.id, from, to))) return undefined;
    const outcome: WindowOutcome = { evaluator: evaluator.name, project: evaluator.project_name, cases: 0 };
    if (rule.sample_rate === 0) return outcome;
    const spent = spentToday.get(evaluator.name) ?? 0;
    const left = rule.daily_budget_usd - spent;
    const limit = config.maxCasesPerWindow;
    let cases: TestCase[];
    if (rule.scope === 'conversation') {
      // A conversation is scored once it has been idle: its last span arrived in the window shifted back by the idle time.
      const idle = rule.conversation_idle_seconds * 1000;
      const sessions = await windowSessions(deps.clickhouse, deps.clickhouseDatabase, {
        project: evaluator.project_name,
        match: rule.match,
        sampleRate: rule.sample_rate,
        from: new Date(from.getTime() - idle),
        to: new Date(to.getTime() - idle),
        limit: limit + 1,
        maxTurns: 50,
      });
      cases = sessions.flatMap((s) => sessionCase(s.session_id, s.spans) ?? []);
    } else {
      const spans = await windowSpans(deps.clickhouse, deps.clickhouseDatabase, { project: evaluator.project_name, match: rule.match, sampleRate: rule.sample_rate, from, to, limit: limit + 1 });
      const children = await childToolCalls(
        deps.clickhouse,
        deps.clickhouseDatabase,
        evaluator.project_name,
        spans.map((s) => s.trace_id),
        spans.filter((s) => s.operation !== 'execute_tool').map((s) => s.span_id),
      );
      cases = spans.map((span) => spanCase(span, rule, children.get(span.span_id)));
    }
    // A span without a question or an answer cannot be judged: it is left out rather than scored as an error.
    cases = cases.filter((c) => c.turns !== undefined || (c.input !== '' && c.actual_output !== ''));
    if (cases.length === 0) return outcome;
    if (cases.length > limit) {
      deps.metrics?.onlineCases.inc({ outcome: 'window_full' }, cases.length - limit);
      outcome.skipped = 'window_full';
      cases = cases.slice(0, limit);
    }
    if (left <= 0) {
      deps.metrics?.onlineCases.inc({ outcome: 'budget' }, cases.length);
      return { ...outcome, skipped: 'budget' };
    }
    const suite = onlineSuite(evaluator.name, rule, cases, left);
    const created = await createRun(deps.db, {
      projectId: evaluator.project_id,
      suiteName: onlineSuiteName(evaluator.name),
      suite,
      caseIds: cases.map((c, i) => c.id ?? `case-${i + 1}`),
      build: UNKNOWN_BUILD,
      branch: null,
      // One run per window, whichever replica gets there: the window's start names it.
      idempotencyKey: `online:${evaluator.id}:${from.toISOString()}`,
      datasetVersionId: null,
      maxCostUsd: left,
      onlineEvaluator: evaluator.name,
    });
    if (created.kind !== 'created') return outcome;
    const run = created.run;
    await deps.queue.enqueueCases(cases.map((_, caseIndex) => ({ runId: run.id, caseIndex }))).catch((error: unknown) => {
      // The run and its cases are recorded; the reconciler enqueues cases that do not move.
      deps.log?.('online enqueue failed; the reconciler will retry', { run: run.id, error: (error as Error).message });
    });
    deps.metrics?.onlineCases.inc({ outcome: 'queued' }, cases.length);
    return { ...outcome, runId: run.id, cases: cases.length };
  };

  const pass = async (): Promise<WindowOutcome[]> => {
    const evaluators = (await allOnlineEvaluators(deps.db)).filter((e) => e.config.enabled);
    const spentByProject = new Map<string, Map<string, number>>();
    const outcomes: WindowOutcome[] = [];
    for (const evaluator of evaluators) {
      try {
        let spent = spentByProject.get(evaluator.project_id);
        if (!spent) spentByProject.set(evaluator.project_id, (spent = await onlineSpendToday(deps.db, evaluator.project_id)));
        const outcome = await evaluate(evaluator, spent);
        if (outcome) outcomes.push(outcome);
        if (outcome?.runId) deps.log?.('online window queued', { project: outcome.project, evaluator: outcome.evaluator, run: outcome.runId, cases: outcome.cases });
        if (outcome?.skipped === 'budget') deps.log?.('online window left unscored: the daily budget is spent', { project: outcome.project, evaluator: outcome.evaluator });
      } catch (error) {
        deps.log?.('online window failed', { project: evaluator.project_name, evaluator: evaluator.name, error: (error as Error).message });
      }
    }
    return outcomes;
  };

  const timer = setInterval(() => {
    running ??= pass()
      .catch((error: unknown) => {
        deps.log?.('online scheduling failed', { error: (error as Error).message });
        return [];
      })
      .finally(() => (running = undefined));
  }, config.intervalMs);
  timer.unref();
  return {
    /** One pass now (tests). */
    runOnce: pass,
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
