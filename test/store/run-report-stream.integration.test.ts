import { UNKNOWN_BUILD } from '../../src/contracts/build';
import type { CaseResult, MetricResult } from '../../src/contracts/report';
import { reportSummary } from '../../src/platform/run-report';
import { CaseCompletionBatcher } from '../../src/platform/run-lifecycle';
import { BUDGET_SPENT_ERROR, runReport, runReportHead, runReportText } from '../../src/platform/run-results';
import { createRun, getRunWithProject, startCases } from '../../src/store/postgres/runs';
import { ensureProject } from '../../src/store/postgres/projects';
import { until, useMigratedDatabase } from '../support/platform';

/**
 * A run's report is counted and written a batch of cases at a time (500), so that a run of 100,000 cases never
 * sits whole in the orchestrator's or a worker's memory. Written that way, it is the report built from every
 * case in memory, byte for byte: across batches, with cases that ended without a result, with a budget.
 */
const database = useMigratedDatabase();

const SUITE = {
  name: 's',
  target: { type: 'none' },
  metrics: [{ name: 'exact_match', threshold: 1 }, { name: 'contains', value: 'a', id: 'has_a' }],
  cases: [] as Array<{ input: string; actual_output: string; expected_output: string; topic?: string }>,
};

async function startedRun(cases: number, maxCostUsd: number | null): Promise<string> {
  const project = await ensureProject(database.db, `p${cases}`);
  const created = await createRun(database.db, {
    projectId: project.id,
    suiteName: 's',
    suite: { ...SUITE, cases: Array.from({ length: cases }, (_, i) => ({ input: `q${i}`, actual_output: `a${i}`, expected_output: `a${i % 3 ? i : 0}`, ...(i % 7 ? {} : { topic: 'refunds' }) })) },
    caseIds: Array.from({ length: cases }, (_, i) => `c${i}`),
    build: UNKNOWN_BUILD,
    branch: null,
    idempotencyKey: null,
    datasetVersionId: null,
    ...(maxCostUsd === null ? {} : { maxCostUsd }),
  });
  if (created.kind !== 'created') throw new Error(created.kind);
  await startCases(database.db, created.run.id, Array.from({ length: cases }, (_, i) => i), true);
  return created.run.id;
}

function result(index: number): CaseResult {
  const metric = (id: string, score: number): MetricResult => ({
    metric: id, name: id === 'has_a' ? 'contains' : id, score, passed: score >= 1, threshold: 1, direction: 'higher', reason: `score ${score}`, error: null,
    judge_input_tokens: 0, judge_output_tokens: 0, judge_cost_usd: 0, duration_ms: 1,
  });
  const metrics = { exact_match: metric('exact_match', index % 3 ? 1 : 0), has_a: metric('has_a', index % 5 ? 1 : 0.5) };
  return {
    suite: 's', id: `c${index}`, index, status: index % 3 && index % 5 ? 'passed' : 'failed', error: null, input: `q${index}`, actual_output: `a${index} "é" \n`, expected_output: `a${index}`,
    topic: index % 7 ? null : 'refunds', tags: [], target: null, duration_ms: index / 3, metrics,
    usage: index % 11 ? [] : [{ provider: 'openai', model: `m${index % 2}`, calls: 1, cache_hits: 0, retries: 0, rate_limited: 0, input_tokens: index, output_tokens: 1, cached_input_tokens: 0, cache_write_tokens: 0, cost_usd: index / 1e6 }],
  };
}

async function complete(runId: string, indexes: number[], budgetSpent: ReadonlySet<number> = new Set()): Promise<void> {
  const batcher = new CaseCompletionBatcher(database.db, { maxDelayMs: 5 });
  await Promise.all(
    indexes.map((i) =>
      budgetSpent.has(i)
        ? batcher.complete({ runId, caseIndex: i, status: 'errored', result: null, error: BUDGET_SPENT_ERROR })
        : batcher.complete({ runId, caseIndex: i, status: result(i).status as 'passed' | 'failed', result: result(i), error: null, costUsd: 0.001 }),
    ),
  );
}

test('a report written a batch at a time is the report built whole: across batches, stand-ins and a budget', async () => {
  const runId = await startedRun(1_203, 5);
  // Cases 1,100 and after never end; 40 were refused by the budget.
  await complete(runId, Array.from({ length: 1_100 }, (_, i) => i), new Set(Array.from({ length: 40 }, (_, i) => 600 + i)));
  // An unfinished run's report ends now: both are given the same now.
  const run = { ...(await getRunWithProject(database.db, runId))!, finished_at: new Date() };
  const whole = await runReport(database.db, run);
  expect(whole.cases).toHaveLength(1_203);
  expect(whole.budget).toMatchObject({ exceeded: true, not_evaluated: 40 });
  expect(whole.cases[1_150].error).toBe('the case was not evaluated');
  let text = '';
  for await (const piece of runReportText(database.db, run)) text += piece;
  expect(text).toBe(JSON.stringify(whole, null, 2));
  const { cases: _cases, ...head } = whole;
  const seen: number[] = [];
  expect(await runReportHead(database.db, run, undefined, (c) => seen.push(c.index))).toEqual(head);
  expect(seen).toEqual(Array.from({ length: 1_203 }, (_, i) => i));
});

test('a run that finishes keeps, as its summary, the figures of the report built whole', async () => {
  const runId = await startedRun(1_001, null);
  await complete(runId, Array.from({ length: 1_001 }, (_, i) => i));
  const finished = await until(async () => {
    const row = await getRunWithProject(database.db, runId);
    return row?.finished_at ? row : undefined;
  }, 'the run to finish');
  expect(finished.status).toBe('completed');
  const whole = await runReport(database.db, finished);
  const { started_at: _s, finished_at: _f, duration_ms: _d, ...figures } = reportSummary(whole);
  expect(finished.summary).toMatchObject(figures);
  const passed = Array.from({ length: 1_001 }, (_, i) => i).filter((i) => i % 3 && i % 5).length;
  expect(finished.summary!.totals).toEqual({ cases: 1_001, passed, failed: 1_001 - passed, errored: 0, pass_rate: passed / 1_001 });
});
