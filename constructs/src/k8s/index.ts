// cdk8s constructs: `import { PlatformChart } from '@ai-eval-platform/constructs/k8s'`.
export * from './labels';
export * from './platform-namespace';
export * from './platform-workload';
export * from './orchestrator';
export * from './worker';
export * from './platform-external-secrets';
export * from './migration-job';
export * from './network-policies';
export * from './platform-metrics';
export * from './platform-monitoring';
export * from './platform-dashboards';
export * from './argocd-application';
export * from './addon-resources';
export * from './cluster-addons';
export * from './platform-chart';
