import { Construct } from 'constructs';
import { ScaledObject, ScaledObjectSpecTriggersMetricType, TriggerAuthentication } from '../imports/keda.sh';
import { LLM_RETRY_ENV, SERVICE_ENV, waitingListOf, type LlmRetryPolicy } from '../config/service-environment';
import { componentLabels } from './labels';
import { PlatformWorkload, type ContainerResources } from './platform-workload';

export interface WorkerProps {
  /** Namespace of the Deployment, ScaledObject and TriggerAuthentication. */
  readonly namespace: string;
  /** Container image reference (`repo:tag` or `repo@digest`). */
  readonly image: string;
  /** CPU and memory requests and limits of the container. */
  readonly resources: ContainerResources;
  /** Fewest replicas; at least 1, since the CPU trigger cannot scale from zero. */
  readonly minReplicas: number;
  /** Most replicas KEDA may run. */
  readonly maxReplicas: number;
  /** bee-queue queue name; KEDA watches `bq:<queueName>:waiting` (`waitingListOf`). */
  readonly queueName: string;
  /** Waiting jobs (each a batch of cases) per replica that KEDA aims for. */
  readonly jobsPerReplica: number;
  /** CPU utilisation (of requests) that the second trigger aims for. */
  readonly cpuTargetPercent: number;
  /** Cases one worker evaluates at once, across its jobs. */
  readonly concurrency: number;
  /** Backoff and retry for LLM calls (go-live check 3), passed to the worker as environment variables. */
  readonly llmRetry: LlmRetryPolicy;
  /** IAM role for the service account (IRSA). */
  readonly roleArn: string;
  /** Secrets exposed as environment variables; must provide REDIS_HOST, REDIS_PORT. */
  readonly envFromSecrets: string[];
  /** More literal environment variables (the database login). @default {} */
  readonly env?: Record<string, string>;
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
    this.waitingList = waitingListOf(props.queueName);
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
        ...props.env,
        [SERVICE_ENV.port]: String(port),
        [SERVICE_ENV.queueName]: props.queueName,
        [SERVICE_ENV.workerConcurrency]: String(props.concurrency),
        [SERVICE_ENV.shutdownDrainMs]: String(this.drainSeconds * 1000),
        ...Object.fromEntries(Object.entries(LLM_RETRY_ENV).map(([field, name]) => [name, String(retry[field as keyof LlmRetryPolicy])])),
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
              hostFromEnv: SERVICE_ENV.redisHost,
              portFromEnv: SERVICE_ENV.redisPort,
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
