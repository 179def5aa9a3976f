import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ROOT, until } from '../support/platform';

test('evalctl dev: one process, no services, a URL and a key that accept a run at once', async () => {
  // No DATABASE_URL, REDIS_URL or CLICKHOUSE_URL: PGlite, chdb and the in-process queue.
  const child = spawn(process.execPath, [join(ROOT, 'bin/evalctl.js'), 'dev', '--port', '0'], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    const lines: string[] = [];
    createInterface({ input: child.stdout }).on('line', (line) => lines.push(line));
    const [url, key] = await until(async () => {
      const url = lines.map((l) => /^ai-eval-platform dev: (\S+)/.exec(l)?.[1]).find(Boolean);
      const key = lines.map((l) => /^API key \(project default\): (\S+)/.exec(l)?.[1]).find(Boolean);
      return url && key ? ([url, key] as const) : undefined;
    }, 'the dev banner', 60_000);
    expect(lines.join('\n')).toContain(`curl -s ${url}/v1/runs`);
    const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
    const submitted = (await (
      await fetch(`${url}/v1/runs`, {
        method: 'POST',
        headers,
        body: JSON.stringify({
          suite: {
            name: 'hello',
            metrics: [{ name: 'icontains', value: 'paris' }],
            cases: [
              { input: 'Capital of France?', actual_output: 'Paris', topic: 'geography' },
              { input: 'Capital of Italy?', actual_output: 'Milan', topic: 'geography' },
              // A recorded conversation goes through the platform like any case: its last reply is the output.
              { id: 'chat', turns: [{ role: 'user', content: 'Capital of Spain?' }, { role: 'assistant', content: 'Madrid' }], topic: 'geography' },
            ],
          },
        }),
      })
    ).json()) as { id: string };
    const run = await until(async () => {
      const view = (await (await fetch(`${url}/v1/runs/${submitted.id}`, { headers })).json()) as { finished_at: string | null };
      return view.finished_at ? view : undefined;
    }, 'the run');
    expect(run).toMatchObject({ status: 'completed', progress: { total: 3, passed: 1, failed: 2 } });
    const report = (await (await fetch(`${url}/v1/runs/${submitted.id}/report`, { headers })).json()) as { cases: Array<{ id: string; input: string; actual_output: string; turns?: unknown }> };
    expect(report.cases.find((c) => c.id === 'chat')).toMatchObject({ input: 'Capital of Spain?', actual_output: 'Madrid', turns: [{ role: 'user', content: 'Capital of Spain?' }, { role: 'assistant', content: 'Madrid' }] });
    // A matrix is one run per target: the API says so, naming the field (evalctl run --server splits it).
    const matrix = await fetch(`${url}/v1/runs`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ suite: { name: 'm', targets: [{ type: 'openai', model: 'a' }, { type: 'openai', model: 'b' }], metrics: [{ name: 'icontains', value: 'x' }], cases: [{ input: 'q' }] } }),
    });
    expect(matrix.status).toBe(400);
    expect(((await matrix.json()) as { error: { field: string } }).error.field).toBe('suite.targets');
    // The results reached the embedded ClickHouse: the topic view reads them from there.
    const topics = (await (await fetch(`${url}/v1/topics?run=${submitted.id}`, { headers })).json()) as unknown;
    expect(topics).toMatchObject({ topics: [{ topic: 'geography', cases: 3, failed: 2 }] });
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    expect(await (await fetch(`${url}/openapi.json`)).json()).toMatchObject({ openapi: '3.1.0', paths: { '/v1/runs': expect.any(Object) } });
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  }
}, 120_000);

test('evalctl dev: a data folder is made when missing, a worker port can be set, and a bad folder is a clear error', async () => {
  const work = mkdtempSync(join(tmpdir(), 'dev-data-'));
  try {
    // A folder under one that does not exist: refused in a line, no stack trace.
    const refused = spawnSync(process.execPath, [join(ROOT, 'bin/evalctl.js'), 'dev', '--port', '0', '--data-dir', join(work, 'missing', 'data')], { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: process.env.HOME } });
    expect(refused.status).toBe(2);
    expect(refused.stderr.trim()).toBe(`evalctl: --data-dir ${join(work, 'missing', 'data')}: neither it nor its parent folder ${join(work, 'missing')} exists\nRun \`evalctl --help\` for usage.`);
    const workerPort = await freePort();
    const child = spawn(process.execPath, [join(ROOT, 'bin/evalctl.js'), 'dev', '--port', '0', '--worker-port', String(workerPort), '--data-dir', join(work, 'data')], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const lines: string[] = [];
      createInterface({ input: child.stdout }).on('line', (line) => lines.push(line));
      const banner = await until(async () => lines.find((l) => l.startsWith('ai-eval-platform dev: ')), 'the dev banner', 60_000);
      expect(banner).toMatch(new RegExp(`\\(viewer: http://127\\.0\\.0\\.1:\\d+/ui; worker metrics: http://127\\.0\\.0\\.1:${workerPort}/metrics\\)$`));
      expect((await fetch(`http://127.0.0.1:${workerPort}/metrics`)).status).toBe(200);
      expect(readdirSync(join(work, 'data')).sort()).toEqual(['clickhouse', 'postgres']);
    } finally {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}, 120_000);

/** A port nobody listens on now. */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
