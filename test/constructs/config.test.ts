import { ConfigError, resolveEnvironment, overrideEnvironment } from '@ai-eval-platform/constructs';
import { dev } from '../../synth/environments/dev';
import { prod, prodOverrides } from '../../synth/environments/prod';
import { environment, rawEnvironment } from '../support/environments';

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return [...(error as ConfigError).problems];
  }
  throw new Error('expected a ConfigError, got none');
}

describe('environment configuration', () => {
  it('resolves the defaults and derived names of dev and prod', () => {
    const d = environment('dev');
    const p = environment('prod');
    expect(d.clusterName).toBe('ai-eval-platform-dev');
    expect(p.clusterName).toBe('ai-eval-platform-prod');
    expect(p.secrets.llmKeysName).toBe('prod/eval-platform/llm-keys');
    expect(d.secrets.llmKeysName).toBe('dev/eval-platform/llm-keys');
    expect(p.state.key).toBe('prod/terraform.tfstate');
    expect(d.kubernetesVersion).not.toBe('1.29');
    expect(p.bucket.name).toBe('ai-eval-platform-prod-artifacts-222222222222');
  });

  it('layers prod over dev like values-prod.yaml: objects merge, arrays and scalars replace', () => {
    expect(prod.nodeGroups).toEqual(dev.nodeGroups);
    expect(prod.database.multiAz).toBe(true);
    expect(prod.database.engineVersion).toBe(dev.database.engineVersion);
    expect(prod.images.orchestrator.tag).toBe(dev.images.orchestrator.tag);
    expect(prod.images.orchestrator.repository).toBe(prodOverrides.images.orchestrator.repository);
    expect(dev.database.multiAz).toBe(false);
    const replaced = overrideEnvironment(dev, { nodeGroups: { general: { instanceTypes: ['m6i.large'] } } });
    expect(replaced.nodeGroups.general.instanceTypes).toEqual(['m6i.large']);
    expect(replaced.nodeGroups.general.maxSize).toBe(3);
  });

  it('keeps the brief node groups', () => {
    const { general, workers_spot } = environment('prod').nodeGroups;
    expect(general).toMatchObject({ instanceTypes: ['t3.large'], minSize: 1, maxSize: 3, desiredSize: 2, capacityType: 'ON_DEMAND' });
    expect(workers_spot).toMatchObject({ minSize: 2, maxSize: 10, desiredSize: 2, capacityType: 'SPOT' });
    expect(workers_spot.instanceTypes[0]).toBe('c5.xlarge');
  });

  // Mutators reach into the raw input to break one field; `any` keeps each one a single readable line.
  const cases: [string, 'dev' | 'prod', (env: any) => void, string][] = [
    ['min > max', 'dev', (e) => (e.nodeGroups.general.minSize = 5), 'dev: nodeGroups.general.minSize: minSize (5) must be <= maxSize (3) (got 5)'],
    ['desired outside [min, max]', 'dev', (e) => (e.nodeGroups.workers_spot.desiredSize = 11), 'dev: nodeGroups.workers_spot.desiredSize: desiredSize (11) must be within [minSize, maxSize] = [2, 10] (got 11)'],
    ['a SPOT group with one instance type in prod', 'prod', (e) => (e.nodeGroups.workers_spot.instanceTypes = ['c5.xlarge']), 'prod: nodeGroups.workers_spot.instanceTypes: a SPOT group in production needs at least 2 instance types to find capacity, got ["c5.xlarge"] (got ["c5.xlarge"])'],
    ['prod without deletion protection', 'prod', (e) => (e.database.deletionProtection = false), 'prod: database.deletionProtection: must be true in production (got false)'],
    ['prod without RDS backups', 'prod', (e) => (e.database.backupRetentionDays = 0), 'prod: database.backupRetentionDays: must be >= 7 in production, got 0 (got 0)'],
    ['prod without the AWS Backup plan', 'prod', (e) => (e.backup.awsBackupPlan = false), 'prod: backup.awsBackupPlan: must be true in production (S3 and ClickHouse backups) (got false)'],
    ['an image tag latest', 'dev', (e) => (e.images.worker.tag = 'latest'), 'dev: images.worker.tag: must be an immutable tag or digest, not "latest" (got "latest")'],
    ['requests above limits', 'dev', (e) => (e.worker.resources.memoryRequestMiB = 4096), 'dev: worker.resources.memoryRequestMiB: memoryRequestMiB (4096) must be <= memoryLimitMiB (1024) (got 4096)'],
    ['CPU requests above limits', 'prod', (e) => (e.orchestrator.resources.cpuRequestMilli = 3000), 'prod: orchestrator.resources.cpuRequestMilli: cpuRequestMilli (3000) must be <= cpuLimitMilli (2000) (got 3000)'],
    ['a wrong type', 'dev', (e) => (e.redis.nodes = 'two'), 'dev: redis.nodes: Invalid input: expected number, received string (got "two")'],
    ['a missing field', 'dev', (e) => delete e.alerting.slackChannel, 'dev: alerting.slackChannel: Invalid input: expected string, received undefined (got nothing)'],
  ];
  it.each(cases)('rejects %s, naming the environment, field, value and expectation', (_what, name, mutate, message) => {
    const input = rawEnvironment(name);
    mutate(input);
    expect(problemsOf(() => resolveEnvironment(input))).toContain(message);
  });

  it('reports every problem at once', () => {
    const input = rawEnvironment('prod') as any; // broken on purpose in two places
    input.database.multiAz = false;
    input.images.orchestrator.tag = 'latest';
    const problems = problemsOf(() => resolveEnvironment(input));
    expect(problems).toHaveLength(2);
    expect(String(problems)).toMatch(/database\.multiAz/);
    expect(String(problems)).toMatch(/images\.orchestrator\.tag/);
  });
});
