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
  model: modelName,
  /** Where to call: on the platform, one of its configured endpoints' URLs only (better: name the endpoint). */
  base_url: z.url().optional(),
  /** A named endpoint of the platform (`LLM_ENDPOINTS`) or of the project; it brings its URL and key. */
  endpoint: z.string().min(1).max(64).optional(),
  temperature: z.number().min(0).max(2).optional(),
  max_tokens: z.number().int().positive().optional(),
};

export const judgeSchema = z
  .object({
    provider: providerSchema,
    ...modelFields,
    /** Ask for token log-probs (g_eval weights its score by them); absent: only for the models known to return them. */
    logprobs: z.boolean().optional(),
  })
  .strict();

/** A target's name in a matrix (`targets`): the report's per-target key and the suffix of its suite name. */
const targetId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'letters, digits, ".", "_" and "-"');

const chatTargetSchema = z
  .object({
    type: providerSchema,
    /** In `targets`: its name (default: the model). */
    id: targetId.optional(),
    ...modelFields,
    system_prompt: z.string().optional(),
    /** `{{input}}` and any other case field, e.g. `{{metadata.locale}}`. */
    input_template: z.string().default('{{input}}'),
  })
  .strict();

/** A JSONPath-style expression: `$`, `.field`, `['field']`, `[0]`, `[*]`. */
const jsonPath = z.string().regex(/^\$/, 'a JSONPath expression starting with $');

const httpTargetSchema = z
  .object({
    type: z.literal('http'),
    /** In `targets`: its name (required for an http target). */
    id: targetId.optional(),
    url: z.url(),
    method: z.enum(['POST', 'PUT', 'GET']).default('POST'),
    /** Values may use ${ENV_VAR}; they never reach the report. */
    headers: z.record(z.string(), z.string()).default({}),
    /** JSON body; a string exactly "{{field}}" becomes the field's value, other strings are interpolated. */
    body: z.unknown().default({ input: '{{input}}' }),
    timeout_ms: z.number().int().positive().default(60_000),
    output: jsonPath,
    retrieval_context: jsonPath.optional(),
    tools_called: jsonPath.optional(),
    /** The response's own cost of producing the answer, in USD, if the agent reports it. */
    cost_usd: jsonPath.optional(),
  })
  .strict();

/** A matrix entry: one of several agents (models, prompts, endpoints) evaluated on the same cases. */
export const matrixTargetSchema = z.discriminatedUnion('type', [chatTargetSchema, httpTargetSchema]);

export const targetSchema = z.discriminatedUnion('type', [
  chatTargetSchema,
  httpTargetSchema,
  z.object({ type: z.literal('none') }).strict(),
]);

/** `faithfulness`, or `{ name: faithfulness, threshold: 0.9, strict_mode: true }`; per-metric fields are checked by the metric. */
export const metricEntrySchema = z.union([
  z.string().min(1),
  z
    .object({
      name: z.string().min(1),
      /** The key in the report's summary; defaults to the name. Two entries of one metric need distinct ids. */
      id: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'letters, digits and _ (a jq-friendly key), at most 64').optional(),
      threshold: z.number().optional(),
      /** DeepEval's strict_mode: pass/fail, the score 1 only when perfect (0 only when none, if lower is better). */
      strict_mode: z.boolean().optional(),
    })
    .loose(),
]);

export const modelLimitsSchema = z
  .object({
    provider: providerSchema,
    model: modelName,
    requests_per_minute: z.number().positive().optional(),
    tokens_per_minute: z.number().positive().optional(),
    max_concurrency: z.number().int().positive().optional(),
    /** USD per million tokens; overrides the built-in price table. */
    price: z
      .object({
        input_per_mtok: z.number().nonnegative(),
        output_per_mtok: z.number().nonnegative(),
        cached_input_per_mtok: z.number().nonnegative().optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export const gateSchema = z
  .object({
    /** Share of cases that must pass each metric; 1 means every case. */
    min_pass_rate: z.number().min(0).max(1).default(1),
    /** Errored cases tolerated before the run fails. */
    max_errored: z.number().int().nonnegative().default(0),
  })
  .strict();

export const suiteSchema = z
  .object({
    name: z.string().min(1),
    description: z.string().optional(),
    project: z.string().optional(),
    target: targetSchema.default({ type: 'none' }),
    /**
     * A matrix: the same cases against each of these targets in one run, reported and gated per target
     * (suite `name[id]`), with a side-by-side table. Instead of `target`.
     */
    targets: z.array(matrixTargetSchema).min(2).max(20).optional(),
    judge: judgeSchema.optional(),
    metrics: z.array(metricEntrySchema).min(1).max(SUITE_BOUNDS.metrics, `at most ${SUITE_BOUNDS.metrics} metrics in one suite`),
    providers: z.array(modelLimitsSchema).max(SUITE_BOUNDS.providers).default([]),
    gate: gateSchema.default({ min_pass_rate: 1, max_errored: 0 }),
    concurrency: z.number().int().positive().max(1000).optional(),
    /** The most this run may spend on LLM calls, in USD; past it no new case is started and the run ends budget_exceeded. */
    max_cost_usd: z.number().positive().optional(),
    cases: z.array(testCaseSchema).min(1),
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
