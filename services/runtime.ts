import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import { sql, type Kysely } from 'kysely';
import type { ClickHouseClient } from '@clickhouse/client';
import type { Database } from '../src/store/postgres/schema';
import type { PlatformMetrics } from '../src/telemetry/metrics';

/** What both services share at run time: listening, closing, logging, and the operations routes. */

export interface RunningService {
  readonly url: string;
  /** Ordered shutdown: stop accepting, finish in-flight work, stop background work, close clients. */
  close(): Promise<void>;
}

export type Logger = (message: string, fields?: Record<string, unknown>) => void;

/** One JSON line per event on stderr; never a secret (callers pass ids and messages, not payloads). */
export function jsonLogger(service: string): Logger {
  return (message, fields = {}) => {
    process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), service, message, ...fields })}\n`);
  };
}

export function listen(app: { fetch: (request: Request) => Response | Promise<Response> }, port: number, host: string): Promise<{ server: ServerType; url: string }> {
  return new Promise((resolve) => {
    const server = serve({ fetch: app.fetch, port, hostname: host }, (info) => {
      const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
      resolve({ server, url: `http://${shown}:${info.port}` });
    });
  });
}

export const closeServer = (server: ServerType): Promise<void> =>
  new Promise((resolve) => {
    server.close(() => resolve());
    // Idle keep-alive connections would hold close() open.
    (server as { closeIdleConnections?: () => void }).closeIdleConnections?.();
  });

/** A readiness check: resolves when the dependency answers, rejects (or resolves false) when it does not. */
export type ReadinessCheck = () => Promise<unknown>;

export const postgresCheck = (db: Kysely<Database>): ReadinessCheck => () => sql`select 1`.execute(db);

export const clickhouseCheck = (client: ClickHouseClient): ReadinessCheck => async () => {
  const result = await client.ping();
  if (!result.success) throw result.error;
};

/**
 * `/healthz` (the process is up), `/readyz` (each dependency answers: 200, else 503 with the failing checks'
 * messages) and `/metrics` (Prometheus). `beforeScrape` refreshes gauges and counters kept elsewhere.
 */
export function operationsRoutes(options: {
  version: string;
  metrics: PlatformMetrics;
  checks: Record<string, ReadinessCheck>;
  beforeScrape?: () => void;
}): Hono {
  const routes = new Hono();
  routes.get('/healthz', (c) => c.json({ status: 'ok', version: options.version }));
  routes.get('/readyz', async (c) => {
    const results = await Promise.all(
      Object.entries(options.checks).map(([name, check]) =>
        check().then(
          () => [name, 'ok'] as const,
          (error: unknown) => [name, error instanceof Error ? error.message : String(error)] as const,
        ),
      ),
    );
    const ready = results.every(([, state]) => state === 'ok');
    return c.json({ ready, checks: Object.fromEntries(results) }, ready ? 200 : 503);
  });
  routes.get('/metrics', async (c) => {
    options.beforeScrape?.();
    return c.text(await options.metrics.registry.metrics(), 200, { 'content-type': options.metrics.registry.contentType });
  });
  return routes;
}
