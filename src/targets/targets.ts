import { EgressBlockedError } from '../egress/guard';
import { leanFetch } from '../providers/lean-fetch';
import { addUsd } from '../providers/pricing';
import { redactSecrets } from '../providers/redact';
import { ProviderCallError, withRetry } from '../providers/retry';
import type { LlmGateway } from '../providers/llm-gateway';
import type { TestCase, ToolCallSpec, Turn } from '../contracts/case';
import type { TargetSpec } from '../contracts/suite';
import { selectJsonPath } from './json-path';
import { renderJson, renderText } from './template';
import { clipText } from '../contracts/text';

/** What the agent under test produced for one case. */
export interface TargetOutput {
  readonly actual_output: string;
  /** A conversational case: every turn, the target's replies in place of any recorded ones. */
  readonly turns?: Turn[];
  readonly retrieval_context?: string[];
  readonly tools_called?: ToolCallSpec[];
  readonly latency_ms: number;
  /** USD; null when unknown, absent when the target does not say. */
  readonly cost_usd?: number | null;
  readonly input_tokens?: number;
  readonly output_tokens?: number;
}

/** How an `http` target is reached. */
export interface HttpTargetAccess {
  /**
   * The fetch for the target's URL. On the platform it is the egress guard's (a tenant's URL is checked before
   * anything is sent); a developer's `evalctl run` uses the lean keep-alive fetch.
   */
  readonly fetch?: (input: string | URL | Request, init?: RequestInit) => Promise<Response>;
  /** On the platform, a failed response's body is not echoed into the case's error (it could be anything the URL serves). */
  readonly hideBodies?: boolean;
}

/** Runs the suite's target for a case. Throws with a message that names the target and what failed. */
export async function runTarget(target: TargetSpec, testCase: TestCase, gateway: LlmGateway, access: HttpTargetAccess = {}): Promise<TargetOutput> {
  if (target.type === 'none') throw new Error('the case has no actual_output and the suite has no target');
  if (testCase.turns) return replayConversation(target, testCase, testCase.turns, gateway, access);
  return runOnce(target, testCase, [], gateway, access);
}

/**
 * A conversational case: the target answers each user turn in order, seeing the conversation so far with its
 * own earlier replies (recorded assistant turns are replaced, so the agent is judged on what it says). A chat
 * target gets the history as messages; an http target gets it as `{{messages}}` beside `{{input}}`, the
 * current user turn. Latency, cost and tokens add up over the turns.
 */
async function replayConversation(target: Exclude<TargetSpec, { type: 'none' }>, testCase: TestCase, turns: readonly Turn[], gateway: LlmGateway, access: HttpTargetAccess): Promise<TargetOutput> {
  const conversation: Turn[] = [];
  const tools: ToolCallSpec[] = [];
  let latency = 0;
  let cost: number | null | undefined;
  let inputTokens = 0;
  let outputTokens = 0;
  let last: TargetOutput | undefined;
  let retrieval: string[] | undefined;
  for (const turn of turns) {
    if (turn.role === 'assistant') continue;
    conversation.push(turn);
    const reply = await runOnce(target, { ...testCase, input: turn.content }, conversation, gateway, access);
    conversation.push({ role: 'assistant', content: reply.actual_output });
    tools.push(...(reply.tools_called ?? []));
    if (reply.retrieval_context) retrieval = [...(retrieval ?? []), ...reply.retrieval_context];
    latency += reply.latency_ms;
    if (reply.cost_usd !== undefined) cost = cost === undefined ? reply.cost_usd : addUsd(cost, reply.cost_usd);
    inputTokens += reply.input_tokens ?? 0;
    outputTokens += reply.output_tokens ?? 0;
    last = reply;
  }
  return {
    actual_output: last!.actual_output,
    turns: conversation,
    // Every reply has the same fields: tool calls when the target reports them.
    ...(last!.tools_called ? { tools_called: tools } : {}),
    ...(retrieval ? { retrieval_context: retrieval } : {}),
    latency_ms: latency,
    ...(cost !== undefined ? { cost_usd: cost } : {}),
    input_tokens: inputTokens,
    output_tokens: outputTokens,
  };
}

/** One call of the target; `history` is the conversation up to and including the current user turn. */
async function runOnce(target: Exclude<TargetSpec, { type: 'none' }>, testCase: TestCase, history: readonly Turn[], gateway: LlmGateway, access: HttpTargetAccess): Promise<TargetOutput> {
  if (target.type === 'http') return callHttpTarget(target, history.length ? { ...testCase, messages: history } as TestCase : testCase, gateway, access);
  const prompt = (content: string) => renderText(target.input_template, { ...testCase, input: content });
  const messages = history.length
    ? history.map((turn) => ({ role: turn.role, content: turn.role === 'user' ? prompt(turn.content) : turn.content }))
    : [{ role: 'user' as const, content: renderText(target.input_template, testCase) }];
  const call = await gateway.chat(
    {
      provider: target.type,
      model: target.model,
      baseUrl: target.base_url,
      endpoint: target.endpoint,
      temperature: target.temperature,
      maxTokens: target.max_tokens ?? 1024,
    },
    { system: target.system_prompt, messages },
  );
  return {
    actual_output: call.response.text,
    tools_called: call.response.toolCalls.map((c) => ({ name: c.name, arguments: c.arguments })),
    latency_ms: call.durationMs,
    cost_usd: call.costUsd,
    input_tokens: call.usage.inputTokens + call.usage.cachedInputTokens,
    output_tokens: call.usage.outputTokens,
  };
}

type HttpTarget = Extract<TargetSpec, { type: 'http' }>;

async function callHttpTarget(target: HttpTarget, testCase: TestCase, gateway: LlmGateway, access: HttpTargetAccess): Promise<TargetOutput> {
  const started = performance.now();
  const host = new URL(target.url).host;
  const fetchFn = access.fetch ?? leanFetch;
  const shown = (body: string) => (access.hideBodies ? '(body not shown)' : redactSecrets(clipText(body, 200)));
  const { value: document } = await withRetry(gateway.retry, async () => {
    let response: Response;
    try {
      response = await fetchFn(target.url, {
        method: target.method,
        headers: { 'content-type': 'application/json', accept: 'application/json', ...target.headers },
        body: target.method === 'GET' ? undefined : JSON.stringify(renderJson(target.body, testCase)),
        signal: AbortSignal.timeout(target.timeout_ms),
      });
    } catch (error) {
      // The policy's answer is final: retrying cannot change it.
      if (error instanceof EgressBlockedError) throw error;
      const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
      throw new ProviderCallError('http', host, undefined, timedOut ? 'timeout' : 'connection', redactSecrets(String((error as Error).message)));
    }
    const body = await response.text();
    if (!response.ok) {
      const retryAfter = response.headers.get('retry-after');
      throw new ProviderCallError(
        'http',
        host,
        response.status,
        'http',
        shown(body),
        retryAfter && Number.isFinite(Number(retryAfter)) ? Number(retryAfter) * 1000 : undefined,
      );
    }
    try {
      return JSON.parse(body) as unknown;
    } catch {
      throw new ProviderCallError('http', host, response.status, 'invalid-response', `the response is not JSON: ${shown(body)}`);
    }
  });
  const outputs = selectJsonPath(document, target.output);
  if (outputs.length === 0 || outputs[0] === null || outputs[0] === undefined) {
    throw new Error(`http target ${host}: the response has nothing at ${target.output}`);
  }
  const asText = (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value));
  const result: { -readonly [K in keyof TargetOutput]: TargetOutput[K] } = {
    actual_output: asText(outputs[0]),
    latency_ms: performance.now() - started,
  };
  if (target.retrieval_context) result.retrieval_context = selectJsonPath(document, target.retrieval_context).flat().map(asText);
  if (target.tools_called) {
    result.tools_called = selectJsonPath(document, target.tools_called)
      .flat()
      .map((call, index) => toToolCall(call, `${target.tools_called}[${index}]`, host));
  }
  if (target.cost_usd) {
    const [value] = selectJsonPath(document, target.cost_usd);
    result.cost_usd = typeof value === 'number' ? value : null;
  }
  return result;
}

/** Accepts `{name, arguments}` and OpenAI's `{function: {name, arguments: "<json>"}}`. */
function toToolCall(value: unknown, where: string, host: string): ToolCallSpec {
  const record = (value && typeof value === 'object' ? value : {}) as Record<string, unknown>;
  const fn = (record.function && typeof record.function === 'object' ? record.function : record) as Record<string, unknown>;
  if (typeof fn.name !== 'string') throw new Error(`http target ${host}: ${where} has no tool name`);
  let args = fn.arguments ?? fn.args ?? fn.input;
  if (typeof args === 'string') {
    try {
      args = JSON.parse(args);
    } catch {
      args = { _raw: args };
    }
  }
  return { name: fn.name, arguments: (args && typeof args === 'object' ? args : {}) as Record<string, unknown> };
}
