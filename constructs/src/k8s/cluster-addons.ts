import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { ADDON_CHARTS, clusterAutoscalerImageTag, GRAFANA_CLICKHOUSE_PLUGIN, GRAFANA_SECRET_WAVE, PLATFORM_WAVE, type AddonName } from '../config/cluster-addons';
import type { EnvironmentConfig } from '../config/environment-config';
import { platformNames } from '../config/names';
import { SERVICE_ACCOUNTS } from '../config/service-accounts';
import { SERVICE_DEFAULTS } from '../config/service-environment';
import * as k8s from 'cdk8s-plus-28/lib/imports/k8s';
import { GrafanaClickhouseCredentials } from './addon-resources';
import { ArgocdApplication } from './argocd-application';
import { componentLabels, GENERAL_POOL, SYNC_WAVE } from './labels';

const IRSA = 'eks.amazonaws.com/role-arn';
const requests = (cpu: string, memory: string) => ({ requests: { cpu, memory } });

/**
 * Argo CD's own health check for Applications, which it no longer ships: without it an app of apps does not
 * wait for one wave of Applications to be healthy before the next.
 */
const APPLICATION_HEALTH_LUA = [
  'hs = {}',
  'hs.status = "Progressing"',
  'hs.message = ""',
  'if obj.status ~= nil and obj.status.health ~= nil then',
  '  hs.status = obj.status.health.status',
  '  if obj.status.health.message ~= nil then hs.message = obj.status.health.message end',
  'end',
  'return hs',
].join('\n');

/** Where each add-on is installed: the environment's namespaces where it names them, else the chart's. */
export function addonNamespace(env: EnvironmentConfig, addon: AddonName): string {
  switch (addon) {
    case 'argoCd':
      return env.gitops.argocdNamespace;
    case 'externalSecrets':
      return env.kubernetes.externalSecretsNamespace;
    case 'kubePrometheusStack':
      return env.kubernetes.monitoringNamespace;
    case 'traefik':
      return env.kubernetes.ingressControllerNamespace;
    default:
      return ADDON_CHARTS[addon].namespace;
  }
}

/** The Helm values of every add-on, from the environment's typed configuration. */
export function clusterAddonValues(env: EnvironmentConfig): Record<AddonName, Record<string, unknown>> {
  const names = platformNames(env);
  const k = env.kubernetes;
  const a = env.addons;
  return {
    argoCd: {
      // `edit` (the deploy role's access policy) then covers Applications, so CI can apply the root one.
      createAggregateRoles: true,
      dex: { enabled: false },
      configs: { cm: { 'resource.customizations.health.argoproj.io_Application': APPLICATION_HEALTH_LUA } },
      global: { nodeSelector: GENERAL_POOL },
    },
    externalSecrets: {
      installCRDs: true,
      serviceAccount: { name: SERVICE_ACCOUNTS.externalSecrets, annotations: { [IRSA]: names.externalSecretsRoleArn } },
      nodeSelector: GENERAL_POOL,
      resources: requests('50m', '128Mi'),
    },
    certManager: {
      crds: { enabled: true },
      nodeSelector: GENERAL_POOL,
      resources: requests('50m', '128Mi'),
    },
    keda: {
      nodeSelector: GENERAL_POOL,
    },
    kubePrometheusStack: {
      prometheus: {
        prometheusSpec: {
          retention: `${a.prometheus.retentionDays}d`,
          nodeSelector: GENERAL_POOL,
          // The platform's ServiceMonitors and PrometheusRule carry `release: <prometheusRelease>`.
          serviceMonitorSelector: { matchLabels: { release: k.prometheusRelease } },
          ruleSelector: { matchLabels: { release: k.prometheusRelease } },
          storageSpec: {
            volumeClaimTemplate: {
              spec: { storageClassName: GP3_STORAGE_CLASS, accessModes: ['ReadWriteOnce'], resources: { requests: { storage: `${a.prometheus.storageGiB}Gi` } } },
            },
          },
        },
      },
      alertmanager: {
        alertmanagerSpec: {
          nodeSelector: GENERAL_POOL,
          alertmanagerConfigSelector: { matchLabels: { release: k.prometheusRelease } },
        },
      },
      'prometheus-node-exporter': { resources: requests('20m', '32Mi') },
      grafana: {
        nodeSelector: GENERAL_POOL,
        plugins: [GRAFANA_CLICKHOUSE_PLUGIN],
        // The dashboards are ConfigMaps in the platform namespace.
        sidecar: {
          dashboards: { enabled: true, label: 'grafana_dashboard', labelValue: '1', searchNamespace: 'ALL' },
          datasources: { uid: k.grafanaPrometheusUid },
        },
        envFromSecret: GRAFANA_CLICKHOUSE_SECRET,
        additionalDataSources: [
          {
            name: 'ClickHouse',
            uid: k.grafanaClickhouseUid,
            type: GRAFANA_CLICKHOUSE_PLUGIN,
            jsonData: {
              host: names.clickhouseHost,
              port: SERVICE_DEFAULTS.clickhouseHttpPort,
              protocol: 'http',
              username: 'eval',
              defaultDatabase: SERVICE_DEFAULTS.clickhouseDatabase,
            },
            // Grafana expands environment variables in provisioning files; the value comes from the Secret.
            secureJsonData: { password: '$CLICKHOUSE_PASSWORD' },
          },
        ],
      },
    },
    traefik: {
      deployment: { replicas: a.ingress.replicas },
      nodeSelector: GENERAL_POOL,
      resources: requests('100m', '128Mi'),
      ingressClass: { enabled: true, isDefaultClass: false, name: k.ingressClassName },
      providers: { kubernetesIngress: { publishedService: { enabled: true } } },
      ports: { web: { http: { redirections: { entryPoint: { to: 'websecure', scheme: 'https', permanent: true } } } } },
      service: {
        annotations: {
          'service.beta.kubernetes.io/aws-load-balancer-type': 'nlb',
          ...(a.ingress.scheme === 'internal' ? { 'service.beta.kubernetes.io/aws-load-balancer-internal': 'true' } : {}),
        },
      },
    },
    clusterAutoscaler: {
      cloudProvider: 'aws',
      awsRegion: env.region,
      autoDiscovery: { clusterName: env.clusterName },
      image: { tag: clusterAutoscalerImageTag(env.kubernetesVersion) },
      rbac: { serviceAccount: { name: SERVICE_ACCOUNTS.clusterAutoscaler, annotations: { [IRSA]: names.clusterAutoscalerRoleArn } } },
      extraArgs: {
        'balance-similar-node-groups': true,
        'skip-nodes-with-system-pods': false,
        expander: 'least-waste',
        'scale-down-unneeded-time': `${a.clusterAutoscaler.scaleDownUnneededMinutes}m`,
        'max-nodes-total': a.clusterAutoscaler.maxNodesTotal,
      },
      nodeSelector: GENERAL_POOL,
      resources: requests('100m', '300Mi'),
    },
  };
}

/**
 * The encrypted gp3 StorageClass (EBS CSI driver) Prometheus's volume asks for; EKS creates only the in-tree
 * gp2 class. It is synced before every add-on.
 */
export const GP3_STORAGE_CLASS = 'gp3';

/** The Secret in the monitoring namespace with Grafana's ClickHouse password (`CLICKHOUSE_PASSWORD`). */
export const GRAFANA_CLICKHOUSE_SECRET = 'grafana-clickhouse';

/** Name of the platform's own Application, synced after every add-on. */
export function platformApplicationName(env: EnvironmentConfig): string {
  return `ai-eval-platform-${env.name}`;
}

/**
 * `dist/<env>/cluster-addons.k8s.yaml`, the app of apps: one Argo CD Application per add-on (pinned chart,
 * values from the environment, sync waves: Argo CD first, then the operators whose CRDs the platform uses,
 * then Traefik and the Cluster Autoscaler), and last the platform's own Application over
 * `platform.k8s.yaml`. The root Application of `GitopsChart` syncs this file.
 */
export class ClusterAddonsChart extends Chart {
  readonly applications: Record<string, ArgocdApplication> = {};

  constructor(scope: Construct, id: string, props: { readonly env: EnvironmentConfig }) {
    super(scope, id, { disableResourceNameHashes: true });
    const env = props.env;
    const values = clusterAddonValues(env);
    const releaseNames: Partial<Record<AddonName, string>> = {
      // ServiceMonitors select by `release`: the release must carry that name.
      kubePrometheusStack: env.kubernetes.prometheusRelease,
    };
    new k8s.KubeStorageClass(this, 'gp3', {
      metadata: { name: GP3_STORAGE_CLASS, labels: componentLabels('storage'), annotations: { [SYNC_WAVE]: '-40' } },
      provisioner: 'ebs.csi.aws.com',
      parameters: { type: 'gp3', encrypted: 'true' },
      volumeBindingMode: 'WaitForFirstConsumer',
      allowVolumeExpansion: true,
      reclaimPolicy: 'Delete',
    });
    // Grafana (kube-prometheus-stack) starts with this Secret in its environment: it is synced first.
    const names = platformNames(env);
    new GrafanaClickhouseCredentials(this, 'grafana-clickhouse', {
      namespace: env.kubernetes.monitoringNamespace,
      region: env.region,
      serviceAccount: SERVICE_ACCOUNTS.grafanaSecrets,
      roleArn: names.grafanaSecretsRoleArn,
      clickhouseSecret: names.clickhouseSecret,
      secretName: GRAFANA_CLICKHOUSE_SECRET,
      wave: GRAFANA_SECRET_WAVE,
    });
    for (const addon of Object.keys(ADDON_CHARTS) as AddonName[]) {
      const chart = ADDON_CHARTS[addon];
      this.applications[addon] = new ArgocdApplication(this, addon, {
        name: chart.chart,
        argocdNamespace: env.gitops.argocdNamespace,
        project: env.gitops.project,
        helm: { repoUrl: chart.repoUrl, chart: chart.chart, version: chart.version, releaseName: releaseNames[addon], values: values[addon] },
        destinationNamespace: addonNamespace(env, addon),
        createNamespace: true,
        wave: chart.wave,
        cascadeDelete: addon !== 'argoCd',
      });
    }
    this.applications.platform = new ArgocdApplication(this, 'platform', {
      name: platformApplicationName(env),
      argocdNamespace: env.gitops.argocdNamespace,
      project: env.gitops.project,
      repoUrl: env.gitops.repoUrl,
      targetRevision: env.gitops.targetRevision,
      path: `${env.gitops.pathPrefix}/${env.name}`,
      include: 'platform.k8s.yaml',
      destinationNamespace: env.kubernetes.namespace,
      wave: PLATFORM_WAVE,
    });
  }
}
