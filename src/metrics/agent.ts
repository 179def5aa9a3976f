import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import type { ToolCallSpec } from '../contracts/case';
import type { MetricDefinition } from './types';

const toolParams = z
  .object({
    /** exact: same calls in the same order; ordered: longest common subsequence; set: each expected call made. */
    match: z.enum(['exact', 'ordered', 'set']).default('set').describe('exact: same calls in the same order; ordered: longest common subsequence; set: each expected call made'),
    /** Compare arguments as well as names. */
    check_arguments: z.boolean().default(false).describe('compare arguments as well as names'),
  })
  .strict();

const sameCall = (checkArguments: boolean) => (a: ToolCallSpec, b: ToolCallSpec) =>
  a.name === b.name && (!checkArguments || isDeepStrictEqual(a.arguments ?? {}, b.arguments ?? {}));

/** Length of the longest common subsequence of two call lists. */
export function longestCommonSubsequence<T>(a: readonly T[], b: readonly T[], equal: (x: T, y: T) => boolean): number {
  const row = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = 0;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = equal(a[i - 1], b[j - 1]) ? diagonal + 1 : Math.max(row[j], row[j - 1]);
      diagonal = above;
    }
  }
  return row[b.length];
}

/**
 * tool_correctness: compares the calls made with the expected ones.
 * exact → 1 when the lists match call for call, else 0; ordered → LCS / expected; set → expected calls found
 * among the calls made (each call used once) / expected. No calls expected → 1 when none were made, else 0.
 */
export const toolCorrectness: MetricDefinition<z.infer<typeof toolParams>> = {
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
    const equal = sameCall(params.check_arguments);
    const names = (calls: readonly ToolCallSpec[]) => (calls.length ? calls.map((c) => c.name).join(', ') : 'none');
    if (expected.length === 0) {
      const score = called.length === 0 ? 1 : 0;
      return { score, reason: score ? 'No tool was expected and none was called.' : `No tool was expected; called ${names(called)}.` };
    }
    let score: number;
    if (params.match === 'exact') {
      score = called.length === expected.length && called.every((call, i) => equal(call, expected[i])) ? 1 : 0;
    } else if (params.match === 'ordered') {
      score = longestCommonSubsequence(expected, called, equal) / expected.length;
    } else {
      const unused = [...called];
      let found = 0;
      for (const want of expected) {
        const at = unused.findIndex((call) => equal(call, want));
        if (at >= 0) {
          found++;
          unused.splice(at, 1);
        }
      }
      score = found / expected.length;
    }
    return {
      score,
      reason: `Expected ${names(expected)}; called ${names(called)} (${params.match} match${params.check_arguments ? ', arguments compared' : ''}).`,
    };
  },
};

const noParams = z.object({}).strict();
const taskSchema = z.object({ task: z.string(), outcome: z.string(), score: z.number().min(0).max(1), reason: z.string() });

/**
 * task_completion: the judge reads the trace (input, tool calls with arguments, final output), states the task
 * and the outcome, and scores from 0 (not done) to 1 (fully done).
 */
export const taskCompletion: MetricDefinition<z.infer<typeof noParams>> = {
  name: 'task_completion',
  description: 'A judge’s verdict on whether the agent accomplished the task, from its trace.',
  needsLlm: true,
  range: [0, 1],
  direction: 'higher',
  defaultThreshold: 0.5,
  requires: ['actual_output'],
  params: noParams,
  async evaluate({ testCase, judge }) {
    const calls = (testCase.tools_called ?? []).map((c, i) => `${i + 1}. ${c.name}(${JSON.stringify(c.arguments ?? {})})`).join('\n');
    const answer = await judge.ask({
      name: 'task_completion',
      system: 'You are an impartial evaluator of AI agents. Answer in JSON.',
      prompt:
        `Read the agent's trace. State the "task" the user asked for and the "outcome" the agent achieved, then give ` +
        `"score" from 0 (not accomplished) to 1 (fully accomplished) and a one-sentence "reason".\n\n` +
        `Input:\n${testCase.input}\n\nTool calls:\n${calls || 'none'}\n\nFinal output:\n${testCase.actual_output}`,
      schema: taskSchema,
    });
    const { task, outcome, score, reason } = answer.value;
    return { score, reason, details: { task, outcome } };
  },
};
