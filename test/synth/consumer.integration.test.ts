import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { readmeExample } from '../support/readme';
import { buildConstructsReadmeApp, packWorkspace } from '../support/readme-examples';

/**
 * Another team's project consumes the packed construct library: it installs from the tarball, compiles
 * against the published typings, synthesizes its own environment, and neither installs nor loads any of
 * the platform services' runtime dependencies.
 */
const root = join(__dirname, '../..');
const SERVICE_DEPENDENCIES = ['chdb', 'bee-queue', 'openai', '@anthropic-ai/sdk', 'hono', 'kysely', '@clickhouse/client', 'redis', 'pg'];

describe('a consumer of the packed construct library (integration)', () => {
  const work = join(root, '.tmp', `consumer-${process.pid}`);
  const app = join(work, 'app');
  let files: string[] = [];
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('the tarball carries the compiled library, its typings, README, CHANGELOG and LICENSE, and no TypeScript source', () => {
    mkdirSync(app, { recursive: true });
    const packed = packWorkspace('constructs', work);
    files = packed.files;
    writeFileSync(join(work, 'tarball'), packed.tarball);
    expect(files).toEqual(expect.arrayContaining(['README.md', 'CHANGELOG.md', 'LICENSE', 'package.json', 'lib/index.js', 'lib/index.d.ts', 'lib/terraform/index.js', 'lib/k8s/index.d.ts']));
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    expect(readFileSync(join(root, 'LICENSE'), 'utf8')).toMatch(/^\s*Apache License\s+Version 2\.0/);
    const manifest = JSON.parse(readFileSync(join(root, 'constructs/package.json'), 'utf8')) as Record<string, unknown>;
    expect(manifest).toMatchObject({ repository: { directory: 'constructs' }, homepage: expect.stringMatching(/^https:\/\//), bugs: { url: expect.stringMatching(/\/issues$/) } });
    expect((manifest.keywords as string[]).length).toBeGreaterThan(3);
  });

  it("builds the README's complete app from the tarball: it synthesizes the bootstrap, the stack and every chart, and passes the go-live checks", () => {
    // The README's package.json names the peers this repository tests with, and this version of the library.
    const manifest = JSON.parse(readmeExample('constructs/README.md', 'package.json')) as { dependencies: Record<string, string> };
    const own = JSON.parse(readFileSync(join(root, 'constructs/package.json'), 'utf8')) as { version: string; peerDependencies: Record<string, string> };
    for (const [name, range] of Object.entries(own.peerDependencies)) expect(manifest.dependencies[name]).toBe(range);
    expect(manifest.dependencies['@ai-eval-platform/constructs']).toBe(`^${own.version}`);

    const outcome = buildConstructsReadmeApp(app, readFileSync(join(work, 'tarball'), 'utf8'), process.execPath);
    expect(Object.keys(outcome.written)).toHaveLength(6);
    expect(Object.entries(outcome.written).filter(([, written]) => !written)).toEqual([]);
    // The release record reached the Deployments, pinned by digest, and every go-live check passes.
    expect(outcome.platformManifest).toContain('333333333333.dkr.ecr.us-east-1.amazonaws.com/ai-eval-platform-staging/worker:4e1f0c2b9a7d3e5f6a8b0c1d2e3f4a5b6c7d8e9f@sha256:6f4d2b0a');
    expect(outcome.goLive.checks.filter((c) => c.status !== 'pass').map((c) => `${c.id}: ${c.findings.join('; ')}`)).toEqual([]);
    // Only the library and the CDK engines were loaded: none of the platform services' runtime.
    expect(outcome.loaded.some((f) => f.includes(join(app, 'node_modules/@ai-eval-platform/constructs/lib')))).toBe(true);
    for (const dep of SERVICE_DEPENDENCIES) {
      expect(outcome.loaded.filter((f) => f.includes(`/node_modules/${dep}/`))).toEqual([]);
      expect(existsSync(join(app, 'node_modules', dep))).toBe(false);
    }
  });

  it('documents every construct prop and configuration field in the published typings', () => {
    const lib = join(app, 'node_modules/@ai-eval-platform/constructs/lib');
    const files = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? (e.name === 'imports' ? [] : files(join(dir, e.name))) : e.name.endsWith('.d.ts') ? [join(dir, e.name)] : []));
    const undocumented: string[] = [];
    let fields = 0;
    for (const file of files(lib)) {
      const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
      // A construct's props, and every field of the configuration at any depth.
      const visit = (node: ts.Node, owner: string) => {
        if (ts.isInterfaceDeclaration(node)) owner = node.name.text;
        const checked = /Input$/.test(owner) || (/Props$/.test(owner) && ts.isInterfaceDeclaration(node.parent));
        if (ts.isPropertySignature(node) && checked) {
          fields++;
          if (ts.getJSDocCommentsAndTags(node).length === 0) undocumented.push(`${relative(lib, file)}: ${owner}.${node.name.getText()}`);
        }
        ts.forEachChild(node, (child) => visit(child, owner));
      };
      visit(source, '');
    }
    expect(fields).toBeGreaterThan(200);
    expect(undocumented).toEqual([]);
  });
});
