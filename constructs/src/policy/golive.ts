import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { IMAGE_DIGEST, UNRELEASED_TAG } from '../config/release';
import { LLM_RETRY_ENV, waitingListOf } from '../config/service-environment';

/**
 * The brief's production checklist (§6) as code. It reads what synthesis wrote — the Terraform JSON and
 * the Kubernetes YAML — not the constructs, so it checks what would really be applied.
 */

export type CheckStatus = 'pass' | 'fail' | 'pending';

export interface CheckResult {
  readonly id: string;
  readonly title: string;
  readonly status: CheckStatus;
  /** Why it failed or is pending, one finding per line, naming the file and object. */
  readonly findings: string[];
  /**
   * Outside production, why this failure is expected and does not fail the synth (no release yet, no backup
   * plan by choice); printed in the row. Absent when the failure is a real one.
   */
  readonly expected?: string;
}

export interface EnvironmentReport {
  readonly environment: string;
  readonly production: boolean;
  readonly checks: CheckResult[];
}

export interface SynthesizedEnvironment {
  readonly name: string;
  readonly production: boolean;
  /** `cdktf.out/stacks/<env>/cdk.tf.json` */
  readonly terraformFile: string;
  /** `dist/<env>` */
  readonly manifestDir: string;
}

interface K8sObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: unknown;
  stringData?: unknown;
  /** Where it came from: `file#index`. */
  source: string;
}

interface Container {
  name?: string;
  image?: string;
  env?: { name: string; value?: string }[];
  resources?: { requests?: Record<string, unknown>; limits?: Record<string, unknown> };
}

/** Patterns of real credentials: OpenAI and Anthropic keys, AWS access key ids, private keys. */
export const SECRET_PATTERNS: readonly { readonly name: string; readonly pattern: RegExp }[] = [
  { name: 'Anthropic API key', pattern: /sk-ant-[A-Za-z0-9_-]{20,}/ },
  { name: 'OpenAI API key', pattern: /sk-(?:proj-)?[A-Za-z0-9_-]{20,}/ },
  { name: 'AWS access key id', pattern: /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/ },
  { name: 'private key', pattern: /-----BEGIN (?:RSA |EC |OPENSSH )?PRIVATE KEY-----/ },
];

/** A waiting list of the case queue, whatever the queue's name. */
const WAITING_LIST = new RegExp(`^${waitingListOf('.+')}$`);

/** The LLM retry settings the worker must receive (go-live check 3). */
export const REQUIRED_RETRY_ENV: readonly string[] = Object.values(LLM_RETRY_ENV);

/** A list in the manifest or the Terraform, or none when the field is missing or is not a list. */
function listOf<T>(value: unknown): T[] {
  return Array.isArray(value) ? (value as T[]) : [];
}

export interface TextFile {
  readonly path: string;
  readonly text: string;
}

/** The YAML files of a synth output folder, read once. */
export function readManifestFiles(dir: string): TextFile[] {
  if (!existsSync(dir)) throw new Error(`${dir}: no synthesized manifests (run the Kubernetes synth first)`);
  const names = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f));
  // Stryker disable next-line MethodExpression: equivalent where Node runs; libuv's scandir lists names sorted already, and the sort says the order the report relies on.
  return names.sort().map((f) => ({ path: join(dir, f), text: readFileSync(join(dir, f), 'utf8') }));
}

export function loadManifests(files: readonly TextFile[]): K8sObject[] {
  const objects: K8sObject[] = [];
  for (const { path, text } of files) {
    parseAllDocuments(text).forEach((doc, i) => {
      if (doc.errors.length > 0) throw new Error(`${path}: document ${i}: ${doc.errors[0].message}`);
      const value = doc.toJS() as Omit<K8sObject, 'source'> | null;
      if (value) objects.push({ ...value, source: `${path}#${i}` });
    });
  }
  return objects;
}

function describe(o: K8sObject): string {
  return `${o.kind}/${o.metadata?.name ?? '?'} (${o.source})`;
}

/**
 * The pod an object runs: a Pod's spec, a CronJob's job template's, and for every other kind its pod template's
 * (`spec.template.spec`), so that a workload of any kind — a StatefulSet, a ReplicationController, an Argo
 * Rollout — is checked, not only those on a list.
 */
function podSpecOf(o: K8sObject): Record<string, unknown> | undefined {
  if (o.kind === 'Pod') return o.spec;
  if (o.kind === 'CronJob') {
    const jobTemplate = o.spec?.jobTemplate as { spec?: { template?: { spec?: Record<string, unknown> } } } | undefined;
    return jobTemplate?.spec?.template?.spec;
  }
  return (o.spec?.template as { spec?: Record<string, unknown> } | undefined)?.spec;
}

function containersOf(o: K8sObject): Container[] {
  const pod = podSpecOf(o);
  if (!pod) return [];
  return [...listOf<Container>(pod.initContainers), ...listOf<Container>(pod.containers)];
}

function check(id: string, title: string, findings: string[], expected?: string): CheckResult {
  const status = findings.length === 0 ? 'pass' : 'fail';
  return { id, title, status, findings, ...(status === 'fail' && expected ? { expected } : {}) };
}

/** A check that cannot be made yet (what it reads is not built): neither a pass nor a failure. */
function pending(id: string, title: string, why: string): CheckResult {
  return { id, title, status: 'pending', findings: [why] };
}

function checkResources(objects: K8sObject[]): CheckResult {
  const findings: string[] = [];
  for (const o of objects) {
    for (const c of containersOf(o)) {
      for (const kind of ['requests', 'limits'] as const) {
        for (const resource of ['cpu', 'memory']) {
          if (c.resources?.[kind]?.[resource] === undefined) {
            findings.push(`${describe(o)}: container ${c.name} has no ${resource} ${kind}`);
          }
        }
      }
    }
  }
  const namespaces = new Set(objects.filter((o) => o.kind === 'Namespace').map((o) => o.metadata?.name));
  // The namespaces this output runs pods in; one it only creates for a chart (monitoring, for Grafana's secret)
  // is the chart's to size.
  const running = new Set(objects.filter((o) => containersOf(o).length > 0).map((o) => o.metadata?.namespace));
  for (const ns of [...namespaces].filter((n) => running.has(n))) {
    for (const kind of ['ResourceQuota', 'LimitRange']) {
      if (!objects.some((o) => o.kind === kind && o.metadata?.namespace === ns)) findings.push(`namespace ${ns} has no ${kind}`);
    }
  }
  if (namespaces.size === 0) findings.push('no Namespace object: quotas cannot be checked');
  return check('1', 'Resource quotas: requests and limits on every container; namespace quota', findings);
}

function scaleTargets(objects: K8sObject[]): Map<string, string[]> {
  const owners = new Map<string, string[]>();
  for (const o of objects) {
    const ref = o.spec?.scaleTargetRef as { kind?: string; name?: string } | undefined;
    if ((o.kind === 'ScaledObject' || o.kind === 'HorizontalPodAutoscaler') && ref?.name) {
      const key = `${o.metadata?.namespace}/${ref.kind ?? 'Deployment'}/${ref.name}`;
      owners.set(key, [...(owners.get(key) ?? []), describe(o)]);
    }
  }
  return owners;
}

function workers(objects: K8sObject[]): K8sObject[] {
  return objects.filter((o) => o.kind === 'Deployment' && o.metadata?.labels?.['app.kubernetes.io/name'] === 'worker');
}

function checkAutoscaling(objects: K8sObject[]): CheckResult {
  const findings: string[] = [];
  const owners = scaleTargets(objects);
  const workerDeployments = workers(objects);
  if (workerDeployments.length === 0) findings.push('no worker Deployment (label app.kubernetes.io/name=worker)');
  for (const w of workerDeployments) {
    const key = `${w.metadata?.namespace}/Deployment/${w.metadata?.name}`;
    const scalers = owners.get(key) ?? [];
    if (scalers.length === 0) findings.push(`${describe(w)}: no ScaledObject or HorizontalPodAutoscaler targets it`);
    const queueTrigger = objects.some(
      (o) =>
        o.kind === 'ScaledObject' &&
        (o.spec?.scaleTargetRef as { name?: string } | undefined)?.name === w.metadata?.name &&
        listOf<{ type?: string; metadata?: Record<string, string> }>(o.spec?.triggers).some((t) => t.type === 'redis' && WAITING_LIST.test(String(t.metadata?.listName))),
    );
    if (scalers.length > 0 && !queueTrigger) findings.push(`${describe(w)}: no autoscaler trigger on the queue's waiting list`);
  }
  for (const [target, scalers] of owners) {
    if (scalers.length > 1) findings.push(`${target} has ${scalers.length} autoscalers that would fight: ${scalers.join(', ')}`);
    const deployment = objects.find((o) => o.kind === 'Deployment' && `${o.metadata?.namespace}/Deployment/${o.metadata?.name}` === target);
    if (deployment && deployment.spec?.replicas !== undefined) {
      findings.push(`${describe(deployment)}: sets replicas (${deployment.spec.replicas}) although an autoscaler owns it`);
    }
  }
  return check('2', 'Autoscaling: workers scale on queue depth; no fixed replicas under an autoscaler', findings);
}

function checkRetryPolicy(objects: K8sObject[]): CheckResult {
  const findings: string[] = [];
  const workerDeployments = workers(objects);
  if (workerDeployments.length === 0) findings.push('no worker Deployment to carry the LLM retry policy');
  for (const w of workerDeployments) {
    for (const c of containersOf(w)) {
      const env = new Map((c.env ?? []).map((e) => [e.name, e.value]));
      for (const name of REQUIRED_RETRY_ENV) {
        const value = Number(env.get(name));
        if (!env.has(name)) findings.push(`${describe(w)}: container ${c.name} lacks ${name}`);
        else if (!Number.isFinite(value) || value <= 0) findings.push(`${describe(w)}: ${name}=${env.get(name)} is not a positive number`);
      }
      if (Number(env.get(LLM_RETRY_ENV.maxAttempts)) < 2) findings.push(`${describe(w)}: ${LLM_RETRY_ENV.maxAttempts} must allow at least one retry`);
    }
  }
  return check('3', 'Rate limiting: backoff/retry policy configured for LLM calls', findings);
}

const ALERTING = 'Alerting: every alert, queue lag included, routed to Slack';

interface RouteMatcher {
  readonly name?: string;
  readonly value?: string;
  readonly matchType?: string;
}

/** Whether an Alertmanager matcher holds for these labels (a missing label is the empty string, as in Alertmanager; a matcher without a name, which Alertmanager refuses, holds for nothing). */
function matches(m: RouteMatcher, labels: Record<string, string>): boolean {
  if (m.name === undefined) return false;
  const value = labels[m.name] ?? '';
  const expected = m.value ?? '';
  switch (m.matchType ?? '=') {
    case '=':
      return value === expected;
    case '!=':
      return value !== expected;
    case '=~':
      return new RegExp(`^(?:${expected})$`).test(value);
    default:
      return !new RegExp(`^(?:${expected})$`).test(value);
  }
}

/** Whether an object's labels satisfy a selector's `matchLabels` (no selector: everything). */
function selects(selector: { matchLabels?: Record<string, string> } | undefined, o: K8sObject): boolean {
  return Object.entries(selector?.matchLabels ?? {}).every(([k, v]) => o.metadata?.labels?.[k] === v);
}

/**
 * Check 4 follows each alert to its receiver as prometheus-operator and Alertmanager would: only the
 * PrometheusRules and AlertmanagerConfigs kube-prometheus-stack selects; each config's route with the matcher
 * the operator adds under its matcher strategy (`OnNamespace`, the default: `namespace` = the config's own
 * namespace); the labels an alert is sure to carry are its rule's static labels (an expression may aggregate
 * any other away). An alert passes when a route takes it to a receiver with a Slack configuration.
 */
function checkAlerting(objects: K8sObject[]): CheckResult {
  const stack = helmApplication(objects, 'kube-prometheus-stack')?.values;
  const selected = (kind: string, selector: unknown) => objects.filter((o) => o.kind === kind && selects(selector as { matchLabels?: Record<string, string> }, o));
  const rules = selected('PrometheusRule', stack?.prometheus?.prometheusSpec?.ruleSelector);
  const configs = selected('AlertmanagerConfig', stack?.alertmanager?.alertmanagerSpec?.alertmanagerConfigSelector);
  if (objects.every((o) => o.kind !== 'PrometheusRule' && o.kind !== 'AlertmanagerConfig')) {
    return pending('4', ALERTING, 'no PrometheusRule or AlertmanagerConfig in the output yet (monitoring resources are not built)');
  }
  const findings: string[] = [];
  const strategy = stack?.alertmanager?.alertmanagerSpec?.alertmanagerConfigMatcherStrategy?.type ?? 'OnNamespace';
  const alerts = rules.flatMap((r) =>
    listOf<{ rules?: unknown }>(r.spec?.groups).flatMap((g) => listOf<{ alert?: string; expr?: string; labels?: Record<string, string> }>(g.rules).filter((a) => a.alert).map((a) => ({ ...a, rule: r }))),
  );
  if (!alerts.some((a) => /waiting|queue/i.test(`${a.alert} ${a.expr}`))) findings.push('no alert rule on queue lag');
  // The routes whose receiver posts to Slack, each with the matchers the operator gives it.
  const slackRoutes = configs.flatMap((c) => {
    const route = (c.spec?.route ?? {}) as { receiver?: string; matchers?: unknown };
    const receiver = listOf<{ name?: string; slackConfigs?: unknown }>(c.spec?.receivers).find((r) => r.name === route.receiver);
    if (listOf(receiver?.slackConfigs).length === 0) return [];
    const matchers = listOf<RouteMatcher>(route.matchers);
    return [{ config: c, matchers: strategy === 'OnNamespace' ? [{ name: 'namespace', value: c.metadata?.namespace ?? '', matchType: '=' }, ...matchers] : matchers }];
  });
  if (slackRoutes.length === 0) findings.push('no AlertmanagerConfig route to a receiver with a Slack configuration');
  else {
    const needs = slackRoutes.map((r) => `${r.config.metadata?.name}: ${r.matchers.map((m) => `${m.name}${m.matchType ?? '='}"${m.value}"`).join(', ')}`).join('; ');
    for (const a of alerts) {
      const labels = { ...(a.labels ?? {}), alertname: a.alert! };
      if (slackRoutes.some((r) => r.matchers.every((m) => matches(m, labels)))) continue;
      findings.push(`${describe(a.rule)}: alert ${a.alert} carries ${JSON.stringify(labels)} and reaches no Slack receiver (${strategy} routes need ${needs})`);
    }
  }
  return check('4', ALERTING, findings);
}

type TfResources = Record<string, Record<string, Record<string, unknown>>>;

function checkBackups(tf: { resource?: TfResources }, production: boolean, file: string): CheckResult {
  const findings: string[] = [];
  const resources = tf.resource ?? {};
  const dbs = Object.entries(resources.aws_db_instance ?? {});
  if (dbs.length === 0) findings.push(`${file}: no aws_db_instance`);
  for (const [name, db] of dbs) {
    const days = Number(db.backup_retention_period ?? 0);
    if (!(days >= 1)) findings.push(`${file}: aws_db_instance.${name}: automated backups off (backup_retention_period=${db.backup_retention_period})`);
    else if (production && days < 7) findings.push(`${file}: aws_db_instance.${name}: backup_retention_period ${days} < 7 days in production`);
  }
  const buckets = Object.keys(resources.aws_s3_bucket ?? {});
  const selections = Object.values(resources.aws_backup_selection ?? {});
  const plans = Object.values(resources.aws_backup_plan ?? {});
  const databaseFindings = findings.length;
  for (const bucket of buckets) {
    const covered = selections.some((s) => listOf<string>(s.resources).some((r) => r.includes(`aws_s3_bucket.${bucket}.arn`)));
    if (!covered || plans.length === 0) findings.push(`${file}: aws_s3_bucket.${bucket}: not in an AWS Backup plan`);
  }
  // Without a plan at all, outside production, that is the environment's choice (backup.awsBackupPlan: false).
  const noPlanByChoice = !production && plans.length === 0 && databaseFindings === 0;
  return check('5', 'Backup: automated backups for RDS and S3', findings, noPlanByChoice ? 'no AWS Backup plan, by choice (backup.awsBackupPlan: false); required in production only' : undefined);
}

/** The Helm values of the Argo CD Application that installs `chart`, when there is one. */
function helmApplication(objects: K8sObject[], chart: string): { values: Record<string, any>; source: string } | undefined {
  const app = objects.find((o) => o.kind === 'Application' && (o.spec?.source as { chart?: string } | undefined)?.chart === chart);
  if (!app) return undefined;
  const helm = (app.spec?.source as { helm?: { valuesObject?: Record<string, any> } }).helm;
  return { values: helm?.valuesObject ?? {}, source: describe(app) };
}

/** IAM policy documents whose IRSA condition names this service account. */
function trustsServiceAccount(tf: { data?: TfResources }, subject: string): boolean {
  return Object.values(tf.data?.aws_iam_policy_document ?? {}).some((doc) =>
    listOf<{ condition?: unknown }>(doc.statement).some((st) => listOf<{ values?: unknown }>(st.condition).some((c) => listOf(c.values).includes(subject))),
  );
}

const NODE_AUTOSCALING = 'Node autoscaling: a node autoscaler over every node group, with its IAM role';

function checkNodeAutoscaling(objects: K8sObject[], tf: { resource?: TfResources; data?: TfResources }, file: string): CheckResult {
  const findings: string[] = [];
  const groups = Object.entries(tf.resource?.aws_eks_node_group ?? {});
  const autoscaler = helmApplication(objects, 'cluster-autoscaler');
  if (!autoscaler) {
    findings.push('no Argo CD Application installs the cluster-autoscaler chart: nothing adds nodes when workers scale out');
    return check('nodes', NODE_AUTOSCALING, findings);
  }
  const v = autoscaler.values;
  const clusters = Object.values(tf.resource?.aws_eks_cluster ?? {}).map((c) => c.name);
  if (!clusters.includes(v.autoDiscovery?.clusterName)) {
    findings.push(`${autoscaler.source}: autoDiscovery.clusterName ${JSON.stringify(v.autoDiscovery?.clusterName)} is not the cluster (${clusters.join(', ')})`);
  }
  const account = v.rbac?.serviceAccount?.name;
  if (!v.rbac?.serviceAccount?.annotations?.['eks.amazonaws.com/role-arn']) findings.push(`${autoscaler.source}: its service account has no IRSA role`);
  if (!trustsServiceAccount(tf, `system:serviceaccount:kube-system:${account}`)) {
    findings.push(`${file}: no IAM role trusts system:serviceaccount:kube-system:${account}`);
  }
  const groupsMax = groups.reduce((sum, [, g]) => sum + Number((g.scaling_config as { max_size?: number })?.max_size ?? 0), 0);
  const ceiling = Number(v.extraArgs?.['max-nodes-total'] ?? Infinity);
  if (ceiling < groupsMax) findings.push(`${autoscaler.source}: max-nodes-total ${ceiling} is below the node groups' maxSize sum ${groupsMax}`);
  if (groups.length === 0) findings.push(`${file}: no aws_eks_node_group`);
  return check('nodes', NODE_AUTOSCALING, findings);
}

function checkNetworkPolicyEnforcement(objects: K8sObject[], tf: { resource?: TfResources }, file: string): CheckResult {
  const findings: string[] = [];
  const cni = Object.entries(tf.resource?.aws_eks_addon ?? {}).find(([, a]) => a.addon_name === 'vpc-cni');
  if (!cni) findings.push(`${file}: no vpc-cni add-on`);
  else {
    let config: { enableNetworkPolicy?: string } = {};
    try {
      config = JSON.parse(String(cni[1].configuration_values ?? '{}'));
    } catch {
      findings.push(`${file}: aws_eks_addon.${cni[0]}: configuration_values is not JSON`);
    }
    if (config.enableNetworkPolicy !== 'true') {
      findings.push(`${file}: aws_eks_addon.${cni[0]}: enableNetworkPolicy is not "true": NetworkPolicies would be accepted and ignored`);
    }
  }
  const denies = objects.filter((o) => o.kind === 'NetworkPolicy' && Object.keys((o.spec?.podSelector as object) ?? { x: 1 }).length === 0 && listOf(o.spec?.policyTypes).length === 2);
  if (denies.length === 0) findings.push('no default-deny NetworkPolicy (empty podSelector, Ingress and Egress)');
  return check('netpol', 'Network policies: enforced by the VPC CNI, default deny in the namespace', findings);
}

function checkClusterAccess(tf: { resource?: TfResources }, production: boolean, file: string): CheckResult {
  const findings: string[] = [];
  const clusters = Object.entries(tf.resource?.aws_eks_cluster ?? {});
  if (clusters.length === 0) findings.push(`${file}: no aws_eks_cluster`);
  for (const [name, cluster] of clusters) {
    const access = cluster.access_config as { authentication_mode?: string } | undefined;
    if (!/API/.test(String(access?.authentication_mode))) findings.push(`${file}: aws_eks_cluster.${name}: authentication mode is not API (access entries)`);
    const vpc = cluster.vpc_config as { endpoint_public_access?: boolean; public_access_cidrs?: string[] } | undefined;
    if (production && vpc?.endpoint_public_access && (vpc.public_access_cidrs ?? ['0.0.0.0/0']).includes('0.0.0.0/0')) {
      findings.push(`${file}: aws_eks_cluster.${name}: the public API endpoint is open to 0.0.0.0/0 in production`);
    }
  }
  const admins = Object.values(tf.resource?.aws_eks_access_policy_association ?? {}).filter(
    (a) => String(a.policy_arn).endsWith('/AmazonEKSClusterAdminPolicy') && (a.access_scope as { type?: string })?.type === 'cluster',
  );
  if (admins.length === 0) findings.push(`${file}: no access entry with AmazonEKSClusterAdminPolicy: nobody can administer the cluster`);
  return check('access', 'Cluster access: admin access entries; no API endpoint open to the internet in production', findings);
}

function checkImages(objects: K8sObject[], production: boolean): CheckResult {
  const findings: string[] = [];
  for (const o of objects) {
    for (const c of containersOf(o)) {
      const image = c.image ?? '';
      const last = String(image.split('/').pop());
      if (!image) findings.push(`${describe(o)}: container ${c.name} has no image`);
      else if (image.endsWith(':latest') || !/[:@]/.test(last)) findings.push(`${describe(o)}: container ${c.name} runs ${image} (latest or untagged)`);
      else if (last.split('@')[0].endsWith(`:${UNRELEASED_TAG}`)) {
        findings.push(`${describe(o)}: container ${c.name} runs the placeholder ${image}: no release (set the environment's images.release to a release record)`);
      } else if (production && !IMAGE_DIGEST.test(String(image.split('@')[1]))) {
        findings.push(`${describe(o)}: container ${c.name} runs ${image} without a digest: production pins what it pulls`);
      }
    }
  }
  const onlyUnreleased = findings.every((f) => f.includes(`:${UNRELEASED_TAG}: no release`));
  return check(
    'images',
    production ? 'Images: a released tag with its digest' : 'Images: a released tag, never latest',
    findings,
    !production && onlyUnreleased ? 'no release yet, until the first release' : undefined,
  );
}

/** Lines of `text` matching a secret pattern, as `file:line: <kind>` (the value itself is never printed). */
export function findSecrets(text: string, file: string): string[] {
  const findings: string[] = [];
  text.split('\n').forEach((line, i) => {
    for (const { name, pattern } of SECRET_PATTERNS) {
      if (pattern.test(line)) findings.push(`${file}:${i + 1}: looks like a ${name}`);
    }
  });
  return findings;
}

function checkSecrets(objects: K8sObject[], files: TextFile[]): CheckResult {
  const findings = files.flatMap((f) => findSecrets(f.text, f.path));
  for (const o of objects.filter((x) => x.kind === 'Secret' && (x.data || x.stringData))) {
    findings.push(`${describe(o)}: a Secret with a value in the output; use an ExternalSecret`);
  }
  return check('secrets', 'Secrets: no secret value in the synthesized output', findings);
}

/** The orchestrator's variables that bound what OTLP may bring in (go-live check `online`). */
const ONLINE_ENV = ['TRACE_RETENTION_DAYS', 'PROJECT_SPANS_PER_SECOND', 'MAX_TRACE_BODY_BYTES'] as const;

/**
 * Online evaluation: `POST /v1/traces` is reached only through the Ingress's TLS (a `/v1` path on a host the
 * TLS block covers), the orchestrator bounds what OTLP brings in (retention, span rate, body size, each set),
 * and the quality alert exists (check 4 holds that every alert reaches Slack).
 */
function checkOnlineEvaluation(objects: K8sObject[]): CheckResult {
  const findings: string[] = [];
  const ingresses = objects.filter((o) => o.kind === 'Ingress');
  const routed = ingresses.filter((o) => {
    const tlsHosts = new Set(listOf<{ hosts?: unknown }>(o.spec?.tls).flatMap((t) => listOf<string>(t?.hosts)));
    return listOf<{ host?: string; http?: { paths?: unknown } }>(o.spec?.rules).some(
      (r) => r?.host !== undefined && tlsHosts.has(r.host) && listOf<{ path?: string }>(r.http?.paths).some((p) => p?.path === '/v1' || p?.path === '/v1/traces'),
    );
  });
  if (routed.length === 0) findings.push('no Ingress routes /v1 (POST /v1/traces) on a host its TLS covers: agents could not send traces, or would send them in clear text');
  const orchestrator = objects.find((o) => o.kind === 'Deployment' && o.metadata?.name === 'orchestrator');
  if (!orchestrator) findings.push('no orchestrator Deployment');
  else {
    const env = new Map(containersOf(orchestrator).flatMap((c) => (c.env ?? []).map((e) => [e.name, e.value] as const)));
    for (const name of ONLINE_ENV) {
      const value = env.get(name);
      if (value === undefined || !/^[1-9]\d*$/.test(value)) findings.push(`${describe(orchestrator)}: ${name} is ${value === undefined ? 'not set' : JSON.stringify(value)}; set a positive whole number`);
    }
  }
  const rules = objects.filter((o) => o.kind === 'PrometheusRule');
  const alert = rules
    .flatMap((o) => listOf<{ rules?: unknown }>(o.spec?.groups).flatMap((g) => listOf<{ alert?: string }>(g.rules)))
    .find((r) => r.alert === 'EvalOnlineQualityDrop');
  // Before any PrometheusRule exists, check 4 is pending and says so; its routing of every alert is check 4's too.
  if (rules.length > 0 && !alert) findings.push('no EvalOnlineQualityDrop rule: a drop in production quality would not be alerted');
  return check('online', 'Online evaluation: OTLP behind the Ingress TLS, span limits and retention set, the quality alert routed', findings);
}

/** One environment's synthesized files, as text: what `checkSynthesized` reads. */
export interface SynthesizedFiles {
  readonly name: string;
  readonly production: boolean;
  /** The Terraform JSON (`cdktf.out/stacks/<env>/cdk.tf.json`). */
  readonly terraform: TextFile;
  /** The Kubernetes YAML files (`dist/<env>/*.yaml`). */
  readonly manifests: readonly TextFile[];
}

/** Runs every check on one environment's synthesized files, as written to disk. */
export function checkEnvironment(env: SynthesizedEnvironment): EnvironmentReport {
  if (!existsSync(env.terraformFile)) throw new Error(`${env.terraformFile}: no synthesized Terraform (run the Terraform synth first)`);
  const manifests = readManifestFiles(env.manifestDir);
  return checkSynthesized({ name: env.name, production: env.production, terraform: { path: env.terraformFile, text: readFileSync(env.terraformFile, 'utf8') }, manifests });
}

/** Runs every check on one environment's synthesized files, given their text. */
export function checkSynthesized(env: SynthesizedFiles): EnvironmentReport {
  const objects = loadManifests(env.manifests);
  const terraformFile = env.terraform.path;
  let tf: { resource?: TfResources; data?: TfResources };
  try {
    tf = JSON.parse(env.terraform.text);
  } catch (error) {
    throw new Error(`${terraformFile}: not valid JSON: ${(error as Error).message}`);
  }
  return {
    environment: env.name,
    production: env.production,
    checks: [
      checkResources(objects),
      checkAutoscaling(objects),
      checkRetryPolicy(objects),
      checkAlerting(objects),
      checkBackups(tf, env.production, terraformFile),
      checkSecrets(objects, [env.terraform, ...env.manifests]),
      checkImages(objects, env.production),
      checkNodeAutoscaling(objects, tf, terraformFile),
      checkNetworkPolicyEnforcement(objects, tf, terraformFile),
      checkClusterAccess(tf, env.production, terraformFile),
      checkOnlineEvaluation(objects),
    ],
  };
}

// .stryker-tmp: StrykerJS's sandbox copies of the tree; reports: its HTML report, which embeds the sources.
const IGNORED_DIRS = new Set(['node_modules', '.git', 'cdktf.out', 'dist', 'lib', 'coverage', '.tmp', '.stryker-tmp', 'reports']);

/** Scans a source tree (not the build output, not dependencies) for secret-looking values. */
export function scanTreeForSecrets(root: string): string[] {
  const findings: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir)) {
      if (IGNORED_DIRS.has(entry) || entry.endsWith('.tgz')) continue;
      const path = join(dir, entry);
      const stat = statSync(path);
      if (stat.isDirectory()) walk(path);
      else if (stat.size < 1024 * 1024) findings.push(...findSecrets(readFileSync(path, 'utf8'), relative(root, path)));
    }
  };
  walk(root);
  return findings;
}

/** True when a production environment has a failed check (pending is not a pass, but not a failure). */
export function hasProductionFailure(reports: EnvironmentReport[]): boolean {
  return reports.some((r) => r.production && r.checks.some((c) => c.status === 'fail'));
}

const MARK: Record<CheckStatus, string> = { pass: 'PASS', fail: 'FAIL', pending: 'PENDING' };

/** A table per environment, then every finding. */
export function formatReports(reports: EnvironmentReport[]): string {
  const lines: string[] = [];
  for (const report of reports) {
    lines.push(`go-live checks: ${report.environment}${report.production ? ' (production)' : ''}`);
    const width = Math.max(...report.checks.map((c) => c.title.length));
    for (const c of report.checks) {
      const why = c.expected ? ` (expected in ${report.environment}: ${c.expected})` : '';
      lines.push(`  ${c.id.padEnd(8)} ${c.title.padEnd(width)}  ${MARK[c.status]}${why}`);
      for (const finding of c.findings) lines.push(`           - ${finding}`);
    }
    lines.push('');
  }
  return lines.join('\n');
}
