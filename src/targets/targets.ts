import { EgressBlockedError } from '../egress/guard';
import { leanFetch } from '../providers/lean-fetch';
import { redactSecrets } from '../providers/redact';
import { ProviderCallError, withRetry } from '../providers/retry';
import type { LlmGateway } from '../providers/llm-gateway';
import type { TestCase, ToolCallSpec } from '../contracts/case';
import type { TargetSpec } from '../contracts/suite';
import { selectJsonPath } from './json-path';
import { renderJson, renderText } from './template';

/** What the agent under test produced for one case. */
export interface TargetOutput {
  readonly actual_output: string;
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
  if (target.type === 'http') return callHttpTarget(target, testCase, gateway, access);
  const call = await gateway.chat(
    {
      provider: target.type,
      model: target.model,
      baseUrl: target.base_url,
      endpoint: target.endpoint,
      temperature: target.temperature,
      maxTokens: target.max_tokens ?? 1024,
    },
    { system: target.system_prompt, messages: [{ role: 'user', content: renderText(target.input_template, testCase) }] },
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
  const shown = (body: string) => (access.hideBodies ? '(body not shown)' : redactSecrets(body.slice(0, 200)));
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
