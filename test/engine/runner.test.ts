import { detectBuildMetadata } from '../../src/build-metadata';
import { runSuites } from '../../src/runner/run-suites';
import { resolveSuite } from '../../src/suite/load';
import type { SuiteInput } from '../../src/contracts/suite';
import { FAST_RETRY, fakeEnv, useFakeLlmServer } from '../support/engine';

const fake = useFakeLlmServer();

const NO_BUILD = { ci: null, git_sha: null, branch: null, pull_request: null, build_id: null, build_url: null };

function run(suite: SuiteInput, options: Parameters<typeof runSuites>[1] = {}) {
  const env = fakeEnv(fake.server);
  return runSuites([resolveSuite(suite, 'suite.yaml', undefined, env)], { env, retry: FAST_RETRY, build: NO_BUILD, ...options });
}

test('an Anthropic chat target: tool calls, tokens and cost flow into the case', async () => {
  fake.server.script = (request) =>
    request.prompt.includes('order')
      ? { text: 'Looking it up.', toolCalls: [{ name: 'lookup_order', arguments: { id: 42 } }], usage: { input: 1_000, output: 100 } }
      : { text: 'Hello.', usage: { input: 1_000, output: 100 } };
  const report = await run({
    name: 'agent',
    target: { type: 'anthropic', model: 'claude-haiku-4-5', system_prompt: 'You are an agent.', input_template: 'User: {{input}}' },
    metrics: [{ name: 'tool_correctness', match: 'exact' }, { name: 'cost', threshold: 0.001 }],
    cases: [
      { id: 'order', input: 'Where is my order?', expected_tools: [{ name: 'lookup_order' }] },
      { id: 'greeting', input: 'Hi', expected_tools: [] },
    ],
  });
  expect(fake.server.requests[0]).toMatchObject({ api: 'anthropic', system: 'You are an agent.' });
  expect(fake.server.requests.map((r) => r.prompt).sort()).toEqual(['User: Hi', 'User: Where is my order?']);
  const order = report.cases.find((c) => c.id === 'order')!;
  expect(order.tools_called).toEqual([{ name: 'lookup_order', arguments: { id: 42 } }]);
  expect(order.metrics.tool_correctness.score).toBe(1);
  // claude-haiku-4-5: $1 input, $5 output per million tokens.
  expect(order.target!.cost_usd).toBeCloseTo((1_000 * 1 + 100 * 5) / 1e6, 12);
  expect(order.metrics.cost).toMatchObject({ passed: false, threshold: 0.001 });
  expect(report.summary.tool_correctness).toBe(1);
  expect(report.gate.passed).toBe(false);
  expect(report.gate.failures).toEqual(['agent: cost passed 0 of 2 cases (0.0%), needs 100.0%']);
});

test('a target that keeps failing errors its case with the reason; the other cases still count', async () => {
  fake.server.script = (request) => (request.prompt.includes('boom') ? { status: 500 } : { text: 'fine answer' });
  const report = await run({
    name: 'mixed',
    target: { type: 'openai', model: 'gpt-4o-mini' },
    metrics: [{ name: 'icontains', value: 'fine' }],
    gate: { max_errored: 1 },
    cases: [{ input: 'ok one' }, { input: 'boom' }, { input: 'ok two' }],
  });
  expect(report.cases.map((c) => c.status)).toEqual(['passed', 'errored', 'passed']);
  expect(report.cases[1].error).toMatch(/^target failed: openai gpt-4o-mini: HTTP 500: .*gave up after 3 attempts/);
  expect(report.cases[1].metrics).toEqual({});
  expect(report.metrics.icontains).toMatchObject({ scored: 2, passed: 2, errored: 1, mean: 1 });
  expect(report.totals).toMatchObject({ cases: 3, passed: 2, errored: 1 });
  // One errored case is allowed, but icontains passed only 2 of 3 cases.
  expect(report.gate.failures).toEqual(['mixed: icontains passed 2 of 3 cases (66.7%), needs 100.0%']);
});

test('concurrency bounds the cases in flight; progress reports every case', async () => {
  let inFlight = 0;
  let peak = 0;
  fake.server.latencyMs = 20;
  fake.server.script = () => {
    peak = Math.max(peak, ++inFlight);
    setTimeout(() => inFlight--, 20);
    return { text: 'answer' };
  };
  const progress: number[] = [];
  const report = await run(
    {
      name: 'pool',
      target: { type: 'openai', model: 'gpt-4o-mini' },
      metrics: [{ name: 'icontains', value: 'answer' }],
      cases: Array.from({ length: 12 }, (_, i) => ({ input: `q${i}` })),
    },
    { concurrency: 3, onProgress: (p) => progress.push(p.done) },
  );
  expect(report.totals.passed).toBe(12);
  // Exactly the concurrency: never more, and not fewer (cases run side by side, not one after another).
  expect(peak).toBe(3);
  expect(progress).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
});

test('an unknown model’s cost is unknown in every total, never 0', async () => {
  fake.server.script = () => ({ text: 'answer', usage: { input: 10, output: 10 } });
  const report = await run({
    name: 'local',
    target: { type: 'openai', model: 'llama3.1' },
    metrics: [{ name: 'icontains', value: 'answer' }],
    cases: [{ input: 'q' }],
  });
  expect(report.cases[0].target!.cost_usd).toBeNull();
  expect(report.usage).toMatchObject({ total_cost_usd: null, target_cost_usd: null, judge_cost_usd: 0 });
});

test('build metadata from each CI, with overrides', () => {
  expect(
    detectBuildMetadata({ GITLAB_CI: 'true', CI_COMMIT_SHA: 'c0ffee', CI_MERGE_REQUEST_SOURCE_BRANCH_NAME: 'mr-branch', CI_COMMIT_REF_NAME: 'x', CI_MERGE_REQUEST_IID: '7', CI_PIPELINE_ID: '99', CI_PIPELINE_URL: 'https://gitlab/p/99' }),
  ).toEqual({ ci: 'gitlab-ci', git_sha: 'c0ffee', branch: 'mr-branch', pull_request: '7', build_id: '99', build_url: 'https://gitlab/p/99' });
  expect(detectBuildMetadata({ BUILDKITE: 'true', BUILDKITE_COMMIT: 'b1', BUILDKITE_BRANCH: 'main', BUILDKITE_PULL_REQUEST: 'false', BUILDKITE_BUILD_NUMBER: '5' })).toMatchObject({
    ci: 'buildkite',
    pull_request: null,
  });
  expect(detectBuildMetadata({ CIRCLECI: 'true', CIRCLE_SHA1: 'c1', CIRCLE_BRANCH: 'f', CIRCLE_PULL_REQUEST: 'https://github.com/o/r/pull/12', CIRCLE_BUILD_NUM: '3' })).toMatchObject({
    pull_request: '12',
  });
  expect(detectBuildMetadata({ GITHUB_ACTIONS: 'true', GITHUB_SHA: 'a1', GITHUB_REF: 'refs/heads/main', GITHUB_REF_NAME: 'main', EVAL_BUILD_ID: 'custom' })).toMatchObject({
    branch: 'main',
    pull_request: null,
    build_id: 'custom',
  });
  // Outside CI: git tells the commit of this checkout.
  expect(detectBuildMetadata({}, __dirname).git_sha).toMatch(/^[0-9a-f]{40}$/);
});
