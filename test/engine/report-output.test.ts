import { evaluateGateRules } from '../../src/runner/gate';
import { toJunitXml } from '../../src/runner/junit';
import { COMMENT_MARKER, toMarkdownComment } from '../../src/runner/markdown';
import { runSuites } from '../../src/runner/run-suites';
import { resolveSuite } from '../../src/suite/load';
import type { SuiteInput } from '../../src/contracts/suite';
import { FAST_RETRY, fakeEnv, useFakeLlmServer } from '../support/engine';

const fake = useFakeLlmServer();
const NO_BUILD = { ci: null, git_sha: null, branch: null, pull_request: null, build_id: null, build_url: null };

/** A chat target priced at $1 per million input tokens: a call with n input tokens costs n µ$. */
function pricedSuite(name: string, tokens: number[], expected = 'ok'): SuiteInput {
  return {
    name,
    target: { type: 'openai', model: 'house-model', temperature: 0 },
    providers: [{ provider: 'openai', model: 'house-model', price: { input_per_mtok: 1, output_per_mtok: 0 } }],
    metrics: [{ name: 'exact_match', threshold: 1 }],
    concurrency: 3,
    cases: tokens.map((n, i) => ({ id: `c${i}`, input: `tokens ${n}`, expected_output: expected })),
  };
}

async function run(suites: SuiteInput[]) {
  const env = fakeEnv(fake.server);
  fake.server.script = (request) => ({ text: 'ok', usage: { input: Number(/tokens (\d+)/.exec(request.prompt)![1]), output: 0 } });
  fake.server.latencyMs = 30;
  return runSuites(suites.map((s) => resolveSuite(s, `${s.name}.yaml`, undefined, env)), { env, retry: FAST_RETRY, build: NO_BUILD });
}

test('money adds up without float noise: 100 + 200 + 132 µ$ is $0.000432 in every total', async () => {
  // The naive float sum of these three costs is 0.00043200000000000004.
  expect(0.0001 + 0.0002 + 0.000132).not.toBe(0.000432);
  const report = await run([pricedSuite('priced', [100, 200, 132])]);
  expect(report.cases.map((c) => c.target!.cost_usd).sort()).toEqual([0.0001, 0.000132, 0.0002]);
  expect(report.usage.total_cost_usd).toBe(0.000432);
  expect(report.usage.target_cost_usd).toBe(0.000432);
  expect(report.usage.by_model[0].cost_usd).toBe(0.000432);
  const costs = [...JSON.stringify(report).matchAll(/"(?:judge_)?cost_usd":([0-9.e-]+)/g)].map((m) => m[1]);
  expect(costs.length).toBeGreaterThan(6);
  expect(costs.filter((c) => c.length > 10)).toEqual([]);
});

test('JUnit times add up level by level, though the cases ran concurrently', async () => {
  const report = await run([pricedSuite('one', [1, 2, 3]), pricedSuite('two', [4, 5], 'other')]);
  const xml = toJunitXml(report);
  const attr = (tag: string, name: string) => [...xml.matchAll(new RegExp(`<${tag} [^>]*${name}="([^"]*)"`, 'g'))].map((m) => m[1]);
  const seconds = (tag: string) => attr(tag, 'time').map(Number);
  const [total] = seconds('testsuites');
  const suites = seconds('testsuite');
  const cases = seconds('testcase');
  expect(suites).toHaveLength(2);
  expect(cases).toHaveLength(5);
  // Each case took at least the fake server's 30 ms, and they overlapped: the sum exceeds the wall time.
  expect(total).toBeCloseTo(suites[0] + suites[1], 3);
  expect(suites[0]).toBeCloseTo(cases[0] + cases[1] + cases[2], 3);
  expect(suites[1]).toBeCloseTo(cases[3] + cases[4], 3);
  expect(Math.min(...suites)).toBeGreaterThanOrEqual(0.06);
  expect(xml).toContain(`<property name="wall_time_s" value="${(report.duration_ms / 1000).toFixed(3)}"/>`);
  expect(xml.match(/<failure /g)).toHaveLength(2);
});

test('the pull-request comment: verdict, metrics against the baseline, cost, regressed and errored cases', async () => {
  const base = await run([pricedSuite('shop', [10, 20, 30])]);
  const head = await run([pricedSuite('shop', [10, 20, 30])]);
  // One case now fails, one errors (its target failed on the LLM's side).
  head.cases[1].metrics.exact_match = { ...head.cases[1].metrics.exact_match, score: 0, passed: false };
  head.cases[1].status = 'failed';
  head.cases[2] = { ...head.cases[2], status: 'errored', error: 'target failed: openai house-model: HTTP 503: overloaded (gave up after 5 attempts)', error_cause: 'outage', metrics: {} };
  head.summary.exact_match = 0.5;
  head.totals = { cases: 3, passed: 1, failed: 1, errored: 1, pass_rate: 1 / 3 };
  head.metrics.exact_match = { ...head.metrics.exact_match, mean: 0.5, passed: 1, failed: 1, errored: 1 };
  head.gate = { ...head.gate, passed: false, failures: ['shop: exact_match passed 1 of 3 cases (33.3%), needs 100.0%'] };
  const outcome = evaluateGateRules(head, { baseline: base, maxDrop: 0.02 });
  const comment = toMarkdownComment(head, { outcome, baseline: base, maxDrop: 0.02 });
  expect(comment.split('\n')[0]).toBe(COMMENT_MARKER);
  expect(comment).toContain('### Evaluation: ❌ failed');
  expect(comment).toContain('3 cases: 1 passed, 1 failed, 1 errored · LLM cost $0.000060');
  expect(comment).toContain('| exact_match | 0.5000 | 1.0000 | -0.5000 | ≥ 1 | 1/3 (1 errored) |');
  expect(comment).toContain('- shop: exact_match passed 1 of 3 cases (33.3%), needs 100.0%');
  expect(comment).toContain('- exact_match: 0.5000 (drop <= 0.02 vs baseline, baseline 1.0000)');
  expect(comment).toContain('**Cases that got worse (1)**');
  expect(comment).toContain('| shop | c1 | exact_match | 1.0000 | 0.0000 | passed → failed |');
  expect(comment).toContain('- shop / c2: target failed: openai house-model: HTTP 503: overloaded (gave up after 5 attempts)');
  const clean = toMarkdownComment(base);
  expect(clean).toContain('### Evaluation: ✅ passed');
  expect(clean).toContain('_No baseline report to compare with: gated on thresholds only._');
});
