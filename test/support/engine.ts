import { randomBytes } from 'node:crypto';
import { LlmGateway, type GatewayOptions } from '../../src/providers/llm-gateway';
import { Judge } from '../../src/metrics/judge';
import type { ModelSettings } from '../../src/providers/types';
import { startFakeLlmServer, type FakeLlmServer } from './fake-llm-server';

/**
 * Keys shaped like real ones, so tests can prove they never leak; made at run time so that no key-shaped
 * literal sits in the repository (the go-live scan would rightly flag it).
 */
export const TEST_OPENAI_KEY = `sk-test-${randomBytes(16).toString('hex')}`;
export const TEST_ANTHROPIC_KEY = `sk-ant-test-${randomBytes(16).toString('hex')}`;

export function fakeEnv(server: FakeLlmServer): NodeJS.ProcessEnv {
  return {
    OPENAI_API_KEY: TEST_OPENAI_KEY,
    ANTHROPIC_API_KEY: TEST_ANTHROPIC_KEY,
    OPENAI_BASE_URL: server.openaiBaseUrl,
    ANTHROPIC_BASE_URL: server.anthropicBaseUrl,
  };
}

export const FAST_RETRY = { maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 20, retryAfterCapMs: 50, timeoutMs: 5_000, rateLimitBudgetMs: 0 };

export function gatewayFor(server: FakeLlmServer, options: Partial<GatewayOptions> = {}): LlmGateway {
  return new LlmGateway({ env: fakeEnv(server), retry: FAST_RETRY, ...options });
}

export function judgeOn(server: FakeLlmServer, provider: 'openai' | 'anthropic' = 'openai', options: Partial<GatewayOptions> = {}): Judge {
  const settings: ModelSettings = { provider, model: provider === 'openai' ? 'gpt-4o-mini' : 'claude-haiku-4-5', temperature: 0, maxTokens: 512 };
  return new Judge(gatewayFor(server, options), settings);
}

/**
 * Starts one fake LLM server for a test file and resets what it recorded before each test. The returned
 * object's `server` is set once `beforeAll` has run.
 */
export function useFakeLlmServer(): { server: FakeLlmServer } {
  const holder = {} as { server: FakeLlmServer };
  beforeAll(async () => {
    holder.server = await startFakeLlmServer();
  });
  afterAll(() => holder.server.close());
  beforeEach(() => {
    holder.server.requests.length = 0;
    holder.server.latencyMs = 0;
  });
  return holder;
}

/** Makes the fake server a strict provider: at most `perSecond` answers in any second, 429 beyond that. */
export function strictRateLimit(server: FakeLlmServer, perSecond: number): void {
  let answered: number[] = [];
  server.script = () => {
    const now = Date.now();
    answered = answered.filter((at) => now - at < 1_000);
    if (answered.length >= perSecond) return { status: 429, headers: { 'retry-after-ms': '20' } };
    answered.push(now);
    return { text: 'ok' };
  };
}
