import type AjvType from 'ajv';
import { z } from 'zod';
import { clipText } from '../contracts/text';
import { compileLinearRegex, LINEAR_REGEX_NOTE } from './linear-regex';
import type { MetricDefinition, MetricOutcome } from './types';

const binary = (ok: boolean, yes: string, no: string): MetricOutcome => ({ score: ok ? 1 : 0, reason: ok ? yes : no });

const clip = (text: string): string => clipText(text, 80);

/** Metrics that compare with `value` when given, else with the case's expected_output. */
const expectedUnlessValue = {
  fields: (params: { value?: string }) => (params.value === undefined ? (['expected_output'] as const) : []),
  note: 'expected_output (unless `value` is given)',
};

const exactParams = z
  .object({
    /** Compared with the output; defaults to the case's expected_output. */
    value: z.string().optional().describe("compared with the output instead of the case's expected_output"),
    trim: z.boolean().default(true).describe('trim whitespace at both ends before comparing'),
    ignore_case: z.boolean().default(false).describe('compare case-insensitively'),
  })
  .strict();

/** exact_match: 1 when the output equals the expected text (trimmed by default), else 0. */
export const exactMatch: MetricDefinition<z.infer<typeof exactParams>> = {
  name: 'exact_match',
  description: 'The output equals the expected text.',
  needsLlm: false,
  range: [0, 1],
  direction: 'higher',
  defaultThreshold: 1,
  requires: ['actual_output'],
  requiresWith: expectedUnlessValue,
  params: exactParams,
  async evaluate({ testCase, params }) {
    const expected = params.value ?? testCase.expected_output;
    if (expected === undefined) throw new Error('exact_match needs `value` or the case’s expected_output');
    const normalise = (text: string) => {
      const trimmed = params.trim ? text.trim() : text;
      return params.ignore_case ? trimmed.toLowerCase() : trimmed;
    };
    return binary(normalise(testCase.actual_output ?? '') === normalise(expected), 'The output matches exactly.', `The output differs from "${clip(expected)}".`);
  },
};

const containsParams = z
  .object({ value: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).describe('a string, or a list of strings that must all appear (the score is the share found)') })
  .strict();

/** contains / icontains: share of the given strings found in the output (case-sensitive or not). */
function containsMetric(name: 'contains' | 'icontains', ignoreCase: boolean): MetricDefinition<z.infer<typeof containsParams>> {
  return {
    name,
    description: `The output contains the given text${ignoreCase ? ', ignoring case' : ''}.`,
    needsLlm: false,
    range: [0, 1],
    direction: 'higher',
    defaultThreshold: 1,
    requires: ['actual_output'],
    params: containsParams,
    async evaluate({ testCase, params }) {
      const wanted = Array.isArray(params.value) ? params.value : [params.value];
      const haystack = ignoreCase ? (testCase.actual_output ?? '').toLowerCase() : (testCase.actual_output ?? '');
      const missing = wanted.filter((needle) => !haystack.includes(ignoreCase ? needle.toLowerCase() : needle));
      return {
        score: (wanted.length - missing.length) / wanted.length,
        reason: missing.length === 0 ? 'Every expected string is present.' : `Missing: ${missing.map((m) => `"${m}"`).join(', ')}.`,
      };
    },
  };
}

export const contains = containsMetric('contains', false);
export const icontains = containsMetric('icontains', true);

/** A suite's `pattern` that RE2 refuses (invalid, or not matchable in linear time), reported at the field. */
function checkPattern(pattern: string, flags: string, ctx: z.RefinementCtx): void {
  try {
    compileLinearRegex(pattern, flags);
  } catch (error) {
    ctx.addIssue({ code: 'custom', path: ['pattern'], message: `invalid regular expression: ${(error as Error).message}` });
  }
}

const regexParams = z
  .object({
    pattern: z.string().min(1).max(2_000).describe(`a regular expression the output must match (${LINEAR_REGEX_NOTE})`),
    flags: z.string().regex(/^[dgimsuvy]*$/, 'regular expression flags').default('').describe('regular expression flags, e.g. "i"'),
  })
  .strict()
  .superRefine((p, ctx) => checkPattern(p.pattern, p.flags, ctx));

/** regex: 1 when the pattern matches somewhere in the output. */
export const regex: MetricDefinition<z.infer<typeof regexParams>> = {
  name: 'regex',
  description: 'The output matches a regular expression.',
  needsLlm: false,
  range: [0, 1],
  direction: 'higher',
  defaultThreshold: 1,
  requires: ['actual_output'],
  params: regexParams as z.ZodType<z.infer<typeof regexParams>>,
  async evaluate({ testCase, params }) {
    const ok = compileLinearRegex(params.pattern, params.flags).test(testCase.actual_output ?? '');
    return binary(ok, `The output matches /${params.pattern}/.`, `The output does not match /${params.pattern}/.`);
  },
};

const patternParams = z
  .object({
    pattern: z.string().min(1).max(2_000).describe(`a regular expression the whole (trimmed) output must match (${LINEAR_REGEX_NOTE})`),
    ignore_case: z.boolean().default(false).describe('match case-insensitively'),
  })
  .strict()
  .superRefine((p, ctx) => checkPattern(p.pattern.trim(), '', ctx));

/**
 * pattern_match (DeepEval's PatternMatchMetric): 1 when the pattern (trimmed) matches the whole output (trimmed),
 * as Python's `re.fullmatch`, else 0. Unlike `regex`, a match somewhere inside the output is not enough.
 */
export const patternMatch: MetricDefinition<z.infer<typeof patternParams>> = {
  name: 'pattern_match',
  description: 'The whole output matches a regular expression (DeepEval’s PatternMatchMetric).',
  needsLlm: false,
  range: [0, 1],
  direction: 'higher',
  defaultThreshold: 1,
  requires: ['actual_output'],
  params: patternParams as z.ZodType<z.infer<typeof patternParams>>,
  async evaluate({ testCase, params }) {
    const pattern = params.pattern.trim();
    const ok = compileLinearRegex(pattern, params.ignore_case ? 'i' : '').fullMatch((testCase.actual_output ?? '').trim());
    return binary(ok, `The output fully matches /${pattern}/.`, `The output does not fully match /${pattern}/.`);
  },
};

const noParams = z.object({}).strict();

function parseOutput(text: string): { ok: true; value: unknown } | { ok: false; error: string } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  }
}

/** json_valid: 1 when the whole output parses as JSON. */
export const jsonValid: MetricDefinition<z.infer<typeof noParams>> = {
  name: 'json_valid',
  description: 'The output is valid JSON.',
  needsLlm: false,
  range: [0, 1],
  direction: 'higher',
  defaultThreshold: 1,
  requires: ['actual_output'],
  params: noParams,
  async evaluate({ testCase }) {
    const parsed = parseOutput(testCase.actual_output ?? '');
    return parsed.ok ? { score: 1, reason: 'The output is valid JSON.' } : { score: 0, reason: `The output is not JSON: ${parsed.error}.` };
  },
};

let ajvInstance: AjvType | undefined;
/** Ajv loads on the first json_schema metric: a suite without one never pays for it. */
function ajv(): AjvType {
  if (!ajvInstance) {
    const Ajv = (require('ajv') as { default: typeof AjvType }).default;
    ajvInstance = new Ajv({ allErrors: true, strict: false });
  }
  return ajvInstance;
}

const schemaParams = z
  .object({ schema: z.record(z.string(), z.unknown()).describe('the JSON Schema (draft 2020-12 or 7) the output must satisfy') })
  .strict()
  .superRefine((p, ctx) => {
    try {
      ajv().compile(p.schema);
    } catch (error) {
      ctx.addIssue({ code: 'custom', path: ['schema'], message: `invalid JSON schema: ${(error as Error).message}` });
    }
  });

/** json_schema: 1 when the output is JSON that satisfies the schema; the reason lists every violation. */
export const jsonSchema: MetricDefinition<z.infer<typeof schemaParams>> = {
  name: 'json_schema',
  description: 'The output is JSON that satisfies a JSON schema.',
  needsLlm: false,
  range: [0, 1],
  direction: 'higher',
  defaultThreshold: 1,
  requires: ['actual_output'],
  params: schemaParams as z.ZodType<z.infer<typeof schemaParams>>,
  async evaluate({ testCase, params }) {
    const parsed = parseOutput(testCase.actual_output ?? '');
    if (!parsed.ok) return { score: 0, reason: `The output is not JSON: ${parsed.error}.` };
    const validate = ajv().compile(params.schema);
    if (validate(parsed.value)) return { score: 1, reason: 'The output satisfies the schema.' };
    const problems = (validate.errors ?? []).map((e) => `${e.instancePath || '(root)'} ${e.message}`);
    return { score: 0, reason: `The output violates the schema: ${problems.join('; ')}.` };
  },
};

/** Edit distance (insertions, deletions, substitutions), two rows of memory. */
export function levenshteinDistance(a: string, b: string): number {
  if (a === b) return 0;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}

const levenshteinParams = z.object({ value: z.string().optional().describe("compared with the output instead of the case's expected_output") }).strict();

/** levenshtein: similarity = 1 − distance / length of the longer text (1 for two empty texts). */
export const levenshtein: MetricDefinition<z.infer<typeof levenshteinParams>> = {
  name: 'levenshtein',
  description: 'Edit-distance similarity between the output and the expected text.',
  needsLlm: false,
  range: [0, 1],
  direction: 'higher',
  defaultThreshold: 0.8,
  requires: ['actual_output'],
  requiresWith: expectedUnlessValue,
  params: levenshteinParams,
  async evaluate({ testCase, params }) {
    const expected = params.value ?? testCase.expected_output;
    if (expected === undefined) throw new Error('levenshtein needs `value` or the case’s expected_output');
    const output = testCase.actual_output ?? '';
    const longest = Math.max(output.length, expected.length);
    const distance = levenshteinDistance(output, expected);
    const score = longest === 0 ? 1 : 1 - distance / longest;
    return { score, reason: `Edit distance ${distance} over ${longest} characters.` };
  },
};

/** latency_ms: the target's latency in milliseconds; the threshold is the ceiling. */
export const latencyMs: MetricDefinition<z.infer<typeof noParams>> = {
  name: 'latency_ms',
  description: 'Milliseconds the agent took to answer (ceiling).',
  needsLlm: false,
  range: [0, null],
  direction: 'lower',
  defaultThreshold: 30_000,
  requires: ['latency_ms'],
  params: noParams,
  async evaluate({ testCase }) {
    const latency = testCase.latency_ms ?? 0;
    return { score: latency, reason: `The answer took ${Math.round(latency)} ms.` };
  },
};

/** cost: the target's cost in USD; the threshold is the ceiling. An unknown cost errors rather than passing as 0. */
export const cost: MetricDefinition<z.infer<typeof noParams>> = {
  name: 'cost',
  description: 'USD the agent spent on the answer (ceiling).',
  needsLlm: false,
  range: [0, null],
  direction: 'lower',
  defaultThreshold: 0.05,
  requires: ['cost_usd'],
  params: noParams,
  async evaluate({ testCase }) {
    if (testCase.cost_usd === null || testCase.cost_usd === undefined) {
      throw new Error('the target’s cost is unknown (its model is not in the price table: add a price under `providers`)');
    }
    return { score: testCase.cost_usd, reason: `The answer cost $${testCase.cost_usd.toFixed(6)}.` };
  },
};
