/**
 * The cluster add-ons Argo CD installs before the platform, and their pinned Helm chart versions: the one
 * place to bump an add-on. Each is an Argo CD Application in `dist/<env>/cluster-addons.k8s.yaml`, synced
 * in the wave given here (lower first), so CRDs exist before anything that uses them.
 */
export interface AddonChart {
  /** Helm repository. */
  readonly repoUrl: string;
  readonly chart: string;
  /** Exact chart version; never a range. */
  readonly version: string;
  /** Namespace the release goes to (created by Argo CD); absent where the environment names it (`kubernetes.*Namespace`, `gitops.argocdNamespace`). */
  readonly namespace?: string;
  /** Argo CD sync wave of its Application. */
  readonly wave: number;
}

export const ADDON_CHARTS = {
  /** Argo CD manages itself after the one `helm install` of the first deploy. */
  argoCd: { repoUrl: 'https://argoproj.github.io/argo-helm', chart: 'argo-cd', version: '10.8.1', wave: -30 },
  /** CRDs of the ExternalSecrets and ClusterSecretStores the platform ships; before kube-prometheus-stack, whose Grafana reads a synced Secret. */
  externalSecrets: { repoUrl: 'https://charts.external-secrets.io', chart: 'external-secrets', version: '0.18.2', wave: -25 },
  /** Issues the Ingress certificate (`orchestrator-tls`) from an ACME ClusterIssuer. */
  certManager: { repoUrl: 'https://charts.jetstack.io', chart: 'cert-manager', version: 'v1.18.2', namespace: 'cert-manager', wave: -20 },
  /** ScaledObject and TriggerAuthentication of the workers. */
  keda: { repoUrl: 'https://kedacore.github.io/charts', chart: 'keda', version: '2.17.2', namespace: 'keda', wave: -20 },
  /** Prometheus Operator CRDs (ServiceMonitor, PrometheusRule, AlertmanagerConfig), Prometheus, Alertmanager, Grafana. */
  kubePrometheusStack: {
    repoUrl: 'https://prometheus-community.github.io/helm-charts',
    chart: 'kube-prometheus-stack',
    version: '75.15.0',
    wave: -20,
  },
  /** The ingress controller: Traefik behind an AWS NLB (ingress-nginx was retired upstream in March 2026). */
  traefik: { repoUrl: 'https://traefik.github.io/charts', chart: 'traefik', version: '39.0.6', wave: -10 },
  /** Adds and removes nodes of the managed node groups, found by their auto-discovery tags. */
  clusterAutoscaler: { repoUrl: 'https://kubernetes.github.io/autoscaler', chart: 'cluster-autoscaler', version: '9.59.0', namespace: 'kube-system', wave: -10 },
} as const satisfies Record<string, AddonChart>;

export type AddonName = keyof typeof ADDON_CHARTS;

/** Grafana's ClickHouse Secret (its namespace, store and ExternalSecret): after External Secrets, before kube-prometheus-stack. */
export const GRAFANA_SECRET_WAVE = -22;

/** The platform's own Application syncs after every add-on. */
export const PLATFORM_WAVE = 0;

/** Cluster Autoscaler's minor must match Kubernetes' (its chart's default image follows the newest). */
export function clusterAutoscalerImageTag(kubernetesVersion: string): string {
  return `v${kubernetesVersion}.0`;
}

/** Grafana plugin of the ClickHouse data source the run-history panels query. */
export const GRAFANA_CLICKHOUSE_PLUGIN = 'grafana-clickhouse-datasource';
