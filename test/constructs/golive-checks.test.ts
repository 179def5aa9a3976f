import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { checkSynthesized, findSecrets, formatReports, loadManifests, readManifestFiles, scanTreeForSecrets, LLM_RETRY_ENV, waitingListOf, type CheckResult } from '@ai-eval-platform/constructs';

/**
 * The go-live checks one at a time, each on the smallest output that reaches the case in question: the kinds of
 * object each check reads and those it must not mistake for them, lists of several where one is enough, fields
 * left out, and the report's layout. (golive-findings.test.ts breaks a passing production output one finding at
 * a time; golive.test.ts runs the checks on the repository's real synthesized output.)
 */

type Obj = Record<string, any>; // manifests and Terraform are untyped JSON

const TF = 'cdk.tf.json';
const MANIFESTS = 'platform.k8s.yaml';
const NS = 'ai-eval';
const QUEUE = waitingListOf('eval-cases');
const resources = { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '1', memory: '1Gi' } };

function run(objects: Obj[], tf: Obj = {}, production = true): Record<string, CheckResult> {
  const report = checkSynthesized({
    name: 'prod',
    production,
    terraform: { path: TF, text: JSON.stringify(tf) },
    manifests: [{ path: MANIFESTS, text: objects.map((o) => stringify(o)).join('---\n') }],
  });
  return Object.fromEntries(report.checks.map((c) => [c.id, c]));
}
const findings = (id: string, objects: Obj[], tf: Obj = {}) => run(objects, tf)[id].findings;
const worker = (extra: Obj = {}): Obj => ({
  kind: 'Deployment',
  metadata: { name: 'worker', namespace: NS, labels: { 'app.kubernetes.io/name': 'worker' } },
  spec: { template: { spec: { containers: [{ name: 'worker', image: 'w:1', resources }] } }, ...extra },
});
const scaledObject = (target: Obj, triggers: unknown, name = 'scaler'): Obj => ({ kind: 'ScaledObject', metadata: { name, namespace: NS }, spec: { scaleTargetRef: target, triggers } });
const queueTrigger = { type: 'redis', metadata: { listName: QUEUE } };

test('every check, its id and its title, as the report prints them', () => {
  const titles = (production: boolean) => Object.values(run([], {}, production)).map((c) => `${c.id} ${c.title}`);
  expect(titles(true)).toEqual([
    '1 Resource quotas: requests and limits on every container; namespace quota',
    '2 Autoscaling: workers scale on queue depth; no fixed replicas under an autoscaler',
    '3 Rate limiting: backoff/retry policy configured for LLM calls',
    '4 Alerting: every alert, queue lag included, routed to Slack',
    '5 Backup: automated backups for RDS and S3',
    'secrets Secrets: no secret value in the synthesized output',
    'images Images: a released tag with its digest',
    'nodes Node autoscaling: a node autoscaler over every node group, with its IAM role',
    'netpol Network policies: enforced by the VPC CNI, default deny in the namespace',
    'access Cluster access: admin access entries; no API endpoint open to the internet in production',
    'online Online evaluation: OTLP behind the Ingress TLS, span limits and retention set, the quality alert routed',
  ]);
  expect(titles(false)[6]).toBe('images Images: a released tag, never latest');
});

test('1: a namespace this output runs pods in needs its quota and limit range; one it only creates for a chart does not', () => {
  const ns = (name: string) => ({ kind: 'Namespace', metadata: { name } });
  const quota = (kind: string, namespace: string) => ({ kind, metadata: { name: kind.toLowerCase(), namespace } });
  expect(findings('1', [ns(NS), ns('monitoring'), worker(), quota('ResourceQuota', NS), quota('LimitRange', NS), { kind: 'ExternalSecret', metadata: { name: 's', namespace: 'monitoring' } }])).toEqual([]);
  expect(findings('1', [ns(NS), ns('monitoring'), worker(), { ...worker(), metadata: { name: 'g', namespace: 'monitoring' } }, quota('ResourceQuota', NS), quota('LimitRange', NS)])).toEqual([
    'namespace monitoring has no ResourceQuota',
    'namespace monitoring has no LimitRange',
  ]);
});

describe('1: every container of every kind of workload', () => {
  const bare = { name: 'c', image: 'x:1' };
  test.each<[string, Obj]>([
    ['Deployment', { template: { spec: { containers: [bare] } } }],
    ['StatefulSet', { template: { spec: { containers: [bare] } } }],
    ['DaemonSet', { template: { spec: { containers: [bare] } } }],
    ['ReplicaSet', { template: { spec: { containers: [bare] } } }],
    ['ReplicationController', { template: { spec: { containers: [bare] } } }],
    ['Rollout', { template: { spec: { containers: [bare] } } }],
    ['Job', { template: { spec: { containers: [bare] } } }],
    ['CronJob', { jobTemplate: { spec: { template: { spec: { containers: [bare] } } } } }],
    ['Pod', { containers: [bare] }],
  ])('a %s container without resources is named', (kind, spec) => {
    expect(findings('1', [{ kind, metadata: { name: 'w', namespace: NS }, spec }])).toEqual([
      ...['cpu requests', 'memory requests', 'cpu limits', 'memory limits'].map((what) => `${kind}/w (${MANIFESTS}#0): container c has no ${what}`),
      'no Namespace object: quotas cannot be checked',
    ]);
  });

  test('objects that run no pod are not read as workloads; a workload without a name is still named', () => {
    const objects = [
      { kind: 'ApplicationSet', metadata: { name: 'apps' }, spec: { template: { spec: { project: 'default' } } } },
      { kind: 'Service', metadata: { name: 'worker' }, spec: { ports: [{ port: 80 }] } },
      { kind: 'Deployment', spec: { template: { spec: { initContainers: [{ name: 'init', resources }] } } } },
      { kind: 'Deployment', metadata: { name: 'nameless-spec' } },
      { kind: 'Job', metadata: {}, spec: { template: { spec: { containers: [{ name: 'c', resources: { requests: resources.requests } }] } } } },
    ];
    expect(findings('1', objects)).toEqual([
      `Job/? (${MANIFESTS}#4): container c has no cpu limits`,
      `Job/? (${MANIFESTS}#4): container c has no memory limits`,
      'no Namespace object: quotas cannot be checked',
    ]);
  });
});

describe('2: what counts as the worker’s autoscaler', () => {
  test('the worker is a Deployment: its Service, labelled alike, is neither scaled nor given the retry settings', () => {
    const service = { kind: 'Service', metadata: { name: 'worker-metrics', namespace: NS, labels: { 'app.kubernetes.io/name': 'worker' } }, spec: { ports: [{ port: 80 }] } };
    const checks = run([service, worker(), scaledObject({ name: 'worker' }, [queueTrigger])]);
    expect(checks['2'].findings).toEqual([]);
    expect(checks['3'].findings).toEqual(Object.values(LLM_RETRY_ENV).map((name) => `Deployment/worker (${MANIFESTS}#1): container worker lacks ${name}`));
  });

  test('only a ScaledObject or a HorizontalPodAutoscaler: another object with a scaleTargetRef is not one', () => {
    const podAutoscaler = { kind: 'PodAutoscaler', metadata: { name: 'kpa', namespace: NS }, spec: { scaleTargetRef: { name: 'worker' }, triggers: [queueTrigger] } };
    expect(findings('2', [worker(), podAutoscaler])).toEqual([`Deployment/worker (${MANIFESTS}#0): no ScaledObject or HorizontalPodAutoscaler targets it`]);
  });

  test('the queue trigger must be a ScaledObject’s, on the worker: an HPA’s triggers or another Deployment’s ScaledObject do not count', () => {
    const hpa = { kind: 'HorizontalPodAutoscaler', metadata: { name: 'cpu', namespace: NS }, spec: { scaleTargetRef: { kind: 'Deployment', name: 'worker' }, triggers: [queueTrigger] } };
    const orchestrator = { kind: 'Deployment', metadata: { name: 'orchestrator', namespace: NS, labels: { 'app.kubernetes.io/name': 'orchestrator' } } };
    expect(findings('2', [worker(), hpa, orchestrator, scaledObject({ name: 'orchestrator' }, [queueTrigger])])).toEqual([
      `Deployment/worker (${MANIFESTS}#0): no autoscaler trigger on the queue's waiting list`,
    ]);
  });

  test('one queue trigger among others is enough; a trigger of another type on the same list is not one', () => {
    expect(findings('2', [worker(), scaledObject({ name: 'worker' }, [{ type: 'cpu', metadata: { value: '80' } }, queueTrigger])])).toEqual([]);
    expect(findings('2', [worker(), scaledObject({ name: 'worker' }, [{ type: 'redis-streams', metadata: { listName: QUEUE } }])])).toEqual([expect.stringMatching(/no autoscaler trigger on the queue's waiting list$/)]);
    expect(findings('2', [worker(), scaledObject({ name: 'worker' }, [{ type: 'redis', metadata: {} }])])).toEqual([expect.stringMatching(/no autoscaler trigger on the queue's waiting list$/)]);
  });

  test('a ScaledObject with no target or triggers that are not a list is read, not a crash', () => {
    const broken = [{ kind: 'ScaledObject', metadata: { name: 'a', namespace: NS }, spec: {} }, scaledObject({ name: 'other' }, { type: 'redis' }, 'b')];
    expect(findings('2', [worker(), ...broken])).toEqual([`Deployment/worker (${MANIFESTS}#0): no ScaledObject or HorizontalPodAutoscaler targets it`]);
  });

  test('fixed replicas are those of the Deployment the autoscaler targets: its kind, name and namespace', () => {
    const service = { kind: 'Service', metadata: { name: 'worker', namespace: NS }, spec: { ports: [{ port: 80 }] } };
    const elsewhere = { ...worker(), metadata: { name: 'worker', namespace: 'other' } };
    expect(findings('2', [service, elsewhere, worker({ replicas: 3 }), scaledObject({ name: 'worker' }, [queueTrigger])])).toEqual([`Deployment/worker (${MANIFESTS}#2): sets replicas (3) although an autoscaler owns it`]);
    // A ScaledObject on a StatefulSet named worker neither scales nor owns the Deployment named worker.
    expect(findings('2', [worker({ replicas: 3 }), scaledObject({ kind: 'StatefulSet', name: 'worker' }, [queueTrigger])])).toEqual([`Deployment/worker (${MANIFESTS}#0): no ScaledObject or HorizontalPodAutoscaler targets it`]);
  });
});

test('3: two attempts are one retry, enough', () => {
  const env = Object.values(LLM_RETRY_ENV).map((name) => ({ name, value: name === LLM_RETRY_ENV.maxAttempts ? '2' : '1000' }));
  const w = worker();
  w.spec.template.spec.containers[0].env = env;
  expect(findings('3', [w])).toEqual([]);
});

describe('4: alerting', () => {
  const rule = (alert: string, expr: string, labels: Obj = { namespace: NS }) => ({ alert, expr, labels });
  const rules = (...list: Obj[]) => ({ kind: 'PrometheusRule', metadata: { name: 'r', namespace: NS, labels: { release: 'kps' } }, spec: { groups: [{ name: 'g', rules: list }] } });
  const alertmanager = (route: Obj, ...receivers: Obj[]) => ({ kind: 'AlertmanagerConfig', metadata: { name: 'am', namespace: NS, labels: { release: 'kps' } }, spec: { route, receivers } });
  const slack = { name: 'slack', slackConfigs: [{ channel: '#evals' }] };
  const mail = { name: 'mail', emailConfigs: [{ to: 'a@b.c' }] };
  const stack = (alertmanagerSpec: Obj, prometheusSpec: Obj = {}) => ({
    kind: 'Application',
    metadata: { name: 'kube-prometheus-stack', namespace: 'argocd' },
    spec: { source: { chart: 'kube-prometheus-stack', helm: { valuesObject: { alertmanager: { alertmanagerSpec }, prometheus: { prometheusSpec } } } } },
  });
  const queue = rule('EvalQueueLag', 'eval_queue_oldest_waiting_seconds > 300');
  const unrouted = (alert: string, labels: Obj, needs: string) => `PrometheusRule/r (${MANIFESTS}#0): alert ${alert} carries ${JSON.stringify({ ...labels, alertname: alert })} and reaches no Slack receiver (${needs})`;

  test('one queue alert among others, routed to the Slack receiver among others: a pass', () => {
    expect(run([rules(rule('HighErrorRate', 'rate(errors[5m]) > 1'), queue), alertmanager({ receiver: 'slack' }, mail, slack)])['4']).toMatchObject({ status: 'pass', findings: [] });
  });

  test('an AlertmanagerConfig without any rule is a failure, not pending; nothing at all is pending', () => {
    expect(run([alertmanager({ receiver: 'slack' }, slack)])['4']).toMatchObject({ status: 'fail', findings: ['no alert rule on queue lag'] });
    expect(run([rules(queue)])['4']).toMatchObject({ status: 'fail', findings: ['no AlertmanagerConfig route to a receiver with a Slack configuration'] });
    expect(run([])['4'].status).toBe('pending');
  });

  test('under OnNamespace (the operator’s default) an alert needs the config’s namespace among its static labels', () => {
    const bare = rule('EvalQueueLag', 'max(eval_queue_jobs) > 1', { team: 't' });
    expect(findings('4', [rules(bare), alertmanager({ receiver: 'slack' }, slack)])).toEqual([unrouted('EvalQueueLag', { team: 't' }, `OnNamespace routes need am: namespace="${NS}"`)]);
    // Another namespace is not this one.
    expect(findings('4', [rules(rule('EvalQueueLag', 'x', { namespace: 'other' })), alertmanager({ receiver: 'slack' }, slack)])).toHaveLength(1);
    // With the strategy None the operator adds no matcher, and the same alert is routed.
    expect(findings('4', [stack({ alertmanagerConfigMatcherStrategy: { type: 'None' } }), rules(bare), alertmanager({ receiver: 'slack' }, slack)])).toEqual([]);
    expect(findings('4', [stack({ alertmanagerConfigMatcherStrategy: { type: 'OnNamespace' } }), rules(bare), alertmanager({ receiver: 'slack' }, slack)])).toHaveLength(1);
  });

  test('the route’s matchers, each match type, against the alert’s labels (a missing label is empty)', () => {
    const route = (matchers: Obj[]) => alertmanager({ receiver: 'slack', matchers }, slack);
    const labelled = rules(rule('EvalQueueLag', 'x', { namespace: NS, team: 'evals', severity: 'warning' }));
    const passes = (matchers: Obj[]) => findings('4', [labelled, route(matchers)]).length === 0;
    expect(passes([{ name: 'team', value: 'evals' }])).toBe(true);
    expect(passes([{ name: 'team', value: 'evals', matchType: '=' }])).toBe(true);
    expect(passes([{ name: 'team', value: 'eval', matchType: '=' }])).toBe(false);
    expect(passes([{ name: 'team', value: 'ops', matchType: '!=' }])).toBe(true);
    expect(passes([{ name: 'team', value: 'evals', matchType: '!=' }])).toBe(false);
    expect(passes([{ name: 'severity', value: 'warning|critical', matchType: '=~' }])).toBe(true);
    expect(passes([{ name: 'severity', value: 'warn', matchType: '=~' }])).toBe(false);
    expect(passes([{ name: 'severity', value: 'info|debug', matchType: '!~' }])).toBe(true);
    expect(passes([{ name: 'severity', value: 'warn.*', matchType: '!~' }])).toBe(false);
    expect(passes([{ name: 'severity', value: 'ing', matchType: '!~' }])).toBe(true);
    expect(passes([{ name: 'owner', value: '', matchType: '=' }])).toBe(true);
    expect(passes([{ name: 'owner', value: '.+', matchType: '=~' }])).toBe(false);
    expect(passes([{ value: '' }])).toBe(false);
    expect(passes([{ name: 'team' }])).toBe(false);
    expect(passes([{ name: 'owner' }])).toBe(true);
    // `!=` compares text; a value with regular-expression characters is not a pattern there.
    expect(passes([{ name: 'team', value: 'eval.', matchType: '!=' }])).toBe(true);
    expect(passes([{ name: 'team', value: 'eval.', matchType: '=' }])).toBe(false);
    // The finding names the matchers of every Slack route, as Alertmanager writes them.
    expect(findings('4', [labelled, route([{ name: 'team', value: 'ops', matchType: '=~' }])])).toEqual([
      unrouted('EvalQueueLag', { namespace: NS, team: 'evals', severity: 'warning' }, `OnNamespace routes need am: namespace="${NS}", team=~"ops"`),
    ]);
  });

  test('kube-prometheus-stack values without the Prometheus or Alertmanager sections: everything selected, OnNamespace', () => {
    const bare = rule('EvalQueueLag', 'x', { team: 't' });
    for (const valuesObject of [{}, { prometheus: {}, alertmanager: {} }]) {
      const app = { kind: 'Application', metadata: { name: 'kps' }, spec: { source: { chart: 'kube-prometheus-stack', helm: { valuesObject } } } };
      expect(findings('4', [app, rules(queue), alertmanager({ receiver: 'slack' }, slack)])).toEqual([]);
      expect(findings('4', [app, rules(bare), alertmanager({ receiver: 'slack' }, slack)])).toHaveLength(1);
    }
  });

  test('a finding names every Slack route the alert missed, and no route that is not to Slack', () => {
    const second = { ...alertmanager({ receiver: 'slack', matchers: [{ name: 'team', value: 'ops' }] }, slack), metadata: { name: 'b', namespace: NS } };
    const mailOnly = { ...alertmanager({ receiver: 'mail' }, mail), metadata: { name: 'c', namespace: NS } };
    const bare = rule('EvalQueueLag', 'x', { team: 't' });
    expect(findings('4', [rules(bare), alertmanager({ receiver: 'slack' }, slack), second, mailOnly])).toEqual([
      unrouted('EvalQueueLag', { team: 't' }, `OnNamespace routes need am: namespace="${NS}"; b: namespace="${NS}", team="ops"`),
    ]);
  });

  test('only what kube-prometheus-stack selects counts: rules by ruleSelector, configs by alertmanagerConfigSelector', () => {
    const selecting = (labels: Obj, ruleLabels: Obj = { release: 'kps' }) => stack({ alertmanagerConfigSelector: { matchLabels: labels } }, { ruleSelector: { matchLabels: ruleLabels } });
    expect(findings('4', [selecting({ release: 'kps' }), rules(queue), alertmanager({ receiver: 'slack' }, slack)])).toEqual([]);
    expect(findings('4', [selecting({ release: 'other' }), rules(queue), alertmanager({ receiver: 'slack' }, slack)])).toEqual(['no AlertmanagerConfig route to a receiver with a Slack configuration']);
    expect(findings('4', [selecting({ release: 'kps' }, { release: 'other' }), rules(queue), alertmanager({ receiver: 'slack' }, slack)])).toEqual(['no alert rule on queue lag']);
  });

  test('a second config routes what the first does not; recording rules are not alerts', () => {
    const other = { ...alertmanager({ receiver: 'slack', matchers: [{ name: 'team', value: 'x' }] }, slack), metadata: { name: 'b', namespace: NS } };
    expect(findings('4', [rules(queue, { record: 'r', expr: 'sum(x)' }), other, alertmanager({ receiver: 'slack' }, slack)])).toEqual([]);
    // A route to the mail receiver beside a Slack one: the alert must reach the Slack one.
    expect(findings('4', [rules(queue), alertmanager({ receiver: 'mail' }, mail, slack)])).toEqual(['no AlertmanagerConfig route to a receiver with a Slack configuration']);
  });

  test('groups, rules, receivers and matchers that are not lists are read as none', () => {
    const odd = [
      { kind: 'PrometheusRule', metadata: { name: 'r' }, spec: { groups: { rules: [] } } },
      { kind: 'PrometheusRule', metadata: { name: 'g' }, spec: { groups: [{ name: 'g', rules: 'x' }] } },
      { kind: 'AlertmanagerConfig', metadata: { name: 'a' }, spec: { route: { receiver: 's', matchers: 'x' }, receivers: [{ name: 's', slackConfigs: 'x' }] } },
    ];
    expect(findings('4', odd)).toEqual(['no alert rule on queue lag', 'no AlertmanagerConfig route to a receiver with a Slack configuration']);
    const noSpec = { kind: 'AlertmanagerConfig', metadata: { name: 'a' } };
    expect(findings('4', [rules(queue), noSpec])).toEqual(['no AlertmanagerConfig route to a receiver with a Slack configuration']);
    const matchersOdd = { kind: 'AlertmanagerConfig', metadata: { name: 'a' }, spec: { route: { receiver: 's', matchers: 'x' }, receivers: [{ name: 's', slackConfigs: [{}] }] } };
    // No namespace on the config: its namespace matcher is empty, which an alert with a namespace never meets.
    expect(findings('4', [rules(queue), matchersOdd])).toHaveLength(1);
    expect(findings('4', [rules(rule('EvalQueueLag', 'x', {})), matchersOdd])).toEqual([]);
  });
});

test('5: a bucket in any one selection, among its resources, is backed up', () => {
  const tf = {
    resource: {
      aws_db_instance: { db: { backup_retention_period: 7 } },
      aws_s3_bucket: { artifacts: {} },
      aws_backup_plan: { plan: {} },
      aws_backup_selection: { rds: { resources: ['${aws_db_instance.db.arn}'] }, s3: { resources: ['${aws_s3_bucket.logs.arn}', '${aws_s3_bucket.artifacts.arn}'] } },
    },
  };
  expect(findings('5', [], tf)).toEqual([]);
  // A selection whose resources are not a list selects nothing.
  tf.resource.aws_backup_selection = { odd: { resources: '${aws_s3_bucket.artifacts.arn}' } } as any;
  expect(findings('5', [], tf)).toEqual([`${TF}: aws_s3_bucket.artifacts: not in an AWS Backup plan`]);
});

describe('nodes: the node autoscaler', () => {
  const application = (values: Obj, kind = 'Application') => ({ kind, metadata: { name: 'cluster-autoscaler', namespace: 'argocd' }, spec: { source: { chart: 'cluster-autoscaler', helm: { valuesObject: values } } } });
  const trust = (...values: string[]) => ({ statement: [{ condition: [{ variable: 'sub', values: ['system:serviceaccount:kube-system:aws-node'] }] }, { condition: [{ variable: 'aud', values: ['sts.amazonaws.com'] }, { variable: 'sub', values }] }] });
  const tf = (documents: Obj) => ({
    resource: { aws_eks_cluster: { a: { name: 'ai-eval-a' }, b: { name: 'ai-eval-b' } }, aws_eks_node_group: { bare: {}, workers: { scaling_config: { max_size: 5 } } } },
    data: { aws_iam_policy_document: documents },
  });
  const values = { autoDiscovery: { clusterName: 'ai-eval-b' }, rbac: { serviceAccount: { name: 'ca', annotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::1:role/ca' } } }, extraArgs: { 'max-nodes-total': 5 } };

  test('any cluster, any trust document, statement and condition that names its service account; a node group without scaling is 0 nodes', () => {
    expect(findings('nodes', [application(values)], tf({ other: trust('system:serviceaccount:x:y'), ca: trust('system:serviceaccount:kube-system:other', 'system:serviceaccount:kube-system:ca') }))).toEqual([]);
  });

  test('values left out are findings, not a crash; every cluster is listed', () => {
    expect(findings('nodes', [application({})], tf({}))).toEqual([
      'Application/cluster-autoscaler (platform.k8s.yaml#0): autoDiscovery.clusterName undefined is not the cluster (ai-eval-a, ai-eval-b)',
      'Application/cluster-autoscaler (platform.k8s.yaml#0): its service account has no IRSA role',
      `${TF}: no IAM role trusts system:serviceaccount:kube-system:undefined`,
    ]);
    expect(findings('nodes', [application({ ...values, rbac: { serviceAccount: { name: 'ca' } } })], tf({ ca: trust('system:serviceaccount:kube-system:ca') }))).toEqual([
      'Application/cluster-autoscaler (platform.k8s.yaml#0): its service account has no IRSA role',
    ]);
    expect(findings('nodes', [application({ ...values, rbac: {} })], tf({}))).toEqual([expect.stringMatching(/its service account has no IRSA role$/), `${TF}: no IAM role trusts system:serviceaccount:kube-system:undefined`]);
  });

  test('only an Argo CD Application installs the chart: the same spec in another kind installs nothing', () => {
    expect(findings('nodes', [application(values, 'ConfigMap')], tf({}))).toEqual(['no Argo CD Application installs the cluster-autoscaler chart: nothing adds nodes when workers scale out']);
  });
});

describe('netpol and access', () => {
  const cni = (configuration?: string) => ({ resource: { aws_eks_addon: { cni: { addon_name: 'vpc-cni', ...(configuration === undefined ? {} : { configuration_values: configuration }) } } } });
  const deny = (kind: string) => ({ kind, metadata: { name: 'deny', namespace: NS }, spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] } });

  test('a CNI add-on without configuration does not enforce policies (one finding, not a parse error)', () => {
    expect(findings('netpol', [deny('NetworkPolicy')], cni())).toEqual([`${TF}: aws_eks_addon.cni: enableNetworkPolicy is not "true": NetworkPolicies would be accepted and ignored`]);
    expect(findings('netpol', [deny('NetworkPolicy')], cni('{"enableNetworkPolicy":"true"}'))).toEqual([]);
  });

  test('the default deny must be a NetworkPolicy, which the VPC CNI enforces: another kind with its spec is none', () => {
    expect(findings('netpol', [deny('CiliumNetworkPolicy')], cni('{"enableNetworkPolicy":"true"}'))).toEqual(['no default-deny NetworkPolicy (empty podSelector, Ingress and Egress)']);
  });

  test('an access policy association without a scope is not a cluster admin; a cluster without access_config is not API mode', () => {
    const tf = { resource: { aws_eks_cluster: { c: { name: 'c' } }, aws_eks_access_policy_association: { admin: { policy_arn: 'arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy' } } } };
    expect(findings('access', [], tf)).toEqual([`${TF}: aws_eks_cluster.c: authentication mode is not API (access entries)`, `${TF}: no access entry with AmazonEKSClusterAdminPolicy: nobody can administer the cluster`]);
  });
});

describe('secrets', () => {
  test('a Secret with data or stringData is a finding; a Secret without either, or a ConfigMap with data, is not', () => {
    const objects = [
      { kind: 'ConfigMap', metadata: { name: 'settings' }, data: { mode: 'x' } },
      { kind: 'Secret', metadata: { name: 'token' }, type: 'kubernetes.io/service-account-token' },
      { kind: 'Secret', metadata: { name: 'leak' }, data: { password: 'eA==' } },
    ];
    expect(findings('secrets', objects)).toEqual([`Secret/leak (${MANIFESTS}#2): a Secret with a value in the output; use an ExternalSecret`]);
  });

  test('a PKCS#8 private key and an Anthropic key are found; a short sk-ant- prefix is not', () => {
    const pkcs8 = ['-----BEGIN', 'PRIVATE KEY-----'].join(' ');
    expect(findSecrets(`a\n${pkcs8}\nsk-ant-short\n`, 'f')).toEqual(['f:2: looks like a private key']);
  });

  test('the repository scan reads a file under 1 MiB and skips one of exactly 1 MiB', () => {
    const tree = mkdtempSync(join(tmpdir(), 'scan-edge-'));
    try {
      const line = `${['AKIA', 'ABCDEFGHIJKLMNOP'].join('')}\n`;
      writeFileSync(join(tree, 'exactly.txt'), line + 'x'.repeat(1024 * 1024 - line.length));
      writeFileSync(join(tree, 'under.txt'), line + 'x'.repeat(1024 * 1024 - line.length - 1));
      expect(scanTreeForSecrets(tree)).toEqual(['under.txt:1: looks like a AWS access key id']);
    } finally {
      rmSync(tree, { recursive: true, force: true });
    }
  });
});

describe('reading the output', () => {
  test('empty documents are skipped; each object is named by its file and document', () => {
    const objects = loadManifests([{ path: 'a.yaml', text: 'kind: A\n---\n---\nkind: B\n' }]);
    expect(objects).toEqual([{ kind: 'A', source: 'a.yaml#0' }, { kind: 'B', source: 'a.yaml#2' }]);
  });

  test('the folder’s .yaml and .yml files in name order; a backup or another file is not read', () => {
    const dir = mkdtempSync(join(tmpdir(), 'golive-order-'));
    try {
      for (const name of ['z.yaml', 'b.yml', 'a.yaml']) writeFileSync(join(dir, name), 'kind: ConfigMap\n');
      for (const other of ['notes.yaml.bak', 'x.yml~', 'readme.md']) writeFileSync(join(dir, other), 'kind: Secret\ndata: {x: 1}\n');
      expect(readdirSync(dir)).toHaveLength(6);
      expect(readManifestFiles(dir).map((f) => f.path)).toEqual(['a.yaml', 'b.yml', 'z.yaml'].map((name) => join(dir, name)));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

test('the report marks a pending check, and every status starts in the same column', () => {
  const text = formatReports([{ environment: 'dev', production: false, checks: Object.values(run([], {}, false)) }]);
  const rows = text.split('\n').filter((l) => /^ {2}\S/.test(l));
  expect(rows).toHaveLength(11);
  expect(rows.find((r) => r.startsWith('  4 '))).toMatch(/ PENDING$/);
  const columns = new Set(rows.map((r) => r.search(/ (PASS|FAIL|PENDING)$/)));
  expect(columns.size).toBe(1);
  const widest = Math.max(...Object.values(run([], {}, false)).map((c) => c.title.length));
  expect([...columns][0]).toBe(2 + 8 + 1 + widest + 1);
});

describe('online: OTLP behind the Ingress TLS, its limits set, the quality alert present', () => {
  const HOST = 'evals.example.com';
  const ingress = (spec: Obj, kind = 'Ingress'): Obj => ({ kind, metadata: { name: 'orchestrator', namespace: NS }, spec });
  const routed = ingress({ tls: [{ hosts: [HOST] }], rules: [{ host: HOST, http: { paths: [{ path: '/v1' }] } }] });
  const limits = [
    { name: 'TRACE_RETENTION_DAYS', value: '30' },
    { name: 'PROJECT_SPANS_PER_SECOND', value: '1000' },
    { name: 'MAX_TRACE_BODY_BYTES', value: '16777216' },
  ];
  const orchestrator = (env: Obj[] = limits, kind = 'Deployment'): Obj => ({ kind, metadata: { name: 'orchestrator', namespace: NS }, spec: { template: { spec: { containers: [{ name: 'orchestrator', image: 'o:1', resources, env }] } } } });
  const rule = (rules: unknown, kind = 'PrometheusRule'): Obj => ({ kind, metadata: { name: 'alerts', namespace: NS }, spec: { groups: [{ name: 'g', rules }] } });
  const alert = rule([{ alert: 'EvalOnlineQualityDrop', labels: { namespace: NS } }]);
  const online = (objects: Obj[]) => findings('online', objects);
  const NO_INGRESS = /^no Ingress routes \/v1 \(POST \/v1\/traces\) on a host its TLS covers/;

  test('an Ingress with /v1 or /v1/traces on a TLS host passes; entries that are not objects are skipped', () => {
    expect(online([routed, orchestrator(), alert])).toEqual([]);
    const tracesOnly = ingress({ tls: [null, { hosts: [HOST] }], rules: [null, { host: HOST, http: { paths: [null, { path: '/v1/traces' }] } }] });
    expect(online([tracesOnly, orchestrator(), alert])).toEqual([]);
  });

  test('what is not an Ingress, a path other than /v1, or a host outside the TLS block routes nothing', () => {
    expect(online([ingress(routed.spec, 'ConfigMap'), orchestrator(), alert])).toEqual([expect.stringMatching(NO_INGRESS)]);
    expect(online([ingress({ tls: [{ hosts: [HOST] }], rules: [{ host: HOST, http: { paths: [{ path: '/ui' }, { path: '' }] } }] }), orchestrator(), alert])).toEqual([expect.stringMatching(NO_INGRESS)]);
    expect(online([ingress({ tls: [{ hosts: ['other.example.com'] }], rules: [{ host: HOST, http: { paths: [{ path: '/v1' }] } }] }), orchestrator(), alert])).toEqual([expect.stringMatching(NO_INGRESS)]);
  });

  test('the orchestrator is the Deployment of that name, and each limit a positive whole number', () => {
    expect(online([routed, orchestrator(limits, 'Service'), alert])).toEqual(['no orchestrator Deployment']);
    for (const value of ['x30', '30x', '0', '-1', '1.5']) {
      const env = limits.map((e) => (e.name === 'PROJECT_SPANS_PER_SECOND' ? { ...e, value } : e));
      expect(online([routed, orchestrator(env), alert])).toEqual([expect.stringContaining(`: PROJECT_SPANS_PER_SECOND is ${JSON.stringify(value)}; set a positive whole number`)]);
    }
  });

  test('the alert counts only in a PrometheusRule; before any rule exists, check 4 is pending and this says nothing of it', () => {
    expect(online([routed, orchestrator(), rule([{ alert: 'EvalQueueLag' }]), rule([{ alert: 'EvalOnlineQualityDrop' }], 'ConfigMap')])).toEqual([
      'no EvalOnlineQualityDrop rule: a drop in production quality would not be alerted',
    ]);
    expect(online([routed, orchestrator(), rule([{ alert: 'EvalOnlineQualityDrop' }], 'ConfigMap')])).toEqual([]);
  });
});
