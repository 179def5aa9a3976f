/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import { Clip, MetricScore } from './grid-view';
import { Layout, Pager, StatusBadge, TableWrap, type Viewer } from './layout';
import type { CaseRow, RunDetail } from './model';

export interface SideColumn {
  run: RunDetail;
  /** The target's name (a matrix's target, else the run's suite). */
  target: string;
  cases: CaseRow[];
  total: number;
}

/**
 * Targets (or runs) side by side, case by case: the input once, then each target's output and scores in its
 * own column. Cases meet by id; they are paged by place.
 */
export function SideBySidePage(props: { viewer: Viewer; columns: SideColumn[]; offset: number; limit: number; runs: string }) {
  const { viewer, columns } = props;
  const paths = viewer.paths;
  const ids: string[] = [];
  const rows = new Map<string, Array<CaseRow | undefined>>();
  columns.forEach((column, n) => {
    for (const row of column.cases) {
      if (!rows.has(row.id)) {
        rows.set(row.id, Array(columns.length).fill(undefined));
        ids.push(row.id);
      }
      rows.get(row.id)![n] = row;
    }
  });
  const metricIds = [...new Set(columns.flatMap((column) => Object.keys(column.run.summary?.metrics ?? {})))];
  const total = Math.max(...columns.map((column) => column.total));
  return (
    <Layout viewer={viewer} title="Side by side" section="runs">
      <p class="muted">
        <a href={paths.runs()}>Runs</a> › side by side
      </p>
      <h1>{`Side by side: ${columns.map((c) => c.target).join(', ')}`}</h1>
      <TableWrap label="Targets side by side">
        <table class="side">
          <thead>
            <tr>
              <th scope="col">Case</th>
              <th scope="col">Input</th>
              {columns.map((column) => (
                <th scope="col">
                  <a href={paths.run(column.run.id)}>{column.target}</a>
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {ids.map((id) => {
              const cells = rows.get(id)!;
              const first = cells.find(Boolean)!;
              return (
                <tr>
                  <th scope="row">{id}</th>
                  <td class="cell-text">
                    <Clip text={first.input} max={200} />
                  </td>
                  {cells.map((cell, n) =>
                    cell ? (
                      <td class="cell-text">
                        <a href={paths.case(columns[n].run.id, cell.index)} aria-label={`${id} of ${columns[n].target}: ${cell.status}`}>
                          <StatusBadge status={cell.status} />
                        </a>
                        <div>
                          <Clip text={cell.actual_output} max={240} />
                        </div>
                        <table class="scores">
                          <tbody>
                            {metricIds
                              .filter((m) => cell.metrics[m])
                              .map((m) => (
                                <tr>
                                  <th scope="row">{m}</th>
                                  <MetricScore value={cell.metrics[m]} />
                                </tr>
                              ))}
                          </tbody>
                        </table>
                      </td>
                    ) : (
                      <td class="muted">–</td>
                    ),
                  )}
                </tr>
              );
            })}
          </tbody>
        </table>
      </TableWrap>
      <Pager label="Cases pages" offset={props.offset} limit={props.limit} total={total} href={(offset) => `${paths.sideBySide(props.runs)}${offset ? `&offset=${offset}` : ''}`} />
    </Layout>
  );
}
