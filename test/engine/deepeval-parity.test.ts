import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MetricResult } from '../../src/contracts/report';
import { Judge } from '../../src/metrics/judge';
import { LOGPROB_MODELS } from '../../src/metrics/logprob-models';
import { PARITY, parityMarkdown } from '../../src/metrics/parity';
import { METRICS } from '../../src/metrics/registry';
import { evaluateCase, judgeSettings } from '../../src/runner/evaluate-case';
import { resolveSuite, SuiteError } from '../../src/suite/load';
import type { FakeReply, FakeRequest } from '../support/fake-llm-server';
import { fakeEnv, gatewayFor, useFakeLlmServer } from '../support/engine';

/**
 * DeepEval parity, table-driven: each fixture gives a metric the judge verdicts DeepEval would get for the same
 * case, and the score DeepEval's formula (its `_calculate_score`) gives for them, worked out by hand in the
 * comment beside it. The case runs through the whole engine (suite loading, strict_mode, the judge over the
 * OpenAI SDK and real HTTP to the fake server).
 */

const fake = useFakeLlmServer();

type Replies = Record<string, FakeReply | ((request: FakeRequest) => FakeReply)>;

interface Fixture {
  readonly title: string;
  readonly metric: string;
  readonly options?: Record<string, unknown>;
  readonly testCase: Record<string, unknown>;
  readonly replies?: Replies;
  readonly judge?: Record<string, unknown>;
  /** DeepEval's score for these verdicts; null when DeepEval refuses the case (the metric errors). */
  readonly deepeval: number | null;
  /** DeepEval's pass/fail at its threshold (strict_mode: 1, or 0 when lower is better). */
  readonly passed?: boolean;
}

const verdicts = (...values: string[]) => ({ json: { verdicts: values.map((verdict, i) => ({ reason: `reason ${i + 1}`, verdict })) } });
const list = (key: string, items: string[]) => ({ json: { [key]: items } });
const rag = { input: 'How long do refunds take?', actual_output: 'Refunds take 5 days, to the card, at no fee, 24/7.', retrieval_context: ['Refunds take 10 days.', 'Refunds go to the card.'] };
const claims4 = list('claims', ['Refunds take 5 days.', 'Refunds go to the card.', 'There is no fee.', 'Refunds run 24/7.']);
const truths = list('truths', ['Refunds take 10 days.', 'Refunds go to the card.']);
const conversation = {
  turns: [
    { role: 'user', content: 'Hi, I am Ana, order 42 is late.' },
    { role: 'assistant', content: 'Sorry Ana, let me check order 42.' },
    { role: 'user', content: 'Also change the address.' },
    { role: 'assistant', content: 'What is your order number?' },
    { role: 'user', content: 'I said 42.' },
    { role: 'assistant', content: 'Done: order 42 goes to the new address.' },
  ],
  chatbot_role: 'A polite shop assistant.',
};
/** The OpenAI log-probs of a reply `{"reason":"…","score":8}`: the candidates of the score's token. */
const scoreTokens = (reason: string, score: string, top: Array<[string, number]>) => [
  { token: `{"reason":"${reason}","score":`, logprob: 0 },
  { token: score, logprob: Math.log(top[0][1]), top: top.map(([token, p]) => ({ token, logprob: Math.log(p) })) },
  { token: '}', logprob: 0 },
];
const RUBRIC = [{ score_range: [7, 9], expected_outcome: 'right' }, { score_range: [0, 2], expected_outcome: 'wrong' }, { score_range: [3, 6], expected_outcome: 'partly right' }];
const call = (name: string, args?: Record<string, unknown>, output?: unknown) => ({ name, ...(args ? { arguments: args } : {}), ...(output !== undefined ? { output } : {}) });

const FIXTURES: Fixture[] = [
  // faithfulness: (claims − "no" − (penalize ? "idk" : 0)) / claims
  { title: 'verdicts yes, no, idk, yes', metric: 'faithfulness', testCase: rag, replies: { claims: claims4, truths, claim_verdicts: verdicts('yes', 'no', 'idk', 'yes') }, deepeval: 3 / 4 }, // (4 − 1) / 4
  { title: 'penalize_ambiguous_claims', metric: 'faithfulness', options: { penalize_ambiguous_claims: true }, testCase: rag, replies: { claims: claims4, truths, claim_verdicts: verdicts('yes', 'no', 'idk', 'yes') }, deepeval: 2 / 4 }, // (4 − 1 − 1) / 4
  { title: 'strict_mode, one contradiction', metric: 'faithfulness', options: { strict_mode: true }, testCase: rag, replies: { claims: claims4, truths, claim_verdicts: verdicts('yes', 'no', 'idk', 'yes') }, deepeval: 0, passed: false }, // 0.75 < 1 → 0
  { title: 'strict_mode, all supported', metric: 'faithfulness', options: { strict_mode: true }, testCase: rag, replies: { claims: claims4, truths, claim_verdicts: verdicts('yes', 'yes', 'idk', 'yes') }, deepeval: 1, passed: true }, // 4 / 4
  { title: 'no claims', metric: 'faithfulness', testCase: rag, replies: { claims: list('claims', []), truths }, deepeval: 1 },
  { title: 'an empty actual_output is refused', metric: 'faithfulness', testCase: { ...rag, actual_output: '' }, deepeval: null },
  // answer_relevancy: (statements − "no") / statements
  { title: 'verdicts yes, yes, no, idk, no', metric: 'answer_relevancy', testCase: rag, replies: { statements: list('statements', ['s1', 's2', 's3', 's4', 's5']), relevancy_verdicts: verdicts('yes', 'yes', 'no', 'idk', 'no') }, deepeval: 3 / 5 },
  { title: 'strict_mode', metric: 'answer_relevancy', options: { strict_mode: true }, testCase: rag, replies: { statements: list('statements', ['s1', 's2']), relevancy_verdicts: verdicts('yes', 'idk') }, deepeval: 1, passed: true }, // 2 / 2, idk is relevant
  // contextual_precision: Σ rel_k · precision@k / relevant
  { title: 'relevant at ranks 1 and 3', metric: 'contextual_precision', testCase: { ...rag, expected_output: 'Ten days.', retrieval_context: ['a', 'b', 'c'] }, replies: { node_verdicts: verdicts('yes', 'no', 'yes') }, deepeval: (1 / 1 + 2 / 3) / 2 },
  { title: 'nothing relevant', metric: 'contextual_precision', testCase: { ...rag, expected_output: 'Ten days.', retrieval_context: ['a', 'b'] }, replies: { node_verdicts: verdicts('no', 'no') }, deepeval: 0 },
  // contextual_recall: "yes" / verdicts, the judge's own sentences
  {
    title: 'the judge splits "…, e.g. Visa. They take 5 days." into 2 sentences, the timing unsupported',
    metric: 'contextual_recall',
    testCase: { ...rag, expected_output: 'Refunds go to the original card, e.g. Visa. They take 5 days.' },
    replies: {
      attribution_verdicts: {
        json: { verdicts: [{ sentence: 'Refunds go to the original card, e.g. Visa.', reason: '2nd node', verdict: 'yes' }, { sentence: 'They take 5 days.', reason: 'no node', verdict: 'no' }] },
      },
    },
    deepeval: 1 / 2, // the regular expression this replaced made 3 sentences of it: 2/3
  },
  {
    title: 'bullets without full stops are sentences of their own',
    metric: 'contextual_recall',
    testCase: { ...rag, expected_output: '- refunds go to the card\n- they take 10 days\n- no fee' },
    replies: { attribution_verdicts: { json: { verdicts: ['refunds go to the card', 'they take 10 days', 'no fee'].map((sentence, i) => ({ sentence, reason: 'r', verdict: i < 2 ? 'yes' : 'no' })) } } },
    deepeval: 2 / 3,
  },
  { title: 'an empty expected output', metric: 'contextual_recall', testCase: { ...rag, expected_output: '' }, deepeval: 0 }, // no sentence, no verdict → 0
  // hallucination: "no" / contexts, lower is better
  { title: 'two of four contexts contradicted', metric: 'hallucination', testCase: { ...rag, context: ['c1', 'c2', 'c3', 'c4'] }, replies: { context_verdicts: verdicts('yes', 'no', 'yes', 'no') }, deepeval: 2 / 4 },
  { title: 'strict_mode, any contradiction is 1', metric: 'hallucination', options: { strict_mode: true }, testCase: { ...rag, context: ['c1', 'c2', 'c3', 'c4'] }, replies: { context_verdicts: verdicts('yes', 'no', 'yes', 'yes') }, deepeval: 1, passed: false }, // 0.25 > 0 → 1, threshold 0
  { title: 'strict_mode, none', metric: 'hallucination', options: { strict_mode: true }, testCase: { ...rag, context: ['c1'] }, replies: { context_verdicts: verdicts('yes') }, deepeval: 0, passed: true },
  // g_eval: Σ p·v / Σ p over decimal candidates with p ≥ 0.01 of the last token equal to the raw score, / 10
  {
    title: 'candidates 8: .70, 7: .25, 9: .03, 2: .008, 3: .008',
    metric: 'g_eval',
    options: { evaluation_steps: ['Is it right?'] },
    testCase: rag,
    replies: { g_eval_score: { json: { reason: 'ok', score: 8 }, logprobs: scoreTokens('ok', '8', [['8', 0.7], ['7', 0.25], ['9', 0.03], ['2', 0.008], ['3', 0.008]]) } },
    deepeval: (8 * 0.7 + 7 * 0.25 + 9 * 0.03) / (0.7 + 0.25 + 0.03) / 10, // 2 and 3 are below 0.01: 7.7755… → 0.7776
  },
  {
    title: 'the score token is the last one equal to the score, after a reason that holds the same digit',
    metric: 'g_eval',
    options: { evaluation_steps: ['Is it right?'] },
    testCase: rag,
    replies: {
      g_eval_score: {
        json: { reason: '8 of 9 steps hold', score: 8 },
        logprobs: [
          { token: '{"reason":"', logprob: 0 },
          { token: '8', logprob: 0, top: [{ token: '8', logprob: 0 }] },
          { token: ' of 9 steps hold","score":', logprob: 0 },
          { token: '8', logprob: Math.log(0.5), top: [{ token: '8', logprob: Math.log(0.5) }, { token: '6', logprob: Math.log(0.4) }, { token: ' 9', logprob: Math.log(0.1) }] },
          { token: '}', logprob: 0 },
        ],
      },
    },
    deepeval: (8 * 0.5 + 6 * 0.4) / (0.5 + 0.4) / 10, // " 9" is not a decimal token: 7.111… → 0.7111
  },
  {
    title: 'a decimal score from a model without log-probs',
    metric: 'g_eval',
    options: { evaluation_steps: ['Is it right?'] },
    judge: { provider: 'openai', model: 'o4-mini' },
    testCase: rag,
    replies: { g_eval_score: { json: { reason: 'ok', score: 7.5 } } },
    deepeval: 0.75,
  },
  {
    title: 'a rubric: the score runs over its range',
    metric: 'g_eval',
    options: { evaluation_steps: ['Is it right?'], rubric: RUBRIC },
    judge: { provider: 'openai', model: 'o4-mini' },
    testCase: rag,
    // The judge sees the bands in order (DeepEval sorts them) and answers 6 only then.
    replies: { g_eval_score: (request) => ({ json: { reason: 'r', score: request.prompt.includes('Rubric:\n0-2: wrong\n3-6: partly right\n7-9: right') ? 6 : 0 } }) },
    deepeval: (6 - 0) / (9 - 0),
  },
  {
    title: 'a rubric with log-probs',
    metric: 'g_eval',
    options: { evaluation_steps: ['Is it right?'], rubric: RUBRIC },
    testCase: rag,
    replies: { g_eval_score: { json: { reason: 'ok', score: 7 }, logprobs: scoreTokens('ok', '7', [['7', 0.6], ['6', 0.3], ['9', 0.1]]) } },
    deepeval: (7 * 0.6 + 6 * 0.3 + 9 * 0.1) / 1.0 / 9, // 6.9 over the range 0–9
  },
  { title: 'strict_mode: the 0/1 question', metric: 'g_eval', options: { evaluation_steps: ['Is it right?'], strict_mode: true }, testCase: rag, replies: { g_eval_strict_score: { json: { reason: 'misses the date', score: 0 } } }, deepeval: 0, passed: false },
  { title: 'strict_mode: followed', metric: 'g_eval', options: { evaluation_steps: ['Is it right?'], strict_mode: true }, testCase: rag, replies: { g_eval_strict_score: { json: { reason: 'all there', score: 1 } } }, deepeval: 1, passed: true },
  // tool_correctness
  { title: 'two identical calls satisfy one of two expected calls', metric: 'tool_correctness', testCase: { input: 'q', actual_output: 'done', tools_called: [call('search', { q: 'a' }), call('search', { q: 'a' })], expected_tools: [call('search'), call('search')] }, deepeval: 1 / 2 },
  { title: 'two distinct calls of one tool satisfy two expected calls', metric: 'tool_correctness', testCase: { input: 'q', actual_output: 'done', tools_called: [call('search', { q: 'a' }), call('search', { q: 'b' })], expected_tools: [call('search'), call('search')] }, deepeval: 1 },
  {
    title: 'partial arguments: 2 of 3 keys match',
    metric: 'tool_correctness',
    options: { check_arguments: true },
    testCase: { input: 'q', actual_output: 'done', tools_called: [call('book', { city: 'Paris', date: '2026-12-02', guests: 2 })], expected_tools: [call('book', { city: 'Paris', date: '2026-12-01', guests: 2 })] },
    deepeval: 2 / 3,
  },
  {
    title: 'partial arguments, nested',
    metric: 'tool_correctness',
    options: { check_arguments: true },
    testCase: { input: 'q', actual_output: 'done', tools_called: [call('hotels', { filter: { city: 'Paris', stars: 5 }, limit: 10 })], expected_tools: [call('hotels', { filter: { city: 'Paris', stars: 4 }, limit: 10 })] },
    deepeval: 1 / 2 + (1 / 2) / 2, // limit equal (1/2) + filter's own share (1/2) over 2 keys
  },
  { title: 'exact arguments under exact match', metric: 'tool_correctness', options: { match: 'exact', check_arguments: true }, testCase: { input: 'q', actual_output: 'done', tools_called: [call('book', { city: 'Paris', guests: 3 })], expected_tools: [call('book', { city: 'Paris', guests: 2 })] }, deepeval: 0 },
  { title: 'ordered: weighted LCS', metric: 'tool_correctness', options: { match: 'ordered' }, testCase: { input: 'q', actual_output: 'done', tools_called: [call('b'), call('a'), call('c')], expected_tools: [call('a'), call('b'), call('c')] }, deepeval: 2 / 3 },
  {
    title: 'ordered with partial arguments',
    metric: 'tool_correctness',
    options: { match: 'ordered', check_arguments: true },
    testCase: { input: 'q', actual_output: 'done', tools_called: [call('a', { x: 1, y: 2 }), call('b', { z: 1 })], expected_tools: [call('a', { x: 1, y: 3 }), call('b', { z: 1 })] },
    deepeval: (1 / 2 + 1) / 2,
  },
  { title: 'outputs compared', metric: 'tool_correctness', options: { check_output: true }, testCase: { input: 'q', actual_output: 'done', tools_called: [call('lookup', { id: 1 }, { status: 'shipped' })], expected_tools: [call('lookup', { id: 1 }, { status: 'lost' })] }, deepeval: 0 },
  { title: 'strict_mode: 1/2 becomes 0', metric: 'tool_correctness', options: { strict_mode: true }, testCase: { input: 'q', actual_output: 'done', tools_called: [call('search')], expected_tools: [call('search'), call('refund')] }, deepeval: 0, passed: false },
  // task_completion: the verdict
  {
    title: 'the verdict on the extracted task and outcome',
    metric: 'task_completion',
    testCase: { input: 'Plan my trip', actual_output: 'Flights and hotels found.', tools_called: [call('flights'), call('hotels')] },
    replies: { task_and_outcome: { json: { task: 'plan a trip', outcome: 'flights and hotels found, no sightseeing' } }, task_verdict: { json: { reason: 'sightseeing missing', verdict: 0.85 } } },
    deepeval: 0.85,
  },
  {
    title: 'strict_mode',
    metric: 'task_completion',
    options: { strict_mode: true },
    testCase: { input: 'Plan my trip', actual_output: 'Flights and hotels found.' },
    replies: { task_and_outcome: { json: { task: 'plan a trip', outcome: 'partial' } }, task_verdict: { json: { reason: 'partial', verdict: 0.85 } } },
    deepeval: 0,
    passed: false,
  },
  { title: 'an empty actual_output is refused', metric: 'task_completion', testCase: { input: 'Plan my trip', actual_output: '' }, deepeval: null },
  // deterministic
  { title: 'trimmed outputs are equal', metric: 'exact_match', testCase: { input: 'q', actual_output: '  Paris \n', expected_output: 'Paris' }, deepeval: 1 },
  { title: 'the whole output must match', metric: 'pattern_match', options: { pattern: '\\d{5}' }, testCase: { input: 'q', actual_output: 'zip 12345' }, deepeval: 0 },
  { title: 'a trimmed full match', metric: 'pattern_match', options: { pattern: ' [a-z]+-\\d+ ', ignore_case: true }, testCase: { input: 'q', actual_output: ' ORDER-42\n' }, deepeval: 1 },
  { title: 'the output validates', metric: 'json_schema', options: { schema: { type: 'object', required: ['id'] } }, testCase: { input: 'q', actual_output: '{"id": 1}' }, deepeval: 1 },
  // conversational: one verdict per assistant turn (or per intention)
  { title: 'one of three replies irrelevant', metric: 'turn_relevancy', testCase: conversation, replies: { turn_relevancy_verdicts: verdicts('yes', 'no', 'yes') }, deepeval: 2 / 3 },
  { title: 'one of three replies out of character', metric: 'role_adherence', testCase: conversation, replies: { role_adherence_verdicts: verdicts('yes', 'yes', 'no') }, deepeval: (3 - 1) / 3 },
  {
    title: 'the second reply asks again for the order number',
    metric: 'knowledge_retention',
    testCase: conversation,
    replies: { user_knowledge: list('items', ['[1] the user is Ana', '[1] the order is 42']), knowledge_retention_verdicts: verdicts('yes', 'no', 'yes') },
    deepeval: 2 / 3, // DeepEval's labels: no, yes, no (yes = attrition) → 2 "no" / 3
  },
  {
    title: 'one of two intentions unmet',
    metric: 'conversation_completeness',
    testCase: conversation,
    replies: { user_intentions: list('items', ['find order 42', 'change the address']), intention_verdicts: verdicts('yes', 'no') },
    deepeval: 1 / 2,
  },
];

/** The fixture's case through the engine: its metric's result. */
async function evaluate(fixture: Fixture): Promise<MetricResult> {
  const { strict_mode: strictMode, ...options } = fixture.options ?? {};
  const metric = METRICS.get(fixture.metric)!;
  const env = fakeEnv(fake.server);
  const loaded = resolveSuite(
    {
      name: 'parity',
      ...(metric.needsLlm ? { judge: fixture.judge ?? { provider: 'openai', model: 'gpt-4o-mini' } } : {}),
      metrics: [{ name: fixture.metric, ...options, ...(strictMode ? { strict_mode: true } : {}) }],
      cases: [fixture.testCase],
    },
    'parity.yaml',
    undefined,
    env,
  );
  const replies = fixture.replies ?? {};
  fake.server.script = (request) => {
    const reply = replies[request.schemaName ?? ''];
    if (!reply) throw new Error(`no scripted reply for ${request.schemaName}`);
    return typeof reply === 'function' ? reply(request) : reply;
  };
  const gateway = gatewayFor(fake.server);
  const result = await evaluateCase(loaded, 0, { gateway, env }, new Judge(gateway, judgeSettings(loaded.suite.judge)));
  return result.metrics[fixture.metric];
}

describe.each(PARITY.map((row) => [row.metric, row] as const))('%s: the score DeepEval gives for the same verdicts', (metric) => {
  const fixtures = FIXTURES.filter((f) => f.metric === metric);

  test('has fixtures', () => {
    expect(fixtures.length).toBeGreaterThan(0);
  });

  test.each(fixtures.map((f) => [f.title, f] as const))('%s', async (_, fixture) => {
    const result = await evaluate(fixture);
    if (fixture.deepeval === null) {
      expect(result).toMatchObject({ score: null, passed: false });
      expect(result.error).toContain('actual_output is empty');
      expect(fake.server.requests).toHaveLength(0);
      return;
    }
    expect(result.error).toBeNull();
    expect(result.score).toBeCloseTo(fixture.deepeval, 12);
    if (fixture.passed !== undefined) {
      expect(result.passed).toBe(fixture.passed);
      expect(result.strict_mode).toBe(true);
      expect(result.threshold).toBe(METRICS.get(metric)!.direction === 'higher' ? 1 : 0);
    }
  });
});

test('the evalctl README’s parity table is the one generated from these rows, and names only registered metrics', () => {
  const readme = readFileSync(join(__dirname, '../../evalctl/README.md'), 'utf8');
  const table = /<!-- parity:begin[^>]*-->\n([\s\S]*?)\n<!-- parity:end -->/.exec(readme)?.[1];
  expect(table).toBe(parityMarkdown());
  for (const row of PARITY) expect(METRICS.has(row.metric)).toBe(true);
  expect(PARITY.every((row) => row.same)).toBe(true);
});

describe('log-probs are asked only of models known to return them', () => {
  const ask = async (judge: Record<string, unknown>) => {
    await evaluate({ title: '', metric: 'g_eval', options: { evaluation_steps: ['ok?'] }, judge, testCase: rag, replies: { g_eval_score: { json: { reason: 'ok', score: 6 } } }, deepeval: 0.6 });
    return fake.server.requests[0].logprobs;
  };
  test('a listed OpenAI model, an unlisted one, and the suite’s override either way', async () => {
    expect(LOGPROB_MODELS.has('gpt-4o-mini')).toBe(true);
    expect(await ask({ provider: 'openai', model: 'gpt-4o-mini' })).toBe(true);
    fake.server.requests.length = 0;
    expect(await ask({ provider: 'openai', model: 'o4-mini' })).toBe(false);
    fake.server.requests.length = 0;
    expect(await ask({ provider: 'openai', model: 'llama3.1-70b', logprobs: true })).toBe(true);
    fake.server.requests.length = 0;
    expect(await ask({ provider: 'openai', model: 'gpt-4o', logprobs: false })).toBe(false);
  });
});

describe('strict_mode and the renamed strict', () => {
  const problems = (metric: Record<string, unknown>): string[] => {
    try {
      resolveSuite({ name: 's', judge: { provider: 'openai', model: 'gpt-4o-mini' }, metrics: [metric], cases: [{ input: 'q', actual_output: 'a', retrieval_context: ['c'], latency_ms: 5 }] }, 'suite.yaml', undefined, {});
    } catch (error) {
      if (error instanceof SuiteError) return error.message.split('\n');
      throw error;
    }
    return [];
  };

  test('the old `strict` is refused with the name it has now', () => {
    expect(problems({ name: 'faithfulness', strict: true })).toEqual([expect.stringMatching(/^suite\.yaml: metrics\[0\]\.strict: renamed: write penalize_ambiguous_claims/)]);
    expect(problems({ name: 'answer_relevancy', strict: false })).toEqual([expect.stringContaining('renamed: write penalize_ambiguous_claims')]);
  });

  test('a rubric whose bands overlap, or that covers one score, is refused', () => {
    const steps = { name: 'g_eval', evaluation_steps: ['ok?'] };
    expect(problems({ ...steps, rubric: [{ score_range: [0, 5], expected_outcome: 'a' }, { score_range: [5, 10], expected_outcome: 'b' }] })).toEqual([
      expect.stringContaining('metrics[0].rubric: score ranges [0, 5] and [5, 10] overlap'),
    ]);
    expect(problems({ ...steps, rubric: [{ score_range: [4, 4], expected_outcome: 'a' }] })).toEqual([expect.stringContaining('the rubric covers a single score')]);
  });

  test('a threshold beside strict_mode, and strict_mode on an unbounded metric, are refused', () => {
    expect(problems({ name: 'faithfulness', strict_mode: true, threshold: 0.7 })).toEqual([expect.stringContaining('metrics[0].threshold: strict_mode sets the threshold to 1')]);
    expect(problems({ name: 'latency_ms', strict_mode: true })).toEqual([expect.stringContaining('metrics[0].strict_mode: latency_ms scores in [0, ∞]')]);
    expect(problems({ name: 'faithfulness', strict_mode: 'yes' })).toEqual([expect.stringContaining('metrics[0]')]);
  });
});
