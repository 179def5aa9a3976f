/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { TopicGroup } from '../contracts/api';
import type { BuildMetadata } from '../contracts/build';
import { duration, Layout, Pager, percent, ScoreCell, score, StatusBadge, TableWrap, usd, when, type Viewer } from './layout';
import { CASE_STATUSES, RUN_STATUSES, type AgreementView, type CaseFilter, type CaseRow, type RunDetail, type RunFilter, type RunRow } from './model';
import { clipText } from '../contracts/text';

/** The build a run came from, in a few words: branch, short commit, pull request. */
export function BuildLine(props: { build: BuildMetadata }) {
  const { build } = props;
  const parts: string[] = [];
  if (build.branch) parts.push(build.branch);
  if (build.git_sha) parts.push(build.git_sha.slice(0, 10));
  if (build.pull_request) parts.push(`PR ${build.pull_request}`);
  return <span>{parts.length ? parts.join(' · ') : '–'}</span>;
}

function Select(props: { label: string; name: string; value: string | undefined; options: readonly string[]; all: string }) {
  return (
    <label>
      {props.label}
      <select name={props.name}>
        <option value="">{props.all}</option>
        {props.options.map((option) => (
          <option value={option} selected={option === props.value}>
            {option.replace(/_/g, ' ')}
          </option>
        ))}
      </select>
    </label>
  );
}

const passRate = (run: RunRow): number | null => {
  const { passed, failed, errored } = run.progress;
  const ended = passed + failed + errored;
  return ended ? passed / ended : null;
};

export function RunsPage(props: { viewer: Viewer; filter: RunFilter; runs: RunRow[]; nextCursor: string | null; suites: string[]; branches: string[] }) {
  const { viewer, filter, runs } = props;
  const paths = viewer.paths;
  const metricIds = [...new Set(runs.flatMap((run) => Object.keys(run.means ?? {})))].slice(0, 6);
  return (
    <Layout viewer={viewer} title="Runs" section="runs">
      <h1>Runs</h1>
      <form class="filters" method="get" action={paths.runs()} data-autosubmit>
        <Select label="Suite" name="suite" value={filter.suite} options={props.suites} all="All suites" />
        <Select label="Branch" name="branch" value={filter.branch} options={props.branches} all="All branches" />
        <Select label="Status" name="status" value={filter.status} options={RUN_STATUSES} all="Any status" />
        <button type="submit">Filter</button>
      </form>
      {runs.length === 0 ? (
        <p>No run matches.</p>
      ) : (
        <TableWrap label="Runs">
          <table>
            <caption>{`${runs.length} runs, newest first`}</caption>
            <thead>
              <tr>
                <th scope="col">Run</th>
                <th scope="col">Status</th>
                <th scope="col">Build</th>
                <th scope="col" class="num">Cases</th>
                <th scope="col" class="num">Pass rate</th>
                {metricIds.map((id) => (
                  <th scope="col" class="num">
                    {id}
                  </th>
                ))}
                <th scope="col" class="num">Cost</th>
                <th scope="col" class="num">Duration</th>
                <th scope="col">Started</th>
              </tr>
            </thead>
            <tbody>
              {runs.map((run) => (
                <tr>
                  <th scope="row">
                    <a href={paths.run(run.id)}>{run.suite}</a>
                  </th>
                  <td>
                    <StatusBadge status={run.status} />
                  </td>
                  <td>
                    <BuildLine build={run.build} />
                  </td>
                  <td class="num">{`${run.progress.completed}/${run.progress.total}`}</td>
                  <td class="num">{percent(passRate(run))}</td>
                  {metricIds.map((id) => (
                    <td class="num">{score(run.means?.[id])}</td>
                  ))}
                  <td class="num">{usd(run.cost_usd)}</td>
                  <td class="num">{duration(run.duration_ms)}</td>
                  <td>{when(run.created_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
      {props.nextCursor ? (
        <nav class="pager" aria-label="Runs pages">
          <a href={paths.runs({ ...filter, cursor: props.nextCursor })}>Older runs →</a>
        </nav>
      ) : null}
    </Layout>
  );
}

export interface RunPageData {
  run: RunDetail;
  filter: CaseFilter;
  cases: CaseRow[];
  total: number;
  facets: { topics: string[]; tags: string[] };
  topics: TopicGroup[];
  agreement: AgreementView[];
  /** Runs to compare with (same suite, newest first), and the one the viewer suggests. */
  others: RunRow[];
  suggestedBase: string | null;
}

export function RunPage(props: { viewer: Viewer; data: RunPageData }) {
  const { viewer, data } = props;
  const { run, filter } = data;
  const paths = viewer.paths;
  const summary = run.summary;
  const metrics = Object.entries(summary?.metrics ?? {});
  const agreement = new Map(data.agreement.map((a) => [a.metric, a]));
  const topicFilters = new Set(data.facets.topics);
  const caseQuery = (offset: number) => paths.run(run.id, { status: filter.status, metric: filter.metric, topic: filter.topic, tag: filter.tag, offset: offset || undefined }) + '#cases';
  const metricIds = metrics.length ? metrics.map(([id]) => id) : [...new Set(data.cases.flatMap((c) => Object.keys(c.metrics)))];
  const { passed, failed, errored, total, completed } = run.progress;
  return (
    <Layout viewer={viewer} title={`Run ${run.suite}`} section="runs">
      <p class="muted">
        <a href={paths.runs()}>Runs</a> › {run.suite}
      </p>
      <h1>
        {run.suite} <StatusBadge status={run.status} />
      </h1>
      <dl class="facts">
        <div>
          <dt>Cases</dt>
          <dd>{`${completed}/${total}: ${passed} passed, ${failed} failed, ${errored} errored`}</dd>
        </div>
        <div>
          <dt>Pass rate</dt>
          <dd>{percent(passRate(run))}</dd>
        </div>
        <div>
          <dt>Build</dt>
          <dd>
            <BuildLine build={run.build} />
          </dd>
        </div>
        <div>
          <dt>LLM cost</dt>
          <dd>{`${usd(run.cost_usd)}${run.max_cost_usd !== null ? ` of ${usd(run.max_cost_usd)}` : ''}`}</dd>
        </div>
        <div>
          <dt>Duration</dt>
          <dd>{duration(run.duration_ms)}</dd>
        </div>
        <div>
          <dt>Started</dt>
          <dd>{when(run.created_at)}</dd>
        </div>
      </dl>

      {summary ? (
        <section>
          <h2 id="gate">
            Gate: <StatusBadge status={summary.gate.passed ? 'passed' : 'failed'} />
          </h2>
          {summary.gate.failures.length ? (
            <ul>
              {summary.gate.failures.map((failure) => (
                <li>{failure}</li>
              ))}
            </ul>
          ) : (
            <p>Every metric passed in enough cases and no case errored past the gate's allowance.</p>
          )}
          {summary.budget?.exceeded ? <p class="error-box">{`The run spent its budget: ${summary.budget.not_evaluated} cases were not evaluated.`}</p> : null}
        </section>
      ) : (
        <p class="notice">The run has not finished: the summary and gate appear when its last case is done.</p>
      )}

      {data.others.length ? (
        <form class="filters" method="get" action={paths.comparePage()}>
          <input type="hidden" name="head" value={run.id} />
          <label>
            Compare with
            <select name="base">
              {data.others.map((other) => (
                <option value={other.id} selected={other.id === data.suggestedBase}>
                  {`${other.suite} · ${other.build.branch ?? 'no branch'} · ${other.build.git_sha?.slice(0, 8) ?? ''} · ${when(other.created_at)}`}
                </option>
              ))}
            </select>
          </label>
          <button type="submit">Compare</button>
        </form>
      ) : null}

      {metrics.length ? (
        <section>
          <h2 id="metrics">Metrics against thresholds</h2>
          <TableWrap label="Metrics">
            <table>
              <thead>
                <tr>
                  <th scope="col">Metric</th>
                  <th scope="col" class="num">Mean</th>
                  <th scope="col" class="num">Threshold</th>
                  <th scope="col" class="num">Passed</th>
                  <th scope="col" class="num">Failed</th>
                  <th scope="col" class="num">Errored</th>
                  <th scope="col">Pass rate</th>
                  <th scope="col">Judge agreement</th>
                </tr>
              </thead>
              <tbody>
                {metrics.map(([id, metric]) => {
                  const a = agreement.get(id);
                  return (
                    <tr>
                      <th scope="row">
                        <a href={paths.run(run.id, { metric: id }) + '#cases'} title={`cases where ${id} did not pass`}>
                          {id}
                        </a>
                        {metric.name !== id ? <span class="muted">{` (${metric.name})`}</span> : null}
                      </th>
                      <td class="num">{score(metric.mean)}</td>
                      <td class="num">{`${metric.direction === 'higher' ? '≥' : '≤'} ${metric.threshold}`}</td>
                      <td class="num">{metric.passed}</td>
                      <td class="num">{metric.failed}</td>
                      <td class="num">{metric.errored}</td>
                      <td>
                        <meter min={0} max={1} value={metric.pass_rate} aria-label={`${id} pass rate`}></meter> {percent(metric.pass_rate)}
                      </td>
                      <td>
                        {!metric.needs_llm ? (
                          <span class="muted">not judged</span>
                        ) : a ? (
                          <span>{`${percent(a.agreement_rate)} of ${a.reviews} reviews${a.kappa !== null ? ` · κ ${a.kappa.toFixed(2)}` : ''}`}</span>
                        ) : (
                          <span class="muted">no reviews</span>
                        )}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </TableWrap>
          {summary?.targets ? (
            <TableWrap label="Targets">
              <table>
                <caption>By target</caption>
                <thead>
                  <tr>
                    <th scope="col">Target</th>
                    {metricIds.map((id) => (
                      <th scope="col" class="num">
                        {id}
                      </th>
                    ))}
                    <th scope="col">Gate</th>
                  </tr>
                </thead>
                <tbody>
                  {Object.entries(summary.targets).map(([target, report]) => (
                    <tr>
                      <th scope="row">{target}</th>
                      {metricIds.map((id) => (
                        <td class="num">{score(report.summary[id])}</td>
                      ))}
                      <td>
                        <StatusBadge status={report.gate.passed ? 'passed' : 'failed'} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableWrap>
          ) : null}
        </section>
      ) : null}

      {data.topics.length ? (
        <section>
          <h2 id="topics">Fail rate by topic</h2>
          <TableWrap label="Fail rate by topic">
            <table>
              <thead>
                <tr>
                  <th scope="col">Topic</th>
                  <th scope="col" class="num">Cases</th>
                  <th scope="col" class="num">Failed</th>
                  <th scope="col">Fail rate</th>
                </tr>
              </thead>
              <tbody>
                {data.topics.slice(0, 30).map((group) => {
                  const href = group.topic.startsWith('tag:')
                    ? paths.run(run.id, { tag: group.topic.slice(4) }) + '#cases'
                    : topicFilters.has(group.topic)
                      ? paths.run(run.id, { topic: group.topic }) + '#cases'
                      : null;
                  return (
                    <tr>
                      <th scope="row">{href ? <a href={href}>{group.topic}</a> : group.topic}</th>
                      <td class="num">{group.cases}</td>
                      <td class="num">{group.failed}</td>
                      <td>
                        <meter min={0} max={1} value={group.fail_rate} aria-label={`${group.topic} fail rate`}></meter> {percent(group.fail_rate)}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </TableWrap>
        </section>
      ) : null}

      <section>
        <h2 id="cases">Cases</h2>
        <form class="filters" method="get" action={paths.run(run.id)} data-autosubmit>
          <Select label="Status" name="status" value={filter.status} options={CASE_STATUSES} all="Any status (errored and failed first)" />
          <Select label="Did not pass metric" name="metric" value={filter.metric} options={metricIds} all="Any metric" />
          <Select label="Topic" name="topic" value={filter.topic} options={data.facets.topics} all="Any topic" />
          <Select label="Tag" name="tag" value={filter.tag} options={data.facets.tags} all="Any tag" />
          <button type="submit">Filter</button>
        </form>
        {data.cases.length === 0 ? (
          <p>No case matches.</p>
        ) : (
          <TableWrap label="Cases">
            <table>
              <caption>{`Cases ${filter.offset + 1}–${filter.offset + data.cases.length} of ${data.total}`}</caption>
              <thead>
                <tr>
                  <th scope="col" class="num">#</th>
                  <th scope="col">Case</th>
                  <th scope="col">Status</th>
                  <th scope="col">Topic</th>
                  {metricIds.map((id) => (
                    <th scope="col" class="num">
                      {id}
                    </th>
                  ))}
                  <th scope="col">Error</th>
                </tr>
              </thead>
              <tbody>
                {data.cases.map((row) => (
                  <tr>
                    <td class="num">{row.index}</td>
                    <th scope="row">
                      <a href={paths.case(run.id, row.index)}>{row.id}</a>
                    </th>
                    <td>
                      <StatusBadge status={row.status} />
                    </td>
                    <td>{row.topic ?? (row.tags.length ? row.tags.join(', ') : '–')}</td>
                    {metricIds.map((id) => (
                      <ScoreCell value={row.metrics[id]} />
                    ))}
                    <td>{row.error ? <span class="muted">{clipText(row.error, 140)}</span> : ''}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableWrap>
        )}
        <Pager label="Cases pages" offset={filter.offset} limit={filter.limit} total={data.total} href={caseQuery} />
      </section>
    </Layout>
  );
}
