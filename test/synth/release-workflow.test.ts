import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';

/**
 * A release promoted end to end, the way the workflows and an operator type it, on a scratch git repository
 * holding this repository's synth/ and constructs: the release workflow's `repositories` and `record`, the
 * operator's `promote` and its commit, then the GitOps workflow's own `copies` step and its "Copy by digest"
 * script (read from gitops.yml) against a recording `skopeo`, and `show`.
 */

const ROOT = join(__dirname, '../..');
const scratch = mkdtempSync(join(tmpdir(), 'release-repo-'));
const bin = join(scratch, '.fake-bin');
const skopeoLog = join(bin, 'skopeo.log');
const gitEnv = { GIT_AUTHOR_NAME: 'release test', GIT_AUTHOR_EMAIL: 'release@test.invalid', GIT_COMMITTER_NAME: 'release test', GIT_COMMITTER_EMAIL: 'release@test.invalid' };
const git = (...args: string[]) => execFileSync('git', args, { cwd: scratch, env: { ...process.env, ...gitEnv }, encoding: 'utf8' });

beforeAll(() => {
  for (const path of ['synth', 'constructs/src', 'constructs/package.json', 'tsconfig.json', 'package.json']) cpSync(join(ROOT, path), join(scratch, path), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(scratch, 'node_modules'));
  writeFileSync(join(scratch, '.gitignore'), 'node_modules\n.fake-bin\n*.txt\nrelease.json\n');
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('commit', '-q', '-m', 'scratch copy');
  // A skopeo that records what it is asked and holds the images copied so far; an aws that prints a password.
  mkdirSync(bin);
  writeFileSync(join(bin, 'aws'), '#!/bin/sh\necho not-a-real-password\n');
  writeFileSync(
    join(bin, 'skopeo'),
    `#!/bin/sh\necho "$*" >> "${skopeoLog}"\ncase "$1" in\n  login) cat > /dev/null ;;\n  inspect) grep -qxF "$3" "${skopeoLog}.held" 2>/dev/null ;;\n  copy) to="$4"; echo "\${to%:*}@\${3##*@}" >> "${skopeoLog}.held" ;;\nesac\n`,
  );
  chmodSync(join(bin, 'aws'), 0o755);
  chmodSync(join(bin, 'skopeo'), 0o755);
}, 60_000);
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function release(args: string[], env: NodeJS.ProcessEnv = {}) {
  const result = spawnSync('npm', ['run', '--silent', 'release', '--', ...args], { cwd: scratch, env: { ...process.env, RELEASE_RECORD: '', ...env }, encoding: 'utf8' });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The `run:` script of a step of gitops.yml's `promote` job. */
function gitopsStep(name: string): string {
  const workflow = parse(readFileSync(join(ROOT, '.github/workflows/gitops.yml'), 'utf8')) as { jobs: Record<string, { steps: { name?: string; run?: string }[] }> };
  const step = Object.values(workflow.jobs).flatMap((job) => job.steps).find((s) => s.name === name);
  expect(step?.run).toEqual(expect.any(String));
  return step!.run!;
}

test('repositories → record → promote (one file, committed) → the GitOps copies by digest → show', () => {
  const repositories = (env: string) => {
    const { code, stdout } = release(['repositories', env]);
    expect(code).toBe(0);
    return Object.fromEntries(stdout.trimEnd().split('\n').map((line) => line.split('=')));
  };
  const dev = repositories('dev');
  const prod = repositories('prod');
  expect(Object.keys(dev)).toEqual(['orchestrator', 'worker']);
  expect(dev.worker).not.toBe(prod.worker);

  // The release workflow: a build of main pushed to dev's repositories, then recorded.
  const commit = randomBytes(20).toString('hex');
  const digests = { orchestrator: `sha256:${randomBytes(32).toString('hex')}`, worker: `sha256:${randomBytes(32).toString('hex')}` };
  const recorded = release(['record', '--commit', commit, '--version', 'v1.5.0', '--orchestrator', `${dev.orchestrator}:${commit}@${digests.orchestrator}`, '--worker', `${dev.worker}:${commit}@${digests.worker}`, '--out', 'release.json']);
  expect(recorded).toMatchObject({ code: 0, stderr: '' });

  // The operator promotes it: one file changes, and it is what a reviewer reads in the commit.
  const previous = JSON.parse(readFileSync(join(ROOT, 'synth/releases/prod.json'), 'utf8')).commit;
  const promoted = release(['promote', 'prod', 'release.json']);
  expect(promoted).toMatchObject({ code: 0, stderr: '' });
  expect(promoted.stdout.split('\n')[0]).toBe(`prod: ${previous} -> ${commit}`);
  expect(git('status', '--porcelain')).toBe(' M synth/releases/prod.json\n');
  git('commit', '-q', '-am', `Promote ${commit} to prod`);

  // The GitOps workflow on the promotion commit: its copies step, then its copy script with a recording skopeo.
  const copiesStep = gitopsStep('Copies the pinned releases need');
  expect(copiesStep).toContain('npm run --silent release -- copies > copies.txt');
  const listed = release(['copies']);
  expect(listed.code).toBe(0);
  writeFileSync(join(scratch, 'copies.txt'), listed.stdout);
  const copy = () => execFileSync('bash', ['-e', '-c', gitopsStep('Copy by digest (never rebuilt)')], { cwd: scratch, env: { ...process.env, PATH: `${bin}:${process.env.PATH}` }, encoding: 'utf8' });
  expect(copy().trimEnd().split('\n')).toEqual([`prod orchestrator: copied ${digests.orchestrator}`, `prod worker: copied ${digests.worker}`]);
  const calls = readFileSync(skopeoLog, 'utf8').trimEnd().split('\n');
  const prodHost = prod.worker.split('/')[0];
  expect(calls.filter((c) => c.startsWith('login'))).toEqual([`login --username AWS --password-stdin ${prodHost}`]);
  expect(calls.filter((c) => c.startsWith('copy'))).toEqual([
    `copy --preserve-digests docker://${dev.orchestrator}@${digests.orchestrator} docker://${prod.orchestrator}:${commit}`,
    `copy --preserve-digests docker://${dev.worker}@${digests.worker} docker://${prod.worker}:${commit}`,
  ]);
  // Run again (a retried publish): nothing is copied twice.
  expect(copy().trimEnd().split('\n')).toEqual([`prod orchestrator: ${digests.orchestrator} is there already`, `prod worker: ${digests.worker} is there already`]);
  expect(readFileSync(skopeoLog, 'utf8').split('\n').filter((c) => c.startsWith('copy'))).toHaveLength(2);

  // show, as the publish prints it: dev follows the build, prod runs what was promoted, both by digest.
  const shown = release(['show'], { RELEASE_RECORD: 'release.json' });
  expect(shown.code).toBe(0);
  expect(shown.stdout.split('\n')).toEqual([
    'dev: followed release.json (version 1.5.0)',
    `  orchestrator: ${dev.orchestrator}:${commit}@${digests.orchestrator}`,
    `  worker: ${dev.worker}:${commit}@${digests.worker}`,
    'prod: pinned synth/releases/prod.json (version 1.5.0)',
    `  orchestrator: ${prod.orchestrator}:${commit}@${digests.orchestrator}`,
    `  worker: ${prod.worker}:${commit}@${digests.worker}`,
    '',
  ]);
}, 120_000);

test('refusals exit non-zero with the reason on stderr and change nothing', () => {
  const before = git('rev-parse', 'HEAD:synth/releases/prod.json');
  const unknown = release(['promote', 'staging', 'release.json']);
  expect(unknown).toMatchObject({ code: 1, stdout: '', stderr: 'release: unknown environment "staging": expected one of dev, prod\n' });
  writeFileSync(join(scratch, 'bad.txt'), '{"schema": "ai-eval-platform/release/v1"}');
  const invalid = release(['promote', 'prod', 'bad.txt']);
  expect(invalid.code).toBe(1);
  expect(invalid.stderr).toMatch(/^release: invalid release record bad\.txt:\n {2}- commit: /);
  const usage = release(['publish']);
  expect(usage.code).toBe(2);
  expect(usage.stderr).toMatch(/^npm run release -- <command>/);
  expect(git('status', '--porcelain')).toBe('');
  expect(git('rev-parse', 'HEAD:synth/releases/prod.json')).toBe(before);
}, 60_000);
