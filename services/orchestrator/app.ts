import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import { checkDatabaseName } from '../../src/store/clickhouse/connect';
import { projectForKey } from '../../src/store/postgres/projects';
import type { Project } from '../../src/store/postgres/schema';
import { clickhouseCheck, operationsRoutes, postgresCheck } from '../runtime';
import { fail, type AppEnv, type OrchestratorDeps, type RouteDeps } from './http';
import { openApiDocument } from './openapi';
import { analyticsRoutes } from './routes/analytics';
import { datasetRoutes } from './routes/datasets';
import { runRoutes } from './routes/runs';

export type { OrchestratorDeps } from './http';

/**
 * The orchestrator's routes, without listening: main.ts serves it, tests call `app.request()`. Operations
 * routes at the root; everything under `/v1` needs a project's API key and a body within the limit.
 */
export function createApp(options: OrchestratorDeps): Hono<AppEnv> {
  const deps: RouteDeps = { ...options, maxBodyBytes: options.maxBodyBytes ?? 32 * 1024 * 1024, maxCasesPerRun: options.maxCasesPerRun ?? 50_000 };
  const { db, queue, clickhouse, metrics, maxBodyBytes } = deps;
  checkDatabaseName(deps.clickhouseDatabase);
  const app = new Hono<AppEnv>();
  const keyCache = new Map<string, { project: Project; until: number }>();

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

  app.route(
    '/',
    operationsRoutes({
      version: deps.version,
      metrics,
      checks: { postgres: postgresCheck(db), redis: () => queue.stats(), clickhouse: clickhouseCheck(clickhouse) },
    }),
  );
  app.get('/openapi.json', (c) => c.json(openApiDocument(deps.version)));

  app.use('/v1/*', bodyLimit({ maxSize: maxBodyBytes, onError: () => fail(413, `the body is larger than ${maxBodyBytes} bytes`, 'body') }));

  app.use('/v1/*', async (c, next) => {
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) fail(401, 'send Authorization: Bearer <api key> (create one with `evalctl keys create --project <name>`)', 'authorization');
    const key = match[1];
    const cached = keyCache.get(key);
    let project = cached && cached.until > Date.now() ? cached.project : undefined;
    if (!project) {
      project = await projectForKey(db, key);
      if (!project) fail(401, 'unknown or revoked API key', 'authorization');
      keyCache.set(key, { project, until: Date.now() + 30_000 });
    }
    c.set('project', project);
    await next();
  });

  app.route('/v1', runRoutes(deps));
  app.route('/v1', datasetRoutes(deps));
  app.route('/v1', analyticsRoutes(deps));
  return app;
}
