import { z } from 'zod';

/** A tool call made by the agent, or one it was expected to make. */
export const toolCallSchema = z
  .object({
    name: z.string().min(1).describe("the tool's name"),
    arguments: z.record(z.string(), z.unknown()).optional().describe("its arguments, compared only by metrics told to check them (DeepEval's `input_parameters`)"),
    output: z.unknown().optional().describe("what it returned, when recorded: compared by tool_correctness with `check_output`, shown to task_completion's judge"),
  })
  .strict();

/** Turns in one conversational case. */
export const MAX_TURNS = 100;

/** One turn of a conversation (DeepEval's `Turn`): who spoke and what they said. */
export const turnSchema = z
  .object({
    role: z.enum(['user', 'assistant']).describe('who spoke'),
    content: z.string().describe('what they said'),
  })
  .strict();

/**
 * One test case; field names follow DeepEval's LLMTestCase so existing datasets load unchanged. A conversational
 * case (DeepEval's ConversationalTestCase) gives `turns` instead of `input`: its input is then the last user
 * turn, and its actual_output the last assistant turn (recorded, or the target's reply when it replays them).
 */
export const testCaseObjectSchema = z
  .object({
    id: z.string().min(1).optional().describe("the case's name in reports (default: its position)"),
    input: z.string().optional().describe("what the agent is asked (or give `turns`)"),
    // At most MAX_TURNS: each user turn is a target call carrying the whole history, so a case's cost grows
    // with the square of its length, and on the platform a tenant's case must not become thousands of calls.
    turns: z
      .array(turnSchema)
      .min(1)
      .max(MAX_TURNS, `at most ${MAX_TURNS} turns in one conversation`)
      .optional()
      .describe('a conversation instead of `input`: user and assistant turns in order; with a target, the target answers each user turn'),
    chatbot_role: z.string().min(1).optional().describe('the role the assistant is meant to keep throughout a conversation (role_adherence)'),
    actual_output: z.string().optional().describe("the agent's answer, recorded; absent, the suite's target produces it"),
    expected_output: z.string().optional().describe('the reference answer'),
    retrieval_context: z.array(z.string()).optional().describe('the passages the agent retrieved (an http target can read them from its response)'),
    context: z.array(z.string()).optional().describe('ground truth the output must not contradict (hallucination)'),
    tools_called: z.array(toolCallSchema).optional().describe('the tool calls the agent made, recorded'),
    expected_tools: z.array(toolCallSchema).optional().describe('the tool calls it should make (tool_correctness)'),
    topic: z.string().optional().describe('groups cases in the summary and the viewer'),
    tags: z.array(z.string()).optional().describe('free labels, filterable in the viewer'),
    metadata: z.record(z.string(), z.unknown()).optional().describe('anything else; templates read it as `{{metadata.key}}`'),
    latency_ms: z.number().nonnegative().optional().describe('recorded latency of `actual_output`, for the latency_ms metric when there is no target'),
    cost_usd: z.number().nonnegative().optional().describe('recorded cost of `actual_output` in USD, for the cost metric when there is no target'),
  })
  .strict();

/** A recorded conversation's output: its last turn when the assistant spoke last (also read from unvalidated input). */
export function recordedReply(turns: unknown): string | undefined {
  const last = Array.isArray(turns) ? (turns[turns.length - 1] as { role?: unknown; content?: unknown } | undefined) : undefined;
  return last?.role === 'assistant' && typeof last.content === 'string' ? last.content : undefined;
}

export const testCaseSchema = testCaseObjectSchema
  .superRefine(
    (c, ctx) => {
      if (c.input === undefined && c.turns === undefined) ctx.addIssue({ code: 'custom', path: ['input'], message: 'missing: a case needs input, or turns for a conversation' });
      if (Array.isArray(c.turns) && !c.turns.some((t) => t?.role === 'user')) ctx.addIssue({ code: 'custom', path: ['turns'], message: 'a conversation needs at least one user turn' });
    },
    // Checked even when another field is wrong (an unknown `output`), so that both are reported in one pass.
    { when: (payload) => typeof payload.value === 'object' && payload.value !== null && !Array.isArray(payload.value) },
  )
  // A conversation's input is its last user turn, and a recorded last reply is its actual_output.
  .transform((c) => {
    if (!c.turns) return c as typeof c & { input: string };
    const lastUser = c.turns.filter((t) => t.role === 'user').pop();
    return { ...c, input: c.input ?? lastUser?.content ?? '', actual_output: c.actual_output ?? recordedReply(c.turns) };
  });

export type ToolCallSpec = z.infer<typeof toolCallSchema>;
export type Turn = z.infer<typeof turnSchema>;
export type TestCase = z.output<typeof testCaseSchema>;
