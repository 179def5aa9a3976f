import type { ProviderName } from '../contracts/report';

/** The two LLM APIs the engine speaks (`PROVIDER_NAMES`). OpenAI-compatible servers (vLLM, Ollama, gateways) use `openai` with a base URL. */
export type { ProviderName };

/** Which model to call and where. */
export interface ModelSettings {
  readonly provider: ProviderName;
  readonly model: string;
  /** Overrides the SDK's default (and its OPENAI_BASE_URL / ANTHROPIC_BASE_URL variables); on the platform, only a configured endpoint's URL. */
  readonly baseUrl?: string;
  /** A named endpoint (`LLM_ENDPOINTS`, or a project's own): its URL and key. */
  readonly endpoint?: string;
  /** Absent: the provider's default (and no response caching, which needs temperature 0). */
  readonly temperature?: number;
  readonly maxTokens: number;
  /** A judge's request for token log-probs (g_eval): absent, the table of models known to return them decides. */
  readonly logprobs?: boolean;
}

export interface ChatMessage {
  readonly role: 'user' | 'assistant';
  readonly content: string;
}

export interface ChatRequest {
  readonly system?: string;
  readonly messages: readonly ChatMessage[];
  /**
   * A JSON schema the reply must follow. OpenAI receives it as `response_format` (json_schema, strict);
   * Anthropic as a single tool with this `input_schema` that the model is forced to call.
   */
  readonly responseSchema?: { readonly name: string; readonly schema: Record<string, unknown> };
  /** Ask for token log-probabilities where the API offers them (OpenAI chat completions). */
  readonly logprobs?: boolean;
}

export interface TokenUsage {
  /** Input tokens billed at the full rate (cache reads excluded). */
  readonly inputTokens: number;
  readonly outputTokens: number;
  /** Input tokens served from the provider's prompt cache. */
  readonly cachedInputTokens: number;
  /** Anthropic prompt-cache writes, billed at 1.25 × input. */
  readonly cacheWriteTokens: number;
}

export interface TokenLogprob {
  readonly token: string;
  readonly logprob: number;
  readonly top: readonly { readonly token: string; readonly logprob: number }[];
}

export interface ToolCall {
  readonly name: string;
  readonly arguments: Record<string, unknown>;
}

export interface ChatResponse {
  /** The reply's text; for a forced Anthropic tool call, the tool input as JSON. */
  readonly text: string;
  /** The parsed tool input when the provider returned structured output as a tool call. */
  readonly structured?: unknown;
  readonly toolCalls: readonly ToolCall[];
  readonly usage: TokenUsage;
  readonly logprobs?: readonly TokenLogprob[];
  /** The model the server says answered. */
  readonly model: string;
}

/** Where one call goes: the endpoint the policy resolved (URL and key), and the fetch to reach it with. */
export interface CallTarget {
  /** The endpoint's name (clients are kept per name, URL, key and fetch). */
  readonly name: string;
  readonly baseUrl?: string;
  readonly apiKey?: string;
  /** A project's endpoint is reached through the egress guard; the platform's through the lean keep-alive fetch. */
  readonly fetch?: (input: string | URL | Request, init?: RequestInit) => Promise<Response>;
}

/** One HTTP attempt against one provider; retries, limits and caching live in the gateway above it. */
export interface ChatProvider {
  readonly name: ProviderName;
  complete(settings: ModelSettings, request: ChatRequest, timeoutMs: number, target: CallTarget): Promise<ChatResponse>;
}

export const ZERO_USAGE: TokenUsage = { inputTokens: 0, outputTokens: 0, cachedInputTokens: 0, cacheWriteTokens: 0 };
