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
  const json = JSON.parse(text) as { resource: Resources; data: Resources; terraform: any; output: Record<string, unknown>; ephemeral?: Resources };
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

  it('creates the images’ ECR repositories: immutable tags, scan on push, KMS, pull for the nodes and push for one role only', () => {
    const account = name === 'dev' ? '111111111111' : '222222222222';
    const pusher = name === 'dev' ? `arn:aws:iam::${account}:role/ai-eval-platform-github-release` : `arn:aws:iam::${account}:role/ai-eval-platform-github-promote`;
    const repos = s.all('aws_ecr_repository');
    expect(repos.map((r) => r.name).sort()).toEqual([`ai-eval-platform-${name}/orchestrator`, `ai-eval-platform-${name}/worker`]);
    for (const repo of repos) {
      expect(repo).toMatchObject({ image_tag_mutability: 'IMMUTABLE', image_scanning_configuration: { scan_on_push: true }, encryption_configuration: [{ encryption_type: 'KMS' }] });
      expect(repo.lifecycle.prevent_destroy).toBe(name === 'prod');
    }
    // The Deployments' image repositories are these repositories' URLs.
    const env = environment(name as 'dev' | 'prod');
    expect(env.images.worker.repository).toBe(`${account}.dkr.ecr.eu-west-1.amazonaws.com/ai-eval-platform-${name}/worker`);
    // One lifecycle policy per repository (counted first: a loop over none asserts nothing).
    const repositoryIds = Object.keys(s.json.resource.aws_ecr_repository);
    const lifecycles = s.all('aws_ecr_lifecycle_policy');
    expect(lifecycles.map((l) => l.repository).sort()).toEqual(repositoryIds.map((id) => `\${aws_ecr_repository.${id}.name}`).sort());
    for (const lifecycle of lifecycles) {
      const rules = JSON.parse(lifecycle.policy).rules as Array<{ rulePriority: number; selection: Record<string, unknown> }>;
      expect(rules.map((r) => [r.rulePriority, r.selection.tagStatus, r.selection.countType, r.selection.countNumber])).toEqual([
        [1, 'tagged', 'imageCountMoreThan', 10000],
        [2, 'untagged', 'sinceImagePushed', 7],
        [3, 'any', 'imageCountMoreThan', 30],
      ]);
      expect(rules[0].selection.tagPatternList).toEqual(['*.*.*']);
    }
    const access = Object.entries(s.json.data.aws_iam_policy_document).filter(([id]) => id.startsWith('registry_') && id.includes('-access'));
    expect(access).toHaveLength(2);
    for (const [, doc] of access) {
      const statements = doc.statement as Array<{ sid: string; effect: string; principals: Array<{ identifiers: string[] }>; actions: string[]; condition?: Array<{ test: string; values: string[] }> }>;
      const bySid = Object.fromEntries(statements.map((st) => [st.sid, st]));
      expect(bySid.PullByNodes.principals[0].identifiers).toEqual([expect.stringMatching(/^\$\{aws_iam_role\.eks_node-role_[A-F0-9]+\.arn\}$/)]);
      expect(bySid.PullByNodes.actions).not.toContain('ecr:PutImage');
      expect(bySid.PushByRelease.principals[0].identifiers).toEqual([pusher]);
      expect(bySid.PushByRelease.actions).toContain('ecr:PutImage');
      expect(bySid.NoOtherWriter).toMatchObject({ effect: 'Deny', condition: [{ test: 'ArnNotEquals', variable: 'aws:PrincipalArn', values: [pusher] }] });
      expect(bySid.NoOtherWriter.actions).toEqual(expect.arrayContaining(['ecr:PutImage', 'ecr:BatchDeleteImage']));
    }
    expect(Object.keys(s.json.output)).toEqual(expect.arrayContaining(['orchestrator_repository_url', 'worker_repository_url']));
  });

  it('requires IMDSv2 on every node and ClickHouse instance', () => {
    // Every node group launches from a template of this stack, and ClickHouse runs on instances: counted first, so
    // a stack that lost its templates or instances fails here instead of looping over nothing.
    const groups = s.all('aws_eks_node_group');
    const templates = Object.keys(s.json.resource.aws_launch_template ?? {});
    expect(groups.map((g) => g.launch_template.id).sort()).toEqual(templates.map((id) => `\${aws_launch_template.${id}.id}`).sort());
    expect(templates).toHaveLength(groups.length);
    const instances = s.all('aws_instance');
    expect(instances).toHaveLength(name === 'prod' ? 3 : 1);
    // Hop limit 1: a pod (one hop further) cannot reach the node's credentials; pods use their IRSA roles.
    for (const lt of s.all('aws_launch_template')) expect(lt.metadata_options).toMatchObject({ http_tokens: 'required', http_put_response_hop_limit: 1 });
    for (const instance of instances) expect(instance.metadata_options.http_tokens).toBe('required');
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
    expect(redis.transit_encryption_mode).toBe('required');
    // No token argument (it would be stored in state): a provisioner sets it from its secret (terraform-order.test.ts).
    expect(redis).not.toHaveProperty('auth_token');
    expect(Object.keys(s.json.data.aws_secretsmanager_secret_version ?? {})).toEqual([]);
    expect(s.one('aws_elasticache_parameter_group').parameter).toEqual([{ name: 'maxmemory-policy', value: 'noeviction' }]);
    expect(Testing.toHaveResourceWithProperties(s.text, ElasticacheParameterGroup.tfResourceType, {
      parameter: [{ name: 'maxmemory-policy', value: 'noeviction' }],
    })).toBe(true);
  });

  it('the services log in to RDS with IAM: authentication on, each service role may connect as eval_app and as nothing else', () => {
    expect(s.one('aws_db_instance')).toMatchObject({ iam_database_authentication_enabled: true, manage_master_user_password: true });
    const documents = Object.entries(s.json.data.aws_iam_policy_document as Record<string, any>);
    const connecting = documents.filter(([, d]) => JSON.stringify(d).includes('rds-db:connect')).map(([k]) => k.replace(/_[0-9A-F]{8}$/, ''));
    expect(connecting.sort()).toEqual(['orchestrator-role_permissions', 'worker-role_permissions']);
    for (const [key, d] of documents.filter(([k]) => /^(worker|orchestrator)-role_permissions/.test(k))) {
      expect([key, d.statement.find((st: any) => st.actions.includes('rds-db:connect'))]).toEqual([
        key,
        { effect: 'Allow', actions: ['rds-db:connect'], resources: [expect.stringMatching(/^arn:aws:rds-db:[a-z0-9-]+:\d{12}:dbuser:\$\{aws_db_instance\.[^.]+\.resource_id\}\/eval_app$/)] },
      ]);
    }
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

  it('generates the Redis and ClickHouse passwords in Secrets Manager, written write-only: no third-party provider', () => {
    expect(Object.keys(s.json.terraform.required_providers)).toEqual(['aws']);
    expect(s.json.terraform.required_version).toBe('>= 1.11');
    const passwords = s.json.ephemeral?.aws_secretsmanager_random_password ?? {};
    expect(Object.keys(passwords)).toHaveLength(2);
    for (const p of Object.values(passwords)) expect(p).toMatchObject({ exclude_punctuation: true, include_space: false });
    const versions = s.all('aws_secretsmanager_secret_version').filter((v) => v.secret_string_wo);
    expect(versions).toHaveLength(2);
    for (const v of versions) {
      expect(v.secret_string).toBeUndefined();
      expect(v.secret_string_wo).toMatch(/^\$\{jsonencode\(\{.*password = ephemeral\.aws_secretsmanager_random_password\.[^.]+\.random_password\}\)\}$/);
      expect(v.secret_string_wo_version).toBe(1);
    }
  });

  it('writes depends_on as bare resource addresses of resources it declares (terraform refuses interpolations there)', () => {
    const declared = new Set(Object.entries(s.json.resource).flatMap(([type, byName]) => Object.keys(byName).map((n) => `${type}.${n}`)));
    const dependsOn = Object.values(s.json.resource).flatMap((byName) => Object.values(byName).flatMap((r) => (r.depends_on ?? []) as string[]));
    expect(dependsOn.length).toBeGreaterThan(0);
    for (const ref of dependsOn) {
      expect(ref).toMatch(/^[a-z0-9_]+\.[A-Za-z0-9_-]+$/);
      expect(declared.has(ref)).toBe(true);
    }
    const coredns = s.one('aws_eks_addon', (a) => a.addon_name === 'coredns');
    expect(coredns.depends_on.every((ref: string) => ref.startsWith('aws_eks_node_group.'))).toBe(true);
  });

  it('enforces NetworkPolicies: the VPC CNI add-on runs its network policy agent', () => {
    const cni = s.one('aws_eks_addon', (a) => a.addon_name === 'vpc-cni');
    expect(JSON.parse(cni.configuration_values)).toEqual({ enableNetworkPolicy: 'true' });
  });

  it('gives the configured admins cluster-admin access entries, and the deploy role only the Argo CD namespace', () => {
    const env = environment(name as 'dev' | 'prod');
    const associations = s.all('aws_eks_access_policy_association');
    const admins = associations.filter((a) => a.policy_arn.endsWith('/AmazonEKSClusterAdminPolicy'));
    expect(admins).toHaveLength(env.cluster.adminRoleArns.length);
    expect(admins.every((a) => a.access_scope.type === 'cluster')).toBe(true);
    expect(s.all('aws_eks_access_entry').map((e) => e.principal_arn)).toEqual(
      [...env.cluster.adminRoleArns, ...(env.cluster.deployRoleArn ? [env.cluster.deployRoleArn] : [])],
    );
    const deploy = associations.filter((a) => a.policy_arn.endsWith('/AmazonEKSEditPolicy'));
    if (env.cluster.deployRoleArn) expect(deploy).toEqual([expect.objectContaining({ access_scope: { type: 'namespace', namespaces: ['argocd'] } })]);
    else expect(deploy).toEqual([]);
  });

  it('creates the IRSA roles of the node autoscaler (scoped to this cluster) and of Grafana (the ClickHouse secret only)', () => {
    const docs = s.json.data.aws_iam_policy_document as Record<string, any>;
    const doc = (prefix: string) => Object.entries(docs).find(([id]) => id.startsWith(prefix))?.[1];
    expect(doc('cluster-autoscaler-role_trust').statement[0].condition[0].values).toEqual(['system:serviceaccount:kube-system:cluster-autoscaler']);
    const scaling = doc('cluster-autoscaler-role_permissions').statement[1];
    expect(scaling.actions).toEqual(['autoscaling:SetDesiredCapacity', 'autoscaling:TerminateInstanceInAutoScalingGroup']);
    expect(scaling.condition).toEqual([{ test: 'StringEquals', variable: `aws:ResourceTag/k8s.io/cluster-autoscaler/ai-eval-platform-${name}`, values: ['owned'] }]);
    expect(doc('grafana-secrets-role_trust').statement[0].condition[0].values).toEqual(['system:serviceaccount:monitoring:grafana-secrets']);
    const [readable] = doc('grafana-secrets-role_permissions').statement[0].resources;
    expect(doc('grafana-secrets-role_permissions').statement[0].resources).toHaveLength(1);
    expect(readable).toMatch(/^\$\{aws_secretsmanager_secret\.secrets_clickhouse_[0-9A-F]+\.arn\}$/);
  });

  it('puts no plaintext secret in the synthesized JSON', () => {
    expect(findSecrets(s.text, `${name}.tf.json`)).toEqual([]);
    expect(s.text).not.toMatch(/"(password|auth_token|secret_string)":\s*"[^$"][^"]*"/);
  });

  it('outputs the cluster, endpoints and role ARNs', () => {
    expect(Object.keys(s.json.output)).toEqual(expect.arrayContaining([
      'cluster_name', 'cluster_endpoint', 'postgres_endpoint', 'redis_endpoint', 'clickhouse_host', 'external_secrets_role_arn', 'worker_role_arn',
      'cluster_autoscaler_role_arn', 'grafana_secrets_role_arn', 'kubeconfig_command',
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

  it('keeps the prod ClickHouse data volumes from being destroyed by a plan; dev volumes can go', () => {
    expect(prod.all('aws_ebs_volume').map((v) => v.lifecycle.prevent_destroy)).toEqual([true, true, true]);
    expect(dev.all('aws_ebs_volume').map((v) => v.lifecycle.prevent_destroy)).toEqual([false]);
  });

  it('tells the services the ClickHouse cluster in prod (replicated tables), nothing in dev', () => {
    const connections = (s: typeof prod) => s.one('aws_secretsmanager_secret_version', (v) => String(v.secret_id).includes('connections')).secret_string;
    expect(connections(prod)).toContain('"CLICKHOUSE_CLUSTER" = "eval"');
    expect(connections(dev)).toContain('"CLICKHOUSE_CLUSTER" = ""');
    expect(prod.all('aws_instance')[0].user_data).toContain('<remote_servers><eval><shard><internal_replication>true</internal_replication>');
  });

  it('keeps the prod API endpoint private; dev public', () => {
    expect(prod.one('aws_eks_cluster').vpc_config).toMatchObject({ endpoint_private_access: true, endpoint_public_access: false });
    expect(dev.one('aws_eks_cluster').vpc_config).toMatchObject({ endpoint_public_access: true, public_access_cidrs: ['0.0.0.0/0'] });
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
