import { z } from 'zod';
import { judgeSchema, metricEntrySchema, SUITE_BOUNDS } from './suite';

/**
 * Online evaluation: production spans, sent over OTLP, sampled and scored by the same metrics as offline runs.
 * An evaluator is a project's rule (`PUT /v1/online-evaluators/{name}`): which spans or conversations, what
 * share of them, the metrics and the judge, and what it may spend in a day.
 */

/** An evaluator's name: its URL segment, its runs' suite (`online/<name>`) and its series' label. */
export const EVALUATOR_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** An attribute key as OpenTelemetry writes them (`gen_ai.request.model`, `app.tenant`). */
const attributeKey = z.string().min(1).max(255).regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces');

export const onlineMatchSchema = z
  .object({
    service: z.string().min(1).max(255).optional().describe("the span's resource `service.name`"),
    operation: z.string().min(1).max(100).optional().describe('`gen_ai.operation.name`: chat, text_completion, invoke_agent, execute_tool, …'),
    span_name: z.string().min(1).max(255).optional().describe("the span's name"),
    model: z.string().min(1).max(SUITE_BOUNDS.modelNameChars).optional().describe('the model the span reports (`gen_ai.response.model`, else `gen_ai.request.model`)'),
    attributes: z
      .record(attributeKey, z.string().max(1_000))
      .refine((a) => Object.keys(a).length <= 10, 'at most 10 attribute filters')
      .optional()
      .describe("attributes the span must carry with these values (a non-string value as its JSON text)"),
  })
  .strict();

export const onlineMappingSchema = z
  .object({
    retrieval_context: attributeKey.optional().describe('the span attribute holding the retrieved passages (a JSON array of strings or of `{content}`): faithfulness and the other RAG metrics read it'),
    context: attributeKey.optional().describe('the span attribute holding ground truth (hallucination)'),
    expected_output: attributeKey.optional().describe('the span attribute holding a reference answer, when the agent records one'),
  })
  .strict();

export const onlineEvaluatorSchema = z
  .object({
    scope: z
      .enum(['span', 'conversation'])
      .default('span')
      .describe('`span`: each matching span is a case; `conversation`: a session (`gen_ai.conversation.id`) is one case of its turns, once it has been idle for `conversation_idle_seconds`'),
    match: onlineMatchSchema.default({}).describe('which spans: every field given must match'),
    sample_rate: z.number().min(0).max(1).describe('the share of matching traces (or conversations) scored: 0.1 scores one in ten, decided by the trace id'),
    metrics: z.array(metricEntrySchema).min(1).max(SUITE_BOUNDS.metrics).describe('as in a suite: any metric that judges a recorded case'),
    judge: judgeSchema.optional().describe("the judge, as in a suite (one of the platform's or the project's endpoints)"),
    mapping: onlineMappingSchema.default({}).describe("where a case's other fields are in the span's attributes"),
    daily_budget_usd: z.number().positive().max(1_000_000).describe('the most its judge calls may cost in a UTC day; past it, spans wait unscored until the next day'),
    conversation_idle_seconds: z.number().int().min(1).max(86_400).default(300).describe('scope conversation: a session is scored once no span has come for this long'),
    enabled: z.boolean().default(true),
  })
  .strict();

export type OnlineEvaluatorConfig = z.output<typeof onlineEvaluatorSchema>;
export type OnlineEvaluatorInput = z.input<typeof onlineEvaluatorSchema>;

/** An evaluator as the API returns it. */
export interface OnlineEvaluatorView {
  name: string;
  config: OnlineEvaluatorConfig;
  /** Spans ingested before this have been considered. */
  watermark: string;
  created_at: string;
  updated_at: string;
  /** What its runs have spent today (UTC). */
  spent_today_usd: number;
}

/** The listing of traces: newest first. */
export const listTracesQuery = z
  .object({
    service: z.string().min(1).max(255).optional(),
    model: z.string().min(1).max(SUITE_BOUNDS.modelNameChars).optional(),
    session: z.string().min(1).max(255).optional(),
    evaluator: z.string().regex(EVALUATOR_NAME).optional().describe('only traces this evaluator scored'),
    since: z.iso.datetime({ offset: true }).optional().describe('traces ingested at or after'),
    limit: z.coerce.number().int().min(1).max(500).default(50),
  })
  .strict();

export type ListTracesQuery = z.output<typeof listTracesQuery>;

/** A message of a GenAI span, as stored: who, what, and the tool calls it made. */
export interface SpanMessage {
  role: string;
  content: string;
  tool_calls?: Array<{ name: string; arguments?: unknown; id?: string }>;
}

/** A tool call a span records (an `execute_tool` span, or a tool call in its output). */
export interface SpanToolCall {
  name: string;
  arguments?: unknown;
  output?: unknown;
}

/**
 * A span as the API and the viewer show it: the GenAI conventions in fields, its messages and tool calls parsed.
 * The `spans` table's row (`SpanRow`) and what OTLP ingest makes of a span (`SpanRecord`) are derived from it.
 */
export interface SpanView {
  trace_id: string;
  span_id: string;
  parent_span_id: string;
  session_id: string;
  service: string;
  name: string;
  kind: number;
  operation: string;
  provider: string;
  model: string;
  agent_name: string;
  start_time: string;
  duration_ms: number;
  status_code: number;
  status_message: string;
  input_tokens: number;
  output_tokens: number;
  input_messages: SpanMessage[];
  output_messages: SpanMessage[];
  input_text: string;
  output_text: string;
  tool_calls: SpanToolCall[];
  attributes: Record<string, string>;
  resource_attributes: Record<string, string>;
  ingested_at: string;
}

/** An online evaluator's score of a span (the `span_scores` row, `SpanScoreRow`, is derived from it). */
export interface SpanScoreView {
  evaluator: string;
  trace_id: string;
  span_id: string;
  session_id: string;
  model: string;
  metric: string;
  metric_name: string;
  score: number | null;
  passed: boolean;
  errored: boolean;
  threshold: number;
  reason: string;
  judge_model: string;
  run_id: string;
  scored_at: string;
}

/** A trace in a listing: its first span's name and texts, its extent, and its scores' means per metric. */
export interface TraceSummary {
  trace_id: string;
  service: string;
  name: string;
  session_id: string;
  models: string[];
  spans: number;
  started: string;
  duration_ms: number;
  input_text: string;
  output_text: string;
  errors: number;
  ingested_at: string;
  scores: Array<{ evaluator: string; metric: string; mean: number | null; passed: boolean }>;
}

