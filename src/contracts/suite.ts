/** The suite a user writes (file, TypeScript or `POST /v1/runs` body): target, judge, metrics, limits, gate, cases. */
import { z } from 'zod';
import { testCaseSchema, type TestCase } from './case';
import { PROVIDER_NAMES } from './report';

const providerSchema = z.enum(PROVIDER_NAMES);

/**
 * The bounds on what a suite may ask of the engine (the local CLI and the platform alike): each is far above
 * what a real suite needs, and each keeps one suite from costing unbounded time, calls or memory.
 */
export const SUITE_BOUNDS = {
  /** Characters in a model name (every model name the providers use is under 100). */
  modelNameChars: 200,
  /** Entries in `metrics`. */
  metrics: 50,
  /** A conversation's turns times the suite's metrics: the judge calls one case may make grow with both. */
  turnMetricPairs: 2_000,
  /** Entries in `providers`. */
  providers: 100,
} as const;

const modelName = z.string().min(1).max(SUITE_BOUNDS.modelNameChars);

/** A model as a judge or as the agent under test. */
const modelFields = {
  model: modelName.describe('the model, as the provider names it (gpt-4o-mini, claude-haiku-4-5, llama3.1)'),
  base_url: z.url().optional().describe("another OpenAI- or Anthropic-compatible server (vLLM, Ollama, a gateway); on the platform one of its endpoints' URLs only (better: name the endpoint)"),
  endpoint: z.string().min(1).max(64).optional().describe('a named endpoint of the platform (`LLM_ENDPOINTS`) or of the project: it brings its URL and key'),
  temperature: z.number().min(0).max(2).optional().describe("sampling temperature (a judge's default is 0)"),
  max_tokens: z.number().int().positive().optional().describe('the most tokens one reply may take'),
};

export const judgeSchema = z
  .object({
    provider: providerSchema.describe('whose API the judge is called through'),
    ...modelFields,
    logprobs: z.boolean().optional().describe('ask for token log-probs (g_eval weights its score by them); absent: only for the models known to return them'),
  })
  .strict()
  .describe('the LLM that judges the LLM-as-judge metrics');

/** A target's name in a matrix (`targets`): the report's per-target key and the suffix of its suite name. */
const targetId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'letters, digits, ".", "_" and "-"');

const chatTargetSchema = z
  .object({
    type: providerSchema.describe('a chat model called through the official SDK of this provider'),
    id: targetId.optional().describe("in `targets`: its name, the report's key and the suffix of its suite name (default: the model)"),
    ...modelFields,
    system_prompt: z.string().optional().describe('the system prompt the agent runs with'),
    input_template: z.string().default('{{input}}').describe('the user message: `{{input}}` and any other case field, e.g. `{{metadata.locale}}`'),
  })
  .strict();

/** A JSONPath-style expression: `$`, `.field`, `['field']`, `[0]`, `[*]`. */
const jsonPath = z.string().regex(/^\$/, 'a JSONPath expression starting with $');

const httpTargetSchema = z
  .object({
    type: z.literal('http').describe('your own agent behind an HTTP endpoint'),
    id: targetId.optional().describe('in `targets`: its name (required for an http target)'),
    url: z.url().describe('where the agent answers'),
    method: z.enum(['POST', 'PUT', 'GET']).default('POST'),
    headers: z.record(z.string(), z.string()).default({}).describe('request headers; values may use `${ENV_VAR}` and never reach the report'),
    body: z.unknown().default({ input: '{{input}}' }).describe('the JSON body; a string exactly `"{{field}}"` becomes the case field\'s value, other strings are interpolated'),
    timeout_ms: z.number().int().positive().default(60_000).describe('how long one call may take'),
    output: jsonPath.describe("where the answer is in the response (`$.data.answer`): the case's actual_output"),
    retrieval_context: jsonPath.optional().describe('where the retrieved passages are (`$.sources[*].text`)'),
    tools_called: jsonPath.optional().describe("where the agent's tool calls are: `{name, arguments}` or OpenAI's `{function: {name, arguments}}`"),
    cost_usd: jsonPath.optional().describe("where the response's own cost of the answer in USD is, if the agent reports it"),
  })
  .strict();

/** A matrix entry: one of several agents (models, prompts, endpoints) evaluated on the same cases. */
export const matrixTargetSchema = z.discriminatedUnion('type', [chatTargetSchema, httpTargetSchema]);

export const targetSchema = z.discriminatedUnion('type', [
  chatTargetSchema,
  httpTargetSchema,
  z.object({ type: z.literal('none').describe('no agent is called: the cases carry their recorded outputs') }).strict(),
]);

/** `faithfulness`, or `{ name: faithfulness, threshold: 0.9, strict_mode: true }`; per-metric fields are checked by the metric. */
export const metricEntrySchema = z.union([
  z.string().min(1).describe('a metric by name, with its default threshold'),
  z
    .object({
      name: z.string().min(1).describe('the metric (`evalctl metrics` lists them, with their options)'),
      id: z
        .string()
        .regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'letters, digits and _ (a jq-friendly key), at most 64')
        .optional()
        .describe("its key in the report's summary (default: the name); two entries of one metric need distinct ids"),
      threshold: z.number().optional().describe("a case passes the metric at or past it (default: the metric's own)"),
      strict_mode: z.boolean().optional().describe("DeepEval's strict_mode: pass/fail, the score 1 only when perfect (0 only when none, if lower is better)"),
    })
    .loose()
    .describe("a metric with its options; each metric's own options are checked by the metric"),
]);

export const modelLimitsSchema = z
  .object({
    provider: providerSchema,
    model: modelName,
    requests_per_minute: z.number().positive().optional().describe('client-side request rate limit for this model'),
    tokens_per_minute: z.number().positive().optional().describe('client-side token rate limit for this model'),
    max_concurrency: z.number().int().positive().optional().describe('calls to this model in flight at once'),
    price: z
      .object({
        input_per_mtok: z.number().nonnegative().describe('USD per million input tokens'),
        output_per_mtok: z.number().nonnegative().describe('USD per million output tokens'),
        cached_input_per_mtok: z.number().nonnegative().optional().describe('USD per million cached input tokens'),
      })
      .strict()
      .optional()
      .describe('overrides the built-in price table for this model'),
  })
  .strict();

export const gateSchema = z
  .object({
    min_pass_rate: z.number().min(0).max(1).default(1).describe('share of cases that must pass each metric; 1 means every case'),
    max_errored: z.number().int().nonnegative().default(0).describe('errored cases tolerated before the suite fails'),
  })
  .strict();

export const suiteSchema = z
  .object({
    name: z.string().min(1).describe('the suite, as reports, gates and the viewer name it'),
    description: z.string().optional(),
    project: z.string().optional().describe("on the platform: the project the run belongs to (the API key's project)"),
    target: targetSchema
      .default({ type: 'none' })
      .describe('the agent under test: a chat model (`type: openai | anthropic`), an HTTP endpoint (`type: http`), or `none`'),
    targets: z
      .array(matrixTargetSchema)
      .min(2)
      .max(20)
      .optional()
      .describe('a matrix, instead of `target`: the same cases against each target (each as `target`: openai, anthropic or http) in one run, reported and gated per target (suite `name[id]`)'),
    judge: judgeSchema.optional(),
    metrics: z
      .array(metricEntrySchema)
      .min(1)
      .max(SUITE_BOUNDS.metrics, `at most ${SUITE_BOUNDS.metrics} metrics in one suite`)
      .describe('what each case is scored on'),
    providers: z.array(modelLimitsSchema).max(SUITE_BOUNDS.providers).default([]).describe('client-side limits and prices per model'),
    gate: gateSchema.default({ min_pass_rate: 1, max_errored: 0 }).describe("when the suite passes: every metric in at least `min_pass_rate` of the cases, at most `max_errored` cases errored"),
    concurrency: z.number().int().positive().max(1000).optional().describe('cases evaluated at once (default 10; `--concurrency` overrides)'),
    max_cost_usd: z
      .number()
      .positive()
      .optional()
      .describe('the most this run may spend on LLM calls, in USD; past it no new case starts and the run ends budget_exceeded'),
    cases: z.array(testCaseSchema).min(1).describe('the test cases (or `dataset_file`: a DeepEval dataset beside the suite)'),
  })
  .strict()
  .superRefine((suite, ctx) => {
    suite.cases.forEach((c, index) => {
      const pairs = (c.turns?.length ?? 1) * suite.metrics.length;
      if (pairs > SUITE_BOUNDS.turnMetricPairs) {
        ctx.addIssue({
          code: 'custom',
          path: ['cases', index, 'turns'],
          message: `${c.turns!.length} turns × ${suite.metrics.length} metrics is ${pairs}; at most ${SUITE_BOUNDS.turnMetricPairs} (fewer turns or metrics)`,
        });
      }
    });
    if (!suite.targets) return;
    if (suite.target.type !== 'none') ctx.addIssue({ code: 'custom', path: ['targets'], message: 'give either target or targets, not both' });
    const seen = new Set<string>();
    suite.targets.forEach((target, index) => {
      const id = matrixTargetId(target);
      if (id === undefined) ctx.addIssue({ code: 'custom', path: ['targets', index, 'id'], message: 'missing: an http target in a matrix needs an id' });
      else if (seen.has(id)) ctx.addIssue({ code: 'custom', path: ['targets', index, 'id'], message: `"${id}" names two targets; give each an id` });
      if (id !== undefined) seen.add(id);
    });
  });

/** Whether the target runs for a case: it has no recorded output, or it is a conversation the target replays. */
export function targetRunsFor(target: TargetSpec, testCase: Pick<TestCase, 'actual_output' | 'turns'>): boolean {
  return target.type !== 'none' && (testCase.actual_output === undefined || testCase.turns !== undefined);
}

/** A matrix target's name: its id, else a chat target's model. */
export function matrixTargetId(target: z.infer<typeof matrixTargetSchema>): string | undefined {
  return target.id ?? (target.type === 'http' ? undefined : target.model);
}

export type JudgeSpec = z.infer<typeof judgeSchema>;
export type TargetSpec = z.infer<typeof targetSchema>;
export type MetricEntry = z.infer<typeof metricEntrySchema>;
export type ModelLimitsSpec = z.infer<typeof modelLimitsSchema>;
export type GateSpec = z.infer<typeof gateSchema>;
/** A suite as written (defaults not yet applied): the TypeScript twin of a suite file. */
export type SuiteInput = z.input<typeof suiteSchema>;
export type Suite = z.infer<typeof suiteSchema>;

/** Types a suite written in TypeScript; it is validated like a file when run. */
export function defineSuite(suite: SuiteInput): SuiteInput {
  return suite;
}
