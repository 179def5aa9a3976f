import type { SpanMessage, SpanToolCall, SpanView } from '../contracts/online';
import { clipBody, storableDeep, storableText } from '../contracts/text';
import type { AttributeValue, OtlpEvent, OtlpSpan } from './otlp';

/**
 * A span as the `spans` table holds it: OpenTelemetry's GenAI semantic conventions read into columns (model,
 * operation, messages, token usage, tool calls, the conversation), every other attribute kept as text in a map.
 * Read from the current conventions (`gen_ai.input.messages` / `gen_ai.output.messages`, structured or as
 * JSON text) and from the older ones instrumentations still send: `gen_ai.prompt.N.*` / `gen_ai.completion.N.*`
 * attributes, and the `gen_ai.*.message` / `gen_ai.choice` events.
 */
export type SpanRecord = Omit<SpanView, 'ingested_at'>;

/** The attributes read into columns; the rest go to the map. */
const COLUMN_ATTRIBUTES = new Set([
  'gen_ai.operation.name',
  'gen_ai.provider.name',
  'gen_ai.system',
  'gen_ai.request.model',
  'gen_ai.response.model',
  'gen_ai.usage.input_tokens',
  'gen_ai.usage.output_tokens',
  'gen_ai.usage.prompt_tokens',
  'gen_ai.usage.completion_tokens',
  'gen_ai.conversation.id',
  'session.id',
  'gen_ai.agent.name',
  'gen_ai.input.messages',
  'gen_ai.output.messages',
  'gen_ai.system_instructions',
  'gen_ai.prompt',
  'gen_ai.completion',
]);

const OLD_MESSAGE = /^gen_ai\.(prompt|completion)\.(\d+)\.(.+)$/;

/** Text of an attribute value: strings as they are, anything else as JSON. */
export function attributeText(value: AttributeValue): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

const str = (value: AttributeValue | undefined): string => (value === undefined || value === null ? '' : attributeText(value));

const num = (value: AttributeValue | undefined): number => {
  const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : NaN;
  return Number.isFinite(n) && n >= 0 ? Math.min(Math.floor(n), 4_294_967_295) : 0;
};

/** A value that may be JSON text, parsed; anything else as it is. */
function structured(value: AttributeValue | undefined): unknown {
  if (typeof value !== 'string') return value;
  const trimmed = value.trimStart();
  if (!trimmed.startsWith('[') && !trimmed.startsWith('{')) return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

const record = (v: unknown): Record<string, unknown> | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);

/** The text of a message's content: a string, or the text parts of `parts` / `content` arrays. */
function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((part) => {
        if (typeof part === 'string') return part;
        const p = record(part);
        if (!p) return '';
        if (p.type === 'text' || p.type === undefined) return typeof p.content === 'string' ? p.content : typeof p.text === 'string' ? p.text : '';
        return '';
      })
      .filter(Boolean)
      .join('\n');
  }
  return '';
}

/** Tool calls of a message: the conventions' `tool_call` parts, or OpenAI's `tool_calls`. */
function messageToolCalls(message: Record<string, unknown>): SpanMessage['tool_calls'] {
  const calls: NonNullable<SpanMessage['tool_calls']> = [];
  const parts = Array.isArray(message.parts) ? message.parts : Array.isArray(message.content) ? message.content : [];
  for (const part of parts) {
    const p = record(part);
    if (p?.type === 'tool_call' && typeof p.name === 'string') calls.push({ name: p.name, ...(p.arguments !== undefined ? { arguments: p.arguments } : {}), ...(typeof p.id === 'string' ? { id: p.id } : {}) });
  }
  const openai = Array.isArray(message.tool_calls) ? message.tool_calls : [];
  for (const call of openai) {
    const c = record(call);
    const fn = record(c?.function);
    const name = typeof fn?.name === 'string' ? fn.name : typeof c?.name === 'string' ? c.name : undefined;
    if (!name) continue;
    let args = fn?.arguments ?? c?.arguments;
    if (typeof args === 'string') args = structured(args);
    calls.push({ name, ...(args !== undefined ? { arguments: args } : {}), ...(typeof c?.id === 'string' ? { id: c.id } : {}) });
  }
  return calls.length > 0 ? calls : undefined;
}

/** Messages in any of the shapes the conventions have used: `[{role, parts}]`, `[{role, content}]`, one string. */
function messagesOf(value: unknown, defaultRole: string): SpanMessage[] {
  if (value === undefined || value === null || value === '') return [];
  if (typeof value === 'string') return [{ role: defaultRole, content: value }];
  const list = Array.isArray(value) ? value : [value];
  const out: SpanMessage[] = [];
  for (const item of list) {
    const m = record(item);
    if (!m) {
      if (typeof item === 'string') out.push({ role: defaultRole, content: item });
      continue;
    }
    // A choice of the older conventions: `{index, finish_reason, message: {role, content}}`.
    const inner = record(m.message) ?? m;
    const role = typeof inner.role === 'string' ? inner.role : defaultRole;
    const content = contentText(inner.parts ?? inner.content);
    const toolCalls = messageToolCalls(inner);
    out.push({ role, content, ...(toolCalls ? { tool_calls: toolCalls } : {}) });
  }
  return out;
}

/** `gen_ai.prompt.0.role`, `gen_ai.prompt.0.content`, … (OpenLLMetry's convention) as messages. */
function numberedMessages(attributes: Record<string, AttributeValue>, kind: 'prompt' | 'completion'): SpanMessage[] {
  const byIndex = new Map<number, Record<string, unknown>>();
  for (const [key, value] of Object.entries(attributes)) {
    const match = OLD_MESSAGE.exec(key);
    if (!match || match[1] !== kind) continue;
    const index = Number(match[2]);
    const entry = byIndex.get(index) ?? byIndex.set(index, {}).get(index)!;
    entry[match[3]] = value;
  }
  return [...byIndex.entries()]
    .sort(([a], [b]) => a - b)
    .map(([, m]) => ({ role: typeof m.role === 'string' ? m.role : kind === 'prompt' ? 'user' : 'assistant', content: typeof m.content === 'string' ? m.content : '' }));
}

/** The older event-based conventions: `gen_ai.system.message`, `gen_ai.user.message`, … and `gen_ai.choice`. */
function eventMessages(events: OtlpEvent[]): { input: SpanMessage[]; output: SpanMessage[] } {
  const input: SpanMessage[] = [];
  const output: SpanMessage[] = [];
  for (const event of events) {
    const m = /^gen_ai\.(system|user|assistant|tool)\.message$/.exec(event.name);
    if (m) input.push(...messagesOf({ role: m[1], content: structured(event.attributes.content) ?? '', tool_calls: structured(event.attributes.tool_calls) }, m[1]));
    else if (event.name === 'gen_ai.choice') output.push(...messagesOf(structured(event.attributes.message) ?? { role: 'assistant', content: event.attributes.content ?? '' }, 'assistant'));
  }
  return { input, output };
}

const lastOf = (messages: SpanMessage[], role: string): string => {
  for (let i = messages.length - 1; i >= 0; i--) if (messages[i].role === role && messages[i].content) return messages[i].content;
  return '';
};

/** Nanoseconds since the epoch as ClickHouse's DateTime64(6) text. */
export function nanosToTime(nanos: bigint): string {
  const micros = nanos / 1000n;
  const ms = Number(micros / 1000n);
  const date = new Date(Number.isFinite(ms) && ms > 0 && ms < 253402300800000 ? ms : 0);
  const frac = String(micros % 1_000_000n).padStart(6, '0');
  return `${date.toISOString().slice(0, 19).replace('T', ' ')}.${frac}`;
}

export interface SpanLimits {
  /** Characters of one attribute value (and of one message's content) stored at most. */
  readonly maxAttributeChars: number;
}

/** A span as the table stores it: text made storable (no NUL, no lone surrogate) and clipped to the limits. */
export function spanRecord(span: OtlpSpan, limits: SpanLimits): SpanRecord {
  const a = span.attributes;
  const fit = (text: string) => clipBody(storableText(text), limits.maxAttributeChars);
  const events = eventMessages(span.events);
  let input = messagesOf(structured(a['gen_ai.input.messages']), 'user');
  if (input.length === 0) input = numberedMessages(a, 'prompt');
  if (input.length === 0) input = events.input;
  if (input.length === 0 && a['gen_ai.prompt'] !== undefined) input = messagesOf(structured(a['gen_ai.prompt']), 'user');
  const system = a['gen_ai.system_instructions'];
  if (system !== undefined && !input.some((m) => m.role === 'system')) input = [...messagesOf(structured(system), 'system').map((m) => ({ ...m, role: 'system' })), ...input];
  let output = messagesOf(structured(a['gen_ai.output.messages']), 'assistant');
  if (output.length === 0) output = numberedMessages(a, 'completion');
  if (output.length === 0) output = events.output;
  if (output.length === 0 && a['gen_ai.completion'] !== undefined) output = messagesOf(structured(a['gen_ai.completion']), 'assistant');
  const fitMessages = (messages: SpanMessage[]) => messages.slice(0, 200).map((m) => ({ ...m, role: fit(m.role).slice(0, 50), content: fit(m.content) }));
  const toolCalls: SpanToolCall[] = output.flatMap((m) => (m.tool_calls ?? []).map((c) => ({ name: c.name, ...(c.arguments !== undefined ? { arguments: c.arguments } : {}) })));
  const operation = str(a['gen_ai.operation.name']);
  if (operation === 'execute_tool' && a['gen_ai.tool.name'] !== undefined) {
    toolCalls.push({
      name: str(a['gen_ai.tool.name']),
      ...(a['gen_ai.tool.call.arguments'] !== undefined ? { arguments: structured(a['gen_ai.tool.call.arguments']) } : {}),
      ...(a['gen_ai.tool.call.result'] !== undefined ? { output: structured(a['gen_ai.tool.call.result']) } : {}),
    });
  }
  const attributes: Record<string, string> = {};
  for (const [key, value] of Object.entries(a)) if (!COLUMN_ATTRIBUTES.has(key) && !OLD_MESSAGE.test(key)) attributes[fit(key).slice(0, 255)] = fit(attributeText(value));
  const resource: Record<string, string> = {};
  for (const [key, value] of Object.entries(span.resource)) resource[fit(key).slice(0, 255)] = fit(attributeText(value));
  const inputMessages = fitMessages(input);
  const outputMessages = fitMessages(output);
  const durationNs = span.endTimeUnixNano > span.startTimeUnixNano ? span.endTimeUnixNano - span.startTimeUnixNano : 0n;
  return {
    trace_id: span.traceId,
    span_id: span.spanId,
    parent_span_id: span.parentSpanId,
    session_id: fit(str(a['gen_ai.conversation.id'] ?? a['session.id'])).slice(0, 255),
    service: fit(str(span.resource['service.name'])).slice(0, 255),
    name: fit(span.name).slice(0, 1_000),
    kind: Math.min(Math.max(span.kind, 0), 255),
    operation: fit(operation).slice(0, 100),
    provider: fit(str(a['gen_ai.provider.name'] ?? a['gen_ai.system'])).slice(0, 100),
    model: fit(str(a['gen_ai.response.model'] ?? a['gen_ai.request.model'])).slice(0, 200),
    agent_name: fit(str(a['gen_ai.agent.name'])).slice(0, 255),
    start_time: nanosToTime(span.startTimeUnixNano),
    duration_ms: Number(durationNs) / 1e6,
    status_code: Math.min(Math.max(span.statusCode, 0), 255),
    status_message: fit(span.statusMessage),
    input_tokens: num(a['gen_ai.usage.input_tokens'] ?? a['gen_ai.usage.prompt_tokens']),
    output_tokens: num(a['gen_ai.usage.output_tokens'] ?? a['gen_ai.usage.completion_tokens']),
    input_messages: inputMessages,
    output_messages: outputMessages,
    input_text: lastOf(inputMessages, 'user'),
    output_text: lastOf(outputMessages, 'assistant') || (outputMessages.length > 0 ? outputMessages[outputMessages.length - 1].content : ''),
    // A call too large to keep whole keeps its name.
    tool_calls: toolCalls.slice(0, 100).map((c) => storableDeep(JSON.stringify(c).length > limits.maxAttributeChars ? { name: fit(c.name).slice(0, 255) } : c)),
    attributes,
    resource_attributes: resource,
  };
}
