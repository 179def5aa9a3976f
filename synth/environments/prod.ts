import { overrideEnvironment, type EnvironmentOverrides } from '@ai-eval-platform/constructs';
import { dev } from './dev';

/** Production overrides, layered over dev the way `values-prod.yaml` is layered over `values.yaml`. */
export const prodOverrides = {
  name: 'prod',
  accountId: '222222222222',
  production: true,
  network: { vpcCidr: '10.30.0.0/16', singleNatGateway: false },
  // CI's deploy role (the bootstrap's) reaches the private endpoint from a runner in the VPC; see README, "Deploying an environment".
  cluster: { publicEndpoint: false },
  kubernetes: {
    // Full scale, rollouts included: see README, "Capacity".
    quota: { cpuRequests: '40', memoryRequests: '80Gi', cpuLimits: '120', memoryLimits: '160Gi', pods: 200 },
  },
  database: {
    instanceClass: 'db.r6g.large',
    allocatedStorageGiB: 100,
    maxAllocatedStorageGiB: 1000,
    multiAz: true,
    deletionProtection: true,
    backupRetentionDays: 14,
    finalSnapshot: true,
  },
  redis: { nodeType: 'cache.r7g.large', nodes: 2, snapshotRetentionDays: 7 },
  clickhouse: { replicas: 3, instanceType: 'm6i.2xlarge', dataVolumeGiB: 500, dataVolumeIops: 6000, dataVolumeThroughputMiBps: 250 },
  backup: { awsBackupPlan: true, retentionDays: 35 },
  // Releases are copied in by digest when promoted (synth/releases/prod.json, the bootstrap's promote role); never built for prod.
  orchestrator: {
    replicas: 3,
    host: 'evals.example.com',
    resources: { cpuRequestMilli: 500, cpuLimitMilli: 2000, memoryRequestMiB: 512, memoryLimitMiB: 1024 },
  },
  worker: { minReplicas: 2, maxReplicas: 40 },
  alerting: { slackChannel: '#ai-eval-alerts', dailyLlmBudgetUsd: 500 },
} satisfies EnvironmentOverrides;

export const prod = overrideEnvironment(dev, prodOverrides);
