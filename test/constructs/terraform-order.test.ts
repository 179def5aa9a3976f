import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Testing } from 'cdktf';
import { PlatformStack, readPasswordScript, setRedisAuthTokenScript } from '@ai-eval-platform/constructs/terraform';
import { environment } from '../support/environments';

/**
 * The order Terraform creates things in, read from the synthesized JSON as Terraform reads it: a resource
 * waits for what it references (`${aws_x.y.attr}`) and for its `depends_on`, transitively. The EKS module
 * (terraform-aws-modules/eks) orders a cluster after its role's policies, `before_compute` add-ons (the VPC
 * CNI) before the node groups, the other add-ons after them; applied against an AWS simulator without that
 * order, the cluster and node groups were created while their policy attachments had failed.
 */
type Json = Record<string, any>; // Terraform JSON is untyped by nature

function graph(name: 'dev' | 'prod') {
  const json = JSON.parse(Testing.synth(new PlatformStack(Testing.app(), name, { env: environment(name) }))) as { resource: Record<string, Json>; data?: Record<string, Json>; ephemeral?: Record<string, Json> };
  const blocks = new Map<string, Json>();
  for (const [kind, prefix] of [[json.resource, ''], [json.data ?? {}, 'data.'], [json.ephemeral ?? {}, 'ephemeral.']] as const) {
    for (const [type, byName] of Object.entries(kind)) for (const [n, body] of Object.entries(byName as Json)) blocks.set(`${prefix}${type}.${n}`, body);
  }
  const direct = (address: string): Set<string> => {
    const body = blocks.get(address)!;
    const found = new Set<string>((body.depends_on ?? []) as string[]);
    const text = JSON.stringify({ ...body, depends_on: undefined });
    for (const match of text.matchAll(/((?:data\.|ephemeral\.)?aws_[a-z0-9_]+\.[A-Za-z0-9_-]+)/g)) if (blocks.has(match[1]) && match[1] !== address) found.add(match[1]);
    return found;
  };
  const closure = new Map<string, Set<string>>();
  const after = (address: string): Set<string> => {
    const known = closure.get(address);
    if (known) return known;
    const all = new Set<string>();
    closure.set(address, all);
    for (const d of direct(address)) {
      all.add(d);
      for (const t of after(d)) all.add(t);
    }
    return all;
  };
  const of = (type: string, where: (body: Json) => boolean = () => true) => [...blocks].filter(([a, b]) => a.startsWith(`${type}.`) && where(b)).map(([a]) => a);
  return { json, blocks, after, of };
}

describe.each(['dev', 'prod'] as const)('Terraform order (%s)', (name) => {
  const g = graph(name);
  /** The policy resources of the role at `address` (attachments and inline policies). */
  const policiesOf = (role: string) => [
    ...g.of('aws_iam_role_policy_attachment', (b) => String(b.role).includes(`${role}.`)),
    ...g.of('aws_iam_role_policy', (b) => String(b.role).includes(`${role}.`)),
  ];
  /** What assumes a role: a resource naming its ARN where AWS takes a role to act as (or an instance profile of it). */
  const assumers = () => {
    const found: Array<{ user: string; role: string }> = [];
    for (const [address, body] of g.blocks) {
      if (address.startsWith('data.')) continue;
      for (const field of ['role_arn', 'node_role_arn', 'service_account_role_arn', 'iam_role_arn', 'iam_instance_profile']) {
        const value = body[field];
        if (typeof value !== 'string') continue;
        let role = /aws_iam_role\.([A-Za-z0-9_-]+)\./.exec(value)?.[0].slice(0, -1);
        const profile = /aws_iam_instance_profile\.([A-Za-z0-9_-]+)/.exec(value)?.[0];
        if (!role && profile) role = /aws_iam_role\.([A-Za-z0-9_-]+)/.exec(JSON.stringify(g.blocks.get(profile)))?.[0];
        if (role) found.push({ user: address, role });
      }
    }
    return found;
  };

  it('every resource that acts as a role is created after all of that role’s policies', () => {
    const users = assumers();
    expect(users.map((u) => u.user)).toEqual(expect.arrayContaining([...g.of('aws_eks_cluster'), ...g.of('aws_eks_node_group'), ...g.of('aws_instance')]));
    const missing = users.flatMap(({ user, role }) => policiesOf(role).filter((p) => !g.after(user).has(p)).map((p) => `${user} is not after ${p}`));
    expect(missing).toEqual([]);
  });

  it('the VPC CNI (and kube-proxy, the pod identity agent) before the node groups; CoreDNS and the EBS CSI driver after them', () => {
    const addon = (n: string) => g.of('aws_eks_addon', (b) => b.addon_name === n)[0];
    const groups = g.of('aws_eks_node_group');
    expect(groups.length).toBeGreaterThan(1);
    for (const group of groups) {
      for (const before of ['vpc-cni', 'kube-proxy', 'eks-pod-identity-agent']) expect([group, g.after(group).has(addon(before))]).toEqual([group, true]);
      for (const later of ['coredns', 'aws-ebs-csi-driver']) expect([later, g.after(addon(later)).has(group)]).toEqual([later, true]);
    }
  });

  it('ClickHouse nodes boot after the password they read and the policy that lets them read it', () => {
    const instances = g.of('aws_instance');
    expect(instances.length).toBeGreaterThan(0);
    const secretVersion = g.of('aws_secretsmanager_secret_version', (b) => String(b.secret_id).includes('clickhouse'));
    expect(secretVersion).toHaveLength(1);
    for (const instance of instances) expect([instance, g.after(instance).has(secretVersion[0])]).toEqual([instance, true]);
  });

  it('no secret value is readable from state: no secret version read back, none fed into a stored attribute', () => {
    // A data source's result is stored in state; an ephemeral resource's never is, and may only feed write-only arguments.
    expect(g.of('data.aws_secretsmanager_secret_version')).toEqual([]);
    const stored: string[] = [];
    for (const [address, body] of g.blocks) {
      if (address.startsWith('ephemeral.')) continue;
      for (const [field, value] of Object.entries(body)) {
        if (/_wo$/.test(field)) continue;
        if (JSON.stringify(value).includes('ephemeral.')) stored.push(`${address}.${field}`);
      }
    }
    expect(stored).toEqual([]);
    expect(g.of('aws_secretsmanager_secret_version', (b) => 'secret_string' in b).every((a) => !/redis|clickhouse|llm|slack/.test(a))).toBe(true);
    expect(g.of('aws_elasticache_replication_group').map((a) => g.blocks.get(a)!.auth_token)).toEqual([undefined]);
  });
});

describe('ClickHouse nodes converge', () => {
  const g = graph('prod');

  it('a change of a node’s configuration replaces it (never silently ignored); a new Ubuntu AMI does not', () => {
    for (const instance of g.of('aws_instance')) {
      const body = g.blocks.get(instance)!;
      expect(body.user_data_replace_on_change).toBe(true);
      expect(body.lifecycle.ignore_changes).toEqual(['ami']);
    }
    // The data volume survives a replacement; the new node mounts it again.
    for (const volume of g.of('aws_ebs_volume')) expect(g.blocks.get(volume)!.lifecycle.prevent_destroy).toBe(true);
  });

  it('the boot script waits for its password: retried while the secret or the permission is missing, never printed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ch-boot-'));
    try {
      // A fake `aws`: denied twice (the role's policy not there yet), then an empty secret, then the value.
      writeFileSync(
        join(dir, 'aws'),
        `#!/bin/bash\nn=$(cat ${dir}/calls 2>/dev/null || echo 0); n=$((n+1)); echo $n > ${dir}/calls\n` +
          `case $n in 1|2) echo "AccessDeniedException: not authorized" >&2; exit 254;; 3) echo '{}';; *) echo '{"username":"eval","password":"s3cret-value"}';; esac\n`,
      );
      chmodSync(join(dir, 'aws'), 0o755);
      const script = `set -euo pipefail\n${readPasswordScript('eu-west-1', 'ai-eval/prod/clickhouse')}\nprintf '%s' "$password" > ${dir}/got\n`;
      const run = spawnSync('bash', ['-c', script], { env: { PATH: `${dir}:${process.env.PATH}`, retry_seconds: '0' }, encoding: 'utf8' });
      expect(run.status).toBe(0);
      expect(readFileSync(join(dir, 'got'), 'utf8')).toBe('s3cret-value');
      expect(run.stderr).toContain('reading the ClickHouse password failed (attempt 2): AccessDeniedException');
      expect(run.stderr).toContain('has no password yet (attempt 3)');
      expect(run.stderr).not.toContain('s3cret-value');
      // Never available: it gives up, non-zero, after its attempts.
      writeFileSync(join(dir, 'aws'), '#!/bin/bash\necho "ResourceNotFoundException" >&2; exit 254\n');
      const never = spawnSync('bash', ['-c', script], { env: { PATH: `${dir}:${process.env.PATH}`, retry_seconds: '0' }, encoding: 'utf8' });
      expect(never.status).not.toBe(0);
      expect(never.stderr).toContain('no ClickHouse password after 30 attempts');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the Redis AUTH token reaches ElastiCache without passing through Terraform', () => {
  const g = graph('prod');

  it('a terraform_data after the group and the token’s version, again when either changes, runs the script with where to find the token', () => {
    const [address] = g.of('terraform_data');
    const body = g.blocks.get(address)!;
    const group = g.of('aws_elasticache_replication_group')[0];
    const version = g.of('aws_secretsmanager_secret_version', (b) => String(b.secret_id).includes('redis'))[0];
    expect(g.after(address).has(group) && g.after(address).has(version)).toBe(true);
    expect(body.triggers_replace).toEqual([`\${${group}.id}`, `\${${version}.secret_string_wo_version}`]);
    const exec = body.provisioner[0]['local-exec'];
    expect(exec).toEqual({ interpreter: ['/bin/bash', '-c'], command: setRedisAuthTokenScript(), environment: { REPLICATION_GROUP: `\${${group}.id}`, REGION: 'eu-west-1', SECRET_ID: 'prod/eval-platform/redis' } });
  });

  it('the script sets the token from the secret (SET on a group without AUTH, ROTATE on one with it), never on a command line or in its output', () => {
    const dir = mkdtempSync(join(tmpdir(), 'redis-auth-'));
    const token = 'tok-' + 'x'.repeat(40);
    try {
      // A fake AWS CLI: records each call's arguments; the secret, the group's AUTH state and the modify request are files.
      writeFileSync(
        join(dir, 'aws'),
        `#!/bin/bash\necho "$*" >> ${dir}/calls\n` +
          `case "$1 $2" in\n` +
          `  "secretsmanager get-secret-value") cat ${dir}/secret;;\n` +
          `  "elasticache describe-replication-groups") cat ${dir}/enabled;;\n` +
          `  "elasticache modify-replication-group") for a in "$@"; do case "$a" in file://*) cp "\${a#file://}" ${dir}/modify.json;; esac; done;;\n` +
          `esac\n`,
      );
      chmodSync(join(dir, 'aws'), 0o755);
      const run = (enabled: string, secret: string) => {
        writeFileSync(join(dir, 'enabled'), `${enabled}\n`);
        writeFileSync(join(dir, 'secret'), secret);
        rmSync(join(dir, 'modify.json'), { force: true });
        rmSync(join(dir, 'calls'), { force: true });
        return spawnSync('/bin/bash', ['-c', setRedisAuthTokenScript()], {
          env: { PATH: `${dir}:${process.env.PATH}`, REPLICATION_GROUP: 'ai-eval-prod-queue', REGION: 'eu-west-1', SECRET_ID: 'prod/eval-platform/redis', TMPDIR: dir },
          encoding: 'utf8',
        });
      };
      const first = run('False', JSON.stringify({ password: token }));
      expect(first.status).toBe(0);
      expect(JSON.parse(readFileSync(join(dir, 'modify.json'), 'utf8'))).toEqual({ ReplicationGroupId: 'ai-eval-prod-queue', AuthToken: token, AuthTokenUpdateStrategy: 'SET', ApplyImmediately: true });
      expect(first.stdout.trim()).toBe('AUTH token of ai-eval-prod-queue set from prod/eval-platform/redis (SET)');
      const calls = readFileSync(join(dir, 'calls'), 'utf8');
      expect(calls).not.toContain(token);
      expect(calls.split('\n').filter(Boolean).map((c) => c.split(' ').slice(0, 3).join(' '))).toEqual([
        'secretsmanager get-secret-value --region',
        'elasticache wait replication-group-available',
        'elasticache describe-replication-groups --region',
        'elasticache modify-replication-group --region',
        'elasticache wait replication-group-available',
      ]);
      // Its scratch files are gone (only the fake's own files are left).
      expect(readdirSync(dir).sort()).toEqual(['aws', 'calls', 'enabled', 'modify.json', 'secret']);

      const rotate = run('True', JSON.stringify({ password: token }));
      expect(rotate.status).toBe(0);
      expect(JSON.parse(readFileSync(join(dir, 'modify.json'), 'utf8')).AuthTokenUpdateStrategy).toBe('ROTATE');

      const empty = run('False', '{}');
      expect(empty.status).not.toBe(0);
      expect(empty.stderr).toContain('secret prod/eval-platform/redis holds no password: nothing to set on ai-eval-prod-queue');
      expect(existsSync(join(dir, 'modify.json'))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
