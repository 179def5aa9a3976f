import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Report } from '../../src/contracts/report';
import { checkEnvironment, type EnvironmentReport } from '@ai-eval-platform/constructs';
import { fakeEnv } from './engine';
import { echoTruths, type FakeLlmServer } from './fake-llm-server';
import { readme, readmeExample } from './readme';

/**
 * What the package READMEs tell a new user to do, done from the packed tarballs with a given Node.js binary:
 * the package tests run it with the current Node, `npm run test:node` with every supported one.
 */
const root = join(__dirname, '../..');
const TSC = join(root, 'node_modules/typescript/bin/tsc');

/** `npm pack` of a workspace into `dest`: the tarball's path and the files it holds. */
export function packWorkspace(workspace: 'evalctl' | 'constructs', dest: string): { tarball: string; files: string[] } {
  mkdirSync(dest, { recursive: true });
  const packed = execFileSync('npm', ['pack', '--workspace', workspace, '--pack-destination', dest, '--json'], { cwd: root, encoding: 'utf8' });
  const [entry] = JSON.parse(packed.slice(packed.indexOf('['))) as Array<{ filename: string; files: Array<{ path: string }> }>;
  return { tarball: join(dest, entry.filename), files: entry.files.map((f) => f.path) };
}

/** An agent's repository in `app` that installs the evalctl tarball as the README says (`npm i -D`), under `node`. */
export function installEvalctl(app: string, tarball: string, node: string): { status: number | null; stderr: string } {
  mkdirSync(app, { recursive: true });
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'agent-repo', private: true }));
  const install = spawnSync('npm', ['install', '--save-dev', '--no-audit', '--no-fund', '--prefer-offline', tarball], { cwd: app, encoding: 'utf8', env: { ...process.env, PATH: pathWith(node) } });
  return { status: install.status, stderr: install.stderr };
}

/** PATH with `node`'s folder first, so `npm`, `npx` and every `#!/usr/bin/env node` run under that Node. */
export function pathWith(node: string): string {
  return `${dirname(node)}:${process.env.PATH}`;
}

export interface CommandResult {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Asynchronous: the fake LLM answers from this process, which a synchronous spawn would block. */
export const runIn = (cwd: string, command: string, args: string[], env: NodeJS.ProcessEnv) =>
  new Promise<CommandResult>((done) =>
    execFile(command, args, { cwd, env, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => done({ status: error ? Number(error.code ?? 1) : 0, stdout, stderr })),
  );

/** The answers of the README's support bot, and of the API example's one case. */
export const README_ANSWERS: Readonly<Record<string, string>> = {
  'How long do I have to return shoes?': 'You can return them within 30 days of delivery.',
  'How long does a refund take?': 'A refund takes 5 business days to reach your card.',
  'Capital of France? One word.': 'Paris',
};

/** The fake LLM as the README's suite needs it: the bot's answers, and a judge that finds them supported. */
export function scriptReadmeAnswers(server: FakeLlmServer): void {
  server.script = (request) => {
    const answer = Object.entries(README_ANSWERS).find(([question]) => request.prompt.includes(question))?.[1] ?? '';
    if (request.schemaName === 'claims' || request.schemaName === 'statements') return { json: { [request.schemaName]: [answer] } };
    if (request.schemaName === 'truths') return echoTruths(request);
    if (request.schemaName?.endsWith('verdicts')) return { json: { verdicts: [{ reason: 'supported and on topic', verdict: 'yes' }] } };
    return { text: answer, usage: { input: 40, output: 12 } };
  };
}

export interface EvalctlReadmeOutcome {
  /** Each README command with its exit code and what it wrote to stderr other than progress lines. */
  readonly commands: Array<{ line: string; status: number; stderr: string[] }>;
  readonly report: Report;
  /** The API example's exit code and output. */
  readonly api: CommandResult;
}

/**
 * In `app` (where the evalctl tarball is installed): the README's first suite, its two commands, then its API
 * example compiled against the installed typings, all under `node`, against the fake LLM.
 */
export async function runEvalctlReadme(app: string, server: FakeLlmServer, node: string): Promise<EvalctlReadmeOutcome> {
  const README = 'evalctl/README.md';
  scriptReadmeAnswers(server);
  mkdirSync(join(app, 'evals'), { recursive: true });
  writeFileSync(join(app, 'evals/support.yaml'), readmeExample(README, 'evals/support.yaml'));
  const env = { PATH: `${join(app, 'node_modules/.bin')}:${pathWith(node)}`, HOME: process.env.HOME, ...fakeEnv(server), CI: 'true' };
  const commands: EvalctlReadmeOutcome['commands'] = [];
  // Each command as the README writes it; the key is the fake server's, from the environment.
  for (const line of readmeExample(README, 'first-run').split('\n').filter((l) => l.startsWith('npx evalctl'))) {
    const [command, ...args] = line.replace(/\s+#.*$/, '').split(/\s+/);
    const result = await runIn(app, command, args, env);
    // Progress lines go to stderr in CI; nothing else may.
    commands.push({ line, status: result.status, stderr: result.stderr.split('\n').filter((l) => l && !l.startsWith('progress: ')) });
  }
  const report = JSON.parse(readFileSync(join(app, 'report.json'), 'utf8')) as Report;
  writeFileSync(join(app, 'api.ts'), readmeExample(README, 'api.ts'));
  writeFileSync(
    join(app, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'node16', moduleResolution: 'node16', strict: true, skipLibCheck: true, outDir: 'out', types: ['node'] }, files: ['api.ts'] }),
  );
  execFileSync(node, [TSC, '-p', app], { cwd: app, encoding: 'utf8' });
  const api = await runIn(app, node, ['out/api.js'], env);
  return { commands, report, api };
}

export interface ConstructsReadmeOutcome {
  /** Every file the README's table of outputs lists, and whether the app wrote it. */
  readonly written: Record<string, boolean>;
  readonly platformManifest: string;
  readonly goLive: EnvironmentReport;
  /** Modules the app loaded. */
  readonly loaded: string[];
}

/**
 * In `app` (a folder below the repository, so the CDK peers resolve from its node_modules): the README's
 * package.json with the library from `tarball`, its tsconfig.json, its complete app and release record,
 * compiled and run under `node`; then the go-live checks over what it wrote.
 */
export function buildConstructsReadmeApp(app: string, tarball: string, node: string): ConstructsReadmeOutcome {
  const README = 'constructs/README.md';
  mkdirSync(join(app, 'releases'), { recursive: true });
  const manifest = JSON.parse(readmeExample(README, 'package.json')) as Record<string, unknown>;
  writeFileSync(join(app, 'package.json'), JSON.stringify({ ...manifest, name: 'consumer', dependencies: { '@ai-eval-platform/constructs': `file:${tarball}` }, devDependencies: {} }));
  execFileSync('npm', ['install', '--legacy-peer-deps', '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts'], { cwd: app, encoding: 'utf8', env: { ...process.env, PATH: pathWith(node) } });
  writeFileSync(join(app, 'tsconfig.json'), readmeExample(README, 'tsconfig.json'));
  writeFileSync(join(app, 'main.ts'), `${readmeExample(README, 'main.ts')}\nconsole.log(JSON.stringify(Object.keys(require.cache)));\n`);
  writeFileSync(join(app, 'releases/staging.json'), readmeExample(README, 'releases/staging.json'));
  execFileSync(node, [TSC, '-p', app], { cwd: app, encoding: 'utf8' });
  const loaded = JSON.parse(execFileSync(node, ['out/main.js'], { cwd: app, encoding: 'utf8' }).trim().split('\n').pop()!) as string[];
  const table = readme(README)
    .split('\n')
    .filter((line) => /^\| `(cdktf\.out|dist)\//.test(line))
    .map((line) => /`([^`]+)`/.exec(line)![1]);
  return {
    written: Object.fromEntries(table.map((file) => [file, existsSync(join(app, file))])),
    platformManifest: readFileSync(join(app, 'dist/staging/platform.k8s.yaml'), 'utf8'),
    goLive: checkEnvironment({ name: 'staging', production: false, terraformFile: join(app, 'cdktf.out/stacks/staging/cdk.tf.json'), manifestDir: join(app, 'dist/staging') }),
    loaded,
  };
}
