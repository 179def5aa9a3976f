/**
 * The constructs' half of the service-environment contract: the names of the variables the platform
 * services read, and the defaults they assume, as the Deployments, Jobs and secrets built here provide them.
 * The services' half is `src/platform/config.ts`, which this package cannot import; the repository's
 * test/contracts/service-environment.test.ts feeds what these constructs synthesize into the services' parser
 * and fails when either half changes alone.
 */

/** Backoff and retry for every LLM call a worker makes (go-live check 3). */
export interface LlmRetryPolicy {
  /** Attempts per call, the first included. */
  readonly maxAttempts: number;
  /** Base of the exponential backoff, in milliseconds. */
  readonly baseDelayMs: number;
  /** Ceiling of the exponential backoff, in milliseconds. */
  readonly maxDelayMs: number;
  /** A server's `retry-after` is honoured up to this many milliseconds. */
  readonly retryAfterCapMs: number;
  /** Per attempt, in milliseconds. */
  readonly timeoutMs: number;
  /** Rate-limit answers (429, 529) are retried for this long, however many attempts that takes, in milliseconds. */
  readonly rateLimitBudgetMs: number;
}

/** Variable names, by what they carry. */
export const SERVICE_ENV = {
  /** HTTP port of the API (orchestrator) or of the probes and metrics (worker). */
  port: 'PORT',
  queueName: 'QUEUE_NAME',
  workerConcurrency: 'WORKER_CONCURRENCY',
  /** Cases per queue job, read by the orchestrator that splits runs into jobs. */
  casesPerJob: 'CASES_PER_JOB',
  shutdownDrainMs: 'SHUTDOWN_DRAIN_MS',
  postgresHost: 'POSTGRES_HOST',
  postgresPort: 'POSTGRES_PORT',
  postgresDatabase: 'POSTGRES_DB',
  postgresUser: 'PGUSER',
  postgresPassword: 'PGPASSWORD',
  /** `iam`: the services log in with an RDS IAM token per connection (no password anywhere). */
  postgresAuth: 'POSTGRES_AUTH',
  /** `verify-full`: TLS verified against the RDS CA bundle and the host name. */
  postgresSslMode: 'POSTGRES_SSL_MODE',
  /** Read by the migration Job: the application role it creates and grants the tables to. */
  postgresAppUser: 'POSTGRES_APP_USER',
  redisHost: 'REDIS_HOST',
  redisPort: 'REDIS_PORT',
  redisTls: 'REDIS_TLS',
  redisPassword: 'REDIS_PASSWORD',
  clickhouseUrl: 'CLICKHOUSE_URL',
  clickhouseUser: 'CLICKHOUSE_USER',
  clickhousePassword: 'CLICKHOUSE_PASSWORD',
  /** Set (to `SERVICE_DEFAULTS.clickhouseCluster`) when ClickHouse is replicated; empty on one node. */
  clickhouseCluster: 'CLICKHOUSE_CLUSTER',
  /** Days spans sent over OTLP are kept (a project may set its own). */
  traceRetentionDays: 'TRACE_RETENTION_DAYS',
  /** Spans one project may send per second to one orchestrator replica. */
  projectSpansPerSecond: 'PROJECT_SPANS_PER_SECOND',
  /** Largest OTLP request once decompressed, in bytes. */
  maxTraceBodyBytes: 'MAX_TRACE_BODY_BYTES',
} as const;

/** The LLM retry policy's variables, one per field of `LlmRetryPolicy`. */
export const LLM_RETRY_ENV: { readonly [K in keyof LlmRetryPolicy]: string } = {
  maxAttempts: 'LLM_RETRY_MAX_ATTEMPTS',
  baseDelayMs: 'LLM_RETRY_BASE_DELAY_MS',
  maxDelayMs: 'LLM_RETRY_MAX_DELAY_MS',
  retryAfterCapMs: 'LLM_RETRY_AFTER_CAP_MS',
  timeoutMs: 'LLM_TIMEOUT_MS',
  rateLimitBudgetMs: 'LLM_RETRY_RATE_LIMIT_BUDGET_MS',
};

/** Set for the pods (logs, the AWS SDK, artifact uploads, Node itself); of these the services' configuration reads only AWS_REGION (the region an RDS IAM token is signed for). */
export const POD_ENV = {
  environment: 'ENVIRONMENT',
  /** Node's own options: the heap cap each container's memory limit sets (`nodeOptionsFor`). */
  nodeOptions: 'NODE_OPTIONS',
  artifactBucket: 'ARTIFACT_BUCKET',
  awsRegion: 'AWS_REGION',
} as const;

/** What the services assume when a variable is absent; the constructs' defaults follow them. */
export const SERVICE_DEFAULTS = {
  /** The bee-queue queue of case jobs. */
  queueName: 'eval-cases',
  /** bee-queue's key prefix: KEDA watches `<queuePrefix>:<queueName>:waiting`. */
  queuePrefix: 'bq',
  /** Cases one queue job carries at most. */
  casesPerJob: 25,
  /** The ClickHouse database of `results` and `llm_calls` (the dashboards query it). */
  clickhouseDatabase: 'evals',
  postgresPort: 5432,
  /** The role the services log in as (IAM authentication); the migration Job creates it. Only the Job uses the master user. */
  postgresAppUser: 'eval_app',
  redisPort: 6379,
  clickhouseHttpPort: 8123,
  /** `remote_servers` name of a replicated ClickHouse (the nodes' config and the migrations agree on it). */
  clickhouseCluster: 'eval',
  llmRetry: { maxAttempts: 5, baseDelayMs: 500, maxDelayMs: 30_000, retryAfterCapMs: 60_000, timeoutMs: 60_000, rateLimitBudgetMs: 300_000 } satisfies LlmRetryPolicy,
} as const;

/** The Redis list KEDA scales the workers on. */
export const waitingListOf = (queueName: string): string => `${SERVICE_DEFAULTS.queuePrefix}:${queueName}:waiting`;
