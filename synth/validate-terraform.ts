import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * `npm run validate:terraform`: `terraform init -backend=false` and `terraform validate` on every
 * synthesized stack, in a scratch copy (the S3 backend and the real state are never touched).
 *
 * With a provider mirror (`TF_PLUGIN_MIRROR`, or `pluginMirror`), the providers come from that unpacked
 * filesystem mirror and nothing is downloaded; when the mirror holds another version of a provider than
 * the stack pins, the copy's pin is set to the mirrored version (say, 5.100.0 for a 6.x pin): validate
 * then checks every reference, block and argument against that version's schema.
 */
export interface TerraformDiagnostic {
  readonly severity: 'error' | 'warning';
  readonly summary: string;
  readonly detail?: string;
  /** `cdk.tf.json:<line>` when terraform names a place. */
  readonly where?: string;
}

export interface StackValidation {
  readonly stack: string;
  readonly valid: boolean;
  /** Set when `terraform init` failed (then `valid` is false and nothing was validated). */
  readonly initError?: string;
  /**
   * Set when init failed because no provider could be had: no mirror, and the registry unreachable. Then the
   * stack is not known to be invalid; it was not checked.
   */
  readonly providersUnavailable?: boolean;
  readonly diagnostics: readonly TerraformDiagnostic[];
  /** Provider pins changed in the scratch copy, `source: from -> to`. */
  readonly repinned: readonly string[];
}

export interface ValidateOptions {
  /** Unpacked provider mirror (`<host>/<namespace>/<type>/<version>/<os_arch>/`). @default $TF_PLUGIN_MIRROR */
  readonly pluginMirror?: string;
  /** @default $TERRAFORM_BIN or `terraform` */
  readonly terraform?: string;
}

/** The provider versions an unpacked mirror holds, by `namespace/type` (e.g. `hashicorp/aws`). */
export function mirroredVersions(mirror: string): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const host of readdirSync(mirror)) {
    for (const namespace of safeList(join(mirror, host))) {
      for (const type of safeList(join(mirror, host, namespace))) {
        found.set(`${namespace}/${type}`, safeList(join(mirror, host, namespace, type)));
      }
    }
  }
  return found;
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch {
    return [];
  }
}

/** `aws` and `hashicorp/aws` both mean the registry's hashicorp/aws. */
function qualified(source: string): string {
  const parts = source.replace(/^registry\.terraform\.io\//, '').split('/');
  return parts.length === 1 ? `hashicorp/${parts[0]}` : parts.join('/');
}

/**
 * The unpacked hashicorp/aws mirror to use: `TF_PLUGIN_MIRROR`, else a `tf-plugins` folder at the top of the
 * filesystem that holds hashicorp/aws (where this kind of machine keeps it: `find / -maxdepth 2 -name tf-plugins`).
 */
export function findProviderMirror(env: NodeJS.ProcessEnv = process.env, root = '/'): string | undefined {
  if (env.TF_PLUGIN_MIRROR) return env.TF_PLUGIN_MIRROR;
  for (const top of safeList(root)) {
    const candidate = join(root, top, 'tf-plugins');
    try {
      if (existsSync(candidate) && mirroredVersions(candidate).has('hashicorp/aws')) return candidate;
    } catch {
      // an unreadable top-level folder
    }
  }
  return undefined;
}

/**
 * Sets each provider pin of a stack's JSON to the version the mirror holds, when it holds another; returns the
 * changes as `source: from -> to`.
 */
export function pinToMirror(config: { terraform?: { required_providers?: Record<string, { source?: string; version?: string }> } }, mirror: string): string[] {
  const versions = mirroredVersions(mirror);
  const repinned: string[] = [];
  for (const [name, provider] of Object.entries(config.terraform?.required_providers ?? {})) {
    const source = qualified(provider.source ?? name);
    const held = versions.get(source);
    if (!held || held.length === 0) continue; // init names the missing provider
    if (provider.version && !held.includes(provider.version)) {
      repinned.push(`${source}: ${provider.version} -> ${held[0]}`);
      provider.version = held[0];
    }
  }
  return repinned;
}

/** A terraform CLI configuration that installs providers from the mirror only. */
export function mirrorCliConfig(mirror: string): string {
  return `provider_installation {\n  filesystem_mirror {\n    path = ${JSON.stringify(mirror)}\n  }\n}\n`;
}

/** Terraform's words when it could reach no registry for a provider. */
const REGISTRY_UNREACHABLE = /Failed to query available provider packages|could not connect to registry|Failed to install provider|registry\.terraform\.io.*(?:timeout|no such host|connection refused|i\/o timeout)/is;

export function validateStack(stackFile: string, options: ValidateOptions = {}): StackValidation {
  const terraform = options.terraform ?? process.env.TERRAFORM_BIN ?? 'terraform';
  const mirror = options.pluginMirror ?? findProviderMirror();
  const stack = stackFile.split('/').slice(-2, -1)[0] ?? stackFile;
  const work = mkdtempSync(join(tmpdir(), `tf-validate-${stack}-`));
  try {
    const config = JSON.parse(readFileSync(stackFile, 'utf8')) as {
      terraform?: { required_providers?: Record<string, { source?: string; version?: string }> };
    };
    let repinned: string[] = [];
    const env: NodeJS.ProcessEnv = { ...process.env, TF_IN_AUTOMATION: '1', TF_INPUT: '0', CHECKPOINT_DISABLE: '1' };
    delete env.TF_CLI_ARGS;
    if (mirror) {
      repinned = pinToMirror(config, mirror);
      const cliConfig = join(work, 'terraform.rc');
      writeFileSync(cliConfig, mirrorCliConfig(mirror));
      env.TF_CLI_CONFIG_FILE = cliConfig;
    }
    writeFileSync(join(work, 'cdk.tf.json'), JSON.stringify(config, null, 2));
    const tf = (args: string[]) => spawnSync(terraform, args, { cwd: work, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    const init = tf(['init', '-backend=false', '-input=false', '-no-color']);
    if (init.error || init.status !== 0) {
      const text = init.error ? `${terraform}: ${init.error.message}` : `${init.stderr}\n${init.stdout}`.trim();
      const providersUnavailable = !mirror && !init.error && REGISTRY_UNREACHABLE.test(text);
      return { stack, valid: false, initError: text, diagnostics: [], repinned, ...(providersUnavailable ? { providersUnavailable } : {}) };
    }
    const validate = tf(['validate', '-json', '-no-color']);
    const result = JSON.parse(validate.stdout) as {
      valid: boolean;
      diagnostics: { severity: 'error' | 'warning'; summary: string; detail?: string; range?: { filename: string; start: { line: number } } }[];
    };
    return {
      stack,
      valid: result.valid,
      repinned,
      diagnostics: result.diagnostics.map((d) => ({
        severity: d.severity,
        summary: d.summary,
        detail: d.detail,
        where: d.range ? `${d.range.filename}:${d.range.start.line}` : undefined,
      })),
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export function formatValidation(result: StackValidation): string {
  if (result.providersUnavailable) {
    return (
      `terraform validate: ${result.stack}: NOT CHECKED: the registry (registry.terraform.io) could not be reached and no provider mirror was found.\n` +
      '  Set TF_PLUGIN_MIRROR to an unpacked provider mirror (<host>/<namespace>/<type>/<version>/<os_arch>/, e.g. `terraform providers mirror` output),\n' +
      '  put one at /<folder>/tf-plugins, or run where the registry is reachable.\n' +
      `  terraform init said: ${result.initError!.split('\n').filter((line) => /Error|registry|provider/i.test(line)).slice(0, 3).map((line) => line.replace(/^[│╷╵\s]+/, '')).join(' / ')}\n`
    );
  }
  const lines = [`terraform validate: ${result.stack}: ${result.valid ? 'valid' : 'INVALID'}`];
  for (const pin of result.repinned) lines.push(`  (checked against the mirrored provider: ${pin})`);
  if (result.initError) lines.push(`  terraform init failed:\n    ${result.initError.split('\n').join('\n    ')}`);
  for (const d of result.diagnostics) {
    lines.push(`  ${d.severity}: ${d.where ? `${d.where}: ` : ''}${d.summary}${d.detail ? ` — ${d.detail.replace(/\s+/g, ' ')}` : ''}`);
  }
  return `${lines.join('\n')}\n`;
}

if (require.main === module) {
  const dir = process.argv[2] ?? 'cdktf.out/stacks';
  if (!existsSync(dir)) {
    process.stderr.write(`${dir}: no synthesized stacks; run npm run synth first\n`);
    process.exit(1);
  }
  const mirror = findProviderMirror();
  process.stdout.write(mirror ? `providers from the mirror ${mirror}\n` : 'providers from the registry (no TF_PLUGIN_MIRROR, no /*/tf-plugins)\n');
  let ok = true;
  let unchecked = false;
  for (const stack of readdirSync(dir).sort()) {
    const result = validateStack(join(dir, stack, 'cdk.tf.json'), { pluginMirror: mirror });
    process.stdout.write(formatValidation(result));
    ok &&= result.valid;
    unchecked ||= result.providersUnavailable === true;
  }
  // 2: nothing was wrong with the stacks that could be seen; the providers could not be had.
  process.exitCode = ok ? 0 : unchecked ? 2 : 1;
}
