import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-28';
import { componentLabels } from './labels';
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
  /** @default 'nginx' */
  readonly ingressClassName?: string;
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

/** The orchestrator API: Deployment, the brief's api-service, and an Ingress with TLS. */
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
      nodeSelector: { 'ai-eval-platform/pool': 'general' },
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
      metadata,
      spec: {
        ingressClassName: props.ingressClassName ?? 'nginx',
        tls: [{ hosts: [props.host], secretName: props.tlsSecretName ?? 'orchestrator-tls' }],
        rules: [
          {
            host: props.host,
            http: {
              paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name, port: { name: 'http' } } } }],
            },
          },
        ],
      },
    });
  }
}
