/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { Child } from 'hono/jsx';
import { ASSETS } from './assets';
import type { ViewerPaths } from './model';

/** Who is looking: shown in the header, with the form that ends the session (platform only). */
export interface Viewer {
  readonly paths: ViewerPaths;
  readonly title: string;
  readonly mode: 'platform' | 'files';
  /** The reviewer's name; null: read only (a link, or report files). */
  readonly reviewer: string | null;
  /** The session's form token (platform only). */
  readonly csrf: string | null;
  readonly logoutPath: string | null;
}

type Section = 'runs' | 'trends' | 'agreement' | 'traces' | 'none';

export function Layout(props: { viewer: Viewer; title: string; section: Section; children: Child }) {
  const { viewer } = props;
  const paths = viewer.paths;
  const nav: Array<[Section, string, string]> = [
    ['runs', 'Runs', paths.runs()],
    ['trends', 'Trends', paths.trends()],
    ...(viewer.mode === 'platform'
      ? ([
          ['agreement', 'Judge agreement', paths.agreement()],
          ['traces', 'Production traces', paths.traces()],
        ] as Array<[Section, string, string]>)
      : []),
  ];
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${props.title} · ${viewer.title} · evaluation viewer`}</title>
        <link rel="icon" href="data:," />
        <link rel="stylesheet" href={paths.asset(ASSETS.css.name)} />
        <script src={paths.asset(ASSETS.js.name)} defer></script>
      </head>
      <body>
        <a class="skip" href="#main">
          Skip to content
        </a>
        <header class="top">
          <a class="brand" href={paths.runs()}>
            {viewer.title}
          </a>
          <nav aria-label="Viewer">
            <ul>
              {nav.map(([section, label, href]) => (
                <li>
                  <a href={href} aria-current={section === props.section ? 'page' : undefined}>
                    {label}
                  </a>
                </li>
              ))}
            </ul>
          </nav>
          <div class="who">
            {viewer.mode === 'files' ? <span>report files (read only)</span> : viewer.reviewer ? <span>reviewing as {viewer.reviewer}</span> : <span>read-only link</span>}
            {viewer.logoutPath && viewer.csrf ? (
              <form method="post" action={viewer.logoutPath}>
                <input type="hidden" name="csrf" value={viewer.csrf} />
                <button type="submit">Sign out</button>
              </form>
            ) : null}
          </div>
        </header>
        <main id="main" tabindex={-1}>
          {props.children}
        </main>
      </body>
    </html>
  );
}

/** A page of its own for a missing run or case, a refused input, or a sign-in problem. */
export function Problem(props: { viewer: Viewer; title: string; message: string }) {
  return (
    <Layout viewer={props.viewer} title={props.title} section="none">
      <h1>{props.title}</h1>
      <p class="error-box" role="alert">
        {props.message}
      </p>
      <p>
        <a href={props.viewer.paths.runs()}>Back to the runs</a>
      </p>
    </Layout>
  );
}

/**
 * A labelled choice of a filter form: `all` (when given) is the empty choice, "any". Values are shown with `_`
 * as spaces (statuses read as words) unless `asWritten` (names: metrics, suites, branches).
 */
export function Select(props: { label: string; name: string; value: string | undefined; options: readonly string[]; all?: string; asWritten?: boolean }) {
  return (
    <label>
      {props.label}
      <select name={props.name}>
        {props.all ? <option value="">{props.all}</option> : null}
        {props.options.map((option) => (
          <option value={option} selected={option === props.value}>
            {props.asWritten ? option : option.replace(/_/g, ' ')}
          </option>
        ))}
      </select>
    </label>
  );
}

/** A table in a horizontally scrolling region, reachable by keyboard, named for screen readers. */
export function TableWrap(props: { label: string; children: Child }) {
  return (
    <div class="table-wrap" role="region" aria-label={props.label} tabindex={0}>
      {props.children}
    </div>
  );
}

/**
 * A score as every page shows it: three significant digits below 1 (0.5, 0.917, 0.00213, 0.0004: a cost or a
 * small threshold keeps its digits), three decimals at most up to 100, whole numbers past (a latency in ms).
 */
export const score = (value: number | null | undefined): string => {
  if (value === null || value === undefined) return '–';
  const size = Math.abs(value);
  if (size === 0) return '0';
  if (size < 1) return String(Number(value.toPrecision(3)));
  if (size < 100) return String(Number(value.toFixed(3)));
  return String(Math.round(value));
};
export const percent = (value: number | null | undefined): string => (value === null || value === undefined ? '–' : `${(value * 100).toFixed(1)} %`);
export const usd = (value: number | null | undefined): string => (value === null || value === undefined ? 'unknown' : `$${value < 0.01 && value > 0 ? value.toFixed(6) : value.toFixed(4)}`);
export const duration = (ms: number | null | undefined): string =>
  ms === null || ms === undefined ? '–' : ms < 1_000 ? `${Math.round(ms)} ms` : ms < 120_000 ? `${(ms / 1_000).toFixed(1)} s` : `${(ms / 60_000).toFixed(1)} min`;
export const when = (iso: string | null): string => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '–');

const STATUS_TONE: Record<string, string> = {
  passed: 'pass',
  completed: 'pass',
  failed: 'fail',
  errored: 'warn',
  completed_with_errors: 'warn',
  budget_exceeded: 'warn',
  cancelled: 'info',
  queued: 'info',
  running: 'info',
};

export function StatusBadge(props: { status: string }) {
  return <span class={`badge ${STATUS_TONE[props.status] ?? 'info'}`}>{props.status.replace(/_/g, ' ')}</span>;
}

/** Previous and next links over an offset-paged list, with where the reader is. */
export function Pager(props: { label: string; offset: number; limit: number; total: number; href: (offset: number) => string }) {
  const { offset, limit, total } = props;
  if (total <= limit && offset === 0) return <p class="muted">{`${total} ${total === 1 ? 'item' : 'items'}`}</p>;
  const last = Math.min(offset + limit, total);
  return (
    <nav class="pager" aria-label={props.label}>
      {offset > 0 ? <a href={props.href(Math.max(0, offset - limit))}>← Previous</a> : <span class="muted">← Previous</span>}
      <span aria-live="polite">{`${total ? offset + 1 : 0}–${last} of ${total}`}</span>
      {last < total ? <a href={props.href(offset + limit)}>Next →</a> : <span class="muted">Next →</span>}
    </nav>
  );
}
