import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request as the fake server understood it, whichever API it came through. */
export interface FakeRequest {
  readonly api: 'openai' | 'anthropic';
  readonly model: string;
  readonly system: string;
  /** The last user message. */
  readonly prompt: string;
  /** The structured-output schema's name (OpenAI json_schema name, Anthropic forced tool name). */
  readonly schemaName?: string;
  readonly logprobs: boolean;
  readonly body: Record<string, unknown>;
  readonly headers: IncomingMessage['headers'];
  readonly receivedAt: number;
}

export interface FakeReply {
  /** A plain text reply. */
  readonly text?: string;
  /** A structured reply: OpenAI gets it as JSON content, Anthropic as the forced tool's input. */
  readonly json?: unknown;
  readonly status?: number;
  readonly headers?: Record<string, string>;
  /** Sent as the body verbatim (with status 200 unless given): malformed JSON and the like. */
  readonly rawBody?: string;
  /** Overrides the server's latency for this reply. */
  readonly delayMs?: number;
  readonly usage?: { input?: number; output?: number; cached?: number };
  readonly toolCalls?: Array<{ name: string; arguments: Record<string, unknown> }>;
  /** OpenAI log-probs for the reply's tokens: each token with its top alternatives. */
  readonly logprobs?: Array<{ token: string; logprob: number; top?: Array<{ token: string; logprob: number }> }>;
}

export type FakeScript = (request: FakeRequest) => FakeReply | undefined;

/**
 * A judge's answer to faithfulness's truth extraction: every numbered document of the retrieval context, as
 * written, so a verdict prompt carries what the context said (scripts look for words in it).
 */
export function echoTruths(request: FakeRequest): FakeReply {
  const context = request.prompt.slice(request.prompt.lastIndexOf('Retrieval context:'));
  return { json: { truths: [...context.matchAll(/^\d+\. (.*)$/gm)].map((m) => m[1]) } };
}

export interface FakeLlmServer {
  readonly url: string;
  /** Base URL for the OpenAI SDK (…/v1). */
  readonly openaiBaseUrl: string;
  /** Base URL for the Anthropic SDK (the SDK appends /v1/messages). */
  readonly anthropicBaseUrl: string;
  readonly requests: FakeRequest[];
  script: FakeScript;
  latencyMs: number;
  close(): Promise<void>;
}

const estimate = (text: string) => Math.max(1, Math.ceil(text.length / 4));

function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((part) => (part && typeof part === 'object' && 'text' in part ? String(part.text) : '')).join('');
  return '';
}

function understand(api: 'openai' | 'anthropic', body: Record<string, unknown>, headers: IncomingMessage['headers']): FakeRequest {
  const messages = (Array.isArray(body.messages) ? body.messages : []) as Array<{ role: string; content: unknown }>;
  const system = api === 'anthropic' ? contentText(body.system) : contentText(messages.find((m) => m.role === 'system')?.content);
  const users = messages.filter((m) => m.role === 'user');
  // A judge's re-ask appends a short note; the question is the first user message.
  const prompt = contentText(users[0]?.content);
  let schemaName: string | undefined;
  if (api === 'openai') {
    const format = body.response_format as { json_schema?: { name?: string } } | undefined;
    schemaName = format?.json_schema?.name;
  } else {
    const choice = body.tool_choice as { name?: string } | undefined;
    schemaName = choice?.name;
  }
  return {
    api,
    model: String(body.model),
    system,
    prompt,
    schemaName,
    logprobs: body.logprobs === true,
    body,
    headers,
    receivedAt: Date.now(),
  };
}

function openaiBody(request: FakeRequest, reply: FakeReply): unknown {
  const content = reply.json !== undefined ? JSON.stringify(reply.json) : (reply.text ?? '');
  const input = reply.usage?.input ?? estimate(request.system + request.prompt);
  return {
    id: `chatcmpl-${Math.random().toString(36).slice(2)}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: request.model,
    choices: [
      {
        index: 0,
        finish_reason: reply.toolCalls ? 'tool_calls' : 'stop',
        message: {
          role: 'assistant',
          content,
          refusal: null,
          tool_calls: reply.toolCalls?.map((call, i) => ({
            id: `call_${i}`,
            type: 'function',
            function: { name: call.name, arguments: JSON.stringify(call.arguments) },
          })),
        },
        logprobs: reply.logprobs
          ? { content: reply.logprobs.map((t) => ({ token: t.token, logprob: t.logprob, bytes: null, top_logprobs: t.top ?? [] })) }
          : null,
      },
    ],
    usage: {
      prompt_tokens: input,
      completion_tokens: reply.usage?.output ?? estimate(content),
      total_tokens: input + (reply.usage?.output ?? estimate(content)),
      prompt_tokens_details: { cached_tokens: reply.usage?.cached ?? 0 },
    },
  };
}

function anthropicBody(request: FakeRequest, reply: FakeReply): unknown {
  const content: unknown[] = [];
  if (reply.json !== undefined && request.schemaName) {
    content.push({ type: 'tool_use', id: 'toolu_1', name: request.schemaName, input: reply.json });
  } else if (reply.json !== undefined) content.push({ type: 'text', text: JSON.stringify(reply.json) });
  else content.push({ type: 'text', text: reply.text ?? '' });
  for (const [i, call] of (reply.toolCalls ?? []).entries()) content.push({ type: 'tool_use', id: `toolu_t${i}`, name: call.name, input: call.arguments });
  const text = JSON.stringify(content);
  return {
    id: `msg_${Math.random().toString(36).slice(2)}`,
    type: 'message',
    role: 'assistant',
    model: request.model,
    content,
    stop_reason: request.schemaName || reply.toolCalls ? 'tool_use' : 'end_turn',
    stop_sequence: null,
    usage: {
      input_tokens: reply.usage?.input ?? estimate(request.system + request.prompt),
      output_tokens: reply.usage?.output ?? estimate(text),
      cache_read_input_tokens: reply.usage?.cached ?? 0,
      cache_creation_input_tokens: 0,
    },
  };
}

function errorBody(api: 'openai' | 'anthropic', status: number): unknown {
  const message = status === 429 ? 'Rate limit reached' : status === 529 ? 'Overloaded' : `Scripted error ${status}`;
  return api === 'openai'
    ? { error: { message, type: status === 429 ? 'rate_limit_exceeded' : 'server_error', code: null } }
    : { type: 'error', error: { type: status === 429 ? 'rate_limit_error' : status === 529 ? 'overloaded_error' : 'api_error', message } };
}

/**
 * An OpenAI- and Anthropic-compatible HTTP server on 127.0.0.1 for tests and benchmarks: the real SDKs talk to
 * it over real HTTP. Replies come from `script`; latency, statuses with retry-after and malformed bodies are
 * scriptable per request.
 */
export async function startFakeLlmServer(
  options: {
    script?: FakeScript;
    latencyMs?: number;
    /** Keep every request for assertions (default); off for benchmarks. */
    record?: boolean;
    /** The loopback address to listen on (default 127.0.0.1; 127.0.0.2 is "another host" for the egress tests). */
    host?: string;
  } = {},
): Promise<FakeLlmServer> {
  const requests: FakeRequest[] = [];
  const state = {
    script: options.script ?? ((): FakeReply => ({ text: 'ok' })),
    latencyMs: options.latencyMs ?? 0,
    record: options.record ?? true,
  };
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    await new Promise<void>((resolve, reject) => {
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', resolve);
      req.on('error', reject);
    });
    const path = (req.url ?? '').split('?')[0];
    const api = path.endsWith('/chat/completions') ? 'openai' : path.endsWith('/messages') ? 'anthropic' : undefined;
    if (req.method !== 'POST' || !api) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: `no route ${req.method} ${path}` } }));
      return;
    }
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
    const request = understand(api, body, req.headers);
    if (state.record) requests.push(request);
    const reply = state.script(request) ?? { status: 500, rawBody: JSON.stringify({ error: { message: `no scripted reply for: ${request.prompt.slice(0, 80)}` } }) };
    const delay = reply.delayMs ?? state.latencyMs;
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    const headers = { 'content-type': 'application/json', ...reply.headers };
    if (reply.rawBody !== undefined) {
      res.writeHead(reply.status ?? 200, headers).end(reply.rawBody);
    } else if (reply.status && reply.status >= 400) {
      res.writeHead(reply.status, headers).end(JSON.stringify(errorBody(api, reply.status)));
    } else {
      res.writeHead(200, headers).end(JSON.stringify(api === 'openai' ? openaiBody(request, reply) : anthropicBody(request, reply)));
    }
  };
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: String(error) } }));
    });
  });
  server.keepAliveTimeout = 60_000;
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://${host}:${port}`;
  return {
    url,
    openaiBaseUrl: `${url}/v1`,
    anthropicBaseUrl: url,
    requests,
    get script() {
      return state.script;
    },
    set script(script: FakeScript) {
      state.script = script;
    },
    get latencyMs() {
      return state.latencyMs;
    },
    set latencyMs(ms: number) {
      state.latencyMs = ms;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// `tsx test/support/fake-llm-server.ts --latency 50`: a standalone server (the benchmark runs it in its own
// process so the engine's CPU time is measured alone). Replies: JSON {score, reason} to judges, text otherwise.
if (require.main === module) {
  const latency = Number(process.argv[process.argv.indexOf('--latency') + 1] ?? 0) || 0;
  void startFakeLlmServer({
    latencyMs: latency,
    record: false,
    script: (request) => {
      if (request.schemaName === 'topic_labels') {
        return { json: { labels: request.prompt.split('\n').filter((line) => /^\d+\. /.test(line)).map(() => 'arithmetic') } };
      }
      if (request.schemaName) return { json: { score: 8, reason: 'Mostly correct and complete.' } };
      // promptfoo's llm-rubric grader, for the benchmark's comparison run.
      if (`${request.system}${request.prompt}`.includes('You are grading output')) {
        return { text: JSON.stringify({ reason: 'Mostly correct and complete.', pass: true, score: 0.8 }) };
      }
      return { text: `Answer to: ${request.prompt.slice(0, 60)}` };
    },
  }).then((server) => {
    process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
    const stop = () => void server.close().then(() => process.exit(0));
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}
