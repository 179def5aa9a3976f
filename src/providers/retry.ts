import { z } from 'zod';
import type { ErrorCause } from '../contracts/report';
import type { ProviderName } from './types';

/** Backoff for every LLM call; the same fields the worker receives as LLM_RETRY_* variables. */
export interface RetryPolicy {
  /** Attempts in all, the first one included. */
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  /** Ceiling of the exponential backoff. */
  readonly maxDelayMs: number;
  /** A server's retry-after is honoured up to this many milliseconds, never longer. */
  readonly retryAfterCapMs: number;
  /** Per attempt. */
  readonly timeoutMs: number;
  /**
   * A rate-limited attempt (429, 529) does not count against `maxAttempts`: it is retried, as the server's
   * retry-after and the backoff say, until this long has passed since the first attempt. A rate limit is the
   * provider asking to wait, not a failure.
   */
  readonly rateLimitBudgetMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 5,
  baseDelayMs: 500,
  maxDelayMs: 30_000,
  retryAfterCapMs: 60_000,
  timeoutMs: 60_000,
  rateLimitBudgetMs: 300_000,
};

/** The LLM_* variables that set the policy (evalctl and the workers read the same ones). */
export const retryEnvironmentSchema = z.object({
  LLM_RETRY_MAX_ATTEMPTS: z.coerce.number().int().positive().default(DEFAULT_RETRY_POLICY.maxAttempts),
  LLM_RETRY_BASE_DELAY_MS: z.coerce.number().int().nonnegative().default(DEFAULT_RETRY_POLICY.baseDelayMs),
  LLM_RETRY_MAX_DELAY_MS: z.coerce.number().int().nonnegative().default(DEFAULT_RETRY_POLICY.maxDelayMs),
  LLM_RETRY_AFTER_CAP_MS: z.coerce.number().int().nonnegative().default(DEFAULT_RETRY_POLICY.retryAfterCapMs),
  LLM_TIMEOUT_MS: z.coerce.number().int().positive().default(DEFAULT_RETRY_POLICY.timeoutMs),
  LLM_RETRY_RATE_LIMIT_BUDGET_MS: z.coerce.number().int().nonnegative().default(DEFAULT_RETRY_POLICY.rateLimitBudgetMs),
});

export function retryPolicyFrom(e: z.infer<typeof retryEnvironmentSchema>): RetryPolicy {
  return {
    maxAttempts: e.LLM_RETRY_MAX_ATTEMPTS,
    baseDelayMs: e.LLM_RETRY_BASE_DELAY_MS,
    maxDelayMs: e.LLM_RETRY_MAX_DELAY_MS,
    retryAfterCapMs: e.LLM_RETRY_AFTER_CAP_MS,
    timeoutMs: e.LLM_TIMEOUT_MS,
    rateLimitBudgetMs: e.LLM_RETRY_RATE_LIMIT_BUDGET_MS,
  };
}

/** A failed attempt, normalised across SDKs so that one policy decides what happens next. */
export class ProviderCallError extends Error {
  constructor(
    readonly provider: ProviderName | 'http',
    readonly model: string,
    /** HTTP status, absent for timeouts and connection failures. */
    readonly status: number | undefined,
    readonly kind: 'http' | 'timeout' | 'connection' | 'invalid-response',
    detail: string,
    /** What the server asked for through retry-after-ms / retry-after. */
    readonly retryAfterMs?: number,
  ) {
    super(`${provider} ${model}: ${describeFailure(kind, status)}: ${detail}`);
    this.name = 'ProviderCallError';
  }

  get retryable(): boolean {
    // A garbled body (a proxy cutting a response short) is as transient as a dropped connection.
    if (this.kind === 'timeout' || this.kind === 'connection' || this.kind === 'invalid-response') return true;
    if (this.status === undefined) return false;
    return this.status === 408 || this.status === 409 || this.status === 429 || this.status >= 500;
  }

  get rateLimited(): boolean {
    return this.status === 429 || this.status === 529;
  }
}

function describeFailure(kind: ProviderCallError['kind'], status: number | undefined): string {
  if (kind === 'timeout') return 'timed out';
  if (kind === 'connection') return 'connection failed';
  if (kind === 'invalid-response') return `invalid response${status ? ` (HTTP ${status})` : ''}`;
  return `HTTP ${status}`;
}

/** The final error once the policy gives up: names provider, model, status and the attempts made. */
export class RetriesExhaustedError extends Error {
  constructor(
    readonly last: ProviderCallError,
    readonly attempts: number,
  ) {
    super(
      last.retryable
        ? `${last.message} (gave up after ${attempts} attempt${attempts === 1 ? '' : 's'})`
        : `${last.message} (not retried)`,
    );
    this.name = 'RetriesExhaustedError';
  }

  get status(): number | undefined {
    return this.last.status;
  }
}

/** Reads `retry-after-ms` (milliseconds) or `retry-after` (seconds or an HTTP date). */
export function parseRetryAfter(headers: Headers | undefined, now = Date.now()): number | undefined {
  if (!headers) return undefined;
  const ms = headers.get('retry-after-ms');
  if (ms !== null && ms.trim() !== '' && Number.isFinite(Number(ms))) return Math.max(0, Number(ms));
  const after = headers.get('retry-after');
  if (after === null || after.trim() === '') return undefined;
  if (Number.isFinite(Number(after))) return Math.max(0, Number(after) * 1000);
  const date = Date.parse(after);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * Delay before attempt `attempt + 1`. A server's retry-after wins, capped at `retryAfterCapMs`; otherwise
 * exponential backoff with full jitter: random(0, min(maxDelay, base × 2^(attempt−1))).
 */
export function backoffDelayMs(
  policy: RetryPolicy,
  attempt: number,
  error: ProviderCallError,
  random: () => number = Math.random,
): number {
  if (error.retryAfterMs !== undefined) return Math.min(error.retryAfterMs, policy.retryAfterCapMs);
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(random() * ceiling);
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs `attempt` until it succeeds, fails with a non-retryable error or uses up the attempts.
 * `onRetry` sees each retryable failure (the rate limiter cuts concurrency on 429s there).
 */
export async function withRetry<T>(
  policy: RetryPolicy,
  attempt: (attemptNumber: number) => Promise<T>,
  onRetry?: (error: ProviderCallError, delayMs: number) => void,
): Promise<{ value: T; attempts: number }> {
  const started = Date.now();
  // Attempts that count against maxAttempts: every failure but a rate limit within the budget.
  let counted = 0;
  for (let n = 1; ; n++) {
    try {
      return { value: await attempt(n), attempts: n };
    } catch (error) {
      if (!(error instanceof ProviderCallError)) throw error;
      const withinRateLimitBudget = error.rateLimited && Date.now() - started < policy.rateLimitBudgetMs;
      if (!withinRateLimitBudget) counted++;
      if (!error.retryable || counted >= policy.maxAttempts) throw new RetriesExhaustedError(error, n);
      const delay = backoffDelayMs(policy, n, error);
      onRetry?.(error, delay);
      await sleep(delay);
    }
  }
}

/** The causes that say nothing about the agent: the evaluation itself could not be done. */
export const INFRASTRUCTURE_CAUSES: ReadonlySet<string> = new Set<ErrorCause>(['auth', 'unreachable', 'outage']);

/** The cause of a failed call; an HTTP agent's own 5xx is the agent failing (`other`), not an outage. */
export function errorCause(error: unknown): ErrorCause {
  const call = error instanceof RetriesExhaustedError ? error.last : error instanceof ProviderCallError ? error : undefined;
  if (!call) return 'other';
  if (call.status === 401 || call.status === 403) return 'auth';
  if (call.kind === 'connection' || call.kind === 'timeout') return 'unreachable';
  if (call.provider !== 'http' && call.status !== undefined && (call.status >= 500 || call.rateLimited)) return 'outage';
  return 'other';
}
