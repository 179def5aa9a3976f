import { z } from 'zod';
import { questionSchema, type Judge } from './judge';
import type { MetricDefinition } from './types';

export const JUDGE_SYSTEM = 'You are a meticulous evaluator of AI assistant answers. Follow the instructions exactly and answer in JSON.';

export const numbered = (items: readonly string[]): string => items.map((item, i) => `${i + 1}. ${item}`).join('\n');

/** One verdict as every judge question asks for it: the reason first, so the judge reasons before it decides. */
export interface Verdict<V extends string = string> {
  readonly reason: string;
  readonly verdict: V;
}

/** One schema per (values, count); property order is the order the judge writes them in. */
const verdictSchema = (allowed: readonly [string, ...string[]], count: number) =>
  questionSchema(`verdicts:${allowed.join('|')}#${count}`, () => z.object({ verdicts: z.array(z.object({ reason: z.string(), verdict: z.enum(allowed) })).length(count) }));

/**
 * Asks for exactly one verdict per item, in order; a reply with the wrong count is re-asked by the judge.
 * DeepEval scores whatever number of verdicts came back; refusing a wrong count is our one deliberate
 * difference, and it never changes the score of a well-formed reply (one verdict per item).
 */
export async function verdictsFor<V extends string>(
  judge: Judge,
  name: string,
  allowed: readonly [V, ...V[]],
  count: number,
  prompt: string,
): Promise<Array<Verdict<V>>> {
  const schema = verdictSchema(allowed, count) as z.ZodType<{ verdicts: Array<Verdict<V>> }>;
  const answer = await judge.ask({ name, system: JUDGE_SYSTEM, prompt, schema });
  return answer.value.verdicts;
}

/** A list the judge extracts (claims, truths, statements), under the key the prompt names. */
export async function listOf(judge: Judge, name: string, prompt: string, key = 'items'): Promise<string[]> {
  const schema = questionSchema(`list:${key}`, () => z.object({ [key]: z.array(z.string()) }) as unknown as z.ZodType<Record<string, string[]>>);
  const answer = await judge.ask({ name, system: JUDGE_SYSTEM, prompt, schema });
  return answer.value[key].map((item) => item.trim()).filter((item) => item.length > 0);
}

/** The items whose verdict is `value`, in order. */
const withVerdict = <T>(items: readonly T[], verdicts: ReadonlyArray<{ verdict: string }>, value: string): T[] =>
  items.filter((_, i) => verdicts[i].verdict === value);

export const quoted = (items: readonly string[]): string => items.map((item) => `"${item}"`).join('; ');

export const ratio = (numerator: number, denominator: number): number => (denominator === 0 ? 1 : numerator / denominator);

/**
 * DeepEval's `penalize_ambiguous_claims`: an "idk" verdict counts as not faithful. (Earlier builds called this option
 * `strict`, which DeepEval uses for something else: `strict_mode`, a pass/fail score.)
 */
const ambiguityParams = {
  penalize_ambiguous_claims: z.boolean().default(false).describe('count "idk" verdicts (claims the context does not mention, statements that only support) as failing'),
};
const faithfulnessParams = z
  .object({
    ...ambiguityParams,
    truths_extraction_limit: z.number().int().min(1).optional().describe('at most this many truths taken from each retrieval node (default: every truth)'),
  })
  .strict();
const relevancyParams = z.object(ambiguityParams).strict();

/** The old name of penalize_ambiguous_claims, refused with a message that names the new one. */
const RENAMED_STRICT = { strict: 'penalize_ambiguous_claims (strict was renamed: strict_mode is DeepEval\'s pass/fail mode, a different thing)' } as const;

/**
 * DeepEval's faithfulness and answer-relevancy score: verdicts other than "no" / verdicts, where an "idk" counts
 * against when ambiguity is penalized (`penalize_ambiguous_claims`).
 */
function unambiguousShare(verdicts: ReadonlyArray<{ verdict: string }>, penalizeAmbiguous: boolean): number {
  const counted = verdicts.filter(({ verdict }) => verdict === 'yes' || (verdict === 'idk' && !penalizeAmbiguous)).length;
  return counted / verdicts.length;
}

const CLAIMS_PROMPT = (text: string) =>
  `Extract every factual claim the text states, as "claims": one self-contained sentence each, in the text's order. ` +
  `Resolve pronouns so each claim reads on its own. Do not add, merge or infer claims; opinions, greetings and questions are not claims.\n\n` +
  `Example\nText: "Our store opened in 2019. It ships to Canada, and returns are free."\n` +
  `{"claims": ["The store opened in 2019.", "The store ships to Canada.", "Returns at the store are free."]}\n\n` +
  `Text:\n${text}`;

const TRUTHS_PROMPT = (context: readonly string[], limit: number | undefined) =>
  `Extract ${limit === undefined ? 'every' : `at most the ${limit} most important`} factual, undisputed ${limit === 1 ? 'truth' : 'truths'} ` +
  `${limit === undefined ? 'that the retrieval context states' : 'from each numbered document of the retrieval context'}, as "truths": ` +
  `one self-contained sentence each, taken from the documents as written, nothing inferred.\n\n` +
  `Example\nRetrieval context:\n1. Orders ship within 2 business days. Express costs $9.\n` +
  `{"truths": ["Orders ship within 2 business days.", "Express shipping costs $9."]}\n\n` +
  `Retrieval context:\n${numbered(context)}`;

/**
 * faithfulness (DeepEval's FaithfulnessMetric): the judge extracts the truths of the retrieval context and the
 * claims of the output (two independent questions), then gives each claim a verdict against the truths: "no"
 * only when the truths directly contradict it, "idk" when they do not say, else "yes".
 * score = (claims − "no" − (penalize_ambiguous_claims ? "idk" : 0)) / claims; no claims → 1. Same as DeepEval.
 */
export const faithfulness: MetricDefinition<z.infer<typeof faithfulnessParams>> = {
  name: 'faithfulness',
  description: 'Share of the output’s claims that the retrieval context does not contradict.',
  needsLlm: true,
  range: [0, 1],
  direction: 'higher',
  defaultThreshold: 0.5,
  requires: ['actual_output', 'retrieval_context'],
  refusesEmptyOutput: true,
  params: faithfulnessParams,
  renamedOptions: RENAMED_STRICT,
  async evaluate({ testCase, params, judge }) {
    // Both questions at once, as DeepEval asks them; when both fail, the claims' failure is the one reported,
    // whichever came first, so the same judge gives the same error every time.
    const [claimsAsked, truthsAsked] = await Promise.allSettled([
      listOf(judge, 'claims', CLAIMS_PROMPT(testCase.actual_output ?? ''), 'claims'),
      listOf(judge, 'truths', TRUTHS_PROMPT(testCase.retrieval_context ?? [], params.truths_extraction_limit), 'truths'),
    ]);
    if (claimsAsked.status === 'rejected') throw claimsAsked.reason;
    if (truthsAsked.status === 'rejected') throw truthsAsked.reason;
    const [claims, truths] = [claimsAsked.value, truthsAsked.value];
    if (claims.length === 0) return { score: 1, reason: 'The output makes no factual claims.', details: { claims, truths } };
    const verdicts = await verdictsFor(
      judge,
      'claim_verdicts',
      ['yes', 'no', 'idk'],
      claims.length,
      `For each claim, in order, give a "reason" and then a "verdict" on whether the truths contradict it:\n` +
        `- "no" only when a truth directly contradicts the claim; say in the reason which truth, and correct the claim with it;\n` +
        `- "idk" when the truths neither support nor contradict it (they do not mention it);\n` +
        `- "yes" when the truths support it.\n` +
        `Judge only against the truths, never against what you know yourself.\n\n` +
        `Example\nTruths:\n1. Refunds take 10 business days.\n2. The store ships to Canada.\nClaims:\n1. Refunds take 5 days.\n2. The store ships to Canada.\n3. The store ships to Mexico.\n` +
        `{"verdicts": [{"reason": "Truth 1 says refunds take 10 business days, not 5.", "verdict": "no"}, {"reason": "Truth 2 states it.", "verdict": "yes"}, ` +
        `{"reason": "No truth mentions Mexico.", "verdict": "idk"}]}\n\n` +
        `Truths:\n${numbered(truths) || '(none)'}\n\nClaims:\n${numbered(claims)}`,
    );

    const contradicted = withVerdict(claims, verdicts, 'no');
    const reason =
      contradicted.length === 0
        ? `None of the ${claims.length} claims contradicts the retrieval context.`
        : `${contradicted.length} of ${claims.length} claims contradict the retrieval context: ${quoted(contradicted)}.`;
    return { score: unambiguousShare(verdicts, params.penalize_ambiguous_claims), reason, details: { truths, claims, verdicts } };
  },
};

/**
 * answer_relevancy (DeepEval's AnswerRelevancyMetric): the judge splits the output into statements, then judges
 * each relevant to the input: "yes", "no", or "idk" for supporting information that is not itself an answer.
 * score = (statements − "no" − (penalize_ambiguous_claims ? "idk" : 0)) / statements; no statements → 1. Same as
 * DeepEval (which has no penalize option: off by default here, it changes nothing).
 */
export const answerRelevancy: MetricDefinition<z.infer<typeof relevancyParams>> = {
  name: 'answer_relevancy',
  description: 'Share of the output’s statements that address the input.',
  needsLlm: true,
  range: [0, 1],
  direction: 'higher',
  defaultThreshold: 0.5,
  requires: ['actual_output'],
  refusesEmptyOutput: true,
  params: relevancyParams,
  renamedOptions: RENAMED_STRICT,
  async evaluate({ testCase, params, judge }) {
    const statements = await listOf(
      judge,
      'statements',
      `Break the text into its individual statements, as "statements": one short sentence each, in order; ` +
        `keep every statement, even an off-topic one, and do not merge or rephrase beyond making each read on its own.\n\n` +
        `Example\nText: "Our laptop has a 14-inch screen and 16 GB of RAM. We also sell phones!"\n` +
        `{"statements": ["The laptop has a 14-inch screen.", "The laptop has 16 GB of RAM.", "The shop also sells phones."]}\n\n` +
        `Text:\n${testCase.actual_output}`,
      'statements',
    );
    if (statements.length === 0) return { score: 1, reason: 'The output makes no statements.', details: { statements } };
    const verdicts = await verdictsFor(
      judge,
      'relevancy_verdicts',
      ['yes', 'no', 'idk'],
      statements.length,
      `For each statement, in order, give a "reason" and then a "verdict" on whether it helps answer the input: ` +
        `"yes" if it addresses the input, "no" if it is irrelevant to it, "idk" if it is supporting information that does not answer it by itself.\n\n` +
        `Example\nInput: What screen does the laptop have?\nStatements:\n1. The laptop has a 14-inch screen.\n2. The screen is anti-glare, good for outdoor use.\n3. The shop also sells phones.\n` +
        `{"verdicts": [{"reason": "It answers the question.", "verdict": "yes"}, {"reason": "Supporting detail about the screen.", "verdict": "idk"}, ` +
        `{"reason": "Phones have nothing to do with the laptop's screen.", "verdict": "no"}]}\n\n` +
        `Input:\n${testCase.input}\n\nStatements:\n${numbered(statements)}`,
    );

    const irrelevant = withVerdict(statements, verdicts, 'no');
    const reason =
      irrelevant.length === 0
        ? `All ${statements.length} statements address the input.`
        : `${irrelevant.length} of ${statements.length} statements do not address the input: ${quoted(irrelevant)}.`;
    return { score: unambiguousShare(verdicts, params.penalize_ambiguous_claims), reason, details: { statements, verdicts } };
  },
};

const noParams = z.object({}).strict();

/**
 * contextual_precision (DeepEval's ContextualPrecisionMetric, rank-aware): a yes/no verdict per retrieval node,
 * in rank order, on whether it was useful to reach the expected output.
 * score = Σ_k rel_k · precision@k / relevant nodes, precision@k = relevant in the top k / k; no relevant node → 0. Same as DeepEval.
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
      `For each retrieval node, in order, give a "reason" (quote the part that helps, if any) and then a "verdict": ` +
        `"yes" if the node was useful in arriving at the expected output for the input, else "no".\n\n` +
        `Example\nInput: How long do refunds take?\nExpected output: Refunds take 10 business days.\nRetrieval nodes:\n1. Our office is in Berlin.\n2. Refunds are issued within 10 business days.\n` +
        `{"verdicts": [{"reason": "The office location says nothing about refunds.", "verdict": "no"}, {"reason": "\\"within 10 business days\\" is the answer.", "verdict": "yes"}]}\n\n` +
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

const attributionSchema = z.object({
  verdicts: z.array(z.object({ sentence: z.string(), reason: z.string(), verdict: z.enum(['yes', 'no']) })),
});

/**
 * contextual_recall (DeepEval's ContextualRecallMetric): the judge splits the expected output into its sentences
 * and says of each whether the retrieval context supports it (it is attributable to a node).
 * score = attributable sentences / sentences; no sentence (an empty expected output) → 0. Same as DeepEval: the
 * judge, not a regular expression, decides where a sentence ends ("e.g. Visa." does not end one; bullets do).
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
    const expected = testCase.expected_output ?? '';
    // DeepEval sends an empty expected output to its judge, which finds no sentence in it: 0, without the call.
    if (expected.trim() === '') return { score: 0, reason: 'The expected output is empty: there is nothing to recall.' };
    const answer = await judge.ask({
      name: 'attribution_verdicts',
      system: JUDGE_SYSTEM,
      schema: attributionSchema,
      prompt:
        `Split the expected output into its sentences, in order (a bullet or list item is a sentence of its own; an abbreviation such as "e.g." ` +
        `does not end one). For each, give the "sentence", a "reason" naming the retrieval node that supports it (1st node, 2nd node…) with a short ` +
        `quote, and then a "verdict": "yes" if it can be attributed to any part of the retrieval context, else "no".\n\n` +
        `Example\nExpected output: Refunds go to the original card, e.g. Visa. They take 5 days.\nRetrieval context:\n1. Refunds are paid back to the card used for the order.\n` +
        `{"verdicts": [{"sentence": "Refunds go to the original card, e.g. Visa.", "reason": "1st node: \\"paid back to the card used\\".", "verdict": "yes"}, ` +
        `{"sentence": "They take 5 days.", "reason": "No node gives the refund time.", "verdict": "no"}]}\n\n` +
        `Expected output:\n${expected}\n\nRetrieval context:\n${numbered(testCase.retrieval_context ?? [])}`,
    });
    const verdicts = answer.value.verdicts;
    if (verdicts.length === 0) return { score: 0, reason: 'The judge found no sentence in the expected output.', details: { verdicts } };
    const missing = verdicts.filter((v) => v.verdict === 'no').map((v) => v.sentence);
    const reason =
      missing.length === 0
        ? `All ${verdicts.length} expected sentences are supported by the retrieval context.`
        : `${missing.length} of ${verdicts.length} expected sentences are not supported: ${quoted(missing)}.`;
    return { score: (verdicts.length - missing.length) / verdicts.length, reason, details: { verdicts } };
  },
};

/**
 * hallucination (DeepEval's HallucinationMetric): a verdict per ground-truth context on whether the output agrees
 * with it ("yes") or contradicts it ("no"). score = contradicted contexts / contexts; no context → 0; lower is
 * better. Same as DeepEval.
 */
export const hallucination: MetricDefinition<z.infer<typeof noParams>> = {
  name: 'hallucination',
  description: 'Share of the given contexts that the output contradicts (lower is better).',
  needsLlm: true,
  range: [0, 1],
  direction: 'lower',
  defaultThreshold: 0.5,
  requires: ['actual_output', 'context'],
  refusesEmptyOutput: true,
  params: noParams,
  async evaluate({ testCase, judge }) {
    const contexts = testCase.context ?? [];
    if (contexts.length === 0) return { score: 0, reason: 'There is no context to contradict.' };
    const verdicts = await verdictsFor(
      judge,
      'context_verdicts',
      ['yes', 'no'],
      contexts.length,
      `For each context, in order, give a "reason" and then a "verdict": "no" if the output contradicts the context, ` +
        `"yes" if it agrees with it. Missing detail is not a contradiction: an output that does not address a context agrees with it.\n\n` +
        `Example\nOutput: The museum opens at 9 and is free on Sundays.\nContexts:\n1. The museum opens at 10.\n2. The museum has a café.\n` +
        `{"verdicts": [{"reason": "The output says 9, the context says 10.", "verdict": "no"}, {"reason": "The output does not mention the café; nothing contradicts it.", "verdict": "yes"}]}\n\n` +
        `Output:\n${testCase.actual_output}\n\nContexts:\n${numbered(contexts)}`,
    );
    const contradicted = withVerdict(contexts, verdicts, 'no');
    const reason =
      contradicted.length === 0
        ? `The output contradicts none of the ${contexts.length} contexts.`
        : `The output contradicts ${contradicted.length} of ${contexts.length} contexts: ${quoted(contradicted)}.`;
    return { score: contradicted.length / contexts.length, reason, details: { verdicts } };
  },
};
