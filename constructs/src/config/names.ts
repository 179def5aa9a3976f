import type { EnvironmentConfig } from './environment-config';

/**
 * Names both halves agree on, derived from the environment alone so that `cdk8s synth` never reads
 * Terraform state: IAM role names (hence ARNs), Secrets Manager secret names, DNS names and tags.
 * Changing one of these renames a cloud resource.
 */
export interface PlatformNames {
  readonly prefix: string;
  readonly externalSecretsRoleName: string;
  readonly externalSecretsRoleArn: string;
  readonly workerRoleName: string;
  readonly workerRoleArn: string;
  readonly orchestratorRoleName: string;
  readonly orchestratorRoleArn: string;
  /** IRSA role of the Cluster Autoscaler (kube-system). */
  readonly clusterAutoscalerRoleName: string;
  readonly clusterAutoscalerRoleArn: string;
  /** IRSA role that reads only the ClickHouse secret, for Grafana's data source (monitoring namespace). */
  readonly grafanaSecretsRoleName: string;
  readonly grafanaSecretsRoleArn: string;
  /** Secret holding OPENAI_API_KEY, ANTHROPIC_API_KEY, …: created empty, filled by operators. */
  readonly llmKeysSecret: string;
  /** Secret written by Terraform with the data stores' hosts and ports (no credentials). */
  readonly connectionsSecret: string;
  readonly redisAuthSecret: string;
  readonly clickhouseSecret: string;
  /** Slack incoming-webhook URL for Alertmanager: created empty, filled by operators. */
  readonly slackWebhookSecret: string;
  /** Tag on the RDS instance, copied by RDS onto its managed master-password secret, that ESO finds it by. */
  readonly postgresSecretTag: { readonly key: string; readonly value: string };
  readonly clickhouseHosts: readonly string[];
  readonly clickhouseHost: string;
  /** Tag that selects EBS volumes into the AWS Backup plan. */
  readonly backupTag: { readonly key: string; readonly value: string };
}

export function platformNames(env: EnvironmentConfig): PlatformNames {
  const prefix = env.clusterName;
  const roleArn = (name: string) => `arn:aws:iam::${env.accountId}:role/${name}`;
  const secretBase = `${env.name}/eval-platform`;
  const zone = env.dns.privateZone;
  return {
    prefix,
    externalSecretsRoleName: `${prefix}-external-secrets`,
    externalSecretsRoleArn: roleArn(`${prefix}-external-secrets`),
    workerRoleName: `${prefix}-worker`,
    workerRoleArn: roleArn(`${prefix}-worker`),
    orchestratorRoleName: `${prefix}-orchestrator`,
    orchestratorRoleArn: roleArn(`${prefix}-orchestrator`),
    clusterAutoscalerRoleName: `${prefix}-cluster-autoscaler`,
    clusterAutoscalerRoleArn: roleArn(`${prefix}-cluster-autoscaler`),
    grafanaSecretsRoleName: `${prefix}-grafana-secrets`,
    grafanaSecretsRoleArn: roleArn(`${prefix}-grafana-secrets`),
    llmKeysSecret: env.secrets.llmKeysName,
    connectionsSecret: `${secretBase}/connections`,
    redisAuthSecret: `${secretBase}/redis`,
    clickhouseSecret: `${secretBase}/clickhouse`,
    slackWebhookSecret: `${secretBase}/slack-webhook`,
    postgresSecretTag: { key: 'ai-eval-platform/secret', value: `${prefix}-postgres-master` },
    clickhouseHosts: Array.from({ length: env.clickhouse.replicas }, (_, i) => `clickhouse-${i + 1}.${zone}`),
    clickhouseHost: `clickhouse.${zone}`,
    backupTag: { key: 'ai-eval-platform/backup', value: prefix },
  };
}
