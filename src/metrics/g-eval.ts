import { z } from 'zod';
import type { TokenLogprob } from '../providers/types';
import { questionSchema, type Judge } from './judge';
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
    /** DeepEval's Rubric: what each band of scores means; the score's range becomes the rubric's. */
    rubric: z
      .array(
        z
          .object({
            score_range: z.tuple([z.number().int().min(0).max(10), z.number().int().min(0).max(10)]).describe('[start, end], within 0–10'),
            expected_outcome: z.string().min(1),
          })
          .strict(),
      )
      .min(1)
      .optional()
      .describe('bands of scores and what each means, e.g. [{score_range: [0, 3], expected_outcome: "wrong"}, …]; the score runs from the lowest start to the highest end'),
  })
  .strict()
  .refine((p) => p.criteria !== undefined || p.evaluation_steps !== undefined, {
    message: 'g_eval needs criteria or evaluation_steps',
    path: ['criteria'],
  })
  .superRefine((p, ctx) => {
    const bands = sortedRubric(p.rubric);
    if (!bands) return;
    bands.forEach(({ score_range: [start, end] }, i) => {
      if (start > end) ctx.addIssue({ code: 'custom', path: ['rubric'], message: `score_range [${start}, ${end}]: the start is above the end` });
      const next = bands[i + 1];
      if (next && end >= next.score_range[0]) ctx.addIssue({ code: 'custom', path: ['rubric'], message: `score ranges [${start}, ${end}] and [${next.score_range.join(', ')}] overlap` });
    });
    const [low, high] = scoreRange(bands);
    if (low >= high) ctx.addIssue({ code: 'custom', path: ['rubric'], message: 'the rubric covers a single score; it needs at least two to tell cases apart' });
  });

type Rubric = NonNullable<z.infer<typeof params>['rubric']>;

/** DeepEval's validate_and_sort_rubrics: bands by their start. */
function sortedRubric(rubric: Rubric | undefined): Rubric | undefined {
  return rubric && [...rubric].sort((a, b) => a.score_range[0] - b.score_range[0]);
}

/** DeepEval's get_score_range: 0–10 without a rubric, else the first band's start to the last band's end. */
function scoreRange(rubric: Rubric | undefined): [number, number] {
  return rubric ? [rubric[0].score_range[0], rubric[rubric.length - 1].score_range[1]] : [0, 10];
}

type GEvalParams = z.infer<typeof params>;

const stepsSchema = z.object({ steps: z.array(z.string()).min(1) });
/** Reason first, then the score: the judge explains before it scores. A decimal score is accepted, as DeepEval accepts it. */
/** The score question's schema for a range (0–10, or a rubric's). */
const scoreSchema = ([low, high]: [number, number]) =>
  questionSchema(`g_eval_score:${low}-${high}`, () => z.object({ reason: z.string(), score: z.number().min(low).max(high) }));
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
 * a 0–10 score following the steps (or within a rubric's range, band by band); the score is weighted by the score
 * token's log-probs where the judge's model returns them (see logprob-models.ts), then normalised:
 * (score − start) / (end − start), i.e. / 10 without a rubric. Under strict_mode the judge answers 1 (the
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
    const rubric = sortedRubric(p.rubric);
    const [low, high] = scoreRange(rubric);
    const bands = rubric?.map(({ score_range: [start, end], expected_outcome }) => `${start === end ? start : `${start}-${end}`}: ${expected_outcome}`).join('\n');
    const answer = await judge.ask({
      name: 'g_eval_score',
      system: SYSTEM,
      prompt:
        (bands ? `${question}Rubric:\n${bands}\n\n` : question) +
        `First give a concise "reason" that names specific strengths or shortcomings from ${p.evaluation_params.join(', ')} without quoting a score; ` +
        (bands
          ? `then "score", an integer from ${low} to ${high} chosen by the rubric.\n\n`
          : `then "score", an integer from 0 (no alignment with the evaluation steps) to 10 (strong alignment).\n\n`) +
        `Example\n{"reason": "The reply answers the question and cites the policy, but its tone is curt.", "score": ${Math.round(low + (high - low) * 0.7)}}`,
      schema: scoreSchema([low, high]),
      logprobs: wantsLogprobs(judge.settings),
    });
    const weighted = probabilityWeightedScore(answer.text, answer.value.score, answer.logprobs);
    const raw = weighted ?? answer.value.score;
    return {
      // DeepEval's (score − start) / (end − start); log-prob candidates outside the rubric's range could take it past 1 there, here it is held to [0, 1].
      score: Math.min(1, Math.max(0, (raw - low) / (high - low))),
      reason: answer.value.reason,
      details: { steps, judge_score: answer.value.score, weighted_score: weighted ?? null },
    };
  },
};
