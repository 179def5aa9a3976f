import { z } from 'zod';
import type { ToolCallSpec } from '../contracts/case';
import { JUDGE_SYSTEM } from './rag';
import type { MetricDefinition } from './types';

const toolParams = z
  .object({
    /** set: each expected call found among the calls (DeepEval's default); ordered: weighted LCS; exact: call for call. */
    match: z
      .enum(['exact', 'ordered', 'set'])
      .default('set')
      .describe("set: each expected call found among the calls made (DeepEval's default); ordered: in order (should_consider_ordering); exact: the same calls in the same order (should_exact_match)"),
    /** DeepEval's ToolCallParams.INPUT_PARAMETERS: arguments compared, with partial credit for matching keys. */
    check_arguments: z.boolean().default(false).describe('compare arguments too: a share of matching keys (recursively), all-or-nothing under exact'),
    /** DeepEval's ToolCallParams.OUTPUT: a call whose recorded output differs does not match. */
    check_output: z.boolean().default(false).describe("compare each call's recorded output too"),
  })
  .strict();

type ToolParams = z.infer<typeof toolParams>;

/** Python's `==` on JSON values: deep, and 1 == 1.0 == True as in Python. */
export function pythonEqual(a: unknown, b: unknown): boolean {
  if ((typeof a === 'number' || typeof a === 'boolean') && (typeof b === 'number' || typeof b === 'boolean')) return Number(a) === Number(b);
  if (Array.isArray(a) || Array.isArray(b)) return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((item, i) => pythonEqual(item, b[i]));
  if (isObject(a) && isObject(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((key) => key in b && pythonEqual(a[key], b[key]));
  }
  return a === b;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** DeepEval's ToolCall.__eq__: name, input parameters and output (what makes two calls "the same call"). */
const sameToolCall = (a: ToolCallSpec, b: ToolCallSpec): boolean =>
  a.name === b.name && pythonEqual(a.arguments ?? null, b.arguments ?? null) && pythonEqual(a.output ?? null, b.output ?? null);

/**
 * DeepEval's `_compare_dicts`: 1 when equal, else Σ over keys present in both of (1 if equal, the recursive share
 * if both are objects) / keys present in either.
 */
export function argumentShare(expected: Record<string, unknown> | undefined, called: Record<string, unknown> | undefined): number {
  if (pythonEqual(expected ?? null, called ?? null)) return 1;
  const a = expected ?? {};
  const b = called ?? {};
  const all = new Set([...Object.keys(a), ...Object.keys(b)]);
  let share = 0;
  for (const key of Object.keys(a)) {
    if (!(key in b)) continue;
    if (pythonEqual(a[key], b[key])) share += 1 / all.size;
    else if (isObject(a[key]) && isObject(b[key])) share += argumentShare(a[key], b[key]) / all.size;
  }
  return share;
}

/** How well one called tool matches one expected tool: 0 for another tool, else 1 times the argument share, 0 on an output mismatch. */
function callCredit(expected: ToolCallSpec, called: ToolCallSpec, params: ToolParams): number {
  if (expected.name !== called.name) return 0;
  let credit = 1;
  if (params.check_arguments) credit *= argumentShare(expected.arguments, called.arguments);
  if (params.check_output && !pythonEqual(expected.output ?? null, called.output ?? null)) credit = 0;
  return credit;
}

/** DeepEval's `_calculate_exact_match_score`: 1 when the lists match call for call (names, and arguments/outputs as asked), else 0. */
function exactScore(expected: readonly ToolCallSpec[], called: readonly ToolCallSpec[], params: ToolParams): number {
  if (called.length !== expected.length) return 0;
  return called.every(
    (call, i) =>
      call.name === expected[i].name &&
      (!params.check_arguments || pythonEqual(call.arguments ?? null, expected[i].arguments ?? null)) &&
      (!params.check_output || pythonEqual(call.output ?? null, expected[i].output ?? null)),
  )
    ? 1
    : 0;
}

/**
 * DeepEval's `_calculate_non_exact_match_score`: each expected call takes the best-matching call not matched yet;
 * a call counts as matched once, and so does every call equal to it (same name, arguments and output): two
 * identical calls satisfy one expected call, not two.
 */
function setScore(expected: readonly ToolCallSpec[], called: readonly ToolCallSpec[], params: ToolParams): number {
  const matched: ToolCallSpec[] = [];
  let total = 0;
  for (const want of expected) {
    let best = 0;
    let bestCall: ToolCallSpec | undefined;
    for (const call of called) {
      if (matched.some((m) => sameToolCall(m, call))) continue;
      const credit = callCredit(want, call, params);
      if (credit > best) {
        best = credit;
        bestCall = call;
      }
    }
    if (best > 0 && bestCall) {
      total += best;
      matched.push(bestCall);
    }
  }
  return total / expected.length;
}

/** DeepEval's `_compute_weighted_lcs`: the longest common subsequence where each pair earns its credit, read back along the table. */
export function weightedLcs(expected: readonly ToolCallSpec[], called: readonly ToolCallSpec[], params: ToolParams): number {
  const m = expected.length;
  const n = called.length;
  const dp = Array.from({ length: m + 1 }, () => new Array<number>(n + 1).fill(0));
  for (let i = 1; i <= m; i++) {
    for (let j = 1; j <= n; j++) {
      if (expected[i - 1].name !== called[j - 1].name) {
        dp[i][j] = Math.max(dp[i - 1][j], dp[i][j - 1]);
        continue;
      }
      const credit = callCredit(expected[i - 1], called[j - 1], params);
      dp[i][j] = Math.max(dp[i - 1][j], dp[i][j - 1], credit > 0 ? dp[i - 1][j - 1] + credit : 0);
    }
  }
  let i = m;
  let j = n;
  let total = 0;
  while (i > 0 && j > 0) {
    if (dp[i][j] === dp[i - 1][j]) i--;
    else if (dp[i][j] === dp[i][j - 1]) j--;
    else {
      total += dp[i][j] - dp[i - 1][j - 1];
      i--;
      j--;
    }
  }
  return total;
}

/**
 * tool_correctness (DeepEval's ToolCorrectnessMetric, without its LLM-judged `available_tools` selection score):
 * set → Σ best credit per expected call / expected; ordered → weighted LCS / expected; exact → 1 or 0. A call's
 * credit is 1, times DeepEval's argument share under check_arguments, 0 on an output mismatch under check_output.
 * No calls expected → 1 when none were made, else 0. Same as DeepEval.
 */
export const toolCorrectness: MetricDefinition<ToolParams> = {
  name: 'tool_correctness',
  description: 'Whether the agent called the expected tools.',
  needsLlm: false,
  range: [0, 1],
  direction: 'higher',
  defaultThreshold: 0.5,
  requires: ['tools_called', 'expected_tools'],
  params: toolParams,
  async evaluate({ testCase, params }) {
    const called = testCase.tools_called ?? [];
    const expected = testCase.expected_tools ?? [];
    const names = (calls: readonly ToolCallSpec[]) => (calls.length ? calls.map((c) => c.name).join(', ') : 'none');
    if (expected.length === 0) {
      const score = called.length === 0 ? 1 : 0;
      return { score, reason: score ? 'No tool was expected and none was called.' : `No tool was expected; called ${names(called)}.` };
    }
    const score =
      params.match === 'exact'
        ? exactScore(expected, called, params)
        : params.match === 'ordered'
          ? weightedLcs(expected, called, params) / expected.length
          : setScore(expected, called, params);
    const compared = [params.check_arguments && 'arguments', params.check_output && 'outputs'].filter(Boolean).join(' and ');
    return {
      score,
      reason: `Expected ${names(expected)}; called ${names(called)} (${params.match} match${compared ? `, ${compared} compared` : ''}).`,
    };
  },
};

const taskParams = z
  .object({ task: z.string().min(1).optional().describe('the task the agent was given; absent, the judge reads it from the trace') })
  .strict();
const taskAndOutcomeSchema = z.object({ task: z.string(), outcome: z.string() });
const taskVerdictSchema = z.object({ reason: z.string(), verdict: z.number().min(0).max(1) });

/** A tool call as the judge reads it: name, arguments and what it returned. */
const describeCall = (call: ToolCallSpec, index: number): string =>
  `${index + 1}. ${call.name}(${JSON.stringify(call.arguments ?? {})})${call.output !== undefined ? ` → ${JSON.stringify(call.output)}` : ''}`;

/**
 * task_completion (DeepEval's TaskCompletionMetric): the judge first states, from the trace (input, tool calls,
 * final output), the task the user wanted and the outcome the agent reached, as facts; then, in a second
 * question, scores from 0 to 1 how well that outcome achieves that task. score = that verdict. Same as DeepEval.
 */
export const taskCompletion: MetricDefinition<z.infer<typeof taskParams>> = {
  name: 'task_completion',
  description: 'A judge’s verdict on whether the agent accomplished the task, from its trace.',
  needsLlm: true,
  range: [0, 1],
  direction: 'higher',
  defaultThreshold: 0.5,
  requires: ['actual_output'],
  refusesEmptyOutput: true,
  params: taskParams,
  async evaluate({ testCase, params, judge }) {
    const calls = (testCase.tools_called ?? []).map(describeCall).join('\n');
    const extracted = await judge.ask({
      name: 'task_and_outcome',
      system: JUDGE_SYSTEM,
      schema: taskAndOutcomeSchema,
      prompt:
        `Read the agent's trace: the user's input, the tools it called (with arguments and results) and its final response. State the ` +
        `"task" (what the user wanted achieved) and the "outcome" (what the workflow actually produced). The outcome is factual, taken ` +
        `from the trace only, with no judgement of its quality.\n\n` +
        `Example\nInput: Book me a table for two at Nopa tonight.\nTool calls:\n1. find_restaurant({"name":"Nopa"}) → {"id":7}\n` +
        `Final response: Nopa is open tonight; I could not check tables.\n` +
        `{"task": "Book a table for two at Nopa for tonight.", "outcome": "The agent found Nopa and said it is open tonight, but made no booking."}\n\n` +
        `Input:\n${testCase.input}\n\nTool calls:\n${calls || 'none'}\n\nFinal response:\n${testCase.actual_output}`,
    });
    const task = params.task ?? extracted.value.task;
    const { outcome } = extracted.value;
    const answer = await judge.ask({
      name: 'task_verdict',
      system: JUDGE_SYSTEM,
      schema: taskVerdictSchema,
      prompt:
        `Compare the outcome with the task. First give a "reason", then "verdict": a number from 0 (the outcome does not achieve the ` +
        `task at all) to 1 (it achieves it completely).\n\n` +
        `Example\nTask: Book a table for two at Nopa for tonight.\nOutcome: The agent found Nopa and said it is open tonight, but made no booking.\n` +
        `{"reason": "It found the restaurant but the booking, the point of the task, was not made.", "verdict": 0.2}\n\n` +
        `Task:\n${task}\n\nOutcome:\n${outcome}`,
    });
    const { verdict, reason } = answer.value;
    return { score: verdict, reason, details: { task, outcome } };
  },
};
