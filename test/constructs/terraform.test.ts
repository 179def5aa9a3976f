import { Testing } from 'cdktf';
import { ElasticacheParameterGroup } from '@cdktf/provider-aws/lib/elasticache-parameter-group';
import { PlatformStack } from '@ai-eval-platform/constructs/terraform';
import { findSecrets } from '@ai-eval-platform/constructs';
import { environment } from '../support/environments';

type Resources = Record<string, Record<string, any>>; // Terraform JSON is untyped by nature

function synth(name: 'dev' | 'prod') {
  const app = Testing.app();
  const stack = new PlatformStack(app, name, { env: environment(name) });
  const text = Testing.synth(stack);
  const json = JSON.parse(text) as { resource: Resources; data: Resources; terraform: any; output: Record<string, unknown> };
  const all = (type: string) => Object.values(json.resource[type] ?? {});
  const one = (type: string, where: (r: any) => boolean = () => true) => {
    const found = all(type).filter(where);
    expect(found).toHaveLength(1);
    return found[0];
  };
  return { text, json, all, one };
}

const dev = synth('dev');
const prod = synth('prod');

describe.each([
  ['dev', dev],
  ['prod', prod],
])('Terraform stack (%s)', (name, s) => {
  it('keeps state in S3 under its own key, encrypted and locked', () => {
    expect(s.json.terraform.backend.s3).toMatchObject({ key: `${name}/terraform.tfstate`, encrypt: true, use_lockfile: true });
  });

  it('creates the brief node groups exactly, the SPOT one tainted, desired size left to the autoscaler', () => {
    const general = s.one('aws_eks_node_group', (g) => g.node_group_name === 'general');
    expect(general.instance_types).toEqual(['t3.large']);
    expect(general.capacity_type).toBe('ON_DEMAND');
    expect(general.scaling_config).toEqual({ min_size: 1, max_size: 3, desired_size: 2 });
    expect(general.taint).toEqual([]);
    const spot = s.one('aws_eks_node_group', (g) => g.node_group_name === 'workers_spot');
    expect(spot.capacity_type).toBe('SPOT');
    expect(spot.instance_types[0]).toBe('c5.xlarge');
    expect(spot.scaling_config).toEqual({ min_size: 2, max_size: 10, desired_size: 2 });
    expect(spot.taint).toEqual([{ key: 'ai-eval-platform/workers', value: 'true', effect: 'NO_SCHEDULE' }]);
    for (const group of [general, spot]) expect(group.lifecycle.ignore_changes).toContain('scaling_config[0].desired_size');
  });

  it('requires IMDSv2 on every node and ClickHouse instance', () => {
    for (const lt of s.all('aws_launch_template')) expect(lt.metadata_options.http_tokens).toBe('required');
    for (const instance of s.all('aws_instance')) expect(instance.metadata_options.http_tokens).toBe('required');
  });

  it('runs a supported Kubernetes version with every control-plane log, KMS secrets, OIDC and the add-ons', () => {
    const cluster = s.one('aws_eks_cluster');
    expect(cluster.name).toBe(`ai-eval-platform-${name}`);
    expect(cluster.version).toBe('1.33');
    expect(cluster.enabled_cluster_log_types).toEqual(['api', 'audit', 'authenticator', 'controllerManager', 'scheduler']);
    expect(cluster.encryption_config.resources).toEqual(['secrets']);
    expect(cluster.access_config.authentication_mode).toBe('API');
    expect(s.all('aws_iam_openid_connect_provider')).toHaveLength(1);
    expect(s.all('aws_eks_addon').map((a) => a.addon_name).sort()).toEqual(
      ['aws-ebs-csi-driver', 'coredns', 'eks-pod-identity-agent', 'kube-proxy', 'vpc-cni'],
    );
  });

  it('spreads the VPC over 3 AZs with public and private subnets tagged for EKS load balancers', () => {
    const subnets = s.all('aws_subnet');
    expect(subnets.filter((x) => x.tags['kubernetes.io/role/elb'] === '1')).toHaveLength(3);
    expect(subnets.filter((x) => x.tags['kubernetes.io/role/internal-elb'] === '1')).toHaveLength(3);
    expect(s.all('aws_nat_gateway')).toHaveLength(name === 'prod' ? 3 : 1);
  });

  it('keeps Postgres private and encrypted, with automated backups and an RDS-managed master password', () => {
    const db = s.one('aws_db_instance');
    expect(db).toMatchObject({ publicly_accessible: false, storage_encrypted: true, manage_master_user_password: true });
    expect(db.password).toBeUndefined();
    expect(db.backup_retention_period).toBeGreaterThanOrEqual(name === 'prod' ? 7 : 1);
    const params = s.one('aws_db_parameter_group');
    expect(params.parameter).toContainEqual({ name: 'rds.force_ssl', value: '1' });
  });

  it('runs the queue on Redis with TLS, AUTH and noeviction', () => {
    const redis = s.one('aws_elasticache_replication_group');
    expect(redis).toMatchObject({ transit_encryption_enabled: true, at_rest_encryption_enabled: 'true' });
    expect(redis.auth_token).toMatch(/^\$\{random_password\..+\.result\}$/);
    expect(s.one('aws_elasticache_parameter_group').parameter).toEqual([{ name: 'maxmemory-policy', value: 'noeviction' }]);
    expect(Testing.toHaveResourceWithProperties(s.text, ElasticacheParameterGroup.tfResourceType, {
      parameter: [{ name: 'maxmemory-policy', value: 'noeviction' }],
    })).toBe(true);
  });

  it('protects the artifact bucket: versioning, KMS encryption, public access blocked, lifecycle rules', () => {
    expect(s.one('aws_s3_bucket_versioning').versioning_configuration.status).toBe('Enabled');
    expect(s.one('aws_s3_bucket_server_side_encryption_configuration').rule[0].apply_server_side_encryption_by_default.sse_algorithm).toBe('aws:kms');
    expect(s.one('aws_s3_bucket_public_access_block')).toMatchObject({
      block_public_acls: true, block_public_policy: true, ignore_public_acls: true, restrict_public_buckets: true,
    });
    const rule = s.one('aws_s3_bucket_lifecycle_configuration').rule[0];
    expect(rule.noncurrent_version_expiration[0].noncurrent_days).toBe(90);
    expect(rule.abort_incomplete_multipart_upload[0].days_after_initiation).toBe(7);
  });

  it('creates the LLM keys secret without a value, and IRSA roles scoped to it and to the bucket', () => {
    const llm = s.one('aws_secretsmanager_secret', (x) => x.name === `${name}/eval-platform/llm-keys`);
    expect(llm).toBeDefined();
    const versions = s.all('aws_secretsmanager_secret_version');
    expect(versions.some((v) => String(v.secret_id).includes('llm-keys'))).toBe(false);
    const roles = s.all('aws_iam_role').map((r) => r.name);
    expect(roles).toEqual(expect.arrayContaining([`ai-eval-platform-${name}-external-secrets`, `ai-eval-platform-${name}-worker`]));
    const workerPolicy = Object.entries(s.json.data.aws_iam_policy_document).find(([id]) => id.startsWith('worker-role_permissions'))?.[1] as any;
    expect(workerPolicy.statement[0].resources).toEqual(['${aws_s3_bucket.artifacts_bucket_A41425E9.arn}', '${aws_s3_bucket.artifacts_bucket_A41425E9.arn}/*']);
    const trust = Object.entries(s.json.data.aws_iam_policy_document).find(([id]) => id.startsWith('worker-role_trust'))?.[1] as any;
    expect(trust.statement[0].condition[0].values).toEqual(['system:serviceaccount:ai-eval:worker']);
  });

  it('puts no plaintext secret in the synthesized JSON', () => {
    expect(findSecrets(s.text, `${name}.tf.json`)).toEqual([]);
    expect(s.text).not.toMatch(/"(password|auth_token|secret_string)":\s*"[^$"][^"]*"/);
  });

  it('outputs the cluster, endpoints and role ARNs', () => {
    expect(Object.keys(s.json.output)).toEqual(expect.arrayContaining([
      'cluster_name', 'cluster_endpoint', 'postgres_endpoint', 'redis_endpoint', 'clickhouse_host', 'external_secrets_role_arn', 'worker_role_arn',
    ]));
  });
});

describe('production differs from dev where the brief demands it', () => {
  it('makes prod Postgres multi-AZ, deletion-protected, with a final snapshot; dev none of these', () => {
    expect(prod.one('aws_db_instance')).toMatchObject({ multi_az: true, deletion_protection: true, skip_final_snapshot: false });
    expect(dev.one('aws_db_instance')).toMatchObject({ multi_az: false, deletion_protection: false, skip_final_snapshot: true });
  });

  it('replicates ClickHouse 3 times with Keeper in prod, one node in dev', () => {
    expect(prod.all('aws_instance')).toHaveLength(3);
    expect(prod.all('aws_ebs_volume').every((v) => v.encrypted === true && v.type === 'gp3')).toBe(true);
    expect(prod.all('aws_instance')[0].user_data).toContain('<keeper_server>');
    expect(dev.all('aws_instance')).toHaveLength(1);
    expect(dev.all('aws_instance')[0].user_data).not.toContain('<keeper_server>');
  });

  it('backs up S3 and the ClickHouse volumes with AWS Backup in prod only', () => {
    const selection = prod.one('aws_backup_selection');
    expect(selection.resources).toEqual(['${aws_s3_bucket.artifacts_bucket_A41425E9.arn}']);
    expect(selection.selection_tag).toEqual([{ type: 'STRINGEQUALS', key: 'ai-eval-platform/backup', value: 'ai-eval-platform-prod' }]);
    expect(prod.all('aws_ebs_volume').every((v) => v.tags['ai-eval-platform/backup'] === 'ai-eval-platform-prod')).toBe(true);
    expect(prod.one('aws_backup_plan').rule[0].lifecycle.delete_after).toBe(35);
    expect(dev.all('aws_backup_plan')).toHaveLength(0);
  });

  it('fails early when a construct gets contradictory props', () => {
    const app = Testing.app();
    expect(() => new PlatformStack(app, 'broken', { env: { ...environment('dev'), nodeGroups: { general: { ...environment('dev').nodeGroups.general, minSize: 4 } } } }))
      .toThrow('node-group-general: minSize (4) must be <= maxSize (3)');
  });
});
