/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { CaseResult } from '../contracts/report';
import type { CaseChange, GateOutcome } from '../runner/gate';
import { BuildLine } from './run-pages';
import { Layout, Pager, score, StatusBadge, TableWrap, when, type Viewer } from './layout';
import type { RunDetail } from './model';

export interface ComparePageData {
  base: RunDetail;
  head: RunDetail;
  outcome: GateOutcome;
  maxDrop: number;
  /** `<suite>/<id>` → the case in each run, and its place in the run's report (what its page is addressed by). */
  baseCases: ReadonlyMap<string, { result: CaseResult; at: number }>;
  headCases: ReadonlyMap<string, { result: CaseResult; at: number }>;
  regressionsOffset: number;
  improvementsOffset: number;
  limit: number;
}

const signed = (value: number | null): string => (value === null ? '–' : `${value > 0 ? '+' : ''}${value.toFixed(3)}`);

function Changes(props: { viewer: Viewer; data: ComparePageData; kind: 'regressions' | 'improvements'; changes: readonly CaseChange[]; offset: number }) {
  const { viewer, data, changes, offset } = props;
  const paths = viewer.paths;
  const page = changes.slice(offset, offset + data.limit);
  const label = props.kind === 'regressions' ? 'Regressed cases' : 'Improved cases';
  const otherOffset = props.kind === 'regressions' ? data.improvementsOffset : data.regressionsOffset;
  const href = (next: number) =>
    paths.compare(data.base.id, data.head.id, {
      max_drop: data.maxDrop || undefined,
      roffset: (props.kind === 'regressions' ? next : otherOffset) || undefined,
      ioffset: (props.kind === 'improvements' ? next : otherOffset) || undefined,
    }) + `#${props.kind}`;
  return (
    <section>
      <h2 id={props.kind}>{`${label} (${changes.length})`}</h2>
      {changes.length === 0 ? (
        <p class="muted">None.</p>
      ) : (
        <>
          <TableWrap label={label}>
            <table>
              <thead>
                <tr>
                  <th scope="col">Case</th>
                  <th scope="col">Metric</th>
                  <th scope="col" class="num">Base</th>
                  <th scope="col" class="num">Head</th>
                  <th scope="col">Outputs side by side</th>
                </tr>
              </thead>
              <tbody>
                {page.map((change) => {
                  const key = `${change.suite}/${change.id}`;
                  const beforeCase = data.baseCases.get(key);
                  const afterCase = data.headCases.get(key);
                  const before = beforeCase?.result;
                  const after = afterCase?.result;
                  return (
                    <tr>
                      <th scope="row">{after ? <a href={paths.case(data.head.id, afterCase!.at)}>{change.id}</a> : change.id}</th>
                      <td>{change.metric}</td>
                      <td class="num">{score(change.baseline)}</td>
                      <td class="num">
                        {score(change.value)}
                        {change.note ? <div class="muted">{change.note}</div> : null}
                      </td>
                      <td>
                        <details>
                          <summary>{`outputs of ${change.id}`}</summary>
                          <div class="grid2">
                            <div>
                              <h4>Base{before ? <a href={paths.case(data.base.id, beforeCase!.at)}>{' (open)'}</a> : null}</h4>
                              <div class="text">{before?.actual_output ?? '(no output)'}</div>
                              {before?.metrics[change.metric]?.reason ? <p class="muted">{before.metrics[change.metric].reason}</p> : null}
                            </div>
                            <div>
                              <h4>Head</h4>
                              <div class="text">{after?.actual_output ?? '(no output)'}</div>
                              {after?.metrics[change.metric]?.reason ? <p class="muted">{after.metrics[change.metric].reason}</p> : null}
                            </div>
                          </div>
                        </details>
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </TableWrap>
          <Pager label={`${label} pages`} offset={offset} limit={data.limit} total={changes.length} href={href} />
        </>
      )}
    </section>
  );
}

export function ComparePage(props: { viewer: Viewer; data: ComparePageData }) {
  const { viewer, data } = props;
  const paths = viewer.paths;
  const { base, head, outcome } = data;
  return (
    <Layout viewer={viewer} title="Compare runs" section="runs">
      <p class="muted">
        <a href={paths.runs()}>Runs</a> › compare
      </p>
      <h1>
        Compare: {outcome.passed ? <StatusBadge status="passed" /> : <StatusBadge status="failed" />}
      </h1>
      <dl class="facts">
        <div>
          <dt>Base</dt>
          <dd>
            <a href={paths.run(base.id)}>{base.suite}</a> · <BuildLine build={base.build} /> · {when(base.created_at)}
          </dd>
        </div>
        <div>
          <dt>Head</dt>
          <dd>
            <a href={paths.run(head.id)}>{head.suite}</a> · <BuildLine build={head.build} /> · {when(head.created_at)}
          </dd>
        </div>
        <div>
          <dt>Cases</dt>
          <dd>{`${outcome.addedCases} added, ${outcome.removedCases} removed`}</dd>
        </div>
      </dl>
      <form class="filters" method="get" action={paths.comparePage()}>
        <input type="hidden" name="base" value={base.id} />
        <input type="hidden" name="head" value={head.id} />
        <label>
          Largest drop allowed
          <input type="text" inputmode="decimal" name="max_drop" value={String(data.maxDrop)} size={6} />
        </label>
        <button type="submit">Apply</button>
      </form>
      <section>
        <h2 id="deltas">Metrics</h2>
        <TableWrap label="Metric deltas">
          <table>
            <thead>
              <tr>
                <th scope="col">Metric</th>
                <th scope="col" class="num">Base</th>
                <th scope="col" class="num">Head</th>
                <th scope="col" class="num">Δ</th>
                <th scope="col">Rule</th>
                <th scope="col">Verdict</th>
              </tr>
            </thead>
            <tbody>
              {outcome.rows.map((row) => (
                <tr>
                  <th scope="row">{row.metric}</th>
                  <td class="num">{score(row.baseline)}</td>
                  <td class="num">{score(row.value)}</td>
                  <td class="num">{signed(row.delta)}</td>
                  <td>{row.rule}</td>
                  <td>
                    <StatusBadge status={row.passed ? 'passed' : 'failed'} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      </section>
      <Changes viewer={viewer} data={data} kind="regressions" changes={outcome.regressions} offset={data.regressionsOffset} />
      <Changes viewer={viewer} data={data} kind="improvements" changes={outcome.improvements} offset={data.improvementsOffset} />
    </Layout>
  );
}
