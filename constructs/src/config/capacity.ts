/**
 * Capacity arithmetic checked before synth: what the namespace quota admits, what a node group's nodes can
 * hold, and what the node autoscaler may add. Numbers are Kubernetes requests and limits, and node
 * allocatable as the EKS-optimized AMI computes it.
 */

/** vCPUs and the VPC CNI's max pods of the instance sizes node groups commonly use (memory: by family). */
const FAMILY_SIZES: Record<string, readonly [vcpu: number, maxPods: number]> = {
  large: [2, 29],
  xlarge: [4, 58],
  '2xlarge': [8, 58],
  '4xlarge': [16, 234],
  '8xlarge': [32, 234],
};
/** GiB of memory per vCPU by family. */
const FAMILY_MEMORY_PER_VCPU: Record<string, number> = {
  c5: 2, c5a: 2, c6i: 2, c6a: 2, c7i: 2, c7a: 2, c6g: 2, c7g: 2,
  m5: 4, m5a: 4, m6i: 4, m6a: 4, m7i: 4, m7a: 4, m6g: 4, m7g: 4, t3: 4, t3a: 4,
  r5: 8, r6i: 8, r6a: 8, r7i: 8, r6g: 8, r7g: 8,
};

export interface InstanceSize {
  readonly vcpu: number;
  readonly memoryMiB: number;
  readonly maxPods: number;
}

/** Size of an instance type, or undefined when the table does not know it. */
export function instanceSize(instanceType: string): InstanceSize | undefined {
  const [family, size] = instanceType.split('.');
  const perVcpu = FAMILY_MEMORY_PER_VCPU[family];
  const shape = FAMILY_SIZES[size];
  if (perVcpu === undefined || !shape) return undefined;
  const [vcpu, maxPods] = shape;
  return { vcpu, memoryMiB: vcpu * perVcpu * 1024, maxPods: family.startsWith('t3') && size === 'large' ? 35 : maxPods };
}

/**
 * Allocatable CPU and memory of a node, as the EKS AMI reserves them: CPU 6 % of the first core, 1 % of
 * the second, 0.5 % of the next two and 0.25 % of the rest; memory 255 MiB + 11 MiB per pod the node may
 * run, and 100 MiB for the eviction threshold.
 */
export function allocatable(size: InstanceSize): { cpuMilli: number; memoryMiB: number } {
  const cores = size.vcpu;
  const reserved = 60 + (cores > 1 ? 10 : 0) + Math.min(Math.max(cores - 2, 0), 2) * 5 + Math.max(cores - 4, 0) * 2.5;
  return { cpuMilli: Math.floor(cores * 1000 - reserved), memoryMiB: size.memoryMiB - (255 + 11 * size.maxPods) - 100 };
}

/**
 * Requests of the DaemonSets on every node (vpc-cni with its network-policy agent, kube-proxy, EBS CSI
 * node, pod identity agent, node exporter), rounded up: what a node has left for the platform's pods.
 */
export const NODE_DAEMONSET_REQUESTS = { cpuMilli: 300, memoryMiB: 400, pods: 6 } as const;

/** `500m` → 500, `2` → 2000, `1.5` → 1500 (millicores). */
export function cpuMilli(quantity: string | number): number {
  const text = String(quantity).trim();
  const m = /^(\d+(?:\.\d+)?)(m?)$/.exec(text);
  if (!m) throw new Error(`not a CPU quantity: ${JSON.stringify(quantity)}`);
  return m[2] === 'm' ? Number(m[1]) : Number(m[1]) * 1000;
}

const MEMORY_UNITS: Record<string, number> = { Ki: 1 / 1024, Mi: 1, Gi: 1024, Ti: 1024 * 1024, K: 1000 / 1048576, M: 1e6 / 1048576, G: 1e9 / 1048576, '': 1 / 1048576 };

/** `160Gi` → 163840, `512Mi` → 512 (MiB). */
export function memoryMiB(quantity: string | number): number {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|K|M|G|)$/.exec(String(quantity).trim());
  if (!m) throw new Error(`not a memory quantity: ${JSON.stringify(quantity)}`);
  return Number(m[1]) * MEMORY_UNITS[m[2]];
}

/** Pods of one shape that fit on one node of the given size beside the DaemonSets. */
export function podsPerNode(size: InstanceSize, pod: { cpuMilli: number; memoryMiB: number }): number {
  const node = allocatable(size);
  return Math.max(
    0,
    Math.min(
      Math.floor((node.cpuMilli - NODE_DAEMONSET_REQUESTS.cpuMilli) / pod.cpuMilli),
      Math.floor((node.memoryMiB - NODE_DAEMONSET_REQUESTS.memoryMiB) / pod.memoryMiB),
      size.maxPods - NODE_DAEMONSET_REQUESTS.pods,
    ),
  );
}

/** Requests and limits of the migration Job's container, which runs beside the services on every sync. */
export const MIGRATION_JOB_RESOURCES = { cpuRequestMilli: 100, cpuLimitMilli: 500, memoryRequestMiB: 128, memoryLimitMiB: 256 } as const;

/**
 * The share of a container's memory limit that Node's JavaScript heap may take (`--max-old-space-size`). Node
 * sizes its heap from the cgroup limit itself, but to about the whole limit, so V8 defers collection until the
 * kernel's OOM killer ends the pod. The rest covers what lives outside the heap: request bodies as Buffers,
 * code, stacks and the native libraries (the 512 MiB dev orchestrator peaked at 349–383 MiB with six
 * concurrent 31 MB bodies under a 384 MiB heap, against 479–517 MiB without one:
 * test/platform/tenant-safety.integration.test.ts).
 */
export const NODE_HEAP_SHARE_OF_LIMIT = 0.75;

/** `--max-old-space-size` for a Node container with this memory limit, in MiB. */
export function nodeHeapLimitMiB(memoryLimitMiB: number): number {
  return Math.floor(memoryLimitMiB * NODE_HEAP_SHARE_OF_LIMIT);
}

/**
 * `NODE_OPTIONS` for a Node container with this memory limit: the heap cap first, so options the caller
 * passes come after it and win (`--max-old-space-size` given twice takes the last).
 */
export function nodeOptionsFor(memoryLimitMiB: number, callerOptions?: string): string {
  return [`--max-old-space-size=${nodeHeapLimitMiB(memoryLimitMiB)}`, callerOptions?.trim()].filter(Boolean).join(' ');
}

/** `maxSurge` of the platform's Deployments, in percent (`PlatformWorkload` sets it). */
export const ROLLOUT_MAX_SURGE_PERCENT = 25;

/** A rolling update's extra pods: `maxSurge` in percent, which Kubernetes rounds up. */
export function rollingSurge(replicas: number): number {
  return Math.ceil((replicas * ROLLOUT_MAX_SURGE_PERCENT) / 100);
}

/** Most nodes of all node groups together: the node autoscaler's ceiling must reach it. */
export function nodeGroupsMaxTotal(nodeGroups: Record<string, { readonly maxSize: number }>): number {
  return Object.values(nodeGroups).reduce((sum, g) => sum + g.maxSize, 0);
}

interface Resources {
  readonly cpuRequestMilli: number;
  readonly cpuLimitMilli: number;
  readonly memoryRequestMiB: number;
  readonly memoryLimitMiB: number;
}

/** What `capacityProblems` reads of an environment (the validated configuration). */
export interface CapacityView {
  readonly nodeGroups: Record<string, { readonly instanceTypes: readonly string[]; readonly capacityType: string; readonly maxSize: number }>;
  readonly kubernetes: { readonly quota: { readonly cpuRequests: string; readonly memoryRequests: string; readonly cpuLimits: string; readonly memoryLimits: string; readonly pods: number } };
  readonly orchestrator: { readonly replicas: number; readonly resources: Resources };
  readonly worker: { readonly maxReplicas: number; readonly resources: Resources; readonly concurrency?: number };
  readonly addons: { readonly clusterAutoscaler: { readonly maxNodesTotal?: number } };
  readonly online?: { readonly expectedSpansPerSecond: number; readonly expectedScoredPerSecond: number; readonly secondsPerScoredCase: number };
}

/**
 * Orchestrator CPU per span taken over OTLP (decoded, mapped, inserted), in microseconds: `npm run bench:traces`
 * measured 32–34 µs on a 2-core AMD EPYC (protobuf and JSON), rounded up.
 */
export const ORCHESTRATOR_CPU_MICROS_PER_SPAN = 40;

/** The share of the orchestrators' CPU limit trace ingest may plan on; the API and the scheduler keep the rest. */
export const INGEST_CPU_SHARE = 0.5;

/** The share of the workers' slots at full scale online evaluation may plan on; offline runs keep the rest. */
export const ONLINE_SLOT_SHARE = 0.5;

/**
 * The online load an environment expects, against what it can take at full scale: spans per second against the
 * orchestrators' CPU (`ORCHESTRATOR_CPU_MICROS_PER_SPAN`, half their limit), and scored cases per second, each
 * holding a worker's slot for `secondsPerScoredCase` (Little's law), against half the workers' slots.
 */
export function onlineCapacityProblems(env: CapacityView): CapacityProblem[] {
  const problems: CapacityProblem[] = [];
  const online = env.online;
  if (!online) return problems;
  const ingestCores = (online.expectedSpansPerSecond * ORCHESTRATOR_CPU_MICROS_PER_SPAN) / 1e6;
  const ingestAllowed = (env.orchestrator.replicas * env.orchestrator.resources.cpuLimitMilli * INGEST_CPU_SHARE) / 1000;
  if (ingestCores > ingestAllowed) {
    problems.push({
      path: ['online', 'expectedSpansPerSecond'],
      message:
        `online.expectedSpansPerSecond ${online.expectedSpansPerSecond} × ${ORCHESTRATOR_CPU_MICROS_PER_SPAN} µs per span is ${ingestCores.toFixed(2)} cores, ` +
        `above ${INGEST_CPU_SHARE * 100}% of orchestrator.replicas ${env.orchestrator.replicas} × resources.cpuLimitMilli ${env.orchestrator.resources.cpuLimitMilli}m = ${ingestAllowed.toFixed(2)} cores`,
    });
  }
  // The worker's default concurrency (WORKER_CONCURRENCY) when the view does not say.
  const concurrency = env.worker.concurrency ?? 20;
  const slots = env.worker.maxReplicas * concurrency;
  const busy = online.expectedScoredPerSecond * online.secondsPerScoredCase;
  if (busy > slots * ONLINE_SLOT_SHARE) {
    problems.push({
      path: ['online', 'expectedScoredPerSecond'],
      message:
        `online.expectedScoredPerSecond ${online.expectedScoredPerSecond} × secondsPerScoredCase ${online.secondsPerScoredCase} keeps ${busy} worker slots busy, ` +
        `above ${ONLINE_SLOT_SHARE * 100}% of worker.maxReplicas ${env.worker.maxReplicas} × concurrency ${concurrency} = ${slots} slots`,
    });
  }
  return problems;
}

export interface CapacityProblem {
  readonly path: (string | number)[];
  readonly message: string;
}

/**
 * Everything that can run at once in the namespace at full scale: KEDA's maxReplicas workers and the
 * orchestrator's replicas, each with its rolling update's surge, and the migration Job. Checked against the
 * ResourceQuota, against the SPOT node group at its max size, and against the node autoscaler's ceiling.
 */
export function capacityProblems(env: CapacityView): CapacityProblem[] {
  const problems: CapacityProblem[] = [];
  const workers = env.worker.maxReplicas + rollingSurge(env.worker.maxReplicas);
  const orchestrators = env.orchestrator.replicas + rollingSurge(env.orchestrator.replicas);
  const w = env.worker.resources;
  const o = env.orchestrator.resources;
  const job = MIGRATION_JOB_RESOURCES;
  const demand = (pick: (r: Resources) => number, unit: string) => ({
    total: workers * pick(w) + orchestrators * pick(o) + pick(job),
    text: `worker.maxReplicas ${env.worker.maxReplicas} (+${workers - env.worker.maxReplicas} surge) × ${pick(w)}${unit} + orchestrator.replicas ${env.orchestrator.replicas} (+${orchestrators - env.orchestrator.replicas} surge) × ${pick(o)}${unit} + migration Job ${pick(job)}${unit}`,
  });
  const quota = env.kubernetes.quota;
  const rows = [
    ['cpuLimits', cpuMilli, (r: Resources) => r.cpuLimitMilli, 'm', 'resources.cpuLimitMilli'],
    ['cpuRequests', cpuMilli, (r: Resources) => r.cpuRequestMilli, 'm', 'resources.cpuRequestMilli'],
    ['memoryLimits', memoryMiB, (r: Resources) => r.memoryLimitMiB, 'Mi', 'resources.memoryLimitMiB'],
    ['memoryRequests', memoryMiB, (r: Resources) => r.memoryRequestMiB, 'Mi', 'resources.memoryRequestMiB'],
  ] as const;
  for (const [field, parse, pick, unit, resourceField] of rows) {
    let allowed: number;
    try {
      allowed = parse(quota[field]);
    } catch (error) {
      problems.push({ path: ['kubernetes', 'quota', field], message: (error as Error).message });
      continue;
    }
    const need = demand(pick, unit);
    if (need.total > allowed) {
      problems.push({
        path: ['kubernetes', 'quota', field],
        message: `${field} ${quota[field]} (${allowed}${unit}) is below full scale, by worker.${resourceField} and orchestrator.${resourceField}: ${need.text} = ${need.total}${unit}`,
      });
    }
  }
  const pods = workers + orchestrators + 1;
  if (pods > quota.pods) {
    problems.push({
      path: ['kubernetes', 'quota', 'pods'],
      message: `pods ${quota.pods} is below full scale: worker.maxReplicas ${env.worker.maxReplicas} and orchestrator.replicas ${env.orchestrator.replicas} with surge, and the migration Job, are ${pods} pods`,
    });
  }

  const spot = Object.entries(env.nodeGroups).find(([, g]) => g.capacityType === 'SPOT');
  if (spot) {
    const [name, group] = spot;
    const sizes = group.instanceTypes.map((t) => [t, instanceSize(t)] as const);
    const unknown = sizes.filter(([, s]) => !s).map(([t]) => t);
    if (unknown.length > 0) {
      problems.push({
        path: ['nodeGroups', name, 'instanceTypes'],
        message: `no size known for ${unknown.join(', ')}: capacity cannot be checked (known families: ${Object.keys(FAMILY_MEMORY_PER_VCPU).join(', ')}; sizes ${Object.keys(FAMILY_SIZES).join(', ')})`,
      });
    } else {
      // SPOT may hand out any of the listed types: the smallest decides.
      const perNode = Math.min(...sizes.map(([, s]) => podsPerNode(s!, { cpuMilli: w.cpuRequestMilli, memoryMiB: w.memoryRequestMiB })));
      const fit = perNode * group.maxSize;
      if (fit < workers) {
        problems.push({
          path: ['worker', 'maxReplicas'],
          message: `worker.maxReplicas ${env.worker.maxReplicas} (+${workers - env.worker.maxReplicas} surge = ${workers} pods) do not fit nodeGroups.${name}.maxSize ${group.maxSize}: ${perNode} workers per node (requests ${w.cpuRequestMilli}m / ${w.memoryRequestMiB}Mi on ${group.instanceTypes.join('|')}, beside the DaemonSets) × ${group.maxSize} = ${fit}`,
        });
      }
    }
  }

  problems.push(...onlineCapacityProblems(env));

  const groupsMax = nodeGroupsMaxTotal(env.nodeGroups);
  const ceiling = env.addons.clusterAutoscaler.maxNodesTotal;
  if (ceiling !== undefined && ceiling < groupsMax) {
    const each = Object.entries(env.nodeGroups).map(([n, g]) => `nodeGroups.${n}.maxSize ${g.maxSize}`).join(' + ');
    problems.push({
      path: ['addons', 'clusterAutoscaler', 'maxNodesTotal'],
      message: `maxNodesTotal ${ceiling} is below the node groups' maximum: ${each} = ${groupsMax}; the autoscaler would never reach it`,
    });
  }
  return problems;
}
