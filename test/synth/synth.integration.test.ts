import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const root = join(__dirname, '../..');
const tsx = join(root, 'node_modules/.bin/tsx');
const env = { ...process.env, FORCE_COLOR: '0' };
/** From source, through the runtime transpiler. */
const run = (args: string[], cwd = root) => spawnSync(tsx, ['--tsconfig', join(root, 'tsconfig.json'), ...args], { cwd, encoding: 'utf8', env });
/** As `npm run synth` (and `cdktf synth`, `cdk8s synth`) run it: compiled ahead by scripts/run-synth.js. */
const runCompiled = (args: string[], cwd = root) => spawnSync(process.execPath, [join(root, 'scripts/run-synth.js'), ...args], { cwd, encoding: 'utf8', env });

/** Every file under a folder, by path relative to it, with its bytes. */
function files(dir: string): Map<string, Buffer> {
  const found = new Map<string, Buffer>();
  const walk = (at: string) => {
    for (const name of readdirSync(at)) {
      const path = join(at, name);
      if (statSync(path).isDirectory()) walk(path);
      else found.set(relative(dir, path), readFileSync(path));
    }
  };
  walk(dir);
  return found;
}

describe('npm run synth (integration)', () => {
  const out = mkdtempSync(join(tmpdir(), 'synth-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('writes Terraform and manifests for every environment, runs the go-live checks and exits 0', () => {
    const result = runCompiled(['synth/all.ts'], out);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    for (const env of ['dev', 'prod']) {
      const stack = JSON.parse(readFileSync(join(out, `cdktf.out/stacks/${env}/cdk.tf.json`), 'utf8'));
      // The repositories the manifests' images come from are in the same stack.
      expect(Object.values(stack.resource.aws_ecr_repository).map((r: any) => r.name).sort()).toEqual([`ai-eval-platform-${env}/orchestrator`, `ai-eval-platform-${env}/worker`]);
      expect(readFileSync(join(out, `dist/${env}/platform.k8s.yaml`), 'utf8')).toContain(`.dkr.ecr.eu-west-1.amazonaws.com/ai-eval-platform-${env}/worker:`);
      expect(readFileSync(join(out, `dist/${env}/platform.k8s.yaml`), 'utf8')).toContain('kind: ScaledObject');
      expect(existsSync(join(out, `dist/${env}/argocd-application.k8s.yaml`))).toBe(true);
      expect(readFileSync(join(out, `dist/${env}/cluster-addons.k8s.yaml`), 'utf8')).toContain('chart: cluster-autoscaler');
      expect(JSON.parse(readFileSync(join(out, `dist/${env}/argocd-values.json`), 'utf8')).configs.cm).toBeDefined();
    }
    expect(result.stdout).toMatch(/go-live checks: prod \(production\)/);
    expect(result.stdout).toMatch(/synthesized 2 environments \(dev, prod\)/);
  });

  it('writes byte for byte what the sources write when run through the transpiler', () => {
    const fromSource = join(out, 'from-source');
    mkdirSync(fromSource);
    const result = run([join(root, 'synth/all.ts')], fromSource);
    expect(result.status).toBe(0);
    for (const folder of ['cdktf.out', 'dist']) {
      const compiled = files(join(out, folder));
      const source = files(join(fromSource, folder));
      expect([...compiled.keys()].sort()).toEqual([...source.keys()].sort());
      const differing = [...compiled].filter(([path, bytes]) => !bytes.equals(source.get(path)!)).map(([path]) => path);
      expect(differing).toEqual([]);
    }
  });

  it('rebuilds the compiled entry when a file it imports changes, and reuses it otherwise', () => {
    // A scratch entry inside the checkout (so it bundles like synth/), with one import to change.
    const scratch = join(root, '.tmp/run-synth-test');
    rmSync(scratch, { recursive: true, force: true });
    mkdirSync(scratch, { recursive: true });
    try {
      writeFileSync(join(scratch, 'entry.ts'), `import { word } from './word';\nif (require.main === module) process.stdout.write(word + ' ' + __dirname);\n`);
      writeFileSync(join(scratch, 'word.ts'), `export const word: string = 'first';\nif (require.main === module) process.stdout.write('not the entry');\n`);
      expect(runCompiled(['.tmp/run-synth-test/entry.ts']).stdout).toBe(`first ${scratch}`);
      writeFileSync(join(scratch, 'word.ts'), `export const word: string = 'second, longer';\n`);
      expect(runCompiled(['.tmp/run-synth-test/entry.ts']).stdout).toBe(`second, longer ${scratch}`);
      const bundle = join(root, 'node_modules/.cache/ai-eval-platform/synth/.tmp__run-synth-test__entry.js');
      const built = statSync(bundle).mtimeMs;
      expect(runCompiled(['.tmp/run-synth-test/entry.ts']).stdout).toBe(`second, longer ${scratch}`);
      expect(statSync(bundle).mtimeMs).toBe(built);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  it('npm run golive exits non-zero and names the finding when a prod check fails', () => {
    const broken = join(out, 'broken');
    cpSync(join(out, 'cdktf.out'), join(broken, 'cdktf.out'), { recursive: true });
    cpSync(join(out, 'dist'), join(broken, 'dist'), { recursive: true });
    const manifest = join(broken, 'dist/prod/platform.k8s.yaml');
    writeFileSync(manifest, readFileSync(manifest, 'utf8').replace(/image: (\S+):[0-9a-f]{40}@sha256:[0-9a-f]{64}/g, 'image: $1:latest'));
    const result = runCompiled(['synth/golive.ts'], broken);
    expect(result.status).toBe(1);
    expect(result.stdout).toMatch(/Deployment\/worker .*runs .*worker:latest \(latest or untagged\)/);
    expect(result.stderr).toContain('go-live: a production check failed');
  });

  it('fails synth with the environment, field and value when the config is invalid', () => {
    const script = join(out, 'bad-config.ts');
    writeFileSync(script, [
      `import { resolveEnvironment, overrideEnvironment } from '@ai-eval-platform/constructs';`,
      `import { prod } from '${join(root, 'synth/environments/prod')}';`,
      `resolveEnvironment(overrideEnvironment(prod, { nodeGroups: { general: { minSize: 5 } } }));`,
    ].join('\n'));
    const result = run([script], root);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('prod: nodeGroups.general.minSize: minSize (5) must be <= maxSize (3) (got 5)');
  });
});
