import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mirrorCliConfig, pinToMirror } from '../../synth/validate-terraform';
import { makeTestPki } from './tls-postgres';

/**
 * An AWS API simulator for `terraform apply`: moto's server (`python3 -m moto.server`, moto 5.2.1 on this
 * machine kind) on a private port, over TLS with a certificate of a CA made for the test (the state bucket's
 * policy refuses plain HTTP, and the simulator holds it to that), as one account, with AWS's managed IAM
 * policies loaded. The stacks are
 * applied to a copy whose provider and backend point at it (override files written next to the copy, never in
 * the synthesized output).
 */
export interface SimulatedAws {
  readonly endpoint: string;
  readonly accountId: string;
  readonly region: string;
  /** The server's log since it started (moto names an unimplemented action only there). */
  log(): string;
  /** Environment for the AWS CLI and terraform: the simulator's endpoint and this account's (fake) credentials. */
  readonly env: NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function answers(endpoint: string, ca: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(`${endpoint}/moto-api/`, { ca, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.end();
  });
}

export async function startSimulatedAws(accountId: string, region: string): Promise<SimulatedAws> {
  const port = await freePort();
  const endpoint = `https://localhost:${port}`;
  const pki = makeTestPki(['localhost']);
  const ca = readFileSync(pki.caFile, 'utf8');
  // The server logs every request: into a file, since a pipe nobody reads while terraform runs (spawnSync)
  // fills up and stops the server mid-apply.
  const logFile = join(pki.dir, 'moto.log');
  const logFd = openSync(logFile, 'w');
  const child: ChildProcess = spawn('python3', ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port), '-c', pki.certFile, '-k', pki.keyFile], {
    env: { ...process.env, MOTO_ACCOUNT_ID: accountId, MOTO_IAM_LOAD_MANAGED_POLICIES: 'true' },
    stdio: ['ignore', logFd, logFd],
  });
  closeSync(logFd);
  const log = () => readFileSync(logFile, 'utf8');
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`moto.server exited (${child.exitCode}) before answering:\n${log()}`);
    if (await answers(endpoint, ca)) break;
    if (Date.now() > deadline) throw new Error(`moto.server did not answer on ${endpoint} within 60 s:\n${log()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    AWS_ENDPOINT_URL: endpoint,
    AWS_ACCESS_KEY_ID: accountId,
    AWS_SECRET_ACCESS_KEY: 'simulator',
    AWS_DEFAULT_REGION: region,
    AWS_REGION: region,
    AWS_MAX_ATTEMPTS: '1',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    // The test CA: the AWS CLI's, and Go's (terraform and the provider) on Linux.
    AWS_CA_BUNDLE: pki.caFile,
    SSL_CERT_FILE: pki.caFile,
  };
  // The operator's own credentials and profile never reach the simulator, nor the simulator's reach AWS.
  delete env.AWS_SESSION_TOKEN;
  delete env.AWS_PROFILE;
  return {
    endpoint,
    accountId,
    region,
    env,
    log,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      rmSync(pki.dir, { recursive: true, force: true });
    },
  };
}

/** Lets the server's log catch up: it writes a request's line after answering it. */
export function settle(ms = 300): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The AWS CLI against the simulator; output and status, never a throw. */
export function awsCli(aws: SimulatedAws, args: string[]): { status: number; out: string } {
  const run = spawnSync('aws', [...args, '--output', 'json'], { env: aws.env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (run.error) throw new Error(`aws ${args.join(' ')}: ${run.error.message} (the AWS CLI is a deploy-time tool: README, "Deploying an environment")`);
  return { status: run.status ?? 1, out: `${run.stdout}${run.stderr}` };
}

export function awsJson<T>(aws: SimulatedAws, args: string[]): T {
  const { status, out } = awsCli(aws, args);
  if (status !== 0) throw new Error(`aws ${args.join(' ')} failed: ${out}`);
  return JSON.parse(out || '{}') as T;
}

/** Every service the stacks call, pointed at the simulator. */
const SERVICES = ['autoscaling', 'backup', 'ec2', 'ecr', 'eks', 'elasticache', 'iam', 'kms', 'logs', 'rds', 'route53', 's3', 'secretsmanager', 'ssm', 'sts'];

export interface Stack {
  resource?: Record<string, Record<string, Record<string, unknown>>>;
  data?: Record<string, Record<string, Record<string, unknown>>>;
  locals?: Record<string, unknown>;
  terraform?: { backend?: Record<string, Record<string, unknown>>; required_providers?: Record<string, { source?: string; version?: string }> };
  [key: string]: unknown;
}

/** A copy that a test may destroy: every `prevent_destroy` (state bucket, prod's volumes and repositories) off. */
export function liftPreventDestroy(stack: Stack): void {
  for (const byName of Object.values(stack.resource ?? {})) {
    for (const block of Object.values(byName)) {
      const lifecycle = block.lifecycle as { prevent_destroy?: boolean } | undefined;
      if (lifecycle?.prevent_destroy) lifecycle.prevent_destroy = false;
    }
  }
}

/** `type.name` of every managed resource of a stack. */
export function managedResources(stack: Stack): string[] {
  return Object.entries(stack.resource ?? {}).flatMap(([type, byName]) => Object.keys(byName).map((name) => `${type}.${name}`));
}

/**
 * A resource type (or `data.<type>`) the simulator cannot create, or an argument of one it cannot set: removed
 * from the applied copy, with the simulator's answer that proves it.
 */
export interface SimulatorGap {
  /** e.g. `aws_eks_addon`, `data.aws_ssm_parameter`. */
  readonly type: string;
  /** Only this argument is removed, the resource is applied. */
  readonly argument?: string;
  /** Values standing in for the removed blocks' attributes where other resources read them. */
  readonly standIns?: Readonly<Record<string, string>>;
  /** What the simulator does with it. */
  readonly why: string;
  /**
   * AWS CLI commands that ask the simulator for it: every one but the last sets the scene and must succeed; the
   * last must fail, and its answer (CLI output and server log) say what `proof` says.
   */
  readonly probe: readonly (readonly string[])[];
  readonly proof: RegExp;
}

export interface PreparedCopy {
  readonly dir: string;
  /** Managed resources of the synthesized stack. */
  readonly planned: readonly string[];
  /** Removed as a simulator gap, by gap type. */
  readonly skipped: readonly string[];
  /** Removed because they read an attribute of a removed resource that has no stand-in. */
  readonly dependents: readonly string[];
  /** `type.argument` removed from resources that are applied. */
  readonly argumentsRemoved: readonly string[];
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Writes the applied copy of a synthesized stack to `dir`: gaps removed (and whatever reads them without a
 * stand-in), the provider pinned to the mirror's version, `prevent_destroy` lifted when asked (and the state
 * bucket's versions deletable), and override files for the provider (and the S3 backend, when the stack has
 * one) pointing at the simulator.
 */
export function prepareCopy(
  stack: Stack,
  dir: string,
  aws: SimulatedAws,
  options: { gaps: readonly SimulatorGap[]; mirror: string; liftPreventDestroy?: boolean; stateBackend?: 'as-synthesized' | 'local' },
): PreparedCopy {
  const copy = structuredClone(stack);
  const planned = managedResources(copy);
  const removed = new Map<string, Readonly<Record<string, string>>>();
  const skipped: string[] = [];
  const argumentsRemoved: string[] = [];
  for (const gap of options.gaps) {
    const kind = gap.type.startsWith('data.') ? 'data' : 'resource';
    const type = gap.type.replace(/^data\./, '');
    const blocks = copy[kind]?.[type] ?? {};
    if (gap.argument) {
      for (const block of Object.values(blocks)) {
        if (gap.argument in block) {
          delete block[gap.argument];
          argumentsRemoved.push(`${type}.${gap.argument}`);
        }
      }
      continue;
    }
    for (const name of Object.keys(blocks)) {
      const address = kind === 'data' ? `data.${type}.${name}` : `${type}.${name}`;
      removed.set(address, gap.standIns ?? {});
      if (kind === 'resource') skipped.push(address);
    }
    delete copy[kind]![type];
  }
  // Whatever reads a removed block's attribute without a stand-in goes too, until nothing does.
  const locals: Record<string, string> = {};
  const dependents: string[] = [];
  const rewrite = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(rewrite);
    if (value && typeof value === 'object') {
      return Object.fromEntries(
        Object.entries(value).map(([key, item]) => [
          key,
          key === 'depends_on' ? (item as string[]).filter((address) => !removed.has(address)) : rewrite(item),
        ]),
      );
    }
    if (typeof value !== 'string') return value;
    let text = value;
    for (const [address, standIns] of removed) {
      text = text.replace(new RegExp(`${escape(address)}\\.([A-Za-z0-9_]+)(?:\\[0\\])?`, 'g'), (whole, attribute: string) => {
        if (!(attribute in standIns)) throw new MissingStandIn(whole);
        const local = `simulator_gap_${address.replace(/[^A-Za-z0-9_]/g, '_')}_${attribute}`;
        locals[local] = standIns[attribute];
        return `local.${local}`;
      });
    }
    return text;
  };
  for (;;) {
    let changed = false;
    for (const [type, byName] of Object.entries(copy.resource ?? {})) {
      for (const [name, block] of Object.entries(byName)) {
        try {
          byName[name] = rewrite(block) as Record<string, unknown>;
        } catch (error) {
          if (!(error instanceof MissingStandIn)) throw error;
          delete byName[name];
          removed.set(`${type}.${name}`, {});
          dependents.push(`${type}.${name}`);
          changed = true;
        }
      }
    }
    if (!changed) break;
  }
  for (const kind of ['resource', 'data'] as const) {
    for (const [type, byName] of Object.entries(copy[kind] ?? {})) if (Object.keys(byName).length === 0) delete copy[kind]![type];
  }
  for (const kind of ['output', 'data'] as const) {
    const section = copy[kind] as Record<string, unknown> | undefined;
    if (section) (copy as Record<string, unknown>)[kind] = rewrite(section);
  }
  copy.locals = { ...(copy.locals ?? {}), ...locals };
  if (options.liftPreventDestroy) {
    liftPreventDestroy(copy);
    for (const bucket of Object.values(copy.resource?.aws_s3_bucket ?? {})) bucket.force_destroy = true;
  }
  pinToMirror(copy, options.mirror);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'cdk.tf.json'), JSON.stringify(copy, null, 2));
  writeFileSync(join(dir, 'terraform.rc'), mirrorCliConfig(options.mirror));
  const endpoints = Object.fromEntries(SERVICES.map((service) => [service, aws.endpoint]));
  writeFileSync(
    join(dir, 'simulator_override.tf.json'),
    JSON.stringify(
      {
        provider: {
          aws: [
            {
              access_key: aws.accountId,
              secret_key: 'simulator',
              skip_credentials_validation: true,
              skip_metadata_api_check: true,
              s3_use_path_style: true,
              // The simulator answers an action it lacks with a 500: fail at once instead of retrying for minutes.
              max_retries: 1,
              endpoints: [endpoints],
            },
          ],
        },
        ...backendOverride(copy, aws, options.stateBackend ?? 'as-synthesized'),
      },
      null,
      2,
    ),
  );
  return { dir, planned, skipped, dependents, argumentsRemoved };
}

class MissingStandIn extends Error {}

function backendOverride(copy: Stack, aws: SimulatedAws, mode: 'as-synthesized' | 'local'): object {
  const s3 = copy.terraform?.backend?.s3;
  if (mode === 'local') return { terraform: { backend: { local: { path: 'terraform.tfstate' } } } };
  if (!s3) return {};
  return {
    terraform: {
      backend: {
        s3: {
          ...s3,
          access_key: aws.accountId,
          secret_key: 'simulator',
          skip_credentials_validation: true,
          skip_metadata_api_check: true,
          skip_requesting_account_id: true,
          use_path_style: true,
          endpoints: { s3: aws.endpoint, sts: aws.endpoint, iam: aws.endpoint },
        },
      },
    },
  };
}

/** terraform in a copy's folder, providers from the mirror only. */
export function terraform(dir: string, aws: SimulatedAws, args: string[]): { status: number; out: string } {
  // Into a file as it runs (`tail -f <dir>/terraform.log` shows a long apply's progress).
  const logFile = join(dir, 'terraform.log');
  const fd = openSync(logFile, 'w');
  try {
    const run = spawnSync('terraform', [...args, '-no-color'], {
      cwd: dir,
      env: { ...aws.env, TF_CLI_CONFIG_FILE: join(dir, 'terraform.rc'), TF_IN_AUTOMATION: '1', TF_INPUT: '0', CHECKPOINT_DISABLE: '1', TF_CLI_ARGS: '' },
      stdio: ['ignore', fd, fd],
    });
    if (run.error) throw new Error(`terraform ${args.join(' ')}: ${run.error.message}`);
    return { status: run.status ?? 1, out: readFileSync(logFile, 'utf8') };
  } finally {
    closeSync(fd);
  }
}

/** terraform that must succeed; on failure the error names the command and carries terraform's errors. */
export function terraformOk(dir: string, aws: SimulatedAws, args: string[]): string {
  const { status, out } = terraform(dir, aws, args);
  if (status !== 0) {
    const errors = out.split('\n').filter((line, i, lines) => /^(│ )?Error/.test(line) || (i > 0 && /^(│ )?Error/.test(lines[i - 1])));
    throw new Error(`terraform ${args.join(' ')} in ${dir} failed (${status}):\n${errors.join('\n') || out.slice(-4000)}`);
  }
  return out;
}
