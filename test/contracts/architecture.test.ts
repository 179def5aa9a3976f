import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const ROOT = resolve(__dirname, '../..');

/**
 * The layers of `src/`, lowest first. A module may import from its own folder and from lower layers only:
 * the contracts at the bottom, the CLI at the top. A new folder must be placed here before it is used.
 */
const SRC_LAYERS: Record<string, number> = {
  contracts: 0,
  version: 0,
  egress: 0,
  'build-metadata': 1,
  providers: 1,
  queue: 1,
  store: 1,
  // OTLP requests read into spans (GenAI conventions into columns).
  traces: 1,
  metrics: 2,
  telemetry: 2,
  suite: 3,
  targets: 3,
  runner: 4,
  platform: 5,
  // The viewer's pages: above the platform because the orchestrator serves them, but importing from it (and
  // from the stores) only types, so `evalctl view` ships without the platform.
  viewer: 6,
  cli: 7,
  index: 8,
};

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return /\.tsx?$/.test(name) ? [path] : [];
  });
}

/** Relative imports (static, `import type` and `export … from`) of a file, resolved to files. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s+'(\.[^']+)'/g)].map((m) => m[1]);
  return specifiers.map((spec) => {
    const base = resolve(dirname(file), spec);
    for (const candidate of [`${base}.ts`, `${base}.tsx`, join(base, 'index.ts')]) {
      try {
        if (statSync(candidate).isFile()) return candidate;
      } catch {
        // not this one
      }
    }
    throw new Error(`${relative(ROOT, file)}: cannot resolve import '${spec}'`);
  });
}

const layerOf = (file: string): string => relative(join(ROOT, 'src'), file).split(/[/.]/)[0];

const srcFiles = sources(join(ROOT, 'src'));
const serviceFiles = sources(join(ROOT, 'services'));
const graph = new Map([...srcFiles, ...serviceFiles].map((file) => [file, importsOf(file)]));

test('every folder of src/ has a layer', () => {
  const unplaced = [...new Set(srcFiles.map(layerOf))].filter((layer) => !(layer in SRC_LAYERS));
  expect(unplaced).toEqual([]);
});

test('src/ imports only downward: nothing imports a layer above its own', () => {
  const upward: string[] = [];
  for (const file of srcFiles) {
    const from = layerOf(file);
    for (const target of graph.get(file)!) {
      if (!target.startsWith(join(ROOT, 'src'))) upward.push(`${relative(ROOT, file)} leaves src/ for ${relative(ROOT, target)}`);
      const to = layerOf(target);
      if (to !== from && SRC_LAYERS[to] >= SRC_LAYERS[from]) upward.push(`${relative(ROOT, file)} (${from}) → ${relative(ROOT, target)} (${to})`);
    }
  }
  expect(upward).toEqual([]);
});

test('no import cycle in src/ or services/', () => {
  const cycles: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (file: string, path: string[]) => {
    if (state.get(file) === 'done') return;
    if (state.get(file) === 'visiting') {
      cycles.push([...path.slice(path.indexOf(file)), file].map((f) => relative(ROOT, f)).join(' → '));
      return;
    }
    state.set(file, 'visiting');
    for (const next of graph.get(file) ?? []) visit(next, [...path, file]);
    state.set(file, 'done');
  };
  for (const file of graph.keys()) visit(file, []);
  expect(cycles).toEqual([]);
});

test('the worker imports nothing of the orchestrator, and src/ nothing of services/', () => {
  const crossings = [...graph].flatMap(([file, targets]) =>
    targets
      .filter((target) => {
        const from = relative(ROOT, file);
        const to = relative(ROOT, target);
        return (from.startsWith('services/worker/') && to.startsWith('services/orchestrator/')) || (from.startsWith('src/') && to.startsWith('services/'));
      })
      .map((target) => `${relative(ROOT, file)} → ${relative(ROOT, target)}`),
  );
  expect(crossings).toEqual([]);
});

test('the viewer imports nothing of the stores or the platform, so `evalctl view` ships without them', () => {
  const reached = srcFiles
    .filter((file) => layerOf(file) === 'viewer')
    .flatMap((file) => graph.get(file)!.filter((target) => ['store', 'platform', 'queue', 'telemetry'].includes(layerOf(target))).map((target) => `${relative(ROOT, file)} → ${relative(ROOT, target)}`));
  expect(reached).toEqual([]);
});

test('the shipped files hold no test harness', () => {
  const harness = [...srcFiles, ...serviceFiles].filter((file) => /_faults|fake-llm|chdb-http-server/.test(readFileSync(file, 'utf8')));
  expect(harness.map((file) => relative(ROOT, file))).toEqual([]);
});
