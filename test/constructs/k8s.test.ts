import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Chart, Testing } from 'cdk8s';
import { ClusterAddonsChart, GitopsChart, PlatformChart, PlatformWorkload } from '@ai-eval-platform/constructs/k8s';
import { ADDON_CHARTS } from '@ai-eval-platform/constructs';
import { environment } from '../support/environments';

type Obj = Record<string, any>; // manifests are untyped JSON

function objects(name: 'dev' | 'prod'): Obj[] {
  const env = environment(name);
  return [
    ...Testing.synth(new PlatformChart(Testing.app(), 'platform', { env })),
    ...Testing.synth(new ClusterAddonsChart(Testing.app(), 'cluster-addons', { env })),
    ...Testing.synth(new GitopsChart(Testing.app(), 'gitops', { env })),
  ];
}
/** Sync wave of each Application, by name. */
const waves = (objs: Obj[]): Record<string, number> =>
  Object.fromEntries(
    objs.filter((o) => o.kind === 'Application' && o.metadata.annotations).map((o) => [o.metadata.name, Number(o.metadata.annotations['argocd.argoproj.io/sync-wave'])]),
  );
const find = (objs: Obj[], kind: string, name: string) => objs.find((o) => o.kind === kind && o.metadata.name === name)!;
const containers = (o: Obj): Obj[] => o.spec.template.spec.containers;

function validate(objs: Obj[]): { validated: string[]; errors: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'k8s-validate-'));
  try {
    const file = join(dir, 'objects.yaml');
    writeFileSync(file, objs.map((o) => JSON.stringify(o)).join('\n---\n'));
    const out = execFileSync(process.execPath, [join(__dirname, '../support/validate-manifests.mjs'), file], { encoding: 'utf8' });
    return JSON.parse(out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe.each(['dev', 'prod'] as const)('Kubernetes manifests (%s)', (name) => {
  const objs = objects(name);
  const env = environment(name);

  it('validates every object against the Kubernetes and upstream CRD schemas', () => {
    const { validated, errors } = validate(objs);
    expect(errors).toEqual([]);
    expect(validated).toHaveLength(objs.length);
    expect(validated).toEqual(expect.arrayContaining([
      'keda.sh/v1alpha1/ScaledObject/worker',
      'external-secrets.io/v1/ExternalSecret/llm-keys',
      'external-secrets.io/v1/ClusterSecretStore/aws-secrets-manager',
      `argoproj.io/v1alpha1/Application/ai-eval-platform-${name}`,
      `argoproj.io/v1alpha1/Application/ai-eval-platform-${name}-root`,
      'argoproj.io/v1alpha1/Application/cluster-autoscaler',
      'cert-manager.io/v1/ClusterIssuer/letsencrypt',
      'external-secrets.io/v1/ClusterSecretStore/grafana-clickhouse',
    ]));
  });

  it('gives every container requests and limits, and the namespace a quota and limit range', () => {
    const workloads = objs.filter((o) => ['Deployment', 'Job'].includes(o.kind));
    expect(workloads.map((o) => o.metadata.name).sort()).toEqual(['migrations', 'orchestrator', 'worker']);
    for (const w of workloads) {
      for (const c of containers(w)) {
        expect(Object.keys(c.resources.requests).sort()).toEqual(['cpu', 'memory']);
        expect(Object.keys(c.resources.limits).sort()).toEqual(['cpu', 'memory']);
        expect(c.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true });
      }
    }
    expect(find(objs, 'ResourceQuota', 'platform-quota').metadata.namespace).toBe('ai-eval');
    expect(find(objs, 'LimitRange', 'platform-limits')).toBeDefined();
  });

  it('caps each Node container’s heap at three quarters of its memory limit, and Node takes the cap', () => {
    const workloads = objs.filter((o) => ['Deployment', 'Job'].includes(o.kind));
    for (const w of workloads) {
      const [c] = containers(w);
      const limitMiB = Number(/^(\d+)Mi$/.exec(c.resources.limits.memory)![1]);
      const nodeOptions = c.env.find((e: Obj) => e.name === 'NODE_OPTIONS')?.value;
      expect({ workload: w.metadata.name, nodeOptions }).toEqual({ workload: w.metadata.name, nodeOptions: `--max-old-space-size=${Math.floor(limitMiB * 0.75)}` });
      // Node itself reads the option: its heap limit is the cap plus the young generation (48 MiB), under the
      // container's limit with room for what lives outside the heap.
      const heapLimitMiB = Number(execFileSync(process.execPath, ['-p', 'v8.getHeapStatistics().heap_size_limit'], { env: { PATH: process.env.PATH, NODE_OPTIONS: nodeOptions }, encoding: 'utf8' })) / 2 ** 20;
      expect(heapLimitMiB).toBeGreaterThanOrEqual(limitMiB * 0.75);
      expect(heapLimitMiB).toBeLessThanOrEqual(limitMiB * 0.75 + 48);
      expect(heapLimitMiB).toBeLessThan(limitMiB * 0.95);
    }
  });

  it('lets KEDA alone own the worker replica count, on the bee-queue waiting list with CPU second', () => {
    const worker = find(objs, 'Deployment', 'worker');
    expect(worker.spec.replicas).toBeUndefined();
    expect(objs.filter((o) => o.kind === 'HorizontalPodAutoscaler')).toHaveLength(0);
    const scaled = find(objs, 'ScaledObject', 'worker');
    expect(scaled.spec.scaleTargetRef.name).toBe('worker');
    expect(scaled.spec.minReplicaCount).toBe(env.worker.minReplicas);
    expect(scaled.spec.maxReplicaCount).toBe(env.worker.maxReplicas);
    expect(scaled.spec.triggers.map((t: Obj) => t.type)).toEqual(['redis', 'cpu']);
    expect(scaled.spec.triggers[0].metadata.listName).toBe('bq:eval-cases:waiting');
    expect(find(objs, 'Deployment', 'orchestrator').spec.replicas).toBe(env.orchestrator.replicas);
  });

  it('puts workers on the SPOT pool, tolerating its taint, with the LLM retry policy', () => {
    const spec = find(objs, 'Deployment', 'worker').spec.template.spec;
    expect(spec.tolerations).toEqual([{ key: 'ai-eval-platform/workers', operator: 'Equal', value: 'true', effect: 'NoSchedule' }]);
    expect(spec.nodeSelector).toEqual({ 'ai-eval-platform/pool': 'workers' });
    const env = Object.fromEntries(spec.containers[0].env.map((e: Obj) => [e.name, e.value]));
    expect(env).toMatchObject({ LLM_RETRY_MAX_ATTEMPTS: '5', LLM_RETRY_AFTER_CAP_MS: '60000', QUEUE_NAME: 'eval-cases' });
    expect(find(objs, 'Deployment', 'orchestrator').spec.template.spec.tolerations).toBeUndefined();
  });

  it('syncs llm-keys from Secrets Manager and exposes it as environment variables, with no secret value', () => {
    const llm = find(objs, 'ExternalSecret', 'llm-keys');
    expect(llm.spec.dataFrom).toEqual([{ extract: { key: `${name}/eval-platform/llm-keys` } }]);
    expect(llm.spec.target.name).toBe('llm-keys');
    for (const workload of ['orchestrator', 'worker']) {
      expect(containers(find(objs, 'Deployment', workload))[0].envFrom).toContainEqual({ secretRef: { name: 'llm-keys' } });
    }
    expect(objs.filter((o) => o.kind === 'Secret')).toHaveLength(0);
    expect(find(objs, 'ServiceAccount', 'worker').metadata.annotations['eks.amazonaws.com/role-arn'])
      .toBe(`arn:aws:iam::${env.accountId}:role/ai-eval-platform-${name}-worker`);
  });

  it('migrates before the orchestrator serves, and Argo CD syncs the environment folder automatically', () => {
    const job = find(objs, 'Job', 'migrations');
    expect(job.metadata.annotations).toMatchObject({ 'argocd.argoproj.io/hook': 'Sync', 'argocd.argoproj.io/sync-wave': '-1' });
    expect(find(objs, 'ExternalSecret', 'postgres-credentials').metadata.annotations['argocd.argoproj.io/sync-wave']).toBe('-2');
    const app = find(objs, 'Application', `ai-eval-platform-${name}`);
    expect(app.spec.source).toMatchObject({ path: `dist/${name}`, directory: { include: 'platform.k8s.yaml' } });
    expect(app.spec.syncPolicy.automated).toEqual({ prune: true, selfHeal: true, allowEmpty: false });
    // The root Application (applied once) syncs the app of apps; the platform comes last in it.
    const root = find(objs, 'Application', `ai-eval-platform-${name}-root`);
    expect(root.spec.source).toMatchObject({ path: `dist/${name}`, directory: { include: 'cluster-addons.k8s.yaml' } });
    const wave = waves(objs);
    for (const operator of ['external-secrets', 'keda', 'kube-prometheus-stack', 'cert-manager']) expect(wave[operator]).toBeLessThan(wave[`ai-eval-platform-${name}`]);
    expect(wave['argo-cd']).toBeLessThan(wave['external-secrets']);
  });

  it('installs every add-on from its pinned chart, configured from the environment', () => {
    const apps = objs.filter((o) => o.kind === 'Application' && o.spec.source.chart);
    expect(apps.map((a) => a.spec.source.chart).sort()).toEqual(Object.values(ADDON_CHARTS).map((c) => c.chart).sort());
    for (const app of apps) {
      const pinned = Object.values(ADDON_CHARTS).find((c) => c.chart === app.spec.source.chart)!;
      expect(app.spec.source).toMatchObject({ repoURL: pinned.repoUrl, targetRevision: pinned.version });
      expect(app.spec.source.targetRevision).toMatch(/^v?\d+\.\d+\.\d+$/);
      expect(app.spec.syncPolicy.syncOptions).toEqual(expect.arrayContaining(['ServerSideApply=true', 'CreateNamespace=true']));
    }
    const values = (chart: string) => apps.find((a) => a.spec.source.chart === chart)!.spec.source.helm.valuesObject;
    expect(values('cluster-autoscaler')).toMatchObject({
      autoDiscovery: { clusterName: `ai-eval-platform-${name}` },
      awsRegion: 'eu-west-1',
      image: { tag: 'v1.33.0' },
      rbac: { serviceAccount: { annotations: { 'eks.amazonaws.com/role-arn': `arn:aws:iam::${env.accountId}:role/ai-eval-platform-${name}-cluster-autoscaler` } } },
      extraArgs: { 'max-nodes-total': 13 },
    });
    expect(values('external-secrets').serviceAccount.annotations['eks.amazonaws.com/role-arn']).toBe(`arn:aws:iam::${env.accountId}:role/ai-eval-platform-${name}-external-secrets`);
    // Grafana queries the ClickHouse the dashboards were written for, with the password from its own store.
    const grafana = values('kube-prometheus-stack').grafana;
    expect(grafana.plugins).toEqual(['grafana-clickhouse-datasource']);
    expect(grafana.additionalDataSources[0]).toMatchObject({ uid: 'clickhouse', jsonData: { host: 'clickhouse.eval.internal', port: 8123, defaultDatabase: 'evals' } });
    expect(grafana.envFromSecret).toBe('grafana-clickhouse');
    expect(find(objs, 'ExternalSecret', 'grafana-clickhouse').metadata.namespace).toBe('monitoring');
    expect(find(objs, 'ClusterSecretStore', 'grafana-clickhouse').spec.conditions).toEqual([{ namespaces: ['monitoring'] }]);
    expect(find(objs, 'ClusterSecretStore', 'aws-secrets-manager').spec.conditions).toEqual([{ namespaces: ['ai-eval'] }]);
    expect(values('traefik').ingressClass.name).toBe('traefik');
    const argo = values('argo-cd');
    expect(argo.configs.cm['resource.customizations.health.argoproj.io_Application']).toContain('obj.status.health.status');
    expect(argo.createAggregateRoles).toBe(true);
    // Deleting Argo CD's own Application must not delete Argo CD; every other Application cascades.
    expect(find(objs, 'Application', 'argo-cd').metadata.finalizers).toBeUndefined();
    expect(find(objs, 'Application', 'keda').metadata.finalizers).toEqual(['resources-finalizer.argocd.argoproj.io']);
    // Prometheus's volume asks for a class that exists, synced before the add-ons.
    const storage = find(objs, 'StorageClass', 'gp3');
    expect(storage).toMatchObject({ provisioner: 'ebs.csi.aws.com', parameters: { type: 'gp3', encrypted: 'true' } });
    expect(Number(storage.metadata.annotations['argocd.argoproj.io/sync-wave'])).toBeLessThan(waves(objs)['argo-cd']);
    expect(values('kube-prometheus-stack').prometheus.prometheusSpec.storageSpec.volumeClaimTemplate.spec.storageClassName).toBe('gp3');
  });

  it('routes only the API and the viewer through the Ingress, with a certificate from cert-manager', () => {
    const ingress = find(objs, 'Ingress', 'orchestrator');
    expect(ingress.spec.rules[0].http.paths.map((p: Obj) => [p.path, p.pathType])).toEqual([['/v1', 'Prefix'], ['/openapi.json', 'Exact'], ['/ui', 'Prefix']]);
    expect(ingress.metadata.annotations['cert-manager.io/cluster-issuer']).toBe('letsencrypt');
    expect(ingress.spec.tls[0].secretName).toBe('orchestrator-tls');
    expect(find(objs, 'ClusterIssuer', 'letsencrypt').spec.acme).toMatchObject({
      email: 'platform-team@example.com',
      solvers: [{ http01: { ingress: { ingressClassName: 'traefik' } } }],
    });
  });

  it('denies all traffic by default and opens only the brief flows', () => {
    const policies = objs.filter((o) => o.kind === 'NetworkPolicy');
    expect(find(objs, 'NetworkPolicy', 'default-deny').spec).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
    const fromIngress = find(objs, 'NetworkPolicy', 'orchestrator-from-ingress').spec.ingress[0];
    expect(fromIngress.from[0].namespaceSelector.matchLabels['kubernetes.io/metadata.name']).toBe('traefik');
    // cert-manager's HTTP-01 solver pods answer the ingress controller (default deny would block the challenge).
    expect(find(objs, 'NetworkPolicy', 'acme-solver-from-ingress').spec).toMatchObject({
      podSelector: { matchLabels: { 'acme.cert-manager.io/http01-solver': 'true' } },
      ingress: [{ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'traefik' } } }], ports: [{ port: 8089 }] }],
    });
    const workerEgress = find(objs, 'NetworkPolicy', 'worker-egress').spec.egress;
    expect(workerEgress[1]).toMatchObject({ ports: [{ protocol: 'TCP', port: 443 }] });
    expect(policies.some((p) => p.metadata.name.startsWith('worker') && p.spec.ingress)).toBe(false);
  });
});

describe('schema validation catches a broken object', () => {
  it('reports a Deployment whose replicas is not a number', () => {
    const broken = structuredClone(find(objects('dev'), 'Deployment', 'orchestrator'));
    broken.spec.replicas = 'two';
    const { errors } = validate([broken]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/Deployment\/orchestrator.*replicas/s);
  });
});

describe('a workload’s own NODE_OPTIONS', () => {
  it('comes after the heap cap, so an option it gives wins and the cap stays', () => {
    const chart = new Chart(Testing.app(), 'own-options');
    new PlatformWorkload(chart, 'svc', {
      name: 'svc',
      namespace: 'ns',
      image: 'registry.example/svc:1.0.0',
      port: 8080,
      roleArn: 'arn:aws:iam::123456789012:role/svc',
      resources: { cpuRequestMilli: 100, cpuLimitMilli: 200, memoryRequestMiB: 256, memoryLimitMiB: 1024 },
      env: { NODE_OPTIONS: '--enable-source-maps', LOG_LEVEL: 'info' },
    });
    const [container] = containers(find(Testing.synth(chart), 'Deployment', 'svc'));
    expect(container.env).toEqual([
      { name: 'NODE_OPTIONS', value: '--max-old-space-size=768 --enable-source-maps' },
      { name: 'LOG_LEVEL', value: 'info' },
    ]);
  });
});

describe('construct errors', () => {
  it('refuses a worker that could scale to zero with a CPU trigger', () => {
    const env = { ...environment('dev'), worker: { ...environment('dev').worker, minReplicas: 0 } };
    expect(() => new PlatformChart(new App(), 'platform', { env })).toThrow('worker: minReplicas (0) must be >= 1');
  });
});
