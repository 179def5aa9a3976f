import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { imageReference, RELEASE_IMAGES, resolveEnvironment, type EnvironmentInput } from '@ai-eval-platform/constructs';
import { environments } from './environments';
import { environmentNamed, makeReleaseRecord, pendingCopies, promote, withRelease, type ReleaseSources } from './releases';

/** `npm run release -- <command>`: release records, promotion and the image copies it needs (synth/releases.ts). */
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

/** What a command reads and where it writes: the repository's by default; a test's scratch folder otherwise. */
export interface ReleaseCliContext {
  readonly environments: readonly EnvironmentInput[];
  /** Pinned records (`synth/releases`) and the followed one (RELEASE_RECORD). */
  readonly sources: ReleaseSources;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

const repository: ReleaseCliContext = {
  environments,
  sources: {},
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

/** Runs one command; returns the exit code (2: usage). A refused input throws, naming what was wrong. */
export function main(argv: string[], context: ReleaseCliContext = repository): number {
  const { environments, sources, stdout: out } = context;
  const [command, ...rest] = argv;
  if (command === 'record') {
    const options = flags(rest);
    const record = makeReleaseRecord({ commit: options.commit, version: options.version, images: { orchestrator: options.orchestrator, worker: options.worker } });
    const text = `${JSON.stringify(record, null, 2)}\n`;
    if (options.out) {
      mkdirSync(dirname(resolve(options.out)), { recursive: true });
      writeFileSync(options.out, text);
    } else out(text);
    return 0;
  }
  if (command === 'promote' && rest.length === 2) {
    const { file, from, to } = promote(rest[0], rest[1], environments, sources.dir);
    out(`${rest[0]}: ${from ?? 'no release'} -> ${to}\nwrote ${relative(process.cwd(), file)}: commit it; the GitOps publish copies the images and updates ${rest[0]}'s manifests\n`);
    return 0;
  }
  if (command === 'repositories' && rest.length === 1) {
    const env = resolveEnvironment(environmentNamed(environments, rest[0]));
    for (const image of RELEASE_IMAGES) out(`${image}=${env.images[image].repository}\n`);
    return 0;
  }
  if (command === 'copies') {
    for (const copy of pendingCopies(environments, sources)) out(`${copy.env} ${copy.image} ${copy.from} ${copy.to}\n`);
    return 0;
  }
  if (command === 'show') {
    for (const unreleased of environments) {
      const { release, source, file, input } = withRelease(unreleased, sources);
      const env = resolveEnvironment(input);
      out(`${env.name}: ${source === 'none' ? 'no release (placeholder tag)' : `${source} ${relative(process.cwd(), file!)}${release?.version ? ` (version ${release.version})` : ''}`}\n`);
      for (const image of RELEASE_IMAGES) out(`  ${image}: ${imageReference(env.images[image])}\n`);
    }
    return 0;
  }
  context.stderr(`${USAGE}\n`);
  return 2;
}

/** The command line: `main`, with a refused input printed on stderr as `release: <why>` and exit code 1. */
export function run(argv: string[], context: ReleaseCliContext = repository): number {
  try {
    return main(argv, context);
  } catch (error) {
    context.stderr(`release: ${(error as Error).message}\n`);
    return 1;
  }
}

// Stryker disable next-line all: run as a program only, which release-workflow.test.ts does through npm, in a child process whose coverage Stryker cannot see.
if (require.main === module) process.exitCode = run(process.argv.slice(2));
