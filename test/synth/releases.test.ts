import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { checkEnvironment, ReleaseRecordError, RELEASE_SCHEMA, type ReleaseRecord } from '@ai-eval-platform/constructs';
import { environments, loadEnvironments } from '../../synth/environments';
import { makeReleaseRecord, pendingCopies, promote, readReleaseRecord, releaseOf } from '../../synth/releases';
import { synthKubernetes } from '../../synth/k8s';
import { synthTerraform } from '../../synth/terraform';

type Obj = Record<string, any>; // manifests are untyped YAML

const work = mkdtempSync(join(tmpdir(), 'releases-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let n = 0;
const dir = () => mkdtempSync(join(work, `case-${n++}-`));

const digest = () => `sha256:${randomBytes(32).toString('hex')}`;
const DEV_REGISTRY = '111111111111.dkr.ecr.eu-west-1.amazonaws.com';
const PROD_REGISTRY = '222222222222.dkr.ecr.eu-west-1.amazonaws.com';

/** What the release workflow writes after pushing a build of main to dev's repositories. */
function fakeRelease(version?: string): { record: ReleaseRecord; file: string } {
  const record = makeReleaseRecord({
    commit: randomBytes(20).toString('hex'),
    version,
    images: {
      orchestrator: `${DEV_REGISTRY}/ai-eval-platform-dev/orchestrator:tag-is-ignored@${digest()}`,
      worker: `${DEV_REGISTRY}/ai-eval-platform-dev/worker@${digest()}`,
    },
  });
  const file = join(dir(), 'release.json');
  writeFileSync(file, JSON.stringify(record));
  return { record, file };
}

/** The image of every container of the platform's workloads in `dist/<env>`, by workload. */
function imagesIn(out: string, env: string): Record<string, string[]> {
  const docs = parseAllDocuments(readFileSync(join(out, env, 'platform.k8s.yaml'), 'utf8')).map((d) => d.toJS() as Obj);
  const images: Record<string, string[]> = {};
  for (const o of docs.filter((d) => ['Deployment', 'Job'].includes(d.kind))) {
    const pod = o.spec.template.spec;
    images[`${o.kind}/${o.metadata.name}`] = [...(pod.initContainers ?? []), ...pod.containers].map((c: Obj) => c.image);
  }
  return images;
}

describe('releases: the images a build pushed reach the manifests', () => {
  it('an environment that follows main runs the release record it is given, by tag and digest, in every workload', () => {
    const { record, file } = fakeRelease();
    const out = join(dir(), 'dist');
    synthKubernetes(out, loadEnvironments(undefined, { dir: dir(), followed: file }));
    const orchestrator = `${DEV_REGISTRY}/ai-eval-platform-dev/orchestrator:${record.commit}@${record.images.orchestrator.digest}`;
    const worker = `${DEV_REGISTRY}/ai-eval-platform-dev/worker:${record.commit}@${record.images.worker.digest}`;
    const dev = imagesIn(out, 'dev');
    expect(dev['Deployment/orchestrator']).toEqual([orchestrator]);
    expect(dev['Deployment/worker']).toEqual([worker]);
    // The migration Job runs the orchestrator image.
    expect(dev['Job/migrations']).toEqual([orchestrator]);
    // Production never follows main: without its own pin it gets the placeholder, and the go-live check refuses it.
    expect(imagesIn(out, 'prod')['Deployment/worker']).toEqual([`${PROD_REGISTRY}/ai-eval-platform-prod/worker:unreleased`]);
  });

  it('promotion pins prod by one file the commit changes; prod pulls the same digest from its own registry', () => {
    const pins = dir();
    const first = fakeRelease('1.4.0');
    const { file, from, to } = promote('prod', first.file, environments, pins);
    expect({ from, to }).toEqual({ from: undefined, to: first.record.commit });
    expect(readReleaseRecord(file)).toEqual(first.record);
    const next = fakeRelease();
    expect(promote('prod', next.file, environments, pins)).toMatchObject({ from: first.record.commit, to: next.record.commit });
    // The pin wins over the build being published; dev (unpinned) follows the build.
    const followed = fakeRelease();
    const envs = loadEnvironments(undefined, { dir: pins, followed: followed.file });
    const out = join(dir(), 'dist');
    synthKubernetes(out, envs);
    expect(imagesIn(out, 'prod')['Deployment/worker']).toEqual([`${PROD_REGISTRY}/ai-eval-platform-prod/worker:${next.record.commit}@${next.record.images.worker.digest}`]);
    expect(imagesIn(out, 'dev')['Deployment/worker']).toEqual([`${DEV_REGISTRY}/ai-eval-platform-dev/worker:${followed.record.commit}@${followed.record.images.worker.digest}`]);
    expect(releaseOf({ name: 'prod', production: true }, { dir: pins, followed: followed.file }).source).toBe('pinned');
    // The copies the GitOps publish makes before it commits prod's manifests: by digest, across accounts.
    expect(pendingCopies(environments, { dir: pins, followed: followed.file })).toEqual([
      { env: 'prod', image: 'orchestrator', from: `${DEV_REGISTRY}/ai-eval-platform-dev/orchestrator@${next.record.images.orchestrator.digest}`, to: `${PROD_REGISTRY}/ai-eval-platform-prod/orchestrator:${next.record.commit}`, digest: next.record.images.orchestrator.digest },
      { env: 'prod', image: 'worker', from: `${DEV_REGISTRY}/ai-eval-platform-dev/worker@${next.record.images.worker.digest}`, to: `${PROD_REGISTRY}/ai-eval-platform-prod/worker:${next.record.commit}`, digest: next.record.images.worker.digest },
    ]);
  });

  it('the go-live checks refuse a production image without a digest, and the placeholder anywhere', () => {
    const out = dir();
    const envs = loadEnvironments(undefined, { dir: dir() });
    synthTerraform(join(out, 'cdktf.out'), envs);
    synthKubernetes(join(out, 'dist'), envs);
    const report = (name: string, production: boolean) =>
      checkEnvironment({ name, production, terraformFile: join(out, `cdktf.out/stacks/${name}/cdk.tf.json`), manifestDir: join(out, 'dist', name) }).checks.find((c) => c.id === 'images')!;
    const prod = report('prod', true);
    expect(prod.status).toBe('fail');
    expect(prod.findings).toEqual(expect.arrayContaining([expect.stringMatching(/Deployment\/worker .*runs the placeholder .*worker:unreleased: no release/)]));
    expect(report('dev', false).status).toBe('fail');
    // A tag without its digest: fine in dev, refused in prod.
    const manifest = join(out, 'dist/prod/platform.k8s.yaml');
    writeFileSync(manifest, readFileSync(manifest, 'utf8').replace(/:unreleased/g, ':0123abc'));
    expect(report('prod', true).findings).toEqual(expect.arrayContaining([expect.stringMatching(/Deployment\/worker .*worker:0123abc without a digest: production pins what it pulls/)]));
  });

  it('refuses a broken release record, naming the file and the field', () => {
    const folder = dir();
    const write = (name: string, text: string) => (writeFileSync(join(folder, name), text), join(folder, name));
    const problems = (file: string) => {
      try {
        readReleaseRecord(file);
      } catch (error) {
        expect(error).toBeInstanceOf(ReleaseRecordError);
        return (error as Error).message;
      }
      throw new Error('expected a ReleaseRecordError');
    };
    const good = fakeRelease().record;
    expect(problems(write('truncated.json', JSON.stringify(good).slice(0, 40)))).toMatch(/^invalid release record .*truncated\.json:\n {2}- not JSON: /);
    const cut = write('cut.json', JSON.stringify({ ...good, images: { ...good.images, worker: { repository: good.images.worker.repository } } }));
    expect(problems(cut)).toBe(`invalid release record ${cut}:\n  - images.worker.digest: Invalid input: expected string, received undefined`);
    const extra = write('extra.json', JSON.stringify({ ...good, schema: 'something/else', commit: 'abc', latest: true }));
    expect(problems(extra).split('\n').slice(1)).toEqual([
      `  - schema: Invalid input: expected "${RELEASE_SCHEMA}"`,
      '  - commit: a full 40-character git commit SHA',
      '  - (root): Unrecognized key: "latest"',
    ]);
    expect(problems(join(folder, 'missing.json'))).toMatch(/missing\.json:\n {2}- no such file/);
    // A pinned environment with a broken record stops the synth rather than falling back to anything.
    write('prod.json', '{}');
    expect(() => loadEnvironments('prod', { dir: folder })).toThrow(/invalid release record .*prod\.json/);
  });

  it('the record command takes the pushed references as the build prints them', () => {
    expect(() => makeReleaseRecord({ commit: 'a'.repeat(40), images: { orchestrator: `${DEV_REGISTRY}/x/orchestrator`, worker: `${DEV_REGISTRY}/x/worker@${digest()}` } })).toThrow(
      /--orchestrator[\s\S]*expected <repository>@sha256:<digest>/,
    );
    const record = makeReleaseRecord({ commit: 'b'.repeat(40), version: 'v2.0.1', images: { orchestrator: `${DEV_REGISTRY}/x/orchestrator:v2@${digest()}`, worker: `${DEV_REGISTRY}/x/worker@${digest()}` } });
    expect(record).toMatchObject({ version: '2.0.1', images: { orchestrator: { repository: `${DEV_REGISTRY}/x/orchestrator` } } });
  });
});
