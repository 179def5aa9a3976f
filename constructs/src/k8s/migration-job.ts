import { MIGRATION_JOB_RESOURCES, nodeOptionsFor } from '../config/capacity';
import { POD_ENV } from '../config/service-environment';
import { Construct } from 'constructs';
// The typed Kubernetes API alone: loading all of cdk8s-plus costs synth about 30 ms.
import * as k8s from 'cdk8s-plus-28/lib/imports/k8s';
import { componentLabels, GENERAL_POOL, SYNC_WAVE } from './labels';

export interface MigrationJobProps {
  /** Namespace the Job runs in. */
  readonly namespace: string;
  /** The orchestrator image: it carries `evalctl migrate`. */
  readonly image: string;
  /** Service account the Job runs as (created here, without cloud permissions). */
  readonly serviceAccountName: string;
  /** Secrets with the database credentials and hosts. */
  readonly envFromSecrets: string[];
  /** Literal environment variables. @default {} */
  readonly env?: Record<string, string>;
  /** @default 600 */
  readonly timeoutSeconds?: number;
}

/**
 * Runs the Postgres and ClickHouse migrations as an Argo CD Sync hook in wave -1: after the secrets
 * (wave -2), before any Deployment (wave 0), so a new orchestrator never serves an old schema. A failed
 * migration fails the sync and the previous version keeps serving.
 */
export class MigrationJob extends Construct {
  readonly job: k8s.KubeJob;
  readonly timeoutSeconds: number;

  constructor(scope: Construct, id: string, props: MigrationJobProps) {
    super(scope, id);
    this.timeoutSeconds = props.timeoutSeconds ?? 600;
    const labels = componentLabels('migrations');
    new k8s.KubeServiceAccount(this, 'service-account', {
      metadata: { name: props.serviceAccountName, namespace: props.namespace, labels, annotations: { [SYNC_WAVE]: '-2' } },
      automountServiceAccountToken: false,
    });
    this.job = new k8s.KubeJob(this, 'job', {
      metadata: {
        name: 'migrations',
        namespace: props.namespace,
        labels,
        annotations: {
          'argocd.argoproj.io/hook': 'Sync',
          'argocd.argoproj.io/hook-delete-policy': 'BeforeHookCreation',
          [SYNC_WAVE]: '-1',
        },
      },
      spec: {
        backoffLimit: 3,
        activeDeadlineSeconds: this.timeoutSeconds,
        template: {
          metadata: { labels },
          spec: {
            restartPolicy: 'Never',
            serviceAccountName: props.serviceAccountName,
            securityContext: { runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, seccompProfile: { type: 'RuntimeDefault' } },
            nodeSelector: { ...GENERAL_POOL },
            containers: [
              {
                name: 'migrate',
                image: props.image,
                args: ['migrate'],
                env: Object.entries({ ...props.env, [POD_ENV.nodeOptions]: nodeOptionsFor(MIGRATION_JOB_RESOURCES.memoryLimitMiB) }).map(([name, value]) => ({ name, value })),
                envFrom: props.envFromSecrets.map((name) => ({ secretRef: { name } })),
                resources: {
                  requests: { cpu: k8s.Quantity.fromString(`${MIGRATION_JOB_RESOURCES.cpuRequestMilli}m`), memory: k8s.Quantity.fromString(`${MIGRATION_JOB_RESOURCES.memoryRequestMiB}Mi`) },
                  limits: { cpu: k8s.Quantity.fromString(`${MIGRATION_JOB_RESOURCES.cpuLimitMilli}m`), memory: k8s.Quantity.fromString(`${MIGRATION_JOB_RESOURCES.memoryLimitMiB}Mi`) },
                },
                securityContext: {
                  allowPrivilegeEscalation: false,
                  readOnlyRootFilesystem: true,
                  runAsNonRoot: true,
                  capabilities: { drop: ['ALL'] },
                },
              },
            ],
          },
        },
      },
    });
  }
}
