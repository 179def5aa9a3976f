import { Construct } from 'constructs';
// The typed Kubernetes API alone: loading all of cdk8s-plus costs synth about 30 ms.
import * as k8s from 'cdk8s-plus-28/lib/imports/k8s';
import { componentLabels, GENERAL_POOL } from './labels';
import { PlatformWorkload, type ContainerResources } from './platform-workload';

export interface OrchestratorProps {
  /** Namespace of the Deployment, Service and Ingress. */
  readonly namespace: string;
  /** Container image reference (`repo:tag` or `repo@digest`). */
  readonly image: string;
  /** Fixed replica count (the orchestrator has no autoscaler). */
  readonly replicas: number;
  /** CPU and memory requests and limits of the container. */
  readonly resources: ContainerResources;
  /** @default 8080 */
  readonly port?: number;
  /** Public host name of the API. */
  readonly host: string;
  /** @default 'traefik' */
  readonly ingressClassName?: string;
  /** Annotations of the Ingress, e.g. cert-manager's `cert-manager.io/cluster-issuer`. @default {} */
  readonly ingressAnnotations?: Record<string, string>;
  /**
   * Secret holding the TLS certificate for `host` (for example issued by cert-manager).
   * @default 'orchestrator-tls'
   */
  readonly tlsSecretName?: string;
  /** IAM role for the service account (IRSA). */
  readonly roleArn: string;
  /** Secrets exposed as environment variables. */
  readonly envFromSecrets: string[];
  /** @default {} */
  readonly env?: Record<string, string>;
}

/**
 * Paths the Ingress routes to the orchestrator: the API, its description and the viewer's pages. `/metrics`,
 * `/healthz` and `/readyz` are served on the same port for Prometheus (through the Service) and the kubelet,
 * never routed from outside.
 */
export const PUBLIC_PATHS = ['/v1', '/openapi.json', '/ui'] as const;

/** The orchestrator API: Deployment, the brief's api-service, and an Ingress with TLS for the API paths only. */
export class Orchestrator extends Construct {
  static readonly NAME = 'orchestrator';
  readonly workload: PlatformWorkload;
  readonly service: k8s.KubeService;
  readonly ingress: k8s.KubeIngress;
  readonly port: number;

  constructor(scope: Construct, id: string, props: OrchestratorProps) {
    super(scope, id);
    this.port = props.port ?? 8080;
    const name = Orchestrator.NAME;
    this.workload = new PlatformWorkload(this, 'workload', {
      name,
      namespace: props.namespace,
      image: props.image,
      args: ['serve'],
      replicas: props.replicas,
      resources: props.resources,
      port: this.port,
      roleArn: props.roleArn,
      envFromSecrets: props.envFromSecrets,
      env: { PORT: String(this.port), ...(props.env ?? {}) },
      nodeSelector: { ...GENERAL_POOL },
    });
    const metadata = { name, namespace: props.namespace, labels: componentLabels(name) };
    this.service = new k8s.KubeService(this, 'service', {
      metadata,
      spec: {
        type: 'ClusterIP',
        selector: this.workload.selector,
        ports: [{ name: 'http', port: 80, targetPort: k8s.IntOrString.fromString('http'), protocol: 'TCP' }],
      },
    });
    this.ingress = new k8s.KubeIngress(this, 'ingress', {
      metadata: { ...metadata, annotations: props.ingressAnnotations },
      spec: {
        ingressClassName: props.ingressClassName ?? 'traefik',
        tls: [{ hosts: [props.host], secretName: props.tlsSecretName ?? 'orchestrator-tls' }],
        rules: [
          {
            host: props.host,
            http: {
              paths: PUBLIC_PATHS.map((path) => ({
                path,
                pathType: path === '/openapi.json' ? 'Exact' : 'Prefix',
                backend: { service: { name, port: { name: 'http' } } },
              })),
            },
          },
        ],
      },
    });
  }
}
