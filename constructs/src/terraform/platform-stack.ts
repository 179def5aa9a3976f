import { dependable, Fn, S3Backend, TerraformOutput, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { Route53Zone } from '@cdktf/provider-aws/lib/route53-zone';
import { SecretsmanagerSecret } from '@cdktf/provider-aws/lib/secretsmanager-secret';
import { SecretsmanagerSecretVersion } from '@cdktf/provider-aws/lib/secretsmanager-secret-version';
import type { EnvironmentConfig } from '../config/environment-config';
import { platformNames } from '../config/names';
import { accountBootstrapNames, stateKeyAliasArn } from '../config/bootstrap';
import { ADDON_CHARTS } from '../config/cluster-addons';
import { SERVICE_ACCOUNTS } from '../config/service-accounts';
import { POD_ENV, SERVICE_DEFAULTS, SERVICE_ENV } from '../config/service-environment';
import { ArtifactBucket } from './artifact-bucket';
import { BackupPlan } from './backup-plan';
import { ClickhouseCluster } from './clickhouse-cluster';
import { ContainerRegistry } from './container-registry';
import { EksCluster } from './eks-cluster';
import { IrsaRole } from './irsa-role';
import { ManagedNodeGroup } from './managed-node-group';
import { Network } from './network';
import { PlatformSecrets } from './platform-secrets';
import { PostgresDatabase } from './postgres-database';
import { RedisQueue } from './redis-queue';

export interface PlatformStackProps {
  /** A validated environment (`resolveEnvironment`). */
  readonly env: EnvironmentConfig;
}

/**
 * Everything one environment runs on, in one Terraform stack with S3 remote state (a key per
 * environment, encryption, S3-native locking): network, EKS with the brief's node groups, Postgres,
 * Redis, ClickHouse, the artifact bucket, the images' ECR repositories, secrets, IRSA roles and backups.
 */
export class PlatformStack extends TerraformStack {
  readonly env: EnvironmentConfig;
  readonly network: Network;
  readonly eks: EksCluster;
  readonly nodeGroups: Record<string, ManagedNodeGroup> = {};
  readonly database: PostgresDatabase;
  readonly redis: RedisQueue;
  readonly clickhouse: ClickhouseCluster;
  readonly bucket: ArtifactBucket;
  readonly registry: ContainerRegistry;
  readonly secrets: PlatformSecrets;
  readonly backupPlan?: BackupPlan;

  constructor(scope: Construct, id: string, props: PlatformStackProps) {
    super(scope, id);
    const env = (this.env = props.env);
    const names = platformNames(env);
    const prefix = names.prefix;

    new AwsProvider(this, 'aws', {
      region: env.region,
      allowedAccountIds: [env.accountId],
      defaultTags: [{ tags: { ...env.tags, environment: env.name, 'managed-by': 'cdktf', 'ai-eval-platform/environment': env.name } }],
    });
    // In the account bootstrap's bucket, encrypted with its key (`encrypt` alone would mean S3's own key).
    const bootstrapped = env.state.bucket === accountBootstrapNames(env.accountId).stateBucket;
    const backend = new S3Backend(this, {
      bucket: env.state.bucket,
      key: env.state.key,
      region: env.state.region,
      encrypt: true,
      ...(bootstrapped ? { kmsKeyId: stateKeyAliasArn(env.accountId, env.state.region) } : {}),
    });
    // S3-native state locking (Terraform >= 1.10); DynamoDB locking is deprecated.
    backend.addOverride('use_lockfile', true);
    // Ephemeral resources and write-only arguments (PlatformSecrets) need 1.11.
    this.addOverride('terraform.required_version', '>= 1.11');

    this.network = new Network(this, 'network', {
      clusterName: env.clusterName,
      vpcCidr: env.network.vpcCidr,
      azCount: env.network.azCount,
      singleNatGateway: env.network.singleNatGateway,
    });
    const vpcId = this.network.vpc.id;
    const privateSubnetIds = this.network.privateSubnetIds;

    this.eks = new EksCluster(this, 'eks', {
      clusterName: env.clusterName,
      kubernetesVersion: env.kubernetesVersion,
      vpcId,
      privateSubnetIds,
      publicEndpoint: env.cluster.publicEndpoint,
      publicAccessCidrs: env.cluster.publicAccessCidrs,
      adminRoleArns: env.cluster.adminRoleArns,
      deployRoleArn: env.cluster.deployRoleArn,
      deployNamespaces: [env.gitops.argocdNamespace],
      logRetentionDays: env.cluster.logRetentionDays,
    });
    for (const [groupName, group] of Object.entries(env.nodeGroups)) {
      this.nodeGroups[groupName] = new ManagedNodeGroup(this, `node-group-${groupName}`, {
        clusterName: this.eks.cluster.name,
        nodeGroupName: groupName,
        nodeRoleArn: this.eks.nodeRole.arn,
        subnetIds: privateSubnetIds,
        nodeSecurityGroupId: this.eks.nodeSecurityGroup.id,
        dependsOn: this.eks.computePrerequisites,
        ...group,
      });
    }
    // CoreDNS and the EBS CSI controller need nodes to become healthy. `depends_on` takes bare addresses
    // (`aws_eks_node_group.x`), never an interpolation: `dependable` renders them so.
    const nodeGroupRefs = Object.values(this.nodeGroups).map((group) => dependable(group.nodeGroup));
    for (const addon of ['coredns', 'aws-ebs-csi-driver']) this.eks.addons[addon].dependsOn = [...(this.eks.addons[addon].dependsOn ?? []), ...nodeGroupRefs];

    const zone = new Route53Zone(this, 'private-zone', {
      name: env.dns.privateZone,
      comment: `${prefix} data stores`,
      vpc: [{ vpcId }],
    });

    this.secrets = new PlatformSecrets(this, 'secrets', {
      llmKeysSecretName: names.llmKeysSecret,
      slackWebhookSecretName: names.slackWebhookSecret,
      redisSecretName: names.redisAuthSecret,
      clickhouseSecretName: names.clickhouseSecret,
      recoveryWindowDays: env.secrets.recoveryWindowDays,
    });

    const clients = this.eks.nodeSecurityGroup.id;
    this.database = new PostgresDatabase(this, 'postgres', {
      identifier: prefix,
      vpcId,
      subnetIds: privateSubnetIds,
      clientSecurityGroupId: clients,
      instanceClass: env.database.instanceClass,
      engineVersion: env.database.engineVersion,
      allocatedStorageGiB: env.database.allocatedStorageGiB,
      maxAllocatedStorageGiB: env.database.maxAllocatedStorageGiB,
      multiAz: env.database.multiAz,
      deletionProtection: env.database.deletionProtection,
      backupRetentionDays: env.database.backupRetentionDays,
      finalSnapshot: env.database.finalSnapshot,
      databaseName: env.database.databaseName,
      tags: { [names.postgresSecretTag.key]: names.postgresSecretTag.value },
    });
    this.redis = new RedisQueue(this, 'redis', {
      name: prefix,
      vpcId,
      subnetIds: privateSubnetIds,
      clientSecurityGroupId: clients,
      nodeType: env.redis.nodeType,
      engineVersion: env.redis.engineVersion,
      nodes: env.redis.nodes,
      authTokenSecret: { name: names.redisAuthSecret, version: this.secrets.redisValue },
      region: env.region,
      snapshotRetentionDays: env.redis.snapshotRetentionDays,
    });
    this.clickhouse = new ClickhouseCluster(this, 'clickhouse', {
      name: prefix,
      region: env.region,
      vpcId,
      subnetIds: privateSubnetIds,
      availabilityZones: this.network.availabilityZones,
      clientSecurityGroupId: clients,
      replicas: env.clickhouse.replicas,
      instanceType: env.clickhouse.instanceType,
      dataVolumeGiB: env.clickhouse.dataVolumeGiB,
      dataVolumeIops: env.clickhouse.dataVolumeIops,
      dataVolumeThroughputMiBps: env.clickhouse.dataVolumeThroughputMiBps,
      version: env.clickhouse.version,
      zoneId: zone.zoneId,
      hosts: names.clickhouseHosts,
      serviceHost: names.clickhouseHost,
      passwordSecretName: names.clickhouseSecret,
      passwordSecretArn: this.secrets.clickhouse.arn,
      passwordVersion: this.secrets.clickhouseValue,
      dataVolumeTags: env.backup.awsBackupPlan ? { [names.backupTag.key]: names.backupTag.value } : {},
      retainDataVolumes: env.production,
    });
    this.bucket = new ArtifactBucket(this, 'artifacts', {
      bucketName: env.bucket.name,
      transitionToInfrequentAccessDays: env.bucket.transitionToInfrequentAccessDays,
      expireNoncurrentVersionsDays: env.bucket.expireNoncurrentVersionsDays,
      abortIncompleteUploadsDays: env.bucket.abortIncompleteUploadsDays,
      retainOnDestroy: env.production,
    });

    // The repositories the Deployments pull from; the release workflow pushes (or a promotion copies) into them.
    this.registry = new ContainerRegistry(this, 'registry', {
      repositories: env.images.repositoryNames,
      pullRoleArns: [this.eks.nodeRole.arn],
      pushRoleArn: env.images.registry.pushRoleArn,
      keepBuilds: env.images.registry.keepBuilds,
      untaggedExpiryDays: env.images.registry.untaggedExpiryDays,
      retainOnDestroy: env.production,
    });

    // Where the data stores are, for the pods (through External Secrets): hosts and ports, no credentials.
    const connections = new SecretsmanagerSecret(this, 'connections', {
      name: names.connectionsSecret,
      description: 'Data store endpoints for the platform services (no credentials)',
      recoveryWindowInDays: env.secrets.recoveryWindowDays,
    });
    new SecretsmanagerSecretVersion(this, 'connections-value', {
      secretId: connections.id,
      secretString: Fn.jsonencode({
        [SERVICE_ENV.postgresHost]: this.database.instance.address,
        [SERVICE_ENV.postgresPort]: String(SERVICE_DEFAULTS.postgresPort),
        [SERVICE_ENV.postgresDatabase]: env.database.databaseName,
        [SERVICE_ENV.redisHost]: this.redis.replicationGroup.primaryEndpointAddress,
        [SERVICE_ENV.redisPort]: String(SERVICE_DEFAULTS.redisPort),
        [SERVICE_ENV.redisTls]: 'true',
        [SERVICE_ENV.clickhouseUrl]: `http://${names.clickhouseHost}:${SERVICE_DEFAULTS.clickhouseHttpPort}`,
        [SERVICE_ENV.clickhouseCluster]: env.clickhouse.replicas > 1 ? SERVICE_DEFAULTS.clickhouseCluster : '',
        [POD_ENV.artifactBucket]: this.bucket.bucket.bucket,
        [POD_ENV.awsRegion]: env.region,
      }),
    });

    const irsa = { oidcProviderArn: this.eks.oidcProvider.arn, oidcIssuerHost: this.eks.oidcIssuerHost };
    const externalSecrets = new IrsaRole(this, 'external-secrets-role', {
      ...irsa,
      roleName: names.externalSecretsRoleName,
      namespace: env.kubernetes.externalSecretsNamespace,
      serviceAccount: SERVICE_ACCOUNTS.externalSecrets,
      statements: [
        {
          actions: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
          resources: [
            this.secrets.llmKeys.arn,
            this.secrets.redis.arn,
            this.secrets.clickhouse.arn,
            this.secrets.slackWebhook.arn,
            connections.arn,
            this.database.instance.masterUserSecret.get(0).secretArn,
          ],
        },
        // ESO finds the RDS-managed secret (whose name RDS chooses) by its tag.
        { actions: ['secretsmanager:ListSecrets'], resources: ['*'] },
      ],
    });
    const bucketAccess = {
      actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:ListBucket', 's3:GetBucketLocation'],
      resources: [this.bucket.bucket.arn, `${this.bucket.bucket.arn}/*`],
    };
    // Logging in to Postgres as the application role, and as nothing else (IAM authentication: a token per connection).
    const databaseLogin = { actions: ['rds-db:connect'], resources: [this.database.dbUserArn(env.region, env.accountId, SERVICE_DEFAULTS.postgresAppUser)] };
    const worker = new IrsaRole(this, 'worker-role', {
      ...irsa,
      roleName: names.workerRoleName,
      namespace: env.kubernetes.namespace,
      serviceAccount: SERVICE_ACCOUNTS.worker,
      statements: [bucketAccess, databaseLogin],
    });
    const orchestrator = new IrsaRole(this, 'orchestrator-role', {
      ...irsa,
      roleName: names.orchestratorRoleName,
      namespace: env.kubernetes.namespace,
      serviceAccount: SERVICE_ACCOUNTS.orchestrator,
      statements: [bucketAccess, databaseLogin],
    });

    // The node autoscaler: scales the managed node groups (whose auto-scaling groups EKS tags
    // `k8s.io/cluster-autoscaler/<cluster>: owned`), only those of this cluster.
    const clusterAutoscaler = new IrsaRole(this, 'cluster-autoscaler-role', {
      ...irsa,
      roleName: names.clusterAutoscalerRoleName,
      namespace: ADDON_CHARTS.clusterAutoscaler.namespace,
      serviceAccount: SERVICE_ACCOUNTS.clusterAutoscaler,
      statements: [
        {
          actions: [
            'autoscaling:DescribeAutoScalingGroups',
            'autoscaling:DescribeAutoScalingInstances',
            'autoscaling:DescribeLaunchConfigurations',
            'autoscaling:DescribeScalingActivities',
            'autoscaling:DescribeTags',
            'ec2:DescribeImages',
            'ec2:DescribeInstanceTypes',
            'ec2:DescribeLaunchTemplateVersions',
            'ec2:GetInstanceTypesFromInstanceRequirements',
            'eks:DescribeNodegroup',
          ],
          resources: ['*'],
        },
        {
          actions: ['autoscaling:SetDesiredCapacity', 'autoscaling:TerminateInstanceInAutoScalingGroup'],
          resources: ['*'],
          conditions: [{ test: 'StringEquals', variable: `aws:ResourceTag/k8s.io/cluster-autoscaler/${env.clusterName}`, values: ['owned'] }],
        },
      ],
    });
    // Grafana's ClickHouse data source: External Secrets reads this one secret as a separate service account
    // in the monitoring namespace, so that namespace can never reach the LLM keys.
    const grafanaSecrets = new IrsaRole(this, 'grafana-secrets-role', {
      ...irsa,
      roleName: names.grafanaSecretsRoleName,
      namespace: env.kubernetes.monitoringNamespace,
      serviceAccount: SERVICE_ACCOUNTS.grafanaSecrets,
      statements: [{ actions: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'], resources: [this.secrets.clickhouse.arn] }],
    });

    if (env.backup.awsBackupPlan) {
      this.backupPlan = new BackupPlan(this, 'backup', {
        name: prefix,
        resourceArns: [this.bucket.bucket.arn],
        selectionTag: names.backupTag,
        retentionDays: env.backup.retentionDays,
        schedule: env.backup.schedule,
      });
    }

    const output = (name: string, value: string, description: string) =>
      new TerraformOutput(this, name, { value, description });
    output('cluster_name', this.eks.cluster.name, 'EKS cluster name');
    output('cluster_endpoint', this.eks.cluster.endpoint, 'EKS API server endpoint');
    output('oidc_provider_arn', this.eks.oidcProvider.arn, 'IAM OIDC provider for IRSA');
    output('postgres_endpoint', this.database.instance.address, 'RDS PostgreSQL host');
    output('postgres_master_secret_arn', this.database.instance.masterUserSecret.get(0).secretArn, 'RDS-managed master password secret');
    output('redis_endpoint', this.redis.replicationGroup.primaryEndpointAddress, 'Redis primary endpoint (TLS)');
    output('clickhouse_host', names.clickhouseHost, 'ClickHouse service name in the private zone');
    output('artifact_bucket', this.bucket.bucket.bucket, 'Artifact bucket');
    output('orchestrator_repository_url', this.registry.repositories.orchestrator.repositoryUrl, 'ECR repository of the orchestrator image');
    output('worker_repository_url', this.registry.repositories.worker.repositoryUrl, 'ECR repository of the worker image');
    output('llm_keys_secret_arn', this.secrets.llmKeys.arn, 'Secret to put the LLM provider keys in');
    output('external_secrets_role_arn', externalSecrets.role.arn, 'IRSA role of External Secrets Operator');
    output('worker_role_arn', worker.role.arn, 'IRSA role of the workers');
    output('orchestrator_role_arn', orchestrator.role.arn, 'IRSA role of the orchestrator');
    output('cluster_autoscaler_role_arn', clusterAutoscaler.role.arn, 'IRSA role of the Cluster Autoscaler');
    output('grafana_secrets_role_arn', grafanaSecrets.role.arn, 'IRSA role reading the ClickHouse secret for Grafana');
    output(
      'kubeconfig_command',
      `aws eks update-kubeconfig --region ${env.region} --name ${env.clusterName}`,
      'Writes a kubeconfig entry for an admin or the deploy role (access entries)',
    );
  }
}
