/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import { clipText } from '../contracts/text';
import { metaText } from './case-query';
import { GRID_COLUMNS, gridQuery, isFiltered, withQuery, type GridState } from './grid';
import { duration, Pager, score, Select, StatusBadge, TableWrap, usd, type Viewer } from './layout';
import { CASE_STATUSES, defaultDirection, type CaseFacets, type CaseRow, type CaseSort, type MetricCell } from './model';

/** `text` with every occurrence of `q` marked (case-insensitively). */
export function Highlight(props: { text: string; q?: string }) {
  const { text, q } = props;
  if (!q) return <>{text}</>;
  const lower = text.toLowerCase();
  const needle = q.toLowerCase();
  const parts: Array<string | { mark: string }> = [];
  let from = 0;
  for (let at = lower.indexOf(needle); at !== -1 && needle; at = lower.indexOf(needle, at + needle.length)) {
    if (at > from) parts.push(text.slice(from, at));
    parts.push({ mark: text.slice(at, at + needle.length) });
    from = at + needle.length;
  }
  if (from < text.length) parts.push(text.slice(from));
  return <>{parts.map((part) => (typeof part === 'string' ? part : <mark>{part.mark}</mark>))}</>;
}

/**
 * A text cut to `max` characters around the first match of the search (so a hit deep in a long output is
 * seen), expandable to the whole text (up to 20,000 characters) without JavaScript.
 */
export function Clip(props: { text: string | null | undefined; q?: string; max: number }) {
  const { text, q, max } = props;
  if (text === null || text === undefined || text === '') return <span class="muted">–</span>;
  if (text.length <= max) return <Highlight text={text} q={q} />;
  const hit = q ? text.toLowerCase().indexOf(q.toLowerCase()) : -1;
  const start = hit > max / 2 ? hit - Math.floor(max / 3) : 0;
  const excerpt = `${start > 0 ? '…' : ''}${clipText(text.slice(start), max)}`;
  return (
    <details class="clip">
      <summary>
        <Highlight text={excerpt} q={q} />
      </summary>
      <div class="text">
        <Highlight text={clipText(text, 20_000)} q={q} />
      </div>
    </details>
  );
}

/** A metric's score coloured by its verdict; the judge's reason on hover (title) and on click (details). */
export function MetricScore(props: { value: MetricCell | undefined }) {
  const value = props.value;
  if (!value) return <td class="num muted">–</td>;
  const errored = value.error !== null && value.score === null;
  const shown = errored ? 'error' : score(value.score);
  const verdict = errored ? '' : value.passed ? ' passed' : ' failed';
  const why = errored ? value.error! : value.reason ?? '';
  const tone = errored ? 'err' : value.passed ? 'pass' : 'fail';
  if (!why) {
    return (
      <td class={`num score ${tone}`}>
        {shown}
        <span class="visually-hidden">{verdict}</span>
        <span aria-hidden="true">{!errored && !value.passed ? ' ✗' : ''}</span>
      </td>
    );
  }
  return (
    <td class={`num score ${tone}`} title={clipText(why, 500)}>
      <details class="reason">
        <summary>
          {shown}
          <span class="visually-hidden">{verdict}</span>
          <span aria-hidden="true">{!errored && !value.passed ? ' ✗' : ''}</span>
        </summary>
        <div class="why">{clipText(why, 2_000)}</div>
      </details>
    </td>
  );
}

export interface GridData {
  runId: string;
  state: GridState;
  cases: CaseRow[];
  total: number;
  limit: number;
  facets: CaseFacets;
  /** The run's metrics, in the suite's order. */
  metricIds: string[];
  /** The run's page (the form's target) and a case's page address. */
  path: string;
  casePath: (index: number) => string;
  exportPath: (format: 'csv' | 'json') => string;
}

/** The case grid: filters, search, columns, sortable headers, texts with reasons, server-paged. */
export function CaseGrid(props: { viewer: Viewer; data: GridData }) {
  const { data } = props;
  const { state, facets } = data;
  const filter = state.filter;
  const columns = state.columns;
  const hasTargets = facets.targets.length > 0;
  const metaKeys = Object.keys(facets.metadata);
  const link = (change: Parameters<typeof gridQuery>[1]) => withQuery(data.path, gridQuery(state, change)) + '#cases';
  const caseHref = (index: number) => withQuery(data.casePath(index), gridQuery(state, { offset: 0 }));
  const sortable = (sort: CaseSort, label: string, numeric = false) => {
    const current = (filter.sort ?? 'status') === sort;
    const direction = current ? (filter.dir ?? defaultDirection(sort)) : undefined;
    const next = current ? (direction === 'asc' ? 'desc' : 'asc') : undefined;
    return (
      <th scope="col" class={numeric ? 'num' : undefined} aria-sort={direction ? (direction === 'asc' ? 'ascending' : 'descending') : undefined}>
        <a href={link({ filter: { sort, dir: next } })} title={`sort by ${label}`}>
          {label}
          <span aria-hidden="true">{direction ? (direction === 'asc' ? ' ▲' : ' ▼') : ''}</span>
        </a>
      </th>
    );
  };
  const show = (column: string) => columns.includes(column);
  const current = gridQuery(state);
  const anyExpected = data.cases.some((row) => row.expected_output);
  return (
    <section>
      <h2 id="cases">Cases</h2>
      <form class="filters" method="get" action={data.path + '#cases'} data-autosubmit>
        <label class="search">
          Search input and outputs
          <input type="search" name="q" value={filter.q ?? ''} placeholder="text in the id, input or outputs" data-search-key />
        </label>
        <Select label="Status" name="status" value={filter.status} options={CASE_STATUSES} all="Any status" />
        <Select label="Did not pass metric" name="metric" value={filter.metric} options={data.metricIds} all="Any metric" />
        {facets.topics.length ? <Select label="Topic" name="topic" value={filter.topic} options={facets.topics} all="Any topic" /> : null}
        {facets.tags.length ? <Select label="Tag" name="tag" value={filter.tag} options={facets.tags} all="Any tag" /> : null}
        {hasTargets ? <Select label="Target" name="target" value={filter.target} options={facets.targets} all="Every target" /> : null}
        {metaKeys.length ? (
          <label>
            Metadata
            <select name="meta">
              <option value="">Any metadata</option>
              {metaKeys.map((key) => (
                <optgroup label={key}>
                  {facets.metadata[key].map((value) => {
                    const pair = `${key}=${value}`;
                    return (
                      <option value={pair} selected={filter.meta !== undefined && `${filter.meta.key}=${filter.meta.value}` === pair}>
                        {`${key} = ${clipText(value, 60)}`}
                      </option>
                    );
                  })}
                </optgroup>
              ))}
            </select>
          </label>
        ) : null}
        <fieldset class="range">
          <legend>Score range</legend>
          <label>
            Metric
            <select name="smetric">
              <option value="">none</option>
              {data.metricIds.map((id) => (
                <option value={id} selected={filter.score?.metric === id}>
                  {id}
                </option>
              ))}
            </select>
          </label>
          <label>
            From
            <input type="text" inputmode="decimal" name="smin" size={5} value={filter.score?.min ?? ''} />
          </label>
          <label>
            To
            <input type="text" inputmode="decimal" name="smax" size={5} value={filter.score?.max ?? ''} />
          </label>
        </fieldset>
        {filter.sort ? <input type="hidden" name="sort" value={filter.sort} /> : null}
        {filter.dir ? <input type="hidden" name="dir" value={filter.dir} /> : null}
        {current.getAll('col').map((column) => (
          <input type="hidden" name="col" value={column} />
        ))}
        {current.has('cols') ? <input type="hidden" name="cols" value="1" /> : null}
        <button type="submit">Filter</button>
        {isFiltered(filter) ? <a href={link({ filter: { status: undefined, metric: undefined, topic: undefined, tag: undefined, q: undefined, meta: undefined, score: undefined, target: undefined } })}>Clear filters</a> : null}
      </form>
      <div class="grid-tools">
        <details class="columns">
          <summary>Columns</summary>
          <form method="get" action={data.path + '#cases'}>
            {[...gridQuery(state, { columns: [] }).entries()]
              .filter(([key]) => key !== 'cols' && key !== 'col')
              .map(([key, value]) => (
                <input type="hidden" name={key} value={value} />
              ))}
            <input type="hidden" name="cols" value="1" />
            <div class="choices">
              {[...Object.entries(GRID_COLUMNS), ...metaKeys.map((key) => [`meta:${key}`, key])].map(([column, label]) => (
                <label>
                  <input type="checkbox" name="col" value={column} checked={show(column)} /> {label}
                </label>
              ))}
            </div>
            <button type="submit">Show these columns</button>
          </form>
        </details>
        <span class="muted">
          Export {isFiltered(filter) ? 'the filtered cases' : 'every case'}: <a href={data.exportPath('csv')}>CSV</a> · <a href={data.exportPath('json')}>JSON</a>
        </span>
        <span class="muted keys">
          Keys: <kbd>/</kbd> search, <kbd>j</kbd>/<kbd>k</kbd> next and previous row, <kbd>Enter</kbd> open
        </span>
      </div>
      {data.cases.length === 0 ? (
        <p>{isFiltered(filter) ? 'No case matches.' : 'No case yet.'}</p>
      ) : (
        <TableWrap label="Cases">
          <table class="grid" data-grid>
            <caption>{`Cases ${state.offset + 1}–${state.offset + data.cases.length} of ${data.total}${isFiltered(filter) ? ' matching' : ''}`}</caption>
            <thead>
              <tr>
                {sortable('index', '#', true)}
                {sortable('id', 'Case')}
                {sortable('status', 'Status')}
                {hasTargets ? <th scope="col">Target</th> : null}
                {show('tags') ? <th scope="col">Topic and tags</th> : null}
                {show('input') ? <th scope="col">Input</th> : null}
                {show('output') ? <th scope="col">Actual output</th> : null}
                {show('expected') && anyExpected ? <th scope="col">Expected output</th> : null}
                {columns
                  .filter((column) => column.startsWith('meta:'))
                  .map((column) => sortable(column as CaseSort, column.slice(5)))}
                {data.metricIds.map((id) => sortable(`score:${id}`, id, true))}
                {show('latency') ? sortable('latency', 'Latency', true) : null}
                {show('cost') ? sortable('cost', 'Cost', true) : null}
              </tr>
            </thead>
            <tbody>
              {data.cases.map((row) => (
                <tr data-href={caseHref(row.index)}>
                  <td class="num">{row.index}</td>
                  <th scope="row">
                    <a href={caseHref(row.index)}>
                      <Highlight text={row.id} q={filter.q} />
                    </a>
                  </th>
                  <td>
                    <StatusBadge status={row.status} />
                    {row.error ? <div class="muted small">{clipText(row.error, 140)}</div> : null}
                  </td>
                  {hasTargets ? <td>{row.target ?? '–'}</td> : null}
                  {show('tags') ? <td>{[row.topic, ...row.tags].filter(Boolean).join(', ') || '–'}</td> : null}
                  {show('input') ? (
                    <td class="cell-text">
                      <Clip text={row.input} q={filter.q} max={160} />
                    </td>
                  ) : null}
                  {show('output') ? (
                    <td class="cell-text">
                      <Clip text={row.actual_output} q={filter.q} max={220} />
                    </td>
                  ) : null}
                  {show('expected') && anyExpected ? (
                    <td class="cell-text">
                      <Clip text={row.expected_output} q={filter.q} max={160} />
                    </td>
                  ) : null}
                  {columns
                    .filter((column) => column.startsWith('meta:'))
                    .map((column) => {
                      const value = row.metadata?.[column.slice(5)];
                      return <td>{value === undefined || value === null ? '–' : clipText(metaText(value), 80)}</td>;
                    })}
                  {data.metricIds.map((id) => (
                    <MetricScore value={row.metrics[id]} />
                  ))}
                  {show('latency') ? <td class="num">{duration(row.latency_ms)}</td> : null}
                  {show('cost') ? <td class="num">{usd(row.cost_usd)}</td> : null}
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
      <Pager label="Cases pages" offset={state.offset} limit={data.limit} total={data.total} href={(offset) => link({ offset })} />
    </section>
  );
}
