import { resolveEnvironment, type EnvironmentConfig, type EnvironmentInput, overrideEnvironment, type EnvironmentOverrides } from '@ai-eval-platform/constructs';
import { PlatformChart } from '@ai-eval-platform/constructs/k8s';
import { Testing } from 'cdk8s';
import { dev } from '../../synth/environments/dev';
import { prod } from '../../synth/environments/prod';

/** The repository's dev or prod environment with overrides layered on, validated. */
export function environment(name: 'dev' | 'prod', overrides: EnvironmentOverrides = {}): EnvironmentConfig {
  return resolveEnvironment(overrideEnvironment(name === 'dev' ? dev : prod, overrides));
}

export function rawEnvironment(name: 'dev' | 'prod'): EnvironmentInput {
  return structuredClone(name === 'dev' ? dev : prod) as EnvironmentInput;
}

/** What an environment's Deployment gives its container: the plain environment variables, the memory limit, and the time its pod is given to exit. */
export interface DeployedContainer {
  readonly env: Record<string, string>;
  readonly memoryLimitMiB: number;
  /** After this, the kubelet kills the pod (SIGKILL): the process must have exited on its own by then. */
  readonly terminationGracePeriodSeconds: number;
}

/**
 * The orchestrator's and worker's containers as the environment's synthesized Deployments run them (one
 * synth), so a test can start each service with the same `NODE_OPTIONS` and hold it to the same memory limit.
 */
export function deployedContainers(name: 'dev' | 'prod'): Record<'orchestrator' | 'worker', DeployedContainer> {
  const objects = Testing.synth(new PlatformChart(Testing.app(), 'platform', { env: environment(name) }));
  const containerOf = (deployment: 'orchestrator' | 'worker'): DeployedContainer => {
    const found = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === deployment);
    if (!found) throw new Error(`no Deployment ${deployment} in the ${name} manifests`);
    const container = found.spec.template.spec.containers.find((c: { name: string }) => c.name === deployment);
    const limit = /^(\d+)Mi$/.exec(container.resources.limits.memory);
    if (!limit) throw new Error(`${deployment}: memory limit ${container.resources.limits.memory} is not in Mi`);
    return {
      env: Object.fromEntries((container.env as { name: string; value: string }[]).map((e) => [e.name, e.value])),
      memoryLimitMiB: Number(limit[1]),
      terminationGracePeriodSeconds: found.spec.template.spec.terminationGracePeriodSeconds ?? 30,
    };
  };
  return { orchestrator: containerOf('orchestrator'), worker: containerOf('worker') };
}
