import { z } from 'zod';
import type { EnvironmentInput } from './environment-input';
import { capacityProblems, nodeGroupsMaxTotal } from './capacity';
import { RELEASE_IMAGES, releaseImageReference, releaseRecordSchema, UNRELEASED_TAG, type ReleaseImage } from './release';
import { SERVICE_DEFAULTS } from './service-environment';
import { accountBootstrapNames, EXAMPLE_VALUES } from './bootstrap';

export type * from './environment-input';

/**
 * Fields earlier versions read and this one does not: a configuration still holding one is refused with what
 * replaced it, never silently ignored (CHANGELOG.md has the whole upgrade).
 */
export const REMOVED_FIELDS: Readonly<Record<string, string>> = {
  'images.orchestrator':
    'removed in 1.0.0: the stack creates the ECR repositories, and images.release (a release record) names the build the workloads run',
  'images.worker':
    'removed in 1.0.0: the stack creates the ECR repositories, and images.release (a release record) names the build the workloads run',
};

/** A schema issue as the error lists it; an unknown key that an earlier version read says what replaced it. */
function explainIssue(issue: z.core.$ZodIssue): { path: PropertyKey[]; message: string }[] {
  if (issue.code !== 'unrecognized_keys') return [{ path: issue.path, message: issue.message }];
  return issue.keys.map((key) => {
    const path = [...issue.path, key];
    const removed = REMOVED_FIELDS[path.map(String).join('.')];
    return { path, message: removed ?? 'not a configuration field (a misspelling?)' };
  });
}

/**
 * One typed configuration per environment drives both halves of the platform: the Terraform stack and
 * the Kubernetes chart. Environment files are written with `satisfies EnvironmentInput` (or
 * `EnvironmentOverrides` for an environment layered over another) and validated once by
 * `resolveEnvironment`, which applies every default and every cross-field rule.
 */

// The fields' documentation lives on `EnvironmentInput` (environment-input.ts), which consumers see.
const kebab = z.string().regex(/^[a-z][a-z0-9-]*[a-z0-9]$/, 'lower-case kebab-case (a-z, 0-9, -)');
const positiveInt = z.number().int().positive();
const nonNegativeInt = z.number().int().nonnegative();

export const CAPACITY_TYPES = ['ON_DEMAND', 'SPOT'] as const;

const taintSchema = z.strictObject({
  key: z.string().min(1),
  value: z.string().default('true'),
  effect: z.enum(['NO_SCHEDULE', 'NO_EXECUTE', 'PREFER_NO_SCHEDULE']),
});

const roleArn = z
  .string()
  .regex(/^arn:aws:iam::\d{12}:role\/.+$/, 'an IAM role ARN')
  .refine((arn) => !arn.includes(':role/aws-reserved/'), 'an IAM Identity Center role without its path: arn:aws:iam::<account>:role/AWSReservedSSO_…');

const nodeGroupSchema = z.strictObject({
  instanceTypes: z.array(z.string().min(1)).min(1),
  capacityType: z.enum(CAPACITY_TYPES).default('ON_DEMAND'),
  minSize: nonNegativeInt,
  maxSize: positiveInt,
  desiredSize: nonNegativeInt,
  diskSizeGiB: positiveInt.default(50),
  labels: z.record(z.string(), z.string()).default({}),
  taints: z.array(taintSchema).default([]),
});


const resourcesSchema = z.strictObject({
  cpuRequestMilli: positiveInt,
  cpuLimitMilli: positiveInt,
  memoryRequestMiB: positiveInt,
  memoryLimitMiB: positiveInt,
});

const retryDefaults = SERVICE_DEFAULTS.llmRetry;
const llmRetrySchema = z.strictObject({
  maxAttempts: z.number().int().min(1).max(10).default(retryDefaults.maxAttempts),
  baseDelayMs: positiveInt.default(retryDefaults.baseDelayMs),
  maxDelayMs: positiveInt.default(retryDefaults.maxDelayMs),
  retryAfterCapMs: positiveInt.default(retryDefaults.retryAfterCapMs),
  timeoutMs: positiveInt.default(retryDefaults.timeoutMs),
  rateLimitBudgetMs: positiveInt.default(retryDefaults.rateLimitBudgetMs),
});

export const environmentSchema = z
  .strictObject({
    name: kebab,
    accountId: z.string().regex(/^\d{12}$/, 'a 12-digit AWS account id'),
    region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'an AWS region such as eu-west-1'),
    clusterName: kebab.optional(),
    kubernetesVersion: z
      .string()
      .regex(/^1\.\d{2}$/, 'a Kubernetes minor version such as 1.33')
      .default('1.33'),
    production: z.boolean().default(false),
    example: z.boolean().default(false),
    tags: z.record(z.string(), z.string()).default({}),
    github: z.strictObject({
      repository: z.string().regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/, 'a GitHub repository as owner/name'),
      branch: z.string().min(1).default('main'),
      deployEnvironment: z.string().min(1).optional(),
    }),
    state: z
      .strictObject({
        bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'an S3 bucket name').optional(),
        key: z.string().optional(),
        region: z.string().optional(),
      })
      .prefault({}),
    network: z
      .strictObject({
        vpcCidr: z.string().regex(/^\d+\.\d+\.\d+\.\d+\/16$/, 'an IPv4 /16 CIDR').default('10.0.0.0/16'),
        azCount: z.number().int().min(2).max(3).default(3),
        singleNatGateway: z.boolean().default(true),
      })
      .prefault({}),
    cluster: z
      .strictObject({
        publicEndpoint: z.boolean().default(true),
        publicAccessCidrs: z.array(z.string().regex(/^\d+\.\d+\.\d+\.\d+\/\d+$/, 'an IPv4 CIDR')).optional(),
        adminRoleArns: z.array(roleArn).optional(),
        deployRoleArn: roleArn.optional(),
        logRetentionDays: positiveInt.default(30),
      })
      .prefault({}),
    nodeGroups: z.record(z.string().regex(/^[a-z][a-z0-9_]*$/, 'snake_case'), nodeGroupSchema),
    database: z.strictObject({
      instanceClass: z.string().startsWith('db.'),
      engineVersion: z.string().default('16'),
      allocatedStorageGiB: z.number().int().min(20),
      maxAllocatedStorageGiB: z.number().int().min(20),
      multiAz: z.boolean(),
      deletionProtection: z.boolean(),
      backupRetentionDays: z.number().int().min(0).max(35),
      finalSnapshot: z.boolean(),
      databaseName: z.string().regex(/^[a-z_][a-z0-9_]*$/).default('evals'),
    }),
    redis: z.strictObject({
      nodeType: z.string().startsWith('cache.'),
      engineVersion: z.string().default('7.1'),
      nodes: z.number().int().min(1).max(6),
      snapshotRetentionDays: nonNegativeInt.default(0),
    }),
    clickhouse: z.strictObject({
      replicas: z.union([z.literal(1), z.literal(3)]),
      instanceType: z.string().min(1),
      dataVolumeGiB: z.number().int().min(20),
      dataVolumeIops: z.number().int().min(3000).default(3000),
      dataVolumeThroughputMiBps: z.number().int().min(125).default(125),
      version: z.string().default('25.8'),
    }),
    bucket: z
      .strictObject({
        name: z.string().optional(),
        transitionToInfrequentAccessDays: z.number().int().min(30).default(30),
        expireNoncurrentVersionsDays: positiveInt.default(90),
        abortIncompleteUploadsDays: positiveInt.default(7),
      })
      .prefault({}),
    secrets: z
      .strictObject({
        llmKeysName: z.string().optional(),
        recoveryWindowDays: z.number().int().min(0).max(30).default(7),
      })
      .prefault({}),
    backup: z.strictObject({
      awsBackupPlan: z.boolean(),
      retentionDays: positiveInt.default(35),
      schedule: z.string().default('cron(0 3 * * ? *)'),
    }),
    dns: z
      .strictObject({
        privateZone: z.string().regex(/^[a-z0-9.-]+$/).default('eval.internal'),
      })
      .prefault({}),
    images: z
      .strictObject({
        registry: z
          .strictObject({
            pushRoleArn: roleArn.optional(),
            keepBuilds: positiveInt.default(30),
            untaggedExpiryDays: positiveInt.default(7),
          })
          .prefault({}),
        release: releaseRecordSchema.optional(),
      })
      .prefault({}),
    kubernetes: z
      .strictObject({
        namespace: kebab.default('ai-eval'),
        quota: z
          .strictObject({
            cpuRequests: z.string().default('40'),
            memoryRequests: z.string().default('80Gi'),
            cpuLimits: z.string().default('80'),
            memoryLimits: z.string().default('160Gi'),
            pods: positiveInt.default(200),
          })
          .prefault({}),
        ingressControllerNamespace: z.string().default('traefik'),
        ingressClassName: z.string().default('traefik'),
        externalSecretsNamespace: z.string().default('external-secrets'),
        llmEgressCidr: z.string().default('0.0.0.0/0'),
        monitoringNamespace: z.string().default('monitoring'),
        prometheusRelease: z.string().default('kube-prometheus-stack'),
        grafanaPrometheusUid: z.string().default('prometheus'),
        grafanaClickhouseUid: z.string().default('clickhouse'),
      })
      .prefault({}),
    orchestrator: z.strictObject({
      replicas: z.number().int().min(1),
      port: z.number().int().min(1024).max(65535).default(8080),
      host: z.string().min(1),
      resources: resourcesSchema,
    }),
    worker: z.strictObject({
      minReplicas: z.number().int().min(0),
      maxReplicas: positiveInt,
      queueName: z.string().regex(/^[a-z][a-z0-9-]*$/).default(SERVICE_DEFAULTS.queueName),
      jobsPerReplica: positiveInt.default(2),
      casesPerJob: positiveInt.max(1000).default(SERVICE_DEFAULTS.casesPerJob),
      cpuTargetPercent: z.number().int().min(10).max(100).default(70),
      concurrency: positiveInt.default(20),
      resources: resourcesSchema,
      llmRetry: llmRetrySchema.prefault({}),
    }),
    addons: z.strictObject({
      acmeEmail: z.email(),
      acmeServer: z.url().default('https://acme-v02.api.letsencrypt.org/directory'),
      clusterAutoscaler: z
        .strictObject({
          maxNodesTotal: positiveInt.optional(),
          scaleDownUnneededMinutes: positiveInt.default(10),
        })
        .prefault({}),
      ingress: z
        .strictObject({
          replicas: positiveInt.default(2),
          scheme: z.enum(['internet-facing', 'internal']).default('internet-facing'),
        })
        .prefault({}),
      prometheus: z
        .strictObject({
          retentionDays: positiveInt.default(15),
          storageGiB: z.number().int().min(10).default(50),
        })
        .prefault({}),
    }),
    gitops: z.strictObject({
      repoUrl: z.string().min(1),
      targetRevision: z.string().default('main'),
      pathPrefix: z.string().default('dist'),
      argocdNamespace: z.string().default('argocd'),
      project: z.string().default('default'),
    }),
    alerting: z.strictObject({
      slackChannel: z.string().startsWith('#'),
      queueLagThreshold: positiveInt.default(1000),
      oldestJobMinutes: positiveInt.default(5),
      dailyLlmBudgetUsd: z.number().positive(),
    }),
    online: z
      .strictObject({
        traceRetentionDays: positiveInt.max(3650).default(30),
        projectSpansPerSecond: positiveInt.default(1000),
        maxTraceBodyMiB: positiveInt.max(256).default(16),
        expectedSpansPerSecond: z.number().nonnegative().default(0),
        expectedScoredPerSecond: z.number().nonnegative().default(0),
        secondsPerScoredCase: z.number().positive().max(600).default(4),
      })
      .prefault({}),
  })
  .superRefine((env, ctx) => {
    const fail = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
    for (const [name, group] of Object.entries(env.nodeGroups)) {
      const at = ['nodeGroups', name];
      if (group.minSize > group.maxSize) {
        fail([...at, 'minSize'], `minSize (${group.minSize}) must be <= maxSize (${group.maxSize})`);
      }
      if (group.desiredSize < group.minSize || group.desiredSize > group.maxSize) {
        fail(
          [...at, 'desiredSize'],
          `desiredSize (${group.desiredSize}) must be within [minSize, maxSize] = [${group.minSize}, ${group.maxSize}]`,
        );
      }
      if (env.production && group.capacityType === 'SPOT' && group.instanceTypes.length < 2) {
        fail(
          [...at, 'instanceTypes'],
          `a SPOT group in production needs at least 2 instance types to find capacity, got ${JSON.stringify(group.instanceTypes)}`,
        );
      }
    }
    if (env.database.maxAllocatedStorageGiB < env.database.allocatedStorageGiB) {
      fail(
        ['database', 'maxAllocatedStorageGiB'],
        `maxAllocatedStorageGiB (${env.database.maxAllocatedStorageGiB}) must be >= allocatedStorageGiB (${env.database.allocatedStorageGiB})`,
      );
    }
    if (env.worker.minReplicas < 1) {
      fail(['worker', 'minReplicas'], `minReplicas (${env.worker.minReplicas}) must be >= 1: the CPU trigger cannot scale from zero`);
    }
    if (env.worker.minReplicas > env.worker.maxReplicas) {
      fail(['worker', 'minReplicas'], `minReplicas (${env.worker.minReplicas}) must be <= maxReplicas (${env.worker.maxReplicas})`);
    }
    if (env.worker.llmRetry.baseDelayMs > env.worker.llmRetry.maxDelayMs) {
      fail(
        ['worker', 'llmRetry', 'baseDelayMs'],
        `baseDelayMs (${env.worker.llmRetry.baseDelayMs}) must be <= maxDelayMs (${env.worker.llmRetry.maxDelayMs})`,
      );
    }
    for (const workload of ['orchestrator', 'worker'] as const) {
      const r = env[workload].resources;
      if (r.cpuRequestMilli > r.cpuLimitMilli) {
        fail(
          [workload, 'resources', 'cpuRequestMilli'],
          `cpuRequestMilli (${r.cpuRequestMilli}) must be <= cpuLimitMilli (${r.cpuLimitMilli})`,
        );
      }
      if (r.memoryRequestMiB > r.memoryLimitMiB) {
        fail(
          [workload, 'resources', 'memoryRequestMiB'],
          `memoryRequestMiB (${r.memoryRequestMiB}) must be <= memoryLimitMiB (${r.memoryLimitMiB})`,
        );
      }
    }
    for (const problem of capacityProblems(env)) fail(problem.path, problem.message);
    if (env.cluster.adminRoleArns?.length === 0) {
      fail(
        ['cluster', 'adminRoleArns'],
        `must name at least one IAM role (leave it out for the bootstrap's ${accountBootstrapNames(env.accountId).roleNames.admin}): with API authentication and no creator admin, nobody can reach the cluster`,
      );
    }
    if (env.production) {
      if (env.cluster.publicEndpoint && (env.cluster.publicAccessCidrs ?? []).length === 0) {
        fail(['cluster', 'publicAccessCidrs'], 'a public API endpoint in production must list the CIDRs allowed to reach it (none by default)');
      }
      if ((env.cluster.publicAccessCidrs ?? []).includes('0.0.0.0/0')) {
        fail(['cluster', 'publicAccessCidrs'], 'must not open the API endpoint to 0.0.0.0/0 in production');
      }
      const db = env.database;
      if (!db.deletionProtection) fail(['database', 'deletionProtection'], 'must be true in production');
      if (!db.multiAz) fail(['database', 'multiAz'], 'must be true in production');
      if (!db.finalSnapshot) fail(['database', 'finalSnapshot'], 'must be true in production');
      if (db.backupRetentionDays < 7) {
        fail(['database', 'backupRetentionDays'], `must be >= 7 in production, got ${db.backupRetentionDays}`);
      }
      if (!env.backup.awsBackupPlan) fail(['backup', 'awsBackupPlan'], 'must be true in production (S3 and ClickHouse backups)');
      if (env.clickhouse.replicas !== 3) fail(['clickhouse', 'replicas'], 'must be 3 in production (replicated with Keeper)');
      if (env.redis.nodes < 2) fail(['redis', 'nodes'], `must be >= 2 in production for failover, got ${env.redis.nodes}`);
    }
  });

type Assert<T extends true> = T;
type MutuallyAssignable<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type ElementOrSelf<T> = NonNullable<T> extends readonly (infer U)[] ? U : NonNullable<T>;
type ObjectOf<T> = ElementOrSelf<T> extends object ? ElementOrSelf<T> : never;
/** The same keys at every depth of nested objects (assignability alone lets an optional field go missing). */
type SameKeys<A, B> = [Exclude<keyof A, keyof B> | Exclude<keyof B, keyof A>] extends [never]
  ? { [K in keyof A & keyof B]-?: [ObjectOf<A[K]>] extends [never] ? true : SameKeys<ObjectOf<A[K]>, ObjectOf<B[K]>> }[keyof A & keyof B] extends true
    ? true
    : false
  : false;
/** The documented `EnvironmentInput` is exactly what the schema accepts: this fails to compile when they part. */
export type InputMatchesSchema = Assert<MutuallyAssignable<EnvironmentInput, z.input<typeof environmentSchema>>> &
  Assert<SameKeys<EnvironmentInput, z.input<typeof environmentSchema>>>;
/** A validated environment with every default applied and every derived name resolved. */
export type EnvironmentConfig = Omit<z.output<typeof environmentSchema>, 'cluster' | 'addons' | 'images' | 'github'> & {
  readonly github: z.output<typeof environmentSchema>['github'] & { readonly deployEnvironment: string };
  readonly images: Omit<z.output<typeof environmentSchema>['images'], 'registry'> & {
    readonly registry: z.output<typeof environmentSchema>['images']['registry'] & { readonly pushRoleArn: string };
    /** The ECR repository names the stack creates, e.g. `ai-eval-platform-dev/worker`. */
    readonly repositoryNames: Readonly<Record<ReleaseImage, string>>;
    readonly orchestrator: ResolvedImage;
    readonly worker: ResolvedImage;
  };
  readonly cluster: z.output<typeof environmentSchema>['cluster'] & { readonly publicAccessCidrs: string[]; readonly adminRoleArns: string[]; readonly deployRoleArn: string };
  readonly addons: z.output<typeof environmentSchema>['addons'] & {
    readonly clusterAutoscaler: { readonly maxNodesTotal: number; readonly scaleDownUnneededMinutes: number };
  };
  readonly clusterName: string;
  readonly bucket: { readonly name: string };
  readonly secrets: { readonly llmKeysName: string };
  readonly state: { readonly bucket: string; readonly key: string; readonly region: string };
};

/** An image as a workload references it: this environment's repository, the release's tag and digest. */
export interface ResolvedImage {
  /** `<account>.dkr.ecr.<region>.amazonaws.com/<clusterName>/<image>`. */
  readonly repository: string;
  /** The release's commit SHA, or `unreleased` without a release. */
  readonly tag: string;
  /** The release's digest of this image; absent without a release. */
  readonly digest?: string;
}

type DeepPartial<T> = T extends readonly (infer _)[] ? T : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;
/** What an environment layered over another writes, the way values-prod.yaml overrides values.yaml. */
export type EnvironmentOverrides = DeepPartial<EnvironmentInput>;

/** Raised when an environment's configuration is invalid; lists every problem, one per line. */
export class ConfigError extends Error {
  constructor(
    readonly environment: string,
    readonly problems: readonly string[],
  ) {
    super(`invalid configuration for environment "${environment}":\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value: unknown = input;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

/**
 * Validates an environment, applies defaults and derives names. Every problem is reported at once as
 * `<env>: <field path>: <what was expected> (got <value>)`.
 */
export function resolveEnvironment(input: EnvironmentInput): EnvironmentConfig {
  const name = typeof input?.name === 'string' ? input.name : '<unnamed>';
  const parsed = environmentSchema.safeParse(input);
  const issues = parsed.success ? [] : parsed.error.issues.flatMap(explainIssue);
  if (input?.example !== true) issues.push(...examplePlaceholders(input));
  if (issues.length > 0 || !parsed.success) {
    const problems = issues.map((issue) => {
      const field = issue.path.map(String).join('.') || '(root)';
      return `${name}: ${field}: ${issue.message} (got ${JSON.stringify(valueAt(input, issue.path)) ?? 'nothing'})`;
    });
    throw new ConfigError(name, problems);
  }
  const env = parsed.data;
  const bootstrap = accountBootstrapNames(env.accountId);
  const clusterName = env.clusterName ?? `ai-eval-platform-${env.name}`;
  const repositoryNames = Object.fromEntries(RELEASE_IMAGES.map((image) => [image, `${clusterName}/${image}`])) as Record<ReleaseImage, string>;
  const resolveImage = (image: ReleaseImage): ResolvedImage => ({
    repository: `${env.accountId}.dkr.ecr.${env.region}.amazonaws.com/${repositoryNames[image]}`,
    tag: env.images.release?.commit ?? UNRELEASED_TAG,
    ...(env.images.release ? { digest: env.images.release.images[image].digest } : {}),
  });
  return {
    ...env,
    images: {
      ...env.images,
      registry: { ...env.images.registry, pushRoleArn: env.images.registry.pushRoleArn ?? bootstrap.roleArns[env.production ? 'promote' : 'release'] },
      repositoryNames,
      orchestrator: resolveImage('orchestrator'),
      worker: resolveImage('worker'),
    },
    github: { ...env.github, deployEnvironment: env.github.deployEnvironment ?? (env.production ? 'production' : env.name) },
    cluster: {
      ...env.cluster,
      publicAccessCidrs: env.cluster.publicAccessCidrs ?? (env.production ? [] : ['0.0.0.0/0']),
      adminRoleArns: env.cluster.adminRoleArns ?? [bootstrap.roleArns.admin],
      deployRoleArn: env.cluster.deployRoleArn ?? bootstrap.roleArns.deploy,
    },
    addons: {
      ...env.addons,
      clusterAutoscaler: { ...env.addons.clusterAutoscaler, maxNodesTotal: env.addons.clusterAutoscaler.maxNodesTotal ?? nodeGroupsMaxTotal(env.nodeGroups) },
    },
    clusterName,
    state: {
      ...env.state,
      bucket: env.state.bucket ?? bootstrap.stateBucket,
      key: env.state.key ?? `${env.name}/terraform.tfstate`,
      region: env.state.region ?? env.region,
    },
    bucket: { ...env.bucket, name: env.bucket.name ?? `ai-eval-platform-${env.name}-artifacts-${env.accountId}` },
    secrets: { ...env.secrets, llmKeysName: env.secrets.llmKeysName ?? `${env.name}/eval-platform/llm-keys` },
  };
}

/**
 * Every field of a non-example environment that still holds one of the example environments' placeholders
 * (`EXAMPLE_VALUES`): the account ids, example.com hosts and the example-org repositories the README says to replace.
 */
function examplePlaceholders(input: unknown): { path: (string | number)[]; message: string }[] {
  const found: { path: (string | number)[]; message: string }[] = [];
  const walk = (value: unknown, path: (string | number)[]) => {
    if (typeof value === 'string') {
      const hit = EXAMPLE_VALUES.find((example) => example.pattern.test(value));
      if (hit) found.push({ path, message: `${hit.what}, a placeholder of the example environments: put in your own (or set example: true)` });
    } else if (Array.isArray(value)) {
      value.forEach((item, i) => walk(item, [...path, i]));
    } else if (isPlainObject(value)) {
      for (const [key, item] of Object.entries(value)) if (key !== 'release') walk(item, [...path, key]);
    }
  };
  walk(input, []);
  return found;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * Layers `overrides` over `base` like Helm layers values files: objects merge key by key, arrays and
 * scalars replace. Neither argument is modified.
 */
export function overrideEnvironment(base: EnvironmentInput, overrides: EnvironmentOverrides): EnvironmentInput {
  return mergeDeep(base, overrides) as EnvironmentInput;
}

function mergeDeep(base: unknown, override: unknown): unknown {
  if (override === undefined) return base;
  if (!isPlainObject(base) || !isPlainObject(override)) return override;
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) merged[key] = mergeDeep(base[key], value);
  return merged;
}

/** The image reference a workload runs: `repository:tag@digest` (the digest is what the node pulls), or `repository:tag`. */
export function imageReference(image: ResolvedImage): string {
  return releaseImageReference(image.repository, image.tag, image.digest);
}
