import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { checkEnvironment, formatReports, hasProductionFailure, scanTreeForSecrets, type EnvironmentReport } from '@ai-eval-platform/constructs';
import { synthKubernetes } from '../../synth/k8s';
import { synthTerraform } from '../../synth/terraform';

type Obj = Record<string, any>; // manifests are untyped JSON

const work = mkdtempSync(join(tmpdir(), 'golive-'));
const pristine = join(work, 'pristine');
beforeAll(() => {
  synthTerraform(join(pristine, 'cdktf.out'));
  synthKubernetes(join(pristine, 'dist'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

let case_ = 0;
/** A copy of the prod output with `breakK8s` applied to every manifest object and `breakTf` to the Terraform JSON. */
function prodReport(breakK8s: (o: Obj) => void = () => {}, breakTf: (tf: Obj) => void = () => {}, env = 'prod'): EnvironmentReport {
  const dir = join(work, `case-${case_++}`);
  cpSync(pristine, dir, { recursive: true });
  const tfFile = join(dir, `cdktf.out/stacks/${env}/cdk.tf.json`);
  const tf = JSON.parse(readFileSync(tfFile, 'utf8'));
  breakTf(tf);
  writeFileSync(tfFile, JSON.stringify(tf));
  for (const file of ['platform.k8s.yaml', 'cluster-addons.k8s.yaml']) {
    const yamlFile = join(dir, `dist/${env}`, file);
    const docs = parseAllDocuments(readFileSync(yamlFile, 'utf8')).map((d) => d.toJS() as Obj);
    docs.forEach(breakK8s);
    writeFileSync(yamlFile, docs.map((d) => stringify(d)).join('---\n'));
  }
  return checkEnvironment({ name: env, production: env === 'prod', terraformFile: tfFile, manifestDir: join(dir, `dist/${env}`) });
}
/** The same over dev's output (not production: no release, no AWS Backup plan). */
const devReport = (breakK8s?: (o: Obj) => void, breakTf?: (tf: Obj) => void) => prodReport(breakK8s, breakTf, 'dev');
const status = (report: EnvironmentReport, id: string) => report.checks.find((c) => c.id === id)!;
const worker = (o: Obj) => o.kind === 'Deployment' && o.metadata.name === 'worker';

describe('go-live checks', () => {
  it('all pass on the repository prod output, alerting included', () => {
    const report = prodReport();
    expect(report.checks.map((c) => [c.id, c.status])).toEqual([
      ['1', 'pass'], ['2', 'pass'], ['3', 'pass'], ['4', 'pass'], ['5', 'pass'], ['secrets', 'pass'], ['images', 'pass'],
      ['nodes', 'pass'], ['netpol', 'pass'], ['access', 'pass'], ['online', 'pass'],
    ]);
    expect(hasProductionFailure([report])).toBe(false);
    expect(formatReports([report])).toMatch(/Alerting.*PASS/);
  });

  it('nodes fails without a node autoscaler, with a ceiling below the node groups, or without its IAM role', () => {
    const autoscaler = (o: Obj) => o.kind === 'Application' && o.spec.source.chart === 'cluster-autoscaler';
    expect(status(prodReport((o) => autoscaler(o) && (o.spec.source.chart = 'something-else')), 'nodes').findings).toEqual([
      'no Argo CD Application installs the cluster-autoscaler chart: nothing adds nodes when workers scale out',
    ]);
    const low = prodReport((o) => autoscaler(o) && (o.spec.source.helm.valuesObject.extraArgs['max-nodes-total'] = 5));
    expect(status(low, 'nodes').findings).toEqual([expect.stringMatching(/max-nodes-total 5 is below the node groups' maxSize sum 13/)]);
    const noRole = prodReport(() => {}, (tf) => {
      for (const [id, doc] of Object.entries(tf.data.aws_iam_policy_document as Record<string, Obj>)) if (id.startsWith('cluster-autoscaler-role_trust')) doc.statement[0].condition[0].values = ['system:serviceaccount:kube-system:other'];
    });
    expect(status(noRole, 'nodes').findings).toEqual([expect.stringMatching(/no IAM role trusts system:serviceaccount:kube-system:cluster-autoscaler/)]);
  });

  it('netpol fails when the VPC CNI does not enforce policies, or nothing denies by default', () => {
    const report = prodReport(
      (o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'default-deny' && (o.spec.policyTypes = ['Ingress']),
      (tf) => {
        for (const addon of Object.values(tf.resource.aws_eks_addon as Record<string, Obj>)) if (addon.addon_name === 'vpc-cni') delete addon.configuration_values;
      },
    );
    expect(status(report, 'netpol').status).toBe('fail');
    expect(status(report, 'netpol').findings).toEqual([
      expect.stringMatching(/aws_eks_addon\..*vpc-cni.*: enableNetworkPolicy is not "true"/),
      'no default-deny NetworkPolicy (empty podSelector, Ingress and Egress)',
    ]);
  });

  it('access fails with no admin access entry, or a production API endpoint open to the internet', () => {
    const report = prodReport(() => {}, (tf) => {
      for (const a of Object.values(tf.resource.aws_eks_access_policy_association as Record<string, Obj>)) a.policy_arn = a.policy_arn.replace('ClusterAdmin', 'View');
      for (const c of Object.values(tf.resource.aws_eks_cluster as Record<string, Obj>)) Object.assign(c.vpc_config, { endpoint_public_access: true, public_access_cidrs: ['0.0.0.0/0'] });
    });
    expect(status(report, 'access').findings).toEqual([
      expect.stringMatching(/the public API endpoint is open to 0\.0\.0\.0\/0 in production/),
      expect.stringMatching(/no access entry with AmazonEKSClusterAdminPolicy/),
    ]);
  });

  it('4 is pending without any monitoring object', () => {
    const report = prodReport((o) => {
      if (o.kind === 'PrometheusRule' || o.kind === 'AlertmanagerConfig') Object.assign(o, { kind: 'ConfigMap', apiVersion: 'v1', spec: undefined, data: {} });
    });
    expect(status(report, '4').status).toBe('pending');
  });

  it('1 fails when a container has no limits or the namespace no quota', () => {
    const report = prodReport((o) => {
      if (worker(o)) delete o.spec.template.spec.containers[0].resources.limits;
      if (o.kind === 'ResourceQuota') o.metadata.namespace = 'elsewhere';
    });
    expect(status(report, '1').status).toBe('fail');
    expect(status(report, '1').findings).toEqual(expect.arrayContaining([
      expect.stringMatching(/Deployment\/worker .*platform\.k8s\.yaml#\d+\): container worker has no cpu limits/),
      'namespace ai-eval has no ResourceQuota',
    ]));
    expect(hasProductionFailure([report])).toBe(true);
  });

  it('2 fails when the worker has a fixed replica count under KEDA, or a second autoscaler', () => {
    const report = prodReport((o) => {
      if (worker(o)) o.spec.replicas = 3;
    });
    expect(status(report, '2').findings).toEqual([expect.stringMatching(/Deployment\/worker .*sets replicas \(3\) although an autoscaler owns it/)]);
    const noScaler = prodReport((o) => {
      if (o.kind === 'ScaledObject') o.spec.scaleTargetRef.name = 'other';
    });
    expect(status(noScaler, '2').findings.join('\n')).toMatch(/Deployment\/worker .*no ScaledObject or HorizontalPodAutoscaler targets it/);
  });

  it('3 fails when the worker loses its LLM retry policy', () => {
    const report = prodReport((o) => {
      if (worker(o)) o.spec.template.spec.containers[0].env = o.spec.template.spec.containers[0].env.filter((e: Obj) => e.name !== 'LLM_RETRY_AFTER_CAP_MS');
    });
    expect(status(report, '3').status).toBe('fail');
    expect(status(report, '3').findings).toEqual([expect.stringMatching(/container worker lacks LLM_RETRY_AFTER_CAP_MS/)]);
  });

  it('4 fails (not pending) when alert rules exist without a Slack receiver', () => {
    const report = prodReport((o) => {
      if (o.kind === 'AlertmanagerConfig') o.spec.receivers[0].slackConfigs = [];
    });
    expect(status(report, '4')).toMatchObject({ status: 'fail', findings: ['no AlertmanagerConfig route to a receiver with a Slack configuration'] });
  });

  it('5 fails when RDS backups are off or the bucket leaves the backup plan', () => {
    const report = prodReport(undefined, (tf) => {
      for (const db of Object.values<Obj>(tf.resource.aws_db_instance)) db.backup_retention_period = 0;
      tf.resource.aws_backup_selection = {};
    });
    const findings = status(report, '5').findings.join('\n');
    expect(findings).toMatch(/aws_db_instance\.postgres_instance_\w+: automated backups off \(backup_retention_period=0\)/);
    expect(findings).toMatch(/aws_s3_bucket\.artifacts_bucket_\w+: not in an AWS Backup plan/);
  });

  it('flags a secret-looking value or a Secret with data in the output, without printing the value', () => {
    const key = ['sk', 'proj', 'A1b2C3d4E5f6G7h8I9j0K1l2M3n4'].join('-');
    const report = prodReport((o) => {
      if (worker(o)) o.spec.template.spec.containers[0].env.push({ name: 'OPENAI_API_KEY', value: key });
      if (o.kind === 'LimitRange') Object.assign(o, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'leak', namespace: 'ai-eval' }, data: { k: 'dg==' } });
    });
    const findings = status(report, 'secrets').findings;
    expect(findings).toEqual(expect.arrayContaining([
      expect.stringMatching(/platform\.k8s\.yaml:\d+: looks like a OpenAI API key/),
      expect.stringMatching(/Secret\/leak .*use an ExternalSecret/),
    ]));
    expect(findings.join('\n')).not.toContain(key);
  });

  it('flags a latest or untagged image', () => {
    const report = prodReport((o) => {
      if (worker(o)) o.spec.template.spec.containers[0].image = 'example/worker:latest';
      if (o.kind === 'Job') o.spec.template.spec.containers[0].image = 'example/migrate';
    });
    expect(status(report, 'images').findings).toEqual([
      expect.stringMatching(/Job\/migrations .*runs example\/migrate \(latest or untagged\)/),
      expect.stringMatching(/Deployment\/worker .*runs example\/worker:latest/),
    ]);
  });

  it("outside production, a failure the environment chose says why in its row; a real failure, or production's, does not", () => {
    const dev = devReport();
    expect(dev.checks.filter((c) => c.status !== 'pass').map((c) => [c.id, c.expected])).toEqual([
      ['5', 'no AWS Backup plan, by choice (backup.awsBackupPlan: false); required in production only'],
      ['images', 'no release yet, until the first release'],
    ]);
    expect(formatReports([dev])).toMatch(/^ {2}images +Images: a released tag, never latest +FAIL \(expected in dev: no release yet, until the first release\)$/m);
    expect(hasProductionFailure([dev])).toBe(false);
    // A latest image beside the placeholders, or RDS backups off beside the missing plan: real failures.
    const broken = devReport((o) => worker(o) && (o.spec.template.spec.containers[0].image = 'example/worker:latest'), (tf) => {
      for (const db of Object.values<Obj>(tf.resource.aws_db_instance)) db.backup_retention_period = 0;
    });
    expect(status(broken, 'images').expected).toBeUndefined();
    expect(status(broken, '5').expected).toBeUndefined();
    // Production: the same gaps fail with no excuse.
    const prod = prodReport((o) => {
      for (const c of [...(o.spec?.template?.spec?.containers ?? [])]) if (typeof c.image === 'string') c.image = c.image.replace(/:[0-9a-f]{40}@sha256:[0-9a-f]{64}$/, ':unreleased');
    }, (tf) => {
      delete tf.resource.aws_backup_plan;
      delete tf.resource.aws_backup_selection;
    });
    expect(prod.checks.filter((c) => c.status === 'fail').map((c) => [c.id, c.expected])).toEqual([['5', undefined], ['images', undefined]]);
    expect(formatReports([prod])).not.toContain('expected in');
  });

  it('scans a source tree for keys, skipping dependencies and build output', () => {
    const tree = join(work, 'tree');
    cpSync(join(pristine, 'dist'), join(tree, 'dist'), { recursive: true });
    writeFileSync(join(tree, 'clean.ts'), 'export const x = 1;\n');
    expect(scanTreeForSecrets(tree)).toEqual([]);
    writeFileSync(join(tree, 'config.ts'), `const a = 1;\nexport const k = '${['AKIA', 'ABCDEFGHIJKLMNOP'].join('')}';\n`);
    expect(scanTreeForSecrets(tree)).toEqual(['config.ts:2: looks like a AWS access key id']);
  });
});
