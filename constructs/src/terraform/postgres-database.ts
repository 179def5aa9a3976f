import { Construct } from 'constructs';
import { DbInstance } from '@cdktf/provider-aws/lib/db-instance';
import { DbParameterGroup } from '@cdktf/provider-aws/lib/db-parameter-group';
import { DbSubnetGroup } from '@cdktf/provider-aws/lib/db-subnet-group';
import { SecurityGroup } from '@cdktf/provider-aws/lib/security-group';
import { clientSecurityGroup } from './client-security-group';

export interface PostgresDatabaseProps {
  /** DB instance identifier and name prefix. */
  readonly identifier: string;
  /** VPC of the instance and its security group. */
  readonly vpcId: string;
  /** Private subnets of the DB subnet group. */
  readonly subnetIds: string[];
  /** Security group allowed to connect on 5432 (the EKS nodes). */
  readonly clientSecurityGroupId: string;
  /** e.g. `db.t4g.medium`. */
  readonly instanceClass: string;
  /**
   * Major version of PostgreSQL.
   * @default '16'
   */
  readonly engineVersion?: string;
  /** Initial storage, in GiB (storage autoscaling grows it). */
  readonly allocatedStorageGiB: number;
  /** Storage autoscaling ceiling. */
  readonly maxAllocatedStorageGiB: number;
  /** @default false */
  readonly multiAz?: boolean;
  /** @default true */
  readonly deletionProtection?: boolean;
  /** Days of automated backups (0 turns them off, which the go-live checks reject). */
  readonly backupRetentionDays: number;
  /**
   * Take a final snapshot on destroy.
   * @default true
   */
  readonly finalSnapshot?: boolean;
  /** @default 'evals' */
  readonly databaseName?: string;
  /** Tags, also copied by RDS onto its managed master-password secret. @default {} */
  readonly tags?: Record<string, string>;
}

/**
 * A private, encrypted RDS PostgreSQL instance with automated backups. The master password is generated
 * and rotated by RDS in Secrets Manager (`manage_master_user_password`): it is never in code, in the
 * synthesized JSON or in Terraform state; only the migration Job uses it. The services log in with IAM
 * authentication (`dbUserArn`). TLS is enforced with `rds.force_ssl`.
 */
export class PostgresDatabase extends Construct {
  readonly instance: DbInstance;
  readonly securityGroup: SecurityGroup;
  readonly multiAz: boolean;
  readonly deletionProtection: boolean;
  readonly finalSnapshot: boolean;
  readonly engineVersion: string;

  /** The `rds-db:connect` resource of a database user of this instance (IAM authentication). */
  dbUserArn(region: string, accountId: string, user: string): string {
    return `arn:aws:rds-db:${region}:${accountId}:dbuser:${this.instance.resourceId}/${user}`;
  }

  constructor(scope: Construct, id: string, props: PostgresDatabaseProps) {
    super(scope, id);
    if (props.maxAllocatedStorageGiB < props.allocatedStorageGiB) {
      throw new Error(
        `${this.node.path}: maxAllocatedStorageGiB (${props.maxAllocatedStorageGiB}) must be >= allocatedStorageGiB (${props.allocatedStorageGiB})`,
      );
    }
    this.multiAz = props.multiAz ?? false;
    this.deletionProtection = props.deletionProtection ?? true;
    this.finalSnapshot = props.finalSnapshot ?? true;
    this.engineVersion = props.engineVersion ?? '16';
    const name = props.identifier;

    this.securityGroup = clientSecurityGroup(this, 'sg', {
      name: `${name}-postgres`,
      description: 'PostgreSQL clients',
      vpcId: props.vpcId,
      clientSecurityGroupId: props.clientSecurityGroupId,
      ports: [[5432, 'PostgreSQL']],
    });
    const subnets = new DbSubnetGroup(this, 'subnets', { name: `${name}-postgres`, subnetIds: props.subnetIds });
    const parameters = new DbParameterGroup(this, 'parameters', {
      name: `${name}-postgres${this.engineVersion}`,
      family: `postgres${this.engineVersion}`,
      parameter: [
        { name: 'rds.force_ssl', value: '1' },
        { name: 'log_min_duration_statement', value: '1000' },
      ],
    });
    this.instance = new DbInstance(this, 'instance', {
      identifier: name,
      engine: 'postgres',
      engineVersion: this.engineVersion,
      instanceClass: props.instanceClass,
      dbName: props.databaseName ?? 'evals',
      username: 'eval_admin',
      manageMasterUserPassword: true,
      // The services log in as an application role with a token per connection (rds-db:connect through IRSA).
      iamDatabaseAuthenticationEnabled: true,
      allocatedStorage: props.allocatedStorageGiB,
      maxAllocatedStorage: props.maxAllocatedStorageGiB,
      storageType: 'gp3',
      storageEncrypted: true,
      dbSubnetGroupName: subnets.name,
      vpcSecurityGroupIds: [this.securityGroup.id],
      parameterGroupName: parameters.name,
      publiclyAccessible: false,
      multiAz: this.multiAz,
      deletionProtection: this.deletionProtection,
      backupRetentionPeriod: props.backupRetentionDays,
      backupWindow: '02:00-03:00',
      maintenanceWindow: 'sun:04:00-sun:05:00',
      copyTagsToSnapshot: true,
      skipFinalSnapshot: !this.finalSnapshot,
      finalSnapshotIdentifier: this.finalSnapshot ? `${name}-final` : undefined,
      autoMinorVersionUpgrade: true,
      performanceInsightsEnabled: true,
      enabledCloudwatchLogsExports: ['postgresql', 'upgrade'],
      tags: props.tags ?? {},
    });
  }
}
