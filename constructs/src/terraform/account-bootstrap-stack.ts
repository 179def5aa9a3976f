import { LocalBackend, S3Backend, TerraformOutput, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { DataAwsIamPolicyDocument, type DataAwsIamPolicyDocumentStatement } from '@cdktf/provider-aws/lib/data-aws-iam-policy-document';
import { IamOpenidConnectProvider } from '@cdktf/provider-aws/lib/iam-openid-connect-provider';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
import { KmsAlias } from '@cdktf/provider-aws/lib/kms-alias';
import { KmsKey } from '@cdktf/provider-aws/lib/kms-key';
import { S3Bucket } from '@cdktf/provider-aws/lib/s3-bucket';
import { S3BucketLifecycleConfiguration } from '@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration';
import {
  BOOTSTRAP_STATE_KEY,
  stateKeyAliasArn,
  GITHUB_OIDC_AUDIENCE,
  GITHUB_OIDC_HOST,
  type AccountBootstrapConfig,
  type BootstrapRole,
} from '../config/bootstrap';
import { protectBucket } from './artifact-bucket';
import { ECR_PULL_ACTIONS, ECR_PUSH_ACTIONS } from './container-registry';

export interface AccountBootstrapStackProps {
  /** The account and the environments deployed into it (`accountBootstraps(environments)`). */
  readonly account: AccountBootstrapConfig;
  /**
   * Where this stack's own state lives. `s3` (the default) is its bucket, under `bootstrap/terraform.tfstate`;
   * `local` is for the very first apply, when that bucket does not exist yet: the state is written next to the
   * repository (`terraform.bootstrap-<account>.tfstate`, three folders above the stack's directory) and then
   * pushed into the bucket with `terraform state push` (the package README, "Deploying what it writes").
   * @default 's3'
   */
  readonly stateBackend?: 's3' | 'local';
  /**
   * ARN of a GitHub OIDC provider the account already has (an account holds one per issuer); without it the
   * stack creates one.
   * @default none: created
   */
  readonly existingOidcProviderArn?: string;
}

/** GitHub's OIDC subjects (`sub` claims) each CI role trusts; exported for the tests and the README. */
export function githubSubjects(account: AccountBootstrapConfig): Readonly<Record<Exclude<BootstrapRole, 'admin'>, string[]>> {
  const repo = `repo:${account.githubRepository}`;
  return {
    // release.yml: pushes to the branch, and version tags.
    release: [`${repo}:ref:refs/heads/${account.branch}`, `${repo}:ref:refs/tags/v*`],
    // gitops.yml, called by release.yml on the branch (a called workflow's token carries its caller's subject).
    promote: [`${repo}:ref:refs/heads/${account.branch}`],
    // deploy.yml: one job per environment, each in its GitHub environment (prod's has required reviewers).
    deploy: [...new Set(account.environments.map((env) => `${repo}:environment:${env.deployEnvironment}`))],
  };
}

/**
 * What an AWS account holds before any environment stack is deployed into it, from the same configuration:
 * the Terraform state bucket (versioned, KMS-encrypted with a key of its own, public access blocked, TLS only,
 * S3-native locking, never destroyed), GitHub's OIDC provider, and four roles:
 *
 * - `release` (where some environment is built into): push to those environments' ECR repositories, from
 *   release.yml on the branch or a version tag;
 * - `promote` (where some environment receives releases by copy): push to those repositories, from gitops.yml
 *   on the branch;
 * - `deploy`: `cdktf deploy` of this account's environments, from deploy.yml in their GitHub environments only;
 *   state objects of those environments, and the services the stacks use in their regions;
 * - `admin`: operators (assumed from this account, by whoever its own policies allow): kubeconfig and the
 *   operator secrets; the EKS access entries make it cluster-admin.
 */
export class AccountBootstrapStack extends TerraformStack {
  readonly account: AccountBootstrapConfig;
  readonly stateBucket: S3Bucket;
  readonly stateKey: KmsKey;
  readonly roles: Partial<Record<BootstrapRole, IamRole>> = {};
  readonly oidcProviderArn: string;

  constructor(scope: Construct, id: string, props: AccountBootstrapStackProps) {
    super(scope, id);
    const account = (this.account = props.account);
    const { names } = account;
    const partition = 'aws';
    new AwsProvider(this, 'aws', {
      region: account.region,
      allowedAccountIds: [account.accountId],
      defaultTags: [{ tags: { ...account.tags } }],
    });
    if ((props.stateBackend ?? 's3') === 'local') {
      new LocalBackend(this, { path: `../../../terraform.${id}.tfstate` });
    } else {
      const backend = new S3Backend(this, {
        bucket: names.stateBucket,
        key: BOOTSTRAP_STATE_KEY,
        region: account.region,
        encrypt: true,
        kmsKeyId: stateKeyAliasArn(account.accountId, account.region),
      });
      backend.addOverride('use_lockfile', true);
    }
    this.addOverride('terraform.required_version', '>= 1.11');

    // The state bucket. Its key is a customer-managed key so that state can be read only by whom the key policy
    // (the account's IAM) allows, and its versions are kept: a bad apply can be rolled back to the previous state.
    this.stateKey = new KmsKey(this, 'state-key', {
      description: `Terraform state of ${account.environments.map((e) => e.name).join(', ')}`,
      enableKeyRotation: true,
      deletionWindowInDays: 30,
      lifecycle: { preventDestroy: true },
    });
    new KmsAlias(this, 'state-key-alias', { name: names.stateKeyAlias, targetKeyId: this.stateKey.keyId });
    this.stateBucket = new S3Bucket(this, 'state-bucket', { bucket: names.stateBucket, lifecycle: { preventDestroy: true } });
    const bucketArn = `arn:${partition}:s3:::${names.stateBucket}`;
    protectBucket(this, this.stateBucket, { idPrefix: 'state-', kmsKeyArn: this.stateKey.arn });
    new S3BucketLifecycleConfiguration(this, 'state-lifecycle', {
      bucket: this.stateBucket.id,
      rule: [
        {
          // Every state version is kept for a year; lock files and aborted uploads never linger.
          id: 'old-state-versions',
          status: 'Enabled',
          filter: [{ prefix: '' }],
          noncurrentVersionExpiration: [{ noncurrentDays: 365 }],
          abortIncompleteMultipartUpload: [{ daysAfterInitiation: 1 }],
        },
      ],
    });

    if (props.existingOidcProviderArn) {
      this.oidcProviderArn = props.existingOidcProviderArn;
    } else {
      // IAM verifies GitHub's tokens against its own trusted roots; the thumbprint is no longer consulted.
      const provider = new IamOpenidConnectProvider(this, 'github-oidc', {
        url: `https://${GITHUB_OIDC_HOST}`,
        clientIdList: [GITHUB_OIDC_AUDIENCE],
      });
      this.oidcProviderArn = provider.arn;
    }

    const subjects = githubSubjects(account);
    const githubTrust = (role: Exclude<BootstrapRole, 'admin'>) =>
      new DataAwsIamPolicyDocument(this, `${role}-trust`, {
        statement: [
          {
            sid: 'GitHubActions',
            effect: 'Allow',
            actions: ['sts:AssumeRoleWithWebIdentity'],
            principals: [{ type: 'Federated', identifiers: [this.oidcProviderArn] }],
            condition: [
              { test: 'StringEquals', variable: `${GITHUB_OIDC_HOST}:aud`, values: [GITHUB_OIDC_AUDIENCE] },
              { test: subjects[role].some((s) => s.includes('*')) ? 'StringLike' : 'StringEquals', variable: `${GITHUB_OIDC_HOST}:sub`, values: subjects[role] },
            ],
          },
        ],
      }).json;
    const role = (key: BootstrapRole, trust: string, description: string, statements: DataAwsIamPolicyDocumentStatement[]) => {
      const created = new IamRole(this, `${key}-role`, { name: names.roleNames[key], assumeRolePolicy: trust, description, maxSessionDuration: 3600 });
      new IamRolePolicy(this, `${key}-policy`, {
        name: 'permissions',
        role: created.name,
        policy: new DataAwsIamPolicyDocument(this, `${key}-permissions`, { statement: statements }).json,
      });
      this.roles[key] = created;
      return created;
    };
    const repositoryArns = (pushedBy: 'release' | 'promote') =>
      account.environments
        .filter((env) => env.pushedBy === pushedBy)
        .flatMap((env) => env.repositories.map((name) => `arn:${partition}:ecr:${env.region}:${account.accountId}:repository/${name}`));
    const pushStatements = (arns: string[]): DataAwsIamPolicyDocumentStatement[] => [
      { sid: 'RegistryLogin', effect: 'Allow', actions: ['ecr:GetAuthorizationToken'], resources: ['*'] },
      {
        sid: 'PushThisAccountsRepositories',
        effect: 'Allow',
        actions: [...ECR_PULL_ACTIONS, ...ECR_PUSH_ACTIONS.filter((a) => a !== 'ecr:BatchDeleteImage'), 'ecr:DescribeImages', 'ecr:DescribeRepositories'],
        resources: arns,
      },
    ];
    for (const pusher of ['release', 'promote'] as const) {
      const arns = repositoryArns(pusher);
      if (arns.length === 0) continue;
      role(
        pusher,
        githubTrust(pusher),
        pusher === 'release' ? 'release.yml: pushes builds into ECR' : 'gitops.yml: copies promoted releases into ECR by digest',
        pushStatements(arns),
      );
    }

    // The deploy role: what `cdktf deploy <env>` does for this account's environments, and nothing of the bootstrap.
    const regions = [...new Set(account.environments.map((env) => env.region))];
    const inRegions = [{ test: 'StringEquals', variable: 'aws:RequestedRegion', values: regions }];
    const bootstrapArns = [
      ...Object.values(names.roleArns),
      names.oidcProviderArn,
    ];
    const prefixes = account.environments.map((env) => env.clusterName);
    const secretArns = account.environments.flatMap((env) => [
      `arn:${partition}:secretsmanager:${env.region}:${account.accountId}:secret:${env.secretPrefix}*`,
      `arn:${partition}:secretsmanager:${env.region}:${account.accountId}:secret:${env.llmKeysSecret}-*`,
    ]);
    role('deploy', githubTrust('deploy'), 'deploy.yml: cdktf deploy of this account\'s environments', [
      {
        sid: 'StateList',
        effect: 'Allow',
        actions: ['s3:ListBucket'],
        resources: [bucketArn],
        condition: [{ test: 'StringLike', variable: 's3:prefix', values: account.environments.flatMap((env) => [env.stateKey, `${env.stateKey}.tflock`]) }],
      },
      {
        // The state object and its lock file (`use_lockfile`), per environment; never the bootstrap's own state.
        sid: 'StateObjects',
        effect: 'Allow',
        actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
        resources: account.environments.flatMap((env) => [`${bucketArn}/${env.stateKey}`, `${bucketArn}/${env.stateKey}.tflock`]),
      },
      { sid: 'StateKey', effect: 'Allow', actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'], resources: [this.stateKey.arn] },
      {
        // Services whose resources get generated ids (VPCs, clusters, instances, keys): in the environments' regions.
        sid: 'EnvironmentServices',
        effect: 'Allow',
        actions: ['ec2:*', 'eks:*', 'rds:*', 'elasticache:*', 'kms:*', 'logs:*', 'backup:*', 'backup-storage:*', 'ssm:GetParameter', 'ssm:GetParameters', 'autoscaling:Describe*', 'iam:GetRole', 'iam:ListRoles', 'iam:ListAttachedRolePolicies', 'iam:ListRolePolicies', 'iam:GetRolePolicy'],
        resources: ['*'],
        condition: inRegions,
      },
      { sid: 'PrivateZones', effect: 'Allow', actions: ['route53:*'], resources: ['*'] },
      {
        // Named resources, by the names the stacks derive: roles, instance profiles and OIDC providers of the clusters.
        sid: 'EnvironmentIdentities',
        effect: 'Allow',
        actions: ['iam:*'],
        resources: [
          ...prefixes.flatMap((prefix) => [
            `arn:${partition}:iam::${account.accountId}:role/${prefix}-*`,
            `arn:${partition}:iam::${account.accountId}:instance-profile/${prefix}-*`,
          ]),
          ...regions.map((region) => `arn:${partition}:iam::${account.accountId}:oidc-provider/oidc.eks.${region}.amazonaws.com/*`),
        ],
      },
      { sid: 'ServiceLinkedRoles', effect: 'Allow', actions: ['iam:CreateServiceLinkedRole'], resources: ['*'] },
      { sid: 'EnvironmentSecrets', effect: 'Allow', actions: ['secretsmanager:*'], resources: secretArns },
      {
        // RDS names the managed master secret itself (`rds!db-…`), and ESO finds it by tag.
        sid: 'DatabaseMasterSecret',
        effect: 'Allow',
        actions: ['secretsmanager:DescribeSecret', 'secretsmanager:GetResourcePolicy', 'secretsmanager:ListSecrets', 'secretsmanager:TagResource'],
        resources: ['*'],
        condition: inRegions,
      },
      {
        // The Redis and ClickHouse passwords come from Secrets Manager's generator (an ephemeral resource), which has no resource.
        sid: 'RandomPasswords',
        effect: 'Allow',
        actions: ['secretsmanager:GetRandomPassword'],
        resources: ['*'],
        condition: inRegions,
      },
      {
        sid: 'EnvironmentBuckets',
        effect: 'Allow',
        actions: ['s3:*'],
        resources: account.environments.flatMap((env) => [`arn:${partition}:s3:::${env.artifactBucket}`, `arn:${partition}:s3:::${env.artifactBucket}/*`]),
      },
      {
        sid: 'EnvironmentRepositories',
        effect: 'Allow',
        actions: ['ecr:*'],
        resources: account.environments.flatMap((env) => env.repositories.map((name) => `arn:${partition}:ecr:${env.region}:${account.accountId}:repository/${name}`)),
      },
      { sid: 'Identity', effect: 'Allow', actions: ['sts:GetCallerIdentity', 'ecr:GetAuthorizationToken'], resources: ['*'] },
      {
        // Nothing this stack made can be changed by the role it made: no escalation through the bootstrap.
        sid: 'NotTheBootstrap',
        effect: 'Deny',
        actions: ['iam:*'],
        resources: bootstrapArns,
      },
      {
        sid: 'NotTheStateBucket',
        effect: 'Deny',
        actions: ['s3:DeleteBucket', 's3:PutBucketPolicy', 's3:DeleteBucketPolicy', 's3:PutBucketVersioning', 's3:PutEncryptionConfiguration', 's3:PutLifecycleConfiguration', 's3:PutBucketPublicAccessBlock'],
        resources: [bucketArn],
      },
      { sid: 'NotTheStateKey', effect: 'Deny', actions: ['kms:ScheduleKeyDeletion', 'kms:DisableKey', 'kms:PutKeyPolicy'], resources: [this.stateKey.arn] },
    ]);

    // The operators' role: assumed from this account (an Identity Center permission set or a user's own policy
    // says who may); the clusters' access entries make it cluster-admin.
    role(
      'admin',
      new DataAwsIamPolicyDocument(this, 'admin-trust', {
        statement: [
          {
            sid: 'ThisAccount',
            effect: 'Allow',
            actions: ['sts:AssumeRole', 'sts:TagSession'],
            principals: [{ type: 'AWS', identifiers: [`arn:${partition}:iam::${account.accountId}:root`] }],
          },
        ],
      }).json,
      'Platform operators: kubeconfig, operator secrets, cluster-admin through EKS access entries',
      [
        { sid: 'Clusters', effect: 'Allow', actions: ['eks:DescribeCluster', 'eks:ListClusters', 'eks:AccessKubernetesApi'], resources: ['*'], condition: inRegions },
        {
          // The values only operators have: LLM keys, the Slack webhook, the endpoint keys.
          sid: 'OperatorSecrets',
          effect: 'Allow',
          actions: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue'],
          resources: secretArns,
        },
        { sid: 'Identity', effect: 'Allow', actions: ['sts:GetCallerIdentity'], resources: ['*'] },
      ],
    );

    const output = (name: string, value: string, description: string) => new TerraformOutput(this, name, { value, description });
    output('state_bucket', this.stateBucket.bucket, 'Terraform state of this account\'s environments (their state.bucket)');
    output('state_kms_key_arn', this.stateKey.arn, 'KMS key of the state bucket');
    output('github_oidc_provider_arn', this.oidcProviderArn, 'GitHub Actions OIDC provider');
    for (const [key, created] of Object.entries(this.roles)) output(`${key}_role_arn`, created.arn, `The ${key} role`);
  }
}
