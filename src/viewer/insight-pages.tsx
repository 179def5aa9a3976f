/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { TrendPoint } from '../contracts/api';
import { Layout, percent, score, TableWrap, when, type Viewer } from './layout';
import type { AgreementView } from './model';

/** A line of the metric's mean per run, drawn on the server: no script, no fetch. The table beside it holds the same numbers. */
function TrendChart(props: { metric: string; points: TrendPoint[] }) {
  const { points } = props;
  const width = 860;
  const height = 260;
  const pad = { left: 44, right: 16, top: 16, bottom: 36 };
  const values = points.map((p) => p.mean);
  const low = Math.min(0, ...values);
  const high = Math.max(1, ...values);
  const x = (i: number) => pad.left + (points.length === 1 ? (width - pad.left - pad.right) / 2 : (i * (width - pad.left - pad.right)) / (points.length - 1));
  const y = (v: number) => pad.top + ((high - v) * (height - pad.top - pad.bottom)) / (high - low || 1);
  const path = points.map((p, i) => `${i ? 'L' : 'M'}${x(i).toFixed(1)},${y(p.mean).toFixed(1)}`).join(' ');
  const ticks = [low, (low + high) / 2, high];
  const first = points[0];
  const last = points[points.length - 1];
  return (
    <svg class="chart" viewBox={`0 0 ${width} ${height}`} role="img" aria-labelledby="trend-title trend-desc">
      <title id="trend-title">{`Mean ${props.metric} per run`}</title>
      <desc id="trend-desc">{`${points.length} runs, from ${score(first.mean)} (${first.build || first.commit.slice(0, 8) || when(first.started)}) to ${score(last.mean)} (${last.build || last.commit.slice(0, 8) || when(last.started)}).`}</desc>
      <line class="axis" x1={pad.left} y1={height - pad.bottom} x2={width - pad.right} y2={height - pad.bottom} />
      <line class="axis" x1={pad.left} y1={pad.top} x2={pad.left} y2={height - pad.bottom} />
      {ticks.map((tick) => (
        <text x={pad.left - 6} y={y(tick) + 4} text-anchor="end">
          {score(Math.round(tick * 100) / 100)}
        </text>
      ))}
      <path class="line" d={path} />
      {points.map((p, i) => (
        <circle class="dot" cx={x(i)} cy={y(p.mean)} r={3.5}>
          <title>{`${p.build || p.commit.slice(0, 8)}: ${score(p.mean)}`}</title>
        </circle>
      ))}
      {points.length ? (
        <>
          <text x={x(0)} y={height - 12} text-anchor="start">
            {first.build || first.commit.slice(0, 8) || when(first.started)}
          </text>
          <text x={x(points.length - 1)} y={height - 12} text-anchor="end">
            {last.build || last.commit.slice(0, 8) || when(last.started)}
          </text>
        </>
      ) : null}
    </svg>
  );
}

export function TrendsPage(props: { viewer: Viewer; metric: string | undefined; branch: string | undefined; metrics: string[]; branches: string[]; points: TrendPoint[] }) {
  const { viewer, points } = props;
  const paths = viewer.paths;
  return (
    <Layout viewer={viewer} title="Trends" section="trends">
      <h1>Trends by build</h1>
      <form class="filters" method="get" action={paths.trends()} data-autosubmit>
        <label>
          Metric
          <select name="metric">
            {props.metrics.map((metric) => (
              <option value={metric} selected={metric === props.metric}>
                {metric}
              </option>
            ))}
          </select>
        </label>
        <label>
          Branch
          <select name="branch">
            <option value="">All branches</option>
            {props.branches.map((branch) => (
              <option value={branch} selected={branch === props.branch}>
                {branch}
              </option>
            ))}
          </select>
        </label>
        <button type="submit">Show</button>
      </form>
      {!props.metric ? (
        <p>No finished run has a metric yet.</p>
      ) : points.length === 0 ? (
        <p>{`No run scored ${props.metric}${props.branch ? ` on ${props.branch}` : ''}.`}</p>
      ) : (
        <>
          <TrendChart metric={props.metric} points={points} />
          <TableWrap label={`Mean ${props.metric} per run`}>
            <table>
              <caption>{`Mean ${props.metric} per run, oldest first`}</caption>
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
