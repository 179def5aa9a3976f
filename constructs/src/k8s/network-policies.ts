import { Construct } from 'constructs';
// The typed Kubernetes API alone: loading all of cdk8s-plus costs synth about 30 ms.
import * as k8s from 'cdk8s-plus-28/lib/imports/k8s';
import { componentLabels, selectorLabels } from './labels';

export interface PlatformNetworkPoliciesProps {
  /** Namespace whose pods the policies select. */
  readonly namespace: string;
  /** Namespace of the ingress controller. */
  readonly ingressControllerNamespace: string;
  /** Port the orchestrator serves on. */
  readonly orchestratorPort: number;
  /** Namespace of Prometheus, allowed to scrape both services' metrics port. */
  readonly monitoringNamespace: string;
  /** The services' metrics port (the workers serve /metrics on it too). */
  readonly metricsPort: number;
  /** CIDR of the VPC, where Postgres, Redis and ClickHouse live. */
  readonly vpcCidr: string;
  /** Internet egress allowed on 443 for LLM providers (private ranges excluded). @default '0.0.0.0/0' */
  readonly llmEgressCidr?: string;
}

const DATA_STORE_PORTS = [5432, 6379, 8123, 9000];
const PRIVATE_RANGES = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '169.254.0.0/16'];

/**
 * Default deny in both directions, then exactly what the brief's flows need: DNS for everyone; the
 * orchestrator reachable from the ingress controller; orchestrator, workers and migrations reach the data
 * stores; workers (and the orchestrator, for judge calls) reach LLM providers on 443.
 */
export class PlatformNetworkPolicies extends Construct {
  readonly llmEgressCidr: string;

  constructor(scope: Construct, id: string, props: PlatformNetworkPoliciesProps) {
    super(scope, id);
    this.llmEgressCidr = props.llmEgressCidr ?? '0.0.0.0/0';
    const ns = props.namespace;
    const labels = componentLabels('network-policy');
    const policy = (name: string, spec: k8s.NetworkPolicySpec) =>
      new k8s.KubeNetworkPolicy(this, name, { metadata: { name, namespace: ns, labels }, spec });
    const tcp = (port: number): k8s.NetworkPolicyPort => ({ protocol: 'TCP', port: k8s.IntOrString.fromNumber(port) });
    const pods = (component: string) => ({ matchLabels: selectorLabels(component) });

    policy('default-deny', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
    policy('allow-dns', {
      podSelector: {},
      policyTypes: ['Egress'],
      egress: [
        {
          to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } } }],
          ports: [{ protocol: 'UDP', port: k8s.IntOrString.fromNumber(53) }, tcp(53)],
        },
      ],
    });
    policy('orchestrator-from-ingress', {
      podSelector: pods('orchestrator'),
      policyTypes: ['Ingress'],
      ingress: [
        {
          from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': props.ingressControllerNamespace } } }],
          ports: [tcp(props.orchestratorPort)],
        },
      ],
    });
    // cert-manager answers ACME HTTP-01 challenges from solver pods in the Ingress's namespace.
    policy('acme-solver-from-ingress', {
      podSelector: { matchLabels: { 'acme.cert-manager.io/http01-solver': 'true' } },
      policyTypes: ['Ingress'],
      ingress: [
        {
          from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': props.ingressControllerNamespace } } }],
          ports: [tcp(8089)],
        },
      ],
    });
    policy('metrics-from-prometheus', {
      podSelector: { matchExpressions: [{ key: 'app.kubernetes.io/name', operator: 'In', values: ['orchestrator', 'worker'] }] },
      policyTypes: ['Ingress'],
      ingress: [
        {
          from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': props.monitoringNamespace } } }],
          ports: [tcp(props.metricsPort)],
        },
      ],
    });
    const dataStores: k8s.NetworkPolicyEgressRule = { to: [{ ipBlock: { cidr: props.vpcCidr } }], ports: DATA_STORE_PORTS.map(tcp) };
    const llmProviders: k8s.NetworkPolicyEgressRule = {
      to: [{ ipBlock: { cidr: this.llmEgressCidr, except: this.llmEgressCidr === '0.0.0.0/0' ? PRIVATE_RANGES : undefined } }],
      ports: [tcp(443)],
    };
    for (const component of ['orchestrator', 'worker']) {
      policy(`${component}-egress`, { podSelector: pods(component), policyTypes: ['Egress'], egress: [dataStores, llmProviders] });
    }
    policy('migrations-egress', { podSelector: pods('migrations'), policyTypes: ['Egress'], egress: [dataStores] });
  }
}
