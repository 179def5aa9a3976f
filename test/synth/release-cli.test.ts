import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { RELEASE_SCHEMA, ReleaseRecordError } from '@ai-eval-platform/constructs';
import { environments } from '../../synth/environments';
import { main, run as runCli, type ReleaseCliContext } from '../../synth/release-cli';
import { releaseOf, withReleases } from '../../synth/releases';

/**
 * `npm run release -- <command>`, run in this process against a scratch folder of pinned records with the
 * repository's environments: what the release and GitOps workflows and an operator promoting a release see.
 * (release-workflow.test.ts runs the same commands through npm on a scratch git repository.)
 */

const work = mkdtempSync(join(tmpdir(), 'release-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let n = 0;

const BUILD = '111111111111.dkr.ecr.eu-west-1.amazonaws.com/ai-eval-platform-dev';
const sha = () => randomBytes(20).toString('hex');
const digest = () => `sha256:${randomBytes(32).toString('hex')}`;

function cli(options: { followed?: string } = {}) {
  const dir = mkdtempSync(join(work, `pinned-${n++}-`));
  const out: string[] = [];
  const err: string[] = [];
  const context: ReleaseCliContext = { environments, sources: { dir, followed: options.followed }, stdout: (t) => out.push(t), stderr: (t) => err.push(t) };
  const run = (...argv: string[]) => {
    out.length = 0;
    err.length = 0;
    const code = main(argv, context);
    return { code, stdout: out.join(''), stderr: err.join('') };
  };
  return { dir, run };
}

/** `record`, as the release workflow runs it after pushing both images. */
function recorded(options: { commit?: string; version?: string; registry?: string } = {}) {
  const commit = options.commit ?? sha();
  const images = { orchestrator: digest(), worker: digest() };
  const file = join(work, `release-${n++}.json`);
  const registry = options.registry ?? BUILD;
  const args = ['record', '--commit', commit, ...(options.version ? ['--version', options.version] : []), '--orchestrator', `${registry}/orchestrator:${commit}@${images.orchestrator}`, '--worker', `${registry}/worker@${images.worker}`, '--out', file];
  expect(cli().run(...args)).toEqual({ code: 0, stdout: '', stderr: '' });
  return { commit, images, file };
}

describe('record', () => {
  test('writes the release record: commit, version without its v, each image by repository and digest (a tag dropped)', () => {
    const { commit, images, file } = recorded({ version: 'v1.4.0' });
    const record = JSON.parse(readFileSync(file, 'utf8'));
    expect(record).toEqual({
      schema: RELEASE_SCHEMA,
      commit,
      version: '1.4.0',
      builtAt: expect.any(String),
      images: { orchestrator: { repository: `${BUILD}/orchestrator`, digest: images.orchestrator }, worker: { repository: `${BUILD}/worker`, digest: images.worker } },
    });
    expect(Date.now() - Date.parse(record.builtAt)).toBeGreaterThanOrEqual(0);
    expect(readFileSync(file, 'utf8').endsWith('}\n')).toBe(true);
  });

  test('a registry port stays, the tag after the path goes; a v inside a version stays', () => {
    const commit = sha();
    const worker = digest();
    const { stdout } = cli().run('record', '--commit', commit, '--version', '1.0.0-rev.1', '--orchestrator', `registry.example:5000/ai-eval/orchestrator:${commit}@${digest()}`, '--worker', `registry.example:5000/ai-eval/worker@${worker}`);
    const record = JSON.parse(stdout);
    expect([record.version, record.images.orchestrator.repository, record.images.worker]).toEqual(['1.0.0-rev.1', 'registry.example:5000/ai-eval/orchestrator', { repository: 'registry.example:5000/ai-eval/worker', digest: worker }]);
  });

  test('without --out, prints it; without --version, has none', () => {
    const commit = sha();
    const { code, stdout } = cli().run('record', '--commit', commit, '--orchestrator', `${BUILD}/orchestrator@${digest()}`, '--worker', `${BUILD}/worker@${digest()}`);
    expect(code).toBe(0);
    const record = JSON.parse(stdout);
    expect(record.commit).toBe(commit);
    expect(record).not.toHaveProperty('version');
  });

  test.each([
    ['an image without its digest', ['--worker', `${BUILD}/worker:abc`], '--worker', 'expected <repository>@sha256:<digest> (got "111111111111.dkr.ecr.eu-west-1.amazonaws.com/ai-eval-platform-dev/worker:abc")'],
    ['an image left out', [], '--worker', 'expected <repository>@sha256:<digest> (got null)'],
    ['a short commit', ['--commit', 'abc1234', '--worker', `${BUILD}/worker@${digest()}`], 'the release being recorded', 'commit: a full 40-character git commit SHA'],
    ['a digest that is not sha256', ['--worker', `${BUILD}/worker@md5:abc`], 'the release being recorded', 'images.worker.digest: sha256:<64 hex digits>'],
    ['a version that is not semantic', ['--version', 'latest', '--worker', `${BUILD}/worker@${digest()}`], 'the release being recorded', 'version: a semantic version such as 1.2.3'],
    ['a build without its commit', ['--commit', undefined, '--worker', `${BUILD}/worker@${digest()}`], 'the release being recorded', 'commit: Invalid input: expected string, received undefined'],
    ['a digest without its repository', ['--worker', `@${digest()}`], 'the release being recorded', 'images.worker.repository: a registry host and repository path, without tag or digest'],
  ])('refuses %s, naming it, and writes nothing', (_, extra, source, problem) => {
    const out = join(work, `refused-${n++}.json`);
    const base: Record<string, string> = { '--commit': sha(), '--orchestrator': `${BUILD}/orchestrator@${digest()}` };
    for (let i = 0; i < extra.length; i += 2) {
      if (extra[i + 1] === undefined) delete base[extra[i]!];
      else base[extra[i]!] = extra[i + 1]!;
    }
    const args = ['record', ...Object.entries(base).flat(), '--out', out];
    let error: unknown;
    try {
      cli().run(...args);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ReleaseRecordError);
    expect(error).toMatchObject({ source, problems: [problem] });
    expect(existsSync(out)).toBe(false);
  });

  test.each([
    ['a flag without its value', ['record', '--commit']],
    ['a value without its flag', ['record', 'abc']],
    ['a value without its flag, then another', ['record', 'abc', 'def']],
  ])('refuses %s with the usage', (_, argv) => {
    expect(() => cli().run(...argv)).toThrow(/^expected --<name> <value>, got "(--commit|abc)"\nnpm run release -- <command>/);
  });
});

describe('promote', () => {
  test('pins the environment to the record: one file, the record as it was; says from which release to which', () => {
    const { dir, run } = cli();
    const first = recorded({ version: '1.4.0' });
    const promoted = run('promote', 'prod', first.file);
    expect(promoted.code).toBe(0);
    expect(readdirSync(dir)).toEqual(['prod.json']);
    expect(JSON.parse(readFileSync(join(dir, 'prod.json'), 'utf8'))).toEqual(JSON.parse(readFileSync(first.file, 'utf8')));
    expect(promoted.stdout).toBe(`prod: no release -> ${first.commit}\nwrote ${relative(process.cwd(), join(dir, 'prod.json'))}: commit it; the GitOps publish copies the images and updates prod's manifests\n`);
    const second = recorded();
    expect(run('promote', 'prod', second.file).stdout).toMatch(new RegExp(`^prod: ${first.commit} -> ${second.commit}\n`));
    expect(JSON.parse(readFileSync(join(dir, 'prod.json'), 'utf8')).commit).toBe(second.commit);
  });

  test('refuses an environment that does not exist, listing those that do, and writes nothing', () => {
    const { dir, run } = cli();
    expect(() => run('promote', 'staging', recorded().file)).toThrow('unknown environment "staging": expected one of dev, prod');
    expect(readdirSync(dir)).toEqual([]);
  });

  test('refuses a record that is not one, naming its file and every problem, and keeps the pinned release', () => {
    const { dir, run } = cli();
    const good = recorded();
    run('promote', 'prod', good.file);
    const bad = join(work, `bad-${n++}.json`);
    writeFileSync(bad, JSON.stringify({ schema: RELEASE_SCHEMA, commit: 'HEAD', builtAt: 'yesterday', images: {} }));
    let error: unknown;
    try {
      run('promote', 'prod', bad);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ReleaseRecordError);
    expect((error as ReleaseRecordError).source).toBe(bad);
    expect((error as ReleaseRecordError).problems).toEqual(expect.arrayContaining([expect.stringMatching(/^commit: /), expect.stringMatching(/^builtAt: /), expect.stringMatching(/^images\.orchestrator: /)]));
    expect(() => run('promote', 'prod', join(work, 'missing.json'))).toThrow(new ReleaseRecordError(join(work, 'missing.json'), ['no such file']));
    writeFileSync(bad, '{ not json');
    expect(() => run('promote', 'prod', bad)).toThrow(/not JSON/);
    expect(JSON.parse(readFileSync(join(dir, 'prod.json'), 'utf8')).commit).toBe(good.commit);
  });
});

describe('copies and show', () => {
  test('a pinned environment needs its release copied, by digest, into its own repositories; nothing else does', () => {
    const { run } = cli();
    expect(run('copies')).toEqual({ code: 0, stdout: '', stderr: '' });
    const release = recorded({ version: '2.0.0' });
    run('promote', 'prod', release.file);
    const lines = run('copies').stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    const repositories = Object.fromEntries(run('repositories', 'prod').stdout.trimEnd().split('\n').map((l) => l.split('=')));
    expect(Object.keys(repositories)).toEqual(['orchestrator', 'worker']);
    expect(repositories.orchestrator).not.toContain('ai-eval-platform-dev');
    expect(lines).toEqual([
      `prod orchestrator ${BUILD}/orchestrator@${release.images.orchestrator} ${repositories.orchestrator}:${release.commit}`,
      `prod worker ${BUILD}/worker@${release.images.worker} ${repositories.worker}:${release.commit}`,
    ]);
  });

  test('a release already in the environment’s repositories needs no copy', () => {
    const { run } = cli();
    const prodRepository = run('repositories', 'prod').stdout.split('\n')[0].split('=')[1];
    const registry = prodRepository.slice(0, prodRepository.lastIndexOf('/'));
    run('promote', 'prod', recorded({ registry }).file);
    expect(run('copies').stdout).toBe('');
  });

  test('a followed release is never copied, even from another registry', () => {
    const { file } = recorded({ registry: 'elsewhere.example/builds' });
    expect(cli({ followed: file }).run('copies').stdout).toBe('');
  });

  test('dev, which follows main, is never copied, even with a followed release', () => {
    const { file } = recorded();
    const { run } = cli({ followed: file });
    expect(run('copies').stdout).toBe('');
    run('promote', 'dev', file);
    expect(run('copies').stdout).toBe('');
  });

  test('show: where each environment’s release comes from, and the image references its pods pull', () => {
    const followed = recorded({ version: '3.1.0' });
    const pinned = recorded();
    const { dir, run } = cli({ followed: followed.file });
    const before = run('show').stdout.split('\n');
    expect(before).toEqual(expect.arrayContaining([`dev: followed ${relative(process.cwd(), followed.file)} (version 3.1.0)`, 'prod: no release (placeholder tag)']));
    expect(before.find((l) => l.startsWith('  orchestrator: ') && l.includes(followed.commit))).toBe(`  orchestrator: ${BUILD}/orchestrator:${followed.commit}@${followed.images.orchestrator}`);
    expect(before.filter((l) => l.endsWith(':unreleased'))).toHaveLength(2);
    run('promote', 'prod', pinned.file);
    const after = run('show').stdout.split('\n');
    expect(after).toContain(`prod: pinned ${relative(process.cwd(), join(dir, 'prod.json'))}`);
    expect(after.filter((l) => l.includes(`:${pinned.commit}@${pinned.images.worker}`))).toEqual([expect.stringMatching(/^ {2}worker: [^ ]+\/worker:/)]);
    expect(after.filter((l) => l.endsWith(':unreleased'))).toHaveLength(0);
  });

  test('repositories: refuses an unknown environment', () => {
    expect(() => cli().run('repositories', 'qa')).toThrow('unknown environment "qa": expected one of dev, prod');
  });
});

test.each([[[]], [['deploy']], [['promote', 'prod']], [['promote', 'prod', 'a.json', 'b.json']], [['repositories']], [['repositories', 'dev', 'prod']]])('%j: the usage on stderr, exit 2, nothing written', (argv) => {
  const { dir, run } = cli();
  const { code, stdout, stderr } = run(...argv);
  expect({ code, stdout }).toEqual({ code: 2, stdout: '' });
  expect(stderr).toMatch(/^npm run release -- <command>\n {2}record --commit <sha>/);
  expect(stderr).toContain('\n  copies ');
  expect(readdirSync(dir)).toEqual([]);
});

test('without a folder given, the pinned records are the repository’s synth/releases, where the workflows read them', () => {
  const prod = environments.find((e) => e.name === 'prod')!;
  expect(releaseOf(prod)).toMatchObject({ source: 'pinned', file: join(__dirname, '../../synth/releases/prod.json') });
});

test('which release each environment runs: pinned first; production never follows main; the followed record otherwise', () => {
  const followed = recorded();
  const pinned = recorded();
  const { dir, run } = cli();
  const byName = (sources: Parameters<typeof withReleases>[1]) => Object.fromEntries(withReleases(environments, sources).map((e) => [e.name, e.images?.release?.commit ?? null]));
  expect(byName({ dir })).toEqual({ dev: null, prod: null });
  expect(byName({ dir, followed: followed.file })).toEqual({ dev: followed.commit, prod: null });
  run('promote', 'dev', pinned.file);
  expect(byName({ dir, followed: followed.file })).toEqual({ dev: pinned.commit, prod: null });
  expect(releaseOf({ name: 'dev', production: false }, { dir, followed: followed.file })).toMatchObject({ source: 'pinned', file: join(dir, 'dev.json') });
  expect(releaseOf({ name: 'qa', production: false }, { dir, followed: followed.file })).toMatchObject({ source: 'followed', file: followed.file });
  expect(releaseOf({ name: 'qa', production: true }, { dir, followed: followed.file })).toEqual({ source: 'none' });
  // RELEASE_RECORD is the followed record when none is given; an empty one is none.
  const saved = process.env.RELEASE_RECORD;
  try {
    process.env.RELEASE_RECORD = followed.file;
    expect(releaseOf({ name: 'qa', production: false }, { dir })).toMatchObject({ source: 'followed', release: { commit: followed.commit } });
    process.env.RELEASE_RECORD = '';
    expect(releaseOf({ name: 'qa', production: false }, { dir })).toEqual({ source: 'none' });
  } finally {
    if (saved === undefined) delete process.env.RELEASE_RECORD;
    else process.env.RELEASE_RECORD = saved;
  }
});

describe('as a program', () => {
  test('a refused input is one line on stderr, "release: <why>", exit 1, nothing on stdout', () => {
    const out: string[] = [];
    const err: string[] = [];
    const context: ReleaseCliContext = { environments, sources: { dir: mkdtempSync(join(work, 'program-')) }, stdout: (t) => out.push(t), stderr: (t) => err.push(t) };
    expect(runCli(['repositories', 'qa'], context)).toBe(1);
    expect([out, err]).toEqual([[], ['release: unknown environment "qa": expected one of dev, prod\n']]);
    expect(runCli(['repositories', 'dev'], context)).toBe(0);
    expect(out.join('')).toMatch(/^orchestrator=\S+\nworker=\S+\n$/);
  });

  test('by default it reads the repository’s environments and writes to the process’s stdout and stderr', () => {
    const stdout = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(runCli(['repositories', 'prod'])).toBe(0);
      expect(stdout.mock.calls.map(([text]) => String(text))).toEqual([expect.stringMatching(/^orchestrator=\S+\n$/), expect.stringMatching(/^worker=\S+\n$/)]);
      expect(runCli(['deploy'])).toBe(2);
      expect(stderr.mock.calls.map(([text]) => String(text))).toEqual([expect.stringMatching(/^npm run release -- <command>\n/)]);
      expect(stdout).toHaveBeenCalledTimes(2);
    } finally {
      stdout.mockRestore();
      stderr.mockRestore();
    }
  });
});
