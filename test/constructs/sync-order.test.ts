import { Testing } from 'cdk8s';
import { ClusterAddonsChart, GitopsChart, PlatformChart } from '@ai-eval-platform/constructs/k8s';
import { SERVICE_ACCOUNTS } from '@ai-eval-platform/constructs';
import { environment } from '../support/environments';

/**
 * The first Argo CD sync, read from the output: the root Application syncs `cluster-addons.k8s.yaml` wave by
 * wave (each wave must be Healthy before the next starts), each add-on's Application installs its chart, and
 * the platform's Application syncs `platform.k8s.yaml` in its own waves. Everything an object or an add-on's
 * Helm values refer to by name — a Secret, a ConfigMap, a ServiceAccount, a StorageClass, a Namespace, a
 * secret store, the CRD of its own kind — must be created in the same or an earlier step (a CRD strictly
 * earlier), or the sync waits forever on a pod that cannot start.
 */
type Obj = Record<string, any>; // manifests are untyped JSON

/** What each chart creates that others name: its CRDs' kinds and its service accounts. Read from the charts' templates at their pinned versions. */
const CHART_PROVIDES: Record<string, { kinds: string[]; serviceAccounts?: string[] }> = {
  'argo-cd': { kinds: ['Application', 'AppProject', 'ApplicationSet'] },
  'external-secrets': { kinds: ['ExternalSecret', 'ClusterSecretStore', 'SecretStore', 'ClusterExternalSecret', 'PushSecret'], serviceAccounts: [SERVICE_ACCOUNTS.externalSecrets] },
  'cert-manager': { kinds: ['Certificate', 'Issuer', 'ClusterIssuer', 'CertificateRequest'] },
  keda: { kinds: ['ScaledObject', 'ScaledJob', 'TriggerAuthentication', 'ClusterTriggerAuthentication'] },
  'kube-prometheus-stack': { kinds: ['ServiceMonitor', 'PodMonitor', 'PrometheusRule', 'AlertmanagerConfig', 'Probe', 'Prometheus', 'Alertmanager'] },
  traefik: { kinds: ['IngressRoute', 'Middleware', 'TLSOption'] },
  'cluster-autoscaler': { kinds: [], serviceAccounts: [SERVICE_ACCOUNTS.clusterAutoscaler] },
};
const BUILTIN = new Set(['Namespace', 'Secret', 'ConfigMap', 'ServiceAccount', 'Service', 'Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob', 'Pod', 'Ingress', 'NetworkPolicy', 'ResourceQuota', 'LimitRange', 'PodDisruptionBudget', 'HorizontalPodAutoscaler', 'StorageClass', 'PersistentVolumeClaim', 'Role', 'RoleBinding', 'ClusterRole', 'ClusterRoleBinding']);
const CLUSTER_SCOPED = new Set(['Namespace', 'StorageClass', 'ClusterSecretStore', 'ClusterIssuer', 'ClusterRole', 'ClusterRoleBinding', 'ClusterTriggerAuthentication']);

/** When something exists: [wave in the root app, step in a child app (0: the Application itself, 1: its contents), wave inside the platform app]. */
type When = [number, number, number];
const before = (a: When, b: When) => a[0] < b[0] || (a[0] === b[0] && (a[1] < b[1] || (a[1] === b[1] && a[2] < b[2])));
const notAfter = (a: When, b: When) => !before(b, a);
const waveOf = (o: Obj) => Number(o.metadata?.annotations?.['argocd.argoproj.io/sync-wave'] ?? 0);

interface Thing {
  readonly key: string;
  readonly when: When;
  readonly by: string;
}

function synthesized(env: ReturnType<typeof environment>) {
  return {
    addons: Testing.synth(new ClusterAddonsChart(Testing.app(), 'cluster-addons', { env })) as Obj[],
    platform: Testing.synth(new PlatformChart(Testing.app(), 'platform', { env })) as Obj[],
    root: Testing.synth(new GitopsChart(Testing.app(), 'gitops', { env })) as Obj[],
  };
}

const syncPlan = (env: ReturnType<typeof environment>) => planOf(synthesized(env));

function planOf({ addons, platform, root }: { addons: Obj[]; platform: Obj[]; root: Obj[] }) {
  const made: Thing[] = [];
  const refs: Array<{ key: string; when: When; from: string; crd?: boolean }> = [];
  const id = (o: Obj) => `${o.kind}/${o.metadata?.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata?.name}`;
  const key = (kind: string, namespace: string | undefined, name: string) => `${kind}/${CLUSTER_SCOPED.has(kind) || !namespace ? '' : `${namespace}/`}${name}`;

  /** An object synced at `when`: what it creates and what it names. */
  const object = (o: Obj, when: When, where: string, appNamespace: string) => {
    const ns = o.metadata?.namespace ?? (CLUSTER_SCOPED.has(o.kind) ? undefined : appNamespace);
    const from = `${id(o)} (${where}, wave ${when.join('/')})`;
    made.push({ key: key(o.kind, ns, o.metadata.name), when, by: from });
    if (o.kind === 'ExternalSecret') made.push({ key: key('Secret', ns, o.spec.target?.name ?? o.metadata.name), when, by: from });
    if (!BUILTIN.has(o.kind)) refs.push({ key: `CRD/${o.kind}`, when, from, crd: true });
    if (ns) refs.push({ key: key('Namespace', undefined, ns), when, from });
    const need = (kind: string, name: string | undefined, namespace = ns) => name && refs.push({ key: key(kind, namespace, name), when, from });
    const pod = o.kind === 'CronJob' ? o.spec?.jobTemplate?.spec?.template?.spec : o.spec?.template?.spec;
    if (pod) {
      need('ServiceAccount', pod.serviceAccountName);
      for (const c of [...(pod.initContainers ?? []), ...(pod.containers ?? [])]) {
        for (const e of c.envFrom ?? []) {
          if (e.secretRef && !e.secretRef.optional) need('Secret', e.secretRef.name);
          if (e.configMapRef && !e.configMapRef.optional) need('ConfigMap', e.configMapRef.name);
        }
        for (const e of c.env ?? []) {
          if (e.valueFrom?.secretKeyRef && !e.valueFrom.secretKeyRef.optional) need('Secret', e.valueFrom.secretKeyRef.name);
          if (e.valueFrom?.configMapKeyRef && !e.valueFrom.configMapKeyRef.optional) need('ConfigMap', e.valueFrom.configMapKeyRef.name);
        }
      }
      for (const v of pod.volumes ?? []) {
        if (v.secret && !v.secret.optional) need('Secret', v.secret.secretName);
        if (v.configMap && !v.configMap.optional) need('ConfigMap', v.configMap.name);
        if (v.persistentVolumeClaim) need('PersistentVolumeClaim', v.persistentVolumeClaim.claimName);
      }
    }
    if (o.kind === 'PersistentVolumeClaim') need('StorageClass', o.spec?.storageClassName);
    for (const t of o.spec?.volumeClaimTemplates ?? []) need('StorageClass', t.spec?.storageClassName);
    if (o.kind === 'ExternalSecret') need(o.spec.secretStoreRef.kind ?? 'SecretStore', o.spec.secretStoreRef.name);
    const jwt = o.spec?.provider?.aws?.auth?.jwt?.serviceAccountRef;
    if (jwt) need('ServiceAccount', jwt.name, jwt.namespace ?? ns);
    if (o.kind === 'TriggerAuthentication') for (const s of o.spec?.secretTargetRef ?? []) need('Secret', s.name);
    if (o.kind === 'ScaledObject') for (const t of o.spec?.triggers ?? []) need('TriggerAuthentication', t.authenticationRef?.name);
    if (o.kind === 'AlertmanagerConfig') for (const r of o.spec?.receivers ?? []) for (const s of r.slackConfigs ?? []) need('Secret', s.apiURL?.name);
  };

  /** What a chart's values name in its namespace: env from Secrets, existing Secrets, storage classes, service accounts it does not create. */
  const values = (v: unknown, when: When, from: string, ns: string, path = ''): void => {
    if (Array.isArray(v)) return v.forEach((item, i) => values(item, when, from, ns, `${path}[${i}]`));
    if (!v || typeof v !== 'object') return;
    for (const [k, value] of Object.entries(v as Obj)) {
      const at = `${from}: ${path}${path ? '.' : ''}${k}`;
      if ((k === 'envFromSecret' || k === 'existingSecret') && typeof value === 'string' && value) refs.push({ key: key('Secret', ns, value), when, from: at });
      else if (k === 'envFromSecrets' && Array.isArray(value)) for (const s of value) !s.optional && refs.push({ key: key('Secret', ns, s.name), when, from: at });
      else if (k === 'storageClassName' && typeof value === 'string') refs.push({ key: key('StorageClass', undefined, value), when, from: at });
      else if (k === 'serviceAccount' && value && (value as Obj).create === false && (value as Obj).name) refs.push({ key: key('ServiceAccount', ns, (value as Obj).name), when, from: at });
      else values(value, when, from, ns, `${path}${path ? '.' : ''}${k}`);
    }
  };

  const rootApp = root.find((o) => o.kind === 'Application')!;
  // Argo CD itself is there before the root Application: the first deploy installs it with Helm (README).
  const installed = 'Argo CD (helm install, before the root Application)';
  for (const k of ['Namespace/' + rootApp.metadata.namespace, 'CRD/Application', 'CRD/AppProject']) made.push({ key: k, when: [-Infinity, 0, 0], by: installed });
  for (const o of addons) {
    const w = waveOf(o);
    object(o, [w, 0, 0], 'cluster-addons.k8s.yaml', rootApp.spec.destination.namespace);
    if (o.kind !== 'Application') continue;
    const dest = o.spec.destination.namespace;
    const step: When = [w, 1, 0];
    if (o.spec.syncPolicy?.syncOptions?.includes('CreateNamespace=true')) made.push({ key: key('Namespace', undefined, dest), when: step, by: `Application/${o.metadata.name} (CreateNamespace, wave ${w})` });
    const chart = o.spec.source.chart as string | undefined;
    if (chart) {
      for (const kind of CHART_PROVIDES[chart].kinds) made.push({ key: `CRD/${kind}`, when: step, by: `Application/${o.metadata.name} (chart ${chart}, wave ${w})` });
      for (const sa of CHART_PROVIDES[chart].serviceAccounts ?? []) made.push({ key: key('ServiceAccount', dest, sa), when: step, by: `Application/${o.metadata.name} (chart ${chart}, wave ${w})` });
      values(o.spec.source.helm?.valuesObject ?? {}, step, `Application/${o.metadata.name} (chart ${chart}, wave ${w}) values`, dest);
    } else {
      expect(o.spec.source.directory.include).toBe('platform.k8s.yaml');
      for (const p of platform) object(p, [w, 1, waveOf(p)], 'platform.k8s.yaml', dest);
    }
  }
  const problems: string[] = [];
  for (const r of refs) {
    const producers = made.filter((m) => m.key === r.key);
    if (producers.length === 0) {
      problems.push(`${r.from} needs ${r.key}, which nothing in the sync creates`);
      continue;
    }
    const ok = producers.some((m) => (r.crd ? before(m.when, r.when) : notAfter(m.when, r.when)));
    if (!ok) problems.push(`${r.from} needs ${r.key}, created later by ${producers.map((m) => m.by).join(', ')}`);
  }
  return { problems, refs, made, addons, platform };
}

describe.each(['dev', 'prod'] as const)('the first sync of %s completes', (name) => {
  const plan = syncPlan(environment(name));

  it('every reference is created in the same or an earlier wave (a CRD in an earlier one)', () => {
    expect(plan.problems).toEqual([]);
    // It read what it should: pods' secrets, the add-ons' values, the stores' service accounts, custom kinds.
    expect(plan.refs.length).toBeGreaterThan(60);
    for (const k of ['Secret/ai-eval/llm-keys', 'Secret/monitoring/grafana-clickhouse', 'StorageClass/gp3', 'CRD/ScaledObject', 'CRD/ExternalSecret', `ServiceAccount/${'external-secrets'}/external-secrets`]) {
      expect([k, plan.refs.some((r) => r.key === k)]).toEqual([k, true]);
    }
  });

  it('custom resources synced by the root Application before their CRD exists skip the dry run', () => {
    const early = plan.addons.filter((o) => !['Application', 'StorageClass', 'Namespace', 'ServiceAccount'].includes(o.kind));
    for (const o of early) expect([o.kind, o.metadata.annotations?.['argocd.argoproj.io/sync-options']]).toEqual([o.kind, 'SkipDryRunOnMissingResource=true']);
  });
});

test('the check is real: the layout before this fix stalls, and the finding names both ends', () => {
  const env = environment('prod');
  const files = synthesized(env);
  const plan = planOf(files);
  const grafana = plan.refs.find((r) => r.key === 'Secret/monitoring/grafana-clickhouse')!;
  expect(grafana.from).toBe('Application/kube-prometheus-stack (chart kube-prometheus-stack, wave -20) values: grafana.envFromSecret');
  // Grafana's secret objects back in the platform's Application (wave 0), the platform's Namespace in wave 0:
  const moved = files.addons.filter((o) => o.metadata?.labels?.['app.kubernetes.io/name'] === 'grafana-clickhouse');
  expect(moved.map((o) => o.kind).sort()).toEqual(['ClusterSecretStore', 'ExternalSecret', 'Namespace', 'ServiceAccount']);
  const namespace = files.platform.find((o) => o.kind === 'Namespace')!;
  delete namespace.metadata.annotations;
  const before = planOf({
    root: files.root,
    addons: files.addons.filter((o) => !moved.includes(o)),
    platform: [...files.platform, ...moved.filter((o) => o.kind !== 'Namespace').map((o) => ({ ...o, metadata: { ...o.metadata, annotations: { 'argocd.argoproj.io/sync-wave': '-2' } } }))],
  });
  expect(before.problems).toEqual(
    expect.arrayContaining([
      'Application/kube-prometheus-stack (chart kube-prometheus-stack, wave -20) values: grafana.envFromSecret needs Secret/monitoring/grafana-clickhouse, created later by ExternalSecret/monitoring/grafana-clickhouse (platform.k8s.yaml, wave 0/1/-2)',
      'ExternalSecret/ai-eval/llm-keys (platform.k8s.yaml, wave 0/1/-2) needs Namespace/ai-eval, created later by Namespace/ai-eval (platform.k8s.yaml, wave 0/1/0)',
    ]),
  );
  // A reference to something nothing creates is named too.
  const fresh = synthesized(env);
  const orphan = planOf({ ...fresh, platform: [...fresh.platform, { kind: 'Deployment', metadata: { name: 'x', namespace: env.kubernetes.namespace }, spec: { template: { spec: { containers: [{ envFrom: [{ secretRef: { name: 'nowhere' } }, { secretRef: { name: 'maybe', optional: true } }] }] } } } }] });
  expect(orphan.problems).toEqual([`Deployment/ai-eval/x (platform.k8s.yaml, wave 0/1/0) needs Secret/ai-eval/nowhere, which nothing in the sync creates`]);
});
