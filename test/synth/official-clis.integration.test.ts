import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * `npx cdktf synth` and `npx cdk8s synth`, as an operator types them, offline: the project's .npmrc turns the
 * CLIs' telemetry and update checks off, so neither prints an error, a warning or a stack trace, and both
 * write what `npm run synth` writes. They run in a scratch folder below the repository (the repository's
 * .npmrc and node_modules apply; the outputs land in the scratch folder) with the project's app commands.
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

  it('npx cdk8s synth: every environment, and no stack trace or update notice', async () => {
    const { stdout, stderr } = await exec('npx', ['--no-install', 'cdk8s', 'synth'], { cwd: work, env });
    expect(noise(stdout + stderr)).toEqual([]);
    expect(stderr).toBe('');
    for (const file of ['dev/platform.k8s.yaml', 'prod/cluster-addons.k8s.yaml']) expect(existsSync(join(work, 'dist', file))).toBe(true);
  });
});
