import { z } from 'zod';
import type { TokenLogprob } from '../providers/types';
import type { Judge } from './judge';
import { wantsLogprobs } from './logprob-models';
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
/** Reason first, then the score: the judge explains before it scores. A decimal score is accepted, as DeepEval accepts it. */
const scoreSchema = z.object({ reason: z.string(), score: z.number().min(0).max(10) });
/** strict_mode: DeepEval's pass/fail question, 1 when the case follows the steps fully, else 0. */
const strictScoreSchema = z.object({ reason: z.string(), score: z.number().int().min(0).max(1) });

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
          `using only: ${p.evaluation_params.join(', ')}.\n\n` +
          `Example: for "The answer is correct and polite", using input and actual_output: {"steps": ["Check that actual_output ` +
          `answers what input asks.", "Check each fact in actual_output for errors.", "Check that the tone is courteous."]}\n\nCriteria:\n${p.criteria}`,
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

/** DeepEval drops score candidates below 1 % probability (logprob < ln 0.01). */
const MIN_CANDIDATE_LOGPROB = Math.log(0.01);

/**
 * How Python's `str()` writes the score the reply holds, which is the token DeepEval looks for: `8` for an
 * integer literal, `8.0` / `7.5` for a decimal one (`"score": 8.0` is read as a float there).
 */
function pythonScoreText(text: string, score: number): string {
  const literals = [...text.matchAll(/"score"\s*:\s*(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/g)];
  const literal = literals.at(-1)?.[1];
  const isFloat = literal !== undefined && /[.eE]/.test(literal);
  return isFloat && Number.isInteger(score) ? `${score}.0` : String(score);
}

/**
 * DeepEval's `calculate_weighted_summed_score`: the last token of the reply that is exactly the raw score, and
 * among its top log-probs the candidates that are decimal digits with p ≥ 0.01; the score is Σ p·v / Σ p over
 * them. Undefined (the raw score stands) when the reply has no log-probs or no such token; the raw score when
 * every candidate was filtered out.
 */
export function probabilityWeightedScore(text: string, rawScore: number, logprobs: readonly TokenLogprob[] | undefined): number | undefined {
  if (!logprobs || logprobs.length === 0) return undefined;
  const wanted = pythonScoreText(text, rawScore);
  let entry: TokenLogprob | undefined;
  for (let i = logprobs.length - 1; i >= 0 && !entry; i--) if (logprobs[i].token === wanted) entry = logprobs[i];
  if (!entry) return undefined;
  const probability = new Map<number, number>();
  let mass = 0;
  for (const candidate of entry.top) {
    if (candidate.logprob < MIN_CANDIDATE_LOGPROB || !/^[0-9]+$/.test(candidate.token)) continue;
    const p = Math.exp(candidate.logprob);
    const value = Number(candidate.token);
    probability.set(value, (probability.get(value) ?? 0) + p);
    mass += p;
  }
  if (mass === 0) return rawScore;
  let weighted = 0;
  for (const [value, p] of probability) weighted += value * p;
  return weighted / mass;
}

/**
 * g_eval (DeepEval's GEval): criteria → evaluation steps (generated once, or given) → the judge gives a reason and
 * a 0–10 score following the steps; the score is weighted by the score token's log-probs where the judge's
 * model returns them (see logprob-models.ts), then divided by 10. Under strict_mode the judge answers 1 (the
 * case follows the steps fully) or 0, taken as the score without log-probs. Same as DeepEval without a rubric.
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
  refusesEmptyOutput: (p) => p.evaluation_params.includes('actual_output'),
  params: params as z.ZodType<GEvalParams>,
  async evaluate({ testCase, params: p, judge, strictMode }) {
    const steps = await evaluationSteps(judge, p);
    const question =
      `Evaluation steps:\n${steps.map((s, i) => `${i + 1}. ${s}`).join('\n')}\n\n${render(testCase, p.evaluation_params)}\n\n`;
    if (strictMode) {
      const answer = await judge.ask({
        name: 'g_eval_strict_score',
        system: SYSTEM,
        prompt:
          question +
          `First give a concise "reason" that names specific details of ${p.evaluation_params.join(', ')} without quoting a score; then "score": ` +
          `1 if the case follows the evaluation steps completely, else 0.\n\nExample\n{"reason": "The reply apologises but never gives the refund date the steps require.", "score": 0}`,
        schema: strictScoreSchema,
      });
      return { score: answer.value.score, reason: answer.value.reason, details: { steps, judge_score: answer.value.score, weighted_score: null } };
    }
    const answer = await judge.ask({
      name: 'g_eval_score',
      system: SYSTEM,
      prompt:
        question +
        `First give a concise "reason" that names specific strengths or shortcomings from ${p.evaluation_params.join(', ')} without quoting a score; ` +
        `then "score", an integer from 0 (no alignment with the evaluation steps) to 10 (strong alignment).\n\n` +
        `Example\n{"reason": "The reply answers the question and cites the policy, but its tone is curt.", "score": 7}`,
      schema: scoreSchema,
      logprobs: wantsLogprobs(judge.settings),
    });
    const weighted = probabilityWeightedScore(answer.text, answer.value.score, answer.logprobs);
    const raw = weighted ?? answer.value.score;
    return {
      score: raw / 10,
      reason: answer.value.reason,
      details: { steps, judge_score: answer.value.score, weighted_score: weighted ?? null },
    };
  },
};
