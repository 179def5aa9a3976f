import { weightedLcs } from '../../src/metrics/agent';
import { levenshteinDistance } from '../../src/metrics/deterministic';
import { METRICS } from '../../src/metrics/registry';
import type { EvaluatedCase } from '../../src/metrics/types';
import { LlmGateway } from '../../src/providers/llm-gateway';
import { Judge } from '../../src/metrics/judge';

const noJudge = new Judge(new LlmGateway(), undefined);

async function score(metric: string, testCase: EvaluatedCase, params: Record<string, unknown> = {}) {
  const definition = METRICS.get(metric)!;
  return definition.evaluate({ testCase, params: definition.params.parse(params), judge: noJudge });
}

const out = (actual_output: string, extra: Partial<EvaluatedCase> = {}): EvaluatedCase => ({ input: 'q', actual_output, ...extra });

test('every metric declares its metadata', () => {
  for (const [name, metric] of METRICS) {
    expect(metric.name).toBe(name);
    expect(['higher', 'lower']).toContain(metric.direction);
    expect(metric.range[0]).toBe(0);
    expect(typeof metric.needsLlm).toBe('boolean');
    expect(metric.defaultThreshold).toBeGreaterThanOrEqual(0);
  }
  expect([...METRICS.values()].filter((m) => m.needsLlm).map((m) => m.name).sort()).toEqual(
    ['answer_relevancy', 'contextual_precision', 'contextual_recall', 'conversation_completeness', 'faithfulness', 'g_eval', 'hallucination', 'knowledge_retention', 'role_adherence', 'task_completion', 'turn_relevancy'],
  );
});

describe('tool_correctness', () => {
  const expected = [{ name: 'search' }, { name: 'lookup' }, { name: 'refund', arguments: { order: 42 } }];
  const called = [{ name: 'lookup' }, { name: 'search' }, { name: 'refund', arguments: { order: 41 } }, { name: 'email' }];
  const testCase = { input: 'q', tools_called: called, expected_tools: expected };

  test('exact, ordered (LCS) and set matching', async () => {
    expect((await score('tool_correctness', testCase, { match: 'exact' })).score).toBe(0);
    // LCS of [search, lookup, refund] and [lookup, search, refund, email] is 2.
    expect((await score('tool_correctness', testCase, { match: 'ordered' })).score).toBeCloseTo(2 / 3);
    expect((await score('tool_correctness', testCase, { match: 'set' })).score).toBe(1);
    expect((await score('tool_correctness', { ...testCase, tools_called: expected }, { match: 'exact' })).score).toBe(1);
  });

  test('arguments count only when asked', async () => {
    expect((await score('tool_correctness', testCase, { match: 'set', check_arguments: true })).score).toBeCloseTo(2 / 3);
  });

  test('no tools expected: 1 only when none were called', async () => {
    expect((await score('tool_correctness', { input: 'q', tools_called: [], expected_tools: [] })).score).toBe(1);
    expect((await score('tool_correctness', { input: 'q', tools_called: [{ name: 'x' }], expected_tools: [] })).score).toBe(0);
  });

  test('ordered matching is a longest common subsequence of the calls', () => {
    const calls = (names: string) => [...names].map((name) => ({ name }));
    expect(weightedLcs(calls('ABCBDAB'), calls('BDCABA'), { match: 'ordered', check_arguments: false, check_output: false })).toBe(4);
  });
});

test('exact_match trims by default and compares with expected_output', async () => {
  expect((await score('exact_match', out(' Paris\n', { expected_output: 'Paris' }))).score).toBe(1);
  expect((await score('exact_match', out('paris', { expected_output: 'Paris' }))).score).toBe(0);
  expect((await score('exact_match', out('paris'), { value: 'Paris', ignore_case: true })).score).toBe(1);
});

test('contains and icontains score the share of strings found', async () => {
  const outcome = await score('contains', out('Refund within 30 days'), { value: ['Refund', '30 days', 'card'] });
  expect(outcome.score).toBeCloseTo(2 / 3);
  expect(outcome.reason).toContain('"card"');
  expect((await score('contains', out('REFUND'), { value: 'refund' })).score).toBe(0);
  expect((await score('icontains', out('REFUND'), { value: 'refund' })).score).toBe(1);
});

test('regex, json_valid and json_schema', async () => {
  expect((await score('regex', out('Order #12345 refunded'), { pattern: '#\\d{5}' })).score).toBe(1);
  expect((await score('regex', out('no order'), { pattern: '#\\d{5}' })).score).toBe(0);
  expect(METRICS.get('regex')!.params.safeParse({ pattern: '(' }).success).toBe(false);
  expect((await score('json_valid', out('{"a": 1}'))).score).toBe(1);
  const invalid = await score('json_valid', out('{"a": 1'));
  expect(invalid.score).toBe(0);
  expect(invalid.reason).toMatch(/not JSON/);
  const schema = { type: 'object', required: ['status'], properties: { status: { enum: ['refunded', 'denied'] } } };
  expect((await score('json_schema', out('{"status": "refunded"}'), { schema })).score).toBe(1);
  const violation = await score('json_schema', out('{"status": "maybe"}'), { schema });
  expect(violation.score).toBe(0);
  expect(violation.reason).toContain('/status');
});

test('levenshtein similarity = 1 − distance / longer length', async () => {
  expect(levenshteinDistance('kitten', 'sitting')).toBe(3);
  expect((await score('levenshtein', out('kitten', { expected_output: 'sitting' }))).score).toBeCloseTo(1 - 3 / 7);
  expect((await score('levenshtein', out('', { expected_output: '' }))).score).toBe(1);
});

test('latency_ms and cost are ceilings; an unknown cost errors instead of passing as 0', async () => {
  expect((await score('latency_ms', out('a', { latency_ms: 1234 }))).score).toBe(1234);
  expect(METRICS.get('latency_ms')!.direction).toBe('lower');
  expect((await score('cost', out('a', { cost_usd: 0.002 }))).score).toBe(0.002);
  await expect(score('cost', out('a', { cost_usd: null }))).rejects.toThrow(/cost is unknown/);
});
