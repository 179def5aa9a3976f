import type { ClickHouseClient } from '@clickhouse/client';
import type { OnlineEvaluatorConfig, SpanMessage, SpanScoreView, SpanToolCall, SpanView, TraceSummary } from '../../contracts/online';
import { checkDatabaseName } from './connect';
import { clickhouseTime } from './tables';

export type { SpanScoreView, SpanView, TraceSummary } from '../../contracts/online';

const parseJson = <T>(text: string, fallback: T): T => {
  try {
    return text ? (JSON.parse(text) as T) : fallback;
  } catch {
    return fallback;
  }
};

const SPAN_COLUMNS = `trace_id, span_id, parent_span_id, session_id, service, name, kind, operation, provider, model, agent_name, start_time, duration_ms,
  status_code, status_message, input_tokens, output_tokens, input_messages, output_messages, input_text, output_text, tool_calls, attributes,
  resource_attributes, ingested_at`;

type RawSpan = Omit<SpanView, 'input_messages' | 'output_messages' | 'tool_calls'> & { input_messages: string; output_messages: string; tool_calls: string };

const spanView = (row: RawSpan): SpanView => ({
  ...row,
  kind: Number(row.kind),
  status_code: Number(row.status_code),
  duration_ms: Number(row.duration_ms),
  input_tokens: Number(row.input_tokens),
  output_tokens: Number(row.output_tokens),
  input_messages: parseJson<SpanMessage[]>(row.input_messages, []),
  output_messages: parseJson<SpanMessage[]>(row.output_messages, []),
  tool_calls: parseJson<SpanToolCall[]>(row.tool_calls, []),
});

type RawScore = Omit<SpanScoreView, 'passed' | 'errored'> & { passed: number | string; errored: number | string };
const scoreView = (row: RawScore): SpanScoreView => ({
  ...row,
  score: row.score === null ? null : Number(row.score),
  threshold: Number(row.threshold),
  passed: Boolean(Number(row.passed)),
  errored: Boolean(Number(row.errored)),
});

/** A trace's spans in the order they started (at most 2,000) and the online scores given to it. */
export async function traceDetail(client: ClickHouseClient, database: string, project: string, traceId: string): Promise<{ spans: SpanView[]; scores: SpanScoreView[] }> {
  const db = checkDatabaseName(database);
  const [spans, scores] = await Promise.all([
    client.query({
      query: `SELECT ${SPAN_COLUMNS} FROM ${db}.spans WHERE project = {project:String} AND trace_id = {trace:String} ORDER BY start_time, span_id LIMIT 1 BY span_id LIMIT 2000`,
      query_params: { project, trace: traceId },
      format: 'JSONEachRow',
    }),
    client.query({
      query: `SELECT evaluator, trace_id, span_id, session_id, model, metric, metric_name, score, passed, errored, threshold, reason, judge_model, run_id, scored_at
              FROM ${db}.span_scores WHERE project = {project:String} AND trace_id = {trace:String} ORDER BY scored_at, evaluator, metric LIMIT 1000`,
      query_params: { project, trace: traceId },
      format: 'JSONEachRow',
    }),
  ]);
  return { spans: ((await spans.json()) as RawSpan[]).map(spanView), scores: ((await scores.json()) as RawScore[]).map(scoreView) };
}

export interface TraceFilter {
  project: string;
  service?: string;
  model?: string;
  session?: string;
  evaluator?: string;
  since?: Date;
  limit: number;
}

/** A project's traces, the most recently ingested first, with their online scores' means. */
export async function listTraces(client: ClickHouseClient, database: string, filter: TraceFilter): Promise<TraceSummary[]> {
  const db = checkDatabaseName(database);
  const result = await client.query({
    query: `SELECT trace_id,
                   argMin(service, (parent_span_id != '', start_time)) AS root_service,
                   argMin(name, (parent_span_id != '', start_time)) AS root_name,
                   anyIf(session_id, session_id != '') AS session,
                   groupUniqArrayIf(model, model != '') AS models,
                   count() AS span_count,
                   min(start_time) AS started,
                   dateDiff('microsecond', min(start_time), max(addMicroseconds(start_time, toInt64(duration_ms * 1000)))) / 1000 AS extent_ms,
                   argMinIf(input_text, start_time, input_text != '') AS first_input,
                   argMaxIf(output_text, start_time, output_text != '') AS last_output,
                   countIf(status_code = 2) AS error_count,
                   max(ingested_at) AS last_ingested
            FROM ${db}.spans
            WHERE project = {project:String} AND ingested_at >= {since:DateTime64(3)}
              AND ({service:String} = '' OR service = {service:String})
              AND ({session:String} = '' OR session_id = {session:String})
              AND ({model:String} = '' OR trace_id IN (SELECT trace_id FROM ${db}.spans WHERE project = {project:String} AND model = {model:String} AND ingested_at >= {since:DateTime64(3)}))
              AND ({evaluator:String} = '' OR trace_id IN (SELECT trace_id FROM ${db}.span_scores WHERE project = {project:String} AND evaluator = {evaluator:String}))
            GROUP BY trace_id
            ORDER BY last_ingested DESC, trace_id
            LIMIT {limit:UInt32}`,
    query_params: {
      project: filter.project,
      service: filter.service ?? '',
      session: filter.session ?? '',
      model: filter.model ?? '',
      evaluator: filter.evaluator ?? '',
      since: clickhouseTime(filter.since ?? new Date(0)),
      limit: filter.limit,
    },
    format: 'JSONEachRow',
  });
  const rows = (await result.json()) as Array<Record<string, unknown>>;
  const ids = rows.map((r) => String(r.trace_id));
  const scores = new Map<string, TraceSummary['scores']>();
  if (ids.length > 0) {
    const found = await client.query({
      query: `SELECT trace_id, evaluator, metric, avg(score) AS mean, min(passed) AS all_passed
              FROM ${db}.span_scores WHERE project = {project:String} AND trace_id IN {ids:Array(String)}
              GROUP BY trace_id, evaluator, metric ORDER BY evaluator, metric`,
      query_params: { project: filter.project, ids },
      format: 'JSONEachRow',
    });
    for (const row of (await found.json()) as Array<{ trace_id: string; evaluator: string; metric: string; mean: number | null; all_passed: number | string }>) {
      (scores.get(row.trace_id) ?? scores.set(row.trace_id, []).get(row.trace_id)!).push({
        evaluator: row.evaluator,
        metric: row.metric,
        mean: row.mean === null ? null : Number(row.mean),
        passed: Boolean(Number(row.all_passed)),
      });
    }
  }
  return rows.map((r) => ({
    trace_id: String(r.trace_id),
    service: String(r.root_service),
    name: String(r.root_name),
    session_id: String(r.session ?? ''),
    models: r.models as string[],
    spans: Number(r.span_count),
    started: String(r.started),
    duration_ms: Number(r.extent_ms),
    input_text: String(r.first_input ?? ''),
    output_text: String(r.last_output ?? ''),
    errors: Number(r.error_count),
    ingested_at: String(r.last_ingested),
    scores: scores.get(String(r.trace_id)) ?? [],
  }));
}

/** The span filter of an evaluator as SQL conditions over `spans`, with their parameters. */
function matchConditions(match: OnlineEvaluatorConfig['match']): { sql: string; params: Record<string, unknown> } {
  const conditions: string[] = [];
  const params: Record<string, unknown> = {};
  if (match.service !== undefined) {
    conditions.push('service = {m_service:String}');
    params.m_service = match.service;
  }
  if (match.operation !== undefined) {
    conditions.push('operation = {m_operation:String}');
    params.m_operation = match.operation;
  }
  if (match.span_name !== undefined) {
    conditions.push('name = {m_name:String}');
    params.m_name = match.span_name;
  }
  if (match.model !== undefined) {
    conditions.push('model = {m_model:String}');
    params.m_model = match.model;
  }
  Object.entries(match.attributes ?? {}).forEach(([key, value], i) => {
    conditions.push(`attributes[{m_key${i}:String}] = {m_value${i}:String}`);
    params[`m_key${i}`] = key;
    params[`m_value${i}`] = value;
  });
  return { sql: conditions.length ? ` AND ${conditions.join(' AND ')}` : '', params };
}

/** Sampled by a hash of the trace (or session) id: every replica, and every span of a trace, decide alike. */
const sampled = (column: string) => `(cityHash64(${column}) % 1000000) < {sample:UInt32}`;

/**
 * The spans one window of an evaluator scores: ingested in [from, to), matching its filter, in its sample;
 * at most `limit`, oldest first.
 */
export async function windowSpans(
  client: ClickHouseClient,
  database: string,
  window: { project: string; match: OnlineEvaluatorConfig['match']; sampleRate: number; from: Date; to: Date; limit: number },
): Promise<SpanView[]> {
  const db = checkDatabaseName(database);
  const match = matchConditions(window.match);
  const result = await client.query({
    query: `SELECT ${SPAN_COLUMNS} FROM ${db}.spans
            WHERE project = {project:String} AND ingested_at >= {from:DateTime64(3)} AND ingested_at < {to:DateTime64(3)}
              AND ${sampled('trace_id')}${match.sql}
            ORDER BY ingested_at, trace_id, span_id LIMIT 1 BY span_id LIMIT {limit:UInt32}`,
    query_params: { project: window.project, from: clickhouseTime(window.from), to: clickhouseTime(window.to), sample: Math.round(window.sampleRate * 1_000_000), limit: window.limit, ...match.params },
    format: 'JSONEachRow',
  });
  return ((await result.json()) as RawSpan[]).map(spanView);
}

/**
 * The conversations one window of an evaluator scores: sessions whose last matching span arrived in [from, to)
 * (the caller shifts the window back by the idle time), in its sample; each with its matching spans in order.
 */
export async function windowSessions(
  client: ClickHouseClient,
  database: string,
  window: { project: string; match: OnlineEvaluatorConfig['match']; sampleRate: number; from: Date; to: Date; limit: number; maxTurns: number },
): Promise<Array<{ session_id: string; spans: SpanView[] }>> {
  const db = checkDatabaseName(database);
  const match = matchConditions(window.match);
  const params = { project: window.project, from: clickhouseTime(window.from), to: clickhouseTime(window.to), sample: Math.round(window.sampleRate * 1_000_000), limit: window.limit, turns: window.maxTurns, ...match.params };
  const sessions = await client.query({
    query: `SELECT session_id FROM ${db}.spans
            WHERE project = {project:String} AND session_id != '' AND ${sampled('session_id')}${match.sql}
              AND ingested_at >= {from:DateTime64(3)} - INTERVAL 1 DAY
            GROUP BY session_id
            HAVING max(ingested_at) >= {from:DateTime64(3)} AND max(ingested_at) < {to:DateTime64(3)}
            ORDER BY max(ingested_at) LIMIT {limit:UInt32}`,
    query_params: params,
    format: 'JSONEachRow',
  });
  const ids = ((await sessions.json()) as Array<{ session_id: string }>).map((r) => r.session_id);
  if (ids.length === 0) return [];
  const spans = await client.query({
    // The latest turns of each session (one row per span), in the order they started.
    query: `SELECT * FROM (
              SELECT ${SPAN_COLUMNS} FROM ${db}.spans
              WHERE project = {project:String} AND session_id IN {ids:Array(String)}${match.sql}
              ORDER BY session_id, start_time DESC LIMIT 1 BY span_id)
            ORDER BY session_id, start_time DESC, span_id DESC LIMIT {turns:UInt32} BY session_id`,
    query_params: { ...params, ids },
    format: 'JSONEachRow',
  });
  const bySession = new Map<string, SpanView[]>(ids.map((id) => [id, []]));
  for (const row of ((await spans.json()) as RawSpan[]).map(spanView).reverse()) bySession.get(row.session_id)?.push(row);
  return [...bySession].map(([session_id, list]) => ({ session_id, spans: list }));
}

/** The tool calls of `execute_tool` spans whose parent is one of `spanIds`, by parent. */
export async function childToolCalls(client: ClickHouseClient, database: string, project: string, traceIds: string[], spanIds: string[]): Promise<Map<string, SpanToolCall[]>> {
  const calls = new Map<string, SpanToolCall[]>();
  if (spanIds.length === 0) return calls;
  const result = await client.query({
    query: `SELECT parent_span_id, tool_calls FROM ${checkDatabaseName(database)}.spans
            WHERE project = {project:String} AND trace_id IN {traces:Array(String)} AND parent_span_id IN {spans:Array(String)} AND operation = 'execute_tool'
            ORDER BY start_time LIMIT 1 BY span_id`,
    query_params: { project, traces: [...new Set(traceIds)], spans: spanIds },
    format: 'JSONEachRow',
  });
  for (const row of (await result.json()) as Array<{ parent_span_id: string; tool_calls: string }>) {
    (calls.get(row.parent_span_id) ?? calls.set(row.parent_span_id, []).get(row.parent_span_id)!).push(...parseJson<SpanToolCall[]>(row.tool_calls, []));
  }
  return calls;
}
