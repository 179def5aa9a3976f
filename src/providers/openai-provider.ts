import OpenAI from 'openai';
import { ClientPool } from './client-pool';
import { leanFetch } from './lean-fetch';
import { toCallError } from './provider-errors';
import { ProviderCallError } from './retry';
import type { CallTarget, ChatProvider, ChatRequest, ChatResponse, ModelSettings, TokenLogprob, ToolCall } from './types';

/**
 * Chat completions through the official SDK, one attempt per call (the SDK's own retries are off so that
 * one policy governs both providers). Works with any OpenAI-compatible server through the base URL.
 */
export class OpenAiProvider implements ChatProvider {
  readonly name = 'openai' as const;
  private readonly clients = new ClientPool<OpenAI>();

  constructor(private readonly env: NodeJS.ProcessEnv = process.env) {}

  /** One client per endpoint, key and fetch: the endpoint's URL with the caller's key, never another's. */
  private client(target: CallTarget): OpenAI {
    if (!target.apiKey && !target.baseUrl) {
      throw new Error('OPENAI_API_KEY is not set (and no base URL names another OpenAI-compatible server)');
    }
    // A local OpenAI-compatible server (vLLM, Ollama) needs no key; the SDK insists on one, so a placeholder is sent.
    return this.clients.get(target, () => new OpenAI({ apiKey: target.apiKey ?? 'unset', baseURL: target.baseUrl, maxRetries: 0, fetch: target.fetch ?? leanFetch }));
  }

  async complete(settings: ModelSettings, request: ChatRequest, timeoutMs: number, target: CallTarget): Promise<ChatResponse> {
    const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [];
    if (request.system) messages.push({ role: 'system', content: request.system });
    for (const message of request.messages) messages.push({ role: message.role, content: message.content });
    const body: OpenAI.Chat.ChatCompletionCreateParamsNonStreaming = {
      model: settings.model,
      messages,
      temperature: settings.temperature,
      // max_tokens rather than max_completion_tokens: every OpenAI-compatible server understands it.
      max_tokens: settings.maxTokens,
    };
    if (request.responseSchema) {
      body.response_format = {
        type: 'json_schema',
        json_schema: { name: request.responseSchema.name, schema: request.responseSchema.schema, strict: true },
      };
    }
    if (request.logprobs) {
      body.logprobs = true;
      body.top_logprobs = 20;
    }
    let completion: OpenAI.Chat.ChatCompletion;
    try {
      completion = await this.client(target).chat.completions.create(body, { timeout: timeoutMs });
    } catch (error) {
      throw toCallError(error, OpenAI, 'openai', settings.model, this.env);
    }
    const choice = completion.choices?.[0];
    if (!choice) {
      throw new ProviderCallError('openai', settings.model, 200, 'invalid-response', 'the response has no choices');
    }
    const usage = completion.usage;
    const cached = usage?.prompt_tokens_details?.cached_tokens ?? 0;
    const toolCalls: ToolCall[] = [];
    for (const call of choice.message.tool_calls ?? []) {
      if (call.type === 'function') toolCalls.push({ name: call.function.name, arguments: parseArguments(call.function.arguments) });
    }
    const logprobs: TokenLogprob[] | undefined = choice.logprobs?.content?.map((entry) => ({
      token: entry.token,
      logprob: entry.logprob,
      top: (entry.top_logprobs ?? []).map((top) => ({ token: top.token, logprob: top.logprob })),
    }));
    return {
      text: choice.message.content ?? '',
      toolCalls,
      usage: {
        inputTokens: Math.max(0, (usage?.prompt_tokens ?? 0) - cached),
        outputTokens: usage?.completion_tokens ?? 0,
        cachedInputTokens: cached,
        cacheWriteTokens: 0,
      },
      logprobs,
      model: completion.model ?? settings.model,
    };
  }
}

function parseArguments(raw: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(raw);
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : { value: parsed };
  } catch {
    return { _raw: raw };
  }
}
