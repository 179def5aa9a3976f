import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { accountBootstrapNames, BOOTSTRAP_STATE_KEY, bootstrapStackName, type EnvironmentConfig } from '@ai-eval-platform/constructs';
import { loadEnvironments } from '../../synth/environments';
import { synthTerraform } from '../../synth/terraform';
import { findProviderMirror } from '../../synth/validate-terraform';
import {
  awsCli,
  awsJson,
  managedResources,
  prepareCopy,
  settle,
  startSimulatedAws,
  terraform,
  terraformOk,
  type PreparedCopy,
  type SimulatedAws,
  type SimulatorGap,
  type Stack,
} from '../support/simulated-aws';

/**
 * `npm run test:apply`: the first deploy of an empty account, in the runbook's order (README, "From an empty
 * account"), applied against an AWS API simulator (moto's server): the account's bootstrap with local state,
 * its state migrated into the bucket it created, then dev with its state in that bucket; then both destroyed,
 * leaving the account as it was. Per stack it prints the resources planned, created and skipped as simulator
 * gaps; any other error fails it.
 */

/**
 * What moto 5.2.1 cannot do that the stacks ask for, each with the simulator's own answer as proof (the test
 * asks it first: when a newer simulator can, the proof fails and the gap must go). Nothing else is removed.
 */
const PROBE_BUCKET = 'ai-eval-platform-simulator-probe';
const SIMULATOR_GAPS: readonly SimulatorGap[] = [
  {
    type: 'aws_s3_bucket_policy',
    why: 'a bucket policy that denies requests without TLS denies every request: the simulator never sets aws:SecureTransport, even over TLS',
    probe: [
      ['s3api', 'create-bucket', '--bucket', PROBE_BUCKET, '--create-bucket-configuration', 'LocationConstraint=eu-west-1'],
      ['s3api', 'put-object', '--bucket', PROBE_BUCKET, '--key', 'probe', '--body', '/etc/hostname'],
      [
        's3api', 'put-bucket-policy', '--bucket', PROBE_BUCKET, '--policy',
        JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: [`arn:aws:s3:::${PROBE_BUCKET}/*`], Condition: { Bool: { 'aws:SecureTransport': 'false' } } }],
        }),
      ],
      ['s3api', 'head-object', '--bucket', PROBE_BUCKET, '--key', 'probe'],
    ],
    proof: /\(403\) when calling the HeadObject operation: Forbidden/,
  },
  {
    type: 'data.aws_ssm_parameter',
    why: "Canonical's public parameter of the current Ubuntu AMI is not in the simulator, and names under /aws/ are reserved",
    standIns: { value: 'SIMULATOR_AMI', insecure_value: 'SIMULATOR_AMI' },
    probe: [['ssm', 'get-parameter', '--name', '/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id']],
    proof: /ParameterNotFound/,
  },
  {
    type: 'aws_eks_addon',
    why: 'EKS add-ons: no such API in the simulator',
    probe: [['eks', 'create-addon', '--cluster-name', 'probe', '--addon-name', 'coredns']],
    proof: /"POST \/clusters\/probe\/addons HTTP\/1\.1" 404/,
  },
  {
    type: 'aws_eks_access_entry',
    why: 'EKS access entries: no such API in the simulator',
    probe: [['eks', 'create-access-entry', '--cluster-name', 'probe', '--principal-arn', 'arn:aws:iam::111111111111:role/probe']],
    proof: /"POST \/clusters\/probe\/access-entries HTTP\/1\.1" 404/,
  },
  {
    type: 'aws_eks_access_policy_association',
    why: 'EKS access policies: no such API in the simulator',
    probe: [[
      'eks', 'associate-access-policy', '--cluster-name', 'probe', '--principal-arn', 'arn:aws:iam::111111111111:role/probe',
      '--policy-arn', 'arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy', '--access-scope', 'type=cluster',
    ]],
    proof: /"POST \/clusters\/probe\/access-entries\/[^ ]*\/access-policies HTTP\/1\.1" 404/,
  },
  {
    type: 'aws_elasticache_parameter_group',
    why: 'ElastiCache parameter groups cannot be created',
    probe: [['elasticache', 'create-cache-parameter-group', '--cache-parameter-group-name', 'probe', '--cache-parameter-group-family', 'redis7', '--description', 'probe']],
    proof: /The create_cache_parameter_group action has not been implemented/,
  },
  {
    type: 'aws_elasticache_subnet_group',
    why: 'ElastiCache subnet groups can be created but never deleted, so the destroy could not finish',
    probe: [['elasticache', 'delete-cache-subnet-group', '--cache-subnet-group-name', 'probe']],
    proof: /The delete_cache_subnet_group action has not been implemented/,
  },
  {
    type: 'aws_elasticache_replication_group',
    why: "a replication group's member clusters are never created, so the provider cannot read the group back",
    standIns: { primary_endpoint_address: 'redis.simulator.invalid' },
    probe: [['elasticache', 'describe-cache-clusters', '--cache-cluster-id', 'probe-001']],
    proof: /CacheClusterNotFound/,
  },
  {
    type: 'aws_instance',
    argument: 'monitoring',
    why: 'detailed monitoring cannot be switched on (the instance itself is created)',
    probe: [['ec2', 'monitor-instances', '--instance-ids', 'i-0123456789abcdef0']],
    proof: /monitor_instances is not yet implemented/,
  },
];

const mirror = findProviderMirror();
const work = mkdtempSync(join(tmpdir(), 'test-apply-'));
const report: string[] = [];
let aws: SimulatedAws;
let dev: EnvironmentConfig;
let stacks: { local: Record<string, Stack>; s3: Record<string, Stack> };
let baseline: Record<string, number>;
let bootstrapDir: string;
let devCopy: PreparedCopy;

const readStack = (out: string, name: string) => JSON.parse(readFileSync(join(out, 'stacks', name, 'cdk.tf.json'), 'utf8')) as Stack;

/** What the account holds, by kind: the same before the first apply and after the last destroy. */
function census(): Record<string, number> {
  const count = (args: string[], pick: (json: never) => unknown[]) => pick(awsJson<never>(aws, args)).length;
  return {
    buckets: count(['s3api', 'list-buckets'], (j: { Buckets?: unknown[] }) => j.Buckets ?? []),
    roles: count(['iam', 'list-roles'], (j: { Roles: unknown[] }) => j.Roles),
    oidcProviders: count(['iam', 'list-open-id-connect-providers'], (j: { OpenIDConnectProviderList: unknown[] }) => j.OpenIDConnectProviderList),
    kmsAliases: count(['kms', 'list-aliases'], (j: { Aliases: { AliasName: string }[] }) => j.Aliases.filter((a) => !a.AliasName.startsWith('alias/aws/'))),
    vpcs: count(['ec2', 'describe-vpcs'], (j: { Vpcs: unknown[] }) => j.Vpcs),
    securityGroups: count(['ec2', 'describe-security-groups'], (j: { SecurityGroups: unknown[] }) => j.SecurityGroups),
    instances: count(['ec2', 'describe-instances', '--filters', 'Name=instance-state-name,Values=pending,running,stopped'], (j: { Reservations: unknown[] }) => j.Reservations),
    volumes: count(['ec2', 'describe-volumes'], (j: { Volumes: unknown[] }) => j.Volumes),
    addresses: count(['ec2', 'describe-addresses'], (j: { Addresses: unknown[] }) => j.Addresses),
    clusters: count(['eks', 'list-clusters'], (j: { clusters: unknown[] }) => j.clusters),
    databases: count(['rds', 'describe-db-instances'], (j: { DBInstances: unknown[] }) => j.DBInstances),
    secrets: count(['secretsmanager', 'list-secrets'], (j: { SecretList: unknown[] }) => j.SecretList),
    repositories: count(['ecr', 'describe-repositories'], (j: { repositories: unknown[] }) => j.repositories),
    hostedZones: count(['route53', 'list-hosted-zones'], (j: { HostedZones: unknown[] }) => j.HostedZones),
    logGroups: count(['logs', 'describe-log-groups'], (j: { logGroups: unknown[] }) => j.logGroups),
  };
}

function stateList(dir: string): string[] {
  return terraformOk(dir, aws, ['state', 'list']).split('\n').filter((line) => line && !line.startsWith('data.'));
}

function outputs(dir: string): Record<string, string> {
  const json = JSON.parse(terraformOk(dir, aws, ['output', '-json'])) as Record<string, { value: string }>;
  return Object.fromEntries(Object.entries(json).map(([key, { value }]) => [key, value]));
}

function summarize(stack: string, copy: PreparedCopy, created: number): void {
  report.push(
    `${stack}: ${copy.planned.length} planned, ${created} created by the simulator, ${copy.skipped.length + copy.dependents.length} skipped as simulator gaps` +
      (copy.argumentsRemoved.length ? `, ${copy.argumentsRemoved.length} arguments left out (${[...new Set(copy.argumentsRemoved)].join(', ')})` : ''),
  );
  for (const address of copy.skipped) report.push(`    gap        ${address}`);
  for (const address of copy.dependents) report.push(`    depends on a gap  ${address}`);
}

beforeAll(async () => {
  if (!mirror) throw new Error('no unpacked hashicorp/aws provider mirror: set TF_PLUGIN_MIRROR (see README, "The two commands")');
  const envs = loadEnvironments();
  dev = envs.find((env) => env.name === 'dev')!;
  synthTerraform(join(work, 'local'), envs, 'local');
  synthTerraform(join(work, 's3'), envs, 's3');
  const names = [bootstrapStackName(dev.accountId), 'dev'];
  stacks = {
    local: Object.fromEntries(names.map((name) => [name, readStack(join(work, 'local'), name)])),
    s3: Object.fromEntries(names.map((name) => [name, readStack(join(work, 's3'), name)])),
  };
  aws = await startSimulatedAws(dev.accountId, dev.region);
}, 120_000);

afterAll(async () => {
  await aws?.stop();
  rmSync(work, { recursive: true, force: true });
  if (report.length) process.stdout.write(`\ntest:apply against moto 5.2.1 (the AWS API simulator):\n${report.map((line) => `  ${line}`).join('\n')}\n\n`);
});

describe('the first deploy of an empty account, applied against an AWS API simulator', () => {
  it('each simulator gap is real: the simulator answers the probe as the gap says', async () => {
    for (const gap of SIMULATOR_GAPS) {
      for (const scene of gap.probe.slice(0, -1)) expect({ gap: gap.type, scene: awsCli(aws, [...scene]).status }).toEqual({ gap: gap.type, scene: 0 });
      const before = aws.log().length;
      const { status, out } = awsCli(aws, [...gap.probe.at(-1)!]);
      await settle();
      const answer = `${out}\n${aws.log().slice(before)}`;
      expect({ gap: gap.type, status: status === 0 ? 'succeeded' : 'failed', proven: gap.proof.test(answer) }).toEqual({ gap: gap.type, status: 'failed', proven: true });
    }
    // The probe's bucket goes again (its policy first, which would refuse the deletion).
    for (const cleanup of [['s3api', 'delete-bucket-policy'], ['s3', 'rb', `s3://${PROBE_BUCKET}`, '--force']]) {
      const args = cleanup[0] === 's3' ? cleanup : [...cleanup, '--bucket', PROBE_BUCKET];
      expect(awsCli(aws, args).status).toBe(0);
    }
    baseline = census();
  });

  it('1. the bootstrap applies with local state, then its state moves into the bucket it created', () => {
    const name = bootstrapStackName(dev.accountId);
    const names = accountBootstrapNames(dev.accountId);
    bootstrapDir = join(work, 'repo', 'cdktf.out', 'stacks', name);
    // As the runbook: BOOTSTRAP_STATE=local for the first apply.
    const first = prepareCopy(stacks.local[name], bootstrapDir, aws, { gaps: SIMULATOR_GAPS, mirror: mirror!, liftPreventDestroy: true });
    expect(stacks.local[name].terraform?.backend).toEqual({ local: { path: `../../../terraform.${name}.tfstate` } });
    // Only its TLS-only bucket policy is left out (a simulator gap).
    expect(first.skipped.map((address) => address.split('.')[0])).toEqual(['aws_s3_bucket_policy']);
    terraformOk(bootstrapDir, aws, ['init', '-input=false']);
    terraformOk(bootstrapDir, aws, ['apply', '-auto-approve', '-input=false', '-parallelism=20']);
    const created = stateList(bootstrapDir);
    expect(created.sort()).toEqual(first.planned.filter((a) => !first.skipped.includes(a)).sort());
    summarize(name, first, created.length);

    // The outputs are the names every environment of the account already derives: nothing typed twice.
    const out = outputs(bootstrapDir);
    expect(out.state_bucket).toBe(dev.state.bucket);
    expect(out.release_role_arn).toBe(dev.images.registry.pushRoleArn);
    expect(out.deploy_role_arn).toBe(dev.cluster.deployRoleArn);
    expect([out.admin_role_arn]).toEqual(dev.cluster.adminRoleArns);
    expect(out.github_oidc_provider_arn).toBe(names.oidcProviderArn);
    const bucket = awsJson<{ ServerSideEncryptionConfiguration: { Rules: { ApplyServerSideEncryptionByDefault: { SSEAlgorithm: string; KMSMasterKeyID: string } }[] } }>(aws, [
      's3api', 'get-bucket-encryption', '--bucket', out.state_bucket,
    ]);
    expect(bucket.ServerSideEncryptionConfiguration.Rules[0].ApplyServerSideEncryptionByDefault).toEqual({ SSEAlgorithm: 'aws:kms', KMSMasterKeyID: out.state_kms_key_arn });
    expect(awsJson<{ Status: string }>(aws, ['s3api', 'get-bucket-versioning', '--bucket', out.state_bucket]).Status).toBe('Enabled');
    const trust = awsJson<{ Role: { AssumeRolePolicyDocument: unknown } }>(aws, ['iam', 'get-role', '--role-name', names.roleNames.deploy]);
    expect(JSON.stringify(trust.Role.AssumeRolePolicyDocument)).toContain(`repo:${dev.github.repository}:environment:${dev.github.deployEnvironment}`);

    // Then, as the runbook: `npx cdktf synth` (the S3 backend), `terraform init -reconfigure`, `terraform state
    // push` of the local file: the state is now in the bucket it describes.
    const local = join(bootstrapDir, '..', '..', '..', `terraform.${name}.tfstate`);
    expect(readFileSync(local, 'utf8')).toContain(names.stateBucket);
    prepareCopy(stacks.s3[name], bootstrapDir, aws, { gaps: SIMULATOR_GAPS, mirror: mirror!, liftPreventDestroy: true });
    terraformOk(bootstrapDir, aws, ['init', '-input=false', '-reconfigure']);
    terraformOk(bootstrapDir, aws, ['state', 'push', `../../../terraform.${name}.tfstate`]);
    const head = awsJson<{ ServerSideEncryption: string; SSEKMSKeyId: string }>(aws, ['s3api', 'head-object', '--bucket', names.stateBucket, '--key', BOOTSTRAP_STATE_KEY]);
    expect(head.ServerSideEncryption).toBe('aws:kms');
    expect(stateList(bootstrapDir).sort()).toEqual(created.sort());
    // A plan from the bucket's state finds everything in place.
    expect(terraform(bootstrapDir, aws, ['plan', '-input=false', '-detailed-exitcode']).status).not.toBe(1);
    rmSync(local);
  }, 600_000);

  it('2. dev applies with its state in the bootstrap bucket, and its outputs are what the next steps read', () => {
    const names = accountBootstrapNames(dev.accountId);
    const dir = join(work, 'repo', 'cdktf.out', 'stacks', 'dev');
    devCopy = prepareCopy(stacks.s3.dev, dir, aws, { gaps: SIMULATOR_GAPS, mirror: mirror!, liftPreventDestroy: true });
    const ami = awsJson<{ Images: { ImageId: string }[] }>(aws, ['ec2', 'describe-images']).Images[0].ImageId;
    writeFileSync(join(dir, 'cdk.tf.json'), readFileSync(join(dir, 'cdk.tf.json'), 'utf8').replaceAll('SIMULATOR_AMI', ami));
    terraformOk(dir, aws, ['init', '-input=false']);
    terraformOk(dir, aws, ['apply', '-auto-approve', '-input=false', '-parallelism=30']);
    const created = stateList(dir);
    expect(created.sort()).toEqual(devCopy.planned.filter((a) => !devCopy.skipped.includes(a) && !devCopy.dependents.includes(a)).sort());
    summarize('dev', devCopy, created.length);

    // The state object, KMS-encrypted with the bootstrap's key; the lock released.
    const head = awsJson<{ ServerSideEncryption: string }>(aws, ['s3api', 'head-object', '--bucket', names.stateBucket, '--key', dev.state.key]);
    expect(head.ServerSideEncryption).toBe('aws:kms');
    expect(awsCli(aws, ['s3api', 'head-object', '--bucket', names.stateBucket, '--key', `${dev.state.key}.tflock`]).status).not.toBe(0);

    const out = outputs(dir);
    // The release step reads these; the runbook's secrets step writes to these.
    expect(out.orchestrator_repository_url).toBe(dev.images.orchestrator.repository);
    expect(out.worker_repository_url).toBe(dev.images.worker.repository);
    expect(out.kubeconfig_command).toBe(`aws eks update-kubeconfig --region ${dev.region} --name ${dev.clusterName}`);
    const secrets = awsJson<{ SecretList: { Name: string }[] }>(aws, ['secretsmanager', 'list-secrets']).SecretList.map((s) => s.Name);
    expect(secrets).toEqual(expect.arrayContaining([dev.secrets.llmKeysName, 'dev/eval-platform/slack-webhook']));
    expect(awsJson<{ clusters: string[] }>(aws, ['eks', 'list-clusters']).clusters).toEqual([dev.clusterName]);
  }, 900_000);

  it("3. the runbook's secrets step (5), copied from the README, merges into the LLM keys and keeps the sealing secret", () => {
    const readme = readFileSync(join(__dirname, '../../README.md'), 'utf8');
    const step = /\nENV=dev\n([\s\S]*?\nrm -f "\$f"\n)/.exec(readme);
    expect(step).not.toBeNull();
    const run = (env: Record<string, string>) =>
      spawnSync('bash', ['-euo', 'pipefail', '-c', `ENV=dev\n${step![1]}`], { env: { ...aws.env, ...env }, encoding: 'utf8' });
    const llmKeys = () => JSON.parse(awsJson<{ SecretString: string }>(aws, ['secretsmanager', 'get-secret-value', '--secret-id', dev.secrets.llmKeysName]).SecretString);
    // The first time: the secret Terraform created holds no value yet.
    const first = run({ OPENAI_API_KEY: 'sk-first', ANTHROPIC_API_KEY: 'ak-first', SLACK_WEBHOOK_URL: 'https://hooks.slack.test/T/B/x' });
    expect(first.status === 0 ? 'ok' : first.stderr).toBe('ok');
    const made = llmKeys();
    expect(made).toEqual({ OPENAI_API_KEY: 'sk-first', ANTHROPIC_API_KEY: 'ak-first', ENDPOINT_KEYS_SECRET: expect.stringMatching(/^[A-Za-z0-9+/=]{64}$/) });
    expect(JSON.parse(awsJson<{ SecretString: string }>(aws, ['secretsmanager', 'get-secret-value', '--secret-id', 'dev/eval-platform/slack-webhook']).SecretString)).toEqual({ url: 'https://hooks.slack.test/T/B/x' });
    // Again, after someone added a key of their own: that key and the sealing secret stay, the LLM keys change.
    awsJson(aws, ['secretsmanager', 'put-secret-value', '--secret-id', dev.secrets.llmKeysName, '--secret-string', JSON.stringify({ ...made, MISTRAL_API_KEY: 'mk' })]);
    expect(run({ OPENAI_API_KEY: 'sk-second', ANTHROPIC_API_KEY: 'ak-second', SLACK_WEBHOOK_URL: 'https://hooks.slack.test/T/B/y' }).status).toBe(0);
    expect(llmKeys()).toEqual({ OPENAI_API_KEY: 'sk-second', ANTHROPIC_API_KEY: 'ak-second', ENDPOINT_KEYS_SECRET: made.ENDPOINT_KEYS_SECRET, MISTRAL_API_KEY: 'mk' });
    // No key ever on a command line: they come from the environment, through a private file that is gone after.
    expect(step![1]).not.toMatch(/--secret-string '|--arg [a-z]+ "\$[A-Z]+_API_KEY/);
  });

  it('4. both destroyed (prevent_destroy lifted in the copy), the account holds what it held before', () => {
    terraformOk(devCopy.dir, aws, ['destroy', '-auto-approve', '-input=false', '-parallelism=30']);
    // The bootstrap's state leaves its bucket before the bucket goes (README, "Tearing down"): pulled into a local
    // file, pushed into local state; then the bucket is emptied of every version and the stack destroyed.
    const names = accountBootstrapNames(dev.accountId);
    writeFileSync(join(bootstrapDir, 'pulled.tfstate'), terraformOk(bootstrapDir, aws, ['state', 'pull']).replace(/^[^{]*/, ''));
    prepareCopy(stacks.s3[bootstrapStackName(dev.accountId)], bootstrapDir, aws, { gaps: SIMULATOR_GAPS, mirror: mirror!, liftPreventDestroy: true, stateBackend: 'local' });
    terraformOk(bootstrapDir, aws, ['init', '-input=false', '-reconfigure']);
    terraformOk(bootstrapDir, aws, ['state', 'push', 'pulled.tfstate']);
    const versions = awsJson<{ Versions?: { Key: string; VersionId: string }[]; DeleteMarkers?: { Key: string; VersionId: string }[] }>(aws, [
      's3api', 'list-object-versions', '--bucket', names.stateBucket,
    ]);
    for (const version of [...(versions.Versions ?? []), ...(versions.DeleteMarkers ?? [])]) {
      awsJson(aws, ['s3api', 'delete-object', '--bucket', names.stateBucket, '--key', version.Key, '--version-id', version.VersionId]);
    }
    terraformOk(bootstrapDir, aws, ['destroy', '-auto-approve', '-input=false', '-parallelism=20']);
    expect(terraform(bootstrapDir, aws, ['state', 'list']).out.trim()).toBe('');
    expect(census()).toEqual(baseline);
  }, 900_000);

  it('the copies applied are the synthesized stacks less the listed gaps: nothing else was removed', () => {
    const synthesized = managedResources(stacks.s3.dev);
    const gapTypes = new Set(SIMULATOR_GAPS.filter((g) => !g.argument).map((g) => g.type));
    expect(devCopy.skipped.every((address) => gapTypes.has(address.split('.')[0]))).toBe(true);
    // The one resource removed for reading a gap: the Redis AUTH token's provisioner, which needs the replication group.
    expect(devCopy.dependents.map((a) => a.split('.')[0])).toEqual(['terraform_data']);
    expect(devCopy.planned).toEqual(synthesized);
  });
});
