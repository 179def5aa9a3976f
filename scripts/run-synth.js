#!/usr/bin/env node
'use strict';
/**
 * Runs a synth entry (`synth/all.ts`, `terraform.ts`, `k8s.ts`, `golive.ts`) as compiled JavaScript, without a
 * runtime transpiler: `npm run synth`, `cdktf synth` and `cdk8s synth` go through here.
 *
 * The entry and everything it imports from this repository (synth/, constructs/src/, src/) are bundled by
 * esbuild into node_modules/.cache/ai-eval-platform/synth/<entry>.js; npm packages stay `require`d from
 * node_modules. The bundle is rebuilt when any of its inputs changed (size or modification time, from
 * esbuild's own list of inputs), when this script or esbuild changed, or when the checkout moved; otherwise
 * it is run as it is. Each module behaves as it does from source: `__dirname` and `__filename` are its
 * source's, `require.main === module` holds for the entry only, and names are kept (`keepNames`), so the
 * output is byte for byte what `tsx synth/<entry>.ts` writes (test/synth/synth.integration.test.ts).
 */
const { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } = require('node:fs');
const { dirname, join, relative, resolve } = require('node:path');

const root = resolve(__dirname, '..');

function usage(message) {
  process.stderr.write(`run-synth: ${message}\nUsage: node scripts/run-synth.js synth/<entry>.ts [args…]\n`);
  process.exit(2);
}

/** What the bundle depends on besides its inputs: this script, esbuild's version, the checkout's place. */
function buildKey() {
  const self = statSync(__filename);
  return JSON.stringify({ script: [self.size, self.mtimeMs], esbuild: require('esbuild/package.json').version, root });
}

/** True when the stamp lists every input unchanged. */
function fresh(stampFile, bundle) {
  let stamp;
  try {
    stamp = JSON.parse(readFileSync(stampFile, 'utf8'));
    statSync(bundle);
  } catch {
    return false;
  }
  if (stamp.key !== buildKey()) return false;
  for (const [file, size, mtimeMs] of stamp.inputs) {
    try {
      const stat = statSync(join(root, file));
      if (stat.size !== size || stat.mtimeMs !== mtimeMs) return false;
    } catch {
      return false;
    }
  }
  return true;
}

/** Bundles the entry; written to temporary names and renamed, so concurrent runs never read half a file. */
async function build(entry, bundle, stampFile) {
  const esbuild = require('esbuild');
  const source = /\.[cm]?ts$/;
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outfile: bundle,
    write: false,
    keepNames: true,
    // npm packages are required at run time; the workspace's own sources are bundled through tsconfig paths.
    packages: 'external',
    tsconfig: join(root, 'tsconfig.json'),
    metafile: true,
    logLevel: 'error',
    plugins: [
      {
        name: 'as-from-source',
        setup(context) {
          context.onLoad({ filter: source }, (args) => {
            const text = readFileSync(args.path, 'utf8')
              .replace(/\brequire\.main === module\b/g, args.path === entry ? 'true' : 'false')
              .replace(/\b__dirname\b/g, JSON.stringify(dirname(args.path)))
              .replace(/\b__filename\b/g, JSON.stringify(args.path));
            return { contents: text, loader: 'ts', resolveDir: dirname(args.path) };
          });
        },
      },
    ],
  });
  const inputs = Object.keys(result.metafile.inputs)
    .filter((file) => !file.startsWith('node_modules/'))
    .map((file) => {
      const path = resolve(root, file);
      const stat = statSync(path);
      return [relative(root, path), stat.size, stat.mtimeMs];
    });
  mkdirSync(dirname(bundle), { recursive: true });
  const temp = `${bundle}.${process.pid}.tmp`;
  writeFileSync(temp, result.outputFiles[0].contents);
  renameSync(temp, bundle);
  writeFileSync(`${stampFile}.${process.pid}.tmp`, JSON.stringify({ key: buildKey(), inputs }));
  renameSync(`${stampFile}.${process.pid}.tmp`, stampFile);
}

async function main() {
  const [target, ...args] = process.argv.slice(2);
  if (!target) usage('name the synth entry to run');
  const entry = resolve(root, target);
  try {
    statSync(entry);
  } catch {
    usage(`${target}: no such file`);
  }
  const cache = join(root, 'node_modules/.cache/ai-eval-platform/synth');
  const name = relative(root, entry).replace(/\.[cm]?ts$/, '').replace(/[\\/]/g, '__');
  const bundle = join(cache, `${name}.js`);
  const stampFile = join(cache, `${name}.inputs.json`);
  if (!fresh(stampFile, bundle)) await build(entry, bundle, stampFile);
  // The entry sees the command line it would see when run directly.
  process.argv = [process.argv[0], entry, ...args];
  require(bundle);
}

main().catch((error) => {
  process.stderr.write(`run-synth: ${error && error.stack ? error.stack : error}\n`);
  process.exitCode = 1;
});
