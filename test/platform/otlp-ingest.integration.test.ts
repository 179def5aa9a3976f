import { gzipSync } from 'node:zlib';
import type { Kysely } from 'kysely';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { context, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { readTenancyConfig } from '../../src/platform/config';
import { createApp } from '../../services/orchestrator/app';
import { MemoryCaseQueue } from '../../src/queue/memory-queue';
import { migrateClickhouse } from '../../src/store/clickhouse/migrations';
import { connectPostgres, migratePostgres } from '../../src/store/postgres/connect';
import { createApiKey, setProjectTraceRetention } from '../../src/store/postgres/projects';
import type { Database } from '../../src/store/postgres/schema';
import { PlatformMetrics } from '../../src/telemetry/metrics';
import { decodeTraceJson, decodeTraceProtobuf } from '../../src/traces/otlp';
import { createTestDatabase, spawnClickhouse, uniqueName } from '../support/platform';

/**
 * `POST /v1/traces` as OTLP clients meet it: bodies the official serializers write (protobuf and JSON, gzip or
 * not) are stored whole; every refusal is one OTLP exporters understand (429 and 503 with Retry-After, which
 * they retry; 400, 413 and 415 naming the field, which they drop), and a batch answered 200 is in ClickHouse.
 */
type Obj = Record<string, any>;
let database: Awaited<ReturnType<typeof createTestDatabase>>;
let clickhouseProcess: Awaited<ReturnType<typeof spawnClickhouse>>;
let db: Kysely<Database>;
let clickhouse: ClickHouseClient;
let chDatabase: string;
let key: string;
let otherKey: string;

const appWith = (limits: Obj = {}) =>
  createApp({
    db,
    queue: new MemoryCaseQueue(1),
    clickhouse,
    clickhouseDatabase: chDatabase,
    metrics: new PlatformMetrics('orchestrator', 'test'),
    version: 'test',
    limits: { requestsPerSecond: 1e6, requestBurst: 1e6, ...limits },
    tenancy: readTenancyConfig({ OPENAI_API_KEY: 'sk-test-otlp' }),
  });

beforeAll(async () => {
  [database, clickhouseProcess] = await Promise.all([createTestDatabase(), spawnClickhouse()]);
  db = await connectPostgres({ kind: 'url', url: database.url, poolSize: 4 });
  await migratePostgres(db);
  clickhouse = createClient({ url: clickhouseProcess.url });
  chDatabase = uniqueName('evals');
  await migrateClickhouse(clickhouse, chDatabase);
  key = (await createApiKey(db, 'ingest')).key;
  otherKey = (await createApiKey(db, 'neighbour')).key;
}, 120_000);

afterAll(async () => {
  await db?.destroy();
  await clickhouse?.close();
  await Promise.allSettled([database?.drop(), clickhouseProcess?.stop()]);
});

/** Spans made by the SDK: `count` chat spans, each under an agent span, with a text of `chars` characters. */
function sdkSpans(count: number, text = 'hello', label = 'x'): ReadableSpan[] {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ resource: resourceFromAttributes({ 'service.name': 'ingest-agent' }), spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  const tracer = provider.getTracer('test');
  for (let i = 0; i < count; i++) {
    const agent = tracer.startSpan('invoke_agent', { attributes: { 'gen_ai.operation.name': 'invoke_agent' } });
    tracer
      .startSpan(
        'chat',
        {
          attributes: {
            'gen_ai.operation.name': 'chat',
            'gen_ai.request.model': 'gpt-4o-mini',
            'gen_ai.usage.input_tokens': 10,
            // The older, numbered convention some instrumentations still send.
            'gen_ai.prompt.0.role': 'user',
            'gen_ai.prompt.0.content': `${label}-${i}: ${text}`,
            'gen_ai.completion.0.role': 'assistant',
            'gen_ai.completion.0.content': 'an answer',
            'app.big_int': 2 ** 40,
          },
        },
        trace.setSpan(context.active(), agent),
      )
      .end();
    agent.end();
  }
  return exporter.getFinishedSpans();
}

const protobuf = (spans: ReadableSpan[]) => Buffer.from(ProtobufTraceSerializer.serializeRequest(spans)!);
const json = (spans: ReadableSpan[]) => Buffer.from(JsonTraceSerializer.serializeRequest(spans)!);

async function send(app: ReturnType<typeof appWith>, body: Uint8Array | string, headers: Record<string, string>, apiKey = key) {
  const response = await app.request('/v1/traces', { method: 'POST', headers: { authorization: `Bearer ${apiKey}`, ...headers }, body });
  const buffer = Buffer.from(await response.arrayBuffer());
  let parsed: Obj | undefined;
  try {
    parsed = JSON.parse(buffer.toString('utf8'));
  } catch {
    parsed = undefined;
  }
  return { status: response.status, headers: response.headers, body: parsed, bytes: buffer };
}

const stored = async (where: string) =>
  (await (await clickhouse.query({ query: `SELECT span_id, name, input_text, output_text, attributes, retention_days, project FROM ${chDatabase}.spans WHERE ${where} ORDER BY name, input_text`, format: 'JSONEachRow' })).json()) as Obj[];

test('the SDK serializers’ protobuf and JSON decode to the same spans, and both are stored, plain and gzipped', async () => {
  const spans = sdkSpans(3, 'the same');
  expect(decodeTraceJson(JSON.parse(json(spans).toString('utf8')))).toEqual(decodeTraceProtobuf(protobuf(spans)));
  const app = appWith();
  const answers = [
    await send(app, protobuf(sdkSpans(2, 'p', 'proto')), { 'content-type': 'application/x-protobuf' }),
    await send(app, gzipSync(protobuf(sdkSpans(2, 'pg', 'proto-gzip'))), { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' }),
    await send(app, json(sdkSpans(2, 'j', 'json')), { 'content-type': 'application/json' }),
    await send(app, gzipSync(json(sdkSpans(2, 'jg', 'json-gzip'))), { 'content-type': 'application/json', 'content-encoding': 'gzip' }),
  ];
  expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200]);
  // A protobuf request gets an empty ExportTraceServiceResponse in protobuf; a JSON one `{}`.
  expect(answers[0].headers.get('content-type')).toBe('application/x-protobuf');
  expect(answers[0].bytes.length).toBe(0);
  expect(answers[2].body).toEqual({});
  const rows = await stored(`project = 'ingest' AND name = 'chat'`);
  expect(rows.map((r) => r.input_text)).toEqual(['json-0: j', 'json-1: j', 'json-gzip-0: jg', 'json-gzip-1: jg', 'proto-0: p', 'proto-1: p', 'proto-gzip-0: pg', 'proto-gzip-1: pg']);
  expect(rows.every((r) => r.output_text === 'an answer' && r.retention_days === 30 && r.attributes['app.big_int'] === String(2 ** 40))).toBe(true);
});

test('a batch sent again after a lost answer is stored once', async () => {
  const app = appWith();
  const body = protobuf(sdkSpans(4, 'again', 'retry'));
  expect((await send(app, body, { 'content-type': 'application/x-protobuf' })).status).toBe(200);
  expect((await send(app, body, { 'content-type': 'application/x-protobuf' })).status).toBe(200);
  expect(await stored(`project = 'ingest' AND input_text LIKE 'retry-%'`)).toHaveLength(4);
});

test('over the project’s span rate a batch is refused whole with 429 and Retry-After; another project is not slowed', async () => {
  const app = appWith({ spansPerSecond: 1, spanBurst: 20 });
  expect((await send(app, protobuf(sdkSpans(5, 'r', 'rate-a')), { 'content-type': 'application/x-protobuf' })).status).toBe(200);
  const refused = await send(app, protobuf(sdkSpans(10, 'r', 'rate-b')), { 'content-type': 'application/x-protobuf' });
  expect(refused.status).toBe(429);
  expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  expect(refused.body!.error).toMatchObject({ code: 'too_many_requests', field: 'project' });
  // Nothing of the refused batch was stored (the exporter will send it again).
  expect(await stored(`input_text LIKE 'rate-b-%'`)).toEqual([]);
  expect((await send(app, protobuf(sdkSpans(10, 'r', 'rate-c')), { 'content-type': 'application/x-protobuf' }, otherKey)).status).toBe(200);
  // A batch larger than the burst can never pass: 413, which exporters do not retry.
  const huge = await send(app, protobuf(sdkSpans(11, 'r', 'rate-d')), { 'content-type': 'application/x-protobuf' });
  expect(huge.status).toBe(413);
});

test.each([
  ['text', 'text/plain', 'x', 415, 'content-type', {}],
  ['protobuf that is not OTLP', 'application/x-protobuf', Buffer.from([0x0a, 0xff, 0xff]), 400, 'body', {}],
  ['JSON that is not JSON', 'application/json', '{"resourceSpans": [', 400, 'body', {}],
  ['a trace id that is not hex', 'application/json', JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: 'zz', spanId: '0102030405060708' }] }] }] }), 400, 'resourceSpans[0].scopeSpans[0].spans[0].traceId', {}],
  ['a broken gzip', 'application/json', 'not gzip', 400, 'content-encoding', { 'content-encoding': 'gzip' }],
  ['an unknown encoding', 'application/json', '{}', 415, 'content-encoding', { 'content-encoding': 'br' }],
] as Array<[string, string, string | Buffer, number, string, Record<string, string>]>)('%s is refused naming the field', async (_what, type, body, status, field, extra) => {
  const answer = await send(appWith(), body, { 'content-type': type, ...extra });
  expect(answer.status).toBe(status);
  expect(answer.body!.error.field).toBe(field);
});

test('a body that decompresses past the limit is refused with 413; spans without ids are left out and counted as OTLP’s partial success', async () => {
  const app = appWith({ maxTraceBodyBytes: 10_000 });
  const bomb = gzipSync(Buffer.from(JSON.stringify({ resourceSpans: [], pad: 'x'.repeat(100_000) })));
  expect(bomb.length).toBeLessThan(10_000);
  expect((await send(app, bomb, { 'content-type': 'application/json', 'content-encoding': 'gzip' })).status).toBe(413);
  const mixed = {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'partial' } }] },
        scopeSpans: [{ spans: [{ traceId: '', spanId: '', name: 'no ids' }, { traceId: 'ab'.repeat(16), spanId: 'cd'.repeat(8), name: 'kept', startTimeUnixNano: '1796580000000000000', endTimeUnixNano: '1796580000500000000' }] }],
      },
    ],
  };
  const answer = await send(app, JSON.stringify(mixed), { 'content-type': 'application/json' });
  expect(answer.status).toBe(200);
  expect(answer.body).toEqual({ partialSuccess: { rejectedSpans: '1', errorMessage: expect.stringContaining('traceId') } });
  expect((await stored(`name = 'kept'`)).length).toBe(1);
});

test('text ClickHouse and Postgres cannot hold is made storable, long attributes are cut and say so, and a project keeps spans its own number of days', async () => {
  await setProjectTraceRetention(db, 'ingest', 7);
  const app = appWith({ maxSpanAttributeChars: 200 });
  const body = {
    resourceSpans: [
      {
        scopeSpans: [
          {
            spans: [
              {
                traceId: 'ef'.repeat(16),
                spanId: '12'.repeat(8),
                name: 'odd text',
                attributes: [
                  { key: 'gen_ai.prompt', value: { stringValue: 'a\u0000b \ud800 c' } },
                  { key: 'app.long', value: { stringValue: 'y'.repeat(1_000) } },
                ],
              },
            ],
          },
        ],
      },
    ],
  };
  // Sent as the raw text a client could write: a NUL and a lone surrogate as JSON escapes.
  expect((await send(app, JSON.stringify(body), { 'content-type': 'application/json' })).status).toBe(200);
  const [row] = await stored(`name = 'odd text'`);
  expect(row.input_text).toBe('ab \ufffd c');
  expect(row.attributes['app.long']).toMatch(/^y{200}… \[800 more characters not stored\]$/);
  expect(row.retention_days).toBe(7);
  await setProjectTraceRetention(db, 'ingest', null);
});

test('a project reads only its own traces', async () => {
  const app = appWith();
  expect((await send(app, protobuf(sdkSpans(1, 'mine', 'own')), { 'content-type': 'application/x-protobuf' })).status).toBe(200);
  const [mine] = await stored(`input_text LIKE 'own-%'`);
  const traceId = ((await (await clickhouse.query({ query: `SELECT trace_id FROM ${chDatabase}.spans WHERE span_id = '${mine.span_id}'`, format: 'JSONEachRow' })).json()) as Obj[])[0].trace_id;
  const read = (apiKey: string) => app.request(`/v1/traces/${traceId}`, { headers: { authorization: `Bearer ${apiKey}` } });
  expect((await read(key)).status).toBe(200);
  expect((await read(otherKey)).status).toBe(404);
  const list = (await (await app.request('/v1/traces?limit=500', { headers: { authorization: `Bearer ${otherKey}` } })).json()) as Obj;
  expect(list.traces.map((t: Obj) => t.trace_id)).not.toContain(traceId);
});
