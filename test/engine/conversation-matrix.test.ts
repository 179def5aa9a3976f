import { runSuites } from '../../src/runner/run-suites';
import { sideBySide } from '../../src/runner/side-by-side';
import { expandMatrix, parseSuiteText, resolveSuite, SuiteError } from '../../src/suite/load';
import type { SuiteInput } from '../../src/contracts/suite';
import type { FakeRequest } from '../support/fake-llm-server';
import { FAST_RETRY, fakeEnv, useFakeLlmServer } from '../support/engine';

const fake = useFakeLlmServer();
const NO_BUILD = { ci: null, git_sha: null, branch: null, pull_request: null, build_id: null, build_url: null };

function run(suite: SuiteInput) {
  const env = fakeEnv(fake.server);
  return runSuites(expandMatrix(resolveSuite(suite, 'suite.yaml', undefined, env)), { env, retry: FAST_RETRY, build: NO_BUILD, concurrency: 1 });
}

const problemsOf = (fn: () => unknown): string[] => {
  try {
    fn();
  } catch (error) {
    if (error instanceof SuiteError) return error.message.split('\n');
    throw error;
  }
  return [];
};

describe('a conversational suite: the target replays the turns, metrics judge each reply and the whole conversation', () => {
  /** The shop assistant answers from what it was told; the judge's verdicts are scripted per metric. */
  const script = (request: FakeRequest) => {
    switch (request.schemaName) {
      case 'turn_relevancy_verdicts': {
        // Two replies in the first conversation: the second is off topic.
        const count = (request.prompt.match(/^Reply \d+ \(turn/gm) ?? []).length;
        return { json: { verdicts: count === 2 ? [{ verdict: 'yes', reason: 'answers the greeting' }, { verdict: 'no', reason: 'talks about the weather' }] : [{ verdict: 'yes', reason: 'on topic' }] } };
      }
      case 'user_knowledge':
        return { json: { items: request.prompt.includes('Ana') ? ['[1] the user is Ana', '[1] the order number is 42'] : [] } };
      case 'knowledge_retention_verdicts': {
        const count = /Assistant turns to judge: ([\d, ]+)/.exec(request.prompt)![1].split(',').length;
        return { json: { verdicts: Array.from({ length: count }, (_, i) => ({ verdict: i === 1 ? 'no' : 'yes', reason: i === 1 ? 'asks for the order number again' : 'keeps it' })) } };
      }
      case 'user_intentions':
        return { json: { items: request.prompt.includes('Ana') ? ['find where order 42 is', 'change the delivery address'] : ['learn the opening hours'] } };
      case 'intention_verdicts': {
        const count = (request.prompt.match(/^\d+\. /gm) ?? []).length;
        return { json: { verdicts: Array.from({ length: count }, (_, i) => ({ verdict: i === 0 ? 'yes' : 'no', reason: 'r' })) } };
      }
      default: {
        // The agent under test: it sees the whole conversation so far.
        const messages = request.body.messages as Array<{ role: string; content: string }>;
        const users = messages.filter((m) => m.role === 'user');
        return { text: `reply ${users.length} to: ${users[users.length - 1].content}`, usage: { input: 10 * messages.length, output: 5 } };
      }
    }
  };

  test('turns replayed with history; per-turn and whole-conversation scores as computed by hand', async () => {
    fake.server.script = script;
    const report = await run({
      name: 'support-chat',
      target: { type: 'openai', model: 'gpt-4o-mini', system_prompt: 'You are the shop assistant.', temperature: 0 },
      judge: { provider: 'openai', model: 'gpt-4o-mini' },
      metrics: ['turn_relevancy', 'knowledge_retention', 'conversation_completeness', { name: 'icontains', value: 'reply' }],
      cases: [
        {
          id: 'order',
          turns: [
            { role: 'user', content: "Hi, I'm Ana, my order is 42." },
            { role: 'assistant', content: 'a recorded reply the target replaces' },
            { role: 'user', content: 'Where is it?' },
          ],
        },
        { id: 'hours', turns: [{ role: 'user', content: 'When are you open?' }] },
      ],
    });
    const targetCalls = fake.server.requests.filter((r) => !r.schemaName);
    expect(targetCalls).toHaveLength(3);
    // The second turn carries the history, with the target's own first reply in place of the recorded one.
    const second = targetCalls.find((r) => (r.body.messages as unknown[]).length === 4)!;
    expect(second.body.messages).toEqual([
      { role: 'system', content: 'You are the shop assistant.' },
      { role: 'user', content: "Hi, I'm Ana, my order is 42." },
      { role: 'assistant', content: "reply 1 to: Hi, I'm Ana, my order is 42." },
      { role: 'user', content: 'Where is it?' },
    ]);
    const order = report.cases.find((c) => c.id === 'order')!;
    expect(order.turns).toEqual([
      { role: 'user', content: "Hi, I'm Ana, my order is 42." },
      { role: 'assistant', content: "reply 1 to: Hi, I'm Ana, my order is 42." },
      { role: 'user', content: 'Where is it?' },
      { role: 'assistant', content: 'reply 2 to: Where is it?' },
    ]);
    expect(order).toMatchObject({ input: 'Where is it?', actual_output: 'reply 2 to: Where is it?' });
    // Tokens add up over the turns: 10 × (2 messages) + 10 × (4 messages) input, 5 + 5 output.
    expect(order.target).toMatchObject({ input_tokens: 60, output_tokens: 10 });
    // order: relevancy 1 of 2 replies; retention 1 of 2 (re-asked); completeness 1 of 2 intentions.
    expect(order.metrics.turn_relevancy).toMatchObject({ score: 0.5, reason: expect.stringContaining('turn 4') });
    expect(order.metrics.turn_relevancy.details).toEqual({ turns: [{ turn: 2, verdict: 'yes', reason: 'answers the greeting' }, { turn: 4, verdict: 'no', reason: 'talks about the weather' }] });
    expect(order.metrics.knowledge_retention.score).toBe(0.5);
    expect(order.metrics.conversation_completeness.score).toBe(0.5);
    // hours: one reply, relevant and retained; its one intention satisfied.
    const hours = report.cases.find((c) => c.id === 'hours')!;
    expect([hours.metrics.turn_relevancy.score, hours.metrics.knowledge_retention.score, hours.metrics.conversation_completeness.score]).toEqual([1, 1, 1]);
    expect(report.summary).toEqual({ turn_relevancy: 0.75, knowledge_retention: 0.75, conversation_completeness: 0.75, icontains: 1 });
  });

  test('role_adherence judges every reply against chatbot_role; a recorded conversation needs no target', async () => {
    fake.server.script = (request) =>
      request.schemaName === 'role_adherence_verdicts'
        ? { json: { verdicts: [{ verdict: 'yes', reason: 'polite' }, { verdict: 'no', reason: 'swears at the customer' }, { verdict: 'yes', reason: 'polite' }] } }
        : { status: 500 };
    const report = await run({
      name: 'recorded',
      judge: { provider: 'openai', model: 'gpt-4o-mini' },
      metrics: ['role_adherence'],
      cases: [
        {
          chatbot_role: 'A patient, polite support agent for a shoe shop.',
          turns: [
            { role: 'user', content: 'Hello' },
            { role: 'assistant', content: 'Hello! How can I help?' },
            { role: 'user', content: 'My shoes are wrong.' },
            { role: 'assistant', content: 'Not my problem.' },
            { role: 'user', content: 'Please?' },
            { role: 'assistant', content: 'Sorry, let me fix that.' },
          ],
        },
      ],
    });
    expect(fake.server.requests.map((r) => r.schemaName)).toEqual(['role_adherence_verdicts']);
    expect(fake.server.requests[0].prompt).toContain('Assistant turns to judge: 2, 4, 6');
    expect(report.cases[0]).toMatchObject({ input: 'Please?', actual_output: 'Sorry, let me fix that.' });
    expect(report.cases[0].metrics.role_adherence.score).toBeCloseTo(2 / 3, 12);
  });

  test('what a conversational metric needs is checked before any call', () => {
    expect(
      problemsOf(() =>
        parseSuiteText(
          `name: chat
judge: { provider: openai, model: gpt-4o-mini }
metrics: [role_adherence, turn_relevancy]
cases:
  - turns: [{ role: user, content: hi }, { role: assistant, content: hello }]
  - input: no conversation
    actual_output: out
  - turns: [{ role: user, content: hi }]
  - turns: [{ role: assistant, content: hello }]
`,
          'chat.yaml',
        ),
      ),
    ).toEqual([
      'chat.yaml:9: cases[3].turns: a conversation needs at least one user turn',
      'chat.yaml:5: cases[0].chatbot_role: missing: metric "role_adherence" needs it and the target does not provide it',
      'chat.yaml:6: cases[1].turns: missing: metric "role_adherence" needs it and the target does not provide it',
      'chat.yaml:6: cases[1].chatbot_role: missing: metric "role_adherence" needs it and the target does not provide it',
      'chat.yaml:6: cases[1].turns: missing: metric "turn_relevancy" needs it and the target does not provide it',
      'chat.yaml:8: cases[2].turns: the conversation ends with a user turn, and the suite has no target to answer it',
      'chat.yaml:8: cases[2].chatbot_role: missing: metric "role_adherence" needs it and the target does not provide it',
      'chat.yaml:9: cases[3].chatbot_role: missing: metric "role_adherence" needs it and the target does not provide it',
    ]);
  });
});

describe('a matrix: one suite against two targets, reported and gated per target', () => {
  test('per-target summaries, gates and the side-by-side table, as computed by hand', async () => {
    // model-a knows both capitals; claude gets Lyon wrong.
    fake.server.script = (request) => ({ text: request.model === 'claude-haiku-4-5' && request.prompt.includes('Rhône') ? 'Paris' : request.prompt.includes('Rhône') ? 'Lyon' : 'Paris', usage: { input: 100, output: 10 } });
    const report = await run({
      name: 'capitals',
      targets: [
        { type: 'openai', model: 'model-a', temperature: 0 },
        { type: 'anthropic', model: 'claude-haiku-4-5', id: 'claude', temperature: 0 },
      ],
      metrics: [{ name: 'exact_match', threshold: 1 }],
      cases: [
        { id: 'france', input: 'Capital of France?', expected_output: 'Paris' },
        { id: 'rhone', input: 'Capital of the Rhône department?', expected_output: 'Lyon' },
      ],
    });
    expect(report.suites.map((s) => [s.name, s.target])).toEqual([
      ['capitals[model-a]', 'openai/model-a'],
      ['capitals[claude]', 'anthropic/claude-haiku-4-5'],
    ]);
    expect(Object.keys(report.targets!)).toEqual(['model-a', 'claude']);
    expect(report.targets!['model-a']).toMatchObject({ summary: { exact_match: 1 }, totals: { cases: 2, passed: 2 }, gate: { passed: true, failures: [] }, cost_usd: null });
    // claude-haiku-4-5: $1 in, $5 out per million: 2 × (100 + 50) µ$.
    expect(report.targets!.claude).toMatchObject({ summary: { exact_match: 0.5 }, totals: { cases: 2, passed: 1, failed: 1 }, gate: { passed: false }, cost_usd: 0.0003 });
    expect(report.targets!.claude.gate.failures).toEqual(['capitals[claude]: exact_match passed 1 of 2 cases (50.0%), needs 100.0%']);
    // The report's own summary averages every target; the gate fails because one target does.
    expect(report.summary.exact_match).toBe(0.75);
    expect(report.gate.passed).toBe(false);
    expect(sideBySide(report)).toEqual({
      header: ['', 'model-a', 'claude'],
      rows: [
        ['exact_match (higher is better)', '1.0000', '0.5000'],
        ['cases passed', '2/2', '1/2'],
        ['LLM cost', 'unknown', '$0.000300'],
        ['gate', 'passed', 'FAILED'],
      ],
    });
  });

  test('each target of a matrix submits as a plain suite (what evalctl run --server sends, one run per target)', () => {
    const source = {
      name: 'capitals',
      targets: [{ type: 'openai', model: 'gpt-4o' }, { type: 'http', id: 'agent', url: 'https://agent.test/chat', output: '$.answer' }],
      metrics: [{ name: 'exact_match' }],
      cases: [{ input: 'Capital of France?', expected_output: 'Paris' }],
    };
    const expanded = expandMatrix(resolveSuite(source, 'capitals.yaml', undefined, {}));
    expect(expanded.map((s) => [s.suite.name, s.matrix])).toEqual([
      ['capitals[gpt-4o]', { suite: 'capitals', target: 'gpt-4o' }],
      ['capitals[agent]', { suite: 'capitals', target: 'agent' }],
    ]);
    for (const [index, loaded] of expanded.entries()) {
      expect(loaded.source).toEqual({ name: loaded.suite.name, target: source.targets[index], metrics: source.metrics, cases: source.cases });
      // The platform accepts it as it accepts any suite: one target, no matrix.
      const resubmitted = resolveSuite(loaded.source, 'submitted', undefined, {});
      expect(resubmitted.suite.targets).toBeUndefined();
      expect(resubmitted.suite.target).toMatchObject({ type: source.targets[index].type });
    }
  });

  test('a matrix is refused where it cannot be told apart: two targets with one name, an http target without id, target and targets', () => {
    expect(
      problemsOf(() =>
        parseSuiteText(
          `name: m
target: { type: openai, model: x }
targets:
  - { type: openai, model: gpt-4o-mini }
  - { type: openai, model: gpt-4o-mini, temperature: 0.5 }
  - { type: http, url: "http://agent.test/chat", output: $.answer }
metrics: [{ name: exact_match, value: x }]
cases: [{ input: q }]
`,
          'm.yaml',
        ),
      ),
    ).toEqual([
      'm.yaml:4: targets: give either target or targets, not both',
      'm.yaml:5: targets[1].id: "gpt-4o-mini" names two targets; give each an id',
      'm.yaml:6: targets[2].id: missing: an http target in a matrix needs an id',
    ]);
  });
});
