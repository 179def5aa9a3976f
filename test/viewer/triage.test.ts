import { fileViewerApp } from '../../src/cli/view-command';
import type { Report } from '../../src/contracts/report';
import { compareByCase, wordDiff } from '../../src/viewer/case-compare';
import { csvCell } from '../../src/viewer/export';
import { FileViewerSource } from '../../src/viewer/file-source';
import { score } from '../../src/viewer/layout';
import { startFakeLlmServer, type FakeLlmServer } from '../support/fake-llm-server';
import { BROKEN_ON_BRANCH, BROKEN_ON_MAIN, TRIAGE_CASES, triageReports } from '../support/triage-fixture';

/**
 * The viewer as an engineer triaging a regression uses it, over report files the real engine wrote (the fake
 * LLM behind the official SDKs): the grid's search, sorts, filters, columns and export; a case's neighbours;
 * comparison case by case; targets side by side. The browser test drives the same pages in Chromium.
 */
let fake: FakeLlmServer;
let reports: { base: Report; head: Report; matrix: Report };
let app: ReturnType<typeof fileViewerApp>;

beforeAll(async () => {
  fake = await startFakeLlmServer();
  reports = await triageReports(fake);
  app = fileViewerApp(
    new FileViewerSource([
      { id: 'report', file: 'head.json', report: reports.head },
      { id: 'baseline', file: 'base.json', report: reports.base },
      { id: 'matrix', file: 'matrix.json', report: reports.matrix },
    ]),
  );
}, 60_000);

afterAll(() => fake?.close());

async function page(path: string) {
  const response = await app.request(path);
  return { status: response.status, html: await response.text(), headers: response.headers };
}

/** The grid's rows: the case ids in order. */
const gridIds = (html: string) => [...html.matchAll(/<th scope="row"><a href="\/runs\/\w+\/cases\/\d+[^"]*">(.+?)<\/a><\/th>/g)].map((m) => m[1].replace(/<\/?mark>/g, ''));
const id = (i: number) => `order-${String(i).padStart(2, '0')}`;

describe('the grid', () => {
  it('shows each case with its input, outputs, tags and every metric’s score with the judge’s reason', async () => {
    const { html } = await page('/runs/report');
    expect(gridIds(html).slice(0, 5)).toEqual(BROKEN_ON_BRANCH.map(id));
    const row = /<tr data-href="\/runs\/report\/cases\/3">([\s\S]*?)<\/tr>/.exec(html)![1];
    expect(row).toContain('Where is my order 3? I ordered it last week');
    expect(row).toContain('Your order 3 ships within two days from our Mars hub via the Leeds warehouse.');
    expect(row).toContain('Order 3 ships within two days from the Leeds warehouse.');
    // The score with the reason on hover (title) and on click (details).
    expect(row).toMatch(/title="1 of 2 claims contradict the retrieval context[^"]*"><details class="reason"><summary>0\.5/);
    expect(html).toMatch(/<th scope="col" class="num"><a href="[^"]*sort=score%3Afaithfulness[^"]*"/);
  });

  it('searches the id, input and outputs case-insensitively and marks what matched', async () => {
    const { html } = await page('/runs/report?q=ORDER+13%3F');
    expect(gridIds(html)).toEqual(['order-13']);
    expect(html).toContain('Where is my <mark>order 13?</mark> I ordered');
    expect(html).toContain('Cases 1–1 of 1 matching');
    expect((await page('/runs/report?q=order-2')).html).toMatch(/<mark>order-2<\/mark>0/);
    expect(gridIds((await page('/runs/report?q=kilimanjaro')).html)).toEqual([]);
    expect((await page('/runs/report?q=kilimanjaro')).html).toContain('No case matches.');
    // Text the search holds is text, never markup or a pattern.
    expect((await page('/runs/report?q=%3Cb%3E%25')).html).not.toContain('<b>%');
  });

  it('sorts by any column, both ways, a missing value last', async () => {
    const ascending = gridIds((await page('/runs/report?sort=score:faithfulness')).html);
    expect(ascending.slice(0, 5).sort()).toEqual(BROKEN_ON_BRANCH.map(id));
    const descending = gridIds((await page('/runs/report?sort=score:faithfulness&dir=desc')).html);
    expect(descending.slice(-5).sort()).toEqual(BROKEN_ON_BRANCH.map(id));
    expect(gridIds((await page('/runs/report?sort=id&dir=desc')).html)[0]).toBe('order-29');
    expect(gridIds((await page('/runs/report?sort=index')).html).slice(0, 3)).toEqual(['order-00', 'order-01', 'order-02']);
    // The branch's agent is slow on orders 6 and 16: the slowest first.
    expect(gridIds((await page('/runs/report?sort=latency')).html).slice(0, 2).sort()).toEqual(['order-06', 'order-16']);
    const byLocale = gridIds((await page('/runs/report?sort=meta:locale&col=input&col=meta:locale&cols=1')).html);
    expect(byLocale.slice(0, 10).sort()).toEqual(Array.from({ length: 10 }, (_, k) => id(k * 3 + 1)).sort()); // de-DE
    const bad = await page('/runs/report?sort=colour');
    expect(bad.status).toBe(400);
    expect(bad.html).toContain('sort: expected status, index, id, latency, cost, score:&lt;metric&gt; or meta:&lt;field&gt;');
  });

  it('filters by metadata, score range and target, together with the other filters', async () => {
    const german = gridIds((await page('/runs/report?meta=locale%3Dde-DE')).html);
    expect(german).toHaveLength(10);
    const germanFailing = gridIds((await page('/runs/report?meta=locale%3Dde-DE&status=failed')).html);
    expect(germanFailing).toEqual(BROKEN_ON_BRANCH.filter((i) => i % 3 === 1).map(id));
    // Metadata that is not a string compares as its JSON text.
    expect(gridIds((await page('/runs/report?meta=order%3D7')).html)).toEqual(['order-07']);
    expect(gridIds((await page('/runs/report?smetric=faithfulness&smax=0.6')).html).sort()).toEqual(BROKEN_ON_BRANCH.map(id));
    expect(gridIds((await page('/runs/report?smetric=faithfulness&smin=0.6')).html)).toHaveLength(TRIAGE_CASES - BROKEN_ON_BRANCH.length);
    const inverted = await page('/runs/report?smetric=faithfulness&smin=0.8&smax=0.2');
    expect(inverted.status).toBe(400);
    expect(inverted.html).toContain('smin: the lowest score is above the highest');
    expect((await page('/runs/report?smin=0.2')).html).toContain('smetric: choose the metric the score range applies to');
    // A matrix's cases name their target; the grid filters by it.
    const matrix = await page('/runs/matrix?target=haiku&sort=index');
    expect(gridIds(matrix.html)).toHaveLength(TRIAGE_CASES);
    expect(matrix.html).toMatch(/<tr data-href="\/runs\/matrix\/cases\/30\?[^"]*">[\s\S]*?<td>haiku<\/td>/);
    expect(matrix.html).toContain('<label>Target<select name="target">');
    expect((await page('/runs/matrix/cases/30')).html).toContain('<dt>Target</dt><dd>haiku</dd>');
  });

  it('shows the columns the reader picks, metadata included', async () => {
    const picked = await page('/runs/report?cols=1&col=meta:tier&col=latency&col=output');
    expect(picked.html).toContain('<a href="/runs/report?sort=meta%3Atier&amp;cols=1&amp;col=meta%3Atier&amp;col=latency&amp;col=output#cases" title="sort by tier">tier');
    expect(picked.html).not.toContain('<th scope="col">Input</th>');
    expect(picked.html).toContain('<th scope="col">Actual output</th>');
    // Sorting, paging and the case links keep the columns.
    expect(picked.html).toMatch(/href="\/runs\/report\/cases\/3\?cols=1&amp;col=meta%3Atier&amp;col=latency&amp;col=output"/);
    const none = await page('/runs/report?cols=1');
    expect(none.html).not.toContain('<th scope="col">Actual output</th>');
  });

  it('walks cases under the grid’s filter and sort: previous, next, where the reader is, and back', async () => {
    const second = await page('/runs/report/cases/8?status=failed');
    expect(second.html).toContain('2 of 5');
    expect(second.html).toContain('<a href="/runs/report/cases/3?status=failed" rel="prev" data-key="k">← Previous case</a>');
    expect(second.html).toContain('<a href="/runs/report/cases/13?status=failed" rel="next" data-key="j">Next case →</a>');
    expect(second.html).toContain('<a href="/runs/report?status=failed#cases" data-key="u">back to the grid</a>');
    const last = await page('/runs/report/cases/24?status=failed');
    expect(last.html).toContain('5 of 5');
    expect(last.html).toContain('<span class="muted">Next case →</span>');
    // The whole run, in the grid's default order (failed first): after the last failure, the first pass.
    expect((await page('/runs/report/cases/24')).html).toContain('<a href="/runs/report/cases/0" rel="next" data-key="j">');
  });

  it('exports the filtered grid as CSV and JSON, texts whole, nothing a spreadsheet would run', async () => {
    const csv = await app.request('/runs/report/cases.csv?status=failed');
    expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(csv.headers.get('content-disposition')).toBe('attachment; filename="support-rag-cases.csv"');
    const lines = (await csv.text()).trimEnd().split('\r\n');
    expect(lines[0]).toBe(
      'index,id,status,target,topic,tags,input,actual_output,expected_output,faithfulness.score,faithfulness.passed,faithfulness.reason,icontains.score,icontains.passed,icontains.reason,latency_ms,cost_usd,error,metadata.channel,metadata.locale,metadata.order,metadata.tier',
    );
    expect(lines).toHaveLength(1 + BROKEN_ON_BRANCH.length);
    expect(lines[1]).toMatch(/^3,order-03,failed,,shipping,,Where is my order 3\? I ordered it last week and the tracking page shows nothing\.,Your order 3 ships/);
    expect(lines[1]).toContain(',0.5,false,"1 of 2 claims contradict the retrieval context: ""It ships from the Leeds warehouse."".",1,true,');
    const json = (await (await app.request('/runs/report/cases.json?meta=tier%3Dgold')).json()) as { cases: Array<{ id: string; metadata: { tier: string } }> };
    expect(json.cases.map((c) => c.id)).toEqual(['order-00', 'order-05', 'order-10', 'order-15', 'order-20', 'order-25']);
    expect(csvCell('=HYPERLINK("http://x")')).toBe(`"'=HYPERLINK(""http://x"")"`);
    expect(csvCell('-1')).toBe("'-1");
    expect(csvCell(-1)).toBe('-1');
  });
});

describe('comparing two runs case by case', () => {
  it('has one row per case, the newly failing first by the size of the drop, with the same verdict as the gate', async () => {
    const { html, status } = await page('/compare?base=baseline&head=report');
    expect(status).toBe(200);
    expect(html).toContain('<h2 id="regressions">Regressed cases (5)</h2>');
    expect(html).toContain('<h2 id="improvements">Improved cases (1)</h2>');
    const regressed = /<h2 id="regressions">[\s\S]*?<\/section>/.exec(html)![0];
    expect(gridIds(regressed)).toEqual(BROKEN_ON_BRANCH.map(id));
    expect(regressed).toContain('faithfulness 1 → 0.5');
    // The branch's answer beside main's, the words it added marked.
    expect(regressed).toContain('<div class="text">Your order 3 ships within two days from <ins>our Mars hub via </ins>the Leeds warehouse. Track it under My orders.</div>');
    const improved = /<h2 id="improvements">[\s\S]*?<\/section>/.exec(html)![0];
    expect(gridIds(improved)).toEqual(BROKEN_ON_MAIN.map(id));
    // Latency apart from quality: the branch's slow answers.
    expect(html).toMatch(/<h3 id="latency">Latency changes \(2\)<\/h3>/);
  });

  it('refuses two different suites unless asked, and names both', async () => {
    const other: Report = { ...reports.base, suites: [{ ...reports.base.suites[0], name: 'billing-bot' }], cases: reports.base.cases.map((c) => ({ ...c, suite: 'billing-bot' })) };
    const mixed = fileViewerApp(new FileViewerSource([{ id: 'report', file: 'head.json', report: reports.head }, { id: 'other', file: 'other.json', report: other }]));
    const refused = await mixed.request('/compare?base=other&head=report');
    expect(refused.status).toBe(409);
    expect(await refused.text()).toContain('billing-bot and support-rag are different suites');
    const forced = await mixed.request('/compare?base=other&head=report&any_suite=1');
    expect(forced.status).toBe(200);
    expect(await forced.text()).toContain('These runs are of different suites');
  });

  it('compares two targets of a matrix by case, with their outputs diffed word by word', async () => {
    const { html, status } = await page('/compare?base=matrix&head=matrix&base_target=gpt-4o-mini&head_target=haiku');
    expect(status).toBe(200);
    expect(html).toContain('Compare targets: gpt-4o-mini against haiku');
    expect(html).toContain('0 added, 0 removed');
    expect(html).toContain(`Other cases whose output changed (${TRIAGE_CASES})`);
    expect(html).toContain('<div class="text"><del>Your order </del>5 <del>ships </del>within two <del>days from the Leeds warehouse. Track it under My orders.</del></div>');
    expect(html).toContain('<div class="text"><ins>Order </ins>5 <ins>leaves our Leeds warehouse and arrives </ins>within two <ins>days.</ins></div>');
    expect((await page('/compare?base=matrix&head=matrix&base_target=gpt-4o-mini&head_target=opus')).status).toBe(404);
    expect((await page('/compare?base=matrix&head=matrix&base_target=gpt-4o-mini')).html).toContain('base_target and head_target: name both targets, or neither');
  });

  it('puts the targets of a matrix side by side, case by case', async () => {
    const { html } = await page('/side-by-side?runs=matrix:gpt-4o-mini,matrix:haiku');
    expect(html).toContain('<h1>Side by side: gpt-4o-mini, haiku</h1>');
    const row = /<tr><th scope="row">order-04<\/th>([\s\S]*?)<\/tr>\s*<tr><th scope="row">order-05/.exec(html)![1];
    expect(row).toContain('Your order 4 ships within two days');
    expect(row).toContain('Order 4 leaves our Leeds warehouse');
  });

  it('groups the gate’s changes by case, and a larger allowed drop moves only the drift, never a verdict', () => {
    const head: Report = structuredClone(reports.head);
    // Case 1 keeps its pass but its icontains score drops by 0.3 (a drift); the gate's rule decides.
    head.cases[1].metrics.icontains = { ...head.cases[1].metrics.icontains, score: 0.7, passed: true, threshold: 0.5 };
    const strict = compareByCase(reports.base, head, 0);
    expect(strict.regressed.map((d) => [d.id, d.kind])).toEqual([...BROKEN_ON_BRANCH.map((i) => [id(i), 'fails']), ['order-01', 'worse']]);
    const lenient = compareByCase(reports.base, head, 0.4);
    expect(lenient.regressed.map((d) => d.id)).toEqual(BROKEN_ON_BRANCH.map(id));
  });
});

describe('a word diff', () => {
  it('marks the words removed and added, and gives back both texts', () => {
    expect(wordDiff('the parcel ships from Leeds today', 'the parcel leaves Leeds today')).toEqual([
      { op: 'same', text: 'the parcel ' },
      { op: 'del', text: 'ships from ' },
      { op: 'ins', text: 'leaves ' },
      { op: 'same', text: 'Leeds today' },
    ]);
    const words = ['order', 'parcel', 'Leeds', 'two', 'days', '\n', 'refund'];
    for (let round = 0; round < 200; round++) {
      const text = () => Array.from({ length: Math.floor(Math.random() * 30) }, () => words[Math.floor(Math.random() * words.length)]).join(Math.random() < 0.5 ? ' ' : '  ');
      const [before, after] = [text(), text()];
      const parts = wordDiff(before, after);
      expect(parts.filter((p) => p.op !== 'ins').map((p) => p.text).join('')).toBe(before);
      expect(parts.filter((p) => p.op !== 'del').map((p) => p.text).join('')).toBe(after);
    }
  });
});

describe('what every page shows', () => {
  it('numbers as a reader needs them: small costs keep their digits, latencies are whole', () => {
    expect([0.0004, 0.00213, 0.917, 0.91666, 1, 12.34567, 1234.567, 0, -0.5].map(score)).toEqual(['0.0004', '0.00213', '0.917', '0.917', '1', '12.346', '1235', '0', '-0.5']);
  });

  it('lists runs with their gate and every metric’s mean in the suite’s order, and answers an unknown page with a page', async () => {
    const { html } = await page('/');
    expect(html).toContain('<th scope="col">Gate</th>');
    expect(html).toMatch(/<span class="muted">faithfulness<\/span> 0\.917<\/span><span class="mean"><span class="muted">icontains<\/span> 1/);
    // A chosen branch stays chosen.
    expect((await page('/?branch=feature%2Ftracking')).html).toContain('<option value="feature/tracking" selected="">feature/tracking</option>');
    const missing = await page('/nowhere/at/all');
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toMatch(/^text\/html/);
    expect(missing.html).toContain('There is no page /nowhere/at/all in the viewer.');
  });

  it('names the target, judge, system prompt and build of a run, and links the build', async () => {
    const { html } = await page('/runs/report');
    expect(html).toContain('<dt>Target</dt><dd>openai/gpt-4o-mini</dd>');
    expect(html).toContain('<dt>Judge</dt><dd>openai/gpt-4o-mini</dd>');
    expect(html).toContain('You are the shop assistant. Answer from the order record only.');
    expect(html).toContain('<a href="https://ci.example.com/builds/1061" rel="noreferrer">build 1061</a>');
    // Read only: no review prompt where nobody can review.
    expect((await page('/runs/report/cases/3')).html).not.toContain('Human review');
  });

  it('draws a histogram of each metric’s scores on the run and on the comparison', async () => {
    const run = await page('/runs/report');
    expect(run.html).toMatch(/<title id="hist-faithfulness-1-title">Scores of faithfulness<\/title><desc id="hist-faithfulness-1-desc">this run: [^<]*0\.5–0\.6: 5, [^<]*0\.9–1: 25<\/desc>/);
    const compare = await page('/compare?base=baseline&head=report');
    expect(compare.html).toMatch(/base: [^<]*0\.5–0\.6: 1, [^<]*0\.9–1: 29; head: [^<]*0\.5–0\.6: 5, [^<]*0\.9–1: 25/);
  });

  it('draws trends per branch and the pass rate over builds, narrowed by suite and branch', async () => {
    const trends = await page('/trends?metric=faithfulness&suite=support-rag');
    expect(trends.html).toContain('<option value="support-rag" selected="">support-rag</option>');
    expect(trends.html).toMatch(/<desc id="trend-desc">main: 1060 0\.98; feature\/tracking: 1061 0\.92<\/desc>/);
    expect(trends.html).toContain('<h2 id="pass-rate">Pass rate over builds</h2>');
    const oneBranch = await page('/trends?metric=faithfulness&branch=feature%2Ftracking');
    // One run: its build named once under the axis (of each chart), not twice on top of itself.
    const chart = /<svg class="chart" [^>]*aria-labelledby="trend-title[\s\S]*?<\/svg>/.exec(oneBranch.html)![0];
    expect([...chart.matchAll(/>1061<\/text>/g)]).toHaveLength(1);
    expect(oneBranch.html).toContain('<option value="feature/tracking" selected="">feature/tracking</option>');
  });
});

describe('what a tenant wrote stays text', () => {
  it('markup in an id, an output or metadata is escaped, a javascript: build link is not a link, a formula is not run', async () => {
    const hostile: Report = structuredClone(reports.head);
    hostile.build = { ...hostile.build, build_url: 'javascript:alert(1)' };
    hostile.cases[0] = {
      ...hostile.cases[0],
      id: '<b>order-00</b>',
      actual_output: '=HYPERLINK("http://evil.example","click") <script>alert(1)</script>',
      metadata: { ...hostile.cases[0].metadata, tier: '<img src=x onerror=alert(1)>' },
    };
    const evil = fileViewerApp(new FileViewerSource([{ id: 'report', file: 'head.json', report: hostile }]));
    const html = await (await evil.request('/runs/report?sort=index&q=%3Cb%3E&cols=1&col=output&col=meta:tier')).text();
    expect(html).toContain('<mark>&lt;b&gt;</mark>order-00&lt;/b&gt;');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(html).not.toMatch(/<script>alert|<img src=x/);
    expect(html).not.toContain('href="javascript:');
    expect(html).toContain('<option value="tier=&lt;img src=x onerror=alert(1)&gt;">');
    const csv = await (await evil.request('/runs/report/cases.csv?sort=index')).text();
    expect(csv.split('\r\n')[1]).toContain(`,"'=HYPERLINK(""http://evil.example"",""click"") <script>alert(1)</script>",`);
  });
});
