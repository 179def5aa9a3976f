import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { context, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { createClient } from '@clickhouse/client';
import { cpuSeconds, peakRssMb } from './processes';
import { createTestDatabase, evalctlSync, ROOT, serviceEnv, spawnClickhouse, spawnService, uniqueName } from '../test/support/platform';

/**
 * `npm run bench:traces`: OTLP ingest as deployed, on this machine. The compiled orchestrator (as its image runs
 * it) against real Postgres and chdb behind ClickHouse's HTTP interface takes batches of 512 GenAI spans (an
 * agent span, a chat span with its messages and usage, a tool span: what the SDK's BatchSpanProcessor sends)
 * from 8 concurrent exporters for BENCH_SECONDS, in protobuf and then in JSON. Prints spans per second accepted
 * (every batch answered 200 is in ClickHouse), the orchestrator's CPU per span, and its peak RSS.
 */
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const BATCH = 512;
const CLIENTS = 8;
/** Batches made per format: more than the run can send, so none is sent twice. */
const BODIES = Number(process.env.BENCH_BODIES ?? 1_000);

function batch(label: string, format: string): ReadableSpan[] {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ resource: resourceFromAttributes({ 'service.name': 'bench-agent', 'bench.format': format }), spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  const tracer = provider.getTracer('bench');
  for (let i = 0; exporter.getFinishedSpans().length < BATCH; i++) {
    const agent = tracer.startSpan('invoke_agent shop', { attributes: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.conversation.id': `${label}-${i}` } });
    const chat = tracer.startSpan(
      'chat gpt-4o-mini',
      {
        attributes: {
          'gen_ai.operation.name': 'chat',
          'gen_ai.request.model': 'gpt-4o-mini',
          'gen_ai.usage.input_tokens': 812,
          'gen_ai.usage.output_tokens': 96,
          'gen_ai.input.messages': JSON.stringify([
            { role: 'system', parts: [{ type: 'text', content: 'You are a helpful shopping assistant. Answer from the order system only.' }] },
            { role: 'user', parts: [{ type: 'text', content: `Where is my order ${label}-${i}? It was due yesterday and the tracking page shows nothing.` }] },
          ]),
          'gen_ai.output.messages': JSON.stringify([{ role: 'assistant', parts: [{ type: 'text', content: `Order ${label}-${i} left the Leeds warehouse this morning and arrives tomorrow before noon.` }] }]),
          'app.retrieval.documents': JSON.stringify([{ content: `Order ${label}-${i}: dispatched 08:12, carrier DPD.` }]),
        },
      },
      trace.setSpan(context.active(), agent),
    );
    tracer.startSpan('execute_tool track_order', { attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'track_order' } }, trace.setSpan(context.active(), chat)).end();
    chat.end();
    agent.end();
  }
  return exporter.getFinishedSpans().slice(0, BATCH);
}

async function main(): Promise<void> {
  console.log(`machine: ${cpus().length} × ${cpus()[0]?.model}, Node ${process.version}`);
  execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore' });
  const [database, clickhouse] = await Promise.all([createTestDatabase(), spawnClickhouse()]);
  const env: NodeJS.ProcessEnv = { ...serviceEnv({ databaseUrl: database.url, clickhouseUrl: clickhouse.url, queuePrefix: uniqueName('bqtraces') }, { openaiBaseUrl: 'http://127.0.0.1:9/v1', apiKey: 'sk-bench' }), PROJECT_SPANS_PER_SECOND: '1000000', PROJECT_SPAN_BURST: '1000000' };
  evalctlSync(['migrate'], env);
  const key = evalctlSync(['keys', 'create', '--project', 'bench'], env).trim();
  const orchestrator = await spawnService('serve', env, [], join(ROOT, 'build/services/entry.js'));
  try {
    for (const [format, type, serialize] of [
      ['protobuf', 'application/x-protobuf', (s: ReadableSpan[]) => ProtobufTraceSerializer.serializeRequest(s)!],
      ['JSON', 'application/json', (s: ReadableSpan[]) => JsonTraceSerializer.serializeRequest(s)!],
    ] as const) {
      // Distinct bodies, each sent once: a body sent twice is deduplicated as an exporter's retry.
      const bodies = Array.from({ length: BODIES }, (_, i) => Buffer.from(serialize(batch(`${format}-${i}`, format))));
      const pid = orchestrator.child.pid!;
      const cpuBefore = cpuSeconds(pid);
      const started = performance.now();
      const deadline = started + SECONDS * 1000;
      let accepted = 0;
      let refused = 0;
      let sent = 0;
      let dropped = 0;
      await Promise.all(
        Array.from({ length: CLIENTS }, async () => {
          while (performance.now() < deadline && sent < bodies.length) {
            const body = bodies[sent++];
            const post = () => fetch(`${orchestrator.url}/v1/traces`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': type }, body });
            // A connection the server closed as it was reused is sent again once, as an exporter retries.
            const response = await post().catch((error: unknown) => {
              dropped++;
              if (dropped > 10) throw error;
              return post();
            });
            await response.arrayBuffer();
            if (response.status === 200) accepted += BATCH;
            else refused += BATCH;
          }
        }),
      );
      const seconds = (performance.now() - started) / 1000;
      const cpu = cpuSeconds(pid) - cpuBefore;
      // What was answered 200 is in ClickHouse.
      const ch = createClient({ url: clickhouse.url });
      const stored = Number(((await (await ch.query({ query: `SELECT count() AS n FROM ${env.CLICKHOUSE_DATABASE}.spans WHERE resource_attributes['bench.format'] = '${format}'`, format: 'JSONEachRow' })).json()) as Array<{ n: string }>)[0].n);
      await ch.close();
      if (stored !== accepted) throw new Error(`${format}: ${accepted} spans answered 200 but ${stored} stored`);
      console.log(
        `${format}: ${Math.round(accepted / seconds).toLocaleString('en')} spans/s accepted and stored (${accepted.toLocaleString('en')} in ${seconds.toFixed(1)} s, ${refused} refused, ${dropped} connections dropped and sent again), ` +
          `orchestrator CPU ${((cpu * 1e6) / Math.max(1, accepted)).toFixed(1)} µs per span, ${(bodies[0].length / BATCH).toFixed(0)} bytes per span`,
      );
    }
    console.log(`orchestrator peak RSS: ${peakRssMb(orchestrator.child.pid!).toFixed(0)} MB`);
  } catch (error) {
    console.error(orchestrator.log.slice(-10).join('\n'));
    throw error;
  } finally {
    await orchestrator.stop();
    await Promise.allSettled([database.drop(), clickhouse.stop()]);
  }
}

void main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
