import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolveEnvironment, type EnvironmentInput } from '@ai-eval-platform/constructs';

/**
 * A team's configuration keeps working within a major version. The newest released configuration (a fixture)
 * must resolve with the current code and belong to the package's major version; an older major's fixture is
 * refused with exactly the upgrade steps its changelog entry gives.
 */
const root = join(__dirname, '../..');
const fixtures = join(root, 'test/fixtures/compat');
const versionOf = (file: string) => /^environment-(\d+)\.(\d+)\.(\d+)\.json$/.exec(file)!.slice(1).map(Number);
const released = readdirSync(fixtures)
  .filter((f) => f.startsWith('environment-'))
  .sort((a, b) => versionOf(a).reduce((d, n, i) => d || n - versionOf(b)[i], 0));
const newest = released[released.length - 1];
const fixture = (file: string) => JSON.parse(readFileSync(join(fixtures, file), 'utf8')) as EnvironmentInput;
const { version } = JSON.parse(readFileSync(join(root, 'constructs/package.json'), 'utf8')) as { version: string };
const changelog = readFileSync(join(root, 'constructs/CHANGELOG.md'), 'utf8');

test('the newest released configuration belongs to this major version and still resolves', () => {
  expect(released.length).toBeGreaterThanOrEqual(2);
  expect(versionOf(newest)[0]).toBe(Number(version.split('.')[0]));
  const env = resolveEnvironment(fixture(newest));
  expect(env.name).toBe('staging');
  expect(env.github.repository).toBe('acme/support-evals');
});

test('each version has its changelog entry', () => {
  expect(changelog).toContain(`## ${version}\n`);
  expect(readFileSync(join(root, 'evalctl/CHANGELOG.md'), 'utf8')).toContain(`## ${version}\n`);
});

test("0.1.0's configuration is refused with the fields the changelog's upgrade steps name, and nothing is silently dropped", () => {
  let message = '';
  try {
    resolveEnvironment(fixture('environment-0.1.0.json'));
  } catch (error) {
    message = (error as Error).message;
  }
  const fields = [...message.matchAll(/^ {2}- staging: ([\w.]+): /gm)].map((m) => m[1]);
  expect(fields).toEqual(['github', 'images.orchestrator', 'images.worker', 'addons']);
  expect(message).toContain('images.orchestrator: removed in 1.0.0: the stack creates the ECR repositories, and images.release (a release record) names the build the workloads run');
  const upgrade = changelog.slice(changelog.indexOf('**Upgrading from 0.1.0**'));
  for (const field of ['github', 'addons', 'images.orchestrator', 'images.worker']) expect(upgrade).toContain(`\`${field}`);
});

test('a misspelt field is refused, naming it, where 0.1.0 dropped it', () => {
  const misspelt = { ...fixture(newest), databse: { instanceClass: 'db.t4g.medium' } } as unknown as EnvironmentInput;
  expect(() => resolveEnvironment(misspelt)).toThrow(/staging: databse: not a configuration field \(a misspelling\?\)/);
});
