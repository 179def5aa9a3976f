import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSuites, parseSuiteText, resolveSuite, SuiteError } from '../../src/suite/load';
import { defineSuite } from '../../src/contracts/suite';

function problemsOf(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    if (error instanceof SuiteError) return error.message.split('\n');
    throw error;
  }
  throw new Error('expected a SuiteError');
}

const VALID = `name: refunds
judge: { provider: openai, model: gpt-4o-mini }
metrics:
  - faithfulness
  - name: contains
    value: refund
cases:
  - id: first
    input: Can I get a refund?
    actual_output: Yes, a refund within 30 days.
    retrieval_context: [Refunds within 30 days.]
`;

test('a valid suite resolves its metrics with defaults and ids', () => {
  const loaded = parseSuiteText(VALID, 'refunds.yaml');
  expect(loaded.metrics.map((m) => [m.id, m.threshold])).toEqual([
    ['faithfulness', 0.5],
    ['contains', 1],
  ]);
  expect(loaded.caseIds).toEqual(['first']);
  expect(loaded.suite.target).toEqual({ type: 'none' });
});

test('an error names the file, the line, the case id and the field', () => {
  const text = VALID.replace('    retrieval_context: [Refunds within 30 days.]', '    retrieval_context: [Refunds within 30 days.]\n    expected_tools:\n      - name: 42');
  expect(problemsOf(() => parseSuiteText(text, 'suites/refunds.yaml'))).toEqual([
    'suites/refunds.yaml:13: cases[0] (id "first").expected_tools[0].name: Invalid input: expected string, received number',
  ]);
});

test('every problem is reported at once: an unknown field does not hide the metric and case problems behind it', () => {
  const text = `name: broken
metrics:
  - faithfulness
  - name: regex
    pattern: "("
  - made_up_metric
  - { name: exact_match, threshold: high, ignore_cas: true }
cases:
  - input: one
  - input: two
    actual_output: out
    unknown_field: 1
  - id: dup
    input: three
    actual_output: out
    expected_output: out
  - id: dup
    input: four
    actual_output: out
`;
  expect(problemsOf(() => parseSuiteText(text, 'broken.yaml'))).toEqual([
    // The schema's findings, with what was expected: not the union's bare "Invalid input".
    'broken.yaml:7: metrics[3].threshold: Invalid input: expected number, received string',
    'broken.yaml:12: cases[1].unknown_field: unknown field',
    // And, in the same pass, everything the metrics and cases say.
    'broken.yaml:3: metrics[0]: metric "faithfulness" needs an LLM judge: add `judge: { provider: openai, model: gpt-4o-mini }` to the suite',
    expect.stringMatching(/^broken\.yaml:5: metrics\[1\]\.pattern: invalid regular expression/),
    'broken.yaml:6: metrics[2]: unknown metric "made_up_metric"; known: faithfulness, answer_relevancy, contextual_precision, contextual_recall, hallucination, g_eval, tool_correctness, task_completion, turn_relevancy, role_adherence, knowledge_retention, conversation_completeness, exact_match, contains, icontains, regex, pattern_match, json_valid, json_schema, levenshtein, latency_ms, cost (evalctl metrics lists them with their options)',
    'broken.yaml:7: metrics[3].ignore_cas: unknown field',
    'broken.yaml:9: cases[0].actual_output: missing, and the suite has no target to produce it',
    'broken.yaml:9: cases[0].retrieval_context: missing: metric "faithfulness" needs it and the target does not provide it',
    'broken.yaml:10: cases[1].retrieval_context: missing: metric "faithfulness" needs it and the target does not provide it',
    'broken.yaml:13: cases[2] (id "dup").retrieval_context: missing: metric "faithfulness" needs it and the target does not provide it',
    'broken.yaml:17: cases[3] (id "dup").id: case id "dup" is used twice in this suite',
    'broken.yaml:17: cases[3] (id "dup").retrieval_context: missing: metric "faithfulness" needs it and the target does not provide it',
  ]);
});

test('a metric whose options need a case field refuses the case before any call', () => {
  const text = `name: exact
metrics:
  - exact_match
  - { name: levenshtein, id: close_to_fixed, value: Paris }
  - { name: g_eval, criteria: Correct?, evaluation_params: [input, actual_output, context] }
judge: { provider: openai, model: gpt-4o-mini }
cases:
  - { id: paris, input: Capital of France?, actual_output: Paris }
`;
  expect(problemsOf(() => parseSuiteText(text, 'exact.yaml'))).toEqual([
    'exact.yaml:8: cases[0] (id "paris").expected_output: missing: metric "exact_match" needs it and the target does not provide it',
    'exact.yaml:8: cases[0] (id "paris").context: missing: metric "g_eval" needs it and the target does not provide it',
  ]);
});

test('fields a target provides are not required of the case; others are', () => {
  const withTarget = VALID.replace('judge:', 'target: { type: openai, model: gpt-4o-mini }\njudge:')
    .replace('    actual_output: Yes, a refund within 30 days.\n', '')
    .replace('  - faithfulness', '  - faithfulness\n  - tool_correctness');
  expect(problemsOf(() => parseSuiteText(withTarget, 's.yaml'))).toEqual([
    's.yaml:10: cases[0] (id "first").expected_tools: missing: metric "tool_correctness" needs it and the target does not provide it',
  ]);
});

test('thresholds outside the metric’s range and duplicate ids are refused', () => {
  const text = VALID.replace('  - name: contains\n    value: refund', '  - name: faithfulness\n    threshold: 1.5');
  expect(problemsOf(() => parseSuiteText(text, 's.yaml'))).toEqual([
    's.yaml:5: metrics[1]: metric id "faithfulness" is used twice; give one entry a distinct `id`',
    "s.yaml:6: metrics[1].threshold: threshold 1.5 is outside faithfulness's range [0, 1]",
  ]);
});

test('${VAR} in the target reads the environment; a missing variable is named', () => {
  const text = `name: agent
target:
  type: http
  url: https://agent.internal/chat
  headers: { Authorization: "Bearer \${AGENT_TOKEN}" }
  output: $.answer
metrics: [icontains]
cases: [{ input: hi }]
`.replace('[icontains]', '[{ name: icontains, value: hello }]');
  expect(problemsOf(() => parseSuiteText(text, 'agent.yaml', {}))).toEqual([
    'agent.yaml:5: target.headers.Authorization: environment variable AGENT_TOKEN is not set',
  ]);
  const loaded = parseSuiteText(text, 'agent.yaml', { AGENT_TOKEN: 'secret-token-value' });
  expect(loaded.suite.target).toMatchObject({ headers: { Authorization: 'Bearer secret-token-value' } });
});

test('a YAML syntax error and a JSON suite', () => {
  expect(problemsOf(() => parseSuiteText('name: [unclosed\n', 'bad.yaml'))[0]).toMatch(/^bad\.yaml:\d+: not valid YAML/);
  const json = JSON.stringify({ name: 'j', metrics: ['json_valid'], cases: [{ input: 'x', actual_output: '{}' }] }, null, 2);
  expect(parseSuiteText(json, 'j.json').suite.name).toBe('j');
  expect(problemsOf(() => parseSuiteText(json.replace('"x"', '7'), 'j.json'))[0]).toBe(
    'j.json:8: cases[0].input: Invalid input: expected string, received number',
  );
  // JSON.parse would let the second "input" win; a suite file with a repeated key is refused, with its line.
  const repeated = json.replace('"input": "x"', '"input": "x", "input": "y"');
  expect(problemsOf(() => parseSuiteText(repeated, 'j.json'))[0]).toMatch(/^j\.json:\d+: not valid JSON: Map keys must be unique/);
  // The same key in two objects, or escaped differently in one, is told apart as JSON does.
  expect(parseSuiteText(JSON.stringify({ name: 'j', metrics: ['json_valid'], cases: [{ input: 'a', actual_output: '{}' }, { input: 'b', actual_output: '{}' }] }), 'j.json').suite.cases).toHaveLength(2);
  expect(problemsOf(() => parseSuiteText(json.replace('"input": "x"', '"input": "x", "\\u0069nput": "y"'), 'j.json'))[0]).toMatch(/^j\.json:\d+: not valid JSON/);
  // Invalid JSON is reported by line, as before.
  expect(problemsOf(() => parseSuiteText('{"name": "j",\n "cases": [}', 'bad.json'))[0]).toMatch(/^bad\.json:2: not valid JSON/);
});

test('folders load every suite file; all files’ problems come together', async () => {
  const root = mkdtempSync(join(tmpdir(), 'suites-'));
  try {
    mkdirSync(join(root, 'nested'));
    writeFileSync(join(root, 'a.yaml'), VALID);
    writeFileSync(join(root, 'nested', 'b.json'), JSON.stringify({ name: 'b', metrics: ['json_valid'], cases: [{ input: 'x', actual_output: '{}' }] }));
    writeFileSync(join(root, 'notes.txt'), 'ignored');
    expect((await loadSuites([root])).map((s) => s.suite.name)).toEqual(['refunds', 'b']);
    writeFileSync(join(root, 'c.yaml'), 'name: c\nmetrics: []\ncases: []\n');
    await expect(loadSuites([root])).rejects.toThrow(/c\.yaml:2: metrics: Too small.*\n.*c\.yaml:3: cases: Too small/);
    await expect(loadSuites([join(root, 'missing.yaml')])).rejects.toThrow(/missing\.yaml: no such file or folder/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a suite written in TypeScript is checked like a file', () => {
  const suite = defineSuite({
    name: 'typed',
    metrics: [{ name: 'exact_match', threshold: 1 }],
    cases: [{ id: 'paris', input: 'Capital of France?', actual_output: 'Paris', expected_output: 'Paris' }],
  });
  expect(resolveSuite(suite, 'typed.ts').metrics[0].id).toBe('exact_match');
  expect(problemsOf(() => resolveSuite({ ...suite, cases: [{ id: 'paris', input: 'x' }] }, 'typed.ts'))).toEqual([
    'typed.ts: cases[0] (id "paris").actual_output: missing, and the suite has no target to produce it',
    'typed.ts: cases[0] (id "paris").expected_output: missing: metric "exact_match" needs it and the target does not provide it',
  ]);
});

test('the example suites load as written (the quality gate runs them)', async () => {
  const suites = await loadSuites([join(__dirname, '../../examples/suites')], { OPENAI_API_KEY: 'unused' });
  expect(suites.map((s) => s.suite.name).sort()).toEqual(['support-bot', 'support-chat']);
  const chat = suites.find((s) => s.suite.name === 'support-chat')!;
  expect(chat.suite.cases.map((c) => c.input)).toEqual(['Please send it to 12 Harbour Street instead.', 'Which size should I order in your running shoes?']);
});
