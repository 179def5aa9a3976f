import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import { parse as parseYaml } from 'yaml';
import type { Report } from '../../src/contracts/report';
import { parseSuiteText } from '../../src/suite/load';
import { echoTruths, startFakeLlmServer, type FakeLlmServer, type FakeReply, type FakeRequest } from '../support/fake-llm-server';
import { fakeEnv, TEST_ANTHROPIC_KEY, TEST_OPENAI_KEY } from '../support/engine';

const ROOT = resolve(__dirname, '../..');
const EVALCTL = join(ROOT, 'bin/evalctl.js');
const AGENT_TOKEN = 'agent-bearer-token-7f3a9c2e11';

let server: FakeLlmServer;
let work: string;
beforeAll(async () => {
  server = await startFakeLlmServer();
  work = mkdtempSync(join(tmpdir(), 'evalctl-'));
});
afterAll(async () => {
  await server.close();
  rmSync(work, { recursive: true, force: true });
});
beforeEach(() => {
  server.requests.length = 0;
});

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the installed bin as a user would, with a CI-like environment (no TTY). */
function evalctl(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Result> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [EVALCTL, ...args],
      {
        cwd: work,
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          ...fakeEnv(server),
          LLM_RETRY_BASE_DELAY_MS: '5',
          LLM_RETRY_MAX_DELAY_MS: '20',
          GITHUB_ACTIONS: 'true',
          GITHUB_SHA: 'abc123def',
          GITHUB_REF: 'refs/pull/42/merge',
          GITHUB_HEAD_REF: 'feature/better-prompts',
          GITHUB_RUN_ID: '9001',
          ...env,
        },
      },
      (error, stdout, stderr) => done({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** A judge that finds every claim supported unless the prompt mentions "Mars". */
function judge(request: FakeRequest): FakeReply {
  switch (request.schemaName) {
    case 'claims':
      return { json: { claims: ['claim one', 'claim two'] } };
    case 'truths':
      return echoTruths(request);
    case 'claim_verdicts': {
      const contradicted = request.prompt.includes('Mars');
      return { json: { verdicts: [{ verdict: 'yes', reason: 'ok' }, { verdict: contradicted ? 'no' : 'yes', reason: 'r' }] } };
    }
    default:
      // The agent under test: its answer depends on the question.
      return { text: request.prompt.includes('refund') ? 'A refund takes 5 days.' : 'Shipping is free.', usage: { input: 40, output: 10 } };
  }
}

function writeSuite(name: string, cases: string, extra = ''): string {
  const path = join(work, `${name}.yaml`);
  writeFileSync(
    path,
    `name: ${name}
project: shop
target: { type: openai, model: gpt-4o-mini, temperature: 0, system_prompt: Be brief. }
judge: { provider: openai, model: gpt-4o-mini }
metrics:
  - { name: faithfulness, threshold: 0.9 }
  - { name: icontains, value: days, threshold: 0 }
${extra}cases:
${cases}`,
  );
  return path;
}

const GOOD_CASES = `  - { id: refund, input: How long does a refund take?, retrieval_context: [Refunds take 5 days.], topic: refunds }
  - { id: shipping, input: Is shipping free?, retrieval_context: [Shipping is free.], topic: shipping }
`;
const BAD_CASES = GOOD_CASES.replace('Refunds take 5 days.', 'Refunds take 5 days, even on Mars.');

const readReport = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as Report;
const jq = (expression: string, file: string) => spawnSync('jq', ['-e', expression, file]).status;

test('run: a passing suite exits 0 and writes a report the brief’s jq gate reads', async () => {
  server.script = judge;
  const suite = writeSuite('good', GOOD_CASES);
  const result = await evalctl(['run', suite, '--output-json', 'out/report.json', '--junit', 'out/junit.xml', '--no-cache']);
  expect(result.stderr).toContain('progress: 2/2 cases');
  expect(result.code).toBe(0);
  expect(result.stdout).toMatch(/2 cases: 2 passed, 0 failed, 0 errored/);
  const reportPath = join(work, 'out/report.json');
  expect(jq('.summary.faithfulness > 0.9', reportPath)).toBe(0);
  const report = readReport(reportPath);
  expect(report.summary).toEqual({ faithfulness: 1, icontains: 0.5 });
  expect(report.totals).toEqual({ cases: 2, passed: 2, failed: 0, errored: 0, pass_rate: 1 });
  expect(report.build).toMatchObject({ ci: 'github-actions', git_sha: 'abc123def', branch: 'feature/better-prompts', pull_request: '42', build_id: '9001' });
  expect(report.project).toBe('shop');
  const [usage] = report.usage.by_model;
  // 2 target calls + 2 × (claims + truths + verdicts).
  expect(usage).toMatchObject({ provider: 'openai', model: 'gpt-4o-mini', calls: 8, cache_hits: 0 });
  expect(report.usage.total_cost_usd).toBeGreaterThan(0);
  expect(report.usage.total_cost_usd).toBeCloseTo(report.usage.target_cost_usd! + report.usage.judge_cost_usd!, 12);
  const refund = report.cases.find((c) => c.id === 'refund')!;
  expect(refund).toMatchObject({ status: 'passed', actual_output: 'A refund takes 5 days.', topic: 'refunds' });
  expect(refund.metrics.faithfulness).toMatchObject({ score: 1, passed: true, threshold: 0.9, error: null });
  expect(refund.metrics.faithfulness.judge_input_tokens).toBeGreaterThan(0);
  expect(refund.target!.input_tokens).toBe(40);
  const junit = readFileSync(join(work, 'out/junit.xml'), 'utf8');
  expect(junit).toContain('<testsuite name="good"');
  expect(junit.match(/<testcase /g)).toHaveLength(2);
  for (const text of [readFileSync(reportPath, 'utf8'), junit, result.stdout, result.stderr]) {
    expect(text).not.toContain(TEST_OPENAI_KEY);
    expect(text).not.toContain(TEST_ANTHROPIC_KEY);
  }
});

test('run: a contradicted claim fails the gate with exit 1, and jq agrees', async () => {
  server.script = judge;
  const suite = writeSuite('bad', BAD_CASES);
  const result = await evalctl(['run', suite, '--output-json', 'bad.json', '--junit', 'bad.xml', '--no-cache']);
  expect(result.code).toBe(1);
  expect(result.stdout).toContain('Gate FAILED');
  expect(result.stdout).toContain('bad: faithfulness passed 1 of 2 cases (50.0%), needs 100.0%');
  expect(jq('.summary.faithfulness > 0.9', join(work, 'bad.json'))).toBe(1);
  const report = readReport(join(work, 'bad.json'));
  expect(report.summary.faithfulness).toBeCloseTo(0.75);
  expect(report.cases.find((c) => c.id === 'refund')!.metrics.faithfulness.reason).toContain('"claim two"');
  expect(readFileSync(join(work, 'bad.xml'), 'utf8')).toMatch(/<testcase classname="bad" name="refund"[^>]*>\s*<failure message="failed: faithfulness"/);

  const relaxed = await evalctl(['run', suite, '--threshold', 'faithfulness=0.5', '--no-cache']);
  expect(relaxed.code).toBe(0);
});

test('run: usage and configuration errors exit 2 and say what is wrong', async () => {
  const broken = join(work, 'broken.yaml');
  writeFileSync(broken, 'name: broken\nmetrics: [faithfulness]\ncases:\n  - input: 3\n');
  const invalid = await evalctl(['run', broken]);
  expect(invalid.code).toBe(2);
  expect(invalid.stderr).toContain('broken.yaml:4: cases[0].input: Invalid input: expected string, received number');
  writeFileSync(broken, 'name: broken\nmetrics: [faithfulness]\ncases:\n  - input: "3"\n    actual_output: three\n');
  const noJudge = await evalctl(['run', broken]);
  expect(noJudge.code).toBe(2);
  expect(noJudge.stderr).toContain('broken.yaml:2: metrics[0]: metric "faithfulness" needs an LLM judge');
  expect(noJudge.stderr).toContain('broken.yaml:4: cases[0].retrieval_context: missing');

  expect((await evalctl(['run'])).code).toBe(2);
  expect((await evalctl(['run', writeSuite('x', GOOD_CASES), '--bogus'])).stderr).toMatch(/Unknown option '--bogus'/);
  const unknownMetric = await evalctl(['run', writeSuite('y', GOOD_CASES), '--threshold', 'hallucination=0.1']);
  expect(unknownMetric.code).toBe(2);
  expect(unknownMetric.stderr).toContain('no suite has a metric "hallucination"');
  const noKey = await evalctl(['run', writeSuite('k', GOOD_CASES)], { OPENAI_API_KEY: '', OPENAI_BASE_URL: '' });
  expect(noKey.code).toBe(2);
  expect(noKey.stderr).toContain('k.yaml: the target calls OpenAI and OPENAI_API_KEY is not set');
  const badEnv = await evalctl(['run', writeSuite('z', GOOD_CASES)], { LLM_RETRY_MAX_ATTEMPTS: 'lots' });
  expect(badEnv.code).toBe(2);
  expect(badEnv.stderr).toContain('LLM_RETRY_MAX_ATTEMPTS');
  expect(server.requests).toHaveLength(0);
});

test('run: an unparsable judge reply errors the case with the raw reply; nothing is scored silently', async () => {
  server.script = (request) => (request.schemaName ? { text: 'no comment' } : judge(request));
  const suite = writeSuite('mute', GOOD_CASES);
  // Every case errored: more than the default --max-errored-share (0.5), so nothing was evaluated (exit 3).
  const result = await evalctl(['run', suite, '--output-json', 'mute.json', '--no-cache']);
  expect(result.code).toBe(3);
  expect(result.stderr).toContain('not evaluated: 2 of 2 cases errored, more than --max-errored-share 0.5');
  expect(result.stdout).toMatch(/Errored cases \(first 2 of 2\):\n  mute \/ refund: faithfulness: .*no usable claims reply in 3 attempts/);
  // Allowed to error that much, the errored cases fail the suite's gate instead.
  expect((await evalctl(['run', suite, '--no-cache', '--max-errored-share', '1'])).code).toBe(1);
  const report = readReport(join(work, 'mute.json'));
  expect(report.cases[0].error).toMatch(/^faithfulness: .*no usable claims reply in 3 attempts/);
  expect(report.cases[0].error_cause).toBe('other');
  expect(report.totals.errored).toBe(2);
  expect(report.summary.faithfulness).toBeNull();
  expect(report.metrics.faithfulness.errored).toBe(2);
  expect(report.cases[0].metrics.faithfulness).toMatchObject({ score: null, passed: false, raw_reply: 'no comment' });
  expect(report.cases[0].metrics.faithfulness.error).toMatch(/no usable claims reply in 3 attempts/);
  expect(report.gate.failures).toContain('mute: 2 case(s) errored, 0 allowed');
});

describe('a DeepEval dataset file as the suite\'s cases (dataset_file)', () => {
  const FIXTURES = resolve(__dirname, '../fixtures/deepeval');
  beforeAll(() => mkdirSync(join(work, 'goldens'), { recursive: true }));
  const datasetSuite = (dataset: string, metrics = '  - faithfulness\n  - { name: tool_correctness, check_arguments: true }\n') => {
    const path = join(work, 'goldens', `suite-${dataset.replace(/\W/g, '-')}.yaml`);
    writeFileSync(path, `name: goldens\njudge: { provider: openai, model: gpt-4o-mini }\ndataset_file: ${dataset}\nmetrics:\n${metrics}gate: { min_pass_rate: 0 }\n`);
    return path;
  };

  test.each(['goldens.csv', 'goldens.jsonl', 'goldens.json'])('%s, as DeepEval wrote it, runs unchanged', async (file) => {
    copyFileSync(join(FIXTURES, file), join(work, 'goldens', file));
    server.script = judge;
    const suite = datasetSuite(file);
    const result = await evalctl(['run', suite, '--output-json', `goldens-${file}.report.json`, '--no-cache']);
    expect(result.stderr).toContain('progress: 3/3 cases');
    expect(result.code).toBe(0);
    const report = readReport(join(work, `goldens-${file}.report.json`));
    // The goldens' names are the case ids; the second expects notify_customer too, which the agent never called.
    expect(report.cases.map((c) => [c.id, c.metrics.tool_correctness.score])).toEqual([
      ['refund-window', 1],
      ['order-status', 0.5],
      ['greeting', 1],
    ]);
    expect(report.summary.faithfulness).toBe(1);
    expect(report.cases[1].metadata).toMatchObject({ comments: 'A note over two lines,\nwith a comma and a "quote".', source_file: 'orders.md' });
  });

  test('a folder of suites and their datasets: a dataset a suite names is not read as a suite', async () => {
    const folder = join(work, 'evals');
    mkdirSync(join(folder, 'data'), { recursive: true });
    copyFileSync(join(FIXTURES, 'goldens.json'), join(folder, 'data', 'goldens.json'));
    writeFileSync(join(folder, 'support.yaml'), 'name: support\ndataset_file: data/goldens.json\nmetrics: [{ name: tool_correctness }]\n');
    writeFileSync(join(folder, 'stray.json'), '[{"input": "q"}]');
    const withStray = await evalctl(['run', 'evals']);
    expect(withStray.code).toBe(2);
    expect(withStray.stderr).toContain('evals/stray.json:1: a JSON array is not a suite (a DeepEval dataset? name it in a suite\'s dataset_file)');
    expect(withStray.stderr).not.toContain('goldens.json');
    rmSync(join(folder, 'stray.json'));
    const clean = await evalctl(['run', 'evals']);
    // order-status scores 0.5 (notify_customer was never called), at the default threshold of 0.5.
    expect(clean.stdout).toMatch(/3 cases: 3 passed, 0 failed, 0 errored[\s\S]*tool_correctness +mean +0.8333/);
    expect(clean.code).toBe(0);
  });

  test('a problem in the dataset, or a case its metrics cannot score, is reported at the dataset\'s line', async () => {
    writeFileSync(join(work, 'goldens', 'bad.csv'), 'input,tools_called\nq1,\n"q2\nspans two lines",not json\n');
    const bad = await evalctl(['run', datasetSuite('bad.csv')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('goldens/bad.csv:3: cases[1].tools_called: not valid JSON');
    // Valid goldens, but exact_match needs expected_output and the second has none.
    writeFileSync(join(work, 'goldens', 'no-expected.jsonl'), '{"input": "a", "actual_output": "x", "expected_output": "x"}\n\n{"input": "b", "actual_output": "y"}\n');
    const missing = await evalctl(['run', datasetSuite('no-expected.jsonl', '  - exact_match\n')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('goldens/no-expected.jsonl:3: cases[1].expected_output: missing: metric "exact_match" needs it');
    const absent = await evalctl(['run', datasetSuite('absent.csv')]);
    expect(absent.stderr).toMatch(/suite-absent-csv\.yaml:3: dataset_file: cannot read goldens\/absent\.csv: no such file/);
  });
});

test('run: an unchanged re-run is answered from the cache and costs nothing', async () => {
  server.script = judge;
  const suite = writeSuite('cached', GOOD_CASES);
  const cacheDir = join(work, 'cache');
  expect((await evalctl(['run', suite, '--cache-dir', cacheDir])).code).toBe(0);
  const firstCalls = server.requests.length;
  expect(firstCalls).toBe(8);
  const again = await evalctl(['run', suite, '--cache-dir', cacheDir, '--output-json', 'cached.json']);
  expect(again.code).toBe(0);
  expect(server.requests).toHaveLength(firstCalls);
  const report = readReport(join(work, 'cached.json'));
  expect(report.usage.by_model[0]).toMatchObject({ calls: 8, cache_hits: 8, cost_usd: 0 });
  expect(report.summary.faithfulness).toBe(1);
  expect(again.stdout).toContain('8 call(s) from the cache');
});

describe('an HTTP agent as the target', () => {
  let agent: Server;
  let agentUrl: string;
  const seen: Array<{ auth?: string; body: unknown }> = [];
  beforeAll(async () => {
    agent = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        seen.push({ auth: req.headers.authorization, body: JSON.parse(body) });
        if (req.headers.authorization !== `Bearer ${AGENT_TOKEN}`) {
          res.writeHead(401).end(JSON.stringify({ error: 'unauthorised' }));
          return;
        }
        const question = (JSON.parse(body) as { query: { text: string } }).query.text;
        res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            data: {
              answer: `Looked up: ${question}`,
              sources: [{ text: 'Order 42 shipped.' }, { text: 'Refunds take 5 days.' }],
              steps: [{ tool: { name: 'lookup_order', arguments: '{"id":42}' } }, { tool: { name: 'send_email', arguments: {} } }],
            },
          }),
        );
      });
    });
    await new Promise<void>((done) => agent.listen(0, '127.0.0.1', done));
    agentUrl = `http://127.0.0.1:${(agent.address() as AddressInfo).port}/chat`;
  });
  afterAll(() => new Promise<void>((done) => agent.close(() => done())));

  test('request template, JSONPath mapping of output, context and tool calls; the token stays out of the report', async () => {
    const suite = join(work, 'agent.yaml');
    writeFileSync(
      suite,
      `name: agent
target:
  type: http
  url: ${agentUrl}
  headers: { Authorization: "Bearer \${AGENT_TOKEN}" }
  body: { query: { text: "{{input}}", locale: "{{metadata.locale}}" }, history: [] }
  output: $.data.answer
  retrieval_context: $.data.sources[*].text
  tools_called: $.data.steps[*].tool
metrics:
  - { name: tool_correctness, match: ordered, check_arguments: true }
  - { name: contains, value: Looked up }
cases:
  - id: order
    input: Where is order 42?
    metadata: { locale: en-GB }
    expected_tools: [{ name: lookup_order, arguments: { id: 42 } }, { name: send_email, arguments: {} }]
`,
    );
    const result = await evalctl(['run', suite, '--output-json', 'agent.json'], { AGENT_TOKEN });
    expect(result.stderr).not.toContain('Error');
    expect(result.code).toBe(0);
    expect(seen.at(-1)).toEqual({ auth: `Bearer ${AGENT_TOKEN}`, body: { query: { text: 'Where is order 42?', locale: 'en-GB' }, history: [] } });
    const text = readFileSync(join(work, 'agent.json'), 'utf8');
    expect(text).not.toContain(AGENT_TOKEN);
    const [order] = readReport(join(work, 'agent.json')).cases;
    expect(order.actual_output).toBe('Looked up: Where is order 42?');
    expect(order.retrieval_context).toEqual(['Order 42 shipped.', 'Refunds take 5 days.']);
    expect(order.tools_called).toEqual([{ name: 'lookup_order', arguments: { id: 42 } }, { name: 'send_email', arguments: {} }]);
    expect(order.metrics.tool_correctness.score).toBe(1);
    expect(order.target!.latency_ms).toBeGreaterThan(0);

    const refused = await evalctl(['run', suite, '--output-json', 'agent-401.json'], { AGENT_TOKEN: 'wrong-token-123456' });
    // The agent refused our credentials: no verdict on the agent, exit 3 with the cause on the console.
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/not evaluated: 1 case\(s\) could not be evaluated \(auth\); first: agent \/ order: target failed: http 127\.0\.0\.1:\d+: HTTP 401/);
    const [failed] = readReport(join(work, 'agent-401.json')).cases;
    expect(failed.status).toBe('errored');
    expect(failed.error_cause).toBe('auth');
    expect(failed.error).toMatch(/^target failed: http 127\.0\.0\.1:\d+: HTTP 401/);
  });
});

describe('gate', () => {
  beforeAll(async () => {
    server.script = judge;
    await evalctl(['run', writeSuite('shop', GOOD_CASES), '--output-json', 'base.json', '--no-cache']);
    await evalctl(['run', writeSuite('shop', BAD_CASES), '--output-json', 'head.json', '--no-cache']);
  });

  test('--min and --max on the summary, as a readable table', async () => {
    const pass = await evalctl(['gate', 'base.json', '--min', 'faithfulness=0.9', '--max', 'icontains=0.5']);
    expect(pass.code).toBe(0);
    expect(pass.stdout).toMatch(/faithfulness\s+1\.0000\s+>= 0\.9\s+pass/);
    expect(pass.stdout).toContain('Gate passed.');
    const fail = await evalctl(['gate', 'head.json', '--min', 'faithfulness=0.9', '--max', 'hallucination=0.1']);
    expect(fail.code).toBe(1);
    expect(fail.stdout).toMatch(/faithfulness\s+0\.7500\s+>= 0\.9\s+FAIL/);
    expect(fail.stdout).toMatch(/hallucination\s+—\s+<= 0\.1 \(not in report\)\s+FAIL/);
  });

  test('--baseline compares per metric and per case: what got worse, what got better', async () => {
    const worse = await evalctl(['gate', 'head.json', '--baseline', 'base.json', '--max-drop', '0.02']);
    expect(worse.code).toBe(1);
    expect(worse.stdout).toMatch(/faithfulness\s+1\.0000\s+0\.7500\s+-0\.2500\s+drop <= 0\.02 vs baseline\s+FAIL/);
    expect(worse.stdout).toMatch(/Cases that got worse \(1\):[\s\S]*shop\s+refund\s+faithfulness\s+1\.0000\s+0\.5000\s+passed → failed/);
    expect(worse.stdout).toContain('Cases that got better: none');
    const better = await evalctl(['gate', 'base.json', '--baseline', 'head.json', '--max-drop', '0.02']);
    expect(better.code).toBe(0);
    expect(better.stdout).toMatch(/Cases that got better \(1\):[\s\S]*refund\s+faithfulness\s+0\.5000\s+1\.0000\s+failed → passed/);
  });

  test('an unreadable or foreign report is a usage error', async () => {
    writeFileSync(join(work, 'not-json.json'), '{');
    writeFileSync(join(work, 'foreign.json'), '{"results": []}');
    expect(await evalctl(['gate', 'not-json.json', '--min', 'a=1'])).toMatchObject({ code: 2, stderr: expect.stringContaining('not-json.json: not JSON') });
    expect(await evalctl(['gate', 'foreign.json', '--min', 'a=1'])).toMatchObject({ code: 2, stderr: expect.stringContaining('not an evalctl report') });
    expect(await evalctl(['gate', 'base.json', '--min', 'faithfulness'])).toMatchObject({ code: 2, stderr: expect.stringContaining('expected <metric>=<number>') });
    expect(await evalctl(['gate', 'base.json'])).toMatchObject({ code: 2 });
  });
});

test('evalctl --help documents the exit codes', () => {
  const help = spawnSync(process.execPath, [EVALCTL, '--help'], { cwd: ROOT, encoding: 'utf8' });
  expect(help.status).toBe(0);
  expect(help.stdout).toContain('Exit codes:');
  expect(help.stdout).toContain('1  the gate failed on scores');
  expect(help.stdout).toContain('3  the evaluation could not be done');
  // This repository's evalctl also runs the platform.
  expect(help.stdout).toContain('evalctl serve | work | migrate');
});

describe('could not evaluate: exit 3, with the cause on the console and in the report', () => {
  test('a key the LLM refuses (401) is not a regression', async () => {
    // Made at run time: no key-shaped literal in the repository.
    const wrongKey = `sk-wrong-${randomBytes(12).toString('hex')}`;
    server.script = (request) => (request.headers.authorization?.includes('wrong') ? { status: 401 } : judge(request));
    const result = await evalctl(['run', writeSuite('keyless', GOOD_CASES), '--output-json', 'keyless.json', '--no-cache'], { OPENAI_API_KEY: wrongKey });
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/not evaluated: 2 case\(s\) could not be evaluated \(auth\); first: keyless \/ refund: target failed: openai gpt-4o-mini: HTTP 401: .*\(not retried\)/);
    expect(result.stdout).toContain('Errored cases (first 2 of 2):');
    const report = readReport(join(work, 'keyless.json'));
    for (const c of report.cases) expect(c).toMatchObject({ status: 'errored', error_cause: 'auth', error: expect.stringMatching(/^target failed: openai gpt-4o-mini: HTTP 401/) });
    expect(JSON.stringify(report) + result.stdout + result.stderr).not.toContain(wrongKey);
  });

  test('an LLM that cannot be reached is not a regression, even for one case in many', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const path = join(work, 'unreachable.yaml');
    writeFileSync(path, `name: unreachable
judge: { provider: openai, model: gpt-4o-mini, base_url: "http://127.0.0.1:${port}/v1" }
metrics: [faithfulness, { name: icontains, value: days }]
cases:
  - { id: judged, input: q, actual_output: Refunds take 5 days., retrieval_context: [Refunds take 5 days.] }
`);
    const result = await evalctl(['run', path, '--output-json', 'unreachable.json', '--no-cache'], { LLM_RETRY_MAX_ATTEMPTS: '2' });
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/\(unreachable\); first: unreachable \/ judged: faithfulness: openai gpt-4o-mini: connection failed: .*\(gave up after 2 attempts\)/);
    expect(readReport(join(work, 'unreachable.json')).cases[0]).toMatchObject({ status: 'errored', error_cause: 'unreachable' });
  });
});

describe('the response cache answers only what was asked of the same server', () => {
  let other: FakeLlmServer;
  beforeAll(async () => {
    other = await startFakeLlmServer();
  });
  afterAll(() => other.close());

  test('another OPENAI_BASE_URL, or another request parameter, is a miss', async () => {
    server.script = judge;
    other.script = judge;
    const suite = writeSuite('moved', GOOD_CASES);
    const cacheDir = join(work, 'cache-moved');
    expect((await evalctl(['run', suite, '--cache-dir', cacheDir])).code).toBe(0);
    expect(server.requests).toHaveLength(8);
    // The same suite against another server: every call goes to that server, none is served from the cache.
    const moved = await evalctl(['run', suite, '--cache-dir', cacheDir, '--output-json', 'moved.json'], { OPENAI_BASE_URL: other.openaiBaseUrl });
    expect(moved.code).toBe(0);
    expect(other.requests).toHaveLength(8);
    expect(readReport(join(work, 'moved.json')).usage.by_model[0]).toMatchObject({ calls: 8, cache_hits: 0 });
    // Back on the first server, the same request is a hit; a changed parameter (the judge's max_tokens) is not.
    server.requests.length = 0;
    expect((await evalctl(['run', suite, '--cache-dir', cacheDir])).code).toBe(0);
    expect(server.requests).toHaveLength(0);
    writeFileSync(suite, readFileSync(suite, 'utf8').replace('judge: { provider: openai, model: gpt-4o-mini }', 'judge: { provider: openai, model: gpt-4o-mini, max_tokens: 999 }'));
    expect((await evalctl(['run', suite, '--cache-dir', cacheDir])).code).toBe(0);
    expect(server.requests.map((r) => r.schemaName ?? 'target').sort()).toEqual(['claim_verdicts', 'claim_verdicts', 'claims', 'claims', 'truths', 'truths']);
    expect(server.requests.every((r) => r.body.max_tokens === 999)).toBe(true);
  });
});

test('run: a two-target matrix prints the targets side by side and gates each', async () => {
  server.script = (request) => ({ text: request.model === 'gpt-4o' ? 'Paris' : 'Lyon', usage: { input: 20, output: 2 } });
  const path = join(work, 'matrix.yaml');
  writeFileSync(path, `name: capitals
targets:
  - { type: openai, model: gpt-4o, temperature: 0 }
  - { type: openai, model: gpt-4o-mini, id: mini, temperature: 0 }
metrics: [{ name: exact_match, threshold: 1 }]
cases:
  - { id: france, input: Capital of France?, expected_output: Paris }
`);
  const result = await evalctl(['run', path, '--output-json', 'matrix.json', '--no-cache']);
  expect(result.code).toBe(1);
  expect(result.stdout).toMatch(/Targets side by side:\n\s+gpt-4o\s+mini\n\s+exact_match \(higher is better\)\s+1\.0000\s+0\.0000\n\s+cases passed\s+1\/1\s+0\/1\n\s+LLM cost\s+\$0\.000070\s+\$0\.000004\n\s+gate\s+passed\s+FAILED/);
  expect(result.stdout).toContain('capitals[mini]: exact_match passed 0 of 1 cases');
  const report = readReport(join(work, 'matrix.json'));
  expect(Object.fromEntries(Object.entries(report.targets!).map(([id, t]) => [id, t.summary.exact_match]))).toEqual({ 'gpt-4o': 1, mini: 0 });
});

test('evalctl --help describes the suite format with a suite that validates, and says where every field is', async () => {
  const help = (await evalctl(['--help'])).stdout;
  const block = /^Suites \(YAML or JSON\)[^\n]*\n((?: {2}.*\n)+?) {2}Every field/m.exec(help)?.[1];
  expect(block).toBeDefined();
  const suite = parseSuiteText(block!.replace(/^ {2}/gm, ''), 'help.yaml', { OPENAI_API_KEY: 'k' });
  expect(suite.suite.cases).toHaveLength(1);
  expect(suite.suite.metrics).toEqual(['answer_relevancy', { name: 'contains', value: 'refund', threshold: 1 }]);
  expect(help).toContain('evalctl schema [--markdown]');
  expect(help).toContain('https://www.npmjs.com/package/@ai-eval-platform/evalctl');
});

test('evalctl metrics and evalctl schema: the references generated from the registry and the schema are the ones in the package README', async () => {
  const text = await evalctl(['metrics']);
  expect(text.code).toBe(0);
  expect(text.stdout).toMatch(/^exact_match: .*\n  needs:     input, actual_output, expected_output \(unless `value` is given\)\n/m);
  expect(text.stdout).toContain('value?: string  (compared with the output instead of the case\'s expected_output)');
  expect(text.stdout).toContain('match?: "exact" | "ordered" | "set" = "set"');
  expect(text.stdout).toContain('A metric scored in [0, 1] also\ntakes strict_mode: true');
  const markdown = (await evalctl(['metrics', '--markdown'])).stdout.trim();
  const readme = readFileSync(join(ROOT, 'evalctl/README.md'), 'utf8');
  const section = /<!-- metrics:begin[^>]*-->\n([\s\S]*?)\n<!-- metrics:end -->/.exec(readme);
  expect(section?.[1]).toBe(markdown);
  const suiteFormat = (await evalctl(['schema', '--markdown'])).stdout.trim();
  expect(/<!-- suite-format:begin[^>]*-->\n([\s\S]*?)\n<!-- suite-format:end -->/.exec(readme)?.[1]).toBe(suiteFormat);
  expect(suiteFormat).toContain('| `cases[].turns[].role` | "user" \\| "assistant" |  | who spoke |');
  // The JSON Schema validates a suite as the loader does: the example suite passes, a misspelt field fails.
  const schema = JSON.parse((await evalctl(['schema'])).stdout) as object;
  const validate = new Ajv2020({ allErrors: true, strict: false, validateFormats: false }).compile(schema);
  const first = parseYaml(readFileSync(join(ROOT, 'examples/suites/support-bot.yaml'), 'utf8')) as Record<string, unknown>;
  expect(validate(first)).toBe(true);
  expect(validate({ ...first, judgee: first.judge })).toBe(false);
  expect(validate({ name: 'x', metrics: ['faithfulness'], dataset_file: 'goldens.jsonl' })).toBe(true);
  expect(validate({ name: 'x', metrics: ['faithfulness'] })).toBe(false);
});
