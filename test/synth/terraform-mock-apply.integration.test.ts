import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadEnvironments } from '../../synth/environments';
import { synthTerraform } from '../../synth/terraform';
import { findProviderMirror, mirrorCliConfig, pinToMirror } from '../../synth/validate-terraform';
import { liftPreventDestroy, type Stack } from '../support/simulated-aws';

/**
 * `terraform test` with `mock_provider "aws"` plans and then applies every synthesized stack (the account
 * bootstraps, dev and prod), so an error that only shows at plan or apply time (an index into an empty list, an
 * ARN a resource refuses, a cycle) cannot land; `npm run test:apply` applies the bootstrap and dev against an AWS
 * API simulator. The copy differs from the synthesized stack in three ways, each because the mock cannot do it:
 * no backend (the test keeps state in memory); the ephemeral random passwords (which mock providers do not
 * support yet: "No ephemeral resource types in mock providers") replaced by a literal in the write-only
 * arguments they feed; the Redis AUTH token's local-exec provisioner left out (it calls the AWS CLI; tested
 * against a fake CLI in test/constructs/terraform-order.test.ts); `prevent_destroy` lifted, since the test
 * destroys what it applied. The mock's defaults give the computed
 * attributes the shapes AWS returns where a resource validates them (an `lt-` id, an ARN, a managed secret).
 */
const mirror = findProviderMirror();
const out = mkdtempSync(join(tmpdir(), 'tf-mock-apply-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

function mockTest(accountId: string, region: string): string {
  return `mock_provider "aws" {
  mock_data "aws_availability_zones" {
    defaults = { names = ["${region}a", "${region}b", "${region}c"] }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\\"Version\\":\\"2012-10-17\\",\\"Statement\\":[]}" }
  }
  mock_resource "aws_db_instance" {
    defaults = {
      resource_id        = "db-MOCK"
      master_user_secret = [{ secret_arn = "arn:aws:secretsmanager:${region}:${accountId}:secret:rds!db-mock", kms_key_id = "", secret_status = "active" }]
    }
  }
  mock_resource "aws_launch_template" {
    defaults = { id = "lt-0123456789abcdef0" }
  }
  mock_resource "aws_eks_cluster" {
    defaults = {
      arn      = "arn:aws:eks:${region}:${accountId}:cluster/mock"
      identity = [{ oidc = [{ issuer = "https://oidc.eks.${region}.amazonaws.com/id/MOCK" }] }]
    }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::${accountId}:role/mock" }
  }
  mock_resource "aws_kms_key" {
    defaults = { arn = "arn:aws:kms:${region}:${accountId}:key/mock" }
  }
}

run "plan" {
  command = plan
}

run "apply" {
  command = apply
}
`;
}

type Json = Record<string, unknown>;
const EPHEMERAL_PASSWORD = /ephemeral\.aws_secretsmanager_random_password\.[A-Za-z0-9_-]+\.random_password/g;

function mockCopy(stack: Json): Json {
  const copy = structuredClone(stack) as Stack & { terraform: NonNullable<Stack['terraform']>; resource: NonNullable<Stack['resource']> };
  delete copy.terraform.backend;
  delete copy.ephemeral;
  for (const block of Object.values(copy.resource.terraform_data ?? {})) delete block.provisioner;
  // The test destroys what it applied.
  liftPreventDestroy(copy);
  const walk = (value: unknown): unknown =>
    Array.isArray(value)
      ? value.map(walk)
      : value && typeof value === 'object'
        ? Object.fromEntries(Object.entries(value).map(([key, item]) => [key, walk(item)]))
        : typeof value === 'string'
          ? value.replace(EPHEMERAL_PASSWORD, '"mock-password"')
          : value;
  return walk(copy) as Json;
}

describe('terraform test with a mocked aws provider: every stack plans and applies (integration)', () => {
  let stacks: string[] = [];
  beforeAll(() => {
    if (!mirror && process.env.TF_PROVIDERS_FROM_REGISTRY !== '1') {
      throw new Error('no unpacked hashicorp/aws provider mirror: set TF_PLUGIN_MIRROR, or TF_PROVIDERS_FROM_REGISTRY=1 where the registry is reachable (see README, "The two commands")');
    }
    synthTerraform(join(out, 'cdktf.out'), loadEnvironments(), 's3');
    stacks = readdirSync(join(out, 'cdktf.out/stacks')).sort();
  });

  it('synthesizes a bootstrap per account and a stack per environment', () => {
    expect(stacks).toEqual(['bootstrap-111111111111', 'bootstrap-222222222222', 'dev', 'prod']);
  });

  it.each(['bootstrap-111111111111', 'bootstrap-222222222222', 'dev', 'prod'])('%s: plan and apply pass', (stack) => {
    const synthesized = JSON.parse(readFileSync(join(out, 'cdktf.out/stacks', stack, 'cdk.tf.json'), 'utf8')) as Json & {
      provider: { aws: { allowed_account_ids: string[]; region: string }[] };
    };
    const [{ allowed_account_ids: [accountId], region }] = synthesized.provider.aws;
    const copy = mockCopy(synthesized);
    expect(JSON.stringify(copy)).not.toContain('ephemeral.');
    const dir = join(out, 'mock', stack);
    mkdirSync(join(dir, 'tests'), { recursive: true });
    const env: NodeJS.ProcessEnv = { ...process.env, TF_IN_AUTOMATION: '1', TF_INPUT: '0', CHECKPOINT_DISABLE: '1', TF_CLI_ARGS: '' };
    if (mirror) {
      pinToMirror(copy as Parameters<typeof pinToMirror>[0], mirror);
      writeFileSync(join(dir, 'terraform.rc'), mirrorCliConfig(mirror));
      env.TF_CLI_CONFIG_FILE = join(dir, 'terraform.rc');
    }
    writeFileSync(join(dir, 'cdk.tf.json'), JSON.stringify(copy, null, 2));
    writeFileSync(join(dir, 'tests', 'stack.tftest.hcl'), mockTest(accountId, region));
    const tf = (args: string[]) => spawnSync('terraform', [...args, '-no-color'], { cwd: dir, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    const init = tf(['init', '-backend=false', '-input=false']);
    expect(init.status === 0 ? 'initialized' : init.stderr + init.stdout).toBe('initialized');
    const test = tf(['test']);
    const text = `${test.stdout}${test.stderr}`;
    const errors = text.split('\n').filter((line) => /^Error|^\s+on cdk\.tf\.json/.test(line));
    expect({ errors, result: /Success! 2 passed, 0 failed\./.test(text) ? 'plan and apply passed' : text.slice(-3000) }).toEqual({ errors: [], result: 'plan and apply passed' });
  });
});
