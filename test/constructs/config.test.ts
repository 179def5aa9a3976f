import { ConfigError, RELEASE_SCHEMA, resolveEnvironment, overrideEnvironment } from '@ai-eval-platform/constructs';
import { dev } from '../../synth/environments/dev';
import { prod, prodOverrides } from '../../synth/environments/prod';
import { environment, rawEnvironment } from '../support/environments';

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return [...(error as ConfigError).problems];
  }
  throw new Error('expected a ConfigError, got none');
}

describe('environment configuration', () => {
  it('resolves the defaults and derived names of dev and prod', () => {
    const d = environment('dev');
    const p = environment('prod');
    expect(d.clusterName).toBe('ai-eval-platform-dev');
    expect(p.clusterName).toBe('ai-eval-platform-prod');
    expect(p.secrets.llmKeysName).toBe('prod/eval-platform/llm-keys');
    expect(d.secrets.llmKeysName).toBe('dev/eval-platform/llm-keys');
    expect(p.state.key).toBe('prod/terraform.tfstate');
    expect(d.kubernetesVersion).not.toBe('1.29');
    expect(p.bucket.name).toBe('ai-eval-platform-prod-artifacts-222222222222');
  });

  it('layers prod over dev like values-prod.yaml: objects merge, arrays and scalars replace', () => {
    expect(prod.nodeGroups).toEqual(dev.nodeGroups);
    expect(prod.database.multiAz).toBe(true);
    expect(prod.database.engineVersion).toBe(dev.database.engineVersion);
    // The bootstrap's roles, derived from the account: prod receives promoted releases, dev is built into.
    expect(environment('prod').images.registry.pushRoleArn).toBe('arn:aws:iam::222222222222:role/ai-eval-platform-github-promote');
    expect(environment('dev').images.registry.pushRoleArn).toBe('arn:aws:iam::111111111111:role/ai-eval-platform-github-release');
    expect(prodOverrides.accountId).toBe('222222222222');
    // Each environment pulls from the repositories its own stack creates, in its own account.
    expect(environment('prod').images.worker.repository).toBe('222222222222.dkr.ecr.eu-west-1.amazonaws.com/ai-eval-platform-prod/worker');
    expect(environment('dev').images.orchestrator.repository).toBe('111111111111.dkr.ecr.eu-west-1.amazonaws.com/ai-eval-platform-dev/orchestrator');
    expect(dev.database.multiAz).toBe(false);
    const replaced = overrideEnvironment(dev, { nodeGroups: { general: { instanceTypes: ['m6i.large'] } } });
    expect(replaced.nodeGroups.general.instanceTypes).toEqual(['m6i.large']);
    expect(replaced.nodeGroups.general.maxSize).toBe(3);
  });

  it('keeps the brief node groups', () => {
    const { general, workers_spot } = environment('prod').nodeGroups;
    expect(general).toMatchObject({ instanceTypes: ['t3.large'], minSize: 1, maxSize: 3, desiredSize: 2, capacityType: 'ON_DEMAND' });
    expect(workers_spot).toMatchObject({ minSize: 2, maxSize: 10, desiredSize: 2, capacityType: 'SPOT' });
    expect(workers_spot.instanceTypes[0]).toBe('c5.xlarge');
  });

  // Mutators reach into the raw input to break one field; `any` keeps each one a single readable line.
  const cases: [string, 'dev' | 'prod', (env: any) => void, string][] = [
    ['min > max', 'dev', (e) => (e.nodeGroups.general.minSize = 5), 'dev: nodeGroups.general.minSize: minSize (5) must be <= maxSize (3) (got 5)'],
    ['desired outside [min, max]', 'dev', (e) => (e.nodeGroups.workers_spot.desiredSize = 11), 'dev: nodeGroups.workers_spot.desiredSize: desiredSize (11) must be within [minSize, maxSize] = [2, 10] (got 11)'],
    ['a SPOT group with one instance type in prod', 'prod', (e) => (e.nodeGroups.workers_spot.instanceTypes = ['c5.xlarge']), 'prod: nodeGroups.workers_spot.instanceTypes: a SPOT group in production needs at least 2 instance types to find capacity, got ["c5.xlarge"] (got ["c5.xlarge"])'],
    ['prod without deletion protection', 'prod', (e) => (e.database.deletionProtection = false), 'prod: database.deletionProtection: must be true in production (got false)'],
    ['prod without RDS backups', 'prod', (e) => (e.database.backupRetentionDays = 0), 'prod: database.backupRetentionDays: must be >= 7 in production, got 0 (got 0)'],
    ['prod without the AWS Backup plan', 'prod', (e) => (e.backup.awsBackupPlan = false), 'prod: backup.awsBackupPlan: must be true in production (S3 and ClickHouse backups) (got false)'],
    ['a push role that is not a role', 'dev', (e) => (e.images = { registry: { pushRoleArn: 'github-release' } }), 'dev: images.registry.pushRoleArn: an IAM role ARN (got "github-release")'],
    ['a release whose digest is cut short', 'dev', (e) => (e.images = { release: { schema: RELEASE_SCHEMA, commit: 'c'.repeat(40), builtAt: '2026-11-30T12:00:00Z', images: { orchestrator: { repository: 'r.example/o', digest: `sha256:${'0'.repeat(64)}` }, worker: { repository: 'r.example/w', digest: 'sha256:abc' } } } }), 'dev: images.release.images.worker.digest: sha256:<64 hex digits> (got "sha256:abc")'],
    ['requests above limits', 'dev', (e) => (e.worker.resources.memoryRequestMiB = 4096), 'dev: worker.resources.memoryRequestMiB: memoryRequestMiB (4096) must be <= memoryLimitMiB (1024) (got 4096)'],
    ['CPU requests above limits', 'prod', (e) => (e.orchestrator.resources.cpuRequestMilli = 3000), 'prod: orchestrator.resources.cpuRequestMilli: cpuRequestMilli (3000) must be <= cpuLimitMilli (2000) (got 3000)'],
    ['a wrong type', 'dev', (e) => (e.redis.nodes = 'two'), 'dev: redis.nodes: Invalid input: expected number, received string (got "two")'],
    ['a missing field', 'dev', (e) => delete e.alerting.slackChannel, 'dev: alerting.slackChannel: Invalid input: expected string, received undefined (got nothing)'],
    ['prod without cluster admins', 'prod', (e) => (e.cluster.adminRoleArns = []), "prod: cluster.adminRoleArns: must name at least one IAM role (leave it out for the bootstrap's ai-eval-platform-admin): with API authentication and no creator admin, nobody can reach the cluster (got [])"],
    ['dev without cluster admins', 'dev', (e) => (e.cluster = { adminRoleArns: [] }), "dev: cluster.adminRoleArns: must name at least one IAM role (leave it out for the bootstrap's ai-eval-platform-admin): with API authentication and no creator admin, nobody can reach the cluster (got [])"],
    ['no GitHub repository for the bootstrap roles to trust', 'dev', (e) => (e.github = {}), 'dev: github.repository: Invalid input: expected string, received undefined (got nothing)'],
    ['a GitHub repository that is not owner/name', 'dev', (e) => (e.github = { repository: 'https://github.com/me/repo' }), 'dev: github.repository: a GitHub repository as owner/name (got "https://github.com/me/repo")'],
    ['a public prod endpoint without CIDRs', 'prod', (e) => (e.cluster.publicEndpoint = true), 'prod: cluster.publicAccessCidrs: a public API endpoint in production must list the CIDRs allowed to reach it (none by default) (got nothing)'],
    ['a prod endpoint open to the internet', 'prod', (e) => Object.assign(e.cluster, { publicEndpoint: true, publicAccessCidrs: ['0.0.0.0/0'] }), 'prod: cluster.publicAccessCidrs: must not open the API endpoint to 0.0.0.0/0 in production (got ["0.0.0.0/0"])'],
    ['an Identity Center role with its path', 'dev', (e) => (e.cluster = { adminRoleArns: ['arn:aws:iam::111111111111:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Admin_1234'] }), 'dev: cluster.adminRoleArns.0: an IAM Identity Center role without its path: arn:aws:iam::<account>:role/AWSReservedSSO_… (got "arn:aws:iam::111111111111:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Admin_1234")'],
    ['the quota of before (80 CPU limits) at prod scale', 'prod', (e) => (e.kubernetes.quota.cpuLimits = '80'), 'prod: kubernetes.quota.cpuLimits: cpuLimits 80 (80000m) is below full scale, by worker.resources.cpuLimitMilli and orchestrator.resources.cpuLimitMilli: worker.maxReplicas 40 (+10 surge) × 2000m + orchestrator.replicas 3 (+1 surge) × 2000m + migration Job 500m = 108500m (got "80")'],
    ['more memory requested than the quota', 'dev', (e) => (e.worker.resources = { ...e.worker.resources, memoryRequestMiB: 8192, memoryLimitMiB: 8192 }), 'dev: kubernetes.quota.memoryRequests: memoryRequests 80Gi (81920Mi) is below full scale, by worker.resources.memoryRequestMiB and orchestrator.resources.memoryRequestMiB: worker.maxReplicas 10 (+3 surge) × 8192Mi + orchestrator.replicas 1 (+1 surge) × 256Mi + migration Job 128Mi = 107136Mi (got nothing)'],
    ['workers that cannot fit the SPOT group at its max', 'prod', (e) => (e.nodeGroups.workers_spot.maxSize = 5), 'prod: worker.maxReplicas: worker.maxReplicas 40 (+10 surge = 50 pods) do not fit nodeGroups.workers_spot.maxSize 5: 7 workers per node (requests 500m / 512Mi on c5.xlarge|c5a.xlarge|c6i.xlarge, beside the DaemonSets) × 5 = 35 (got 40)'],
    ['a node autoscaler ceiling below the node groups', 'dev', (e) => (e.addons.clusterAutoscaler = { maxNodesTotal: 8 }), "dev: addons.clusterAutoscaler.maxNodesTotal: maxNodesTotal 8 is below the node groups' maximum: nodeGroups.general.maxSize 3 + nodeGroups.workers_spot.maxSize 10 = 13; the autoscaler would never reach it (got 8)"],
    ['an instance type of unknown size', 'dev', (e) => (e.nodeGroups.workers_spot.instanceTypes = ['x9z.mega']), 'dev: nodeGroups.workers_spot.instanceTypes: no size known for x9z.mega: capacity cannot be checked (known families: c5, c5a, c6i, c6a, c7i, c7a, c6g, c7g, m5, m5a, m6i, m6a, m7i, m7a, m6g, m7g, t3, t3a, r5, r6i, r6a, r7i, r6g, r7g; sizes large, xlarge, 2xlarge, 4xlarge, 8xlarge) (got ["x9z.mega"])'],
    ['an ACME contact that is not an address', 'dev', (e) => (e.addons.acmeEmail = 'platform team'), 'dev: addons.acmeEmail: Invalid email address (got "platform team")'],
  ];
  it.each(cases)('rejects %s, naming the environment, field, value and expectation', (_what, name, mutate, message) => {
    const input = rawEnvironment(name);
    mutate(input);
    expect(problemsOf(() => resolveEnvironment(input))).toContain(message);
  });

  it('passes dev and prod with room: full scale fits the quota, the SPOT nodes and the autoscaler', () => {
    const p = environment('prod');
    expect(p.cluster.publicAccessCidrs).toEqual([]);
    expect(environment('dev').cluster.publicAccessCidrs).toEqual(['0.0.0.0/0']);
    expect(p.addons.clusterAutoscaler.maxNodesTotal).toBe(13);
    // 40 workers + 10 surge at 7 per c5.xlarge need 8 of the 10 SPOT nodes; 108.5 of 120 CPU limits.
    expect(problemsOf(() => environment('prod', { worker: { maxReplicas: 49 } })).join('\n')).toMatch(/worker\.maxReplicas 49 \(\+13 surge = 62 pods\) do not fit .* = 70|cpuLimits 120/);
  });

  it('reports every problem at once', () => {
    const input = rawEnvironment('prod') as any; // broken on purpose in two places
    input.database.multiAz = false;
    input.images = { registry: { pushRoleArn: 'latest' } };
    const problems = problemsOf(() => resolveEnvironment(input));
    expect(problems).toHaveLength(2);
    expect(String(problems)).toMatch(/database\.multiAz/);
    expect(String(problems)).toMatch(/images\.registry\.pushRoleArn/);
  });
});
