import type { ProviderName, TokenUsage } from './types';

/** USD per million tokens. */
export interface ModelPrice {
  readonly inputPerMTok: number;
  readonly outputPerMTok: number;
  /** Prompt-cache reads; defaults to the input price when a model has no discount. */
  readonly cachedInputPerMTok?: number;
}

/**
 * List prices as published by the providers; the version is written into every report so that a cost can be
 * traced to the table that produced it. Model ids match exactly or by the longest prefix, so dated snapshots
 * (`gpt-4o-mini-2024-07-18`, `claude-sonnet-4-5-20250929`) take their family's price.
 */
export const PRICE_TABLE_VERSION = '2026-11-01';

export const PRICE_TABLE: Readonly<Record<ProviderName, Readonly<Record<string, ModelPrice>>>> = {
  openai: {
    'gpt-4o': { inputPerMTok: 2.5, outputPerMTok: 10, cachedInputPerMTok: 1.25 },
    'gpt-4o-mini': { inputPerMTok: 0.15, outputPerMTok: 0.6, cachedInputPerMTok: 0.075 },
    'gpt-4.1': { inputPerMTok: 2, outputPerMTok: 8, cachedInputPerMTok: 0.5 },
    'gpt-4.1-mini': { inputPerMTok: 0.4, outputPerMTok: 1.6, cachedInputPerMTok: 0.1 },
    'gpt-4.1-nano': { inputPerMTok: 0.1, outputPerMTok: 0.4, cachedInputPerMTok: 0.025 },
    'gpt-5': { inputPerMTok: 1.25, outputPerMTok: 10, cachedInputPerMTok: 0.125 },
    'gpt-5-mini': { inputPerMTok: 0.25, outputPerMTok: 2, cachedInputPerMTok: 0.025 },
    'gpt-5-nano': { inputPerMTok: 0.05, outputPerMTok: 0.4, cachedInputPerMTok: 0.005 },
    'o3': { inputPerMTok: 2, outputPerMTok: 8, cachedInputPerMTok: 0.5 },
    'o3-mini': { inputPerMTok: 1.1, outputPerMTok: 4.4, cachedInputPerMTok: 0.55 },
    'o4-mini': { inputPerMTok: 1.1, outputPerMTok: 4.4, cachedInputPerMTok: 0.275 },
  },
  anthropic: {
    'claude-3-5-haiku': { inputPerMTok: 0.8, outputPerMTok: 4, cachedInputPerMTok: 0.08 },
    'claude-3-5-sonnet': { inputPerMTok: 3, outputPerMTok: 15, cachedInputPerMTok: 0.3 },
    'claude-3-7-sonnet': { inputPerMTok: 3, outputPerMTok: 15, cachedInputPerMTok: 0.3 },
    'claude-haiku-4-5': { inputPerMTok: 1, outputPerMTok: 5, cachedInputPerMTok: 0.1 },
    'claude-sonnet-4': { inputPerMTok: 3, outputPerMTok: 15, cachedInputPerMTok: 0.3 },
    'claude-sonnet-4-5': { inputPerMTok: 3, outputPerMTok: 15, cachedInputPerMTok: 0.3 },
    'claude-opus-4': { inputPerMTok: 15, outputPerMTok: 75, cachedInputPerMTok: 1.5 },
    'claude-opus-4-1': { inputPerMTok: 15, outputPerMTok: 75, cachedInputPerMTok: 1.5 },
    'claude-opus-4-5': { inputPerMTok: 5, outputPerMTok: 25, cachedInputPerMTok: 0.5 },
  },
};

/** Prices from the suite's configuration win over the table. Keyed `provider/model`. */
export type PriceOverrides = ReadonlyMap<string, ModelPrice>;

export function findPrice(provider: ProviderName, model: string, overrides?: PriceOverrides): ModelPrice | undefined {
  const override = overrides?.get(`${provider}/${model}`);
  if (override) return override;
  const table = PRICE_TABLE[provider];
  let best: string | undefined;
  for (const id of Object.keys(table)) {
    if ((model === id || model.startsWith(`${id}-`)) && (!best || id.length > best.length)) best = id;
  }
  return best ? table[best] : undefined;
}

/**
 * Money is kept to the nano-dollar: each call's cost and every sum are rounded there, so a sum of calls reads
 * 0.000432, not 0.00043200000000000004, and adding calls in another order gives the same total.
 */
export const roundUsd = (usd: number): number => Math.round(usd * 1e9) / 1e9;

/** a + b in USD, null when either is unknown. */
export const addUsd = (a: number | null, b: number | null): number | null => (a === null || b === null ? null : roundUsd(a + b));

/** Cost in USD, or null when the model has no known price (never reported as 0). */
export function costOf(price: ModelPrice | undefined, usage: TokenUsage): number | null {
  if (!price) return null;
  const cached = price.cachedInputPerMTok ?? price.inputPerMTok;
  const usd =
    usage.inputTokens * price.inputPerMTok +
    usage.cacheWriteTokens * price.inputPerMTok * 1.25 +
    usage.cachedInputTokens * cached +
    usage.outputTokens * price.outputPerMTok;
  return roundUsd(usd / 1_000_000);
}
