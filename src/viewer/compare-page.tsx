/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import { clipText } from '../contracts/text';
import { wordDiff, type CaseComparison, type CaseDelta, type SpeedDelta } from './case-compare';
import { Histogram, histogramRange } from './charts';
import { BuildLine } from './run-pages';
import { duration, Layout, Pager, score, StatusBadge, TableWrap, usd, when, type Viewer } from './layout';
import type { RunDetail } from './model';

export interface ComparePageData {
  base: RunDetail;
  head: RunDetail;
  /** The matrix targets compared, when two targets of one report are. */
  baseTarget?: string;
  headTarget?: string;
  comparison: CaseComparison;
  maxDrop: number;
  /** Set when the two runs are of different suites and the comparison was asked for anyway. */
  differentSuites: boolean;
  /** Metric id → [base scores, head scores]: the histograms. */
  scores: Record<string, { range: [number, number | null]; base: number[]; head: number[] }>;
  regressionsOffset: number;
  improvementsOffset: number;
  limit: number;
  /** The query every link of the page keeps (base, head, targets, max_drop, any_suite). */
  query: Record<string, string | number | undefined>;
}

const signed = (value: number | null, digits = 3): string => (value === null ? '–' : `${value > 0 ? '+' : ''}${Number(value.toFixed(digits))}`);

/** Two texts side by side, the words removed marked in the first and the words added in the second. */
export function DiffPair(props: { before: string | null; after: string | null; beforeLabel: string; afterLabel: string }) {
  const before = props.before ?? '';
  const after = props.after ?? '';
  const parts = wordDiff(clipText(before, 20_000), clipText(after, 20_000));
  // Each side: the words both share, and its own marked (removed in the first, added in the second).
  const sides = [
    { label: props.beforeLabel, missing: props.before === null, own: 'del' as const, mark: (text: string) => <del>{text}</del> },
    { label: props.afterLabel, missing: props.after === null, own: 'ins' as const, mark: (text: string) => <ins>{text}</ins> },
  ];
  return (
    <div class="grid2 diff">
      {sides.map((side) => (
        <div>
          <h4>{side.label}</h4>
          <div class="text">
            {side.missing ? <span class="muted">(no output)</span> : parts.filter((p) => p.op === 'same' || p.op === side.own).map((p) => (p.op === side.own ? side.mark(p.text) : p.text))}
          </div>
        </div>
      ))}
    </div>
  );
}

const KIND_TEXT: Record<CaseDelta['kind'], string> = { fails: 'passed → fails', worse: 'score dropped', passes: 'failed → passes', better: 'score rose' };

function Changes(props: { viewer: Viewer; data: ComparePageData; kind: 'regressions' | 'improvements'; deltas: readonly CaseDelta[]; offset: number }) {
  const { viewer, data, deltas, offset } = props;
  const paths = viewer.paths;
  const page = deltas.slice(offset, offset + data.limit);
  const label = props.kind === 'regressions' ? 'Regressed cases' : 'Improved cases';
  const otherOffset = props.kind === 'regressions' ? data.improvementsOffset : data.regressionsOffset;
  const href = (next: number) =>
    paths.compare(data.base.id, data.head.id, {
      ...data.query,
      roffset: (props.kind === 'regressions' ? next : otherOffset) || undefined,
      ioffset: (props.kind === 'improvements' ? next : otherOffset) || undefined,
    }) + `#${props.kind}`;
  const baseLabel = data.baseTarget ?? 'Base';
  const headLabel = data.headTarget ?? 'Head';
  return (
    <section>
      <h2 id={props.kind}>{`${label} (${deltas.length})`}</h2>
      {deltas.length === 0 ? (
        <p class="muted">None.</p>
      ) : (
        <>
          <TableWrap label={label}>
            <table class="changes">
              <thead>
                <tr>
                  <th scope="col">Case</th>
                  <th scope="col">Change</th>
                  <th scope="col">Metrics that moved</th>
                  <th scope="col">{`Outputs (${baseLabel} against ${headLabel}, words changed marked)`}</th>
                </tr>
              </thead>
              <tbody>
                {page.map((delta, n) => (
                  <tr>
                    <th scope="row">
                      <a href={paths.case(data.head.id, delta.head.at)}>{delta.id}</a>
                    </th>
                    <td>
                      <StatusBadge status={delta.base.result.status} /> → <StatusBadge status={delta.head.result.status} />
                      <div class="muted">{KIND_TEXT[delta.kind]}</div>
                    </td>
                    <td>
                      <ul class="plain">
                        {delta.changes.map((change) => (
                          <li>
                            {`${change.metric} ${score(change.baseline)} → ${score(change.value)}`}
                            {change.baseline !== null && change.value !== null ? <span class="muted">{` (${signed(change.value - change.baseline)})`}</span> : null}
                            {change.note.startsWith('now errors') ? <div class="muted">{clipText(change.note, 200)}</div> : null}
                          </li>
                        ))}
                      </ul>
                    </td>
                    <td class="cell-diff">
                      <details open={offset + n < 5}>
                        <summary>{`outputs of ${delta.id}`}</summary>
                        <DiffPair before={delta.base.result.actual_output} after={delta.head.result.actual_output} beforeLabel={baseLabel} afterLabel={headLabel} />
                        {delta.changes.map((change) => {
                          const before = delta.base.result.metrics[change.metric]?.reason;
                          const after = delta.head.result.metrics[change.metric]?.reason;
                          return before || after ? (
                            <p class="muted">
                              {`${change.metric}: `}
                              {before ? `${baseLabel.toLowerCase() === 'base' ? 'base' : baseLabel}: ${clipText(before, 300)}` : ''}
                              {after ? ` · ${headLabel.toLowerCase() === 'head' ? 'head' : headLabel}: ${clipText(after, 300)}` : ''}
                            </p>
                          ) : null;
                        })}
                        <p>
                          <a href={paths.case(data.base.id, delta.base.at)}>{`open in ${baseLabel.toLowerCase() === 'base' ? 'the base' : baseLabel}`}</a>
                        </p>
                      </details>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableWrap>
          <Pager label={`${label} pages`} offset={offset} limit={data.limit} total={deltas.length} href={href} />
        </>
      )}
    </section>
  );
}

function Speed(props: { viewer: Viewer; data: ComparePageData; label: string; id: string; rows: readonly SpeedDelta[]; show: (value: number) => string; note: string }) {
  const { viewer, data, rows } = props;
  return (
    <section>
      <h3 id={props.id}>{`${props.label} (${rows.length})`}</h3>
      <p class="muted">{props.note}</p>
      {rows.length ? (
        <TableWrap label={props.label}>
          <table>
            <thead>
              <tr>
                <th scope="col">Case</th>
                <th scope="col" class="num">{data.baseTarget ?? 'Base'}</th>
                <th scope="col" class="num">{data.headTarget ?? 'Head'}</th>
                <th scope="col" class="num">Change</th>
              </tr>
            </thead>
            <tbody>
              {rows.slice(0, 20).map((row) => (
                <tr>
                  <th scope="row">
                    <a href={viewer.paths.case(data.head.id, row.head.at)}>{row.id}</a>
                  </th>
                  <td class="num">{props.show(row.base.value)}</td>
                  <td class="num">{props.show(row.head.value)}</td>
                  <td class="num">{`${row.delta > 0 ? '+' : '−'}${props.show(Math.abs(row.delta))}`}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      ) : null}
    </section>
  );
}

export function ComparePage(props: { viewer: Viewer; data: ComparePageData }) {
  const { viewer, data } = props;
  const paths = viewer.paths;
  const { base, head, comparison } = data;
  const outcome = comparison.outcome;
  const targets = data.baseTarget !== undefined && data.headTarget !== undefined;
  return (
    <Layout viewer={viewer} title="Compare runs" section="runs">
      <p class="muted">
        <a href={paths.runs()}>Runs</a> › compare
      </p>
      <h1>
        {targets ? `Compare targets: ${data.baseTarget} against ${data.headTarget}` : 'Compare'}: {outcome.passed ? <StatusBadge status="passed" /> : <StatusBadge status="failed" />}
      </h1>
      {data.differentSuites ? <p class="notice">{`These runs are of different suites (${base.suite} and ${head.suite}): cases meet only where suite and id are the same.`}</p> : null}
      <dl class="facts">
        <div>
          <dt>{targets ? data.baseTarget : 'Base'}</dt>
          <dd>
            <a href={paths.run(base.id)}>{base.suite}</a> · <BuildLine build={base.build} /> · {when(base.created_at)}
          </dd>
        </div>
        <div>
          <dt>{targets ? data.headTarget : 'Head'}</dt>
          <dd>
            <a href={paths.run(head.id)}>{head.suite}</a> · <BuildLine build={head.build} /> · {when(head.created_at)}
          </dd>
        </div>
        <div>
          <dt>Cases</dt>
          <dd>{`${comparison.regressed.length} regressed, ${comparison.improved.length} improved · ${outcome.addedCases} added, ${outcome.removedCases} removed`}</dd>
        </div>
      </dl>
      <form class="filters" method="get" action={paths.comparePage()}>
        {Object.entries(data.query)
          .filter(([key, value]) => key !== 'max_drop' && value !== undefined && value !== '')
          .map(([key, value]) => (
            <input type="hidden" name={key} value={String(value)} />
          ))}
        <label>
          Largest drop allowed (the gate's --max-drop)
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
                <th scope="col" class="num">{targets ? data.baseTarget : 'Base'}</th>
                <th scope="col" class="num">{targets ? data.headTarget : 'Head'}</th>
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
        <div class="histograms">
          {Object.entries(data.scores).map(([metric, s]) => (
            <Histogram
              metric={metric}
              range={histogramRange(s.range, [...s.base, ...s.head])}
              series={[
                { label: targets ? data.baseTarget! : 'base', values: s.base },
                { label: targets ? data.headTarget! : 'head', values: s.head },
              ]}
            />
          ))}
        </div>
      </section>
      <Changes viewer={viewer} data={data} kind="regressions" deltas={comparison.regressed} offset={data.regressionsOffset} />
      <Changes viewer={viewer} data={data} kind="improvements" deltas={comparison.improved} offset={data.improvementsOffset} />
      <section>
        <h2 id="reworded">{`Other cases whose output changed (${comparison.reworded.length})`}</h2>
        {comparison.reworded.length === 0 ? (
          <p class="muted">None: every other case answered the same text.</p>
        ) : (
          <>
            <p class="muted">No score of these moved past the largest drop allowed; their outputs differ. The first 50:</p>
            {comparison.reworded.slice(0, 50).map((item) => (
              <details class="card">
                <summary>{item.id}</summary>
                <p>
                  <a href={paths.case(data.head.id, item.head.at)}>{`open ${item.id}`}</a>
                </p>
                <DiffPair before={item.base.result.actual_output} after={item.head.result.actual_output} beforeLabel={data.baseTarget ?? 'Base'} afterLabel={data.headTarget ?? 'Head'} />
              </details>
            ))}
          </>
        )}
      </section>
      <section>
        <h2 id="speed">Latency and cost</h2>
        <p>Apart from quality: they never decide the gate. The 20 largest increases first.</p>
        <Speed viewer={viewer} data={data} label="Latency changes" id="latency" rows={comparison.latency} show={(v) => duration(v)} note="Cases whose target answered more than 50 % and 500 ms slower or faster." />
        <Speed viewer={viewer} data={data} label="Cost changes" id="cost" rows={comparison.cost} show={(v) => usd(v)} note="Cases whose LLM calls cost more than 25 % and $0.0001 more or less." />
      </section>
    </Layout>
  );
}
