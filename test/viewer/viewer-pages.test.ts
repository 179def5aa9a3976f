import { fileViewerApp } from '../../src/cli/view-command';
import { viewerLinks } from '../../src/cli/viewer-links';
import { toMarkdownComment } from '../../src/runner/markdown';
import type { Report } from '../../src/contracts/report';
import { runSuites } from '../../src/runner/run-suites';
import { resolveSuite } from '../../src/suite/load';
import { FileViewerSource } from '../../src/viewer/file-source';
import { agreementOf } from '../../src/viewer/model';
import { CASES_PER_PAGE } from '../../src/viewer/app';

const NO_BUILD = { ci: null, git_sha: 'abc123', branch: 'main', pull_request: null, build_id: '42', build_url: null };

describe("agreement and Cohen's kappa", () => {
  const counts = (pass_pass: number, pass_fail: number, fail_pass: number, fail_fail: number, agreed = pass_pass + fail_fail) => ({
    reviews: pass_pass + pass_fail + fail_pass + fail_fail,
    agreed,
    pass_pass,
    pass_fail,
    fail_pass,
    fail_fail,
  });

  it.each([
    // The textbook table: po = 0.7, pe = 0.5·0.6 + 0.5·0.4 = 0.5, κ = 0.4.
    ['the textbook example', counts(20, 5, 10, 15), 0.7, 0.4],
    ['perfect agreement on both verdicts', counts(6, 0, 0, 4), 1, 1],
    ['agreement no better than chance', counts(1, 0, 1, 0), 0.5, 0],
    ['only passes, all agreed: kappa is undefined', counts(5, 0, 0, 0), 1, null],
    ['complete disagreement', counts(0, 3, 3, 0), 0, -1],
  ])('%s', (_name, table, rate, kappa) => {
    const view = agreementOf('faithfulness', table);
    expect(view.agreement_rate).toBe(rate);
    expect(view.kappa).toBe(kappa);
  });

  it('counts agreement from what reviewers said, which can differ from the verdicts (disagreeing with the reason only)', () => {
    expect(agreementOf('g_eval', counts(2, 0, 0, 0, 1)).agreement_rate).toBe(0.5);
  });
});

/** Two suites in one report (their case indexes repeat), with every status. */
async function report(outputs: string[]): Promise<Report> {
  const suite = (name: string) =>
    resolveSuite(
      {
        name,
        metrics: [{ name: 'icontains', value: 'paris' }, { name: 'exact_match', threshold: 1 }],
        cases: outputs.map((output, i) => ({
          id: `q${i}`,
          input: `Question ${i}`,
          actual_output: output,
          expected_output: 'Paris',
          topic: i % 2 ? 'odd' : 'even',
          tags: i === 0 ? ['first'] : [],
        })),
      },
      `${name}.yaml`,
      undefined,
      {},
    );
  const built = await runSuites([suite('capitals'), suite('capitals-again')], { env: {}, build: NO_BUILD });
  built.cases[1] = { ...built.cases[1], status: 'errored', error: 'target failed: HTTP 500' };
  return built;
}

/** The case links of a grid page, in order: `<index>:<id>`. */
const caseLinks = (html: string) => [...html.matchAll(/<th scope="row"><a href="\/runs\/report\/cases\/(\d+)(?:\?[^"]*)?">([^<]+)<\/a><\/th>/g)].map((m) => `${m[1]}:${m[2]}`);
const caseIndexes = (html: string) => caseLinks(html).map((link) => link.split(':')[0]);

async function page(app: ReturnType<typeof fileViewerApp>, path: string) {
  const response = await app.request(path);
  return { status: response.status, html: await response.text(), headers: response.headers };
}

test('a run page lists errored, then failed, then passed cases, by place in the report, and filters them', async () => {
  const head = await report(['Paris', 'Paris', 'Lyon', '<script>alert("x")</script>']);
  const app = fileViewerApp(new FileViewerSource([{ id: 'report', file: 'out/report.json', report: head }]));
  const run = await page(app, '/runs/report');
  expect(run.status).toBe(200);
  const ids = caseLinks(run.html);
  // Case 1 of the first suite errored; q2 and q3 fail in both suites (places 2, 3, 6, 7).
  expect(ids).toEqual(['1:q1', '2:q2', '3:q3', '6:q2', '7:q3', '0:q0', '4:q0', '5:q1']);
  expect(run.html).not.toContain('<script>alert');
  const failedExact = await page(app, '/runs/report?metric=exact_match&topic=odd');
  expect(caseIndexes(failedExact.html)).toEqual(['3', '7']);
  const tagged = await page(app, '/runs/report?tag=first');
  expect(caseIndexes(tagged.html)).toEqual(['0', '4']);
  // A case of the second suite is its own page, though its index in its suite repeats the first's.
  const second = await page(app, '/runs/report/cases/7');
  expect(second.html).toMatch(/<h1>q3 <span class="badge fail">failed<\/span><\/h1>/);
  expect(second.html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
});

test('paging: 50 cases a page, the reader told where they are', async () => {
  const big = await report(Array.from({ length: 60 }, (_, i) => (i % 3 ? 'Paris' : 'Rome')));
  const app = fileViewerApp(new FileViewerSource([{ id: 'report', file: 'report.json', report: big }]));
  const first = await page(app, '/runs/report');
  expect(caseLinks(first.html)).toHaveLength(CASES_PER_PAGE);
  expect(first.html).toContain('1–50 of 120');
  const last = await page(app, '/runs/report?offset=100');
  expect(caseLinks(last.html)).toHaveLength(20);
  expect(last.html).toContain('101–120 of 120');
});

test('files are read only, unknown runs and cases are missing pages, bad queries name the parameter', async () => {
  const app = fileViewerApp(new FileViewerSource([{ id: 'report', file: 'report.json', report: await report(['Paris']) }]));
  expect((await page(app, '/runs/baseline')).status).toBe(404);
  expect((await page(app, '/runs/report/cases/5')).status).toBe(404);
  expect((await page(app, '/runs/report/cases/-1')).status).toBe(404);
  const bad = await page(app, '/runs/report?offset=-3');
  expect(bad.status).toBe(400);
  expect(bad.html).toMatch(/offset: Too small/);
  const posted = await app.request('/runs/report/cases/0/reviews', { method: 'POST', body: new URLSearchParams({ metric: 'icontains', verdict: 'agree' }) });
  expect(posted.status).toBe(409);
  const home = await page(app, '/');
  expect(home.headers.get('content-security-policy')).toMatch(/default-src 'none'; script-src 'self'/);
  expect(home.html).not.toContain('Judge agreement');
  // The stylesheet is served by the viewer itself, named by its content, cached for good.
  const css = /href="(\/assets\/viewer\.[0-9a-f]{12}\.css)"/.exec(home.html)![1];
  const asset = await app.request(css);
  expect(asset.status).toBe(200);
  expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
  expect((await app.request('/assets/viewer.000000000000.css')).status).toBe(404);
});

test('the gate comment links to the viewer: behind sign-in without a key, and also when the platform cannot give a link', async () => {
  const head: Report = { ...(await report(['Paris'])), platform: { server: 'http://127.0.0.1:9/', runs: [{ suite: 'capitals', run_id: 'r1' }] } };
  const base: Report = { ...head, platform: { server: 'http://127.0.0.1:9', runs: [{ suite: 'capitals', run_id: 'r0' }] } };
  const warnings: string[] = [];
  const warn = (message: string) => warnings.push(message);
  const unsigned = await viewerLinks(head, base, { warn });
  expect(unsigned).toEqual([{ suite: 'capitals', url: 'http://127.0.0.1:9/ui/compare?base=r0&head=r1', compares: true }]);
  expect(toMarkdownComment(head, { links: unsigned })).toContain('🔎 [capitals: open the comparison with the baseline in the viewer](http://127.0.0.1:9/ui/compare?base=r0&head=r1) (sign in with a project key)');
  // A baseline from another platform (or none) is not compared with.
  const refused = await viewerLinks(head, { ...base, platform: { server: 'https://other.example', runs: [] } }, { apiKey: 'aiev_key', warn });
  expect(refused).toEqual([{ suite: 'capitals', url: 'http://127.0.0.1:9/ui/runs/r1', compares: false }]);
  expect(warnings).toEqual([expect.stringMatching(/^evalctl gate: no signed viewer link for capitals \(.+\); the comment links to the page behind sign-in$/)]);
  expect(await viewerLinks({ ...head, platform: undefined }, base, { apiKey: 'aiev_key', warn })).toEqual([]);
});
