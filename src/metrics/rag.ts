import { z } from 'zod';
import type { Judge } from './judge';
import type { MetricDefinition } from './types';

export const JUDGE_SYSTEM = 'You are a meticulous evaluator of AI assistant answers. Follow the instructions exactly and answer in JSON.';

export const numbered = (items: readonly string[]): string => items.map((item, i) => `${i + 1}. ${item}`).join('\n');

const verdictSchemas = new Map<string, z.ZodType<{ verdicts: Array<{ verdict: string; reason: string }> }>>();

/** Built once per (values, count): schemas and their JSON form are reused across cases. */
function verdictSchema(allowed: readonly [string, ...string[]], count: number) {
  const key = `${allowed.join('|')}#${count}`;
  let schema = verdictSchemas.get(key);
  if (!schema) {
    schema = z.object({ verdicts: z.array(z.object({ verdict: z.enum(allowed), reason: z.string() })).length(count) });
    verdictSchemas.set(key, schema);
  }
  return schema;
}

/** Asks for exactly one verdict per item, in order; a reply with the wrong count is re-asked by the judge. */
export async function verdictsFor<V extends string>(
  judge: Judge,
  name: string,
  allowed: readonly [V, ...V[]],
  count: number,
  prompt: string,
): Promise<Array<{ verdict: V; reason: string }>> {
  const schema = verdictSchema(allowed, count) as z.ZodType<{ verdicts: Array<{ verdict: V; reason: string }> }>;
  const answer = await judge.ask({ name, system: JUDGE_SYSTEM, prompt, schema });
  return answer.value.verdicts;
}

const listSchema = z.object({ items: z.array(z.string()) });

export async function listOf(judge: Judge, name: string, prompt: string): Promise<string[]> {
  const schema = listSchema;
  const answer = await judge.ask({ name, system: JUDGE_SYSTEM, prompt, schema });
  return answer.value.items.map((item) => item.trim()).filter((item) => item.length > 0);
}

/** The items whose verdict is `value`, in order. */
const withVerdict = <T>(items: readonly T[], verdicts: ReadonlyArray<{ verdict: string }>, value: string): T[] =>
  items.filter((_, i) => verdicts[i].verdict === value);

export const quoted = (items: readonly string[]): string => items.map((item) => `"${item}"`).join('; ');

export const ratio = (numerator: number, denominator: number): number => (denominator === 0 ? 1 : numerator / denominator);

const strictParams = z.object({ strict: z.boolean().default(false).describe('count "idk" verdicts (claims the context does not mention, statements that only support) as failing') }).strict();

/**
 * faithfulness: the judge extracts the factual claims of the output, then gives each a verdict against the
 * retrieval context (yes: supported, no: contradicted, idk: not mentioned).
 * score = claims not contradicted / claims; with `strict`, only `yes` counts. No claims → 1.
 */
export const faithfulness: MetricDefinition<z.infer<typeof strictParams>> = {
  name: 'faithfulness',
  description: 'Share of the output’s claims that the retrieval context does not contradict.',
  needsLlm: true,
  range: [0, 1],
  direction: 'higher',
  defaultThreshold: 0.5,
  requires: ['actual_output', 'retrieval_context'],
  params: strictParams,
  async evaluate({ testCase, params, judge }) {
    const claims = await listOf(
      judge,
      'claims',
      `Extract every factual claim the text states, one self-contained sentence each, as "items". Do not add claims.\n\nText:\n${testCase.actual_output}`,
    );
    if (claims.length === 0) return { score: 1, reason: 'The output makes no factual claims.', details: { claims } };
    const verdicts = await verdictsFor(
      judge,
      'claim_verdicts',
      ['yes', 'no', 'idk'],
      claims.length,
      `For each claim, in order, give a verdict against the retrieval context: "yes" if the context supports it, ` +
        `"no" if the context contradicts it, "idk" if the context does not say.\n\nRetrieval context:\n${numbered(testCase.retrieval_context ?? [])}\n\nClaims:\n${numbered(claims)}`,
    );
    const faithful = verdicts.filter((v) => (params.strict ? v.verdict === 'yes' : v.verdict !== 'no')).length;
    const contradicted = withVerdict(claims, verdicts, 'no');
    const reason =
      contradicted.length === 0
        ? `All ${claims.length} claims are consistent with the retrieval context.`
        : `${contradicted.length} of ${claims.length} claims contradict the retrieval context: ${quoted(contradicted)}.`;
    return { score: ratio(faithful, claims.length), reason, details: { claims, verdicts } };
  },
};

/**
 * answer_relevancy: the judge splits the output into statements, then judges each relevant to the input
 * (yes / no / idk; idk counts as relevant, as in DeepEval). score = relevant / statements. No statements → 1.
 */
export const answerRelevancy: MetricDefinition<z.infer<typeof strictParams>> = {
  name: 'answer_relevancy',
  description: 'Share of the output’s statements that address the input.',
  needsLlm: true,
  range: [0, 1],
  direction: 'higher',
  defaultThreshold: 0.5,
  requires: ['actual_output'],
  params: strictParams,
  async evaluate({ testCase, params, judge }) {
    const statements = await listOf(
      judge,
      'statements',
      `Break the text into its individual statements, as "items".\n\nText:\n${testCase.actual_output}`,
    );
    if (statements.length === 0) return { score: 1, reason: 'The output makes no statements.', details: { statements } };
    const verdicts = await verdictsFor(
      judge,
      'relevancy_verdicts',
      ['yes', 'no', 'idk'],
      statements.length,
      `For each statement, in order, say whether it is relevant to answering the input: "yes", "no", or "idk" when ` +
        `it is supporting information.\n\nInput:\n${testCase.input}\n\nStatements:\n${numbered(statements)}`,
    );
    const relevant = verdicts.filter((v) => (params.strict ? v.verdict === 'yes' : v.verdict !== 'no')).length;
    const irrelevant = withVerdict(statements, verdicts, 'no');
    const reason =
      irrelevant.length === 0
        ? `All ${statements.length} statements address the input.`
        : `${irrelevant.length} of ${statements.length} statements do not address the input: ${quoted(irrelevant)}.`;
    return { score: ratio(relevant, statements.length), reason, details: { statements, verdicts } };
  },
};

const noParams = z.object({}).strict();

/**
 * contextual_precision (rank-aware): a yes/no verdict per retrieval node, in rank order, on whether it was
 * useful to reach the expected output. score = Σ_k rel_k · precision@k / number of relevant nodes, where
 * precision@k = relevant nodes in the top k / k. No relevant node → 0.
 */
export const contextualPrecision: MetricDefinition<z.infer<typeof noParams>> = {
  name: 'contextual_precision',
  description: 'Whether relevant retrieval nodes are ranked above irrelevant ones.',
  needsLlm: true,
  range: [0, 1],
  direction: 'higher',
  defaultThreshold: 0.5,
  requires: ['expected_output', 'retrieval_context'],
  params: noParams,
  async evaluate({ testCase, judge }) {
    const nodes = testCase.retrieval_context ?? [];
    if (nodes.length === 0) return { score: 0, reason: 'The retrieval context is empty.' };
    const verdicts = await verdictsFor(
      judge,
      'node_verdicts',
      ['yes', 'no'],
      nodes.length,
      `For each retrieval node, in order, say "yes" if it was useful in arriving at the expected output, else "no".\n\n` +
        `Input:\n${testCase.input}\n\nExpected output:\n${testCase.expected_output}\n\nRetrieval nodes:\n${numbered(nodes)}`,
    );
    const relevance = verdicts.map((v) => (v.verdict === 'yes' ? 1 : 0));
    const score = rankedPrecision(relevance);
    const ranks = relevance.flatMap((rel, i) => (rel ? [i + 1] : []));
    const reason =
      ranks.length === 0
        ? 'No retrieval node is relevant to the expected output.'
        : `Relevant nodes at ranks ${ranks.join(', ')} of ${nodes.length}.`;
    return { score, reason, details: { verdicts } };
  },
};

/** Σ_k rel_k · precision@k / Σ rel_k. */
export function rankedPrecision(relevance: readonly number[]): number {
  let relevantSoFar = 0;
  let sum = 0;
  relevance.forEach((rel, index) => {
    if (rel) {
      relevantSoFar++;
      sum += relevantSoFar / (index + 1);
    }
  });
  return relevantSoFar === 0 ? 0 : sum / relevantSoFar;
}

/** Sentences of a text, split after . ! or ? followed by whitespace; deterministic so scores can be checked by hand. */
export function sentences(text: string): string[] {
  return text
    .split(/(?<=[.!?])\s+/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/**
 * contextual_recall: the expected output is split into sentences; the judge says of each whether the
 * retrieval context supports it (attributable). score = attributable sentences / sentences.
 */
export const contextualRecall: MetricDefinition<z.infer<typeof noParams>> = {
  name: 'contextual_recall',
  description: 'Share of the expected output that the retrieval context supports.',
  needsLlm: true,
  range: [0, 1],
  direction: 'higher',
  defaultThreshold: 0.5,
  requires: ['expected_output', 'retrieval_context'],
  params: noParams,
  async evaluate({ testCase, judge }) {
    const parts = sentences(testCase.expected_output ?? '');
    if (parts.length === 0) return { score: 1, reason: 'The expected output is empty.' };
    const verdicts = await verdictsFor(
      judge,
      'attribution_verdicts',
      ['yes', 'no'],
      parts.length,
      `For each sentence of the expected output, in order, say "yes" if it can be attributed to the retrieval ` +
        `context, else "no".\n\nRetrieval context:\n${numbered(testCase.retrieval_context ?? [])}\n\nSentences:\n${numbered(parts)}`,
    );
    const missing = withVerdict(parts, verdicts, 'no');
    const attributable = parts.length - missing.length;
    const reason =
      missing.length === 0
        ? `All ${parts.length} expected sentences are supported by the retrieval context.`
        : `${missing.length} of ${parts.length} expected sentences are not supported: ${quoted(missing)}.`;
    return { score: attributable / parts.length, reason, details: { sentences: parts, verdicts } };
  },
};

/**
 * hallucination: a verdict per ground-truth context on whether the output agrees with it (yes) or
 * contradicts it (no). score = contradicted contexts / contexts; lower is better.
 */
export const hallucination: MetricDefinition<z.infer<typeof noParams>> = {
  name: 'hallucination',
  description: 'Share of the given contexts that the output contradicts (lower is better).',
  needsLlm: true,
  range: [0, 1],
  direction: 'lower',
  defaultThreshold: 0.5,
  requires: ['actual_output', 'context'],
  params: noParams,
  async evaluate({ testCase, judge }) {
    const contexts = testCase.context ?? [];
    if (contexts.length === 0) return { score: 0, reason: 'There is no context to contradict.' };
    const verdicts = await verdictsFor(
      judge,
      'context_verdicts',
      ['yes', 'no'],
      contexts.length,
      `For each context, in order, say "yes" if the output agrees with it (or does not address it), "no" if the ` +
        `output contradicts it.\n\nOutput:\n${testCase.actual_output}\n\nContexts:\n${numbered(contexts)}`,
    );
    const contradicted = withVerdict(contexts, verdicts, 'no');
    const reason =
      contradicted.length === 0
        ? `The output contradicts none of the ${contexts.length} contexts.`
        : `The output contradicts ${contradicted.length} of ${contexts.length} contexts: ${quoted(contradicted)}.`;
    return { score: contradicted.length / contexts.length, reason, details: { verdicts } };
  },
};
