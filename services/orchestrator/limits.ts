import { unstorableText } from '../../src/contracts/text';
/**
 * The orchestrator's own protections: per-key token buckets (a project's request rate) and a budget of request-body bytes being read at once. In-process, per replica: the request
 * rate a project gets from the whole API is the replica count times PROJECT_REQUESTS_PER_SECOND.
 */

/** Sets `key` in a map that holds at most `max` entries, forgetting the oldest first. */
export function setBounded<K, V>(map: Map<K, V>, key: K, value: V, max = 10_000): void {
  map.delete(key);
  if (map.size >= max) map.delete(map.keys().next().value!);
  map.set(key, value);
}

/** Token buckets by key, bounded in number (the least recently used is forgotten). */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly maxKeys = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes a token: 0 when allowed, else the seconds to wait before one is there (for `retry-after`). */
  take(key: string): number {
    const bucket = this.refill(key);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / this.perSecond));
  }

  /**
   * Takes `count` tokens at once (a batch of spans): 0 when allowed, else the seconds until they are there;
   * nothing is taken then, so a refused batch sent again later is not charged twice. Infinity: more than the
   * burst, never allowed.
   */
  takeMany(key: string, count: number): number {
    if (count > this.burst) return Infinity;
    const bucket = this.refill(key);
    if (bucket.tokens >= count) {
      bucket.tokens -= count;
      return 0;
    }
    return Math.max(1, Math.ceil((count - bucket.tokens) / this.perSecond));
  }

  private refill(key: string): { tokens: number; at: number } {
    const now = this.now();
    const bucket = this.buckets.get(key) ?? { tokens: this.burst, at: now };
    bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.perSecond);
    bucket.at = now;
    setBounded(this.buckets, key, bucket, this.maxKeys);
    return bucket;
  }

}

/**
 * Bytes of request bodies being read and parsed at once. A JSON body costs several times its size in memory
 * while it is parsed and validated, so six concurrent 31 MB bodies exceed a 1 GiB container; past the budget
 * a request is told to come back (503 with retry-after) instead.
 */
export class BodyBudget {
  private inUse = 0;

  constructor(readonly capacity: number) {}

  /** Reserves `bytes`; false when they do not fit now. A body alone larger than the capacity fits when nothing else is read. */
  tryTake(bytes: number): boolean {
    if (this.inUse > 0 && this.inUse + bytes > this.capacity) return false;
    this.inUse += bytes;
    return true;
  }

  give(bytes: number): void {
    this.inUse = Math.max(0, this.inUse - bytes);
  }
}

/** The deepest nesting of arrays and objects in a JSON text, counted without parsing it (strings skipped). */
export function jsonDepth(text: string, limit: number): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      depth++;
      if (depth > deepest) {
        deepest = depth;
        if (deepest > limit) return deepest;
      }
    } else if (c === 125 || c === 93) depth--;
  }
  return deepest;
}

/**
 * The first place in a parsed JSON value where a string (or a key) holds a NUL character or a lone UTF-16
 * surrogate: Postgres's text and jsonb cannot store either. Returns the path (`suite.cases[3].input`) and what is wrong.
 */
export function badString(value: unknown, path = ''): { path: string; problem: string } | undefined {
  const check = (text: string, where: string) => {
    const problem = unstorableText(text);
    return problem ? { path: where || 'body', problem } : undefined;
  };
  // Iterative: the depth was bounded before parsing, but a wide document should not cost stack either.
  const stack: Array<[unknown, string]> = [[value, path]];
  while (stack.length > 0) {
    const [node, where] = stack.pop()!;
    if (typeof node === 'string') {
      const found = check(node, where);
      if (found) return found;
    } else if (Array.isArray(node)) {
      for (let i = node.length - 1; i >= 0; i--) stack.push([node[i], `${where}[${i}]`]);
    } else if (node && typeof node === 'object') {
      const entries = Object.entries(node);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, inner] = entries[i];
        const at = where ? `${where}.${key}` : key;
        const found = check(key, at);
        if (found) return { ...found, problem: `(the name) ${found.problem}` };
        stack.push([inner, at]);
      }
    }
  }
  return undefined;
}
