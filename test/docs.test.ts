import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { resolveEnvironment, type EnvironmentInput } from '@ai-eval-platform/constructs';
import { dev } from '../synth/environments/dev';
import { currentSection, readmeSections } from '../scripts/readme-sections';
import { readmeExample } from './support/readme';

/**
 * The READMEs are held to the code: generated sections equal their generators, every relative link and anchor
 * resolves inside the repository (a package README's inside its package, as npm shows it), every `npm run`
 * names a script that exists, and every literal `@default` of the configuration is the default applied.
 */
const root = join(__dirname, '..');
const PACKAGE_READMES = ['evalctl/README.md', 'constructs/README.md'];

function markdownFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    if (['node_modules', '.git', '.tmp', 'lib', 'dist', 'cdktf.out', 'reports', '.stryker-tmp'].includes(entry)) return [];
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return markdownFiles(path);
    return entry === 'README.md' ? [relative(root, path)] : [];
  });
}
const READMES = markdownFiles(root);

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const outsideCode = markdown.replace(/^```[\s\S]*?^```/gm, '');
  for (const [, heading] of outsideCode.matchAll(/^#{1,6} (.+)$/gm)) {
    anchors.add(heading.toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').trim().replace(/\s/g, '-'));
  }
  return anchors;
}

/** `[text](target)` links outside code, with their line. */
function linksOf(markdown: string): Array<{ target: string; line: number }> {
  const links: Array<{ target: string; line: number }> = [];
  let inCode = false;
  markdown.split('\n').forEach((text, index) => {
    if (text.startsWith('```')) inCode = !inCode;
    if (inCode) return;
    for (const [, target] of text.replace(/`[^`]*`/g, '').matchAll(/\]\(([^)\s]+)\)/g)) links.push({ target, line: index + 1 });
  });
  return links;
}

test('finds the READMEs: the root, both packages and the folders that have one', () => {
  expect(READMES).toEqual(expect.arrayContaining(['README.md', ...PACKAGE_READMES, 'crds/README.md', 'src/README.md']));
});

describe.each(readmeSections().map((s) => [`${s.file} ${s.name}`, s] as const))('generated section %s', (_label, section) => {
  test('equals what its generator writes now (`npm run docs` rewrites it)', () => {
    expect(currentSection(section)).toBe(section.content);
  });
});

test.each(READMES)('%s: every relative link resolves inside the repository, anchors included', (file) => {
  const text = readFileSync(join(root, file), 'utf8');
  const broken: string[] = [];
  for (const { target, line } of linksOf(text)) {
    if (/^[a-z]+:/.test(target)) continue;
    const [path, anchor] = target.split('#');
    const resolved = path ? resolve(root, dirname(file), path) : join(root, file);
    const where = `${file}:${line}: ${target}`;
    if (!resolved.startsWith(`${root}/`)) broken.push(`${where}: outside the repository`);
    else if (!existsSync(resolved)) broken.push(`${where}: no such file`);
    else if (PACKAGE_READMES.includes(file) && !resolved.startsWith(join(root, dirname(file)))) broken.push(`${where}: outside the package (npm shows this README without it)`);
    else if (anchor && resolved.endsWith('.md') && !anchorsOf(readFileSync(resolved, 'utf8')).has(anchor)) broken.push(`${where}: no heading #${anchor}`);
  }
  expect(broken).toEqual([]);
});

test.each(READMES)('%s: every `npm run` names a script that exists', (file) => {
  const text = readFileSync(join(root, file), 'utf8').replace(/\s+/g, ' ');
  const scripts = new Set(Object.keys((JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: object }).scripts));
  // The construct library's README runs the consumer's own scripts, from its example package.json.
  if (file === 'constructs/README.md') {
    for (const name of Object.keys((JSON.parse(readmeExample(file, 'package.json')) as { scripts: object }).scripts)) scripts.add(name);
  }
  const named = [...text.matchAll(/npm run (?:--silent )?([a-z][\w:-]*)/g)].map((m) => m[1]);
  if (file === 'README.md') expect(named.length).toBeGreaterThan(20);
  expect(named.filter((name) => !scripts.has(name))).toEqual([]);
});

test('the package READMEs link their CHANGELOG and LICENSE, which the tarballs carry; each LICENSE is the repository\'s', () => {
  const license = readFileSync(join(root, 'LICENSE'), 'utf8');
  for (const file of PACKAGE_READMES) {
    expect(readFileSync(join(root, dirname(file), 'LICENSE'), 'utf8')).toBe(license);
    const links = linksOf(readFileSync(join(root, file), 'utf8')).map((l) => l.target);
    expect(links).toEqual(expect.arrayContaining(['CHANGELOG.md', 'LICENSE']));
    const manifest = JSON.parse(readFileSync(join(root, dirname(file), 'package.json'), 'utf8')) as { files: string[] };
    expect(manifest.files).toEqual(expect.arrayContaining(['README.md', 'CHANGELOG.md', 'LICENSE']));
  }
});

/** `'main'`, `50`, `true`, `{}`, `['0.0.0.0/0']`: a default that is a value, not a sentence. */
function literal(text: string): { value: unknown } | undefined {
  try {
    return { value: JSON.parse(text.replace(/'/g, '"')) };
  } catch {
    return undefined;
  }
}

const at = (value: unknown, path: string[]): unknown => path.reduce<unknown>((v, key) => (v as Record<string, unknown> | undefined)?.[key], value);

test('every literal @default of EnvironmentInput is the value resolveEnvironment applies when the field is left out', () => {
  const rows = currentSection(readmeSections().find((s) => s.name === 'environment-config')!)!.split('\n').slice(2);
  const checked: string[] = [];
  const wrong: string[] = [];
  for (const row of rows) {
    const [, , defaultText] = row.split(' | ').map((c) => c.trim());
    const path = /^\| `([^`]+)`/.exec(row)![1];
    const expected = literal(defaultText ?? '');
    // `example` is what lets dev's placeholders through: left out, dev is refused (tested in config.test.ts).
    if (!expected || path.includes('[]') || path === 'example') continue;
    // A node group's field: checked on dev's first group.
    const segments = path.replace('<key>', Object.keys(dev.nodeGroups)[0]).split('.');
    const input = structuredClone(dev) as unknown as Record<string, unknown>;
    const parent = at(input, segments.slice(0, -1)) as Record<string, unknown> | undefined;
    if (parent) delete parent[segments[segments.length - 1]];
    const resolved = resolveEnvironment(input as unknown as EnvironmentInput);
    const actual = at(resolved, segments);
    checked.push(path);
    if (JSON.stringify(actual) !== JSON.stringify(expected.value)) wrong.push(`${path}: documented ${defaultText}, applied ${JSON.stringify(actual)}`);
  }
  expect(wrong).toEqual([]);
  expect(checked.length).toBeGreaterThan(40);
});

test("the evalctl README's pull-request gate pins the version this repository is at", () => {
  const text = readFileSync(join(root, 'evalctl/README.md'), 'utf8');
  const { version } = JSON.parse(readFileSync(join(root, 'evalctl/package.json'), 'utf8')) as { version: string };
  expect(text).toContain(`.github/actions/quality-gate@v${version}\n`);
  expect(text).toContain(`evalctl-package: '@ai-eval-platform/evalctl@${version}'`);
});
