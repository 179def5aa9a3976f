import type { TestCase, ToolCallSpec, Turn } from '../contracts/case';
import { MAX_TURNS } from '../contracts/case';
import type { OnlineEvaluatorConfig, SpanToolCall } from '../contracts/online';
import type { SpanView } from '../store/clickhouse/traces';
import { resolveSuite, type LoadedSuite } from '../suite/load';

/**
 * How an online evaluator's sample becomes a run: each span (or conversation) a case of recorded outputs, the
 * evaluator's metrics and judge the suite, so that the workers score it with the same code as an offline run.
 */

/** The suite name of an evaluator's runs. */
export const onlineSuiteName = (evaluator: string): string => `online/${evaluator}`;

/** What a case carries to put its scores beside its span (`span_scores`). */
export interface OnlineCaseRef {
  trace_id: string;
  span_id: string;
  session_id: string;
  service: string;
  model: string;
}

/** The reference metadata of a case an online run scores, if it is one. */
export function onlineCaseRef(metadata: Record<string, unknown> | undefined): OnlineCaseRef | undefined {
  const ref = metadata?.online as Partial<OnlineCaseRef> | undefined;
  if (!ref || typeof ref.trace_id !== 'string' || typeof ref.span_id !== 'string') return undefined;
  return { trace_id: ref.trace_id, span_id: ref.span_id, session_id: String(ref.session_id ?? ''), service: String(ref.service ?? ''), model: String(ref.model ?? '') };
}

/** Passages from an attribute's text: a JSON array of strings or of `{content}` / `{text}` / `{page_content}`, else the text itself. */
export function passagesOf(text: string | undefined): string[] | undefined {
  if (text === undefined || text === '') return undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    const list = Array.isArray(parsed) ? parsed : [parsed];
    const passages = list.flatMap((item) => {
      if (typeof item === 'string') return [item];
      if (item && typeof item === 'object') {
        const o = item as Record<string, unknown>;
        const found = [o.content, o.text, o.page_content, o.document].find((v) => typeof v === 'string');
        return found === undefined ? [JSON.stringify(item)] : [found as string];
      }
      return item === null || item === undefined ? [] : [String(item)];
    });
    return passages.length > 0 ? passages : undefined;
  } catch {
    return [text];
  }
}

const toolSpec = (call: SpanToolCall): ToolCallSpec => {
  const args = call.arguments && typeof call.arguments === 'object' && !Array.isArray(call.arguments) ? (call.arguments as Record<string, unknown>) : undefined;
  return { name: call.name, ...(args ? { arguments: args } : {}), ...(call.output !== undefined ? { output: call.output } : {}) };
};

/** A case of one span: its last user message, its reply, what the mapping names, its tool calls (its own and its children's). */
export function spanCase(span: SpanView, config: OnlineEvaluatorConfig, childCalls: SpanToolCall[] = []): TestCase {
  const mapped = (key: string | undefined) => (key === undefined ? undefined : span.attributes[key]);
  const calls = [...span.tool_calls, ...childCalls].filter((c) => c.name).map(toolSpec);
  const retrieval = passagesOf(mapped(config.mapping.retrieval_context));
  const context = passagesOf(mapped(config.mapping.context));
  const expected = mapped(config.mapping.expected_output);
  const ref: OnlineCaseRef = { trace_id: span.trace_id, span_id: span.span_id, session_id: span.session_id, service: span.service, model: span.model };
  return {
    id: `${span.trace_id}:${span.span_id}`,
    input: span.input_text,
    actual_output: span.output_text,
    ...(expected !== undefined ? { expected_output: expected } : {}),
    ...(retrieval ? { retrieval_context: retrieval } : {}),
    ...(context ? { context } : {}),
    ...(calls.length > 0 ? { tools_called: calls } : {}),
    ...(span.output_tokens || span.duration_ms ? { latency_ms: span.duration_ms } : {}),
    // A topic of its own (the agent, else the service), so the run's end asks no judge to label production traffic.
    topic: (span.agent_name || span.service || 'production').slice(0, 100),
    tags: [span.service, span.model].filter(Boolean).map((t) => t.slice(0, 100)),
    metadata: { online: ref },
  };
}

/** A case of one conversation: each span a user turn and the assistant's reply, in the order they started. */
export function sessionCase(sessionId: string, spans: SpanView[]): TestCase | undefined {
  const turns: Turn[] = [];
  for (const span of spans) {
    if (span.input_text) turns.push({ role: 'user', content: span.input_text });
    if (span.output_text) turns.push({ role: 'assistant', content: span.output_text });
  }
  const kept = turns.slice(-MAX_TURNS);
  if (!kept.some((t) => t.role === 'user')) return undefined;
  const last = spans[spans.length - 1];
  const ref: OnlineCaseRef = { trace_id: last.trace_id, span_id: last.span_id, session_id: sessionId, service: last.service, model: last.model };
  return {
    id: `session:${sessionId}`,
    input: [...kept].reverse().find((t) => t.role === 'user')!.content,
    turns: kept,
    topic: (last.agent_name || last.service || 'production').slice(0, 100),
    tags: [last.service, last.model].filter(Boolean).map((t) => t.slice(0, 100)),
    metadata: { online: ref },
  };
}

/** The suite an evaluator's run scores: its metrics and judge over recorded cases (no target is called). */
export function onlineSuite(name: string, config: OnlineEvaluatorConfig, cases: TestCase[], maxCostUsd?: number): Record<string, unknown> {
  return {
    name: onlineSuiteName(name),
    target: { type: 'none' },
    ...(config.judge ? { judge: config.judge } : {}),
    metrics: config.metrics,
    // Production is observed, not gated: every case is reported, none fails the run.
    gate: { min_pass_rate: 0, max_errored: 1_000_000 },
    ...(maxCostUsd !== undefined ? { max_cost_usd: maxCostUsd } : {}),
    cases,
  };
}

/** The case a declared evaluator will be given, with every field it can supply: what its metrics are checked against. */
export function probeCase(config: OnlineEvaluatorConfig): TestCase {
  const text = 'text';
  return {
    input: text,
    actual_output: text,
    ...(config.mapping.retrieval_context ? { retrieval_context: [text] } : {}),
    ...(config.mapping.context ? { context: [text] } : {}),
    ...(config.mapping.expected_output ? { expected_output: text } : {}),
    ...(config.scope === 'conversation' ? { turns: [{ role: 'user' as const, content: text }, { role: 'assistant' as const, content: text }] } : {}),
    tools_called: [{ name: 'tool' }],
  };
}

/**
 * The evaluator's suite over its probe case, validated as a submitted suite is (no environment is read): its
 * configured metrics (ids, thresholds, directions), or a SuiteError naming each problem.
 */
export function loadEvaluatorSuite(name: string, config: OnlineEvaluatorConfig): LoadedSuite {
  return resolveSuite(onlineSuite(name, config, [probeCase(config)]), 'evaluator', undefined, {});
}

/** Each metric's threshold and direction, as the evaluator's quality alert compares the online mean with. */
export function evaluatorThresholds(name: string, config: OnlineEvaluatorConfig): Array<{ metric: string; threshold: number; higherIsBetter: boolean }> {
  try {
    return loadEvaluatorSuite(name, config).metrics.map((m) => ({ metric: m.id, threshold: m.threshold, higherIsBetter: m.definition.direction === 'higher' }));
  } catch {
    return [];
  }
}

/**
 * The CI case a production trace becomes: the question of one of its spans (the one named, else its first chat
 * span with a question and an answer), the answer as the reference (`expected_output`, as the reviewer corrected
 * it), and where it came from. No recorded output: in the suite, the agent under test answers it again.
 */
export function datasetCaseOfTrace(spans: SpanView[], choice: { spanId?: string; expectedOutput?: string }): TestCase | { problem: string; field: string } {
  const usable = (s: SpanView) => s.input_text !== '';
  const span = choice.spanId
    ? spans.find((s) => s.span_id === choice.spanId)
    : (spans.find((s) => usable(s) && s.output_text !== '' && s.operation === 'chat') ?? spans.find((s) => usable(s) && s.output_text !== '') ?? spans.find(usable));
  if (!span) return choice.spanId ? { problem: `the trace has no span ${choice.spanId}`, field: 'span_id' } : { problem: 'no span of this trace records a question (gen_ai input messages)', field: 'span_id' };
  if (!usable(span)) return { problem: `span ${span.span_id} records no question (gen_ai input messages)`, field: 'span_id' };
  const expected = choice.expectedOutput ?? span.output_text;
  return {
    id: `trace-${span.trace_id.slice(0, 16)}-${span.span_id}`,
    input: span.input_text,
    ...(expected.trim() !== '' ? { expected_output: expected } : {}),
    topic: (span.agent_name || span.service || 'production').slice(0, 100),
    tags: ['production'],
    metadata: { source: 'production', trace_id: span.trace_id, span_id: span.span_id, service: span.service, model: span.model },
  };
}
