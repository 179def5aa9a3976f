import type { RunView } from '../contracts/api';
import type { BuildMetadata } from '../contracts/build';
import type { CaseResult, Report } from '../contracts/report';
import type { Progress } from '../runner/run-suites';
import { buildReport } from '../runner/summarize';
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

/**
 * Requests to a platform's API with a project key: the JSON answer, or a `RemoteError` with the platform's own
 * message (or why it could not be reached).
 */
export function platformRequest(server: string, apiKey: string): <T>(method: string, path: string, body?: unknown) => Promise<T> {
  const base = server.replace(/\/+$/, '');
  return async <T>(method: string, path: string, body?: unknown): Promise<T> => {
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
    const text = await response.text();
    if (!response.ok) {
      let message = text.slice(0, 500);
      try {
        message = (JSON.parse(text) as { error: { message: string } }).error.message;
      } catch {
        // not the API's JSON error: show the start of the body
      }
      throw new RemoteError(`${method} ${path}: HTTP ${response.status}: ${message}`, response.status);
    }
    return JSON.parse(text) as T;
  };
}

/**
 * `evalctl run --server`: submits each suite as a run, waits for all of them, and builds the same report a
 * local run writes from the cases the platform evaluated.
 */
export async function runOnServer(
  suites: readonly LoadedSuite[],
  options: { server: string; apiKey: string; build: BuildMetadata; onProgress?: (p: Progress) => void; pollMs?: number },
): Promise<Report> {
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
  const reports = await Promise.all(runs.map((run) => request<Report>('GET', `/v1/runs/${run.id}/report`)));
  const cases: CaseResult[] = reports.flatMap((r) => r.cases);
  const report = buildReport({ suites, cases, build: options.build, thresholds: {}, startedAt, finishedAt: new Date() });
  report.platform = { server: base, runs: runs.map((run) => ({ suite: run.suite, run_id: run.id })) };
  return report;
}
