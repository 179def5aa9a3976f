import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../support/platform';

// What the Dockerfile's stages do, without a Docker engine: compile to build/, install production
// dependencies only from the lock file (no dev tools, no optional chdb), and run the compiled entry.
test('the images’ install: production dependencies from the lock file, no chdb, the compiled entry runs', () => {
  const app = mkdtempSync(join(tmpdir(), 'image-'));
  try {
    execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', join(app, 'build')], { stdio: 'pipe' });
    for (const file of ['package.json', 'package-lock.json']) cpSync(join(ROOT, file), join(app, file));
    mkdirSync(join(app, 'constructs'));
    cpSync(join(ROOT, 'constructs/package.json'), join(app, 'constructs/package.json'));
    execFileSync('npm', ['ci', '--omit=dev', '--omit=optional', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: app, stdio: 'pipe' });
    for (const absent of ['chdb', '@chdb', 'typescript', 'jest', 'tsx', 'cdktf', 'cdk8s']) expect(existsSync(join(app, 'node_modules', absent))).toBe(false);
    for (const present of ['hono', 'bee-queue', 'kysely', 'pg', '@clickhouse/client', 'openai', '@anthropic-ai/sdk', 'prom-client']) {
      expect(existsSync(join(app, 'node_modules', present))).toBe(true);
    }
    const help = execFileSync(process.execPath, [join(app, 'build/services/entry.js'), '--help'], { cwd: app, encoding: 'utf8' });
    expect(help).toContain('evalctl serve | work | migrate');
    // The embedded engine is not in the image: dev mode says what to do instead of crashing.
    const dev = (() => {
      try {
        execFileSync(process.execPath, [join(app, 'build/services/entry.js'), 'dev', '--port', '0'], { cwd: app, encoding: 'utf8', stdio: 'pipe', timeout: 60_000, env: { PATH: process.env.PATH } });
        return '';
      } catch (error) {
        return String((error as { stderr?: string }).stderr);
      }
    })();
    expect(dev).toContain('set CLICKHOUSE_URL to a ClickHouse server');
  } finally {
    rmSync(app, { recursive: true, force: true });
  }
}, 300_000);
