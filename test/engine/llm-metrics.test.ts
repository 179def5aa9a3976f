import { METRICS } from '../../src/metrics/registry';
import type { EvaluatedCase, MetricOutcome } from '../../src/metrics/types';
import { JudgeReplyError } from '../../src/metrics/judge';
import type { FakeReply, FakeRequest } from '../support/fake-llm-server';
import { judgeOn, useFakeLlmServer } from '../support/engine';

const fake = useFakeLlmServer();

/** Replies by structured-output name; anything else is a test bug. */
function byQuestion(replies: Record<string, FakeReply | ((r: FakeRequest) => FakeReply)>) {
  return (request: FakeRequest): FakeReply | undefined => {
    const reply = replies[request.schemaName ?? ''];
    return typeof reply === 'function' ? reply(request) : reply;
  };
}

async function score(metric: string, testCase: EvaluatedCase, params: Record<string, unknown> = {}, provider: 'openai' | 'anthropic' = 'openai'): Promise<MetricOutcome> {
  const definition = METRICS.get(metric)!;
  return definition.evaluate({ testCase, params: definition.params.parse(params), judge: judgeOn(fake.server, provider) });
}

const verdicts = (...values: string[]) => ({ json: { verdicts: values.map((verdict) => ({ reason: `because ${verdict}`, verdict })) } });

describe.each(['openai', 'anthropic'] as const)('LLM-judged metrics through the %s SDK', (provider) => {
  test('faithfulness: claims judged against the truths of the context; idk counts unless penalize_ambiguous_claims', async () => {
    fake.server.script = byQuestion({
      claims: { json: { claims: ['Returns are accepted for 30 days.', 'Refunds take 5 days.', 'Shipping is free.', 'Support is 24/7.'] } },
      truths: { json: { truths: ['Returns are accepted for 30 days.', 'Refunds take 10 days.'] } },
      claim_verdicts: verdicts('yes', 'no', 'idk', 'yes'),
    });
    const testCase = { input: 'q', actual_output: 'an answer', retrieval_context: ['Returns: 30 days.', 'Refunds take 10 days.'] };
    const relaxed = await score('faithfulness', testCase, {}, provider);
    expect(relaxed.score).toBeCloseTo(3 / 4);
    expect(relaxed.reason).toContain('"Refunds take 5 days."');
    const penalized = await score('faithfulness', testCase, { penalize_ambiguous_claims: true }, provider);
    expect(penalized.score).toBeCloseTo(2 / 4);
    // The structured-output schema travelled in the request, the way each API expects it.
    const verdictCall = fake.server.requests.find((r) => r.schemaName === 'claim_verdicts')!;
    if (provider === 'openai') {
      expect(verdictCall.body.response_format).toMatchObject({ type: 'json_schema', json_schema: { name: 'claim_verdicts', strict: true } });
    } else {
      expect(verdictCall.body.tool_choice).toEqual({ type: 'tool', name: 'claim_verdicts' });
      expect((verdictCall.body.tools as Array<{ input_schema: unknown }>)[0].input_schema).toMatchObject({ type: 'object', required: ['verdicts'] });
    }
    // The claims are judged against the truths extracted from the context, and the truths came from the context.
    expect(verdictCall.prompt).toContain('Truths:\n1. Returns are accepted for 30 days.\n2. Refunds take 10 days.');
    expect(fake.server.requests.find((r) => r.schemaName === 'truths')!.prompt).toContain('2. Refunds take 10 days.');
    // Reasons come before verdicts in what the judge is asked to write.
    const schema = JSON.stringify(provider === 'openai' ? verdictCall.body.response_format : verdictCall.body.tools);
    expect(schema.indexOf('"reason"')).toBeLessThan(schema.indexOf('"verdict"'));
  });

  test('faithfulness: an output without claims scores 1 without a verdict call', async () => {
    fake.server.script = byQuestion({ claims: { json: { claims: [] } }, truths: { json: { truths: ['x'] } } });
    const outcome = await score('faithfulness', { input: 'hi', actual_output: 'Hello!', retrieval_context: ['x'] }, {}, provider);
    expect(outcome.score).toBe(1);
    expect(fake.server.requests.map((r) => r.schemaName).sort()).toEqual(['claims', 'truths']);
  });

  test('answer_relevancy: relevant (yes or idk) / statements', async () => {
    fake.server.script = byQuestion({
      statements: { json: { statements: ['s1', 's2', 's3', 's4', 's5'] } },
      relevancy_verdicts: verdicts('yes', 'yes', 'no', 'idk', 'no'),
    });
    const outcome = await score('answer_relevancy', { input: 'q', actual_output: 'a' }, {}, provider);
    expect(outcome.score).toBeCloseTo(3 / 5);
  });
});

test('contextual_precision is rank-aware: Σ rel_k · precision@k / relevant', async () => {
  fake.server.script = byQuestion({ node_verdicts: verdicts('yes', 'no', 'yes') });
  const testCase = { input: 'q', expected_output: 'e', retrieval_context: ['n1', 'n2', 'n3'] };
  // (1/1 + 2/3) / 2
  expect((await score('contextual_precision', testCase)).score).toBeCloseTo((1 + 2 / 3) / 2);
  fake.server.script = byQuestion({ node_verdicts: verdicts('no', 'yes', 'yes') });
  // (1/2 + 2/3) / 2: the same nodes ranked worse score lower.
  expect((await score('contextual_precision', testCase)).score).toBeCloseTo((1 / 2 + 2 / 3) / 2);
});

test('contextual_recall: the judge splits the expected output; attributable sentences / sentences', async () => {
  const sentence = (text: string, verdict: string) => ({ sentence: text, reason: `because ${verdict}`, verdict });
  fake.server.script = byQuestion({
    attribution_verdicts: { json: { verdicts: [sentence('Returns take 30 days.', 'yes'), sentence('Refunds go to the card!', 'no'), sentence('Is shipping free?', 'yes')] } },
  });
  const outcome = await score('contextual_recall', {
    input: 'q',
    expected_output: 'Returns take 30 days. Refunds go to the card! Is shipping free?',
    retrieval_context: ['ctx'],
  });
  expect(outcome.score).toBeCloseTo(2 / 3);
  expect(outcome.reason).toContain('"Refunds go to the card!"');
  expect(fake.server.requests[0].prompt).toContain('Expected output:\nReturns take 30 days. Refunds go to the card! Is shipping free?');
});

test('hallucination: contradicted contexts / contexts, lower is better', async () => {
  fake.server.script = byQuestion({ context_verdicts: verdicts('yes', 'no', 'yes', 'no') });
  const outcome = await score('hallucination', { input: 'q', actual_output: 'a', context: ['c1', 'c2', 'c3', 'c4'] });
  expect(outcome.score).toBeCloseTo(0.5);
  expect(METRICS.get('hallucination')!.direction).toBe('lower');
});

test('g_eval: steps generated once, the 0–10 score normalised, weighted by log-probs when present', async () => {
  fake.server.script = byQuestion({
    evaluation_steps: { json: { steps: ['Check the facts.', 'Check the tone.'] } },
    g_eval_score: { json: { reason: 'good', score: 7 } },
  });
  const definition = METRICS.get('g_eval')!;
  const params = definition.params.parse({ criteria: 'Correct and polite.' });
  const judge = judgeOn(fake.server);
  const scores = await Promise.all(
    [1, 2, 3].map(() => definition.evaluate({ testCase: { input: 'q', actual_output: 'a' }, params, judge })),
  );
  expect(scores.map((s) => s.score)).toEqual([0.7, 0.7, 0.7]);
  expect(fake.server.requests.filter((r) => r.schemaName === 'evaluation_steps')).toHaveLength(1);
  expect(fake.server.requests.find((r) => r.schemaName === 'g_eval_score')!.prompt).toContain('2. Check the tone.');

  // The reply '{"reason":"ok","score":8}' with p(8)=0.6, p(7)=0.3, p(9)=0.1 on the score token: 7.8 / 10.
  fake.server.script = byQuestion({
    g_eval_score: {
      json: { reason: 'ok', score: 8 },
      logprobs: [
        { token: '{"reason":"ok","score":', logprob: 0 },
        { token: '8', logprob: Math.log(0.6), top: [{ token: '8', logprob: Math.log(0.6) }, { token: '7', logprob: Math.log(0.3) }, { token: '9', logprob: Math.log(0.1) }] },
        { token: '}', logprob: 0 },
      ],
    },
  });
  const weighted = await definition.evaluate({
    testCase: { input: 'q', actual_output: 'a' },
    params: definition.params.parse({ evaluation_steps: ['Is it right?'] }),
    judge,
  });
  expect(weighted.score).toBeCloseTo(0.78);
  expect(fake.server.requests.at(-1)!.logprobs).toBe(true);
});

test('task_completion: task and outcome extracted from the trace, then judged against each other', async () => {
  fake.server.script = byQuestion({
    task_and_outcome: { json: { task: 'refund order 42', outcome: 'looked it up only' } },
    task_verdict: { json: { reason: 'No refund issued.', verdict: 0.4 } },
  });
  const outcome = await score('task_completion', {
    input: 'Refund order 42',
    actual_output: 'I found your order.',
    tools_called: [{ name: 'lookup_order', arguments: { id: 42 }, output: { status: 'shipped' } }],
  });
  expect(outcome).toMatchObject({ score: 0.4, reason: 'No refund issued.', details: { task: 'refund order 42', outcome: 'looked it up only' } });
  expect(fake.server.requests.map((r) => r.schemaName)).toEqual(['task_and_outcome', 'task_verdict']);
  expect(fake.server.requests[0].prompt).toContain('lookup_order({"id":42}) → {"status":"shipped"}');
  expect(fake.server.requests[1].prompt).toContain('Task:\nrefund order 42\n\nOutcome:\nlooked it up only');
  // A task given in the suite is the one judged.
  const given = await score('task_completion', { input: 'Refund order 42', actual_output: 'I found your order.' }, { task: 'Refund order 42 to the card.' });
  expect(given.details).toMatchObject({ task: 'Refund order 42 to the card.' });
});

describe('judge replies', () => {
  test('fenced or chatty JSON is still read', async () => {
    fake.server.script = byQuestion({
      claims: { text: 'Sure!\n```json\n{"claims": ["one claim"]}\n```' },
      truths: { text: 'Here: {"truths": []}' },
      claim_verdicts: { text: 'Verdicts: {"verdicts": [{"reason": "x", "verdict": "no"}]} hope this helps' },
    });
    const outcome = await score('faithfulness', { input: 'q', actual_output: 'a', retrieval_context: ['c'] });
    expect(outcome.score).toBe(0);
  });

  test('a wrong number of verdicts is asked again, not scored', async () => {
    let verdictCalls = 0;
    fake.server.script = byQuestion({
      claims: { json: { claims: ['c1', 'c2'] } },
      truths: { json: { truths: ['t1'] } },
      claim_verdicts: () => (++verdictCalls === 1 ? verdicts('yes') : verdicts('yes', 'no')),
    });
    const outcome = await score('faithfulness', { input: 'q', actual_output: 'a', retrieval_context: ['c'] });
    expect(verdictCalls).toBe(2);
    expect(outcome.score).toBeCloseTo(0.5);
  });

  test('an unparsable reply is retried, then errors with the raw reply', async () => {
    fake.server.script = () => ({ text: 'I would rather not say.' });
    const failure = score('hallucination', { input: 'q', actual_output: 'a', context: ['c'] });
    await expect(failure).rejects.toBeInstanceOf(JudgeReplyError);
    await expect(failure).rejects.toMatchObject({ rawReply: 'I would rather not say.' });
    expect(fake.server.requests).toHaveLength(3);
  });
});
