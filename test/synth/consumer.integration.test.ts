import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

/**
 * Another team's project consumes the packed construct library: it installs from the tarball, compiles
 * against the published typings, synthesizes its own environment, and neither installs nor loads any of
 * the platform services' runtime dependencies.
 */
const root = join(__dirname, '../..');
const SERVICE_DEPENDENCIES = ['chdb', 'bee-queue', 'openai', '@anthropic-ai/sdk', 'hono', 'kysely', '@clickhouse/client', 'redis', 'pg'];

describe('a consumer of the packed construct library (integration)', () => {
  const work = join(root, '.tmp', `consumer-${process.pid}`);
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('installs, compiles and synthesizes without the services runtime', () => {
    mkdirSync(work, { recursive: true });
    const packed = execFileSync('npm', ['pack', '--workspace', 'constructs', '--pack-destination', work, '--json'], { cwd: root, encoding: 'utf8' });
    const tarball = join(work, JSON.parse(packed.slice(packed.indexOf('[')))[0].filename);
    const app = join(work, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true, dependencies: { '@ai-eval-platform/constructs': `file:${tarball}` } }));
    // Peers (cdktf, cdk8s, the providers) resolve from the repository's node_modules above this folder.
    execFileSync('npm', ['install', '--legacy-peer-deps', '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts'], { cwd: app, encoding: 'utf8' });
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'commonjs', moduleResolution: 'node', strict: true, esModuleInterop: true, skipLibCheck: true, outDir: 'out', types: ['node'], typeRoots: [join(root, 'node_modules/@types')] },
      files: ['main.ts'],
    }));
    writeFileSync(join(app, 'main.ts'), `
import { App as TfApp } from 'cdktf';
import { App as K8sApp } from 'cdk8s';
import { resolveEnvironment, type EnvironmentInput } from '@ai-eval-platform/constructs';
import { PlatformStack } from '@ai-eval-platform/constructs/terraform';
import { ClusterAddonsChart, PlatformChart } from '@ai-eval-platform/constructs/k8s';

const input = {
  name: 'team-staging', accountId: '333333333333', region: 'us-east-1', state: { bucket: 'team-state' }, github: { repository: 'team/evals' },
  nodeGroups: {
    general: { instanceTypes: ['t3.large'], minSize: 1, maxSize: 3, desiredSize: 2, labels: { 'ai-eval-platform/pool': 'general' } },
    workers: { instanceTypes: ['c5.xlarge', 'c6i.xlarge'], capacityType: 'SPOT', minSize: 1, maxSize: 4, desiredSize: 1,
      labels: { 'ai-eval-platform/pool': 'workers' }, taints: [{ key: 'team/workers', value: 'true', effect: 'NO_SCHEDULE' }] },
  },
  database: { instanceClass: 'db.t4g.small', allocatedStorageGiB: 20, maxAllocatedStorageGiB: 50, multiAz: false, deletionProtection: true, backupRetentionDays: 7, finalSnapshot: true },
  redis: { nodeType: 'cache.t4g.micro', nodes: 1 },
  clickhouse: { replicas: 1, instanceType: 'm6i.large', dataVolumeGiB: 50 },
  backup: { awsBackupPlan: true },
  images: { registry: { pushRoleArn: 'arn:aws:iam::333333333333:role/ci-release' } },
  orchestrator: { replicas: 2, host: 'evals.team.example', resources: { cpuRequestMilli: 100, cpuLimitMilli: 500, memoryRequestMiB: 128, memoryLimitMiB: 256 } },
  worker: { minReplicas: 1, maxReplicas: 5, resources: { cpuRequestMilli: 250, cpuLimitMilli: 1000, memoryRequestMiB: 256, memoryLimitMiB: 512 } },
  addons: { acmeEmail: 'platform@team.example' },
  gitops: { repoUrl: 'https://git.example/team/gitops.git' },
  alerting: { slackChannel: '#team-evals', dailyLlmBudgetUsd: 20 },
} satisfies EnvironmentInput;

const env = resolveEnvironment(input);
const tf = new TfApp({ outdir: 'out/tf' });
new PlatformStack(tf, env.name, { env });
tf.synth();
const k8s = new K8sApp({ outdir: 'out/k8s' });
new PlatformChart(k8s, 'platform', { env });
new ClusterAddonsChart(k8s, 'cluster-addons', { env });
k8s.synth();
console.log(JSON.stringify(Object.keys(require.cache)));
`);
    execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', app], { cwd: app, encoding: 'utf8' });
    const loaded: string[] = JSON.parse(execFileSync(process.execPath, ['out/main.js'], { cwd: app, encoding: 'utf8' }));

    expect(existsSync(join(app, 'out/tf/stacks/team-staging/cdk.tf.json'))).toBe(true);
    expect(existsSync(join(app, 'out/k8s/platform.k8s.yaml'))).toBe(true);
    expect(loaded.some((f) => f.includes(join(app, 'node_modules/@ai-eval-platform/constructs/lib')))).toBe(true);
    for (const dep of SERVICE_DEPENDENCIES) {
      expect(loaded.filter((f) => f.includes(`/node_modules/${dep}/`))).toEqual([]);
      expect(existsSync(join(app, 'node_modules', dep))).toBe(false);
    }
    expect(readdirSync(join(app, 'node_modules/@ai-eval-platform/constructs/lib'))).toEqual(expect.arrayContaining(['index.js', 'index.d.ts', 'terraform', 'k8s']));
  });

  it('documents every construct prop and configuration field in the published typings', () => {
    const lib = join(work, 'app/node_modules/@ai-eval-platform/constructs/lib');
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
