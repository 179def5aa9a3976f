import type { z } from 'zod';
import type { ToolCallSpec, Turn } from '../contracts/case';
import type { Judge } from './judge';

/** A case as metrics see it: the suite's fields plus what the target produced. */
export interface EvaluatedCase {
  readonly input: string;
  readonly actual_output?: string;
  readonly expected_output?: string;
  readonly retrieval_context?: readonly string[];
  readonly context?: readonly string[];
  readonly tools_called?: readonly ToolCallSpec[];
  readonly expected_tools?: readonly ToolCallSpec[];
  /** Milliseconds the target took, or the recorded latency_ms. */
  readonly latency_ms?: number;
  /** USD the target cost; null when its model has no known price. */
  readonly cost_usd?: number | null;
  /** A conversation: user and assistant turns in order (after the target replayed it). */
  readonly turns?: readonly Turn[];
  /** The role the assistant is meant to keep (role_adherence). */
  readonly chatbot_role?: string;
}

export type CaseField = Exclude<keyof EvaluatedCase, 'input'>;

export interface MetricContext<P> {
  readonly testCase: EvaluatedCase;
  readonly params: P;
  /** Present for metrics that need an LLM. */
  readonly judge: Judge;
  /** DeepEval's strict_mode: the score becomes pass/fail (the runner binarizes it; g_eval also asks a 0/1 question). */
  readonly strictMode?: boolean;
}

export interface MetricOutcome {
  readonly score: number;
  readonly reason: string;
  /** Per-item verdicts and other evidence, kept in the report. */
  readonly details?: unknown;
}

/**
 * A metric declares what it is beside how it scores, so the runner, the report and the gate need no
 * per-metric knowledge.
 */
export interface MetricDefinition<P = unknown> {
  readonly name: string;
  readonly description: string;
  readonly needsLlm: boolean;
  /** Inclusive; `null` upper bound for unbounded measures (latency, cost). */
  readonly range: readonly [number, number | null];
  readonly direction: 'higher' | 'lower';
  readonly defaultThreshold: number;
  /** Case fields that must be present (after the target ran) for the metric to score. */
  readonly requires: readonly CaseField[];
  /** Fields required only under some options (exact_match without `value` needs expected_output), and the rule in words. */
  readonly requiresWith?: { readonly fields: (params: P) => readonly CaseField[]; readonly note: string };
  /** The metric's own fields in a suite entry, beyond name, id, threshold and strict_mode. */
  readonly params: z.ZodType<P>;
  /**
   * An empty actual_output errors the metric instead of reaching the judge, as DeepEval's parameter check does
   * for every metric that reads the output (a function: only under some options, e.g. g_eval's evaluation_params).
   */
  readonly refusesEmptyOutput?: boolean | ((params: P) => boolean);
  /** Options that were renamed: old name → what to write instead (the message names it). */
  readonly renamedOptions?: Readonly<Record<string, string>>;
  evaluate(context: MetricContext<P>): Promise<MetricOutcome>;
}

/** A metric entry of a suite, resolved against the registry. */
export interface ConfiguredMetric {
  readonly id: string;
  readonly definition: MetricDefinition;
  readonly threshold: number;
  readonly params: unknown;
  /** DeepEval's strict_mode: threshold 1 (0 when lower is better) and a score of 1 or 0. */
  readonly strictMode?: boolean;
}

/** Every case field a configured metric needs: its fixed ones and those its options add. */
export function requiredFields(metric: Pick<ConfiguredMetric, 'definition' | 'params'>): CaseField[] {
  const extra = metric.definition.requiresWith?.fields(metric.params) ?? [];
  return [...new Set([...metric.definition.requires, ...extra])];
}

export function passes(definition: Pick<MetricDefinition, 'direction'>, score: number, threshold: number): boolean {
  return definition.direction === 'higher' ? score >= threshold : score <= threshold;
}

/**
 * DeepEval's strict_mode on a score: anything short of perfect is 0 (higher is better: `0 if score < 1`), and any
 * amount is 1 when lower is better (hallucination: `1 if score > 0`).
 */
export function strictScore(definition: Pick<MetricDefinition, 'direction'>, score: number): number {
  return definition.direction === 'higher' ? (score < 1 ? 0 : score) : score > 0 ? 1 : score;
}

/** The threshold strict_mode sets: 1, or 0 when lower is better. */
export const strictThreshold = (definition: Pick<MetricDefinition, 'direction'>): number => (definition.direction === 'higher' ? 1 : 0);
