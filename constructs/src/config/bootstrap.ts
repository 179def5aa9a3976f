/**
 * What an AWS account holds before any environment stack can be deployed into it, and the names both sides
 * derive from the account id alone: the Terraform state bucket, GitHub's OIDC provider, and the roles CI and the
 * operators assume. The bootstrap stack (`AccountBootstrapStack`) creates them; the environments' defaults
 * (`state.bucket`, `cluster.adminRoleArns`, `cluster.deployRoleArn`, `images.registry.pushRoleArn`) name them.
 */

/** Prefix of every name the bootstrap creates. */
export const BOOTSTRAP_PREFIX = 'ai-eval-platform';
/** GitHub Actions' OIDC issuer, as IAM names its provider. */
export const GITHUB_OIDC_HOST = 'token.actions.githubusercontent.com';
/** The audience `aws-actions/configure-aws-credentials` asks GitHub's token for. */
export const GITHUB_OIDC_AUDIENCE = 'sts.amazonaws.com';
/** The state of the bootstrap stack itself, in the bucket it creates (after the first apply's local state is migrated). */
export const BOOTSTRAP_STATE_KEY = 'bootstrap/terraform.tfstate';

/**
 * Account ids, hosts and repositories of the repository's example environments (`example: true`). Outside an
 * example, `resolveEnvironment` refuses every field that still holds one of them.
 */
export const EXAMPLE_VALUES: readonly { readonly pattern: RegExp; readonly what: string }[] = [
  { pattern: /(?<!\d)(?:111111111111|222222222222|123456789012)(?!\d)/, what: 'an example AWS account id' },
  { pattern: /(?:^|[.@/])example\.(?:com|org|net)(?:$|[/:])/, what: 'an example.com/.org/.net name' },
  { pattern: /(?:^|[/:])example-org(?:$|[/])/, what: 'the example GitHub organisation example-org' },
];

export type BootstrapRole = 'release' | 'promote' | 'deploy' | 'admin';

export interface AccountBootstrapNames {
  /** Versioned, KMS-encrypted, TLS-only bucket of every environment's Terraform state in this account. */
  readonly stateBucket: string;
  /** Alias of the state bucket's KMS key. */
  readonly stateKeyAlias: string;
  readonly oidcProviderArn: string;
  readonly roleNames: Readonly<Record<BootstrapRole, string>>;
  readonly roleArns: Readonly<Record<BootstrapRole, string>>;
}

/**
 * Names from the account id alone, so two adopters (or two accounts) never collide on the state bucket's
 * global name, and no role ARN is typed twice.
 */
export function accountBootstrapNames(accountId: string): AccountBootstrapNames {
  const roleNames: Record<BootstrapRole, string> = {
    release: `${BOOTSTRAP_PREFIX}-github-release`,
    promote: `${BOOTSTRAP_PREFIX}-github-promote`,
    deploy: `${BOOTSTRAP_PREFIX}-github-deploy`,
    admin: `${BOOTSTRAP_PREFIX}-admin`,
  };
  const arn = (name: string) => `arn:aws:iam::${accountId}:role/${name}`;
  return {
    stateBucket: `${BOOTSTRAP_PREFIX}-terraform-state-${accountId}`,
    stateKeyAlias: `alias/${BOOTSTRAP_PREFIX}-terraform-state`,
    oidcProviderArn: `arn:aws:iam::${accountId}:oidc-provider/${GITHUB_OIDC_HOST}`,
    roleNames,
    roleArns: {
      release: arn(roleNames.release),
      promote: arn(roleNames.promote),
      deploy: arn(roleNames.deploy),
      admin: arn(roleNames.admin),
    },
  };
}

/** The state key's alias as the S3 backend's `kms_key_id` takes it: state objects are encrypted with it, not with S3's own key. */
export function stateKeyAliasArn(accountId: string, region: string): string {
  return `arn:aws:kms:${region}:${accountId}:${accountBootstrapNames(accountId).stateKeyAlias}`;
}

/** `bootstrap-<accountId>`: the stack `cdktf deploy` is given for an account. */
export function bootstrapStackName(accountId: string): string {
  return `bootstrap-${accountId}`;
}

/** One environment as the bootstrap of its account sees it. */
export interface BootstrappedEnvironment {
  readonly name: string;
  readonly region: string;
  readonly clusterName: string;
  /** Its state object's key in the state bucket (`<name>/terraform.tfstate`). */
  readonly stateKey: string;
  /** GitHub environment of its deploy job; the deploy role trusts it. */
  readonly deployEnvironment: string;
  /** Its ECR repositories, and which bootstrap role pushes to them (if one of them does). */
  readonly repositories: readonly string[];
  readonly pushedBy?: 'release' | 'promote';
  /** Names the deploy role may manage: the artifact bucket and the secrets' prefix. */
  readonly artifactBucket: string;
  readonly secretPrefix: string;
  /** The LLM keys' secret, which may be named outside the prefix (`secrets.llmKeysName`). */
  readonly llmKeysSecret: string;
}

/** Everything one account's bootstrap stack is made from, gathered from the environments deployed into it. */
export interface AccountBootstrapConfig {
  readonly accountId: string;
  /** Region of the state bucket (every environment's `state.region`) and of the stack's provider. */
  readonly region: string;
  readonly githubRepository: string;
  readonly branch: string;
  readonly names: AccountBootstrapNames;
  readonly environments: readonly BootstrappedEnvironment[];
  /** Tags on every resource of the stack. */
  readonly tags: Readonly<Record<string, string>>;
}

/** The fields of a resolved environment the bootstrap reads (a structural subset of `EnvironmentConfig`). */
export interface BootstrapSource {
  readonly name: string;
  readonly accountId: string;
  readonly region: string;
  readonly clusterName: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly github: { readonly repository: string; readonly branch: string; readonly deployEnvironment: string };
  readonly state: { readonly bucket: string; readonly key: string; readonly region: string };
  readonly bucket: { readonly name: string };
  readonly secrets: { readonly llmKeysName: string };
  readonly images: { readonly registry: { readonly pushRoleArn: string }; readonly repositoryNames: Readonly<Record<string, string>> };
}

/**
 * Groups resolved environments by account. Environments sharing an account share its bucket, roles and
 * repository, so they must agree on the state bucket's region and name and on the GitHub repository: a
 * disagreement is an error naming both environments and the field.
 */
export function accountBootstraps(envs: readonly BootstrapSource[]): AccountBootstrapConfig[] {
  const byAccount = new Map<string, BootstrapSource[]>();
  for (const env of envs) byAccount.set(env.accountId, [...(byAccount.get(env.accountId) ?? []), env]);
  const problems: string[] = [];
  const accounts = [...byAccount.entries()].map(([accountId, members]): AccountBootstrapConfig => {
    const names = accountBootstrapNames(accountId);
    const first = members[0];
    const agree = (field: string, read: (env: BootstrapSource) => string) => {
      for (const other of members.slice(1)) {
        if (read(other) !== read(first)) {
          problems.push(`account ${accountId}: ${first.name} and ${other.name} share the account's bootstrap but differ in ${field} (${JSON.stringify(read(first))} and ${JSON.stringify(read(other))})`);
        }
      }
    };
    agree('state.region', (env) => env.state.region);
    agree('github.repository', (env) => env.github.repository);
    agree('github.branch', (env) => env.github.branch);
    for (const env of members) {
      if (env.state.bucket !== names.stateBucket) {
        problems.push(`${env.name}: state.bucket: the account bootstrap creates ${names.stateBucket}; leave state.bucket out (got ${JSON.stringify(env.state.bucket)})`);
      }
    }
    return {
      accountId,
      region: first.state.region,
      githubRepository: first.github.repository,
      branch: first.github.branch,
      names,
      tags: { ...first.tags, 'managed-by': 'cdktf', 'ai-eval-platform/bootstrap': accountId },
      environments: members.map((env) => ({
        name: env.name,
        region: env.region,
        clusterName: env.clusterName,
        stateKey: env.state.key,
        deployEnvironment: env.github.deployEnvironment,
        repositories: Object.values(env.images.repositoryNames),
        pushedBy: (['release', 'promote'] as const).find((role) => env.images.registry.pushRoleArn === names.roleArns[role]),
        artifactBucket: env.bucket.name,
        secretPrefix: `${env.name}/eval-platform/`,
        llmKeysSecret: env.secrets.llmKeysName,
      })),
    };
  });
  if (problems.length > 0) throw new Error(`account bootstrap:\n  - ${problems.join('\n  - ')}`);
  return accounts;
}
