import { z } from 'zod';
import type { TokenLogprob } from '../providers/types';
import type { Judge } from './judge';
import type { EvaluatedCase, MetricDefinition } from './types';

const evaluationParam = z.enum(['input', 'actual_output', 'expected_output', 'retrieval_context', 'context', 'tools_called']);

const params = z
  .object({
    /** What "good" means, in plain words; the judge turns it into evaluation steps once per suite. */
    criteria: z.string().min(1).optional().describe('what "good" means, in plain words (or give evaluation_steps)'),
    /** Steps given by hand skip the step-generation call. */
    evaluation_steps: z.array(z.string().min(1)).min(1).optional().describe('the steps the judge follows; given, they skip the step-generation call'),
    /** Which case fields the judge sees. */
    evaluation_params: z.array(evaluationParam).min(1).default(['input', 'actual_output']).describe('the case fields the judge sees, each required of every case'),
  })
  .strict()
  .refine((p) => p.criteria !== undefined || p.evaluation_steps !== undefined, {
    message: 'g_eval needs criteria or evaluation_steps',
    path: ['criteria'],
  });

type GEvalParams = z.infer<typeof params>;

const stepsSchema = z.object({ steps: z.array(z.string()).min(1) });
const scoreSchema = z.object({ score: z.number().int().min(0).max(10), reason: z.string() });

const SYSTEM = 'You are an impartial evaluator. Score strictly by the evaluation steps and answer in JSON.';

/** Steps generated from the same criteria by the same judge are shared by every case of the run. */
const stepCache = new WeakMap<object, Map<string, Promise<string[]>>>();

async function evaluationSteps(judge: Judge, p: GEvalParams): Promise<string[]> {
  if (p.evaluation_steps) return p.evaluation_steps;
  const key = JSON.stringify([judge.settings, p.criteria, p.evaluation_params]);
  const owner = judge.settings ?? stepCache;
  let perJudge = stepCache.get(owner);
  if (!perJudge) stepCache.set(owner, (perJudge = new Map()));
  let steps = perJudge.get(key);
  if (!steps) {
    steps = judge
      .ask({
        name: 'evaluation_steps',
        system: SYSTEM,
        prompt:
          `Write 3 to 5 concise evaluation steps, as "steps", for judging a response against these criteria, ` +
          `using only: ${p.evaluation_params.join(', ')}.\n\nCriteria:\n${p.criteria}`,
        schema: stepsSchema,
      })
      .then((answer) => answer.value.steps);
    // A failed generation is not cached, so the next case tries again.
    steps.catch(() => perJudge!.delete(key));
    perJudge.set(key, steps);
  }
  return steps;
}

function render(testCase: EvaluatedCase, fields: readonly z.infer<typeof evaluationParam>[]): string {
  return fields
    .map((field) => {
      const value = testCase[field];
      const text = Array.isArray(value) ? value.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join('\n') : (value ?? '');
      return `${field}:\n${text}`;
    })
    .join('\n\n');
}

/**
 * The score weighted by the judge's token probabilities: Σ p(v)·v / Σ p(v) over the integer candidates 0–10
 * among the top log-probs of the token that carries the score. Undefined when the reply has no usable log-probs.
 */
export function probabilityWeightedScore(text: string, logprobs: readonly TokenLogprob[] | undefined): number | undefined {
  if (!logprobs || logprobs.length === 0) return undefined;
  const match = /"score"\s*:\s*(\d+)/.exec(text);
  if (!match) return undefined;
  const digitsAt = match.index + match[0].length - match[1].length;
  let offset = 0;
  for (const entry of logprobs) {
    const end = offset + entry.token.length;
    if (digitsAt >= offset && digitsAt < end) {
      let mass = 0;
      let weighted = 0;
      for (const candidate of entry.top.length > 0 ? entry.top : [{ token: entry.token, logprob: entry.logprob }]) {
        const value = Number(candidate.token.trim());
        if (candidate.token.trim() === '' || !Number.isInteger(value) || value < 0 || value > 10) continue;
        const p = Math.exp(candidate.logprob);
        mass += p;
        weighted += p * value;
      }
      return mass > 0 ? weighted / mass : undefined;
    }
    offset = end;
  }
  return undefined;
}

/**
 * g_eval: criteria → evaluation steps (generated once, or given) → the judge scores the case 0–10 following
 * the steps; the score is weighted by token log-probs where the provider returns them, then divided by 10.
 */
export const gEval: MetricDefinition<GEvalParams> = {
  name: 'g_eval',
  description: 'A judge’s 0–10 score against custom criteria, normalised to 0–1.',
  needsLlm: true,
  range: [0, 1],
  direction: 'higher',
  defaultThreshold: 0.5,
  requires: [],
  requiresWith: { fields: (p) => p.evaluation_params.filter((field): field is Exclude<typeof field, 'input'> => field !== 'input'), note: 'each field named in evaluation_params' },
  params: params as z.ZodType<GEvalParams>,
  async evaluate({ testCase, params: p, judge }) {
    const steps = await evaluationSteps(judge, p);
    const answer = await judge.ask({
      name: 'g_eval_score',
      system: SYSTEM,
      prompt:
        `Evaluation steps:\n${steps.map((s, i) => `${i + 1}. ${s}`).join('\n')}\n\n${render(testCase, p.evaluation_params)}\n\n` +
        `Give "score" as an integer from 0 (worst) to 10 (best) and a one-sentence "reason".`,
      schema: scoreSchema,
      logprobs: judge.settings?.provider === 'openai',
    });
    const weighted = probabilityWeightedScore(answer.text, answer.logprobs);
    const raw = weighted ?? answer.value.score;
    return {
      score: raw / 10,
      reason: answer.value.reason,
      details: { steps, judge_score: answer.value.score, weighted_score: weighted ?? null },
    };
  },
};
