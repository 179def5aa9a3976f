import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * `npx cdktf synth` and `npx cdk8s synth`, as an operator types them, offline: in this checkout npx runs them
 * through the root package's bins (bin/cdktf.js, bin/cdk8s.js), which turn the CLIs' telemetry and update
 * checks off, so neither prints an error, a warning or a stack trace, and both write what `npm run synth`
 * writes. They run in a scratch folder below the repository (its package and node_modules apply; the outputs
 * land in the scratch folder) with the project's app commands.
 */
const root = join(__dirname, '../..');
const exec = promisify(execFile);

describe('the official CLIs in this project (integration)', () => {
  const work = join(root, '.tmp', `official-clis-${process.pid}`);
  // The caller's environment, as an operator's shell has it, but for the switches under test.
  const env: NodeJS.ProcessEnv = { ...process.env, FORCE_COLOR: '0', CI: '' };
  delete env.CHECKPOINT_DISABLE;
  delete env.CDK8S_CHECK_UPGRADE;
  delete env.NODE_OPTIONS;
  for (const key of Object.keys(env)) if (key.startsWith('npm_')) delete env[key];
  // This machine's image names a terraform CLI configuration file that does not exist; terraform warns about
  // that on every call, and cdktf relays the warning as an error. It is the machine's, not the project's.
  if (env.TF_CLI_CONFIG_FILE && !existsSync(env.TF_CLI_CONFIG_FILE)) delete env.TF_CLI_CONFIG_FILE;

  beforeAll(() => {
    mkdirSync(work, { recursive: true });
    const app = (config: string) => config.replace('node scripts/run-synth.js', `node ${join(root, 'scripts/run-synth.js')}`);
    writeFileSync(join(work, 'cdktf.json'), app(readFileSync(join(root, 'cdktf.json'), 'utf8')));
    writeFileSync(join(work, 'cdk8s.yaml'), app(readFileSync(join(root, 'cdk8s.yaml'), 'utf8')).replace(/^imports:[\s\S]*$/m, ''));
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  const noise = (output: string) => output.split('\n').filter((line) => /error|warn|ENOTFOUND|new version|^\s+at /i.test(line));

  it('npx cdktf synth: every stack, and no error or warning line', async () => {
    const { stdout, stderr } = await exec('npx', ['--no-install', 'cdktf', 'synth'], { cwd: work, env, maxBuffer: 32 * 1024 * 1024 });
    expect(noise(stdout + stderr)).toEqual([]);
    expect(stdout).toMatch(/Generated Terraform code for the stacks: bootstrap-111111111111,\s+bootstrap-222222222222, dev, prod/);
    for (const stack of ['dev', 'prod']) expect(existsSync(join(work, `cdktf.out/stacks/${stack}/cdk.tf.json`))).toBe(true);
  });

  it("the wrapped CLIs are the official ones: their version, their exit code, and a caller's own switch wins", async () => {
    const cdktfVersion = (JSON.parse(readFileSync(join(root, 'node_modules/cdktf-cli/package.json'), 'utf8')) as { version: string }).version;
    expect((await exec('npx', ['--no-install', 'cdktf', '--version'], { cwd: work, env })).stdout.trim()).toBe(cdktfVersion);
    const failed = await exec('npx', ['--no-install', 'cdktf', 'no-such-command'], { cwd: work, env }).then(() => 0, (error: { code: number }) => error.code);
    expect(failed).toBe(1);
    // The caller asked for the update check: the wrapper leaves it on (and it is what prints the notice here).
    const asked = await exec('npx', ['--no-install', 'cdk8s', 'synth'], { cwd: work, env: { ...env, CDK8S_CHECK_UPGRADE: 'true' } }).then((r) => r.stderr, (e: { stderr: string }) => e.stderr);
    expect(asked).toContain('of cdk8s-cli is available');
  });

  it('npx cdk8s synth: every environment, and no stack trace or update notice', async () => {
    const { stdout, stderr } = await exec('npx', ['--no-install', 'cdk8s', 'synth'], { cwd: work, env });
    expect(noise(stdout + stderr)).toEqual([]);
    expect(stderr).toBe('');
    for (const file of ['dev/platform.k8s.yaml', 'prod/cluster-addons.k8s.yaml']) expect(existsSync(join(work, 'dist', file))).toBe(true);
  });
});
