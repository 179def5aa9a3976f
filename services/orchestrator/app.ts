import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import { storableText, unstorableText } from '../../src/contracts/text';
import { checkDatabaseName } from '../../src/store/clickhouse/connect';
import { isWellFormedApiKey, projectForKey } from '../../src/store/postgres/projects';
import type { Project } from '../../src/store/postgres/schema';
import { clickhouseCheck, operationsRoutes, postgresCheck } from '../runtime';
import { DEFAULT_API_LIMITS, readTenancyConfig } from '../../src/platform/config';
import { fail, type AppEnv, type OrchestratorDeps, type RouteDeps } from './http';
import { BodyBudget, setBounded, TokenBuckets } from './limits';
import { openApiDocument } from './openapi';
import { analyticsRoutes } from './routes/analytics';
import { datasetRoutes } from './routes/datasets';
import { endpointRoutes } from './routes/endpoints';
import { reviewRoutes } from './routes/reviews';
import { runRoutes } from './routes/runs';
import { traceRoutes } from './routes/traces';
import { VIEWER_BASE, viewerRoutes } from './viewer';

export type { OrchestratorDeps } from './http';

/** What an OTLP body without a Content-Length reserves of the body memory budget. */
const OTLP_UNKNOWN_BODY_BYTES = 1024 * 1024;

/**
 * The orchestrator's routes, without listening: main.ts serves it, tests call `app.request()`. Operations
 * routes at the root; everything under `/v1` needs a project's API key and a body within the limit.
 */
export function createApp(options: OrchestratorDeps): Hono<AppEnv> {
  const deps: RouteDeps = {
    ...options,
    limits: { ...DEFAULT_API_LIMITS, ...options.limits },
    tenancy: options.tenancy ?? readTenancyConfig(process.env),
  };
  const { db, queue, clickhouse, metrics, limits } = deps;
  const { maxBodyBytes } = limits;
  checkDatabaseName(deps.clickhouseDatabase);
  // Not strict: the viewer's runs page is `/ui/` and `/ui` alike.
  const app = new Hono<AppEnv>({ strict: false });
  // A key's project is cached briefly (a revoked key stops working within apiKeyCacheMs); an unknown key for a
  // minute, so a client retrying a wrong key costs no database lookup. Lookups are not limited per client
  // address: behind the Ingress every client has the same one, and a flood of wrong keys would lock everyone out.
  const keyCache = new Map<string, { project: Project & { key_id: string }; until: number }>();
  const unknownKeys = new Map<string, number>();
  const projectRequests = new TokenBuckets(limits.requestsPerSecond, limits.requestBurst);
  const bodies = new BodyBudget(limits.bodyMemoryBudgetBytes);

  app.use('*', async (c, next) => {
    await next();
    metrics.httpRequests.inc({ route: c.req.routePath ?? 'unknown', status: String(c.res.status) });
  });

  app.onError((error, c) => {
    if (error instanceof HTTPException) return error.getResponse();
    deps.log?.('request failed', { path: c.req.path, error: error instanceof Error ? error.message : String(error) });
    return c.json({ error: { code: 'internal', message: 'internal error' } }, 500);
  });
  app.notFound((c) => c.json({ error: { code: 'not_found', message: `no route ${c.req.method} ${c.req.path}` } }, 404));

  // A query parameter is text the stores will be asked about: one they cannot hold (a NUL, a lone surrogate)
  // is the client's mistake, answered 400 naming the parameter, never a database error.
  app.use('*', async (c, next) => {
    for (const [name, values] of Object.entries(c.req.queries())) {
      for (const text of [name, ...values]) {
        const problem = unstorableText(text);
        if (!problem) continue;
        const field = storableText(name);
        fail(400, `query parameter ${JSON.stringify(field)}: ${problem}`, field);
      }
    }
    await next();
  });

  app.route(
    '/',
    operationsRoutes({
      version: deps.version,
      metrics,
      // Runs are accepted and queued without ClickHouse (only results need it): reported, not required.
      checks: { postgres: postgresCheck(db), redis: () => queue.stats() },
      reported: { clickhouse: clickhouseCheck(clickhouse) },
      log: deps.log,
    }),
  );
  app.get('/openapi.json', (c) => c.json(openApiDocument(deps.version)));
  app.route(VIEWER_BASE, viewerRoutes(deps));

  app.use('/v1/*', bodyLimit({ maxSize: maxBodyBytes, onError: () => fail(413, `the body is larger than ${maxBodyBytes} bytes`, 'body') }));

  app.use('/v1/*', async (c, next) => {
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) fail(401, 'send Authorization: Bearer <api key> (create one with `evalctl keys create --project <name>`)', 'authorization');
    const key = match[1];
    const now = Date.now();
    const cached = keyCache.get(key);
    let project = cached && cached.until > now ? cached.project : undefined;
    if (!project) {
      // A key that is not in the form keys are issued in, or one found unknown in the last minute, costs no lookup.
      if (!isWellFormedApiKey(key) || (unknownKeys.get(key) ?? 0) > now) fail(401, 'unknown or revoked API key', 'authorization');
      project = await projectForKey(db, key);
      if (!project) {
        setBounded(unknownKeys, key, now + 60_000);
        fail(401, 'unknown or revoked API key', 'authorization');
      }
      setBounded(keyCache, key, { project, until: now + limits.apiKeyCacheMs });
    }
    // OTLP exports are limited by their spans (the traces route's own buckets), not counted as API requests:
    // a fleet of agents each exporting every few seconds would otherwise lock the project out of its API.
    const wait = c.req.method === 'POST' && c.req.path === '/v1/traces' ? 0 : projectRequests.take(project.id);
    if (wait > 0) fail(429, `project ${project.name} is over its request rate (${limits.requestsPerSecond}/s)`, 'project', undefined, wait);
    c.set('project', project);
    c.set('apiKeyId', project.key_id);
    // A body is read only within the memory budget; until it fits, the client is told to come back.
    const method = c.req.method;
    if (method === 'POST' || method === 'PUT' || method === 'PATCH') {
      const declared = Number(c.req.header('content-length'));
      // OTLP exporters stream their batches without a Content-Length: such a body reserves what an SDK's batch
      // takes (1 MiB), not the whole budget, or concurrent exports would queue behind each other. What it can
      // grow to stays bounded by the body limit and MAX_TRACE_BODY_BYTES once decompressed.
      const unknownSize = c.req.path === '/v1/traces' ? Math.min(OTLP_UNKNOWN_BODY_BYTES, maxBodyBytes) : maxBodyBytes;
      const bytes = Number.isFinite(declared) && declared >= 0 ? Math.min(declared, maxBodyBytes) : unknownSize;
      if (!bodies.tryTake(bytes)) fail(503, 'the server is reading other large bodies; retry shortly', 'body', undefined, 1);
      try {
        await next();
      } finally {
        bodies.give(bytes);
      }
      return;
    }
    await next();
  });

  app.route('/v1', runRoutes(deps));
  app.route('/v1', datasetRoutes(deps));
  app.route('/v1', endpointRoutes(deps));
  app.route('/v1', analyticsRoutes(deps));
  app.route('/v1', reviewRoutes(deps));
  app.route('/v1', traceRoutes(deps));
  return app;
}
