import { Testing } from 'cdktf';
import { AccountBootstrapStack, PlatformStack } from '@ai-eval-platform/constructs/terraform';
import { accountBootstrapNames, accountBootstraps, resolveEnvironment, stateKeyAliasArn, type AccountBootstrapConfig } from '@ai-eval-platform/constructs';
import { environment, rawEnvironment } from '../support/environments';

type Json = Record<string, any>; // Terraform JSON is untyped by nature

const dev = environment('dev');
const prod = environment('prod');
const [devAccount, prodAccount] = accountBootstraps([dev, prod]);

function synth(account: AccountBootstrapConfig, stateBackend: 's3' | 'local' = 's3') {
  const stack = new AccountBootstrapStack(Testing.app(), `bootstrap-${account.accountId}`, { account, stateBackend });
  return JSON.parse(Testing.synth(stack)) as { resource: Record<string, Record<string, Json>>; data: Record<string, Record<string, Json>>; terraform: Json; output: Json };
}

/** The IAM policy document a role's trust or permissions data source renders, as IAM would read it. */
function documentOf(json: ReturnType<typeof synth>, reference: string): Json[] {
  const name = /data\.aws_iam_policy_document\.([^.]+)\.json/.exec(reference)![1];
  return json.data.aws_iam_policy_document[name].statement;
}

function roleNamed(json: ReturnType<typeof synth>, roleName: string): Json {
  const role = Object.values(json.resource.aws_iam_role).find((r) => r.name === roleName);
  if (!role) throw new Error(`no role ${roleName}`);
  return role;
}

const glob = (pattern: string) => new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);

/** Whether IAM would let a GitHub token with these claims assume the role (StringEquals / StringLike, all conditions). */
function trusts(json: ReturnType<typeof synth>, roleName: string, claims: { sub: string; aud?: string }): boolean {
  const statements = documentOf(json, roleNamed(json, roleName).assume_role_policy);
  return statements.some(
    (statement) =>
      statement.effect === 'Allow' &&
      statement.actions.includes('sts:AssumeRoleWithWebIdentity') &&
      statement.condition.every((c: { test: string; variable: string; values: string[] }) => {
        const claim = c.variable.endsWith(':sub') ? claims.sub : c.variable.endsWith(':aud') ? (claims.aud ?? 'sts.amazonaws.com') : undefined;
        if (claim === undefined) return false;
        return c.values.some((value) => (c.test === 'StringLike' ? glob(value).test(claim) : c.test === 'StringEquals' ? value === claim : false));
      }),
  );
}

describe('the account bootstrap', () => {
  const d = synth(devAccount);
  const p = synth(prodAccount);
  const devNames = accountBootstrapNames(dev.accountId);
  const prodNames = accountBootstrapNames(prod.accountId);
  const repo = 'repo:example-org/ai-eval-platform';

  it('is one stack per account, named from the account; its bucket and roles are what the environments derive', () => {
    expect([devAccount.accountId, prodAccount.accountId]).toEqual(['111111111111', '222222222222']);
    expect(dev.state.bucket).toBe('ai-eval-platform-terraform-state-111111111111');
    expect(prod.state.bucket).toBe('ai-eval-platform-terraform-state-222222222222');
    expect(dev.images.registry.pushRoleArn).toBe(devNames.roleArns.release);
    expect(prod.images.registry.pushRoleArn).toBe(prodNames.roleArns.promote);
    expect(prod.cluster.adminRoleArns).toEqual([prodNames.roleArns.admin]);
    expect(prod.cluster.deployRoleArn).toBe(prodNames.roleArns.deploy);
    // The roles the stacks create are exactly those names.
    expect(Object.values(d.resource.aws_iam_role).map((r) => r.name).sort()).toEqual(['ai-eval-platform-admin', 'ai-eval-platform-github-deploy', 'ai-eval-platform-github-release']);
    expect(Object.values(p.resource.aws_iam_role).map((r) => r.name).sort()).toEqual(['ai-eval-platform-admin', 'ai-eval-platform-github-deploy', 'ai-eval-platform-github-promote']);
  });

  it('keeps state in a versioned, KMS-encrypted, TLS-only, never-destroyed bucket, and the environments encrypt with its key', () => {
    const [bucket] = Object.values(d.resource.aws_s3_bucket);
    expect(bucket).toMatchObject({ bucket: devNames.stateBucket, lifecycle: { prevent_destroy: true } });
    expect(Object.values(d.resource.aws_s3_bucket_versioning)[0].versioning_configuration).toEqual({ status: 'Enabled' });
    const [encryption] = Object.values(d.resource.aws_s3_bucket_server_side_encryption_configuration);
    expect(encryption.rule[0].apply_server_side_encryption_by_default).toEqual({ sse_algorithm: 'aws:kms', kms_master_key_id: expect.stringMatching(/^\$\{aws_kms_key\.state-key\.arn\}$/) });
    expect(Object.values(d.resource.aws_kms_key)[0]).toMatchObject({ enable_key_rotation: true, lifecycle: { prevent_destroy: true } });
    expect(Object.values(d.resource.aws_kms_alias)[0].name).toBe(devNames.stateKeyAlias);
    expect(Object.values(d.resource.aws_s3_bucket_public_access_block)[0]).toMatchObject({ block_public_acls: true, block_public_policy: true, ignore_public_acls: true, restrict_public_buckets: true });
    const tls = documentOf(d, Object.values(d.resource.aws_s3_bucket_policy)[0].policy);
    expect(tls).toEqual([expect.objectContaining({ effect: 'Deny', actions: ['s3:*'], condition: [{ test: 'Bool', variable: 'aws:SecureTransport', values: ['false'] }] })]);
    // The bootstrap's own state, and every environment's, under the bucket's key with a lock file.
    expect(d.terraform.backend.s3).toEqual({
      bucket: devNames.stateBucket, key: 'bootstrap/terraform.tfstate', region: 'eu-west-1', encrypt: true, kms_key_id: stateKeyAliasArn('111111111111', 'eu-west-1'), use_lockfile: true,
    });
    const devStack = JSON.parse(Testing.synth(new PlatformStack(Testing.app(), 'dev', { env: dev })));
    expect(devStack.terraform.backend.s3).toMatchObject({ bucket: devNames.stateBucket, key: 'dev/terraform.tfstate', kms_key_id: stateKeyAliasArn('111111111111', 'eu-west-1'), use_lockfile: true });
    // Its first apply: local state, three folders up from the stack's directory (the repository's root).
    expect(synth(devAccount, 'local').terraform.backend).toEqual({ local: { path: '../../../terraform.bootstrap-111111111111.tfstate' } });
  });

  it('trusts GitHub tokens of this repository only, each role for its own workflow', () => {
    expect(Object.values(d.resource.aws_iam_openid_connect_provider)[0]).toMatchObject({ url: 'https://token.actions.githubusercontent.com', client_id_list: ['sts.amazonaws.com'] });
    const release = devNames.roleNames.release;
    expect(trusts(d, release, { sub: `${repo}:ref:refs/heads/main` })).toBe(true);
    expect(trusts(d, release, { sub: `${repo}:ref:refs/tags/v1.2.3` })).toBe(true);
    expect(trusts(d, release, { sub: `${repo}:ref:refs/heads/feature` })).toBe(false);
    expect(trusts(d, release, { sub: `${repo}:pull_request` })).toBe(false);
    expect(trusts(d, release, { sub: 'repo:someone-else/ai-eval-platform:ref:refs/heads/main' })).toBe(false);
    expect(trusts(d, release, { sub: `${repo}:ref:refs/heads/main`, aud: 'https://github.com/example-org' })).toBe(false);
    // A prefix of the repository's name is another repository.
    expect(trusts(d, release, { sub: 'repo:example-org/ai-eval-platform-fork:ref:refs/heads/main' })).toBe(false);

    const promote = prodNames.roleNames.promote;
    expect(trusts(p, promote, { sub: `${repo}:ref:refs/heads/main` })).toBe(true);
    expect(trusts(p, promote, { sub: `${repo}:ref:refs/tags/v1.2.3` })).toBe(false);

    // deploy.yml: dev's job runs in GitHub environment `dev`, prod's in `production` (required reviewers).
    const deploy = devNames.roleNames.deploy;
    expect(trusts(d, deploy, { sub: `${repo}:environment:dev` })).toBe(true);
    expect(trusts(d, deploy, { sub: `${repo}:environment:production` })).toBe(false);
    expect(trusts(p, deploy, { sub: `${repo}:environment:production` })).toBe(true);
    expect(trusts(p, deploy, { sub: `${repo}:environment:dev` })).toBe(false);
    expect(trusts(p, deploy, { sub: `${repo}:ref:refs/heads/main` })).toBe(false);

    // The admin role is assumed from the account, never by a GitHub token.
    const admin = documentOf(d, roleNamed(d, devNames.roleNames.admin).assume_role_policy);
    expect(admin).toEqual([expect.objectContaining({ actions: ['sts:AssumeRole', 'sts:TagSession'], principals: [{ type: 'AWS', identifiers: ['arn:aws:iam::111111111111:root'] }] })]);
  });

  it('gives each role least privilege: pushes to its own repositories, the deploy role to its environments and never to the bootstrap', () => {
    const permissions = (json: ReturnType<typeof synth>, key: string) => {
      const policy = Object.values(json.resource.aws_iam_role_policy).find((r) => r.role.includes(`${key}-role`));
      return documentOf(json, policy!.policy);
    };
    const push = permissions(d, 'release').find((s) => s.sid === 'PushThisAccountsRepositories')!;
    expect(push.resources).toEqual(['arn:aws:ecr:eu-west-1:111111111111:repository/ai-eval-platform-dev/orchestrator', 'arn:aws:ecr:eu-west-1:111111111111:repository/ai-eval-platform-dev/worker']);
    expect(push.actions).not.toContain('ecr:BatchDeleteImage');
    expect(permissions(p, 'promote').find((s) => s.sid === 'PushThisAccountsRepositories')!.resources).toEqual([
      'arn:aws:ecr:eu-west-1:222222222222:repository/ai-eval-platform-prod/orchestrator',
      'arn:aws:ecr:eu-west-1:222222222222:repository/ai-eval-platform-prod/worker',
    ]);

    const deploy = permissions(p, 'deploy');
    const sid = (name: string) => deploy.find((s) => s.sid === name)!;
    expect(sid('StateObjects').resources).toEqual(['arn:aws:s3:::ai-eval-platform-terraform-state-222222222222/prod/terraform.tfstate', 'arn:aws:s3:::ai-eval-platform-terraform-state-222222222222/prod/terraform.tfstate.tflock']);
    expect(JSON.stringify(deploy)).not.toContain('bootstrap/terraform.tfstate');
    expect(sid('EnvironmentServices').condition).toEqual([{ test: 'StringEquals', variable: 'aws:RequestedRegion', values: ['eu-west-1'] }]);
    expect(sid('EnvironmentIdentities').resources).toEqual([
      'arn:aws:iam::222222222222:role/ai-eval-platform-prod-*',
      'arn:aws:iam::222222222222:instance-profile/ai-eval-platform-prod-*',
      'arn:aws:iam::222222222222:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/*',
    ]);
    // No bootstrap role matches the environments' role pattern, and the bootstrap's identities are denied outright.
    for (const arn of Object.values(prodNames.roleArns)) expect(arn).not.toMatch(glob('arn:aws:iam::222222222222:role/ai-eval-platform-prod-*'));
    expect(sid('NotTheBootstrap')).toMatchObject({ effect: 'Deny', actions: ['iam:*'], resources: [...Object.values(prodNames.roleArns), prodNames.oidcProviderArn] });
    expect(sid('NotTheStateBucket')).toMatchObject({ effect: 'Deny', resources: ['arn:aws:s3:::ai-eval-platform-terraform-state-222222222222'] });
    expect(sid('EnvironmentSecrets').resources).toEqual(['arn:aws:secretsmanager:eu-west-1:222222222222:secret:prod/eval-platform/*', 'arn:aws:secretsmanager:eu-west-1:222222222222:secret:prod/eval-platform/llm-keys-*']);
    // Everything the stacks call is allowed somewhere: the generator of the data stores' passwords too.
    expect(sid('RandomPasswords')).toMatchObject({ actions: ['secretsmanager:GetRandomPassword'], condition: [{ test: 'StringEquals', variable: 'aws:RequestedRegion', values: ['eu-west-1'] }] });
    expect(sid('EnvironmentBuckets').resources).toEqual(['arn:aws:s3:::ai-eval-platform-prod-artifacts-222222222222', 'arn:aws:s3:::ai-eval-platform-prod-artifacts-222222222222/*']);
  });

  it("lets the deploy role reach every service its account's stacks use", () => {
    const permissions = documentOf(p, Object.values(p.resource.aws_iam_role_policy).find((r) => r.role.includes('deploy-role'))!.policy);
    const allowed = new Set(permissions.filter((s) => s.effect === 'Allow').flatMap((s) => s.actions.map((a: string) => a.split(':')[0])));
    const serviceOf = (type: string): string | undefined => {
      const table: [RegExp, string][] = [
        [/^aws_(vpc|subnet|route_table|internet_gateway|nat_gateway|eip|security_group|vpc_security_group_.*|instance|ebs_volume|volume_attachment|launch_template|availability_zones)$|^aws_route_table_association$/, 'ec2'],
        [/^aws_eks_/, 'eks'], [/^aws_db_/, 'rds'], [/^aws_elasticache_/, 'elasticache'], [/^aws_iam_(role|role_policy|role_policy_attachment|instance_profile|openid_connect_provider)$/, 'iam'],
        [/^aws_s3_/, 's3'], [/^aws_secretsmanager_/, 'secretsmanager'], [/^aws_kms_/, 'kms'], [/^aws_cloudwatch_log_group$/, 'logs'], [/^aws_backup_/, 'backup'],
        [/^aws_ecr_/, 'ecr'], [/^aws_route53_/, 'route53'], [/^aws_ssm_parameter$/, 'ssm'],
      ];
      return table.find(([pattern]) => pattern.test(type))?.[1];
    };
    const stack = JSON.parse(Testing.synth(new PlatformStack(Testing.app(), 'prod', { env: prod })));
    const types = [...Object.keys(stack.resource), ...Object.keys(stack.data ?? {}), ...Object.keys(stack.ephemeral ?? {})].filter((t) => t.startsWith('aws_') && t !== 'aws_iam_policy_document');
    const services = types.map((type) => ({ type, service: serviceOf(type) }));
    expect(services.filter((s) => s.service === undefined)).toEqual([]);
    expect(services.filter((s) => !allowed.has(s.service!))).toEqual([]);
  });

  it('outputs what the runbook reads: the state bucket and every role ARN', () => {
    expect(Object.keys(d.output).sort()).toEqual(['admin_role_arn', 'deploy_role_arn', 'github_oidc_provider_arn', 'release_role_arn', 'state_bucket', 'state_kms_key_arn']);
    expect(Object.keys(p.output)).toContain('promote_role_arn');
  });

  it('refuses environments of one account that disagree on what they share, naming both', () => {
    const staging = resolveEnvironment({ ...rawEnvironment('dev'), name: 'staging', github: { repository: 'example-org/another' } });
    expect(() => accountBootstraps([dev, staging])).toThrow(
      'account 111111111111: dev and staging share the account\'s bootstrap but differ in github.repository ("example-org/ai-eval-platform" and "example-org/another")',
    );
    const ownBucket = resolveEnvironment({ ...rawEnvironment('dev'), state: { bucket: 'my-state' } });
    expect(() => accountBootstraps([ownBucket])).toThrow('dev: state.bucket: the account bootstrap creates ai-eval-platform-terraform-state-111111111111; leave state.bucket out (got "my-state")');
    // Two environments of one account: one bootstrap, trusting both deploy jobs.
    const both = accountBootstraps([dev, resolveEnvironment({ ...rawEnvironment('dev'), name: 'staging' })]);
    expect(both).toHaveLength(1);
    expect(both[0].environments.map((env) => env.deployEnvironment)).toEqual(['dev', 'staging']);
  });
});

describe('placeholders of the example environments', () => {
  const problemsOf = (fn: () => unknown) => {
    try {
      fn();
      return [];
    } catch (error) {
      return (error as { problems?: string[] }).problems ?? [String(error)];
    }
  };

  it('are accepted in the example and refused, field by field, once `example: true` is gone', () => {
    expect(problemsOf(() => environment('dev'))).toEqual([]);
    const { example: _, ...own } = rawEnvironment('dev');
    const problems = problemsOf(() => resolveEnvironment(own));
    expect(problems).toEqual([
      'dev: accountId: an example AWS account id, a placeholder of the example environments: put in your own (or set example: true) (got "111111111111")',
      'dev: github.repository: the example GitHub organisation example-org, a placeholder of the example environments: put in your own (or set example: true) (got "example-org/ai-eval-platform")',
      'dev: orchestrator.host: an example.com/.org/.net name, a placeholder of the example environments: put in your own (or set example: true) (got "evals.dev.example.com")',
      'dev: addons.acmeEmail: an example.com/.org/.net name, a placeholder of the example environments: put in your own (or set example: true) (got "platform-team@example.com")',
      'dev: gitops.repoUrl: the example GitHub organisation example-org, a placeholder of the example environments: put in your own (or set example: true) (got "https://github.com/example-org/ai-eval-platform-gitops.git")',
    ]);
    // An ARN typed with an example account is one too; real values pass.
    const real = { ...own, accountId: '444455556666', github: { repository: 'acme/evals' }, orchestrator: { ...own.orchestrator, host: 'evals.dev.acme.io' }, addons: { acmeEmail: 'ops@acme.io' }, gitops: { repoUrl: 'https://github.com/acme/evals-gitops.git' } };
    expect(problemsOf(() => resolveEnvironment(real))).toEqual([]);
    expect(problemsOf(() => resolveEnvironment({ ...real, cluster: { adminRoleArns: ['arn:aws:iam::111111111111:role/admin'] } }))).toEqual([
      'dev: cluster.adminRoleArns.0: an example AWS account id, a placeholder of the example environments: put in your own (or set example: true) (got "arn:aws:iam::111111111111:role/admin")',
    ]);
    // Digits that merely contain the example's do not count.
    expect(problemsOf(() => resolveEnvironment({ ...real, accountId: '911111111111' }))).toEqual([]);
  });
});
