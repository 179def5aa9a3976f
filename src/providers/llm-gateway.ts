import { responseCacheKey, type ResponseCache } from './cache';
import { costOf, findPrice, PRICE_TABLE_VERSION, type PriceOverrides } from './pricing';
import { estimateTokens, ModelRateLimiter, type ModelLimits } from './rate-limiter';
import { DEFAULT_RETRY_POLICY, ProviderCallError, withRetry, type RetryPolicy } from './retry';
import { ZERO_USAGE, type ChatProvider, type ChatRequest, type ChatResponse, type ModelSettings, type ProviderName, type TokenUsage } from './types';

export interface GatewayOptions {
  readonly retry?: RetryPolicy;
  /** Limits per `provider/model`. */
  readonly limits?: ReadonlyMap<string, ModelLimits>;
  readonly prices?: PriceOverrides;
  /** Responses of calls at temperature 0 are read from and written to this cache. Absent: no caching. */
  readonly cache?: ResponseCache;
  readonly env?: NodeJS.ProcessEnv;
  /** Replaces the SDK-backed providers (the engine's own tests use the real ones against a fake server). */
  readonly providers?: Partial<Record<ProviderName, ChatProvider>>;
}

/** One completed LLM call, with what it cost. */
export interface LlmCall {
  readonly response: ChatResponse;
  /** Billed usage: zero for a cache hit. */
  readonly usage: TokenUsage;
  /** USD, or null when the model's price is unknown. */
  readonly costUsd: number | null;
  readonly cached: boolean;
  readonly attempts: number;
  readonly durationMs: number;
}

/** Totals per provider and model, as written into the report (snake_case, like the rest of report.json). */
export interface ModelUsage {
  provider: ProviderName;
  model: string;
  calls: number;
  cache_hits: number;
  retries: number;
  rate_limited: number;
  input_tokens: number;
  output_tokens: number;
  cached_input_tokens: number;
  cache_write_tokens: number;
  /** null when any call's price was unknown: the total would be a lie. */
  cost_usd: number | null;
}

/**
 * The single way the engine talks to LLMs: response cache, then the model's rate limiter, then the provider
 * under the retry policy; every call is accounted for in tokens and cost.
 */
export class LlmGateway {
  readonly retry: RetryPolicy;
  readonly priceTableVersion = PRICE_TABLE_VERSION;
  private readonly limiters = new Map<string, ModelRateLimiter>();
  private readonly ledger = new Map<string, ModelUsage>();
  private readonly providers: Partial<Record<ProviderName, ChatProvider>>;

  constructor(private readonly options: GatewayOptions = {}) {
    this.retry = options.retry ?? DEFAULT_RETRY_POLICY;
    this.providers = { ...options.providers };
  }

  private provider(name: ProviderName): ChatProvider {
    let provider = this.providers[name];
    if (!provider) {
      // The SDKs load on first use, so a suite that only uses deterministic metrics never loads them.
      /* eslint-disable @typescript-eslint/no-require-imports */
      provider =
        name === 'openai'
          ? new (require('./openai-provider') as typeof import('./openai-provider')).OpenAiProvider(this.options.env)
          : new (require('./anthropic-provider') as typeof import('./anthropic-provider')).AnthropicProvider(this.options.env);
      this.providers[name] = provider;
    }
    return provider;
  }

  private limiter(settings: ModelSettings): ModelRateLimiter {
    const key = `${settings.provider}/${settings.model}`;
    let limiter = this.limiters.get(key);
    if (!limiter) {
      limiter = new ModelRateLimiter(this.options.limits?.get(key) ?? {});
      this.limiters.set(key, limiter);
    }
    return limiter;
  }

  private entry(settings: ModelSettings): ModelUsage {
    const key = `${settings.provider}/${settings.model}`;
    let entry = this.ledger.get(key);
    if (!entry) {
      entry = {
        provider: settings.provider,
        model: settings.model,
        calls: 0,
        cache_hits: 0,
        retries: 0,
        rate_limited: 0,
        input_tokens: 0,
        output_tokens: 0,
        cached_input_tokens: 0,
        cache_write_tokens: 0,
        cost_usd: 0,
      };
      this.ledger.set(key, entry);
    }
    return entry;
  }

  async chat(settings: ModelSettings, request: ChatRequest): Promise<LlmCall> {
    const started = performance.now();
    const entry = this.entry(settings);
    const cacheKey = this.options.cache && settings.temperature === 0 ? responseCacheKey(settings, request) : undefined;
    if (cacheKey) {
      const hit = await this.options.cache!.get(cacheKey);
      if (hit) {
        entry.calls++;
        entry.cache_hits++;
        return { response: hit, usage: ZERO_USAGE, costUsd: 0, cached: true, attempts: 0, durationMs: performance.now() - started };
      }
    }
    const limiter = this.limiter(settings);
    const provider = this.provider(settings.provider);
    const estimate = estimateTokens(
      (request.system ?? '') + request.messages.map((message) => message.content).join(''),
      settings.maxTokens,
    );
    const { value: response, attempts } = await withRetry(
      this.retry,
      async () => {
        await limiter.acquire(estimate);
        try {
          const reply = await provider.complete(settings, request, this.retry.timeoutMs);
          limiter.release(estimate, reply.usage.inputTokens + reply.usage.cachedInputTokens + reply.usage.outputTokens, 'ok');
          return reply;
        } catch (error) {
          const rateLimited = error instanceof ProviderCallError && error.rateLimited;
          if (rateLimited) entry.rate_limited++;
          limiter.release(estimate, undefined, rateLimited ? 'rate-limited' : 'failed');
          throw error;
        }
      },
      () => entry.retries++,
    );
    const costUsd = costOf(findPrice(settings.provider, settings.model, this.options.prices), response.usage);
    entry.calls++;
    entry.input_tokens += response.usage.inputTokens;
    entry.output_tokens += response.usage.outputTokens;
    entry.cached_input_tokens += response.usage.cachedInputTokens;
    entry.cache_write_tokens += response.usage.cacheWriteTokens;
    entry.cost_usd = entry.cost_usd === null || costUsd === null ? null : entry.cost_usd + costUsd;
    if (cacheKey) await this.options.cache!.set(cacheKey, response);
    return { response, usage: response.usage, costUsd, cached: false, attempts, durationMs: performance.now() - started };
  }

  /** Usage so far, one entry per provider and model, in first-use order. */
  usage(): ModelUsage[] {
    return [...this.ledger.values()].map((entry) => ({ ...entry }));
  }

  /** The current concurrency limit of a model's limiter (for tests and progress output). */
  concurrencyOf(provider: ProviderName, model: string): number | undefined {
    return this.limiters.get(`${provider}/${model}`)?.concurrency;
  }
}
