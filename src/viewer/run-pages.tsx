/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { TopicGroup } from '../contracts/api';
import type { BuildMetadata } from '../contracts/build';
import { Histogram, histogramRange } from './charts';
import { gridQuery, withQuery, type GridState } from './grid';
import { CaseGrid } from './grid-view';
import { duration, Layout, percent, score, Select, StatusBadge, TableWrap, usd, when, type Viewer } from './layout';
import { RUN_STATUSES, type AgreementView, type CaseFacets, type CaseRow, type RunDetail, type RunFilter, type RunRow } from './model';

/** The build a run came from, in a few words: branch, short commit, pull request. */
export function BuildLine(props: { build: BuildMetadata; link?: boolean }) {
  const { build } = props;
  const parts: string[] = [];
  if (build.branch) parts.push(build.branch);
  if (build.git_sha) parts.push(build.git_sha.slice(0, 10));
  if (build.pull_request) parts.push(`PR ${build.pull_request}`);
  const text = parts.length ? parts.join(' · ') : '–';
  // Only an http(s) address becomes a link: the field comes from the CI's environment.
  const url = props.link && build.build_url && /^https?:\/\//.test(build.build_url) ? build.build_url : null;
  return url ? (
    <span>
      {text} · <a href={url} rel="noreferrer">{`build ${build.build_id ?? ''}`.trim()}</a>
    </span>
  ) : (
    <span>{text}</span>
  );
}

const passRate = (run: RunRow): number | null => {
  const { passed, failed, errored } = run.progress;
  const ended = passed + failed + errored;
  return ended ? passed / ended : null;
};


/** A rate as a bar that turns red where it is bad: pass rates are good high, fail rates good low. */
export function RateMeter(props: { value: number | null; label: string; good: 'high' | 'low' }) {
  if (props.value === null) return <span class="muted">–</span>;
  const bounds = props.good === 'high' ? { low: 0.7, high: 0.9, optimum: 1 } : { low: 0.1, high: 0.3, optimum: 0 };
  return (
    <>
      <meter min={0} max={1} {...bounds} value={props.value} aria-label={props.label}></meter> {percent(props.value)}
    </>
  );
}

export function RunsPage(props: { viewer: Viewer; filter: RunFilter; runs: RunRow[]; nextCursor: string | null; suites: string[]; branches: string[] }) {
  const { viewer, filter, runs } = props;
  const paths = viewer.paths;
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
                <th scope="col">Gate</th>
                <th scope="col">Build</th>
                <th scope="col" class="num">Cases</th>
                <th scope="col" class="num">Pass rate</th>
                <th scope="col">Metric means</th>
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
                  <td>{run.gate_passed === null ? <span class="muted">–</span> : <StatusBadge status={run.gate_passed ? 'passed' : 'failed'} />}</td>
                  <td>
                    <BuildLine build={run.build} />
                  </td>
                  <td class="num">{`${run.progress.completed}/${run.progress.total}`}</td>
                  <td class="num">{percent(passRate(run))}</td>
                  <td class="means">
                    {Object.entries(run.means ?? {}).map(([id, mean]) => (
                      <span class="mean">
                        <span class="muted">{id}</span> {score(mean)}
                      </span>
                    ))}
                  </td>
                  <td class="num">{usd(run.cost_usd)}</td>
                  <td class="num">{duration(run.duration_ms)}</td>
                  <td class="when">{when(run.created_at)}</td>
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
  grid: GridState;
  cases: CaseRow[];
  total: number;
  limit: number;
  facets: CaseFacets;
  topics: TopicGroup[];
  /** Agreement over this run's reviews. */
  agreement: AgreementView[];
  /** Metric id → every score the run's cases got: the histograms. */
  scores: Record<string, number[]>;
  /** Runs to compare with (same suite, or another target of the same matrix), newest first, and the one the viewer suggests. */
  others: RunRow[];
  suggestedBase: string | null;
  /** The other targets' runs of the same matrix (a platform run per target). */
  siblings: RunRow[];
  /** Whether judged metrics can be reviewed here (a signed-in reviewer). */
  reviewing: boolean;
}

export function RunPage(props: { viewer: Viewer; data: RunPageData }) {
  const { viewer, data } = props;
  const { run } = data;
  const paths = viewer.paths;
  const summary = run.summary;
  const metrics = Object.entries(summary?.metrics ?? {});
  const agreement = new Map(data.agreement.map((a) => [a.metric, a]));
  const topicFilters = new Set(data.facets.topics);
  const metricIds = metrics.length ? metrics.map(([id]) => id) : [...new Set(data.cases.flatMap((c) => Object.keys(c.metrics)))];
  const { passed, failed, errored, total, completed } = run.progress;
  const suites = summary?.suites ?? [];
  const targets = [...new Set(suites.map((s) => s.target))];
  const judges = [...new Set(suites.flatMap((s) => (s.judge ? [s.judge] : [])))];
  const prompts = [...new Set(suites.flatMap((s) => (s.system_prompt ? [s.system_prompt] : [])))];
  const judged = metrics.some(([, m]) => m.needs_llm);
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
            <BuildLine build={run.build} link />
          </dd>
        </div>
        {targets.length ? (
          <div>
            <dt>{targets.length > 1 ? 'Targets' : 'Target'}</dt>
            <dd>{targets.join(', ')}</dd>
          </div>
        ) : null}
        {summary ? (
          <div>
            <dt>Judge</dt>
            <dd>{judges.length ? judges.join(', ') : 'none (deterministic metrics only)'}</dd>
          </div>
        ) : null}
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
      {prompts.map((prompt) => (
        <details class="prompt">
          <summary>System prompt of the target</summary>
          <div class="text">{prompt}</div>
        </details>
      ))}

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
                  {viewer.mode === 'platform' ? <th scope="col">Judge agreement in this run</th> : null}
                </tr>
              </thead>
              <tbody>
                {metrics.map(([id, metric]) => {
                  const a = agreement.get(id);
                  const disagreed = a ? a.reviews - a.agreed : 0;
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
                        <RateMeter value={metric.pass_rate} label={`${id} pass rate`} good="high" />
                      </td>
                      {viewer.mode === 'platform' ? (
                        <td>
                          {!metric.needs_llm ? (
                            <span class="muted">not judged</span>
                          ) : a ? (
                            <span>
                              {`${percent(a.agreement_rate)} of ${a.reviews} reviews${a.kappa !== null ? ` · κ ${a.kappa.toFixed(2)}` : ''}`}
                              {disagreed ? (
                                <>
                                  {' · '}
                                  <a href={`${paths.review(run.id)}?metric=${encodeURIComponent(id)}#disagreements`}>{`${disagreed} disagreed`}</a>
                                </>
                              ) : null}
                            </span>
                          ) : (
                            <span class="muted">no reviews</span>
                          )}
                        </td>
                      ) : null}
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </TableWrap>
          {judged && data.reviewing ? (
            <p>
              <a class="button" href={paths.review(run.id)}>
                Review queue: the next unreviewed case
              </a>
            </p>
          ) : null}
          <h3 id="distributions">Score distributions</h3>
          <div class="histograms">
            {metrics
              .filter(([id]) => (data.scores[id] ?? []).length > 0)
              .map(([id, metric]) => (
                <Histogram metric={id} range={histogramRange(metric.range, data.scores[id])} series={[{ label: 'this run', values: data.scores[id] }]} />
              ))}
          </div>
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
                    <th scope="col">Cases</th>
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
                      <td>
                        <a href={paths.run(run.id, { target }) + '#cases'}>{`${target}'s cases`}</a>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableWrap>
          ) : null}
          {data.siblings.length ? (
            <p>
              {`Other targets of this matrix: `}
              {data.siblings.map((sibling, n) => (
                <>
                  {n ? ', ' : ''}
                  <a href={paths.run(sibling.id)}>{sibling.suite}</a>
                </>
              ))}
              {' · '}
              <a href={paths.sideBySide([run.id, ...data.siblings.map((s) => s.id)].join(','))}>every target side by side</a>
            </p>
          ) : null}
          {summary?.targets && Object.keys(summary.targets).length > 1 ? (
            <p>
              <a href={paths.sideBySide(Object.keys(summary.targets).map((target) => `${run.id}:${target}`).join(','))}>Every target side by side</a>
            </p>
          ) : null}
          {summary?.targets && Object.keys(summary.targets).length > 1 ? (
            <form class="filters" method="get" action={paths.comparePage()}>
              <input type="hidden" name="base" value={run.id} />
              <input type="hidden" name="head" value={run.id} />
              <Select label="Target" name="base_target" value={Object.keys(summary.targets)[0]} options={Object.keys(summary.targets)} all="choose" />
              <Select label="against" name="head_target" value={Object.keys(summary.targets)[1]} options={Object.keys(summary.targets)} all="choose" />
              <button type="submit">Compare targets case by case</button>
            </form>
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
                        <RateMeter value={group.fail_rate} label={`${group.topic} fail rate`} good="low" />
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </TableWrap>
        </section>
      ) : null}

      <CaseGrid
        viewer={viewer}
        data={{
          runId: run.id,
          state: data.grid,
          cases: data.cases,
          total: data.total,
          limit: data.limit,
          facets: data.facets,
          metricIds,
          path: paths.run(run.id),
          casePath: (index) => paths.case(run.id, index),
          exportPath: (format) => withQuery(paths.export(run.id, format), gridQuery(data.grid, { columns: data.grid.columns })),
        }}
      />
    </Layout>
  );
}
