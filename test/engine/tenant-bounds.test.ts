import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { clipText, storableDeep, storableText, unstorableText } from '../../src/contracts/text';
import { EgressGuard, parseAllowList } from '../../src/egress/guard';
import { METRICS } from '../../src/metrics/registry';
import { Judge } from '../../src/metrics/judge';
import type { ResponseCache } from '../../src/providers/cache';
import { EndpointPolicy } from '../../src/providers/endpoints';
import { LlmGateway, llmCallScope, type LlmCallEvent } from '../../src/providers/llm-gateway';
import type { ChatResponse } from '../../src/providers/types';
import { readDeepEvalDataset } from '../../src/suite/deepeval-dataset';
import { parseSuiteText, SuiteError } from '../../src/suite/load';
import { MAX_MODEL_LABELS, PlatformMetrics } from '../../src/telemetry/metrics';
import { FAST_RETRY } from '../support/engine';
import { startFakeLlmServer, type FakeLlmServer } from '../support/fake-llm-server';

/**
 * The bounds that keep one tenant's input from reaching another: state keyed by project and key, matching and
 * parsing in linear time, text made storable, credentials kept to their origin, label sets capped.
 */

const noJudge = new Judge(new LlmGateway(), undefined);
const metric = (name: string, params: Record<string, unknown>) => {
  const definition = METRICS.get(name)!;
  return { definition, params: definition.params.safeParse(params) };
};

describe('two projects on one gateway (one worker)', () => {
  let llm: FakeLlmServer;
  const keyA = `tenantA-own-key-${randomBytes(8).toString('hex')}`;
  const keyB = `tenantB-own-key-${randomBytes(8).toString('hex')}`;
  beforeAll(async () => {
    // The projects' own provider, on an address the operator allowed for both.
    llm = await startFakeLlmServer({ host: '127.0.0.2', script: (request) => ({ text: `answer to ${request.prompt}`, usage: { input: 10, output: 5 } }) });
  });
  afterAll(() => llm.close());
  beforeEach(() => (llm.requests.length = 0));

  /** A project's boundary: the same endpoint name and URL as the other's, its own key and its own egress guard. */
  const project = (apiKey: string, allowed: boolean) => ({
    endpoints: EndpointPolicy.platform({}).withProjectEndpoints([{ name: 'openai-own', provider: 'openai', baseUrl: llm.openaiBaseUrl, apiKey }]),
    fetch: new EgressGuard({ allow: allowed ? parseAllowList('127.0.0.2/32').all : [] }).fetch,
  });
  const ask = (gateway: LlmGateway, boundary: ReturnType<typeof project>, prompt: string, scope: string, events: LlmCallEvent[] = []) =>
    llmCallScope.run({ kind: 'judge', record: (e) => events.push(e), endpoints: boundary.endpoints, projectFetch: boundary.fetch, cacheScope: scope }, () =>
      gateway.chat({ provider: 'openai', model: 'gpt-4o-mini', endpoint: 'openai-own', temperature: 0, maxTokens: 16 }, { messages: [{ role: 'user', content: prompt }] }),
    );

  test('each call goes out with its own project’s key, whoever called first', async () => {
    for (const order of [['A', 'B'], ['B', 'A']]) {
      const gateway = new LlmGateway({ env: {}, retry: FAST_RETRY });
      const boundaries = { A: project(keyA, true), B: project(keyB, true) };
      for (const name of order) await ask(gateway, boundaries[name as 'A' | 'B'], `VICTIM ${name} CONFIDENTIAL PROMPT`, `project:${name}`);
    }
    expect(llm.requests.map((r) => [r.prompt, r.headers.authorization])).toEqual([
      ['VICTIM A CONFIDENTIAL PROMPT', `Bearer ${keyA}`],
      ['VICTIM B CONFIDENTIAL PROMPT', `Bearer ${keyB}`],
      ['VICTIM B CONFIDENTIAL PROMPT', `Bearer ${keyB}`],
      ['VICTIM A CONFIDENTIAL PROMPT', `Bearer ${keyA}`],
    ]);
  });

  test('each call goes through its own project’s egress guard: B’s blocked URL stays blocked for B, and open for A', async () => {
    for (const order of [['A', 'B'], ['B', 'A']]) {
      const gateway = new LlmGateway({ env: {}, retry: FAST_RETRY });
      const A = project(keyA, true);
      const B = project(keyB, false);
      const outcomes: Record<string, string> = {};
      for (const name of order) {
        outcomes[name] = await ask(gateway, name === 'A' ? A : B, `from ${name}`, `project:${name}`).then(
          (call) => call.response.text,
          (error: Error) => error.message,
        );
      }
      expect(outcomes).toEqual({ A: 'answer to from A', B: expect.stringContaining('blocked by egress policy') });
    }
    expect(llm.requests.map((r) => r.headers.authorization)).toEqual([`Bearer ${keyA}`, `Bearer ${keyA}`]);
  });

  test('a cached answer is served to its own project only: B’s same prompt is asked again, with B’s key', async () => {
    const stored = new Map<string, ChatResponse>();
    const cache: ResponseCache = { get: async (key) => stored.get(key), set: async (key, value) => void stored.set(key, value) };
    const gateway = new LlmGateway({ env: {}, retry: FAST_RETRY, cache });
    const A = project(keyA, true);
    const B = project(keyB, true);
    const events: LlmCallEvent[] = [];
    await ask(gateway, A, 'the same prompt', 'project:A', events);
    await ask(gateway, A, 'the same prompt', 'project:A', events);
    await ask(gateway, B, 'the same prompt', 'project:B', events);
    expect(events.map((e) => e.cached)).toEqual([false, true, false]);
    expect(llm.requests.map((r) => r.headers.authorization)).toEqual([`Bearer ${keyA}`, `Bearer ${keyB}`]);
  });

  test('a run’s rate limits bind that run only: B’s calls go while A’s next call waits for its 6 a minute', async () => {
    const gateway = new LlmGateway({ env: {}, retry: FAST_RETRY });
    const A = { ...project(keyA, true), limiters: gateway.runLimiters('run:A', new Map([['openai/gpt-4o-mini', { requestsPerMinute: 6 }]])) };
    const B = { ...project(keyB, true), limiters: gateway.runLimiters('run:B', new Map()) };
    const call = (boundary: typeof A, prompt: string) =>
      llmCallScope.run({ kind: 'judge', record: () => undefined, endpoints: boundary.endpoints, projectFetch: boundary.fetch, limiters: boundary.limiters }, () =>
        gateway.chat({ provider: 'openai', model: 'gpt-4o-mini', endpoint: 'openai-own', maxTokens: 16 }, { messages: [{ role: 'user', content: prompt }] }),
      );
    await call(A, 'A1');
    let aDone = false;
    const secondOfA = call(A, 'A2').then(() => (aDone = true));
    await Promise.all(Array.from({ length: 6 }, (_, i) => call(B, `B${i}`)));
    // A's second call waits its ten seconds for the bucket; B's six went out meanwhile.
    expect(aDone).toBe(false);
    expect(llm.requests.map((r) => r.prompt).filter((p) => p.startsWith('B'))).toHaveLength(6);
    await secondOfA;
  }, 30_000);
});

describe('the regex and pattern_match metrics run on RE2 (linear time)', () => {
  test('a catastrophic pattern over a long output answers at once (a backtracking engine would take days)', async () => {
    const { definition, params } = metric('regex', { pattern: '(a+)+$' });
    const outcome = await definition.evaluate({ testCase: { input: 'q', actual_output: `${'a'.repeat(40)}!` }, params: params.data, judge: noJudge });
    expect(outcome.score).toBe(0);
    const full = metric('pattern_match', { pattern: '(a|aa)+' });
    expect((await full.definition.evaluate({ testCase: { input: 'q', actual_output: `${'a'.repeat(5_000)}b` }, params: full.params.data, judge: noJudge })).score).toBe(0);
    expect((await full.definition.evaluate({ testCase: { input: 'q', actual_output: ` ${'a'.repeat(5_000)} ` }, params: full.params.data, judge: noJudge })).score).toBe(1);
  }, 10_000);

  test.each([
    ['(a)\\1', 'backreference'],
    ['(?=a)b', 'lookahead'],
    ['(?<!a)b', 'lookbehind'],
  ])('%s is refused when the suite is read, naming the field and why', (pattern, why) => {
    const { params } = metric('regex', { pattern });
    expect(params.success).toBe(false);
    expect(params.error!.issues[0]).toMatchObject({ path: ['pattern'], message: expect.stringContaining(why) });
    expect(params.error!.issues[0].message).toContain('no backreferences or lookaround');
  });

  test('JavaScript flags keep their meaning: i, s, m, and y anchoring at the start', async () => {
    const check = async (pattern: string, flags: string, output: string) => {
      const { definition, params } = metric('regex', { pattern, flags });
      return (await definition.evaluate({ testCase: { input: 'q', actual_output: output }, params: params.data, judge: noJudge })).score;
    };
    expect(await check('REFUND', 'i', 'your refund is on its way')).toBe(1);
    expect(await check('a.b', '', 'a\nb')).toBe(0);
    expect(await check('a.b', 's', 'a\nb')).toBe(1);
    expect(await check('^b$', 'm', 'a\nb')).toBe(1);
    expect(await check('b', 'y', 'ab')).toBe(0);
    expect(await check('(?<year>\\d{4})', '', 'in 2026')).toBe(1);
  });
});

describe('the CSV reader is linear', () => {
  test('10 MB of escaped quotes in one cell is read, every quote and line number right', () => {
    const quotes = 5_000_000;
    const text = `input,expected_output\n"${'""'.repeat(quotes)}",x\nsecond,y\n`;
    expect(text.length).toBeGreaterThan(10_000_000);
    const dataset = readDeepEvalDataset(text, 'csv', 'big.csv');
    expect(dataset.cases.map((c) => (c.input as string).length)).toEqual([quotes, 6]);
    expect([0, 1].map((i) => dataset.lineOf(i))).toEqual([2, 3]);
  }, 60_000);

  test('a problem in a CSV still names its line', () => {
    expect(() => readDeepEvalDataset('input\nok\n"ab"cd\n', 'csv', 'd.csv')).toThrow('d.csv:3: text after a quoted cell’s closing quote');
    expect(() => readDeepEvalDataset('input\nok\nx"y\n', 'csv', 'd.csv')).toThrow('d.csv:3: a quote inside a cell that does not start with one');
  });
});

describe('text is made storable, and cut on code points', () => {
  test('exact_match’s reason on an expected output with an emoji at the cut stays valid Unicode', async () => {
    const { definition, params } = metric('exact_match', {});
    const outcome = await definition.evaluate({ testCase: { input: 'q', actual_output: 'no', expected_output: `${'a'.repeat(79)}😀` }, params: params.data, judge: noJudge });
    expect(unstorableText(outcome.reason)).toBeUndefined();
    expect(outcome.reason).toContain(`"${'a'.repeat(79)}…"`);
  });

  test('clipText never leaves half a surrogate pair; storableText leaves nothing Postgres refuses', () => {
    const text = fc.string({ unit: fc.constantFrom('a', '😀', '\u0000', '\ud800', '\udc00', 'é'), maxLength: 40 });
    fc.assert(
      fc.property(text, fc.nat(50), (value, max) => {
        const clean = storableText(value);
        expect(unstorableText(clean)).toBeUndefined();
        const clipped = clipText(clean, max);
        expect(unstorableText(clipped)).toBeUndefined();
        expect(clipped.length).toBeLessThanOrEqual(max + 1);
      }),
      { numRuns: 1_000 },
    );
    expect(storableDeep({ 'k\u0000': ['a\u0000b', { c: '\ud83d' }], n: 1 })).toEqual({ k: ['ab', { c: '\ufffd' }], n: 1 });
  });
});

describe('suites are bounded in what one case can cost', () => {
  const problems = (text: string) => {
    try {
      parseSuiteText(text, 's.yaml');
    } catch (error) {
      if (error instanceof SuiteError) return error.message;
      throw error;
    }
    return '';
  };

  test('more than 50 metrics, or turns × metrics past 2,000, are refused naming the field', () => {
    const many = Array.from({ length: 51 }, (_, i) => `{ name: contains, id: m${i}, value: x }`).join(', ');
    expect(problems(`name: s\nmetrics: [${many}]\ncases: [{ input: q, actual_output: x }]\n`)).toMatch(/metrics: at most 50 metrics in one suite/);
    const metrics = Array.from({ length: 41 }, (_, i) => `{ name: contains, id: m${i}, value: x }`).join(', ');
    const turns = Array.from({ length: 50 }, (_, i) => `{ role: ${i % 2 ? 'assistant' : 'user'}, content: t }`).join(', ');
    expect(problems(`name: s\nmetrics: [${metrics}]\ncases: [{ turns: [${turns}] }]\n`)).toMatch(/cases\[0\]\.turns: 50 turns × 41 metrics is 2050; at most 2000/);
  });
});

describe('tenant strings are no unbounded Prometheus labels', () => {
  test('5,000 model names give at most MAX_MODEL_LABELS + 1 model label values', async () => {
    const metrics = new PlatformMetrics('worker', 'test');
    const event = (model: string): LlmCallEvent => ({
      provider: 'openai', model, kind: 'judge', status: 'ok', error_status: null, cached: false, attempts: 1, rate_limited: 0,
      limiter_wait_ms: 0, input_tokens: 1, output_tokens: 1, cached_input_tokens: 0, cache_write_tokens: 0, cost_usd: 0.001, latency_ms: 5,
    });
    for (let i = 0; i < 5_000; i++) metrics.recordLlmCall(event(`model-${i}`));
    const text = await metrics.registry.metrics();
    const models = new Set([...text.matchAll(/model="([^"]*)"/g)].map((m) => m[1]));
    expect(models.size).toBe(MAX_MODEL_LABELS + 1);
    expect(models.has('other')).toBe(true);
    expect(text.length).toBeLessThan(500_000);
  });
});
