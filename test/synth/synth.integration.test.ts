import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(__dirname, '../..');
const tsx = join(root, 'node_modules/.bin/tsx');
const run = (args: string[], cwd = root) =>
  spawnSync(tsx, ['--tsconfig', join(root, 'tsconfig.json'), ...args], { cwd, encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' } });

describe('npm run synth (integration)', () => {
  const out = mkdtempSync(join(tmpdir(), 'synth-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('writes Terraform and manifests for every environment, runs the go-live checks and exits 0', () => {
    const result = run([join(root, 'synth/all.ts')], out);
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

  it('npm run golive exits non-zero and names the finding when a prod check fails', () => {
    const broken = join(out, 'broken');
    cpSync(join(out, 'cdktf.out'), join(broken, 'cdktf.out'), { recursive: true });
    cpSync(join(out, 'dist'), join(broken, 'dist'), { recursive: true });
    const manifest = join(broken, 'dist/prod/platform.k8s.yaml');
    writeFileSync(manifest, readFileSync(manifest, 'utf8').replace(/image: (\S+):[0-9a-f]{40}@sha256:[0-9a-f]{64}/g, 'image: $1:latest'));
    const result = run([join(root, 'synth/golive.ts')], broken);
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
