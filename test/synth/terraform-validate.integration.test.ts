import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadEnvironments } from '../../synth/environments';
import { synthTerraform } from '../../synth/terraform';
import { findProviderMirror, formatValidation, validateStack } from '../../synth/validate-terraform';

/**
 * The consumer of what cdktf synthesizes is terraform. This runs the terraform CLI on every environment:
 * `terraform init -backend=false` from an unpacked provider mirror (no registry is reachable here) and
 * `terraform validate`. The stacks pin hashicorp/aws 6.x; the mirror on this machine holds 5.100.0 only, so
 * the scratch copy's pin is set to the mirrored version (validateStack reports it as `repinned`) and every
 * reference, block and argument is checked against that provider's schema. It fails, never skips, when
 * terraform or the mirror is missing.
 */
// TF_PLUGIN_MIRROR, or where this kind of machine keeps it: `find / -maxdepth 2 -name tf-plugins` (as `npm run validate:terraform`).
const mirror = findProviderMirror();
const out = mkdtempSync(join(tmpdir(), 'tf-validate-test-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('terraform validate on the synthesized stacks (integration)', () => {
  beforeAll(() => {
    expect(spawnSync('terraform', ['version'], { encoding: 'utf8' }).status).toBe(0);
    // GitHub's CI has the registry instead (TF_PROVIDERS_FROM_REGISTRY=1): then the stacks' own pins are used.
    if (!mirror && process.env.TF_PROVIDERS_FROM_REGISTRY !== '1') {
      throw new Error('no unpacked hashicorp/aws provider mirror: set TF_PLUGIN_MIRROR, or TF_PROVIDERS_FROM_REGISTRY=1 where the registry is reachable (see README, "The two commands")');
    }
    synthTerraform(join(out, 'cdktf.out'), loadEnvironments());
  });

  it.each(['bootstrap-111111111111', 'bootstrap-222222222222', 'dev', 'prod'])('%s: terraform init and validate pass, with no warning', (env) => {
    const result = validateStack(join(out, 'cdktf.out/stacks', env, 'cdk.tf.json'), { pluginMirror: mirror });
    expect(formatValidation(result)).toBe(`terraform validate: ${env}: valid\n${result.repinned.map((p) => `  (checked against the mirrored provider: ${p})\n`).join('')}`);
    // Only hashicorp/aws is needed: no provider that holds generated secrets in state.
    const pinned = JSON.parse(readFileSync(join(out, 'cdktf.out/stacks', env, 'cdk.tf.json'), 'utf8')).terraform.required_providers;
    expect(Object.keys(pinned)).toEqual(['aws']);
  });

  it('fails, naming the line, when a reference is broken', () => {
    const broken = join(out, 'broken/dev');
    const text = readFileSync(join(out, 'cdktf.out/stacks/dev/cdk.tf.json'), 'utf8');
    const json = JSON.parse(text);
    const [addonName, addon] = Object.entries(json.resource.aws_eks_addon as Record<string, { depends_on?: string[] }>).find(([, a]) => a.depends_on)!;
    // What the first synth shipped: an interpolation where depends_on needs a bare address.
    addon.depends_on = addon.depends_on!.map((ref) => `\${${ref}}`);
    mkdirSync(broken, { recursive: true });
    writeFileSync(join(broken, 'cdk.tf.json'), JSON.stringify(json, null, 2));
    const result = validateStack(join(broken, 'cdk.tf.json'), { pluginMirror: mirror });
    expect(result.valid).toBe(false);
    const report = formatValidation(result);
    expect(report).toContain('Invalid expression');
    expect(report).toMatch(/on cdk\.tf\.json line \d+, in resource\.aws_eks_addon\./);
    expect(addonName).toMatch(/coredns|ebs/);

    json.resource.aws_eks_addon[addonName].depends_on = undefined;
    json.resource.aws_eks_addon[addonName].cluster_name = '${aws_eks_cluster.no_such_cluster.name}';
    writeFileSync(join(broken, 'cdk.tf.json'), JSON.stringify(json, null, 2));
    const missing = validateStack(join(broken, 'cdk.tf.json'), { pluginMirror: mirror });
    expect(missing.valid).toBe(false);
    expect(formatValidation(missing)).toContain('Reference to undeclared resource');
  });

  it('says the providers could not be had, not INVALID, when neither a registry nor a mirror can be reached, and what to set', () => {
    // A registry that cannot be reached, whatever the network: every connection goes to a closed local port.
    const cli = join(out, 'direct.rc');
    writeFileSync(cli, 'provider_installation {\n  direct {}\n}\n');
    const saved = { ...process.env };
    Object.assign(process.env, { TF_CLI_CONFIG_FILE: cli, HTTPS_PROXY: 'http://127.0.0.1:9', HTTP_PROXY: 'http://127.0.0.1:9', NO_PROXY: '' });
    try {
      const result = validateStack(join(out, 'cdktf.out/stacks/dev/cdk.tf.json'), { pluginMirror: '' });
      expect(result).toMatchObject({ valid: false, providersUnavailable: true });
      const report = formatValidation(result);
      expect(report).toMatch(/^terraform validate: dev: NOT CHECKED: the registry \(registry\.terraform\.io\) could not be reached and no provider mirror was found\.\n/);
      expect(report).toContain('Set TF_PLUGIN_MIRROR to an unpacked provider mirror');
      expect(report).not.toContain('INVALID');
    } finally {
      process.env = saved;
    }
  });
});
