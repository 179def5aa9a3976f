import { IMAGE_DIGEST, parseReleaseRecord, RELEASE_SCHEMA, ReleaseRecordError, validateReleaseRecord } from '@ai-eval-platform/constructs';

/**
 * The release record's format, field by field: what a record written by the release workflow must hold for a
 * promotion to pin it, and the error that names a bad one. (release-cli.test.ts writes and promotes records
 * through the CLI.)
 */

const hex = (n: number) => 'a1b2c3d4e5f6'.repeat(10).slice(0, n);
const DIGEST = `sha256:${hex(64)}`;
const record = (change: Record<string, unknown> = {}) => ({
  schema: RELEASE_SCHEMA,
  commit: hex(40),
  builtAt: '2026-12-01T10:00:00Z',
  images: { orchestrator: { repository: 'registry.example/ai-eval/orchestrator', digest: DIGEST }, worker: { repository: 'registry.example/ai-eval/worker', digest: DIGEST } },
  ...change,
});
const worker = (change: Record<string, string>) => record({ images: { ...record().images, worker: { ...record().images.worker, ...change } } });
/** The problems a record is refused with, or [] when it is accepted. */
const problems = (value: unknown): readonly string[] => {
  try {
    validateReleaseRecord(value, 'r.json');
    return [];
  } catch (error) {
    if (!(error instanceof ReleaseRecordError)) throw error;
    return error.problems;
  }
};

test('a record written by an earlier build, as stored in synth/releases, still reads', () => {
  const stored = `{\n  "schema": "ai-eval-platform/release/v1",\n  "commit": "${hex(40)}",\n  "version": "1.4.0",\n  "builtAt": "2026-12-01T10:00:00.000Z",\n  "images": {\n    "orchestrator": { "repository": "111111111111.dkr.ecr.eu-west-1.amazonaws.com/ai-eval-platform-dev/orchestrator", "digest": "${DIGEST}" },\n    "worker": { "repository": "111111111111.dkr.ecr.eu-west-1.amazonaws.com/ai-eval-platform-dev/worker", "digest": "${DIGEST}" }\n  }\n}\n`;
  expect(parseReleaseRecord(stored, 'synth/releases/prod.json')).toMatchObject({ schema: 'ai-eval-platform/release/v1', version: '1.4.0' });
  expect(problems({ ...JSON.parse(stored), schema: 'ai-eval-platform/release/v2' })).toEqual([expect.stringMatching(/^schema: /)]);
});

describe('fields', () => {
  test.each([
    ['a digest with a prefix', worker({ digest: `x${DIGEST}` }), 'images.worker.digest: sha256:<64 hex digits>'],
    ['a digest with a suffix', worker({ digest: `${DIGEST}0` }), 'images.worker.digest: sha256:<64 hex digits>'],
    ['a repository with capitals before its host', worker({ repository: 'Registry.example/ai-eval/worker' }), 'images.worker.repository: a registry host and repository path, without tag or digest'],
    ['a repository with a tag', worker({ repository: 'registry.example/ai-eval/worker:1.2.3' }), 'images.worker.repository: a registry host and repository path, without tag or digest'],
    ['a repository with a port that is not a number', worker({ repository: 'registry.example:https/ai-eval/worker' }), 'images.worker.repository: a registry host and repository path, without tag or digest'],
    ['a commit with a prefix', record({ commit: `x${hex(40)}` }), 'commit: a full 40-character git commit SHA'],
    ['a commit with a suffix', record({ commit: `${hex(40)}0` }), 'commit: a full 40-character git commit SHA'],
    ['a version with its v', record({ version: 'v1.2.3' }), 'version: a semantic version such as 1.2.3'],
    ['a version with a suffix', record({ version: '1.2.3.4' }), 'version: a semantic version such as 1.2.3'],
    ['a version with an empty pre-release', record({ version: '1.2.3-' }), 'version: a semantic version such as 1.2.3'],
    ['a build time without a zone', record({ builtAt: '2026-12-01T10:00:00' }), expect.stringMatching(/^builtAt: /)],
  ])('refuses %s', (_, value, problem) => {
    expect(problems(value)).toEqual([problem]);
  });

  test.each([
    ['a registry with a port', worker({ repository: 'registry.example:5000/ai-eval/worker' })],
    ['versions of several digits', record({ version: '10.20.30' })],
    ['a pre-release version', record({ version: '1.2.3-rc.1' })],
    ['a build time with an offset', record({ builtAt: '2026-12-01T12:00:00+02:00' })],
  ])('accepts %s', (_, value) => {
    expect(problems(value)).toEqual([]);
  });

  test('IMAGE_DIGEST is a whole digest, nothing before or after', () => {
    expect([DIGEST, `x${DIGEST}`, `${DIGEST}x`, `sha256:${hex(63)}`].map((d) => IMAGE_DIGEST.test(d))).toEqual([true, false, false, false]);
  });
});

test('the error names the record and lists every problem, one per line; what is not an object is named as the root', () => {
  let error: unknown;
  try {
    validateReleaseRecord(record({ commit: 'HEAD', version: 'latest' }), 'synth/releases/prod.json');
  } catch (caught) {
    error = caught;
  }
  expect(error).toBeInstanceOf(ReleaseRecordError);
  expect((error as Error).name).toBe('ReleaseRecordError');
  expect((error as Error).message).toBe('invalid release record synth/releases/prod.json:\n  - commit: a full 40-character git commit SHA\n  - version: a semantic version such as 1.2.3');
  expect(problems('a string')).toEqual([expect.stringMatching(/^\(root\): /)]);
});
