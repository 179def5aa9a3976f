import {
  allocatable,
  capacityProblems,
  cpuMilli,
  instanceSize,
  memoryMiB,
  nodeGroupsMaxTotal,
  nodeHeapLimitMiB,
  nodeOptionsFor,
  onlineCapacityProblems,
  ORCHESTRATOR_CPU_MICROS_PER_SPAN,
  podsPerNode,
  rollingSurge,
  type CapacityView,
} from '@ai-eval-platform/constructs';

/**
 * The capacity arithmetic that refuses an environment before synth (config.test.ts checks the messages on
 * the repository's environments). Each figure here is AWS's or Kubernetes' published one, worked by hand.
 */

describe('instance sizes, as AWS publishes them', () => {
  // GiB of memory per vCPU: compute optimized 2, general purpose (and burstable t3) 4, memory optimized 8.
  const FAMILIES: Record<number, string[]> = {
    2: ['c5', 'c5a', 'c6i', 'c6a', 'c7i', 'c7a', 'c6g', 'c7g'],
    4: ['m5', 'm5a', 'm6i', 'm6a', 'm7i', 'm7a', 'm6g', 'm7g', 't3', 't3a'],
    8: ['r5', 'r6i', 'r6a', 'r7i', 'r6g', 'r7g'],
  };
  // vCPUs, and the VPC CNI's max pods for the size (eni-max-pods.txt; a t3.large has more ENI addresses).
  const SIZES: Record<string, [number, number]> = { large: [2, 29], xlarge: [4, 58], '2xlarge': [8, 58], '4xlarge': [16, 234], '8xlarge': [32, 234] };

  test.each(Object.entries(FAMILIES).flatMap(([gib, families]) => families.map((family) => [family, Number(gib)] as const)))('%s: %i GiB per vCPU at every size', (family, gibPerVcpu) => {
    for (const [size, [vcpu, maxPods]] of Object.entries(SIZES)) {
      const expectedPods = family.startsWith('t3') && size === 'large' ? 35 : maxPods;
      expect([size, instanceSize(`${family}.${size}`)]).toEqual([size, { vcpu, memoryMiB: vcpu * gibPerVcpu * 1024, maxPods: expectedPods }]);
    }
  });

  test('a type the table does not know has no size (the capacity check then says so)', () => {
    for (const type of ['x9z.mega', 'c5.metal', 'p4d.24xlarge', 'c5', '', 'large.c5']) expect(instanceSize(type)).toBeUndefined();
  });
});

describe('allocatable, as the EKS AMI reserves it', () => {
  test.each([
    // [type, cpu: 6 % of core 1, 1 % of core 2, 0.5 % of cores 3–4, 0.25 % beyond; memory: 255 + 11 × max pods + 100 eviction]
    ['c5.large', 2000 - 70, 4096 - (255 + 11 * 29) - 100],
    ['m5.xlarge', 4000 - 80, 16384 - (255 + 11 * 58) - 100],
    ['c5.2xlarge', 8000 - 90, 16384 - (255 + 11 * 58) - 100],
    ['r6i.8xlarge', 32000 - 150, 262144 - (255 + 11 * 234) - 100],
    ['t3.large', 2000 - 70, 8192 - (255 + 11 * 35) - 100],
  ])('%s: %im CPU, %i MiB', (type, cpu, memory) => {
    expect(allocatable(instanceSize(type)!)).toEqual({ cpuMilli: cpu, memoryMiB: memory });
  });

  test('one core keeps 6 %; a fractional reservation rounds the allocatable down', () => {
    expect(allocatable({ vcpu: 1, memoryMiB: 2048, maxPods: 10 })).toEqual({ cpuMilli: 940, memoryMiB: 2048 - 365 - 100 });
    expect(allocatable({ vcpu: 5, memoryMiB: 0, maxPods: 0 }).cpuMilli).toBe(5000 - 83); // 82.5 reserved
  });
});

describe('pods per node, beside the DaemonSets (300m, 400 MiB, 6 pods)', () => {
  const c5xlarge = instanceSize('c5.xlarge')!; // 3920m, 7199 MiB, 58 pods
  test.each([
    ['CPU decides', { cpuMilli: 500, memoryMiB: 512 }, 7], // (3920−300)/500 = 7.24; (7199−400)/512 = 13.3
    ['memory decides', { cpuMilli: 100, memoryMiB: 1024 }, 6], // 36.2 by CPU; (7199−400)/1024 = 6.6
    ['the pod count decides', { cpuMilli: 10, memoryMiB: 10 }, 52], // 58 − 6
    ['nothing fits', { cpuMilli: 8000, memoryMiB: 512 }, 0],
    ['exactly fits', { cpuMilli: 3620, memoryMiB: 6799 }, 1],
  ])('%s', (_, pod, expected) => {
    expect(podsPerNode(c5xlarge, pod)).toBe(expected);
  });

  test('never negative, even on a node the DaemonSets fill', () => {
    expect(podsPerNode({ vcpu: 1, memoryMiB: 512, maxPods: 4 }, { cpuMilli: 1, memoryMiB: 1 })).toBe(0);
  });
});

describe('quantities, as Kubernetes writes them', () => {
  test.each([['500m', 500], ['2', 2000], ['1.5', 1500], [' 250m ', 250], [4, 4000], ['0.1', 100], ['1.5m', 1.5]])('CPU %j is %d millicores', (quantity, expected) => {
    expect(cpuMilli(quantity)).toBe(expected);
  });
  test.each(['', 'm', '2 cores', '-1', '1e3', '500M', '1.', 'x500m'])('CPU %j is refused, quoted', (quantity) => {
    expect(() => cpuMilli(quantity)).toThrow(`not a CPU quantity: ${JSON.stringify(quantity)}`);
  });
  test.each([
    ['160Gi', 163840], ['512Mi', 512], ['1Ti', 1048576], ['1024Ki', 1], ['2048', 2048 / 1048576], [' 1Gi ', 1024],
    ['1G', 1e9 / 1048576], ['1M', 1e6 / 1048576], ['1000K', 1e6 / 1048576], ['0.5Gi', 512], ['1.25Gi', 1280], [256, 256 / 1048576],
  ])('memory %j is %d MiB', (quantity, expected) => {
    expect(memoryMiB(quantity)).toBeCloseTo(expected, 9);
  });
  test.each(['', 'Gi', '1GB', '1gi', '-1Gi', '1 Gi', '1.Gi', 'x1Mi', '1Mix'])('memory %j is refused, quoted', (quantity) => {
    expect(() => memoryMiB(quantity)).toThrow(`not a memory quantity: ${JSON.stringify(quantity)}`);
  });
});

describe('Node heap and rollout arithmetic', () => {
  test('the heap takes three quarters of the memory limit, rounded down; the caller’s options follow and win', () => {
    expect([nodeHeapLimitMiB(512), nodeHeapLimitMiB(1024), nodeHeapLimitMiB(1023)]).toEqual([384, 768, 767]);
    expect(nodeOptionsFor(512)).toBe('--max-old-space-size=384');
    expect(nodeOptionsFor(2048, '  --enable-source-maps ')).toBe('--max-old-space-size=1536 --enable-source-maps');
    expect(nodeOptionsFor(2048, '   ')).toBe('--max-old-space-size=1536');
  });

  test('a rolling update adds 25 % of the replicas, rounded up', () => {
    expect([0, 1, 3, 4, 5, 40].map(rollingSurge)).toEqual([0, 1, 1, 1, 2, 10]);
  });

  test('the node groups’ most nodes together', () => {
    expect(nodeGroupsMaxTotal({})).toBe(0);
    expect(nodeGroupsMaxTotal({ a: { maxSize: 3 }, b: { maxSize: 10 } })).toBe(13);
  });
});

describe('capacityProblems', () => {
  const resources = (cpuRequestMilli: number, cpuLimitMilli: number, memoryRequestMiB: number, memoryLimitMiB: number) => ({ cpuRequestMilli, cpuLimitMilli, memoryRequestMiB, memoryLimitMiB });
  /** 10 workers (+3 surge) at 500m/1000m, 512/1024 MiB; 2 orchestrators (+1) at 250m/500m, 256/512 MiB; the Job. */
  const view = (): CapacityView => ({
    nodeGroups: { general: { instanceTypes: ['t3.large'], capacityType: 'ON_DEMAND', maxSize: 2 }, spot: { instanceTypes: ['c5.xlarge', 'm5.xlarge'], capacityType: 'SPOT', maxSize: 2 } },
    // Exactly full scale: 13 × 1000 + 3 × 500 + 500 = 15000m limits; 13 × 500 + 3 × 250 + 100 = 7350m requests;
    // 13 × 1024 + 3 × 512 + 256 = 15104Mi limits; 13 × 512 + 3 × 256 + 128 = 7552Mi requests; 13 + 3 + 1 = 17 pods.
    kubernetes: { quota: { cpuLimits: '15', cpuRequests: '7350m', memoryLimits: '15104Mi', memoryRequests: '7552Mi', pods: 17 } },
    orchestrator: { replicas: 2, resources: resources(250, 500, 256, 512) },
    worker: { maxReplicas: 10, resources: resources(500, 1000, 512, 1024) },
    addons: { clusterAutoscaler: { maxNodesTotal: 4 } },
  });
  const problems = (change: (v: any) => void = () => {}) => {
    const v = view();
    change(v);
    return capacityProblems(v);
  };

  test('exactly full scale fits: every bound is inclusive', () => {
    expect(problems()).toEqual([]);
    expect(problems((v) => delete v.addons.clusterAutoscaler.maxNodesTotal)).toEqual([]);
    expect(problems((v) => (v.nodeGroups.spot.capacityType = 'ON_DEMAND'))).toEqual([]);
  });

  test.each([
    ['cpuLimits', '14999m', 'cpuLimits 14999m (14999m) is below full scale, by worker.resources.cpuLimitMilli and orchestrator.resources.cpuLimitMilli: worker.maxReplicas 10 (+3 surge) × 1000m + orchestrator.replicas 2 (+1 surge) × 500m + migration Job 500m = 15000m'],
    ['cpuRequests', '7.349', 'cpuRequests 7.349 (7349m) is below full scale, by worker.resources.cpuRequestMilli and orchestrator.resources.cpuRequestMilli: worker.maxReplicas 10 (+3 surge) × 500m + orchestrator.replicas 2 (+1 surge) × 250m + migration Job 100m = 7350m'],
    ['memoryLimits', '15103Mi', 'memoryLimits 15103Mi (15103Mi) is below full scale, by worker.resources.memoryLimitMiB and orchestrator.resources.memoryLimitMiB: worker.maxReplicas 10 (+3 surge) × 1024Mi + orchestrator.replicas 2 (+1 surge) × 512Mi + migration Job 256Mi = 15104Mi'],
    ['memoryRequests', '7Gi', 'memoryRequests 7Gi (7168Mi) is below full scale, by worker.resources.memoryRequestMiB and orchestrator.resources.memoryRequestMiB: worker.maxReplicas 10 (+3 surge) × 512Mi + orchestrator.replicas 2 (+1 surge) × 256Mi + migration Job 128Mi = 7552Mi'],
  ])('a quota one unit short on %s names the quota, each side, and the sum', (field, value, message) => {
    expect(problems((v) => (v.kubernetes.quota[field] = value))).toEqual([{ path: ['kubernetes', 'quota', field], message }]);
  });

  test('an unreadable quota is named and the others still checked', () => {
    expect(problems((v) => Object.assign(v.kubernetes.quota, { cpuLimits: 'lots', memoryRequests: '1Mi' }))).toEqual([
      { path: ['kubernetes', 'quota', 'cpuLimits'], message: 'not a CPU quantity: "lots"' },
      { path: ['kubernetes', 'quota', 'memoryRequests'], message: expect.stringMatching(/^memoryRequests 1Mi \(1Mi\) is below full scale/) },
    ]);
  });

  test('a pod quota one short', () => {
    expect(problems((v) => (v.kubernetes.quota.pods = 16))).toEqual([
      { path: ['kubernetes', 'quota', 'pods'], message: 'pods 16 is below full scale: worker.maxReplicas 10 and orchestrator.replicas 2 with surge, and the migration Job, are 17 pods' },
    ]);
  });

  test('workers that do not fit the SPOT group at its max size: the smallest listed type decides', () => {
    // c5.xlarge takes 7 such workers (CPU), m5.xlarge 7; with a c5.large in the list, 3 per node × 2 = 6 < 13.
    expect(problems((v) => v.nodeGroups.spot.instanceTypes.push('c5.large'))).toEqual([
      {
        path: ['worker', 'maxReplicas'],
        message: 'worker.maxReplicas 10 (+3 surge = 13 pods) do not fit nodeGroups.spot.maxSize 2: 3 workers per node (requests 500m / 512Mi on c5.xlarge|m5.xlarge|c5.large, beside the DaemonSets) × 2 = 6',
      },
    ]);
    // 11 workers (+3 surge) are exactly the 14 that 7 per node × 2 nodes hold: they fit.
    expect(problems((v) => (v.worker.maxReplicas = 11)).filter((p) => p.path[0] === 'worker')).toEqual([]);
    // 7 per node × 2 = 14 ≥ 13: fits; 7 × 2 = 14 < 17 (13 + 4 surge) does not.
    expect(problems((v) => (v.worker.maxReplicas = 13))).toEqual(expect.arrayContaining([expect.objectContaining({ path: ['worker', 'maxReplicas'], message: expect.stringContaining('× 2 = 14') })]));
  });

  test('a SPOT type of unknown size is named, with the sizes known', () => {
    const found = problems((v) => (v.nodeGroups.spot.instanceTypes = ['c5.xlarge', 'z1d.xlarge', 'c5.9xlarge']));
    expect(found).toEqual([{ path: ['nodeGroups', 'spot', 'instanceTypes'], message: expect.stringMatching(/^no size known for z1d\.xlarge, c5\.9xlarge: capacity cannot be checked \(known families: c5, .*r7g; sizes large, xlarge, 2xlarge, 4xlarge, 8xlarge\)$/) }]);
  });

  test('a node autoscaler ceiling one below the node groups', () => {
    expect(problems((v) => (v.addons.clusterAutoscaler.maxNodesTotal = 3))).toEqual([
      { path: ['addons', 'clusterAutoscaler', 'maxNodesTotal'], message: "maxNodesTotal 3 is below the node groups' maximum: nodeGroups.general.maxSize 2 + nodeGroups.spot.maxSize 2 = 4; the autoscaler would never reach it" },
    ]);
  });
});

describe('onlineCapacityProblems: the online evaluators’ load at full scale', () => {
  const resources = (cpuLimitMilli: number) => ({ cpuRequestMilli: 100, cpuLimitMilli, memoryRequestMiB: 256, memoryLimitMiB: 512 });
  /** 2 orchestrators at 1000m: half is 1 core = 25,000 spans/s at 40 µs. 10 workers × 20 slots: half is 100 slots. */
  const view = (online: { expectedSpansPerSecond: number; expectedScoredPerSecond: number; secondsPerScoredCase: number }): CapacityView => ({
    nodeGroups: {},
    kubernetes: { quota: { cpuLimits: '100', cpuRequests: '100', memoryLimits: '100Gi', memoryRequests: '100Gi', pods: 100 } },
    orchestrator: { replicas: 2, resources: resources(1000) },
    worker: { maxReplicas: 10, concurrency: 20, resources: resources(1000) },
    addons: { clusterAutoscaler: {} },
    online,
  });

  test('exactly half the orchestrators’ CPU and half the workers’ slots fit; one more does not, and the message gives the arithmetic', () => {
    expect(ORCHESTRATOR_CPU_MICROS_PER_SPAN).toBe(40);
    expect(onlineCapacityProblems(view({ expectedSpansPerSecond: 25_000, expectedScoredPerSecond: 25, secondsPerScoredCase: 4 }))).toEqual([]);
    expect(onlineCapacityProblems(view({ expectedSpansPerSecond: 25_001, expectedScoredPerSecond: 25.25, secondsPerScoredCase: 4 }))).toEqual([
      {
        path: ['online', 'expectedSpansPerSecond'],
        message: 'online.expectedSpansPerSecond 25001 × 40 µs per span is 1.00 cores, above 50% of orchestrator.replicas 2 × resources.cpuLimitMilli 1000m = 1.00 cores',
      },
      {
        path: ['online', 'expectedScoredPerSecond'],
        message: 'online.expectedScoredPerSecond 25.25 × secondsPerScoredCase 4 keeps 101 worker slots busy, above 50% of worker.maxReplicas 10 × concurrency 20 = 200 slots',
      },
    ]);
    // Fewer slots per worker, and the worker's default of 20 when the view does not give one.
    const fewer = view({ expectedSpansPerSecond: 0, expectedScoredPerSecond: 13, secondsPerScoredCase: 4 });
    expect(onlineCapacityProblems({ ...fewer, worker: { ...fewer.worker, concurrency: 10 } }).map((p) => p.message)).toEqual([
      'online.expectedScoredPerSecond 13 × secondsPerScoredCase 4 keeps 52 worker slots busy, above 50% of worker.maxReplicas 10 × concurrency 10 = 100 slots',
    ]);
    expect(onlineCapacityProblems({ ...fewer, worker: { ...fewer.worker, concurrency: undefined } })).toEqual([]);
    // capacityProblems includes them.
    expect(capacityProblems(view({ expectedSpansPerSecond: 0, expectedScoredPerSecond: 26, secondsPerScoredCase: 4 })).map((p) => p.path.join('.'))).toEqual(['online.expectedScoredPerSecond']);
  });
});
