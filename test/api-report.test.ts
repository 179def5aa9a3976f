import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { API_ENTRIES, apiReportProblems, generateReports, pendingBumps, reportProblem } from '../scripts/api-report';

/**
 * The published packages' public API is reported (etc/api/*.api.md) and a change to it cannot land unnoticed:
 * a stale report fails, and a report that differs from the last release needs a changeset, major when a
 * declaration was removed or changed.
 */
const root = join(__dirname, '..');

test('the committed API reports are what API Extractor reports for the code now, and every change since the release is announced', () => {
  const generated = generateReports();
  expect([...generated.keys()]).toEqual(API_ENTRIES.map((e) => e.name));
  // EnvironmentInput, the configuration another team writes, is part of the reported surface.
  expect(generated.get('constructs')).toMatch(/export interface EnvironmentInput \{[\s\S]*readonly github: \{/);
  expect(generated.get('constructs-terraform')).toContain('export class PlatformStack extends TerraformStack');
  expect(generated.get('evalctl')).toContain('export function runSuites(');
  expect(apiReportProblems(generated)).toEqual([]);
}, 120_000);

describe('the rule a change to the public API follows', () => {
  const entry = API_ENTRIES.find((e) => e.name === 'constructs')!;
  const released = readFileSync(join(root, 'etc/api/released/constructs.api.md'), 'utf8');
  const added = released.replace('export interface EnvironmentInput {', 'export function newHelper(): void;\n\nexport interface EnvironmentInput {');
  const removed = released.replace(/^export function resolveEnvironment\(.*$/m, '');
  const changed = released.replace(/(export interface EnvironmentInput \{\n\s+readonly accountId: )string;/, '$1number;');

  test('a report that no longer matches the code fails, naming the command that rewrites it', () => {
    expect(reportProblem(entry, { generated: added, committed: released, released, pending: [] })).toMatch(/etc\/api\/constructs\.api\.md: the public API of @ai-eval-platform\/constructs changed and the report does not say so: run `npm run api`/);
  });
  test('an addition needs a changeset', () => {
    expect(reportProblem(entry, { generated: added, committed: added, released, pending: [] })).toMatch(/no changeset announces it: run `npx changeset` \(minor: only additions\)/);
    expect(reportProblem(entry, { generated: added, committed: added, released, pending: ['minor'] })).toBeUndefined();
  });
  test('a removal or a changed declaration needs a major changeset', () => {
    expect(reportProblem(entry, { generated: removed, committed: removed, released, pending: [] })).toMatch(/\(major: declarations were removed or changed\)/);
    expect(reportProblem(entry, { generated: changed, committed: changed, released, pending: ['minor'] })).toMatch(/1 declaration\(s\) .* were removed or changed .*first: export interface EnvironmentInput \{ → readonly accountId: string;\).* must be major, not minor/);
    expect(reportProblem(entry, { generated: changed, committed: changed, released, pending: ['major'] })).toBeUndefined();
  });
  test('an unchanged API needs nothing', () => {
    expect(reportProblem(entry, { generated: released, committed: released, released, pending: [] })).toBeUndefined();
  });
});

test('pending changesets are read as changesets writes them', () => {
  const dir = join(root, '.tmp', `changesets-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'brave-cats.md'), '---\n"@ai-eval-platform/constructs": major\n\'@ai-eval-platform/evalctl\': patch\n---\n\nA note.\n');
  writeFileSync(join(dir, 'README.md'), '---\n"@ai-eval-platform/constructs": patch\n---\n');
  expect(Object.fromEntries(pendingBumps(dir))).toEqual({ '@ai-eval-platform/constructs': ['major'], '@ai-eval-platform/evalctl': ['patch'] });
  rmSync(dir, { recursive: true, force: true });
});
