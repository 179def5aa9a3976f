/** Kubernetes service account names that IRSA trust policies name; shared by both halves. */
export const SERVICE_ACCOUNTS = {
  externalSecrets: 'external-secrets',
  orchestrator: 'orchestrator',
  worker: 'worker',
  migrations: 'migrations',
  /** Cluster Autoscaler, in kube-system. */
  clusterAutoscaler: 'cluster-autoscaler',
  /** What External Secrets authenticates as to read the ClickHouse secret for Grafana (monitoring namespace). */
  grafanaSecrets: 'grafana-secrets',
} as const;
