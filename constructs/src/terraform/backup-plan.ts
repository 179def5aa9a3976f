import { Construct } from 'constructs';
import { BackupPlan as AwsBackupPlan } from '@cdktf/provider-aws/lib/backup-plan';
import { BackupSelection } from '@cdktf/provider-aws/lib/backup-selection';
import { BackupVault } from '@cdktf/provider-aws/lib/backup-vault';
import { DataAwsIamPolicyDocument } from '@cdktf/provider-aws/lib/data-aws-iam-policy-document';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicyAttachment } from '@cdktf/provider-aws/lib/iam-role-policy-attachment';

export interface BackupPlanProps {
  /** Name prefix of the vault, plan and role. */
  readonly name: string;
  /** ARNs backed up explicitly (the artifact bucket). */
  readonly resourceArns: string[];
  /** A tag that selects further resources (the ClickHouse data volumes). */
  readonly selectionTag: { readonly key: string; readonly value: string };
  /**
   * Days a recovery point is kept.
   * @default 35
   */
  readonly retentionDays?: number;
  /**
   * When backups run (AWS Backup cron, UTC).
   * @default 'cron(0 3 * * ? *)'
   */
  readonly schedule?: string;
}

/** An AWS Backup vault and daily plan covering S3 (continuous, point-in-time) and tagged EBS volumes. */
export class BackupPlan extends Construct {
  readonly vault: BackupVault;
  readonly plan: AwsBackupPlan;
  readonly retentionDays: number;
  readonly schedule: string;

  constructor(scope: Construct, id: string, props: BackupPlanProps) {
    super(scope, id);
    this.retentionDays = props.retentionDays ?? 35;
    this.schedule = props.schedule ?? 'cron(0 3 * * ? *)';
    if (this.retentionDays > 35) {
      // Continuous (point-in-time) S3 backups keep at most 35 days.
      throw new Error(`${this.node.path}: retentionDays (${this.retentionDays}) must be <= 35 for continuous S3 backups`);
    }
    this.vault = new BackupVault(this, 'vault', { name: `${props.name}-backups` });
    this.plan = new AwsBackupPlan(this, 'plan', {
      name: `${props.name}-daily`,
      rule: [
        {
          ruleName: 'daily',
          targetVaultName: this.vault.name,
          schedule: this.schedule,
          enableContinuousBackup: true,
          lifecycle: { deleteAfter: this.retentionDays },
        },
      ],
    });
    const role = new IamRole(this, 'role', {
      name: `${props.name}-backup`,
      assumeRolePolicy: new DataAwsIamPolicyDocument(this, 'trust', {
        statement: [{ effect: 'Allow', actions: ['sts:AssumeRole'], principals: [{ type: 'Service', identifiers: ['backup.amazonaws.com'] }] }],
      }).json,
    });
    const policies: IamRolePolicyAttachment[] = [];
    for (const policy of [
      'service-role/AWSBackupServiceRolePolicyForBackup',
      'service-role/AWSBackupServiceRolePolicyForRestores',
      'AWSBackupServiceRolePolicyForS3Backup',
      'AWSBackupServiceRolePolicyForS3Restore',
    ]) {
      policies.push(
        new IamRolePolicyAttachment(this, `role-${policy.split('/').pop()}`, {
          role: role.name,
          policyArn: `arn:aws:iam::aws:policy/${policy}`,
        }),
      );
    }
    new BackupSelection(this, 'selection', {
      name: `${props.name}-resources`,
      planId: this.plan.id,
      iamRoleArn: role.arn,
      // AWS Backup checks the role can back up the resources when the selection is created.
      dependsOn: policies,
      resources: props.resourceArns,
      selectionTag: [{ type: 'STRINGEQUALS', key: props.selectionTag.key, value: props.selectionTag.value }],
    });
  }
}
