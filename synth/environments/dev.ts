import type { EnvironmentInput } from '@ai-eval-platform/constructs';

/** The base environment, as `values.yaml` is to the brief's chart; prod layers its overrides on it. */
export const dev = {
  name: 'dev',
  // The repository's example: every placeholder below (111111111111, example.com, example-org) is accepted
  // only with this line. Delete it when you put in your own values (README, "Deploying an environment").
  example: true,
  accountId: '111111111111',
  region: 'eu-west-1',
  kubernetesVersion: '1.33',
  tags: { project: 'ai-eval-platform', owner: 'platform-team' },
  // The repository whose workflows (release.yml, gitops.yml, deploy.yml) the account bootstrap's roles trust.
  github: { repository: 'example-org/ai-eval-platform' },
  // Terraform state, the release, promote, deploy and admin roles: the account bootstrap's, derived from accountId.
  network: { vpcCidr: '10.20.0.0/16', azCount: 3, singleNatGateway: true },
  // Exactly the brief's managed node groups (§1.2).
  nodeGroups: {
    general: {
      instanceTypes: ['t3.large'],
      capacityType: 'ON_DEMAND',
      minSize: 1,
      maxSize: 3,
      desiredSize: 2,
      labels: { 'ai-eval-platform/pool': 'general' },
    },
    workers_spot: {
      // c5.xlarge first, as the brief; the alternatives give SPOT somewhere to find capacity.
      instanceTypes: ['c5.xlarge', 'c5a.xlarge', 'c6i.xlarge'],
      capacityType: 'SPOT',
      minSize: 2,
      maxSize: 10,
      desiredSize: 2,
      labels: { 'ai-eval-platform/pool': 'workers' },
      taints: [{ key: 'ai-eval-platform/workers', value: 'true', effect: 'NO_SCHEDULE' }],
    },
  },
  database: {
    instanceClass: 'db.t4g.medium',
    engineVersion: '16',
    allocatedStorageGiB: 20,
    maxAllocatedStorageGiB: 100,
    multiAz: false,
    deletionProtection: false,
    backupRetentionDays: 3,
    finalSnapshot: false,
  },
  redis: { nodeType: 'cache.t4g.small', nodes: 1 },
  clickhouse: { replicas: 1, instanceType: 'm6i.large', dataVolumeGiB: 100 },
  backup: { awsBackupPlan: false },
  // The release workflow pushes every build of main into dev's repositories (the bootstrap's release role); dev follows them (synth/releases.ts).
  orchestrator: {
    replicas: 1,
    host: 'evals.dev.example.com',
    resources: { cpuRequestMilli: 250, cpuLimitMilli: 1000, memoryRequestMiB: 256, memoryLimitMiB: 512 },
  },
  worker: {
    minReplicas: 1,
    maxReplicas: 10,
    concurrency: 20,
    resources: { cpuRequestMilli: 500, cpuLimitMilli: 2000, memoryRequestMiB: 512, memoryLimitMiB: 1024 },
  },
  addons: { acmeEmail: 'platform-team@example.com' },
  gitops: { repoUrl: 'https://github.com/example-org/ai-eval-platform-gitops.git', targetRevision: 'main' },
  alerting: { slackChannel: '#ai-eval-alerts-dev', dailyLlmBudgetUsd: 50 },
} satisfies EnvironmentInput;
