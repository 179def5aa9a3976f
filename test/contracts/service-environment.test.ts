import { rdsCaBundle } from '../../src/store/postgres/credentials';
import { Testing as Cdk8sTesting } from 'cdk8s';
import { Testing as CdktfTesting } from 'cdktf';
import { LLM_RETRY_ENV, platformNames, POD_ENV, SERVICE_DEFAULTS, SERVICE_ENV, type LlmRetryPolicy } from '@ai-eval-platform/constructs';
import { PlatformChart } from '@ai-eval-platform/constructs/k8s';
import { PlatformStack } from '@ai-eval-platform/constructs/terraform';
import { PLATFORM_ENVIRONMENT_NAMES, readPlatformConfig, type PlatformConfig } from '../../src/platform/config';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from '../../src/providers/retry';
import { environment } from '../support/environments';

/**
 * The service-environment contract, held from both sides: what the constructs synthesize (container env,
 * the secrets External Secrets writes, the connections secret Terraform writes) is fed into the services'
 * own parser, as a pod would start with it.
 */

type Obj = Record<string, any>; // manifests and Terraform JSON are untyped by nature

/** Stands for values only known in the cluster: passwords from Secrets Manager, endpoints Terraform resolves. */
const SECRET_VALUE = 'from-secrets-manager';
const RESOLVED_HOST = 'resolved-by-terraform.internal';

/** The keys and values of the connections secret, read from the `jsonencode({...})` Terraform will evaluate. */
function connectionsSecret(stack: Obj): Record<string, string> {
  const version = Object.entries(stack.resource.aws_secretsmanager_secret_version as Record<string, Obj>).find(([id]) => id === 'connections-value');
  expect(version).toBeDefined();
  const text: string = version![1].secret_string;
  const entries = [...text.matchAll(/"([A-Z0-9_]+)" = ("(?:[^"\\]|\\.)*"|[A-Za-z0-9_.-]+)/g)];
  expect(entries.length).toBeGreaterThan(0);
  return Object.fromEntries(entries.map(([, key, value]) => [key, value.startsWith('"') ? JSON.parse(value) : RESOLVED_HOST]));
}

/** The keys each Secret of the namespace will hold once External Secrets has synced it. */
function secretKeys(objects: Obj[], connections: { name: string; keys: Record<string, string> }): Map<string, Record<string, string>> {
  const secrets = new Map<string, Record<string, string>>();
  for (const o of objects.filter((x) => x.kind === 'ExternalSecret')) {
    const keys: Record<string, string> = {};
    for (const d of o.spec.data ?? []) keys[d.secretKey] = SECRET_VALUE;
    for (const key of Object.keys(o.spec.target?.template?.data ?? {})) keys[key] = SECRET_VALUE;
    // `dataFrom.extract` copies a whole Secrets Manager secret; the connections secret is the one Terraform fills.
    if ((o.spec.dataFrom ?? []).some((d: Obj) => d.extract?.key === connections.name)) Object.assign(keys, connections.keys);
    secrets.set(o.spec.target?.name ?? o.metadata.name, keys);
  }
  return secrets;
}

interface Pod {
  readonly name: string;
  /** What the container starts with: its own env over the Secrets of its envFrom. */
  readonly env: Record<string, string>;
  /** The variables the constructs set for it, by name. */
  readonly provided: string[];
}

function pods(name: 'dev' | 'prod'): { pods: Pod[]; objects: Obj[] } {
  const env = environment(name);
  const objects = Cdk8sTesting.synth(new PlatformChart(Cdk8sTesting.app(), 'platform', { env }));
  const stack = JSON.parse(CdktfTesting.synth(new PlatformStack(CdktfTesting.app(), name, { env })));
  const secrets = secretKeys(objects, { name: platformNames(env).connectionsSecret, keys: connectionsSecret(stack) });
  const workloads = objects.filter((o) => o.kind === 'Deployment' || o.kind === 'Job');
  return {
    objects,
    pods: workloads.map((o) => {
      const container = o.spec.template.spec.containers[0];
      const fromSecrets = Object.assign({}, ...(container.envFrom ?? []).map((ref: Obj) => secrets.get(ref.secretRef.name) ?? {}));
      const own = Object.fromEntries((container.env ?? []).filter((e: Obj) => 'value' in e).map((e: Obj) => [e.name, e.value]));
      const started = { ...fromSecrets, ...own };
      return { name: `${o.kind}/${o.metadata.name}`, env: started, provided: Object.keys(started) };
    }),
  };
}

const podEnvNames = new Set<string>(Object.values(POD_ENV));
const servicesRead = new Set(PLATFORM_ENVIRONMENT_NAMES);

test('every name in the constructs’ contract is one the services read', () => {
  const unknown = [...Object.values(SERVICE_ENV), ...Object.values(LLM_RETRY_ENV)].filter((name) => !servicesRead.has(name));
  expect(unknown).toEqual([]);
});

test('the constructs’ defaults are the services’ defaults', () => {
  const config = readPlatformConfig({ DATABASE_URL: 'postgres://db/x', REDIS_URL: 'redis://redis:6379', CLICKHOUSE_URL: 'http://ch:8123' }, { embedded: false });
  expect({ queueName: config.queue.name, queuePrefix: config.queue.prefix, casesPerJob: config.queue.casesPerJob, clickhouseDatabase: config.clickhouseDatabase }).toEqual({
    queueName: SERVICE_DEFAULTS.queueName,
    queuePrefix: SERVICE_DEFAULTS.queuePrefix,
    casesPerJob: SERVICE_DEFAULTS.casesPerJob,
    clickhouseDatabase: SERVICE_DEFAULTS.clickhouseDatabase,
  });
  expect(config.retry).toEqual(SERVICE_DEFAULTS.llmRetry);
  expect(DEFAULT_RETRY_POLICY).toEqual(SERVICE_DEFAULTS.llmRetry);
  // The two declarations of the retry policy have the same fields, or this does not compile.
  const sameShape: [RetryPolicy, LlmRetryPolicy] extends [LlmRetryPolicy, RetryPolicy] ? true : false = true;
  expect(sameShape).toBe(true);
  const viaPieces = readPlatformConfig({ POSTGRES_HOST: 'db', PGUSER: 'u', PGPASSWORD: 'p', REDIS_HOST: 'redis', CLICKHOUSE_URL: 'http://ch:8123' }, { embedded: false });
  expect(viaPieces.postgres).toMatchObject({ kind: 'server', port: SERVICE_DEFAULTS.postgresPort, tls: { mode: 'verify-full' } });
  expect(viaPieces.queue.target).toEqual({ kind: 'redis', url: `redis://redis:${SERVICE_DEFAULTS.redisPort}` });
});

describe.each(['dev', 'prod'] as const)('the synthesized %s pods start the services', (name) => {
  const env = environment(name);
  const { pods: all, objects } = pods(name);
  const byName = (prefix: string) => all.find((p) => p.name === prefix)!;

  it('has the orchestrator, the worker and the migration Job', () => {
    expect(all.map((p) => p.name).sort()).toEqual(['Deployment/orchestrator', 'Deployment/worker', 'Job/migrations']);
  });

  it.each(['Deployment/orchestrator', 'Deployment/worker', 'Job/migrations'])('%s: every variable set is one the services or the pod read', (pod) => {
    const unread = byName(pod).provided.filter((n) => !servicesRead.has(n) && !podEnvNames.has(n));
    expect(unread).toEqual([]);
  });

  it.each(['Deployment/orchestrator', 'Deployment/worker', 'Job/migrations'])('%s: the services’ parser accepts it and finds every store', (pod) => {
    const config: PlatformConfig = readPlatformConfig(byName(pod).env, { embedded: false });
    // TLS verified against Amazon RDS's CAs (never Node's store, which has none of them), and the host name.
    expect(config.postgres).toMatchObject({ kind: 'server', host: RESOLVED_HOST, port: 5432, database: env.database.databaseName, tls: { mode: 'verify-full', ca: rdsCaBundle() } });
    // The services log in as the application role with an IAM token; only the migration Job uses the (rotating) master password.
    if (pod === 'Job/migrations') {
      expect(config.postgres).toMatchObject({ user: SECRET_VALUE, password: { kind: 'static', password: SECRET_VALUE } });
      expect(config.postgresAppUser).toBe(SERVICE_DEFAULTS.postgresAppUser);
    } else {
      expect(config.postgres).toMatchObject({ user: SERVICE_DEFAULTS.postgresAppUser, password: { kind: 'iam', region: env.region } });
      expect(byName(pod).provided).not.toContain(SERVICE_ENV.postgresPassword);
    }
    expect(config.queue.target).toEqual({ kind: 'redis', url: expect.stringMatching(new RegExp(`^rediss://:.+@${RESOLVED_HOST}:6379$`)) });
    expect(config.clickhouse).toEqual({ kind: 'url', url: expect.stringMatching(/^http:\/\/clickhouse\..+:8123$/), username: SECRET_VALUE, password: SECRET_VALUE });
  });

  it('the worker consumes the queue KEDA watches, with the configured concurrency and LLM retry policy', () => {
    const worker = byName('Deployment/worker');
    const config = readPlatformConfig(worker.env, { embedded: false });
    expect(config.queue.name).toBe(env.worker.queueName);
    expect(config.workerConcurrency).toBe(env.worker.concurrency);
    expect(config.retry).toEqual(env.worker.llmRetry);
    const scaled = objects.find((o) => o.kind === 'ScaledObject' && o.metadata.name === 'worker')!;
    const redis = scaled.spec.triggers.find((t: Obj) => t.type === 'redis');
    expect(redis.metadata.listName).toBe(`${config.queue.prefix}:${config.queue.name}:waiting`);
    expect(worker.provided).toEqual(expect.arrayContaining([redis.metadata.hostFromEnv, redis.metadata.portFromEnv]));
  });

  it('the orchestrator enqueues on the queue the workers consume, and the dashboards read its database', () => {
    const orchestrator = readPlatformConfig(byName('Deployment/orchestrator').env, { embedded: false });
    const worker = readPlatformConfig(byName('Deployment/worker').env, { embedded: false });
    expect({ name: orchestrator.queue.name, prefix: orchestrator.queue.prefix }).toEqual({ name: worker.queue.name, prefix: worker.queue.prefix });
    expect(orchestrator.port).toBe(env.orchestrator.port);
    // The orchestrator sizes the jobs that KEDA counts (jobsPerReplica is in jobs of up to casesPerJob cases).
    expect(orchestrator.queue.casesPerJob).toBe(env.worker.casesPerJob);
    const dashboards = objects.filter((o) => o.kind === 'ConfigMap' && JSON.stringify(o.data ?? {}).includes('.results'));
    expect(dashboards.length).toBeGreaterThan(0);
    for (const d of dashboards) expect(JSON.stringify(d.data)).toContain(`${orchestrator.clickhouseDatabase}.results`);
  });
});
