import type { ClickHouseClient } from '@clickhouse/client';
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { Kysely } from 'kysely';
import type { z } from 'zod';
import type { CaseQueue } from '../../src/queue/types';
import { getRun, type RunHeader } from '../../src/store/postgres/runs';
import type { Database, Project } from '../../src/store/postgres/schema';
import type { PlatformMetrics } from '../../src/telemetry/metrics';
import type { Logger } from '../runtime';

export interface OrchestratorDeps {
  readonly db: Kysely<Database>;
  readonly queue: CaseQueue;
  readonly clickhouse: ClickHouseClient;
  readonly clickhouseDatabase: string;
  readonly metrics: PlatformMetrics;
  readonly version: string;
  /** Default 32 MiB. */
  readonly maxBodyBytes?: number;
  /** Default 50 000. */
  readonly maxCasesPerRun?: number;
  readonly log?: Logger;
}

/** What the route groups receive: the dependencies with their defaults applied (by `createApp`, once). */
export type RouteDeps = OrchestratorDeps & { readonly maxBodyBytes: number; readonly maxCasesPerRun: number };

/** The project of the request's API key, set by the authentication middleware on every `/v1` route. */
export type AppEnv = { Variables: { project: Project } };

/** Every error answers `{ error: { code, message, field? } }`; `problems` lists a suite's validation problems. */
export function fail(status: 400 | 401 | 404 | 409 | 413 | 415 | 422 | 503, message: string, field?: string, extra?: Record<string, unknown>): never {
  const code = { 400: 'bad_request', 401: 'unauthorized', 404: 'not_found', 409: 'conflict', 413: 'too_large', 415: 'unsupported_media_type', 422: 'unprocessable', 503: 'unavailable' }[status];
  const body = JSON.stringify({ error: { code, message, ...(field ? { field } : {}), ...extra } });
  throw new HTTPException(status, { res: new Response(body, { status, headers: { 'content-type': 'application/json' } }) });
}

export async function readJson(c: Context): Promise<unknown> {
  const type = c.req.header('content-type') ?? '';
  if (!/^application\/json\b/i.test(type)) fail(415, 'send JSON with Content-Type: application/json', 'content-type');
  const text = await c.req.text();
  try {
    return JSON.parse(text);
  } catch (error) {
    return fail(400, `the body is not valid JSON: ${(error as Error).message}`, 'body');
  }
}

/** Validates a body or query with its contract schema; the first problem answers 400 naming the field. */
export function parse<T>(schema: z.ZodType<T>, value: unknown, where: 'body' | 'query'): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]] : issue.path;
  const field = path.length ? path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i ? `.${String(p)}` : String(p))).join('') : where;
  return fail(400, `${field}: ${issue.code === 'unrecognized_keys' ? 'unknown field' : issue.message}`, field);
}

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A run of the caller's project; another project's run is indistinguishable from a missing one. */
export async function ownRun(db: Kysely<Database>, c: Context<AppEnv>, id: string): Promise<RunHeader> {
  if (!UUID.test(id)) fail(404, `no run ${id}`, 'id');
  const run = await getRun(db, c.get('project').id, id);
  if (!run) fail(404, `no run ${id}`, 'id');
  return run;
}
