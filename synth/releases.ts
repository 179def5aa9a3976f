import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  parseReleaseRecord,
  RELEASE_IMAGES,
  RELEASE_SCHEMA,
  ReleaseRecordError,
  resolveEnvironment,
  validateReleaseRecord,
  type EnvironmentInput,
  type ReleaseRecord,
} from '@ai-eval-platform/constructs';

/**
 * Which release each environment runs.
 *
 * - An environment with a record in `synth/releases/<env>.json` is **pinned**: it runs that release until a
 *   reviewed commit replaces the record (`npm run release -- promote <env> <record>`).
 * - Every other environment that is not production **follows main**: the GitOps publish synthesizes it with
 *   the record of the build that just passed (`RELEASE_RECORD=<file>`, written by the release workflow).
 * - Without either (a local synth), its images carry the placeholder tag `unreleased` and no digest, which the
 *   go-live checks refuse in production.
 */
export const RELEASES_DIR = resolve(__dirname, 'releases');

export interface ReleaseSources {
  /** Folder of the pinned records. @default synth/releases */
  readonly dir?: string;
  /** The release the environments that follow main run: a record file. @default process.env.RELEASE_RECORD */
  readonly followed?: string;
}

export function readReleaseRecord(file: string): ReleaseRecord {
  if (!existsSync(file)) throw new ReleaseRecordError(file, ['no such file']);
  return parseReleaseRecord(readFileSync(file, 'utf8'), file);
}

/** The release `env` runs, and why: pinned, followed, or none. A production environment never follows main. */
export function releaseOf(env: Pick<EnvironmentInput, 'name' | 'production'>, sources: ReleaseSources = {}): { release?: ReleaseRecord; source: 'pinned' | 'followed' | 'none'; file?: string } {
  const pinned = join(sources.dir ?? RELEASES_DIR, `${env.name}.json`);
  if (existsSync(pinned)) return { release: readReleaseRecord(pinned), source: 'pinned', file: pinned };
  if (env.production) return { source: 'none' };
  const followed = sources.followed ?? (process.env.RELEASE_RECORD || undefined);
  if (followed) return { release: readReleaseRecord(followed), source: 'followed', file: followed };
  return { source: 'none' };
}

/** `input` with the release it runs filled in, and where that release came from. */
export function withRelease(input: EnvironmentInput, sources: ReleaseSources = {}): ReturnType<typeof releaseOf> & { input: EnvironmentInput } {
  const found = releaseOf(input, sources);
  return { ...found, input: found.release ? { ...input, images: { ...input.images, release: found.release } } : input };
}

/** The environments with their releases filled in. */
export function withReleases(envs: readonly EnvironmentInput[], sources: ReleaseSources = {}): EnvironmentInput[] {
  return envs.map((env) => withRelease(env, sources).input);
}

/** The release record the release workflow writes after pushing both images. */
export function makeReleaseRecord(options: { commit?: string; version?: string; images: Record<string, string>; builtAt?: string }): ReleaseRecord {
  const images: Record<string, { repository: string; digest: string }> = {};
  for (const image of RELEASE_IMAGES) {
    const reference = options.images[image];
    const at = reference === undefined ? -1 : reference.lastIndexOf('@');
    if (at < 0) throw new ReleaseRecordError('--' + image, [`expected <repository>@sha256:<digest> (got ${JSON.stringify(reference ?? null)})`]);
    images[image] = { repository: reference.slice(0, at).replace(/:[^/:]+$/, ''), digest: reference.slice(at + 1) };
  }
  return validateReleaseRecord(
    {
      schema: RELEASE_SCHEMA,
      commit: options.commit,
      ...(options.version ? { version: options.version.replace(/^v/, '') } : {}),
      builtAt: options.builtAt ?? new Date().toISOString(),
      images,
    },
    'the release being recorded',
  );
}

/** Pins `envName` to the release in `recordFile`: the one file a promotion commit changes. */
export function promote(envName: string, recordFile: string, envs: readonly EnvironmentInput[], dir = RELEASES_DIR): { file: string; from?: string; to: string } {
  environmentNamed(envs, envName);
  const record = readReleaseRecord(recordFile);
  const file = join(dir, `${envName}.json`);
  const from = existsSync(file) ? readReleaseRecord(file).commit : undefined;
  mkdirSync(dir, { recursive: true });
  writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
  return { file, from, to: record.commit };
}

/**
 * The image copies a promotion needs: each pinned environment's images, from the registry the build pushed
 * them to, into that environment's own repositories, same tag and digest (`skopeo copy --preserve-digests`).
 */
export function pendingCopies(envs: readonly EnvironmentInput[], sources: ReleaseSources = {}): Array<{ env: string; image: string; from: string; to: string; digest: string }> {
  const copies = [];
  for (const pinned of envs) {
    const { release, source, input } = withRelease(pinned, sources);
    if (!release || source !== 'pinned') continue;
    const env = resolveEnvironment(input);
    for (const image of RELEASE_IMAGES) {
      const from = release.images[image];
      const target = env.images[image];
      if (from.repository === target.repository) continue;
      copies.push({ env: env.name, image, from: `${from.repository}@${from.digest}`, to: `${target.repository}:${target.tag}`, digest: from.digest });
    }
  }
  return copies;
}

/** The environment named `name`, or an error that lists the names there are. */
export function environmentNamed(envs: readonly EnvironmentInput[], name: string): EnvironmentInput {
  const found = envs.find((env) => env.name === name);
  if (!found) throw new Error(`unknown environment "${name}": expected one of ${envs.map((e) => e.name).join(', ')}`);
  return found;
}
