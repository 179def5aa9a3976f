import { Construct } from 'constructs';
import { ScaledObject, ScaledObjectSpecTriggersMetricType, TriggerAuthentication } from '../imports/keda.sh';
import { componentLabels } from './labels';
import { PlatformWorkload, type ContainerResources } from './platform-workload';

export interface LlmRetryPolicy {
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  readonly retryAfterCapMs: number;
  readonly timeoutMs: number;
}

export interface WorkerProps {
  readonly namespace: string;
  readonly image: string;
  readonly resources: ContainerResources;
  /** Fewest replicas; at least 1, since the CPU trigger cannot scale from zero. */
  readonly minReplicas: number;
  readonly maxReplicas: number;
  /** bee-queue queue name; KEDA watches `bq:<queueName>:waiting`. */
  readonly queueName: string;
  /** Waiting jobs per replica that KEDA aims for. */
  readonly jobsPerReplica: number;
  /** CPU utilisation (of requests) that the second trigger aims for. */
  readonly cpuTargetPercent: number;
  /** Jobs one worker runs at once. */
  readonly concurrency: number;
  /** Backoff and retry for LLM calls (go-live check 3), passed to the worker as environment variables. */
  readonly llmRetry: LlmRetryPolicy;
  readonly roleArn: string;
  /** Secrets exposed as environment variables; must provide REDIS_HOST, REDIS_PORT. */
  readonly envFromSecrets: string[];
  /** Secret and key holding the Redis AUTH token, for KEDA. */
  readonly redisPasswordSecret: { readonly name: string; readonly key: string };
  /** The taint of the SPOT pool; workers tolerate it and prefer that pool. */
  readonly spotTaint: { readonly key: string; readonly value: string; readonly effect: string };
  /** Node label of the worker pool. */
  readonly poolLabel: { readonly key: string; readonly value: string };
  /** @default 8080 */
  readonly port?: number;
  /** Seconds a worker gets to finish in-flight jobs on SIGTERM. @default 120 */
  readonly drainSeconds?: number;
}

const TAINT_EFFECTS: Record<string, string> = {
  NO_SCHEDULE: 'NoSchedule',
  NO_EXECUTE: 'NoExecute',
  PREFER_NO_SCHEDULE: 'PreferNoSchedule',
};

/**
 * Queue workers on the SPOT pool, autoscaled by KEDA on the bee-queue waiting list with CPU as a second
 * trigger. The Deployment has no `replicas` field and no HPA of its own: KEDA's ScaledObject owns it.
 */
export class Worker extends Construct {
  static readonly NAME = 'worker';
  readonly workload: PlatformWorkload;
  readonly scaledObject: ScaledObject;
  /** The Redis list KEDA watches. */
  readonly waitingList: string;
  readonly drainSeconds: number;

  constructor(scope: Construct, id: string, props: WorkerProps) {
    super(scope, id);
    if (props.minReplicas < 1) {
      throw new Error(`worker: minReplicas (${props.minReplicas}) must be >= 1: the CPU trigger cannot scale from zero`);
    }
    if (props.minReplicas > props.maxReplicas) {
      throw new Error(`worker: minReplicas (${props.minReplicas}) must be <= maxReplicas (${props.maxReplicas})`);
    }
    const effect = TAINT_EFFECTS[props.spotTaint.effect] ?? props.spotTaint.effect;
    const name = Worker.NAME;
    const port = props.port ?? 8080;
    this.drainSeconds = props.drainSeconds ?? 120;
    this.waitingList = `bq:${props.queueName}:waiting`;
    const retry = props.llmRetry;
    this.workload = new PlatformWorkload(this, 'workload', {
      name,
      namespace: props.namespace,
      image: props.image,
      args: ['work'],
      resources: props.resources,
      port,
      roleArn: props.roleArn,
      envFromSecrets: props.envFromSecrets,
      env: {
        PORT: String(port),
        QUEUE_NAME: props.queueName,
        WORKER_CONCURRENCY: String(props.concurrency),
        SHUTDOWN_DRAIN_MS: String(this.drainSeconds * 1000),
        LLM_RETRY_MAX_ATTEMPTS: String(retry.maxAttempts),
        LLM_RETRY_BASE_DELAY_MS: String(retry.baseDelayMs),
        LLM_RETRY_MAX_DELAY_MS: String(retry.maxDelayMs),
        LLM_RETRY_AFTER_CAP_MS: String(retry.retryAfterCapMs),
        LLM_TIMEOUT_MS: String(retry.timeoutMs),
      },
      tolerations: [{ key: props.spotTaint.key, operator: 'Equal', value: props.spotTaint.value, effect }],
      nodeSelector: { [props.poolLabel.key]: props.poolLabel.value },
      terminationGracePeriodSeconds: this.drainSeconds + 15,
      maxUnavailable: 1,
    });

    const metadata = { name, namespace: props.namespace, labels: componentLabels(name) };
    const auth = new TriggerAuthentication(this, 'redis-auth', {
      metadata: { ...metadata, name: 'worker-redis' },
      spec: {
        secretTargetRef: [{ parameter: 'password', name: props.redisPasswordSecret.name, key: props.redisPasswordSecret.key }],
      },
    });
    this.scaledObject = new ScaledObject(this, 'scaled-object', {
      metadata,
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name, envSourceContainerName: name },
        minReplicaCount: props.minReplicas,
        maxReplicaCount: props.maxReplicas,
        pollingInterval: 15,
        cooldownPeriod: 300,
        advanced: { restoreToOriginalReplicaCount: false },
        triggers: [
          {
            type: 'redis',
            name: 'queue-depth',
            metadata: {
              hostFromEnv: 'REDIS_HOST',
              portFromEnv: 'REDIS_PORT',
              enableTLS: 'true',
              listName: this.waitingList,
              listLength: String(props.jobsPerReplica),
              activationListLength: '0',
            },
            authenticationRef: { name: auth.name },
          },
          {
            type: 'cpu',
            name: 'cpu',
            metricType: ScaledObjectSpecTriggersMetricType.UTILIZATION,
            metadata: { value: String(props.cpuTargetPercent) },
          },
        ],
      },
    });
  }
}
