import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { startFakeLlmServer, type FakeLlmServer } from '../support/fake-llm-server';
import { buildConstructsReadmeApp, installEvalctl, packWorkspace, pathWith, runEvalctlReadme } from '../support/readme-examples';

/**
 * `npm run test:node`: both packages, from their tarballs, under each Node.js line they support (the engines
 * field), each a Node binary from the npm registry (`node-linux-<arch>`), cached under ~/.cache: the evalctl
 * README's first suite, commands and API example, and the construct library README's complete app with its
 * go-live checks. And `npm ci` of this repository prints no engine warning on the Node versions the README
 * names for it (22 and 24); on 20 only the test-only schema packages that dropped it warn.
 */
const root = join(__dirname, '../..');
/** The versions tested besides the one running this test (Node 20 here). */
const REGISTRY_NODES = ['22.23.5', '24.22.3'];
/** Test-only devDependencies (the Kubernetes schema validators) whose latest releases declare Node >= 22. */
const NODE_22_ONLY = /^(@kubernetes-models\/[\w-]+|kubernetes-models)@/;

function nodeFromRegistry(version: string): string {
  const dir = join(homedir(), '.cache/ai-eval-platform/node', `${version}-${process.arch}`);
  const binary = join(dir, 'bin/node');
  if (existsSync(binary)) return binary;
  mkdirSync(dir, { recursive: true });
  const packed = execFileSync('npm', ['pack', `node-linux-${process.arch}@${version}`, '--pack-destination', dir, '--json'], { cwd: dir, encoding: 'utf8' });
  const tarball = join(dir, (JSON.parse(packed.slice(packed.indexOf('['))) as Array<{ filename: string }>)[0].filename);
  execFileSync('tar', ['xzf', tarball, '-C', dir, '--strip-components=1']);
  rmSync(tarball);
  return binary;
}

const engines = (folder: string) => (JSON.parse(readFileSync(join(root, folder, 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node;

test('the engines fields name the tested lines: 20, 22 and 24', () => {
  for (const folder of ['.', 'evalctl', 'constructs']) expect(engines(folder)).toBe('^20.9.0 || ^22 || ^24');
  expect(process.version).toMatch(/^v20\./);
});

describe.each([process.version.slice(1), ...REGISTRY_NODES])('Node %s', (version) => {
  const work = join(root, '.tmp', `node-${version}-${process.pid}`);
  let node = '';
  let server: FakeLlmServer;
  beforeAll(async () => {
    node = version === process.version.slice(1) ? process.execPath : nodeFromRegistry(version);
    expect(execFileSync(node, ['--version'], { encoding: 'utf8' }).trim()).toBe(`v${version}`);
    server = await startFakeLlmServer();
  }, 300_000);
  afterAll(async () => {
    await server.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('npm ci of this repository: engine warnings only where the README says', () => {
    const dry = spawnSync('npm', ['ci', '--dry-run', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: root, encoding: 'utf8', env: { ...process.env, PATH: pathWith(node) } });
    expect(dry.status).toBe(0);
    const warned = [...dry.stderr.matchAll(/EBADENGINE\s+package: '([^']+)'/g)].map((m) => m[1]);
    if (version.startsWith('20.')) expect(warned.filter((pkg) => !NODE_22_ONLY.test(pkg))).toEqual([]);
    else expect(warned).toEqual([]);
  });

  it("evalctl: installed from its tarball, the README's first suite, commands and API example", async () => {
    const app = join(work, 'evalctl-app');
    const { tarball } = packWorkspace('evalctl', work);
    const install = installEvalctl(app, tarball, node);
    expect(install.status).toBe(0);
    expect(install.stderr).not.toContain('EBADENGINE');
    const outcome = await runEvalctlReadme(app, server, node);
    expect(outcome.commands.map((c) => [c.status, c.stderr])).toEqual([[0, []], [0, []]]);
    expect(outcome.report.summary).toEqual({ faithfulness: 1, answer_relevancy: 1, icontains: 1 });
    expect(outcome.api).toMatchObject({ status: 0, stdout: 'exact_match 1, gate passed\n' });
  });

  it("the construct library: installed from its tarball, the README's complete app synthesizes and passes the go-live checks", () => {
    const { tarball } = packWorkspace('constructs', work);
    const outcome = buildConstructsReadmeApp(join(work, 'constructs-app'), tarball, node);
    expect(Object.entries(outcome.written).filter(([, written]) => !written)).toEqual([]);
    expect(outcome.goLive.checks.filter((c) => c.status !== 'pass').map((c) => c.id)).toEqual([]);
  });
});
