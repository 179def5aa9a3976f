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
 * `/healthz` (the process is up), `/readyz` and `/metrics` (Prometheus). `/readyz` answers 200 when every
 * check in `checks` (what serving needs) passes, else 503; `reported` checks (dependencies whose outage the
 * service rides out, such as ClickHouse behind the outbox) are shown but never make the pod unready, so an
 * outage of one of them does not take every pod out of its Service. The body names each check's state
 * only (`ok` or `unavailable`); the error itself goes to the log, never to the caller. `beforeScrape`
 * refreshes gauges and counters kept elsewhere.
 */
export function operationsRoutes(options: {
  version: string;
  metrics: PlatformMetrics;
  checks: Record<string, ReadinessCheck>;
  reported?: Record<string, ReadinessCheck>;
  log?: (message: string, fields: Record<string, unknown>) => void;
  beforeScrape?: () => void;
}): Hono {
  const routes = new Hono();
  const run = (checks: Record<string, ReadinessCheck>) =>
    Promise.all(
      Object.entries(checks).map(([name, check]) =>
        check().then(
          () => [name, 'ok'] as const,
          (error: unknown) => {
            options.log?.('readiness check failed', { check: name, error: error instanceof Error ? error.message : String(error) });
            return [name, 'unavailable'] as const;
          },
        ),
      ),
    );
  routes.get('/healthz', (c) => c.json({ status: 'ok', version: options.version }));
  routes.get('/readyz', async (c) => {
    const [required, reported] = await Promise.all([run(options.checks), run(options.reported ?? {})]);
    const ready = required.every(([, state]) => state === 'ok');
    return c.json({ ready, checks: Object.fromEntries(required), reported: Object.fromEntries(reported) }, ready ? 200 : 503);
  });
  routes.get('/metrics', async (c) => {
    options.beforeScrape?.();
    return c.text(await options.metrics.registry.metrics(), 200, { 'content-type': options.metrics.registry.contentType });
  });
  return routes;
}
