// CDKTF constructs: `import { PlatformStack } from '@ai-eval-platform/constructs/terraform'`.
export * from './network';
export * from './eks-cluster';
export * from './managed-node-group';
export * from './irsa-role';
export * from './postgres-database';
export * from './redis-queue';
export * from './clickhouse-cluster';
export * from './artifact-bucket';
export * from './platform-secrets';
export * from './backup-plan';
export * from './platform-stack';
export * from './account-bootstrap-stack';
export * from './client-security-group';
export * from './container-registry';
export { readPasswordScript } from './clickhouse-user-data';
export { setRedisAuthTokenScript } from './redis-auth-token';
