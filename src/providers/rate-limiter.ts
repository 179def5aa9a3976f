/** Client-side limits for one provider and model; every field optional. */
export interface ModelLimits {
  readonly requestsPerMinute?: number;
  readonly tokensPerMinute?: number;
  /** Calls in flight at once; cut in half on each 429 and raised by one after a run of successes. */
  readonly maxConcurrency?: number;
}

/**
 * A token bucket refilled continuously at `perMinute / 60 000` per millisecond, holding at most one second's
 * worth (or one unit). A take larger than the capacity waits for a full bucket and leaves it in debt, so a
 * single big request is delayed, never refused.
 */
class TokenBucket {
  private level: number;
  private last: number;
  readonly capacity: number;
  private readonly perMs: number;

  constructor(perMinute: number, private readonly now: () => number) {
    this.perMs = perMinute / 60_000;
    this.capacity = Math.max(1, perMinute / 60);
    this.level = this.capacity;
    this.last = now();
  }

  /** Milliseconds until `amount` may be taken; 0 means it was taken. */
  tryTake(amount: number): number {
    const now = this.now();
    this.level = Math.min(this.capacity, this.level + (now - this.last) * this.perMs);
    this.last = now;
    const needed = Math.min(amount, this.capacity);
    if (this.level >= needed) {
      this.level -= amount;
      return 0;
    }
    return Math.ceil((needed - this.level) / this.perMs);
  }

  /** Gives back the difference between an estimate and what the call really used. */
  adjust(delta: number): void {
    this.level = Math.min(this.capacity, this.level - delta);
  }
}

/**
 * A per-minute budget shared by every process that names the same key (the workers share it through Redis),
 * so the provider's limit holds for the fleet, not for each worker.
 */
export interface SharedBudget {
  /** Takes `amount`; 0 when taken, else the milliseconds to wait before asking again. */
  take(key: string, perMinute: number, amount: number): Promise<number>;
  /** Gives back `amount` (an estimate that was too high). */
  give(key: string, perMinute: number, amount: number): Promise<void>;
}

const sleepMs = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Requests per minute, tokens per minute and an adaptive concurrency limit for one model, so a large suite
 * slows down instead of collecting 429s. Waiters are served in arrival order.
 */
export class ModelRateLimiter {
  private readonly requests?: TokenBucket;
  private readonly tokens?: TokenBucket;
  private readonly ceiling: number;
  private limit: number;
  private inFlight = 0;
  private successes = 0;
  private readonly queue: Array<{ tokens: number; resolve: () => void }> = [];
  private timer: NodeJS.Timeout | undefined;
  /** 429s seen; exposed for reports and tests. */
  throttled = 0;

  constructor(
    private readonly limits: ModelLimits,
    now: () => number = Date.now,
    /** With a shared budget the per-minute limits are the fleet's; concurrency stays per process. */
    private readonly shared?: { budget: SharedBudget; key: string },
  ) {
    if (limits.requestsPerMinute && !shared) this.requests = new TokenBucket(limits.requestsPerMinute, now);
    if (limits.tokensPerMinute && !shared) this.tokens = new TokenBucket(limits.tokensPerMinute, now);
    this.ceiling = limits.maxConcurrency ?? Number.POSITIVE_INFINITY;
    this.limit = this.ceiling;
  }

  /** The current concurrency limit (falls on 429s, recovers on success). */
  get concurrency(): number {
    return this.limit;
  }

  /** Waits for a slot, a request and `estimatedTokens`; call `release` when the call ends. */
  async acquire(estimatedTokens: number): Promise<void> {
    await new Promise<void>((resolve) => {
      this.queue.push({ tokens: estimatedTokens, resolve });
      this.drain();
    });
    if (!this.shared) return;
    if (this.limits.requestsPerMinute) await this.takeShared('requests', this.limits.requestsPerMinute, 1);
    if (this.limits.tokensPerMinute) await this.takeShared('tokens', this.limits.tokensPerMinute, estimatedTokens);
  }

  private async takeShared(kind: string, perMinute: number, amount: number): Promise<void> {
    const { budget, key } = this.shared!;
    for (;;) {
      // A budget store that cannot answer does not stop evaluation: the provider's 429s still slow it down.
      const wait = await budget.take(`${key}:${kind}`, perMinute, amount).catch(() => 0);
      if (wait <= 0) return;
      await sleepMs(wait);
    }
  }

  /** Ends a call: `usedTokens` corrects the estimate; `rateLimited` halves the concurrency limit. */
  release(estimatedTokens: number, usedTokens: number | undefined, outcome: 'ok' | 'rate-limited' | 'failed'): void {
    this.inFlight--;
    if (usedTokens !== undefined) this.tokens?.adjust(usedTokens - estimatedTokens);
    if (usedTokens !== undefined && this.shared && this.limits.tokensPerMinute && estimatedTokens > usedTokens) {
      void this.shared.budget.give(`${this.shared.key}:tokens`, this.limits.tokensPerMinute, estimatedTokens - usedTokens).catch(() => undefined);
    }
    if (outcome === 'rate-limited') this.onRateLimited();
    else if (outcome === 'ok' && this.limit < this.ceiling && ++this.successes >= this.limit) {
      this.limit++;
      this.successes = 0;
    }
    this.drain();
  }

  /** A 429 seen on an attempt that will be retried: halve the concurrency limit. */
  onRateLimited(): void {
    this.throttled++;
    this.successes = 0;
    const current = Number.isFinite(this.limit) ? this.limit : Math.max(1, this.inFlight);
    this.limit = Math.max(1, Math.floor(current / 2));
  }

  private drain(): void {
    while (this.queue.length > 0 && this.inFlight < this.limit) {
      const next = this.queue[0];
      const wait = Math.max(this.requests?.tryTake(1) ?? 0, 0);
      if (wait > 0) return this.schedule(wait);
      const tokenWait = this.tokens?.tryTake(next.tokens) ?? 0;
      if (tokenWait > 0) {
        this.requests?.adjust(-1);
        return this.schedule(tokenWait);
      }
      this.queue.shift();
      this.inFlight++;
      next.resolve();
    }
  }

  private schedule(ms: number): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.drain();
    }, ms);
  }
}

/** A rough token estimate (4 characters per token) used before the response reports real usage. */
export function estimateTokens(text: string, maxOutputTokens: number): number {
  return Math.ceil(text.length / 4) + maxOutputTokens;
}
