import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { Hono, type Context } from 'hono';
import { EVALUATOR_NAME, listTracesQuery, onlineEvaluatorSchema, type OnlineEvaluatorView } from '../../../src/contracts/online';
import { insertRows, rowValues } from '../../../src/store/clickhouse/writer';
import { clickhouseTime, type SpanRow } from '../../../src/store/clickhouse/tables';
import { listTraces, traceDetail } from '../../../src/store/clickhouse/traces';
import { deleteOnlineEvaluator, getOnlineEvaluator, listOnlineEvaluators, onlineSpendToday, putOnlineEvaluator, type OnlineEvaluatorRow } from '../../../src/store/postgres/online-evaluators';
import { listProjectEndpoints } from '../../../src/store/postgres/endpoints';
import { loadEvaluatorSuite } from '../../../src/platform/online';
import { egressGuardFor, projectEndpointPolicy, tenantSuiteProblems } from '../../../src/platform/tenancy';
import { SuiteError } from '../../../src/suite/problems';
import { decodeTraceJson, decodeTraceProtobuf, encodeTraceResponseProtobuf, keepIdentified, OtlpError, type OtlpSpan } from '../../../src/traces/otlp';
import { spanRecord } from '../../../src/traces/genai';
import { fail, parse, readJson, type AppEnv, type RouteDeps } from '../http';
import { TokenBuckets } from '../limits';

const PROTOBUF = 'application/x-protobuf';
const JSON_TYPE = 'application/json';

/** Spans one request may carry (an SDK's batch is 512 by default; a collector's a few thousand). */
export const MAX_SPANS_PER_REQUEST = 50_000;

/**
 * Production traces in over OTLP/HTTP (`POST /v1/traces`, protobuf or JSON, gzip or not, as OpenTelemetry
 * SDKs and collectors send them), read back (`GET /v1/traces`, `/v1/traces/{id}`), and the online
 * evaluators that score them (`/v1/online-evaluators/{name}`).
 *
 * A batch answered 200 is in ClickHouse: the insert is awaited, and a store that fails answers 503 with
 * Retry-After, which OTLP exporters retry. Over the project's span rate the answer is 429 with Retry-After and
 * nothing is taken; a retried batch is not stored twice (its insert is deduplicated by the body's digest).
 */
export function traceRoutes(deps: RouteDeps): Hono<AppEnv> {
  const { db, clickhouse, clickhouseDatabase, limits, metrics } = deps;
  const spanBuckets = new TokenBuckets(limits.spansPerSecond, limits.spanBurst);
  const routes = new Hono<AppEnv>();

  /** Counts spans refused (a request refused before its spans are known counts as one). */
  const refused = (outcome: 'size' | 'invalid' | 'rate' | 'store_unavailable', spans: number) => metrics.spansReceived.inc({ outcome }, Math.max(spans, 1));

  /** The request's spans: the body decompressed within MAX_TRACE_BODY_BYTES and decoded, or the error answer. */
  const readSpans = async (c: Context<AppEnv>, type: string): Promise<{ body: Uint8Array; spans: OtlpSpan[] }> => {
    let body: Uint8Array = new Uint8Array(await c.req.arrayBuffer());
    const encoding = (c.req.header('content-encoding') ?? 'identity').trim().toLowerCase();
    let tooLarge = body.length > limits.maxTraceBodyBytes;
    if (encoding === 'gzip' && !tooLarge) {
      try {
        body = gunzipSync(body, { maxOutputLength: limits.maxTraceBodyBytes });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ERR_BUFFER_TOO_LARGE') fail(400, `the body is not valid gzip: ${(error as Error).message}`, 'content-encoding');
        tooLarge = true;
      }
    } else if (encoding !== 'gzip' && encoding !== 'identity') fail(415, 'Content-Encoding: gzip or none', 'content-encoding');
    if (tooLarge) {
      refused('size', 0);
      fail(413, `the body is larger than ${limits.maxTraceBodyBytes} bytes${encoding === 'gzip' ? ' once decompressed' : ''}`, 'body');
    }
    try {
      if (type === PROTOBUF) return { body, spans: decodeTraceProtobuf(body) };
      let parsed: unknown;
      try {
        parsed = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
      } catch (error) {
        throw new OtlpError('body', `not valid JSON: ${(error as Error).message}`);
      }
      return { body, spans: decodeTraceJson(parsed) };
    } catch (error) {
      if (!(error instanceof OtlpError)) throw error;
      refused('invalid', 0);
      return fail(400, error.message, error.field);
    }
  };

  routes.post('/traces', async (c) => {
    const project = c.get('project');
    const type = (c.req.header('content-type') ?? '').split(';')[0].trim().toLowerCase();
    if (type !== PROTOBUF && type !== JSON_TYPE) fail(415, `send OTLP as ${PROTOBUF} or ${JSON_TYPE}`, 'content-type');
    const { body, spans: all } = await readSpans(c, type);
    if (all.length > MAX_SPANS_PER_REQUEST) {
      refused('size', all.length);
      fail(413, `${all.length} spans in one request; at most ${MAX_SPANS_PER_REQUEST}`, 'body');
    }
    const { spans, rejected: invalid, rejectReason } = keepIdentified(all);
    if (invalid > 0) refused('invalid', invalid);
    if (spans.length > 0) {
      const wait = spanBuckets.takeMany(project.id, spans.length);
      if (wait === Infinity) {
        refused('size', spans.length);
        fail(413, `${spans.length} spans in one request; this project may send at most ${limits.spanBurst} at once (send smaller batches)`, 'body');
      }
      if (wait > 0) {
        refused('rate', spans.length);
        fail(429, `project ${project.name} is over its span rate (${limits.spansPerSecond}/s)`, 'project', undefined, wait);
      }
      const retention = project.trace_retention_days ?? limits.traceRetentionDays;
      const ingestedAt = clickhouseTime(new Date());
      const values = spans.map((span) => {
        const record = spanRecord(span, { maxAttributeChars: limits.maxSpanAttributeChars });
        const row: SpanRow = {
          ...record,
          project: project.name,
          input_messages: JSON.stringify(record.input_messages),
          output_messages: JSON.stringify(record.output_messages),
          tool_calls: JSON.stringify(record.tool_calls),
          retention_days: retention,
          ingested_at: ingestedAt,
        };
        return rowValues('spans', row);
      });
      // The same body sent again (an exporter's retry after a lost answer) is one insert to ClickHouse.
      const token = `otlp-${createHash('sha256').update(project.id).update(body).digest('hex')}`;
      try {
        await insertRows(clickhouse, clickhouseDatabase, 'spans', values, token);
      } catch (error) {
        refused('store_unavailable', spans.length);
        deps.log?.('span insert failed', { project: project.name, spans: spans.length, error: (error as Error).message });
        fail(503, 'the trace store is unavailable; retry', 'body', undefined, 5);
      }
      metrics.spansReceived.inc({ outcome: 'stored' }, spans.length);
    }
    if (type === PROTOBUF) return c.body(Buffer.from(encodeTraceResponseProtobuf(invalid, rejectReason)), 200, { 'content-type': PROTOBUF });
    return c.json(invalid > 0 ? { partialSuccess: { rejectedSpans: String(invalid), errorMessage: rejectReason } } : {}, 200);
  });

  routes.get('/traces', async (c) => {
    const query = parse(listTracesQuery, c.req.query(), 'query');
    const traces = await listTraces(clickhouse, clickhouseDatabase, { project: c.get('project').name, ...query, since: query.since ? new Date(query.since) : undefined });
    return c.json({ traces });
  });

  routes.get('/traces/:traceId', async (c) => {
    const traceId = c.req.param('traceId').toLowerCase();
    if (!/^[0-9a-f]{32}$/.test(traceId)) fail(404, `no trace ${c.req.param('traceId')}`, 'traceId');
    const detail = await traceDetail(clickhouse, clickhouseDatabase, c.get('project').name, traceId);
    if (detail.spans.length === 0) fail(404, `no trace ${traceId}`, 'traceId');
    return c.json({ trace_id: traceId, ...detail });
  });

  const evaluatorName = (c: Context<AppEnv>): string => {
    const name = c.req.param('name') ?? '';
    if (!EVALUATOR_NAME.test(name)) fail(400, 'name: letters, digits, ".", "_" and "-", at most 64, starting with a letter or digit', 'name');
    return name;
  };

  const view = (row: OnlineEvaluatorRow, spent: Map<string, number>): OnlineEvaluatorView => ({
    name: row.name,
    config: row.config,
    watermark: new Date(row.watermark).toISOString(),
    created_at: new Date(row.created_at).toISOString(),
    updated_at: new Date(row.updated_at).toISOString(),
    spent_today_usd: Math.round((spent.get(row.name) ?? 0) * 1e6) / 1e6,
  });

  routes.put('/online-evaluators/:name', async (c) => {
    const project = c.get('project');
    const name = evaluatorName(c);
    const config = parse(onlineEvaluatorSchema, await readJson(c), 'body');
    // Its metrics and judge are checked as a submitted suite's are: a metric that needs a field the spans cannot
    // give, a judge outside the platform's endpoints, are refused now rather than on every window.
    let loaded;
    try {
      loaded = loadEvaluatorSuite(name, config);
    } catch (error) {
      if (!(error instanceof SuiteError)) throw error;
      const problems = error.problems.map((p) => ({ field: evaluatorField(p.path), message: p.message }));
      fail(400, `${problems[0].field}: ${problems[0].message}`, problems[0].field, { problems });
    }
    const endpoints = projectEndpointPolicy(deps.tenancy, await listProjectEndpoints(db, project.id), false);
    const refused = tenantSuiteProblems(loaded.suite, endpoints, egressGuardFor(deps.tenancy, project.name)).map((p) => ({ field: p.field.replace(/^suite\./, ''), message: p.message }));
    if (refused.length > 0) fail(400, `${refused[0].field}: ${refused[0].message}`, refused[0].field, { problems: refused });
    const { row, created } = await putOnlineEvaluator(db, project.id, name, config);
    return c.json(view(row, await onlineSpendToday(db, project.id)), created ? 201 : 200);
  });

  routes.get('/online-evaluators', async (c) => {
    const project = c.get('project');
    const [rows, spent] = await Promise.all([listOnlineEvaluators(db, project.id), onlineSpendToday(db, project.id)]);
    return c.json({ evaluators: rows.map((row) => view(row, spent)) });
  });

  routes.get('/online-evaluators/:name', async (c) => {
    const project = c.get('project');
    const name = evaluatorName(c);
    const row = await getOnlineEvaluator(db, project.id, name);
    if (!row) fail(404, `no online evaluator ${name}`, 'name');
    return c.json(view(row, await onlineSpendToday(db, project.id)));
  });

  routes.delete('/online-evaluators/:name', async (c) => {
    const name = evaluatorName(c);
    if (!(await deleteOnlineEvaluator(db, c.get('project').id, name))) fail(404, `no online evaluator ${name}`, 'name');
    return c.body(null, 204);
  });

  return routes;
}

/** A problem of the evaluator's suite, named as the evaluator's body names it. */
function evaluatorField(path: string | undefined): string {
  if (!path) return 'body';
  if (path.startsWith('cases[0].')) {
    const field = path.slice('cases[0].'.length);
    return `mapping.${field}`;
  }
  return path;
}
