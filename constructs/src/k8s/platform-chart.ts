import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { imageReference, type EnvironmentConfig } from '../config/environment-config';
import { platformNames } from '../config/names';
import { SERVICE_ACCOUNTS } from '../config/service-accounts';
import { POD_ENV, SERVICE_DEFAULTS, SERVICE_ENV } from '../config/service-environment';
import { AcmeClusterIssuer } from './addon-resources';
import { ArgocdApplication } from './argocd-application';
import { MigrationJob } from './migration-job';
import { PlatformNetworkPolicies } from './network-policies';
import { Orchestrator } from './orchestrator';
import { PLATFORM_SECRETS, PlatformExternalSecrets } from './platform-external-secrets';
import { PlatformDashboards } from './platform-dashboards';
import { PlatformMonitoring } from './platform-monitoring';
import { PlatformNamespace } from './platform-namespace';
import { Worker } from './worker';

export interface PlatformChartProps {
  /** A validated environment (`resolveEnvironment`). */
  readonly env: EnvironmentConfig;
}

/**
 * Everything the platform runs in Kubernetes for one environment, replacing the brief's Helm chart:
 * namespace with quota and limits, External Secrets, the migration Job, orchestrator (Deployment,
 * api-service, Ingress), autoscaled workers, NetworkPolicies, and monitoring (ServiceMonitors, the alert
 * rules and the Slack route for kube-prometheus-stack), and the three Grafana dashboards.
 */
export class PlatformChart extends Chart {
  readonly env: EnvironmentConfig;
  readonly platformNamespace: PlatformNamespace;
  readonly orchestrator: Orchestrator;
  readonly worker: Worker;
  readonly monitoring: PlatformMonitoring;
  readonly dashboards: PlatformDashboards;

  constructor(scope: Construct, id: string, props: PlatformChartProps) {
    super(scope, id, { disableResourceNameHashes: true });
    const env = (this.env = props.env);
    const names = platformNames(env);
    const ns = env.kubernetes.namespace;

    this.platformNamespace = new PlatformNamespace(this, 'namespace', { name: ns, ...env.kubernetes.quota });
    new PlatformExternalSecrets(this, 'secrets', {
      namespace: ns,
      region: env.region,
      operatorNamespace: env.kubernetes.externalSecretsNamespace,
      operatorServiceAccount: SERVICE_ACCOUNTS.externalSecrets,
      llmKeysSecret: names.llmKeysSecret,
      connectionsSecret: names.connectionsSecret,
      redisSecret: names.redisAuthSecret,
      clickhouseSecret: names.clickhouseSecret,
      slackWebhookSecret: names.slackWebhookSecret,
      postgresSecretTag: names.postgresSecretTag,
    });
    // Only the migration Job reads the RDS master secret (RDS rotates it every 7 days; a Job reads it fresh each
    // sync). The services log in as the application role with an IAM token per connection: nothing to rotate.
    const dataStoreSecrets = [PLATFORM_SECRETS.connections, PLATFORM_SECRETS.redis, PLATFORM_SECRETS.clickhouse];
    const serviceSecrets = [...dataStoreSecrets, PLATFORM_SECRETS.llmKeys];
    const tls = { [SERVICE_ENV.postgresSslMode]: 'verify-full' };
    const database = { ...tls, [SERVICE_ENV.postgresUser]: SERVICE_DEFAULTS.postgresAppUser, [SERVICE_ENV.postgresAuth]: 'iam' };

    new MigrationJob(this, 'migrations', {
      namespace: ns,
      image: imageReference(env.images.orchestrator),
      serviceAccountName: SERVICE_ACCOUNTS.migrations,
      envFromSecrets: [...dataStoreSecrets, PLATFORM_SECRETS.postgres],
      env: { ...tls, [SERVICE_ENV.postgresAppUser]: SERVICE_DEFAULTS.postgresAppUser },
    });
    const issuer = new AcmeClusterIssuer(this, 'issuer', {
      server: env.addons.acmeServer,
      email: env.addons.acmeEmail,
      ingressClassName: env.kubernetes.ingressClassName,
    });
    this.orchestrator = new Orchestrator(this, 'orchestrator', {
      namespace: ns,
      image: imageReference(env.images.orchestrator),
      replicas: env.orchestrator.replicas,
      resources: env.orchestrator.resources,
      port: env.orchestrator.port,
      host: env.orchestrator.host,
      ingressClassName: env.kubernetes.ingressClassName,
      ingressAnnotations: {
        'cert-manager.io/cluster-issuer': issuer.name,
        'traefik.ingress.kubernetes.io/router.entrypoints': 'websecure',
        'traefik.ingress.kubernetes.io/router.tls': 'true',
      },
      roleArn: names.orchestratorRoleArn,
      envFromSecrets: serviceSecrets,
      env: {
        ...database,
        [SERVICE_ENV.queueName]: env.worker.queueName,
        [SERVICE_ENV.casesPerJob]: String(env.worker.casesPerJob),
        [POD_ENV.environment]: env.name,
        // OTLP in (`/v1/traces`, under the Ingress's `/v1` with its TLS): retention, span rate and body size per environment.
        [SERVICE_ENV.traceRetentionDays]: String(env.online.traceRetentionDays),
        [SERVICE_ENV.projectSpansPerSecond]: String(env.online.projectSpansPerSecond),
        [SERVICE_ENV.maxTraceBodyBytes]: String(env.online.maxTraceBodyMiB * 1024 * 1024),
      },
    });
    const spot = Object.values(env.nodeGroups).find((group) => group.capacityType === 'SPOT');
    const spotTaint = spot?.taints[0];
    if (!spot || !spotTaint) {
      throw new Error(`${env.name}: nodeGroups: the workers need a SPOT node group with a taint, found none`);
    }
    const [poolKey, poolValue] = Object.entries(spot.labels)[0] ?? [];
    if (!poolKey) throw new Error(`${env.name}: nodeGroups: the SPOT node group needs a label the workers can select`);
    this.worker = new Worker(this, 'worker', {
      namespace: ns,
      image: imageReference(env.images.worker),
      resources: env.worker.resources,
      minReplicas: env.worker.minReplicas,
      maxReplicas: env.worker.maxReplicas,
      queueName: env.worker.queueName,
      jobsPerReplica: env.worker.jobsPerReplica,
      cpuTargetPercent: env.worker.cpuTargetPercent,
      concurrency: env.worker.concurrency,
      llmRetry: env.worker.llmRetry,
      roleArn: names.workerRoleArn,
      envFromSecrets: serviceSecrets,
      env: database,
      redisPasswordSecret: { name: PLATFORM_SECRETS.redis, key: SERVICE_ENV.redisPassword },
      spotTaint,
      poolLabel: { key: poolKey, value: poolValue },
    });
    this.monitoring = new PlatformMonitoring(this, 'monitoring', {
      namespace: ns,
      environment: env.name,
      orchestratorName: 'orchestrator',
      workerName: 'worker',
      metricsPortName: 'http',
      metricsPort: this.orchestrator.port,
      prometheusRelease: env.kubernetes.prometheusRelease,
      alerting: env.alerting,
      slackWebhookSecret: { name: PLATFORM_SECRETS.slackWebhook, key: 'url' },
    });
    this.dashboards = new PlatformDashboards(this, 'dashboards', {
      namespace: ns,
      environment: env.name,
      prometheusDatasourceUid: env.kubernetes.grafanaPrometheusUid,
      clickhouseDatasourceUid: env.kubernetes.grafanaClickhouseUid,
      clickhouseDatabase: SERVICE_DEFAULTS.clickhouseDatabase,
    });
    new PlatformNetworkPolicies(this, 'network-policies', {
      namespace: ns,
      ingressControllerNamespace: env.kubernetes.ingressControllerNamespace,
      orchestratorPort: this.orchestrator.port,
      monitoringNamespace: env.kubernetes.monitoringNamespace,
      metricsPort: this.orchestrator.port,
      vpcCidr: env.network.vpcCidr,
      llmEgressCidr: env.kubernetes.llmEgressCidr,
    });
  }
}

/**
 * The root Application of one environment (`argocd-application.k8s.yaml`, applied once by hand): it syncs
 * `cluster-addons.k8s.yaml` of the environment's folder, the app of apps that installs the add-ons and then
 * the platform.
 */
export class GitopsChart extends Chart {
  constructor(scope: Construct, id: string, props: PlatformChartProps) {
    super(scope, id, { disableResourceNameHashes: true });
    const env = props.env;
    new ArgocdApplication(this, 'application', {
      name: `ai-eval-platform-${env.name}-root`,
      argocdNamespace: env.gitops.argocdNamespace,
      project: env.gitops.project,
      repoUrl: env.gitops.repoUrl,
      targetRevision: env.gitops.targetRevision,
      path: `${env.gitops.pathPrefix}/${env.name}`,
      include: 'cluster-addons.k8s.yaml',
      destinationNamespace: env.gitops.argocdNamespace,
    });
  }
}
