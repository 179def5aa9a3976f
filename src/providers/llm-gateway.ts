import { AsyncLocalStorage } from 'node:async_hooks';
import type { ModelUsage } from '../contracts/report';
import { responseCacheKey, type ResponseCache } from './cache';
import { keyDigest } from './client-pool';
import { EndpointPolicy } from './endpoints';
import { addUsd, costOf, findPrice, PRICE_TABLE_VERSION, type ModelPrice, type PriceOverrides } from './pricing';
import { estimateTokens, ModelRateLimiter, type ModelLimits, type SharedBudget } from './rate-limiter';
import { DEFAULT_RETRY_POLICY, ProviderCallError, RetriesExhaustedError, withRetry, type RetryPolicy } from './retry';
import { ZERO_USAGE, type ChatMessage, type ChatProvider, type ChatRequest, type ChatResponse, type ModelSettings, type ProviderName, type TokenUsage } from './types';

export interface GatewayOptions {
  readonly retry?: RetryPolicy;
  /** Limits per `provider/model`. */
  readonly limits?: ReadonlyMap<string, ModelLimits>;
  readonly prices?: PriceOverrides;
  /** Responses of calls at temperature 0 are read from and written to this cache. Absent: no caching. */
  readonly cache?: ResponseCache;
  readonly env?: NodeJS.ProcessEnv;
  /** Per-minute limits shared with other processes (the workers' Redis); absent: this process's own. */
  readonly sharedBudget?: SharedBudget;
  /** Replaces the SDK-backed providers (the engine's own tests use the real ones against a fake server). */
  readonly providers?: Partial<Record<ProviderName, ChatProvider>>;
  /**
   * Which URL each call may go to, with which key. Default: `EndpointPolicy.local(env)`, a developer's freedom
   * (any base URL, with the environment's key); the workers pass `EndpointPolicy.platform(env)`.
   */
  readonly endpoints?: EndpointPolicy;
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

/** One LLM call as the platform records it (ClickHouse `llm_calls`), attributed to the case that made it. */
export interface LlmCallEvent {
  provider: ProviderName;
  model: string;
  kind: 'target' | 'judge';
  status: 'ok' | 'error';
  /** The last HTTP status of a failed call, when there was one. */
  error_status: number | null;
  cached: boolean;
  attempts: number;
  /** 429/529 answers seen before the call succeeded or gave up. */
  rate_limited: number;
  /** Time spent waiting for the client-side rate limiter (requests, tokens, concurrency). */
  limiter_wait_ms: number;
  input_tokens: number;
  output_tokens: number;
  cached_input_tokens: number;
  cache_write_tokens: number;
  cost_usd: number | null;
  latency_ms: number;
  /** The metric (its id in the suite) the call served; absent for the target and for a run's own calls. */
  metric?: string;
  /** The step of the metric or target the call was (the reply schema's name: `claims`, `truths`, `verdicts`…; `reply` for free text). */
  step?: string;
  /** What was sent: the system prompt and the messages, as the gateway received them (the platform redacts and clips them before storing). */
  request?: { system?: string; messages: readonly ChatMessage[] };
  /** The reply's text; absent when the call failed. */
  response?: string;
}

/**
 * The case (and role) on whose behalf calls are made. evaluateCase sets it around the target and the metrics,
 * so a gateway shared by concurrent cases still attributes every call to the right one.
 */
export const llmCallScope = new AsyncLocalStorage<CallScope>();

/** What `llmCallScope` holds around a case's (or a run's) calls. */
export interface CallScope {
  kind: 'target' | 'judge';
  /** The metric (its id) the calls serve: set by evaluateCase around each metric. */
  metric?: string;
  record: (event: LlmCallEvent) => void;
  /** The run's own endpoint policy (the platform's endpoints plus its project's), overriding the gateway's. */
  endpoints?: EndpointPolicy;
  /** How a project's own endpoint is reached (the worker's egress guard for the run's project). */
  projectFetch?: (input: string | URL | Request, init?: RequestInit) => Promise<Response>;
  /** The run's own rate limiters (its suite's `providers[]` limits), instead of the gateway's. */
  limiters?: ModelLimiters;
  /** Whose cached responses these calls may read and write (the project): another scope's are never served. */
  cacheScope?: string;
  /**
   * Called before every call leaves (and before a cache read) with the most it can cost (the prompt and the
   * whole `max_tokens` at the model's price); throws to refuse it (a spent budget), else holds that amount until
   * the returned release is called, when the call has ended and its real cost is recorded.
   */
  beforeCall?: (worstCaseUsd: number) => () => void;
}

/** A call refused before it was made: the run that would pay for it has spent its budget. */
export class BudgetSpentError extends Error {
  /** The start of every such error's message (a case's error carries it). */
  static readonly MESSAGE = 'not called: the run has spent its budget';

  constructor(budgetUsd: number) {
    super(`${BudgetSpentError.MESSAGE} (max_cost_usd ${budgetUsd})`);
    this.name = 'BudgetSpentError';
  }
}

/**
 * Rate limiters per `provider/model` under one set of limits: the gateway's own (a developer's run, every
 * suite's `providers[]` together) or one run's (the platform: a suite's limits bind its own run only, fleet-wide
 * through the shared budget under the run's key).
 */
export class ModelLimiters {
  private readonly limiters = new Map<string, ModelRateLimiter>();
  private readonly limits: Map<string, ModelLimits>;

  constructor(
    limits: ReadonlyMap<string, ModelLimits> | undefined,
    private readonly shared?: { budget: SharedBudget; keyPrefix: string },
  ) {
    this.limits = new Map(limits);
  }

  /** Adds limits for a model not configured yet; the first configuration wins, a limiter in use keeps its limits. */
  configure(key: string, limits: ModelLimits): void {
    if (!this.limits.has(key)) this.limits.set(key, limits);
  }

  limiter(settings: Pick<ModelSettings, 'provider' | 'model'>): ModelRateLimiter {
    const key = `${settings.provider}/${settings.model}`;
    let limiter = this.limiters.get(key);
    if (!limiter) {
      const limits = this.limits.get(key) ?? {};
      limiter = new ModelRateLimiter(limits, Date.now, this.shared ? { budget: this.shared.budget, key: `${this.shared.keyPrefix}${key}` } : undefined);
      this.limiters.set(key, limiter);
    }
    return limiter;
  }

  /** The current concurrency limit of a model's limiter, when it has one. */
  concurrencyOf(provider: ProviderName, model: string): number | undefined {
    return this.limiters.get(`${provider}/${model}`)?.concurrency;
  }
}

/** The event of one finished call, attributed to the current case and role where there is one. */
function callEvent(
  settings: ModelSettings,
  call: Omit<LlmCallEvent, 'provider' | 'model' | 'kind' | 'input_tokens' | 'output_tokens' | 'cached_input_tokens' | 'cache_write_tokens' | 'metric' | 'step' | 'request' | 'response'> & { usage: TokenUsage },
  exchange: { request: ChatRequest; response?: ChatResponse },
): LlmCallEvent {
  const { usage, ...rest } = call;
  const scope = llmCallScope.getStore();
  const event: LlmCallEvent = {
    provider: settings.provider,
    model: settings.model,
    kind: scope?.kind ?? 'target',
    ...rest,
    input_tokens: usage.inputTokens,
    output_tokens: usage.outputTokens,
    cached_input_tokens: usage.cachedInputTokens,
    cache_write_tokens: usage.cacheWriteTokens,
    step: exchange.request.responseSchema?.name ?? 'reply',
    request: exchange.request.system === undefined ? { messages: exchange.request.messages } : { system: exchange.request.system, messages: exchange.request.messages },
  };
  if (scope?.metric !== undefined) event.metric = scope.metric;
  if (exchange.response) event.response = exchange.response.text;
  return event;
}

/** One call's contribution to its model's totals. */
const eventUsage = (event: LlmCallEvent): ModelUsage => ({
  provider: event.provider,
  model: event.model,
  calls: 1,
  cache_hits: event.cached ? 1 : 0,
  retries: Math.max(0, event.attempts - 1),
  rate_limited: event.rate_limited,
  input_tokens: event.input_tokens,
  output_tokens: event.output_tokens,
  cached_input_tokens: event.cached_input_tokens,
  cache_write_tokens: event.cache_write_tokens,
  cost_usd: event.cost_usd,
});

/** Adds `usage` into the running totals of its model (keyed `provider/model`). */
export function addUsage(totals: Map<string, ModelUsage>, usage: ModelUsage): void {
  const key = `${usage.provider}/${usage.model}`;
  const total = totals.get(key);
  if (!total) {
    totals.set(key, { ...usage });
    return;
  }
  total.calls += usage.calls;
  total.cache_hits += usage.cache_hits;
  total.retries += usage.retries;
  total.rate_limited += usage.rate_limited;
  total.input_tokens += usage.input_tokens;
  total.output_tokens += usage.output_tokens;
  total.cached_input_tokens += usage.cached_input_tokens;
  total.cache_write_tokens += usage.cache_write_tokens;
  total.cost_usd = addUsd(total.cost_usd, usage.cost_usd);
}

/** Sums call events into per-model totals, in first-seen order. */
export function usageByModel(events: Iterable<LlmCallEvent>): ModelUsage[] {
  const totals = new Map<string, ModelUsage>();
  for (const event of events) addUsage(totals, eventUsage(event));
  return [...totals.values()];
}

/** Adds per-model totals (e.g. of many cases) together. */
export function mergeUsage(lists: Iterable<readonly ModelUsage[]>): ModelUsage[] {
  const totals = new Map<string, ModelUsage>();
  for (const list of lists) for (const usage of list) addUsage(totals, usage);
  return [...totals.values()];
}

/**
 * The single way the engine talks to LLMs: response cache, then the model's rate limiter, then the provider
 * under the retry policy; every call is accounted for in tokens and cost.
 */
export class LlmGateway {
  readonly retry: RetryPolicy;
  readonly priceTableVersion = PRICE_TABLE_VERSION;
  private readonly limiters: ModelLimiters;
  private readonly ledger = new Map<string, ModelUsage>();
  private readonly providers: Partial<Record<ProviderName, ChatProvider>>;
  private readonly prices: Map<string, ModelPrice>;
  private readonly endpoints: EndpointPolicy;

  constructor(private readonly options: GatewayOptions = {}) {
    this.retry = options.retry ?? DEFAULT_RETRY_POLICY;
    this.endpoints = options.endpoints ?? EndpointPolicy.local(options.env ?? process.env);
    this.providers = { ...options.providers };
    this.limiters = new ModelLimiters(options.limits, options.sharedBudget ? { budget: options.sharedBudget, keyPrefix: '' } : undefined);
    this.prices = new Map(options.prices);
  }

  /**
   * Adds limits and prices for models this gateway has not configured yet (a developer's run learns them from
   * its suites' `providers[]`). The first configuration of a model wins; a limiter already in use keeps its
   * limits. The platform never calls this: its prices are the operator's, and a suite's limits are its run's
   * (`runLimiters`).
   */
  configureModel(key: string, limits: ModelLimits | undefined, price: ModelPrice | undefined): void {
    if (limits) this.limiters.configure(key, limits);
    if (price && !this.prices.has(key)) this.prices.set(key, price);
  }

  /** Limiters for one run's calls under its own limits, sharing this gateway's fleet-wide budget under `scope`. */
  runLimiters(scope: string, limits: ReadonlyMap<string, ModelLimits>): ModelLimiters {
    return new ModelLimiters(limits, this.options.sharedBudget ? { budget: this.options.sharedBudget, keyPrefix: `${scope}:` } : undefined);
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

  /** Every finished call goes through here: into this gateway's totals and to the case it was made for. */
  private record(event: LlmCallEvent): void {
    addUsage(this.ledger, eventUsage(event));
    llmCallScope.getStore()?.record(event);
  }

  async chat(settings: ModelSettings, request: ChatRequest): Promise<LlmCall> {
    const started = performance.now();
    const scope = llmCallScope.getStore();
    // Throws EndpointPolicyError before anything is sent when the setting names a URL or endpoint not allowed.
    const endpoint = (scope?.endpoints ?? this.endpoints).resolve(settings);
    const target = { name: endpoint.name, baseUrl: endpoint.baseUrl, apiKey: endpoint.apiKey, fetch: endpoint.owner === 'project' ? scope?.projectFetch : undefined };
    if (endpoint.owner === 'project' && !target.fetch) throw new Error(`endpoint "${endpoint.name}" is a project's own and needs the egress guard`);
    const inputTokens = estimateTokens((request.system ?? '') + request.messages.map((message) => message.content).join(''), 0);
    const price = findPrice(settings.provider, settings.model, this.prices);
    const estimate = inputTokens + settings.maxTokens;
    // The run's budget may refuse the call here; what it holds for the call is given back however the call ends.
    const release = scope?.beforeCall?.(costOf(price, { ...ZERO_USAGE, inputTokens, outputTokens: settings.maxTokens }) ?? 0);
    try {
      // The endpoint actually called, its key and the caller's scope (the project) are part of the key: another
      // server's answers, or another project's, are never served from the cache.
      const cacheKey =
        this.options.cache && settings.temperature === 0
          ? responseCacheKey(
              { ...settings, endpoint: endpoint.name, baseUrl: endpoint.baseUrl },
              request,
              scope?.cacheScope === undefined ? undefined : { scope: scope.cacheScope, key: keyDigest(endpoint.apiKey) },
            )
          : undefined;
      if (cacheKey) {
        const hit = await this.options.cache!.get(cacheKey);
        if (hit) {
          const durationMs = performance.now() - started;
          this.record(callEvent(settings, { status: 'ok', error_status: null, cached: true, attempts: 0, rate_limited: 0, limiter_wait_ms: 0, usage: ZERO_USAGE, cost_usd: 0, latency_ms: durationMs }, { request, response: hit }));
          return { response: hit, usage: ZERO_USAGE, costUsd: 0, cached: true, attempts: 0, durationMs };
        }
      }
      const limiter = (scope?.limiters ?? this.limiters).limiter(settings);
      const provider = this.provider(settings.provider);
      let rateLimitedHere = 0;
      let limiterWaitMs = 0;
      const attempt = async (): Promise<ChatResponse> => {
        const waitStarted = performance.now();
        await limiter.acquire(estimate);
        limiterWaitMs += performance.now() - waitStarted;
        try {
          const reply = await provider.complete(settings, request, this.retry.timeoutMs, target);
          limiter.release(estimate, reply.usage.inputTokens + reply.usage.cachedInputTokens + reply.usage.outputTokens, 'ok');
          return reply;
        } catch (error) {
          const rateLimited = error instanceof ProviderCallError && error.rateLimited;
          if (rateLimited) rateLimitedHere++;
          limiter.release(estimate, undefined, rateLimited ? 'rate-limited' : 'failed');
          throw error;
        }
      };
      let outcome: { value: ChatResponse; attempts: number };
      try {
        outcome = await withRetry(this.retry, attempt);
      } catch (error) {
        const exhausted = error instanceof RetriesExhaustedError ? error : undefined;
        this.record(
          callEvent(settings, {
            status: 'error',
            error_status: exhausted?.status ?? null,
            cached: false,
            attempts: exhausted?.attempts ?? 1,
            rate_limited: rateLimitedHere,
            limiter_wait_ms: limiterWaitMs,
            usage: ZERO_USAGE,
            cost_usd: 0,
            latency_ms: performance.now() - started,
          }, { request }),
        );
        throw error;
      }
      const { value: response, attempts } = outcome;
      const costUsd = costOf(price, response.usage);
      if (cacheKey) await this.options.cache!.set(cacheKey, response);
      const durationMs = performance.now() - started;
      this.record(callEvent(settings, { status: 'ok', error_status: null, cached: false, attempts, rate_limited: rateLimitedHere, limiter_wait_ms: limiterWaitMs, usage: response.usage, cost_usd: costUsd, latency_ms: durationMs }, { request, response }));
      return { response, usage: response.usage, costUsd, cached: false, attempts, durationMs };
    } finally {
      release?.();
    }
  }

  /** Usage so far (failed calls included), one entry per provider and model, in first-use order. */
  usage(): ModelUsage[] {
    return [...this.ledger.values()].map((entry) => ({ ...entry }));
  }

  /** The current concurrency limit of a model's limiter (for tests and progress output). */
  concurrencyOf(provider: ProviderName, model: string): number | undefined {
    return this.limiters.concurrencyOf(provider, model);
  }
}
