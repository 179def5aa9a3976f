import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { checkEnvironment, checkSynthesized, readManifestFiles, scanTreeForSecrets, findSecrets, formatReports, hasProductionFailure, LLM_RETRY_ENV, waitingListOf, type EnvironmentReport } from '@ai-eval-platform/constructs';

/**
 * Every go-live finding, one at a time: the smallest environment that passes every check, broken in one place,
 * fails exactly that check with exactly that finding. `npm run synth` exits non-zero on a production failure,
 * so a check that stops finding its problem lets a broken environment deploy. (golive.test.ts runs the checks
 * on the repository's real synthesized output.)
 */

type Obj = Record<string, any>; // manifests and Terraform are untyped JSON

const DIGEST = `sha256:${'a'.repeat(64)}`;
const TF = 'cdktf.out/stacks/prod/cdk.tf.json';
const MANIFESTS = 'dist/prod/platform.k8s.yaml';
const container = (name: string, env: Obj[] = []) => ({
  name,
  image: `123456789012.dkr.ecr.eu-west-1.amazonaws.com/ai-eval/${name}:0123abc@${DIGEST}`,
  env,
  resources: { requests: { cpu: '500m', memory: '512Mi' }, limits: { cpu: '1', memory: '1Gi' } },
});
const retryEnv = () => [
  { name: LLM_RETRY_ENV.maxAttempts, value: '5' },
  { name: LLM_RETRY_ENV.baseDelayMs, value: '500' },
  { name: LLM_RETRY_ENV.maxDelayMs, value: '30000' },
  { name: LLM_RETRY_ENV.retryAfterCapMs, value: '60000' },
  { name: LLM_RETRY_ENV.timeoutMs, value: '120000' },
  { name: LLM_RETRY_ENV.rateLimitBudgetMs, value: '300000' },
];

/** The smallest production output that passes every check. */
function passing(): { objects: Obj[]; tf: Obj } {
  const ns = 'ai-eval';
  const objects: Obj[] = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } },
    { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'quota', namespace: ns }, spec: { hard: { 'requests.cpu': '40' } } },
    { apiVersion: 'v1', kind: 'LimitRange', metadata: { name: 'limits', namespace: ns }, spec: { limits: [] } },
    {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'worker', namespace: ns, labels: { 'app.kubernetes.io/name': 'worker' } },
      spec: { template: { spec: { containers: [container('worker', retryEnv())] } } },
    },
    {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'orchestrator', namespace: ns, labels: { 'app.kubernetes.io/name': 'orchestrator' } },
      spec: {
        replicas: 2,
        template: {
          spec: {
            initContainers: [container('migrate')],
            containers: [container('orchestrator', [{ name: 'TRACE_RETENTION_DAYS', value: '30' }, { name: 'PROJECT_SPANS_PER_SECOND', value: '1000' }, { name: 'MAX_TRACE_BODY_BYTES', value: '16777216' }])],
          },
        },
      },
    },
    {
      apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'orchestrator', namespace: ns },
      spec: { tls: [{ hosts: ['evals.example.com'] }], rules: [{ host: 'evals.example.com', http: { paths: [{ path: '/v1' }, { path: '/ui' }] } }] },
    },
    {
      apiVersion: 'keda.sh/v1alpha1', kind: 'ScaledObject', metadata: { name: 'worker', namespace: ns },
      spec: { scaleTargetRef: { name: 'worker' }, triggers: [{ type: 'redis', metadata: { listName: waitingListOf('eval-cases') } }] },
    },
    {
      apiVersion: 'monitoring.coreos.com/v1', kind: 'PrometheusRule', metadata: { name: 'alerts', namespace: ns },
      spec: {
        groups: [
          {
            name: 'platform',
            rules: [
              { alert: 'EvalQueueLagHigh', expr: 'eval_queue_oldest_waiting_seconds > 300', labels: { namespace: ns } },
              { alert: 'EvalOnlineQualityDrop', expr: 'eval_online_score_sum < 0', labels: { namespace: ns } },
            ],
          },
        ],
      },
    },
    {
      apiVersion: 'monitoring.coreos.com/v1alpha1', kind: 'AlertmanagerConfig', metadata: { name: 'slack', namespace: ns },
      spec: { route: { receiver: 'slack' }, receivers: [{ name: 'slack', slackConfigs: [{ channel: '#evals' }] }] },
    },
    {
      apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', metadata: { name: 'cluster-autoscaler', namespace: 'argocd' },
      spec: {
        source: {
          chart: 'cluster-autoscaler',
          helm: {
            valuesObject: {
              autoDiscovery: { clusterName: 'ai-eval-prod' },
              rbac: { serviceAccount: { name: 'cluster-autoscaler', annotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::123456789012:role/ca' } } },
              extraArgs: { 'max-nodes-total': 20 },
            },
          },
        },
      },
    },
    { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'default-deny', namespace: ns }, spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] } },
  ];
  const tf: Obj = {
    resource: {
      aws_db_instance: { postgres: { backup_retention_period: 7 } },
      aws_s3_bucket: { artifacts: { bucket: 'ai-eval-prod-artifacts' } },
      aws_backup_plan: { plan: { name: 'daily' } },
      aws_backup_selection: { artifacts: { resources: ['${aws_s3_bucket.artifacts.arn}'] } },
      aws_eks_cluster: { cluster: { name: 'ai-eval-prod', access_config: { authentication_mode: 'API' }, vpc_config: { endpoint_public_access: false } } },
      aws_eks_node_group: { system: { scaling_config: { max_size: 4 } }, workers: { scaling_config: { max_size: 16 } } },
      aws_eks_addon: { cni: { addon_name: 'vpc-cni', configuration_values: JSON.stringify({ enableNetworkPolicy: 'true' }) } },
      aws_eks_access_policy_association: { admin: { policy_arn: 'arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy', access_scope: { type: 'cluster' } } },
    },
    data: {
      aws_iam_policy_document: { ca_trust: { statement: [{ condition: [{ variable: 'sub', values: ['system:serviceaccount:kube-system:cluster-autoscaler'] }] }] } },
    },
  };
  return { objects, tf };
}

function report(breakIt: (env: { objects: Obj[]; tf: Obj; find: (kind: string, name?: string) => Obj }) => void = () => {}, production = true): EnvironmentReport {
  const { objects, tf } = passing();
  const find = (kind: string, name?: string) => objects.find((o) => o.kind === kind && (name === undefined || o.metadata.name === name))!;
  breakIt({ objects, tf, find });
  return checkSynthesized({
    name: 'prod',
    production,
    terraform: { path: TF, text: JSON.stringify(tf, null, 2) },
    manifests: [{ path: MANIFESTS, text: objects.map((o) => stringify(o)).join('---\n') }],
  });
}
const failures = (r: EnvironmentReport) => Object.fromEntries(r.checks.filter((c) => c.status !== 'pass').map((c) => [c.id, c.findings]));
const workerContainer = (find: (kind: string, name?: string) => Obj) => find('Deployment', 'worker').spec.template.spec.containers[0];
const setEnv = (find: (kind: string, name?: string) => Obj, name: string, value: string | undefined) => {
  const c = workerContainer(find);
  c.env = c.env.filter((e: Obj) => e.name !== name);
  if (value !== undefined) c.env.push({ name, value });
};

test('the smallest production environment passes every check', () => {
  const r = report();
  expect(r.checks.map((c) => [c.id, c.status])).toEqual([
    ['1', 'pass'], ['2', 'pass'], ['3', 'pass'], ['4', 'pass'], ['5', 'pass'], ['secrets', 'pass'], ['images', 'pass'], ['nodes', 'pass'], ['netpol', 'pass'], ['access', 'pass'], ['online', 'pass'],
  ]);
  expect(hasProductionFailure([r])).toBe(false);
});

const D = (name: string, file = MANIFESTS) => new RegExp(`^${name.replace('/', '\\/')} \\(${file.replace(/\./g, '\\.')}#\\d+\\): `);
const W = D('Deployment/worker');

/** [what breaks, the break, the check that fails, its findings (a string is exact; a RegExp must match)]. */
const CASES: Array<[string, Parameters<typeof report>[0], string, Array<string | RegExp>]> = [
  // 1: resources
  ['a container without a memory request', ({ find }) => delete workerContainer(find).resources.requests.memory, '1', [new RegExp(`${W.source}container worker has no memory requests$`)]],
  ['an init container without a cpu limit', ({ find }) => delete find('Deployment', 'orchestrator').spec.template.spec.initContainers[0].resources.limits.cpu, '1', [/^Deployment\/orchestrator .*: container migrate has no cpu limits$/]],
  ['a container without resources', ({ find }) => delete find('Deployment', 'orchestrator').spec.template.spec.containers[0].resources, '1', ['cpu requests', 'memory requests', 'cpu limits', 'memory limits'].map((what) => new RegExp(`container orchestrator has no ${what}$`))],
  ['a CronJob container without limits', ({ objects }) => objects.push({ kind: 'CronJob', metadata: { name: 'prune', namespace: 'ai-eval' }, spec: { jobTemplate: { spec: { template: { spec: { containers: [{ ...container('prune'), resources: { requests: { cpu: '1', memory: '1Gi' } } }] } } } } } }), '1', [/^CronJob\/prune .*: container prune has no cpu limits$/, /^CronJob\/prune .*: container prune has no memory limits$/]],
  ['a Pod container without requests', ({ objects }) => objects.push({ kind: 'Pod', metadata: { name: 'debug', namespace: 'ai-eval' }, spec: { containers: [{ ...container('debug'), resources: { limits: { cpu: '1', memory: '1Gi' } } }] } }), '1', [/^Pod\/debug .*: container debug has no cpu requests$/, /^Pod\/debug .*: container debug has no memory requests$/]],
  ['a namespace without a LimitRange', ({ find }) => (find('LimitRange').metadata.namespace = 'elsewhere'), '1', ['namespace ai-eval has no LimitRange']],
  ['a namespace without a ResourceQuota', ({ find }) => (find('ResourceQuota').kind = 'ConfigMap'), '1', ['namespace ai-eval has no ResourceQuota']],
  ['no Namespace object', ({ find }) => (find('Namespace').kind = 'ConfigMap'), '1', ['no Namespace object: quotas cannot be checked']],
  // online: OTLP behind TLS, its limits set, the quality alert routed
  ['an Ingress whose TLS covers another host', ({ find }) => (find('Ingress').spec.tls[0].hosts = ['other.example.com']), 'online', [/^no Ingress routes \/v1 \(POST \/v1\/traces\) on a host its TLS covers/]],
  ['an Ingress without /v1', ({ find }) => (find('Ingress').spec.rules[0].http.paths = [{ path: '/ui' }]), 'online', [/^no Ingress routes \/v1/]],
  ['no span rate on the orchestrator', ({ find }) => (find('Deployment', 'orchestrator').spec.template.spec.containers[0].env = find('Deployment', 'orchestrator').spec.template.spec.containers[0].env.filter((e: Obj) => e.name !== 'PROJECT_SPANS_PER_SECOND')), 'online', [/^Deployment\/orchestrator .*: PROJECT_SPANS_PER_SECOND is not set; set a positive whole number$/]],
  ['a retention of 0 days', ({ find }) => (find('Deployment', 'orchestrator').spec.template.spec.containers[0].env[0].value = '0'), 'online', [/^Deployment\/orchestrator .*: TRACE_RETENTION_DAYS is "0"; set a positive whole number$/]],
  ['no online quality alert', ({ find }) => find('PrometheusRule').spec.groups[0].rules.pop(), 'online', ['no EvalOnlineQualityDrop rule: a drop in production quality would not be alerted']],
  // 2: autoscaling
  ['no autoscaler on the worker', ({ find }) => (find('ScaledObject').spec.scaleTargetRef.name = 'orchestrator'), '2', [new RegExp(`${W.source}no ScaledObject or HorizontalPodAutoscaler targets it$`), /^Deployment\/orchestrator .*: sets replicas \(2\) although an autoscaler owns it$/]],
  ['a ScaledObject in another namespace', ({ find }) => (find('ScaledObject').metadata.namespace = 'other'), '2', [new RegExp(`${W.source}no ScaledObject or HorizontalPodAutoscaler targets it$`)]],
  ['a trigger on CPU, not the queue', ({ find }) => (find('ScaledObject').spec.triggers = [{ type: 'cpu', metadata: { value: '80' } }]), '2', [new RegExp(`${W.source}no autoscaler trigger on the queue's waiting list$`)]],
  ['a Redis trigger on another list', ({ find }) => (find('ScaledObject').spec.triggers[0].metadata.listName = 'eval:eval-cases:active'), '2', [/no autoscaler trigger on the queue's waiting list$/]],
  ['a second autoscaler (an HPA) on the worker', ({ objects }) => objects.push({ kind: 'HorizontalPodAutoscaler', metadata: { name: 'worker-hpa', namespace: 'ai-eval' }, spec: { scaleTargetRef: { kind: 'Deployment', name: 'worker' } } }), '2', [/^ai-eval\/Deployment\/worker has 2 autoscalers that would fight: ScaledObject\/worker \(.*\), HorizontalPodAutoscaler\/worker-hpa \(.*\)$/]],
  ['fixed replicas under the autoscaler', ({ find }) => (find('Deployment', 'worker').spec.replicas = 0), '2', [new RegExp(`${W.source}sets replicas \\(0\\) although an autoscaler owns it$`)]],
  // 3: LLM retry policy
  ...Object.values(LLM_RETRY_ENV).map((name): (typeof CASES)[number] => [`the worker without ${name}`, ({ find }) => setEnv(find, name, undefined), '3', [new RegExp(`${W.source}container worker lacks ${name}$`)]]),
  ['a retry setting of zero', ({ find }) => setEnv(find, LLM_RETRY_ENV.baseDelayMs, '0'), '3', [new RegExp(`${W.source}${LLM_RETRY_ENV.baseDelayMs}=0 is not a positive number$`)]],
  ['a retry setting that is not a number', ({ find }) => setEnv(find, LLM_RETRY_ENV.timeoutMs, 'soon'), '3', [new RegExp(`${LLM_RETRY_ENV.timeoutMs}=soon is not a positive number$`)]],
  ['one attempt, no retry', ({ find }) => setEnv(find, LLM_RETRY_ENV.maxAttempts, '1'), '3', [new RegExp(`${W.source}${LLM_RETRY_ENV.maxAttempts} must allow at least one retry$`)]],
  // 4: alerting
  ['no alert on queue lag', ({ find }) => Object.assign(find('PrometheusRule').spec.groups[0].rules[0], { alert: 'HighErrorRate', expr: 'rate(errors_total[5m]) > 1' }), '4', ['no alert rule on queue lag']],
  ['a queue expression in a recording rule, not an alert', ({ find }) => (find('PrometheusRule').spec.groups[0].rules[0] = { record: 'x', expr: 'eval_queue_waiting' }), '4', ['no alert rule on queue lag']],
  ['no Slack receiver', ({ find }) => (find('AlertmanagerConfig').spec.receivers[0] = { name: 'slack', emailConfigs: [{ to: 'a@b.c' }] }), '4', ['no AlertmanagerConfig route to a receiver with a Slack configuration']],
  ['no AlertmanagerConfig at all', ({ find }) => (find('AlertmanagerConfig').kind = 'ConfigMap'), '4', ['no AlertmanagerConfig route to a receiver with a Slack configuration']],
  ['the route sends to another receiver than the Slack one', ({ find }) => (find('AlertmanagerConfig').spec.route.receiver = 'pager'), '4', ['no AlertmanagerConfig route to a receiver with a Slack configuration']],
  [
    'an alert without the namespace label its OnNamespace route needs',
    ({ find }) => delete find('PrometheusRule').spec.groups[0].rules[0].labels.namespace,
    '4',
    [new RegExp(`^PrometheusRule/alerts \\(${MANIFESTS.replace(/\./g, '\\.')}#\\d+\\): alert EvalQueueLagHigh carries \\{"alertname":"EvalQueueLagHigh"\\} and reaches no Slack receiver \\(OnNamespace routes need slack: namespace="ai-eval"\\)$`)],
  ],
  ['a route matcher the alert does not meet', ({ find }) => (find('AlertmanagerConfig').spec.route.matchers = [{ name: 'team', value: 'evals' }]), '4', ['EvalQueueLagHigh', 'EvalOnlineQualityDrop'].map((alert) => new RegExp(`alert ${alert} carries .* reaches no Slack receiver \\(OnNamespace routes need slack: namespace="ai-eval", team="evals"\\)$`))],
  // 5: backups
  ['no RDS instance', ({ tf }) => delete tf.resource.aws_db_instance, '5', [`${TF}: no aws_db_instance`]],
  ['RDS backups off', ({ tf }) => (tf.resource.aws_db_instance.postgres.backup_retention_period = 0), '5', [`${TF}: aws_db_instance.postgres: automated backups off (backup_retention_period=0)`]],
  ['RDS backup retention unset', ({ tf }) => delete tf.resource.aws_db_instance.postgres.backup_retention_period, '5', [`${TF}: aws_db_instance.postgres: automated backups off (backup_retention_period=undefined)`]],
  ['RDS backups kept 6 days in production', ({ tf }) => (tf.resource.aws_db_instance.postgres.backup_retention_period = 6), '5', [`${TF}: aws_db_instance.postgres: backup_retention_period 6 < 7 days in production`]],
  ['a bucket outside every backup selection', ({ tf }) => (tf.resource.aws_backup_selection.artifacts.resources = ['${aws_s3_bucket.logs.arn}']), '5', [`${TF}: aws_s3_bucket.artifacts: not in an AWS Backup plan`]],
  ['a bucket selected but no backup plan', ({ tf }) => delete tf.resource.aws_backup_plan, '5', [`${TF}: aws_s3_bucket.artifacts: not in an AWS Backup plan`]],
  // secrets
  ['an OpenAI key in an env value', ({ find }) => workerContainer(find).env.push({ name: 'OPENAI_API_KEY', value: ['sk', 'proj', 'A1b2C3d4E5f6G7h8I9j0K1l2M3n4'].join('-') }), 'secrets', [/^dist\/prod\/platform\.k8s\.yaml:\d+: looks like a OpenAI API key$/]],
  ['an AWS access key id in the Terraform', ({ tf }) => (tf.resource.aws_s3_bucket.artifacts.tags = { note: ['AKIA', 'ABCDEFGHIJKLMNOP'].join('') }), 'secrets', [/^cdktf\.out\/stacks\/prod\/cdk\.tf\.json:\d+: looks like a AWS access key id$/]],
  ['a Secret with stringData', ({ objects }) => objects.push({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'leak', namespace: 'ai-eval' }, stringData: { password: 'x' } }), 'secrets', [/^Secret\/leak \(.*\): a Secret with a value in the output; use an ExternalSecret$/]],
  // images
  ['a container without an image', ({ find }) => delete workerContainer(find).image, 'images', [new RegExp(`${W.source}container worker has no image$`)]],
  ['an untagged image', ({ find }) => (workerContainer(find).image = 'registry.example.com:5000/ai-eval/worker'), 'images', [/container worker runs registry\.example\.com:5000\/ai-eval\/worker \(latest or untagged\)$/]],
  ['a latest image', ({ find }) => (workerContainer(find).image = 'ai-eval/worker:latest'), 'images', [/container worker runs ai-eval\/worker:latest \(latest or untagged\)$/]],
  ['the unreleased placeholder', ({ find }) => (workerContainer(find).image = 'ai-eval/worker:unreleased'), 'images', [/container worker runs the placeholder ai-eval\/worker:unreleased: no release/]],
  ['the unreleased placeholder with a digest', ({ find }) => (workerContainer(find).image = `ai-eval/worker:unreleased@${DIGEST}`), 'images', [/runs the placeholder/]],
  ['a tag without a digest in production', ({ find }) => (workerContainer(find).image = 'ai-eval/worker:1.2.3'), 'images', [/container worker runs ai-eval\/worker:1\.2\.3 without a digest: production pins what it pulls$/]],
  ['a digest that is not sha256', ({ find }) => (workerContainer(find).image = 'ai-eval/worker:1.2.3@md5:abc'), 'images', [/without a digest/]],
  // nodes
  ['no cluster-autoscaler', ({ find }) => (find('Application').spec.source.chart = 'karpenter'), 'nodes', ['no Argo CD Application installs the cluster-autoscaler chart: nothing adds nodes when workers scale out']],
  ['the autoscaler discovering another cluster', ({ find }) => (find('Application').spec.source.helm.valuesObject.autoDiscovery.clusterName = 'ai-eval-dev'), 'nodes', [/^Application\/cluster-autoscaler \(.*\): autoDiscovery\.clusterName "ai-eval-dev" is not the cluster \(ai-eval-prod\)$/]],
  ['the autoscaler without an IRSA role', ({ find }) => (find('Application').spec.source.helm.valuesObject.rbac.serviceAccount.annotations = {}), 'nodes', [/: its service account has no IRSA role$/]],
  ['no IAM role trusting the autoscaler', ({ tf }) => (tf.data.aws_iam_policy_document.ca_trust.statement[0].condition[0].values = ['system:serviceaccount:kube-system:other']), 'nodes', [`${TF}: no IAM role trusts system:serviceaccount:kube-system:cluster-autoscaler`]],
  ['a node ceiling below the node groups', ({ find }) => (find('Application').spec.source.helm.valuesObject.extraArgs['max-nodes-total'] = 19), 'nodes', [/: max-nodes-total 19 is below the node groups' maxSize sum 20$/]],
  ['no node group', ({ tf }) => delete tf.resource.aws_eks_node_group, 'nodes', [`${TF}: no aws_eks_node_group`]],
  // netpol
  ['no VPC CNI add-on', ({ tf }) => (tf.resource.aws_eks_addon.cni.addon_name = 'coredns'), 'netpol', [`${TF}: no vpc-cni add-on`]],
  ['CNI configuration that is not JSON', ({ tf }) => (tf.resource.aws_eks_addon.cni.configuration_values = '{enableNetworkPolicy'), 'netpol', [`${TF}: aws_eks_addon.cni: configuration_values is not JSON`, `${TF}: aws_eks_addon.cni: enableNetworkPolicy is not "true": NetworkPolicies would be accepted and ignored`]],
  ['network policy enforcement off', ({ tf }) => (tf.resource.aws_eks_addon.cni.configuration_values = JSON.stringify({ enableNetworkPolicy: 'false' })), 'netpol', [`${TF}: aws_eks_addon.cni: enableNetworkPolicy is not "true": NetworkPolicies would be accepted and ignored`]],
  ['a deny policy that selects some pods only', ({ find }) => (find('NetworkPolicy').spec.podSelector = { matchLabels: { app: 'x' } }), 'netpol', ['no default-deny NetworkPolicy (empty podSelector, Ingress and Egress)']],
  ['a deny policy for ingress only', ({ find }) => (find('NetworkPolicy').spec.policyTypes = ['Ingress']), 'netpol', ['no default-deny NetworkPolicy (empty podSelector, Ingress and Egress)']],
  ['a policy without a pod selector', ({ find }) => delete find('NetworkPolicy').spec.podSelector, 'netpol', ['no default-deny NetworkPolicy (empty podSelector, Ingress and Egress)']],
  // access
  ['config-map authentication', ({ tf }) => (tf.resource.aws_eks_cluster.cluster.access_config.authentication_mode = 'CONFIG_MAP'), 'access', [`${TF}: aws_eks_cluster.cluster: authentication mode is not API (access entries)`]],
  ['no authentication mode', ({ tf }) => delete tf.resource.aws_eks_cluster.cluster.access_config, 'access', [`${TF}: aws_eks_cluster.cluster: authentication mode is not API (access entries)`]],
  ['a public API endpoint with no CIDR list', ({ tf }) => (tf.resource.aws_eks_cluster.cluster.vpc_config.endpoint_public_access = true), 'access', [`${TF}: aws_eks_cluster.cluster: the public API endpoint is open to 0.0.0.0/0 in production`]],
  ['a public API endpoint open to 0.0.0.0/0', ({ tf }) => Object.assign(tf.resource.aws_eks_cluster.cluster.vpc_config, { endpoint_public_access: true, public_access_cidrs: ['10.0.0.0/8', '0.0.0.0/0'] }), 'access', [/the public API endpoint is open to 0\.0\.0\.0\/0 in production$/]],
  ['a cluster admin policy scoped to a namespace', ({ tf }) => (tf.resource.aws_eks_access_policy_association.admin.access_scope = { type: 'namespace', namespaces: ['ai-eval'] }), 'access', [`${TF}: no access entry with AmazonEKSClusterAdminPolicy: nobody can administer the cluster`]],
  ['a view policy only', ({ tf }) => (tf.resource.aws_eks_access_policy_association.admin.policy_arn = 'arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy'), 'access', [/no access entry with AmazonEKSClusterAdminPolicy/]],
];

test.each(CASES)('%s fails exactly one check, with exactly its finding', (_, breakIt, id, expected) => {
  const r = report(breakIt);
  const failed = failures(r);
  expect(Object.keys(failed)).toEqual([id]);
  expect(failed[id]).toHaveLength(expected.length);
  expect(failed[id]).toEqual(expected.map((e) => (typeof e === 'string' ? e : expect.stringMatching(e))));
  expect(r.checks.find((c) => c.id === id)!.status).toBe('fail');
  expect(hasProductionFailure([r])).toBe(true);
});

test('no worker Deployment fails autoscaling and the retry policy, each saying so', () => {
  const r = report(({ find }) => (find('Deployment', 'worker').metadata.labels['app.kubernetes.io/name'] = 'other'));
  expect(failures(r)).toEqual({ '2': ['no worker Deployment (label app.kubernetes.io/name=worker)'], '3': ['no worker Deployment to carry the LLM retry policy'] });
});

test('no EKS cluster fails access, and the node autoscaler then discovers no cluster', () => {
  const r = report(({ tf }) => delete tf.resource.aws_eks_cluster);
  expect(failures(r)).toEqual({
    nodes: [expect.stringMatching(/^Application\/cluster-autoscaler \(.*\): autoDiscovery\.clusterName "ai-eval-prod" is not the cluster \(\)$/)],
    access: [`${TF}: no aws_eks_cluster`],
  });
});

describe('what production alone requires', () => {
  test.each<[string, Parameters<typeof report>[0], string]>([
    ['backups kept 1 day', ({ tf }) => (tf.resource.aws_db_instance.postgres.backup_retention_period = 1), '5'],
    ['a tag without a digest', ({ find }) => (workerContainer(find).image = 'ai-eval/worker:1.2.3'), 'images'],
    ['a public API endpoint', ({ tf }) => (tf.resource.aws_eks_cluster.cluster.vpc_config.endpoint_public_access = true), 'access'],
  ])('%s fails in production and passes elsewhere', (_, breakIt, id) => {
    expect(Object.keys(failures(report(breakIt, true)))).toEqual([id]);
    const elsewhere = report(breakIt, false);
    expect(failures(elsewhere)).toEqual({});
    expect(elsewhere.checks.find((c) => c.id === 'images')!.title).toBe('Images: a released tag, never latest');
  });

  test('a non-production failure never fails the production gate', () => {
    const r = report(({ tf }) => (tf.resource.aws_db_instance.postgres.backup_retention_period = 0), false);
    expect(failures(r)).toHaveProperty('5');
    expect(hasProductionFailure([r])).toBe(false);
    expect(hasProductionFailure([r, report()])).toBe(false);
    expect(hasProductionFailure([r, report(({ tf }) => delete tf.resource.aws_eks_node_group)])).toBe(true);
  });
});

describe('outside production, a failure the environment chose says why in its row; any other failure does not', () => {
  const NO_PLAN = 'no AWS Backup plan, by choice (backup.awsBackupPlan: false); required in production only';
  const NO_RELEASE = 'no release yet, until the first release';
  const withoutPlan: Parameters<typeof report>[0] = ({ tf }) => {
    delete tf.resource.aws_backup_plan;
    delete tf.resource.aws_backup_selection;
  };
  const unreleased: Parameters<typeof report>[0] = ({ objects }) => {
    for (const o of objects.filter((x) => x.kind === 'Deployment')) {
      for (const c of [...(o.spec.template.spec.initContainers ?? []), ...o.spec.template.spec.containers]) c.image = c.image.replace(/:0123abc@.*$/, ':unreleased');
    }
  };
  const bothChosen: Parameters<typeof report>[0] = (env) => {
    withoutPlan!(env);
    unreleased!(env);
  };
  const expectedOf = (r: EnvironmentReport) => Object.fromEntries(r.checks.filter((c) => 'expected' in c).map((c) => [c.id, c.expected]));

  test('no backup plan and no release yet, in a non-production environment: expected, and the rows say why', () => {
    const r = report(bothChosen, false);
    expect(Object.keys(failures(r))).toEqual(['5', 'images']);
    expect(expectedOf(r)).toEqual({ '5': NO_PLAN, images: NO_RELEASE });
    const rows = formatReports([r]).split('\n');
    expect(rows.find((l) => l.startsWith('  5 '))).toMatch(new RegExp(`FAIL \\(expected in prod: ${NO_PLAN.replace(/[()]/g, '\\$&')}\\)$`));
    expect(rows.find((l) => l.startsWith('  images '))).toMatch(/FAIL \(expected in prod: no release yet, until the first release\)$/);
  });

  test('the same in production: plain failures', () => {
    const r = report(bothChosen, true);
    expect(Object.keys(failures(r))).toEqual(['5', 'images']);
    expect(expectedOf(r)).toEqual({});
    expect(formatReports([r])).not.toContain('expected in');
  });

  test('a real failure beside the chosen one is not excused', () => {
    // RDS backups off as well as no plan; a plan that leaves the bucket out; a latest image beside the placeholders.
    const rdsOff = report((env) => {
      withoutPlan!(env);
      env.tf.resource.aws_db_instance.postgres.backup_retention_period = 0;
    }, false);
    const bucketLeftOut = report(({ tf }) => delete tf.resource.aws_backup_selection, false);
    const latest = report((env) => {
      unreleased!(env);
      workerContainer(env.find).image = 'ai-eval/worker:latest';
    }, false);
    for (const r of [rdsOff, bucketLeftOut, latest]) expect(expectedOf(r)).toEqual({});
    expect(Object.keys(failures(bucketLeftOut))).toEqual(['5']);
    expect(formatReports([latest])).toMatch(/^ {2}images +Images: a released tag, never latest +FAIL$/m);
  });

  test('a passing check carries no reason, even where the condition for one holds', () => {
    // No bucket and no plan outside production: nothing to back up, so 5 passes, with nothing to excuse.
    const r = report(({ tf }) => {
      delete tf.resource.aws_s3_bucket;
      delete tf.resource.aws_backup_plan;
      delete tf.resource.aws_backup_selection;
    }, false);
    expect(failures(r)).toEqual({});
    expect(expectedOf(r)).toEqual({});
    expect(expectedOf(report(() => {}, false))).toEqual({});
  });
});

test('alerting is pending, not failed, before any monitoring object exists; pending never fails the gate', () => {
  const r = report(({ find }) => {
    find('PrometheusRule').kind = 'ConfigMap';
    find('AlertmanagerConfig').kind = 'ConfigMap';
  });
  expect(r.checks.find((c) => c.id === '4')).toMatchObject({ status: 'pending', findings: [expect.stringContaining('no PrometheusRule or AlertmanagerConfig')] });
  expect(Object.keys(failures(r))).toEqual(['4']);
  expect(hasProductionFailure([r])).toBe(false);
});

test('findSecrets names the file and line of each kind, never the value', () => {
  const anthropic = ['sk', 'ant', 'api03', 'A1b2C3d4E5f6G7h8I9j0K1'].join('-');
  const text = ['ok', `key: ${anthropic}`, 'also ok', ['-----BEGIN OPENSSH', 'PRIVATE KEY-----'].join(' '), `id: ${['ASIA', 'ABCDEFGHIJKLMNOP'].join('')}`].join('\n');
  const found = findSecrets(text, 'values.yaml');
  // An Anthropic key also has the shape of an OpenAI one: both are named.
  expect(found).toEqual(['values.yaml:2: looks like a Anthropic API key', 'values.yaml:2: looks like a OpenAI API key', 'values.yaml:4: looks like a private key', 'values.yaml:5: looks like a AWS access key id']);
  expect(found.join('\n')).not.toContain(anthropic);
  expect(findSecrets(`short sk-abc and AKIA123 and ${'x'.repeat(40)}`, 'f')).toEqual([]);
});

test('the report: a table per environment, every finding under its check, production marked', () => {
  const text = formatReports([report(({ tf }) => (tf.resource.aws_db_instance.postgres.backup_retention_period = 6)), report(undefined, false)]);
  const lines = text.split('\n');
  expect(lines[0]).toBe('go-live checks: prod (production)');
  expect(lines).toContain('go-live checks: prod');
  expect(lines.find((l) => l.trimStart().startsWith('5 '))).toMatch(/^ {2}5 {8}Backup: automated backups for RDS and S3 +FAIL$/);
  expect(lines[lines.findIndex((l) => l.includes('Backup:')) + 1]).toBe(`           - ${TF}: aws_db_instance.postgres: backup_retention_period 6 < 7 days in production`);
  expect(lines.filter((l) => / PASS$/.test(l))).toHaveLength(21);
  expect(lines.filter((l) => l === '')).toHaveLength(2);
});

test('unreadable output is an error that names the file, not a pass', () => {
  const manifests = [{ path: MANIFESTS, text: 'kind: Deployment\n  bad: [' }];
  expect(() => checkSynthesized({ name: 'prod', production: true, terraform: { path: TF, text: '{}' }, manifests })).toThrow(/^dist\/prod\/platform\.k8s\.yaml: document 0: /);
  expect(() => checkSynthesized({ name: 'prod', production: true, terraform: { path: TF, text: '{"resource": ' }, manifests: [] })).toThrow(/^cdktf\.out\/stacks\/prod\/cdk\.tf\.json: not valid JSON: /);
});

test('the repository scan reads every source file, nested, and skips dependencies, build output, sandboxes, archives and files over 1 MiB', () => {
  const tree = mkdtempSync(join(tmpdir(), 'scan-'));
  try {
    const awsKey = ['AKIA', 'ABCDEFGHIJKLMNOP'].join('');
    const plant = (path: string, text = `x\nid: ${awsKey}\n`) => {
      mkdirSync(join(tree, path, '..'), { recursive: true });
      writeFileSync(join(tree, path), text);
    };
    for (const skipped of ['node_modules', '.git', 'cdktf.out', 'dist', 'lib', 'coverage', '.tmp', '.stryker-tmp', 'reports']) plant(`${skipped}/inner/config.ts`);
    plant('evalctl-0.1.0.tgz');
    plant('big.json', `${awsKey}\n${'x'.repeat(1024 * 1024)}`);
    plant('clean.ts', 'export const x = 1;\n');
    expect(scanTreeForSecrets(tree)).toEqual([]);
    plant('src/deep/er/config.ts');
    plant('almost-big.json', `${awsKey}\n${'x'.repeat(1024 * 1024 - 100)}`);
    expect(scanTreeForSecrets(tree).sort()).toEqual(['almost-big.json:1: looks like a AWS access key id', 'src/deep/er/config.ts:2: looks like a AWS access key id']);
  } finally {
    rmSync(tree, { recursive: true, force: true });
  }
});

test('from disk: the Terraform JSON and every .yaml/.yml of the folder, in name order; what is missing is named', () => {
  const dir = mkdtempSync(join(tmpdir(), 'golive-disk-'));
  try {
    const { objects, tf } = passing();
    const tfFile = join(dir, 'cdk.tf.json');
    const manifests = join(dir, 'dist');
    expect(() => checkEnvironment({ name: 'prod', production: true, terraformFile: tfFile, manifestDir: manifests })).toThrow(`${tfFile}: no synthesized Terraform (run the Terraform synth first)`);
    writeFileSync(tfFile, JSON.stringify(tf));
    expect(() => checkEnvironment({ name: 'prod', production: true, terraformFile: tfFile, manifestDir: manifests })).toThrow(`${manifests}: no synthesized manifests (run the Kubernetes synth first)`);
    mkdirSync(manifests);
    writeFileSync(join(manifests, 'b.yml'), objects.slice(3).map((o) => stringify(o)).join('---\n'));
    writeFileSync(join(manifests, 'a.yaml'), objects.slice(0, 3).map((o) => stringify(o)).join('---\n'));
    writeFileSync(join(manifests, 'notes.txt'), 'kind: Secret\ndata: {x: 1}\n');
    expect(readManifestFiles(manifests).map((f) => f.path)).toEqual([join(manifests, 'a.yaml'), join(manifests, 'b.yml')]);
    const r = checkEnvironment({ name: 'prod', production: true, terraformFile: tfFile, manifestDir: manifests });
    expect(failures(r)).toEqual({});
    expect(r).toMatchObject({ environment: 'prod', production: true });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
