/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { TrendPoint } from '../contracts/api';
import { LineChart } from './charts';
import { Layout, percent, score, Select, TableWrap, when, type Viewer } from './layout';
import type { AgreementView, RunRow } from './model';

const buildLabel = (p: { build: string; commit: string; started: string }) => p.build || p.commit.slice(0, 8) || when(p.started);

export interface TrendsFilter {
  metric: string | undefined;
  branch: string | undefined;
  suite: string | undefined;
}

/**
 * Trends: the metric's mean per run with one line per branch (runs in time order on a shared axis), and the pass
 * rate over builds; both narrowed to a suite and a branch when chosen.
 */
export function TrendsPage(props: { viewer: Viewer; filter: TrendsFilter; metrics: string[]; suites: string[]; branches: string[]; points: TrendPoint[]; runs: RunRow[] }) {
  const { viewer, points, filter } = props;
  const paths = viewer.paths;
  const keys = points.map((p) => ({ key: p.run_id, label: buildLabel(p) }));
  const branches = [...new Set(points.map((p) => p.run_branch || '(no branch)'))];
  const series = branches.map((branch) => ({
    label: branch,
    points: points
      .filter((p) => (p.run_branch || '(no branch)') === branch)
      .map((p) => ({ key: p.run_id, label: buildLabel(p), value: p.mean, title: `${branch} · ${buildLabel(p)}: ${score(p.mean)}` })),
  }));
  const finished = [...props.runs].filter((run) => run.finished_at !== null && run.progress.completed > 0).reverse();
  const rate = (run: RunRow) => run.progress.passed / Math.max(1, run.progress.passed + run.progress.failed + run.progress.errored);
  const runLabel = (run: RunRow) => run.build.build_id || run.build.git_sha?.slice(0, 8) || when(run.created_at);
  const runBranches = [...new Set(finished.map((run) => run.branch ?? '(no branch)'))];
  const title = `Mean ${filter.metric} per run${filter.suite ? ` of ${filter.suite}` : ''}`;
  return (
    <Layout viewer={viewer} title="Trends" section="trends">
      <h1>Trends by build</h1>
      <form class="filters" method="get" action={paths.trends()} data-autosubmit>
        <Select label="Metric" name="metric" value={filter.metric} options={props.metrics} asWritten />
        <Select label="Suite" name="suite" value={filter.suite} options={props.suites} all="All suites" asWritten />
        <Select label="Branch" name="branch" value={filter.branch} options={props.branches} all="All branches" asWritten />
        <button type="submit">Show</button>
      </form>
      {!filter.metric ? (
        <p>No finished run has a metric yet.</p>
      ) : points.length === 0 ? (
        <p>{`No run scored ${filter.metric}${filter.suite ? ` in ${filter.suite}` : ''}${filter.branch ? ` on ${filter.branch}` : ''}.`}</p>
      ) : (
        <>
          <h2 id="means">{title}</h2>
          <LineChart id="trend" title={title} keys={keys} series={series} />
          <TableWrap label={`Mean ${filter.metric} per run`}>
            <table>
              <caption>{`${title}, oldest first`}</caption>
              <thead>
                <tr>
                  <th scope="col">Run</th>
                  <th scope="col">Build</th>
                  <th scope="col">Commit</th>
                  <th scope="col">Branch</th>
                  <th scope="col" class="num">Mean</th>
                  <th scope="col" class="num">Cases scored</th>
                </tr>
              </thead>
              <tbody>
                {points.map((point) => (
                  <tr>
                    <th scope="row">
                      <a href={paths.run(point.run_id)}>{when(point.started)}</a>
                    </th>
                    <td>{point.build || '–'}</td>
                    <td>{point.commit ? point.commit.slice(0, 10) : '–'}</td>
                    <td>{point.run_branch || '–'}</td>
                    <td class="num">{score(point.mean)}</td>
                    <td class="num">{point.scored}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableWrap>
        </>
      )}
      {finished.length ? (
        <>
          <h2 id="pass-rate">Pass rate over builds</h2>
          <LineChart
            id="pass-rate-chart"
            title={`Pass rate of the ${finished.length} latest finished runs${filter.suite ? ` of ${filter.suite}` : ''}`}
            percent
            keys={finished.map((run) => ({ key: run.id, label: runLabel(run) }))}
            series={runBranches.map((branch) => ({
              label: branch,
              points: finished
                .filter((run) => (run.branch ?? '(no branch)') === branch)
                .map((run) => ({ key: run.id, label: runLabel(run), value: rate(run), title: `${run.suite} · ${branch} · ${runLabel(run)}: ${percent(rate(run))}` })),
            }))}
          />
        </>
      ) : null}
    </Layout>
  );
}

export function AgreementPage(props: { viewer: Viewer; agreement: AgreementView[] }) {
  const { viewer, agreement } = props;
  return (
    <Layout viewer={viewer} title="Judge agreement" section="agreement">
      <h1>Judge agreement</h1>
      <p>
        How often reviewers agreed with each LLM-judged metric's pass or fail, over every review in the project. Cohen's κ corrects that
        agreement for chance (1: perfect, 0: no better than chance); it needs both verdicts to occur. Reviews sit beside the scores and never
        change them.
      </p>
      {agreement.length === 0 ? (
        <p>No review yet: open a case and review its judged metrics.</p>
      ) : (
        <TableWrap label="Judge agreement">
          <table>
            <thead>
              <tr>
                <th scope="col">Metric</th>
                <th scope="col" class="num">Reviews</th>
                <th scope="col" class="num">Agreed</th>
                <th scope="col">Agreement rate</th>
                <th scope="col" class="num">Cohen's κ</th>
                <th scope="col" class="num">Judge pass, reviewer fail</th>
                <th scope="col" class="num">Judge fail, reviewer pass</th>
              </tr>
            </thead>
            <tbody>
              {agreement.map((row) => (
                <tr>
                  <th scope="row">{row.metric}</th>
                  <td class="num">{row.reviews}</td>
                  <td class="num">{row.agreed}</td>
                  <td>
                    <meter min={0} max={1} value={row.agreement_rate} aria-label={`${row.metric} agreement rate`}></meter> {percent(row.agreement_rate)}
                  </td>
                  <td class="num">{row.kappa === null ? '–' : row.kappa.toFixed(2)}</td>
                  <td class="num">{row.confusion.pass_fail}</td>
                  <td class="num">{row.confusion.fail_pass}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
    </Layout>
  );
}
