import { z } from 'zod';
import { CASE_STATUSES, type CaseFilter, type CaseSort } from './model';

/**
 * The run page's grid as an address: its filters, search, sort and columns are query parameters, so a view can
 * be bookmarked, shared, paged, exported and walked case by case (previous and next on a case page keep it).
 */
export interface GridState {
  filter: Omit<CaseFilter, 'offset' | 'limit'>;
  /** The optional columns shown (`GRID_COLUMNS`, or `meta:<key>`); the metrics' columns are always shown. */
  columns: string[];
  offset: number;
}

/** The optional columns and their headers; metadata fields add `meta:<key>`. */
export const GRID_COLUMNS: Readonly<Record<string, string>> = {
  input: 'Input',
  output: 'Actual output',
  expected: 'Expected output',
  tags: 'Topic and tags',
  latency: 'Latency',
  cost: 'Cost',
};

export const DEFAULT_COLUMNS = ['input', 'output', 'expected', 'tags'];

const text = (max: number) =>
  z
    .string()
    .max(max)
    .optional()
    .transform((v) => (v === '' ? undefined : v));
const bound = z.preprocess((v) => (v === '' || v === undefined ? undefined : v), z.coerce.number().finite().optional());

const gridSchema = z
  .object({
    status: z.preprocess((v) => (v === '' ? undefined : v), z.enum(CASE_STATUSES).optional()),
    metric: text(200),
    topic: text(500),
    tag: text(500),
    q: text(500),
    meta: text(700).refine((v) => v === undefined || v.includes('='), 'expected <field>=<value>'),
    smetric: text(200),
    smin: bound,
    smax: bound,
    target: text(200),
    sort: text(300).refine((v) => v === undefined || ['status', 'index', 'id', 'latency', 'cost'].includes(v) || /^(score|meta):.+/.test(v), 'expected status, index, id, latency, cost, score:<metric> or meta:<field>'),
    dir: z.preprocess((v) => (v === '' ? undefined : v), z.enum(['asc', 'desc']).optional()),
    offset: z.coerce.number().int().min(0).max(10_000_000).optional().default(0),
    cols: text(10),
  })
  .refine((v) => v.smin === undefined || v.smax === undefined || v.smin <= v.smax, { message: 'the lowest score is above the highest', path: ['smin'] })
  .refine((v) => (v.smin === undefined && v.smax === undefined) || v.smetric !== undefined, { message: 'choose the metric the score range applies to', path: ['smetric'] });

export type GridQueryProblem = { field: string; message: string };

/** The grid's state from a query (`col` may repeat); a bad parameter is named with what was expected. */
export function parseGrid(query: Record<string, string>, columns: string[] | undefined): GridState | GridQueryProblem {
  const parsed = gridSchema.safeParse(query);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const message = issue.code === 'invalid_value' ? `expected one of ${issue.values.join(', ')}` : issue.message;
    return { field: issue.path.join('.') || 'query', message };
  }
  const v = parsed.data;
  const equals = v.meta?.indexOf('=') ?? -1;
  const picked = (columns ?? []).filter((column) => column in GRID_COLUMNS || (column.startsWith('meta:') && column.length > 5)).slice(0, 30);
  return {
    filter: {
      status: v.status,
      metric: v.metric,
      topic: v.topic,
      tag: v.tag,
      q: v.q?.trim() || undefined,
      meta: v.meta ? { key: v.meta.slice(0, equals), value: v.meta.slice(equals + 1) } : undefined,
      score: v.smetric && (v.smin !== undefined || v.smax !== undefined) ? { metric: v.smetric, min: v.smin, max: v.smax } : undefined,
      target: v.target,
      sort: v.sort as CaseSort | undefined,
      dir: v.dir,
    },
    // `cols` marks a columns form that was sent: no `col` then means none.
    columns: v.cols || columns?.length ? picked : DEFAULT_COLUMNS,
    offset: v.offset,
  };
}

/** The query of a grid state (what the links and forms carry); `columns` only when not the default. */
export function gridQuery(state: GridState, change: Partial<Omit<GridState, 'filter'>> & { filter?: Partial<GridState['filter']> } = {}): URLSearchParams {
  const filter = { ...state.filter, ...change.filter };
  const columns = change.columns ?? state.columns;
  const offset = change.offset ?? 0;
  const params = new URLSearchParams();
  const set = (key: string, value: string | number | undefined) => {
    if (value !== undefined && value !== '') params.set(key, String(value));
  };
  set('status', filter.status);
  set('metric', filter.metric);
  set('topic', filter.topic);
  set('tag', filter.tag);
  set('q', filter.q);
  set('meta', filter.meta ? `${filter.meta.key}=${filter.meta.value}` : undefined);
  set('smetric', filter.score?.metric);
  set('smin', filter.score?.min);
  set('smax', filter.score?.max);
  set('target', filter.target);
  set('sort', filter.sort);
  set('dir', filter.dir);
  if (columns.join('\n') !== DEFAULT_COLUMNS.join('\n')) {
    params.set('cols', '1');
    for (const column of columns) params.append('col', column);
  }
  if (offset) params.set('offset', String(offset));
  return params;
}

export const withQuery = (path: string, params: URLSearchParams): string => {
  const query = params.toString();
  return query ? `${path}?${query}` : path;
};

/** Whether any filter narrows the grid (the "clear" link and the count's wording). */
export const isFiltered = (filter: GridState['filter']): boolean =>
  Boolean(filter.status || filter.metric || filter.topic || filter.tag || filter.q || filter.meta || filter.score || filter.target);
