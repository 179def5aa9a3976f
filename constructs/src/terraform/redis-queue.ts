import { TerraformResource } from 'cdktf';
import { Construct } from 'constructs';
import { ElasticacheParameterGroup } from '@cdktf/provider-aws/lib/elasticache-parameter-group';
import { ElasticacheReplicationGroup } from '@cdktf/provider-aws/lib/elasticache-replication-group';
import { ElasticacheSubnetGroup } from '@cdktf/provider-aws/lib/elasticache-subnet-group';
import type { SecretsmanagerSecretVersion } from '@cdktf/provider-aws/lib/secretsmanager-secret-version';
import { SecurityGroup } from '@cdktf/provider-aws/lib/security-group';
import { clientSecurityGroup } from './client-security-group';
import { setRedisAuthTokenScript } from './redis-auth-token';

export interface RedisQueueProps {
  /** Replication group id and name prefix. */
  readonly name: string;
  /** VPC of the replication group and its security group. */
  readonly vpcId: string;
  /** Private subnets of the cache subnet group. */
  readonly subnetIds: string[];
  /** Security group allowed to connect on 6379 (the EKS nodes). */
  readonly clientSecurityGroupId: string;
  /** e.g. `cache.t4g.small`. */
  readonly nodeType: string;
  /**
   * Redis OSS engine version.
   * @default '7.1'
   */
  readonly engineVersion?: string;
  /**
   * Nodes, the primary included; 2 or more turns on automatic failover and multi-AZ.
   * @default 1
   */
  readonly nodes?: number;
  /**
   * The Secrets Manager secret (`{"password": …}`) holding the AUTH token, and its version: the token is set on
   * the group from there after each new version, by `setRedisAuthTokenScript`, never through Terraform.
   */
  readonly authTokenSecret: { readonly name: string; readonly version: SecretsmanagerSecretVersion };
  /** Region of the secret and the group (the script's AWS CLI calls). */
  readonly region: string;
  /** @default 0 */
  readonly snapshotRetentionDays?: number;
}

/**
 * ElastiCache Redis for the job queue: TLS in transit, AUTH (its token never in Terraform state), encryption at rest, and
 * `maxmemory-policy noeviction` — a queue must fail writes when full rather than evict jobs.
 */
export class RedisQueue extends Construct {
  readonly replicationGroup: ElasticacheReplicationGroup;
  readonly parameterGroup: ElasticacheParameterGroup;
  readonly securityGroup: SecurityGroup;
  readonly nodes: number;
  readonly engineVersion: string;
  /** The `terraform_data` whose provisioner sets the AUTH token. */
  readonly authToken: TerraformResource;

  constructor(scope: Construct, id: string, props: RedisQueueProps) {
    super(scope, id);
    this.nodes = props.nodes ?? 1;
    this.engineVersion = props.engineVersion ?? '7.1';
    if (this.nodes < 1 || this.nodes > 6) throw new Error(`${this.node.path}: nodes (${this.nodes}) must be within [1, 6]`);
    const failover = this.nodes > 1;
    const name = props.name;

    this.securityGroup = clientSecurityGroup(this, 'sg', {
      name: `${name}-redis`,
      description: 'Redis clients',
      vpcId: props.vpcId,
      clientSecurityGroupId: props.clientSecurityGroupId,
      ports: [[6379, 'Redis']],
    });
    const subnets = new ElasticacheSubnetGroup(this, 'subnets', { name: `${name}-redis`, subnetIds: props.subnetIds });
    this.parameterGroup = new ElasticacheParameterGroup(this, 'parameters', {
      name: `${name}-queue-redis${this.engineVersion.split('.')[0]}`,
      family: `redis${this.engineVersion.split('.')[0]}`,
      description: 'Job queue: never evict',
      parameter: [{ name: 'maxmemory-policy', value: 'noeviction' }],
    });
    this.replicationGroup = new ElasticacheReplicationGroup(this, 'replication-group', {
      replicationGroupId: `${name}-queue`,
      description: `${name} evaluation job queue`,
      engine: 'redis',
      engineVersion: this.engineVersion,
      nodeType: props.nodeType,
      numCacheClusters: this.nodes,
      port: 6379,
      parameterGroupName: this.parameterGroup.name,
      subnetGroupName: subnets.name,
      securityGroupIds: [this.securityGroup.id],
      transitEncryptionEnabled: true,
      transitEncryptionMode: 'required',
      atRestEncryptionEnabled: 'true',
      automaticFailoverEnabled: failover,
      multiAzEnabled: failover,
      snapshotRetentionLimit: props.snapshotRetentionDays ?? 0,
      autoMinorVersionUpgrade: 'true',
      applyImmediately: false,
    });
    // The AUTH token, from its secret straight to ElastiCache: Terraform never holds it (no `auth_token`, whose
    // value would be stored in state). Again whenever the group is replaced or the token has a new version.
    this.authToken = new TerraformResource(this, 'auth-token', {
      terraformResourceType: 'terraform_data',
      provisioners: [
        {
          type: 'local-exec',
          interpreter: ['/bin/bash', '-c'],
          command: setRedisAuthTokenScript(),
          environment: { REPLICATION_GROUP: this.replicationGroup.id, REGION: props.region, SECRET_ID: props.authTokenSecret.name },
        },
      ],
      dependsOn: [this.replicationGroup, props.authTokenSecret.version],
    });
    this.authToken.addOverride('triggers_replace', [this.replicationGroup.id, props.authTokenSecret.version.secretStringWoVersion]);
  }
}
