import { taskCompletion, toolCorrectness } from './agent';
import { conversationCompleteness, knowledgeRetention, roleAdherence, turnRelevancy } from './conversation';
import { contains, cost, exactMatch, icontains, jsonSchema, jsonValid, latencyMs, levenshtein, patternMatch, regex } from './deterministic';
import { gEval } from './g-eval';
import { answerRelevancy, contextualPrecision, contextualRecall, faithfulness, hallucination } from './rag';
import type { MetricDefinition } from './types';

/** Every metric the engine knows, by name. */
export const METRICS: ReadonlyMap<string, MetricDefinition> = new Map(
  (
    [
      faithfulness,
      answerRelevancy,
      contextualPrecision,
      contextualRecall,
      hallucination,
      gEval,
      toolCorrectness,
      taskCompletion,
      turnRelevancy,
      roleAdherence,
      knowledgeRetention,
      conversationCompleteness,
      exactMatch,
      contains,
      icontains,
      regex,
      patternMatch,
      jsonValid,
      jsonSchema,
      levenshtein,
      latencyMs,
      cost,
    ] as unknown as MetricDefinition<never>[]
  ).map((metric) => [metric.name, metric as unknown as MetricDefinition]),
);

export function metricNames(): string[] {
  return [...METRICS.keys()];
}
