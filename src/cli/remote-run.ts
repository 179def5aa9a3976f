import type { RunView } from '../contracts/api';
import type { BuildMetadata } from '../contracts/build';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { CaseResult } from '../contracts/report';
import { readReportStreaming, ReportSyntaxError } from '../runner/report-reader';
import { CaseCollector, type Progress, type StreamedRun } from '../runner/run-suites';
import type { LoadedSuite } from '../suite/load';

export class RemoteError extends Error {
  /** The platform's HTTP status; absent when it could not be reached. */
  constructor(message: string, readonly status?: number) {
    super(message);
  }

  /** The platform was unreachable, refused the key or failed: nothing was evaluated, and the suites may be fine. */
  get notEvaluated(): boolean {
    return this.status === undefined || this.status === 401 || this.status === 403 || this.status === 429 || this.status >= 500;
  }
}

/** A request to a platform's API with a project key: its answer when it is a success, else a `RemoteError` with the platform's own message (or why it could not be reached). */
async function send(base: string, apiKey: string, method: string, path: string, body?: unknown): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${apiKey}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
  } catch (error) {
    throw new RemoteError(`cannot reach ${base}: ${(error as Error).message}`);
  }
  if (response.ok) return response;
  const text = await response.text();
  let message = text.slice(0, 500);
  try {
    message = (JSON.parse(text) as { error: { message: string } }).error.message;
  } catch {
    // not the API's JSON error: show the start of the body
  }
  throw new RemoteError(`${method} ${path}: HTTP ${response.status}: ${message}`, response.status);
}

/** Requests to a platform's API with a project key: the JSON answer, or a `RemoteError` (`send`). */
export function platformRequest(server: string, apiKey: string): <T>(method: string, path: string, body?: unknown) => Promise<T> {
  const base = server.replace(/\/+$/, '');
  return async <T>(method: string, path: string, body?: unknown): Promise<T> => JSON.parse(await (await send(base, apiKey, method, path, body)).text()) as T;
}

/** Writes a GET answer of the platform's API to a file as it arrives (a report of 100,000 cases is never one string). */
async function download(base: string, apiKey: string, path: string, file: string): Promise<void> {
  const response = await send(base, apiKey, 'GET', path);
  try {
    await pipeline(Readable.fromWeb(response.body as import('node:stream/web').ReadableStream), createWriteStream(file, { mode: 0o600 }));
  } catch (error) {
    throw new RemoteError(`GET ${path}: the answer broke off: ${(error as Error).message}`);
  }
}

/**
 * `evalctl run --server`: submits each suite as a run, waits for all of them, and writes the same report a
 * local run writes from the cases the platform evaluated: each run's report is downloaded to a temporary file
 * and read a case at a time, so memory does not grow with the number of cases.
 */
export async function runOnServer(
  suites: readonly LoadedSuite[],
  options: {
    server: string;
    apiKey: string;
    build: BuildMetadata;
    onProgress?: (p: Progress) => void;
    onCase?: (result: CaseResult, position: number) => void;
    junit?: boolean;
    pollMs?: number;
  },
): Promise<StreamedRun> {
  const base = options.server.replace(/\/+$/, '');
  const request = platformRequest(base, options.apiKey);

  const startedAt = new Date();
  const runs: RunView[] = [];
  for (const loaded of suites) runs.push(await request<RunView>('POST', '/v1/runs', { suite: loaded.source, build: options.build }));
  const started = performance.now();
  const pollMs = options.pollMs ?? 1_000;
  for (;;) {
    const views = await Promise.all(runs.map((run) => request<RunView>('GET', `/v1/runs/${run.id}`)));
    const sum = (key: keyof RunView['progress']) => views.reduce((n, v) => n + v.progress[key], 0);
    options.onProgress?.({ done: sum('completed'), total: sum('total'), passed: sum('passed'), failed: sum('failed'), errored: sum('errored'), elapsedMs: performance.now() - started });
    if (views.every((v) => v.finished_at)) break;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
  const collector = new CaseCollector(suites, {}, { junit: options.junit });
  const work = mkdtempSync(join(tmpdir(), 'evalctl-reports-'));
  try {
    let position = 0;
    for (const run of runs) {
      const file = join(work, 'report.json');
      await download(base, options.apiKey, `/v1/runs/${run.id}/report`, file);
      try {
        readReportStreaming(file, (value) => {
          const result = value as CaseResult;
          collector.add(result, position);
          options.onCase?.(result, position);
          position++;
        });
      } catch (error) {
        if (error instanceof ReportSyntaxError) throw new RemoteError(`GET /v1/runs/${run.id}/report: not a report: ${error.message}`);
        throw error;
      }
    }
    return collector.finish({ build: options.build, startedAt, finishedAt: new Date() }, { platform: { server: base, runs: runs.map((run) => ({ suite: run.suite, run_id: run.id })) } });
  } catch (error) {
    collector.close();
    throw error;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
