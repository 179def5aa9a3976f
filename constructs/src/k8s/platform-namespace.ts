import { Construct } from 'constructs';
// The typed Kubernetes API alone: loading all of cdk8s-plus costs synth about 30 ms.
import * as k8s from 'cdk8s-plus-28/lib/imports/k8s';
import { componentLabels, SYNC_WAVE } from './labels';

export interface PlatformNamespaceProps {
  /** Namespace name. */
  readonly name: string;
  /** Total CPU requests allowed, e.g. `'40'`. */
  readonly cpuRequests: string;
  /** Total memory requests allowed, e.g. `'80Gi'`. */
  readonly memoryRequests: string;
  /** ResourceQuota `limits.cpu` of the namespace (cores, Kubernetes quantity). */
  readonly cpuLimits: string;
  /** ResourceQuota `limits.memory` of the namespace (Kubernetes quantity). */
  readonly memoryLimits: string;
  /** Pods allowed in the namespace. */
  readonly pods: number;
  /**
   * Requests given to a container that declares none (every platform container declares its own).
   * @default { cpu: '100m', memory: '128Mi' }
   */
  readonly defaultRequest?: { readonly cpu: string; readonly memory: string };
  /**
   * Limits given to a container that declares none.
   * @default { cpu: '500m', memory: '512Mi' }
   */
  readonly defaultLimit?: { readonly cpu: string; readonly memory: string };
}

/** The platform's namespace, with a ResourceQuota and a LimitRange (go-live check 1). */
export class PlatformNamespace extends Construct {
  readonly name: string;
  readonly defaultRequest: { readonly cpu: string; readonly memory: string };
  readonly defaultLimit: { readonly cpu: string; readonly memory: string };

  constructor(scope: Construct, id: string, props: PlatformNamespaceProps) {
    super(scope, id);
    this.name = props.name;
    this.defaultRequest = props.defaultRequest ?? { cpu: '100m', memory: '128Mi' };
    this.defaultLimit = props.defaultLimit ?? { cpu: '500m', memory: '512Mi' };
    const labels = componentLabels('namespace');
    // Before everything in it: Argo CD orders a sync by wave first and by kind only within a wave, so a
    // Namespace in wave 0 would come after the wave -2 secrets that live in it.
    const annotations = { [SYNC_WAVE]: '-10' };
    new k8s.KubeNamespace(this, 'namespace', {
      metadata: {
        name: this.name,
        annotations,
        labels: {
          ...labels,
          'pod-security.kubernetes.io/enforce': 'restricted',
          'pod-security.kubernetes.io/enforce-version': 'latest',
        },
      },
    });
    new k8s.KubeResourceQuota(this, 'quota', {
      metadata: { name: 'platform-quota', namespace: this.name, labels, annotations },
      spec: {
        hard: {
          'requests.cpu': k8s.Quantity.fromString(props.cpuRequests),
          'requests.memory': k8s.Quantity.fromString(props.memoryRequests),
          'limits.cpu': k8s.Quantity.fromString(props.cpuLimits),
          'limits.memory': k8s.Quantity.fromString(props.memoryLimits),
          pods: k8s.Quantity.fromNumber(props.pods),
        },
      },
    });
    new k8s.KubeLimitRange(this, 'limits', {
      metadata: { name: 'platform-limits', namespace: this.name, labels, annotations },
      spec: {
        limits: [
          {
            type: 'Container',
            defaultRequest: {
              cpu: k8s.Quantity.fromString(this.defaultRequest.cpu),
              memory: k8s.Quantity.fromString(this.defaultRequest.memory),
            },
            default: {
              cpu: k8s.Quantity.fromString(this.defaultLimit.cpu),
              memory: k8s.Quantity.fromString(this.defaultLimit.memory),
            },
          },
        ],
      },
    });
  }
}
