import { UNKNOWN_BUILD } from '../../src/contracts/build';
import type { CaseResult } from '../../src/contracts/report';
import { CaseCompletionBatcher } from '../../src/platform/run-lifecycle';
import { caseRows, createRun, startCases } from '../../src/store/postgres/runs';
import { ensureProject } from '../../src/store/postgres/projects';
import { until, useMigratedDatabase } from '../support/platform';

/**
 * A case write that Postgres refuses for its data (here a NUL, which jsonb cannot hold) is that case's error,
 * counted at once: never retried, and never a reason for the other cases of the same group commit (another
 * project's among them) to fail with it.
 */
const database = useMigratedDatabase();

async function startedRun(projectName: string, cases: number): Promise<string> {
  const project = await ensureProject(database.db, projectName);
  const created = await createRun(database.db, {
    projectId: project.id,
    suiteName: 's',
    suite: { name: 's', judge: { provider: 'openai', model: 'gpt-4o-mini' }, metrics: ['json_valid'], cases: Array.from({ length: cases }, () => ({ input: 'q', actual_output: '{}' })) },
    caseIds: Array.from({ length: cases }, (_, i) => `c${i}`),
    build: UNKNOWN_BUILD,
    branch: null,
    idempotencyKey: null,
    datasetVersionId: null,
  });
  if (created.kind !== 'created') throw new Error(created.kind);
  await startCases(database.db, created.run.id, Array.from({ length: cases }, (_, i) => i), true);
  return created.run.id;
}

const result = (index: number, output: string): CaseResult => ({
  suite: 's', id: `c${index}`, index, status: 'passed', error: null, input: 'q', actual_output: output, expected_output: null,
  topic: null, tags: [], target: null, duration_ms: 1, metrics: {}, usage: [],
});

test('a result Postgres cannot store errors its own case at once; the rest of its group commit, another project’s too, is stored', async () => {
  const attacker = await startedRun('attacker', 1);
  const victim = await startedRun('victim', 2);
  const batcher = new CaseCompletionBatcher(database.db, { maxDelayMs: 50 });
  // A result that reached the write without being made storable (a path that forgot to): jsonb refuses its NUL.
  const outcomes = await Promise.all([
    batcher.complete({ runId: victim, caseIndex: 0, status: 'passed', result: result(0, 'fine'), error: null, costUsd: 0.01 }),
    batcher.complete({ runId: attacker, caseIndex: 0, status: 'passed', result: result(0, 'x\u0000y'), error: null, costUsd: 0.02 }),
    batcher.complete({ runId: victim, caseIndex: 1, status: 'passed', result: result(1, 'also fine'), error: null }),
  ]);
  expect(outcomes.map((o) => o.counted)).toEqual([true, true, true]);
  expect(outcomes[0].finished).toBeUndefined();
  const [victimRows, attackerRows] = await Promise.all([caseRows(database.db, victim), caseRows(database.db, attacker)]);
  expect(victimRows.map((r) => [r.status, r.result?.actual_output])).toEqual([['passed', 'fine'], ['passed', 'also fine']]);
  expect(attackerRows[0]).toMatchObject({ status: 'errored', result: null, error: expect.stringMatching(/^the case's result could not be stored: .*unsupported Unicode escape sequence/) });
  // What the refused case cost is still the run's, and both runs are finished.
  const runs = await database.db.selectFrom('runs').select(['id', 'cost_usd', 'finished_at', 'errored_cases']).where('id', 'in', [attacker, victim]).execute();
  expect(runs.find((r) => r.id === attacker)).toMatchObject({ cost_usd: 0.02, errored_cases: 1, finished_at: expect.any(Date) });
  expect(runs.find((r) => r.id === victim)).toMatchObject({ errored_cases: 0, finished_at: expect.any(Date) });
});

test('a run’s topic labelling that never ends (its judge held by its own rate limit) delays no run finished in the same group commit', async () => {
  const slow = await startedRun('attacker', 1);
  const other = await startedRun('victim', 1);
  const labelled: string[] = [];
  const batcher = new CaseCompletionBatcher(database.db, {
    maxDelayMs: 50,
    labeler: async (_suite, cases, run) => {
      labelled.push(run.id);
      // The slow run's judge never answers; the other's labels at once.
      if (run.id === slow) await new Promise(() => undefined);
      return { labels: Object.fromEntries(cases.map((c) => [c.index, 'refunds'])), costUsd: 0.001 };
    },
  });
  const outcomes = await Promise.all([
    batcher.complete({ runId: slow, caseIndex: 0, status: 'passed', result: result(0, 'a'), error: null }),
    batcher.complete({ runId: other, caseIndex: 0, status: 'passed', result: result(0, 'b'), error: null }),
  ]);
  expect(outcomes.map((o) => o.finished)).toEqual(['completed', 'completed']);
  expect(labelled.sort()).toEqual([slow, other].sort());
  // The other run's labels arrive, billed to it; the slow one's never do, and hold nothing up.
  const labels = await until(async () => {
    const row = await database.db.selectFrom('runs').select(['summary', 'cost_usd']).where('id', '=', other).executeTakeFirstOrThrow();
    return (row.summary as { topic_labels?: Record<string, string> } | null)?.topic_labels ? row : undefined;
  }, 'the other run’s labels');
  expect(labels).toMatchObject({ cost_usd: 0.001, summary: { topic_labels: { 0: 'refunds' } } });
});
