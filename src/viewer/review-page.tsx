/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import { clipText } from '../contracts/text';
import { Layout, percent, TableWrap, when, type Viewer } from './layout';
import type { AgreementView, ReviewView, RunDetail } from './model';
import type { ReviewQueue } from './review-queue';

export interface ReviewPageData {
  run: RunDetail;
  reviews: ReviewView[];
  agreement: AgreementView[];
  /** Only the disagreements of this metric. */
  metric?: string;
  /** The signed-in reviewer's progress over the run's judged cases; null: read only, or not finished. */
  queue: ReviewQueue | null;
}

/** A run's reviews: the queue to work through, the agreement in this run, and the cases where people disagreed with the judge. */
export function ReviewPage(props: { viewer: Viewer; data: ReviewPageData }) {
  const { viewer, data } = props;
  const { run, queue } = data;
  const paths = viewer.paths;
  const disagreements = data.reviews.filter((r) => !r.agree && (!data.metric || r.metric === data.metric));
  const next = (order: string, size?: number) => `${paths.review(run.id)}/next?order=${order}${size ? `&size=${size}` : ''}`;
  return (
    <Layout viewer={viewer} title={`Reviews of ${run.suite}`} section="runs">
      <p class="muted">
        <a href={paths.runs()}>Runs</a> › <a href={paths.run(run.id)}>{run.suite}</a> › reviews
      </p>
      <h1>{`Reviews of ${run.suite}`}</h1>
      {queue ? (
        <section>
          <h2 id="queue">Review queue</h2>
          <p>
            {`You have reviewed ${queue.reviewed} of the ${queue.cases.length} cases with a metric an LLM judged.`}
            {queue.reviewed === queue.cases.length && queue.cases.length ? ' The queue is done.' : ''}
          </p>
          <ul class="plain actions">
            <li>
              <a class="button primary" href={next('index')}>
                Next unreviewed case
              </a>
            </li>
            <li>
              <a class="button" href={next('uncertain')}>
                Where the judge is least sure first
              </a>
            </li>
            <li>
              <a class="button" href={next('random', Math.min(50, queue.cases.length) || undefined)}>
                A random sample of 50
              </a>
            </li>
          </ul>
        </section>
      ) : (
        <p class="muted">{run.finished_at ? 'Sign in with a project key and your name to review.' : 'The queue opens when the run has finished.'}</p>
      )}
      <section>
        <h2 id="agreement">Judge agreement in this run</h2>
        {data.agreement.length === 0 ? (
          <p class="muted">No review of this run yet.</p>
        ) : (
          <TableWrap label="Judge agreement in this run">
            <table>
              <thead>
                <tr>
                  <th scope="col">Metric</th>
                  <th scope="col" class="num">Reviews</th>
                  <th scope="col" class="num">Agreed</th>
                  <th scope="col" class="num">Agreement</th>
                  <th scope="col" class="num">Cohen's κ</th>
                  <th scope="col">Disagreements</th>
                </tr>
              </thead>
              <tbody>
                {data.agreement.map((a) => (
                  <tr>
                    <th scope="row">{a.metric}</th>
                    <td class="num">{a.reviews}</td>
                    <td class="num">{a.agreed}</td>
                    <td class="num">{percent(a.agreement_rate)}</td>
                    <td class="num">{a.kappa === null ? '–' : a.kappa.toFixed(2)}</td>
                    <td>{a.reviews - a.agreed ? <a href={`${paths.review(run.id)}?metric=${encodeURIComponent(a.metric)}#disagreements`}>{`${a.reviews - a.agreed} cases`}</a> : <span class="muted">none</span>}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableWrap>
        )}
      </section>
      <section>
        <h2 id="disagreements">{`Disagreements with the judge${data.metric ? ` on ${data.metric}` : ''} (${disagreements.length})`}</h2>
        {data.metric ? <p><a href={`${paths.review(run.id)}#disagreements`}>Every metric</a></p> : null}
        {disagreements.length === 0 ? (
          <p class="muted">None.</p>
        ) : (
          <TableWrap label="Disagreements">
            <table>
              <thead>
                <tr>
                  <th scope="col">Case</th>
                  <th scope="col">Metric</th>
                  <th scope="col">Judge</th>
                  <th scope="col">Reviewer</th>
                  <th scope="col">Comment</th>
                  <th scope="col">When</th>
                </tr>
              </thead>
              <tbody>
                {disagreements.map((r) => (
                  <tr>
                    <th scope="row">
                      <a href={`${paths.case(run.id, r.case_index)}#metric-${encodeURIComponent(r.metric)}`}>{`#${r.case_index}`}</a>
                    </th>
                    <td>{r.metric}</td>
                    <td>{r.judge_passed ? 'pass' : 'fail'}</td>
                    <td>{`${r.reviewer}: ${(r.corrected_passed ?? !r.judge_passed) ? 'pass' : 'fail'}`}</td>
                    <td>{r.comment ? clipText(r.comment, 300) : <span class="muted">–</span>}</td>
                    <td>{when(r.updated_at)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableWrap>
        )}
      </section>
    </Layout>
  );
}
