/** Kubernetes service account names that IRSA trust policies name; shared by both halves. */
export const SERVICE_ACCOUNTS = {
  externalSecrets: 'external-secrets',
  orchestrator: 'orchestrator',
  worker: 'worker',
  migrations: 'migrations',
} as const;
