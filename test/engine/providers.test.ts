import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DirectoryResponseCache } from '../../src/providers/cache';
import { costOf, findPrice } from '../../src/providers/pricing';
import { ModelRateLimiter } from '../../src/providers/rate-limiter';
import { backoffDelayMs, ProviderCallError, RetriesExhaustedError } from '../../src/providers/retry';
import type { ModelSettings } from '../../src/providers/types';
import { FAST_RETRY, gatewayFor, strictRateLimit, TEST_ANTHROPIC_KEY, TEST_OPENAI_KEY, useFakeLlmServer } from '../support/engine';

const fake = useFakeLlmServer();

const openai: ModelSettings = { provider: 'openai', model: 'gpt-4o-mini', temperature: 0, maxTokens: 100 };
const anthropic: ModelSettings = { provider: 'anthropic', model: 'claude-haiku-4-5', temperature: 0, maxTokens: 100 };
const ask = { messages: [{ role: 'user' as const, content: 'hello' }] };

/** Fails the first `failures` requests with the given reply, then answers. */
function failFirst(failures: number, reply: { status: number; headers?: Record<string, string>; delayMs?: number }) {
  let seen = 0;
  fake.server.script = () => (seen++ < failures ? reply : { text: 'fine', usage: { input: 10, output: 5 } });
}

describe('retry policy (the SDKs’ own retries are off)', () => {
  test.each([
    ['openai', openai, 429],
    ['openai', openai, 503],
    ['anthropic', anthropic, 529],
    ['anthropic', anthropic, 500],
  ] as const)('%s: %i is retried and the call succeeds', async (_, settings, status) => {
    failFirst(2, { status, headers: { 'retry-after-ms': '10' } });
    const call = await gatewayFor(fake.server).chat(settings, ask);
    expect(call.response.text).toBe('fine');
    expect(call.attempts).toBe(3);
    expect(fake.server.requests).toHaveLength(3);
  });

  test('a retry-after longer than the cap is cut to the cap (the Anthropic SDK alone would sleep 120 s)', async () => {
    failFirst(1, { status: 429, headers: { 'retry-after': '120' } });
    const started = Date.now();
    const call = await gatewayFor(fake.server, { retry: { ...FAST_RETRY, retryAfterCapMs: 50 } }).chat(anthropic, ask);
    expect(call.attempts).toBe(2);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  test('attempts are bounded, then the error names provider, model, status and attempts', async () => {
    fake.server.script = () => ({ status: 500 });
    const failure = gatewayFor(fake.server).chat(openai, ask);
    await expect(failure).rejects.toBeInstanceOf(RetriesExhaustedError);
    await expect(failure).rejects.toThrow(/^openai gpt-4o-mini: HTTP 500: .*gave up after 3 attempts/);
    expect(fake.server.requests).toHaveLength(3);
  });

  test('a malformed response body is retried like a transient failure', async () => {
    let seen = 0;
    fake.server.script = () => (seen++ === 0 ? { rawBody: '{"choices": [' } : { text: 'fine' });
    const call = await gatewayFor(fake.server).chat(openai, ask);
    expect(call).toMatchObject({ attempts: 2, response: { text: 'fine' } });
  });

  test('a 400 is not retried', async () => {
    fake.server.script = () => ({ status: 400 });
    await expect(gatewayFor(fake.server).chat(openai, ask)).rejects.toThrow(/HTTP 400.*not retried/);
    expect(fake.server.requests).toHaveLength(1);
  });

  test('a per-call timeout is retried, then reported as a timeout', async () => {
    fake.server.script = () => ({ text: 'late', delayMs: 1_000 });
    const gateway = gatewayFor(fake.server, { retry: { ...FAST_RETRY, maxAttempts: 2, timeoutMs: 100 } });
    await expect(gateway.chat(anthropic, ask)).rejects.toThrow(/anthropic claude-haiku-4-5: timed out.*2 attempts/);
    expect(fake.server.requests).toHaveLength(2);
  });

  test('backoff: exponential with full jitter under the ceiling; retry-after wins up to its cap', () => {
    const policy = { maxAttempts: 6, baseDelayMs: 100, maxDelayMs: 1_000, retryAfterCapMs: 2_000, timeoutMs: 1, rateLimitBudgetMs: 0 };
    const plain = new ProviderCallError('openai', 'm', 503, 'http', 'x');
    expect([1, 2, 3, 4, 5].map((n) => backoffDelayMs(policy, n, plain, () => 1))).toEqual([100, 200, 400, 800, 1_000]);
    expect(backoffDelayMs(policy, 3, plain, () => 0)).toBe(0);
    expect(backoffDelayMs(policy, 1, new ProviderCallError('openai', 'm', 429, 'http', 'x', 1_500))).toBe(1_500);
    expect(backoffDelayMs(policy, 1, new ProviderCallError('openai', 'm', 429, 'http', 'x', 120_000))).toBe(2_000);
  });

  test('API keys never appear in an error', async () => {
    fake.server.script = () => ({
      status: 401,
      rawBody: JSON.stringify({ error: { message: `Incorrect API key provided: ${TEST_OPENAI_KEY} / ${TEST_ANTHROPIC_KEY}` } }),
    });
    const error = (await gatewayFor(fake.server).chat(openai, ask).catch((e: Error) => e)) as Error;
    expect(error.message).toContain('HTTP 401');
    expect(error.message).not.toContain(TEST_OPENAI_KEY);
    expect(error.message).not.toContain(TEST_ANTHROPIC_KEY);
    expect(error.message).toContain('[REDACTED]');
  });
});

describe('cost', () => {
  test('from the usage and the price table: input, cached input and output', async () => {
    fake.server.script = () => ({ text: 'x', usage: { input: 1_000, output: 500, cached: 200 } });
    const call = await gatewayFor(fake.server).chat(openai, ask);
    // gpt-4o-mini: $0.15 input, $0.075 cached input, $0.60 output per million tokens; prompt_tokens includes the cached ones.
    expect(call.costUsd).toBeCloseTo((800 * 0.15 + 200 * 0.075 + 500 * 0.6) / 1e6, 12);
    const anthropicCall = await gatewayFor(fake.server).chat(anthropic, ask);
    // claude-haiku-4-5: $1 input, $0.10 cache reads, $5 output; Anthropic's input_tokens excludes cache reads.
    expect(anthropicCall.costUsd).toBeCloseTo((1_000 * 1 + 200 * 0.1 + 500 * 5) / 1e6, 12);
  });

  test('a dated snapshot takes its family’s price; an unknown model is unknown, never 0', async () => {
    expect(findPrice('openai', 'gpt-4o-mini-2024-07-18')).toEqual(findPrice('openai', 'gpt-4o-mini'));
    expect(findPrice('openai', 'gpt-4o-2024-08-06')).toEqual(findPrice('openai', 'gpt-4o'));
    expect(costOf(findPrice('openai', 'my-finetune'), { inputTokens: 1, outputTokens: 1, cachedInputTokens: 0, cacheWriteTokens: 0 })).toBeNull();
    fake.server.script = () => ({ text: 'x', usage: { input: 10, output: 10 } });
    const gateway = gatewayFor(fake.server);
    await gateway.chat({ ...openai, model: 'llama3.1' }, ask);
    await gateway.chat(openai, ask);
    const usage = gateway.usage();
    expect(usage.find((u) => u.model === 'llama3.1')!.cost_usd).toBeNull();
    expect(usage.find((u) => u.model === 'gpt-4o-mini')!.cost_usd).toBeGreaterThan(0);
  });

  test('a price from the configuration overrides the table', async () => {
    fake.server.script = () => ({ text: 'x', usage: { input: 1_000_000, output: 0 } });
    const gateway = gatewayFor(fake.server, { prices: new Map([['openai/llama3.1', { inputPerMTok: 0.2, outputPerMTok: 0.2 }]]) });
    expect((await gateway.chat({ ...openai, model: 'llama3.1' }, ask)).costUsd).toBeCloseTo(0.2);
  });
});

describe('response cache', () => {
  let directory: string;
  beforeEach(() => {
    directory = mkdtempSync(join(tmpdir(), 'evalcache-'));
  });
  afterEach(() => rmSync(directory, { recursive: true, force: true }));

  test('a repeated call at temperature 0 is served from the cache and costs nothing', async () => {
    fake.server.script = () => ({ text: 'cached answer', usage: { input: 100, output: 100 } });
    const first = await gatewayFor(fake.server, { cache: new DirectoryResponseCache(directory) }).chat(openai, ask);
    const second = gatewayFor(fake.server, { cache: new DirectoryResponseCache(directory) });
    const again = await second.chat(openai, ask);
    expect(first.cached).toBe(false);
    expect(again).toMatchObject({ cached: true, costUsd: 0 });
    expect(again.response.text).toBe('cached answer');
    expect(fake.server.requests).toHaveLength(1);
    expect(second.usage()[0]).toMatchObject({ calls: 1, cache_hits: 1, cost_usd: 0 });
  });

  test('the key covers the request: another prompt or model is a miss; temperature > 0 is never cached', async () => {
    const cache = new DirectoryResponseCache(directory);
    const gateway = gatewayFor(fake.server, { cache });
    await gateway.chat(openai, ask);
    await gateway.chat(openai, { messages: [{ role: 'user', content: 'hello!' }] });
    await gateway.chat({ ...openai, model: 'gpt-4o' }, ask);
    await gateway.chat({ ...openai, temperature: 0.7 }, ask);
    await gateway.chat({ ...openai, temperature: 0.7 }, ask);
    expect(fake.server.requests).toHaveLength(5);
  });
});

describe('rate limiting', () => {
  test('requests per minute slow a burst down instead of collecting 429s', async () => {
    // The server answers at most 20 requests in any second and 429 beyond that; a bucket of 600 a minute
    // holds one second (10) and refills 10 a second, so no second of it ever exceeds 20.
    strictRateLimit(fake.server, 20);
    const unlimited = gatewayFor(fake.server, { retry: { ...FAST_RETRY, maxAttempts: 1 } });
    const outcomes = await Promise.allSettled(Array.from({ length: 30 }, () => unlimited.chat(openai, ask)));
    expect(outcomes.filter((o) => o.status === 'rejected').length).toBeGreaterThan(0);
    expect(unlimited.usage()[0].rate_limited).toBeGreaterThan(0);

    await new Promise((resolve) => setTimeout(resolve, 1_100));
    strictRateLimit(fake.server, 20);
    const limited = gatewayFor(fake.server, { limits: new Map([['openai/gpt-4o-mini', { requestsPerMinute: 600 }]]) });
    const started = Date.now();
    await Promise.all(Array.from({ length: 30 }, () => limited.chat(openai, ask)));
    expect(limited.usage()[0].rate_limited).toBe(0);
    // 10 in the first second's bucket, then 10 a second: the last 20 need about 2 s.
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_800);
  });

  test('tokens per minute hold back calls whose estimated tokens exceed the budget', async () => {
    fake.server.script = () => ({ text: 'ok', usage: { input: 50, output: 50 } });
    // 6 000 tokens a minute = 100 a second; each call is estimated at ~100 (prompt + max tokens).
    const gateway = gatewayFor(fake.server, { limits: new Map([['openai/gpt-4o-mini', { tokensPerMinute: 6_000 }]]) });
    const started = Date.now();
    await Promise.all(Array.from({ length: 4 }, () => gateway.chat(openai, ask)));
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_500);
  });

  test('concurrency halves on a 429 and climbs back by one after a run of successes', () => {
    const limiter = new ModelRateLimiter({ maxConcurrency: 8 });
    void limiter.acquire(1);
    limiter.release(1, undefined, 'rate-limited');
    expect(limiter.concurrency).toBe(4);
    void limiter.acquire(1);
    limiter.release(1, undefined, 'rate-limited');
    expect(limiter.concurrency).toBe(2);
    for (let i = 0; i < 2; i++) {
      void limiter.acquire(1);
      limiter.release(1, 1, 'ok');
    }
    expect(limiter.concurrency).toBe(3);
  });

  test('the concurrency limit is enforced on calls in flight', async () => {
    let inFlight = 0;
    let peak = 0;
    fake.server.latencyMs = 30;
    fake.server.script = () => ({ text: 'ok' });
    const limiter = new ModelRateLimiter({ maxConcurrency: 3 });
    await Promise.all(
      Array.from({ length: 12 }, async () => {
        await limiter.acquire(1);
        peak = Math.max(peak, ++inFlight);
        await new Promise((resolve) => setTimeout(resolve, 10));
        inFlight--;
        limiter.release(1, 1, 'ok');
      }),
    );
    expect(peak).toBe(3);
  });
});
