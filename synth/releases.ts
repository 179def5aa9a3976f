import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import {
  imageReference,
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

/** The environments with their releases filled in. */
export function withReleases(envs: readonly EnvironmentInput[], sources: ReleaseSources = {}): EnvironmentInput[] {
  return envs.map((env) => {
    const { release } = releaseOf(env, sources);
    return release ? { ...env, images: { ...env.images, release } } : env;
  });
}

/** The release record the release workflow writes after pushing both images. */
export function makeReleaseRecord(options: { commit: string; version?: string; images: Record<string, string>; builtAt?: string }): ReleaseRecord {
  const images: Record<string, { repository: string; digest: string }> = {};
  for (const image of RELEASE_IMAGES) {
    const reference = options.images[image];
    const at = reference?.lastIndexOf('@') ?? -1;
    if (!reference || at < 0) throw new ReleaseRecordError('--' + image, [`expected <repository>@sha256:<digest> (got ${JSON.stringify(reference ?? null)})`]);
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
  if (!envs.some((env) => env.name === envName)) {
    throw new Error(`unknown environment "${envName}": expected one of ${envs.map((e) => e.name).join(', ')}`);
  }
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
  for (const input of envs) {
    const { release, source } = releaseOf(input, sources);
    if (!release || source !== 'pinned') continue;
    const env = resolveEnvironment({ ...input, images: { ...input.images, release } });
    for (const image of RELEASE_IMAGES) {
      const from = release.images[image];
      const target = env.images[image];
      if (from.repository === target.repository) continue;
      copies.push({ env: env.name, image, from: `${from.repository}@${from.digest}`, to: `${target.repository}:${target.tag}`, digest: from.digest });
    }
  }
  return copies;
}

const USAGE = `npm run release -- <command>
  record --commit <sha> [--version <v>] --orchestrator <repo>@<digest> --worker <repo>@<digest> [--out <file>]
                       write the release record of a build (the release workflow does, after pushing)
  promote <env> <record file>
                       pin <env> to that release: writes synth/releases/<env>.json, the promotion commit
  repositories <env>   <image>=<repository URL> per line, the repositories a build for <env> pushes to
  copies               the image copies pinned environments need, one per line: <env> <image> <from> <to>
  show                 each environment's image references and where its release comes from`;

function flags(args: string[]): Record<string, string> {
  const parsed: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const flag = args[i];
    if (!flag.startsWith('--') || i + 1 >= args.length) throw new Error(`expected --<name> <value>, got ${JSON.stringify(flag)}\n${USAGE}`);
    parsed[flag.slice(2)] = args[++i];
  }
  return parsed;
}

export function main(argv: string[]): number {
  // Loaded here, not at the top: `synth/environments` imports this module.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { environments } = require('./environments') as typeof import('./environments');
  const [command, ...rest] = argv;
  if (command === 'record') {
    const options = flags(rest);
    const record = makeReleaseRecord({ commit: options.commit ?? '', version: options.version, images: { orchestrator: options.orchestrator, worker: options.worker } });
    const text = `${JSON.stringify(record, null, 2)}\n`;
    if (options.out) {
      mkdirSync(dirname(resolve(options.out)), { recursive: true });
      writeFileSync(options.out, text);
    } else process.stdout.write(text);
    return 0;
  }
  if (command === 'promote' && rest.length === 2) {
    const { file, from, to } = promote(rest[0], rest[1], environments);
    process.stdout.write(`${rest[0]}: ${from ?? 'no release'} -> ${to}\nwrote ${relative(process.cwd(), file)}: commit it; the GitOps publish copies the images and updates ${rest[0]}'s manifests\n`);
    return 0;
  }
  if (command === 'repositories' && rest.length === 1) {
    const input = environments.find((env) => env.name === rest[0]);
    if (!input) throw new Error(`unknown environment "${rest[0]}": expected one of ${environments.map((e) => e.name).join(', ')}`);
    const env = resolveEnvironment(input);
    for (const image of RELEASE_IMAGES) process.stdout.write(`${image}=${env.images[image].repository}\n`);
    return 0;
  }
  if (command === 'copies') {
    for (const copy of pendingCopies(environments)) process.stdout.write(`${copy.env} ${copy.image} ${copy.from} ${copy.to}\n`);
    return 0;
  }
  if (command === 'show') {
    for (const input of environments) {
      const { release, source, file } = releaseOf(input);
      const env = resolveEnvironment(release ? { ...input, images: { ...input.images, release } } : input);
      process.stdout.write(`${env.name}: ${source === 'none' ? 'no release (placeholder tag)' : `${source} ${relative(process.cwd(), file!)}${release?.version ? ` (version ${release.version})` : ''}`}\n`);
      for (const image of RELEASE_IMAGES) process.stdout.write(`  ${image}: ${imageReference(env.images[image])}\n`);
    }
    return 0;
  }
  process.stderr.write(`${USAGE}\n`);
  return 2;
}

if (require.main === module) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`release: ${(error as Error).message}\n`);
    process.exitCode = 1;
  }
}
