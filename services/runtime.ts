import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import { sql, type Kysely } from 'kysely';
import type { ClickHouseClient } from '@clickhouse/client';
import { redactSecrets } from '../src/providers/redact';
import type { Database } from '../src/store/postgres/schema';
import type { PlatformMetrics } from '../src/telemetry/metrics';

/** What both services share at run time: listening, closing, logging, and the operations routes. */

export interface RunningService {
  readonly url: string;
  /** Ordered shutdown: stop accepting, finish in-flight work, stop background work, close clients. */
  close(): Promise<void>;
}

export type Logger = (message: string, fields?: Record<string, unknown>) => void;

/**
 * One JSON line per event on stderr. Callers pass ids and messages, not payloads; an error message that quotes
 * a secret of this process's environment (a connection string's password, a key) is redacted all the same.
 */
export function jsonLogger(service: string): Logger {
  return (message, fields = {}) => {
    process.stderr.write(`${redactSecrets(JSON.stringify({ time: new Date().toISOString(), service, message, ...fields }))}\n`);
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

/**
 * Stops accepting connections, lets requests in flight finish, and closes keep-alive connections as soon as
 * they are idle (a client polling every 200 ms would otherwise hold its connection, and the shutdown, open);
 * at `deadlineMs` whatever is left is closed.
 */
export const closeServer = (server: ServerType, deadlineMs = 10_000): Promise<void> =>
  new Promise((resolve) => {
    const http = server as { closeIdleConnections?: () => void; closeAllConnections?: () => void };
    const sweep = setInterval(() => http.closeIdleConnections?.(), 50);
    const deadline = setTimeout(() => http.closeAllConnections?.(), deadlineMs);
    server.close(() => {
      clearInterval(sweep);
      clearTimeout(deadline);
      resolve();
    });
    http.closeIdleConnections?.();
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
