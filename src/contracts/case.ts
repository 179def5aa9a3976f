import { z } from 'zod';

/** A tool call made by the agent, or one it was expected to make. */
export const toolCallSchema = z
  .object({
    name: z.string().min(1),
    /** Compared only by metrics told to check arguments. */
    arguments: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

/** One test case; field names follow DeepEval's LLMTestCase so existing datasets load unchanged. */
export const testCaseSchema = z
  .object({
    id: z.string().min(1).optional(),
    input: z.string(),
    /** Absent: the suite's target produces it. */
    actual_output: z.string().optional(),
    expected_output: z.string().optional(),
    retrieval_context: z.array(z.string()).optional(),
    context: z.array(z.string()).optional(),
    tools_called: z.array(toolCallSchema).optional(),
    expected_tools: z.array(toolCallSchema).optional(),
    topic: z.string().optional(),
    tags: z.array(z.string()).optional(),
    metadata: z.record(z.string(), z.unknown()).optional(),
    /** Recorded latency of `actual_output`, for the latency_ms metric when there is no target. */
    latency_ms: z.number().nonnegative().optional(),
    /** Recorded cost of `actual_output` in USD, for the cost metric when there is no target. */
    cost_usd: z.number().nonnegative().optional(),
  })
  .strict();

export type ToolCallSpec = z.infer<typeof toolCallSchema>;
export type TestCase = z.infer<typeof testCaseSchema>;
