import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { runSuites } from '../../src/runner/run-suites';
import { resolveSuite } from '../../src/suite/load';
import { VIEW_PORT } from '../../src/cli/view-command';
import { ROOT } from '../support/platform';

/** `evalctl view` is not promptfoo's port, and a second viewer open at once still starts. */
test('evalctl view listens on 8790, and on another free port when that one is taken', async () => {
  expect(VIEW_PORT).toBe(8790);
  const work = mkdtempSync(join(tmpdir(), 'view-port-'));
  // Hold the default port (if something else already does, that is the same case).
  const holder: Server = createServer();
  await new Promise<void>((resolve) => {
    holder.once('error', () => resolve());
    holder.listen(VIEW_PORT, '127.0.0.1', () => resolve());
  });
  const report = await runSuites([resolveSuite({ name: 'tiny', metrics: [{ name: 'icontains', value: 'a' }], cases: [{ input: 'q', actual_output: 'a' }] }, 'tiny.yaml', undefined, {})], { env: {} });
  writeFileSync(join(work, 'report.json'), JSON.stringify(report));
  const child = spawn(process.execPath, [join(ROOT, 'bin/evalctl.js'), 'view', 'report.json'], { cwd: work, env: { PATH: process.env.PATH }, stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const url = await new Promise<string>((done, failed) => {
      createInterface({ input: child.stdout }).on('line', (line) => {
        const match = /^evalctl view: (http\S+)/.exec(line);
        if (match) done(match[1]);
      });
      child.once('exit', (code) => failed(new Error(`evalctl view exited ${code}: ${stderr}`)));
    });
    expect(stderr).toBe(`evalctl view: port ${VIEW_PORT} is taken; serving on another\n`);
    expect(new URL(url).port).not.toBe(String(VIEW_PORT));
    expect((await fetch(url)).status).toBe(200);
  } finally {
    child.kill('SIGINT');
    holder.close();
    rmSync(work, { recursive: true, force: true });
  }
}, 60_000);
