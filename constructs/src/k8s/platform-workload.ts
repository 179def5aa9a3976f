import { nodeOptionsFor, ROLLOUT_MAX_SURGE_PERCENT } from '../config/capacity';
import { POD_ENV } from '../config/service-environment';
import { Construct } from 'constructs';
// The typed Kubernetes API alone: loading all of cdk8s-plus costs synth about 30 ms.
import * as k8s from 'cdk8s-plus-28/lib/imports/k8s';
import { componentLabels, selectorLabels } from './labels';

export interface ContainerResources {
  /** CPU request, in millicores. */
  readonly cpuRequestMilli: number;
  /** CPU limit, in millicores. */
  readonly cpuLimitMilli: number;
  /** Memory request, in MiB. */
  readonly memoryRequestMiB: number;
  /** Memory limit, in MiB. */
  readonly memoryLimitMiB: number;
}

export interface PlatformWorkloadProps {
  /** Component name: the Deployment, ServiceAccount and container are named after it. */
  readonly name: string;
  /** Namespace of the Deployment, its ServiceAccount and PodDisruptionBudget. */
  readonly namespace: string;
  /** Image reference (repository with tag or digest). */
  readonly image: string;
  /** Container arguments. @default [] */
  readonly args?: string[];
  /**
   * Fixed replica count. Leave undefined when an autoscaler owns the Deployment: the field is then
   * absent, so a GitOps sync never resets what the autoscaler chose.
   * @default undefined (autoscaled)
   */
  readonly replicas?: number;
  /** CPU and memory requests and limits of the container. */
  readonly resources: ContainerResources;
  /**
   * Plain environment variables. `NODE_OPTIONS` is always set: it caps the JavaScript heap at
   * `nodeHeapLimitMiB(resources.memoryLimitMiB)`, and a `NODE_OPTIONS` given here is appended to the cap.
   * @default {}
   */
  readonly env?: Record<string, string>;
  /** Secrets whose keys all become environment variables. @default [] */
  readonly envFromSecrets?: string[];
  /** Container port serving HTTP, `/healthz`, `/readyz` and `/metrics`. */
  readonly port: number;
  /** IAM role for the service account (IRSA). */
  readonly roleArn: string;
  /** Tolerations, e.g. for the SPOT worker pool. @default [] */
  readonly tolerations?: k8s.Toleration[];
  /** @default {} */
  readonly nodeSelector?: Record<string, string>;
  /** Seconds between SIGTERM and SIGKILL: long enough to drain in-flight work. @default 30 */
  readonly terminationGracePeriodSeconds?: number;
  /** Pods that may be unavailable during voluntary disruptions. @default 1 */
  readonly maxUnavailable?: number;
}

/**
 * A hardened Deployment with its ServiceAccount (IRSA) and PodDisruptionBudget: non-root, read-only root
 * filesystem, no privilege escalation, all capabilities dropped, RuntimeDefault seccomp, requests and
 * limits on every container, liveness/readiness/startup probes, and spread across zones and nodes.
 */
export class PlatformWorkload extends Construct {
  readonly deployment: k8s.KubeDeployment;
  readonly serviceAccountName: string;
  readonly selector: Record<string, string>;
  readonly terminationGracePeriodSeconds: number;
  readonly maxUnavailable: number;

  constructor(scope: Construct, id: string, props: PlatformWorkloadProps) {
    super(scope, id);
    const r = props.resources;
    if (r.cpuRequestMilli > r.cpuLimitMilli) {
      throw new Error(`${props.name}: cpuRequestMilli (${r.cpuRequestMilli}) must be <= cpuLimitMilli (${r.cpuLimitMilli})`);
    }
    if (r.memoryRequestMiB > r.memoryLimitMiB) {
      throw new Error(`${props.name}: memoryRequestMiB (${r.memoryRequestMiB}) must be <= memoryLimitMiB (${r.memoryLimitMiB})`);
    }
    if (props.image.endsWith(':latest') || !/[:@]/.test(props.image.split('/').pop() ?? '')) {
      throw new Error(`${props.name}: image (${props.image}) must carry an immutable tag or digest, not latest`);
    }
    this.terminationGracePeriodSeconds = props.terminationGracePeriodSeconds ?? 30;
    this.maxUnavailable = props.maxUnavailable ?? 1;
    this.serviceAccountName = props.name;
    this.selector = selectorLabels(props.name);
    const labels = componentLabels(props.name);
    const metadata = { name: props.name, namespace: props.namespace, labels };

    new k8s.KubeServiceAccount(this, 'service-account', {
      metadata: { ...metadata, annotations: { 'eks.amazonaws.com/role-arn': props.roleArn } },
      automountServiceAccountToken: true,
    });

    const httpProbe = (path: string, periodSeconds: number, failureThreshold: number): k8s.Probe => ({
      httpGet: { path, port: k8s.IntOrString.fromString('http') },
      periodSeconds,
      failureThreshold,
      timeoutSeconds: 2,
    });
    const spread = (topologyKey: string, whenUnsatisfiable: string): k8s.TopologySpreadConstraint => ({
      maxSkew: 1,
      topologyKey,
      whenUnsatisfiable,
      labelSelector: { matchLabels: this.selector },
    });

    this.deployment = new k8s.KubeDeployment(this, 'deployment', {
      metadata,
      spec: {
        replicas: props.replicas,
        revisionHistoryLimit: 5,
        selector: { matchLabels: this.selector },
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: k8s.IntOrString.fromString(`${ROLLOUT_MAX_SURGE_PERCENT}%`), maxUnavailable: k8s.IntOrString.fromNumber(0) } },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: this.serviceAccountName,
            terminationGracePeriodSeconds: this.terminationGracePeriodSeconds,
            securityContext: {
              runAsNonRoot: true,
              runAsUser: 10001,
              runAsGroup: 10001,
              fsGroup: 10001,
              seccompProfile: { type: 'RuntimeDefault' },
            },
            tolerations: props.tolerations,
            nodeSelector: props.nodeSelector,
            topologySpreadConstraints: [
              spread('topology.kubernetes.io/zone', 'ScheduleAnyway'),
              spread('kubernetes.io/hostname', 'ScheduleAnyway'),
            ],
            containers: [
              {
                name: props.name,
                image: props.image,
                imagePullPolicy: 'IfNotPresent',
                args: props.args,
                ports: [{ name: 'http', containerPort: props.port, protocol: 'TCP' }],
                env: Object.entries({ ...props.env, [POD_ENV.nodeOptions]: nodeOptionsFor(r.memoryLimitMiB, props.env?.[POD_ENV.nodeOptions]) }).map(([name, value]) => ({ name, value })),
                envFrom: (props.envFromSecrets ?? []).map((name) => ({ secretRef: { name } })),
                resources: {
                  requests: {
                    cpu: k8s.Quantity.fromString(`${r.cpuRequestMilli}m`),
                    memory: k8s.Quantity.fromString(`${r.memoryRequestMiB}Mi`),
                  },
                  limits: {
                    cpu: k8s.Quantity.fromString(`${r.cpuLimitMilli}m`),
                    memory: k8s.Quantity.fromString(`${r.memoryLimitMiB}Mi`),
                  },
                },
                startupProbe: httpProbe('/healthz', 5, 24),
                livenessProbe: httpProbe('/healthz', 10, 3),
                readinessProbe: httpProbe('/readyz', 5, 3),
                securityContext: {
                  allowPrivilegeEscalation: false,
                  readOnlyRootFilesystem: true,
                  runAsNonRoot: true,
                  capabilities: { drop: ['ALL'] },
                },
                volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
              },
            ],
            volumes: [{ name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString('256Mi') } }],
          },
        },
      },
    });

    new k8s.KubePodDisruptionBudget(this, 'pdb', {
      metadata,
      spec: { maxUnavailable: k8s.IntOrString.fromNumber(this.maxUnavailable), selector: { matchLabels: this.selector } },
    });
  }
}
