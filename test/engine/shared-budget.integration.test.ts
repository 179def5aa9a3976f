import { createClient } from 'redis';
import type { RedisClient } from 'redis';
import { RedisSharedBudget } from '../../src/providers/redis-budget';
import type { ModelSettings } from '../../src/providers/types';
import { deleteRedisPrefix, TEST_REDIS_URL, uniqueName } from '../support/platform';
import { gatewayFor, strictRateLimit, useFakeLlmServer } from '../support/engine';

// Two workers' gateways, one per-minute limit: with the budget in Redis the limit holds for both together.
const fake = useFakeLlmServer();
const prefix = uniqueName('ratetest');
let redis: RedisClient;
beforeAll(() => {
  redis = createClient({ url: TEST_REDIS_URL });
});
afterAll(async () => {
  await new Promise((done) => redis.quit(done));
  await deleteRedisPrefix(TEST_REDIS_URL, prefix);
});

const openai: ModelSettings = { provider: 'openai', model: 'gpt-4o-mini', temperature: 0, maxTokens: 10 };
const ask = { messages: [{ role: 'user' as const, content: 'hi' }] };
const limits = new Map([['openai/gpt-4o-mini', { requestsPerMinute: 600 }]]);

/** The server answers at most 20 requests in any second, as a provider would at 1,200 a minute. */
const strictServer = () => strictRateLimit(fake.server, 20);

const burst = (gateways: ReturnType<typeof gatewayFor>[]) =>
  Promise.allSettled(gateways.flatMap((gateway) => Array.from({ length: 18 }, () => gateway.chat(openai, ask))));

test('each worker alone keeps its own limit, and together they overrun the provider', async () => {
  strictServer();
  const apart = [gatewayFor(fake.server, { limits, retry: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1, retryAfterCapMs: 1, timeoutMs: 5_000, rateLimitBudgetMs: 0 } }), gatewayFor(fake.server, { limits, retry: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1, retryAfterCapMs: 1, timeoutMs: 5_000, rateLimitBudgetMs: 0 } })];
  const outcomes = await burst(apart);
  expect(outcomes.filter((o) => o.status === 'rejected').length).toBeGreaterThan(0);
});

test('with the budget in Redis, the workers together stay under the limit', async () => {
  await new Promise((resolve) => setTimeout(resolve, 1_100));
  strictServer();
  const budget = new RedisSharedBudget(redis, `${prefix}:`);
  const together = [gatewayFor(fake.server, { limits, sharedBudget: budget }), gatewayFor(fake.server, { limits, sharedBudget: budget })];
  const started = Date.now();
  const outcomes = await burst(together);
  expect(outcomes.every((o) => o.status === 'fulfilled')).toBe(true);
  expect(together.map((g) => g.usage()[0].rate_limited)).toEqual([0, 0]);
  // 36 requests at 10 a second after a first second's 10: about 2.6 s.
  expect(Date.now() - started).toBeGreaterThanOrEqual(2_400);
});
