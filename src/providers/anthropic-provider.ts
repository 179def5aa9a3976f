import Anthropic from '@anthropic-ai/sdk';
import { ClientPool } from './client-pool';
import { leanFetch } from './lean-fetch';
import { toCallError } from './provider-errors';
import { ProviderCallError } from './retry';
import type { CallTarget, ChatProvider, ChatRequest, ChatResponse, ModelSettings, ToolCall } from './types';

/**
 * Messages API through the official SDK, one attempt per call. Its own retries are off: left alone it sleeps
 * for as long as a server's retry-after says, however long that is.
 */
export class AnthropicProvider implements ChatProvider {
  readonly name = 'anthropic' as const;
  private readonly clients = new ClientPool<Anthropic>();

  constructor(private readonly env: NodeJS.ProcessEnv = process.env) {}

  /** One client per endpoint, key and fetch: the endpoint's URL with the caller's key, never another's. */
  private client(target: CallTarget): Anthropic {
    if (!target.apiKey) throw new Error('ANTHROPIC_API_KEY is not set');
    const apiKey = target.apiKey;
    return this.clients.get(target, () => new Anthropic({ apiKey, baseURL: target.baseUrl, maxRetries: 0, fetch: target.fetch ?? leanFetch }));
  }

  async complete(settings: ModelSettings, request: ChatRequest, timeoutMs: number, target: CallTarget): Promise<ChatResponse> {
    // `temperature` is deprecated in the SDK's types but still honoured by the API for the models that take it;
    // it is sent as the SDK documents for parameters missing from its types.
    const body: Anthropic.MessageCreateParamsNonStreaming & { temperature?: number } = {
      model: settings.model,
      max_tokens: settings.maxTokens,
      messages: request.messages.map((message) => ({ role: message.role, content: message.content })),
    };
    if (settings.temperature !== undefined) body.temperature = settings.temperature;
    if (request.system) body.system = request.system;
    if (request.responseSchema) {
      // Structured output: one tool whose input_schema is the schema, and the model is made to call it.
      body.tools = [
        {
          name: request.responseSchema.name,
          description: 'Record the evaluation result.',
          input_schema: request.responseSchema.schema as Anthropic.Tool.InputSchema,
        },
      ];
      body.tool_choice = { type: 'tool', name: request.responseSchema.name };
    }
    let message: Anthropic.Message;
    try {
      message = await this.client(target).messages.create(body, { timeout: timeoutMs });
    } catch (error) {
      throw toCallError(error, Anthropic, 'anthropic', settings.model, this.env);
    }
    if (!Array.isArray(message.content)) {
      throw new ProviderCallError('anthropic', settings.model, 200, 'invalid-response', 'the response has no content');
    }
    let text = '';
    let structured: unknown;
    const toolCalls: ToolCall[] = [];
    for (const block of message.content) {
      if (block.type === 'text') text += block.text;
      else if (block.type === 'tool_use') {
        if (request.responseSchema && block.name === request.responseSchema.name) structured = block.input;
        else toolCalls.push({ name: block.name, arguments: (block.input ?? {}) as Record<string, unknown> });
      }
    }
    const usage = message.usage;
    return {
      text: structured === undefined ? text : JSON.stringify(structured),
      structured,
      toolCalls,
      usage: {
        inputTokens: usage?.input_tokens ?? 0,
        outputTokens: usage?.output_tokens ?? 0,
        cachedInputTokens: usage?.cache_read_input_tokens ?? 0,
        cacheWriteTokens: usage?.cache_creation_input_tokens ?? 0,
      },
      model: message.model ?? settings.model,
    };
  }
}
