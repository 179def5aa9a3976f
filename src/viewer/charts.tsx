/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import { score } from './layout';

/**
 * Charts drawn on the server as SVG: no script, no fetch, allowed by the page's policy (classes, never inline
 * styles). Each carries a title and a description; the tables beside them hold the same numbers.
 */

const BINS = 10;

/** Counts of `values` in `BINS` equal bins over [low, high] (the last bin includes `high`). */
export function binned(values: readonly number[], low: number, high: number): number[] {
  const counts = Array<number>(BINS).fill(0);
  const span = high - low || 1;
  for (const value of values) {
    const bin = Math.min(BINS - 1, Math.max(0, Math.floor(((value - low) / span) * BINS)));
    counts[bin]++;
  }
  return counts;
}

/** The range a metric's histogram spans: its declared range, or what was observed past it. */
export function histogramRange(range: [number, number | null] | undefined, values: readonly number[]): [number, number] {
  let low = range?.[0] ?? 0;
  let high = range?.[1] ?? 1;
  for (const value of values) {
    if (value < low) low = value;
    if (value > high) high = value;
  }
  return [low, high];
}

/**
 * A histogram of one metric's scores: one bar per bin, or two side by side (base and head of a comparison).
 * `series` hold raw scores; the bins span `range`.
 */
export function Histogram(props: { metric: string; range: [number, number]; series: Array<{ label: string; values: readonly number[] }> }) {
  const { metric, range, series } = props;
  const width = 420;
  const height = 170;
  const pad = { left: 34, right: 8, top: 10, bottom: 30 };
  const counts = series.map((s) => binned(s.values, range[0], range[1]));
  const peak = Math.max(1, ...counts.flat());
  const slot = (width - pad.left - pad.right) / BINS;
  const bar = (slot - 4) / series.length;
  const y = (count: number) => pad.top + (height - pad.top - pad.bottom) * (1 - count / peak);
  const id = `hist-${metric.replace(/[^A-Za-z0-9_-]/g, '_')}-${series.length}`;
  const step = (range[1] - range[0]) / BINS;
  const describe = series.map((s, i) => `${s.label}: ${counts[i].map((n, b) => `${score(range[0] + b * step)}–${score(range[0] + (b + 1) * step)}: ${n}`).join(', ')}`).join('; ');
  return (
    <figure class="histogram">
      <svg class="chart small" viewBox={`0 0 ${width} ${height}`} role="img" aria-labelledby={`${id}-title ${id}-desc`}>
        <title id={`${id}-title`}>{`Scores of ${metric}${series.length > 1 ? `, ${series.map((s) => s.label).join(' against ')}` : ''}`}</title>
        <desc id={`${id}-desc`}>{describe}</desc>
        <line class="axis" x1={pad.left} y1={height - pad.bottom} x2={width - pad.right} y2={height - pad.bottom} />
        <text x={pad.left - 4} y={pad.top + 8} text-anchor="end">
          {peak}
        </text>
        <text x={pad.left - 4} y={height - pad.bottom} text-anchor="end">
          0
        </text>
        {counts.map((bins, s) =>
          bins.map((count, b) => (
            <rect class={`bar s${s}`} x={pad.left + b * slot + 2 + s * bar} y={y(count)} width={Math.max(1, bar - 1)} height={height - pad.bottom - y(count)}>
              <title>{`${series[s].label}: ${count} cases scored ${score(range[0] + b * step)}–${score(range[0] + (b + 1) * step)}`}</title>
            </rect>
          )),
        )}
        <text x={pad.left} y={height - 10} text-anchor="start">
          {score(range[0])}
        </text>
        <text x={width - pad.right} y={height - 10} text-anchor="end">
          {score(range[1])}
        </text>
      </svg>
      <figcaption>
        {metric}
        {series.length > 1
          ? series.map((s, i) => (
              <span class="legend">
                <span class={`swatch s${i}`} aria-hidden="true"></span>
                {s.label}
              </span>
            ))
          : null}
      </figcaption>
    </figure>
  );
}

export interface LinePoint {
  /** The x position's key (a run), shared by every series. */
  key: string;
  /** The label under the axis for this key. */
  label: string;
  value: number;
  title: string;
  href?: string;
}

/**
 * Lines over a shared x axis (runs in time order), one per series (a branch): a point sits at its run's place,
 * so branches interleave as they ran. With one point the axis shows one label, once.
 */
export function LineChart(props: { title: string; id: string; keys: Array<{ key: string; label: string }>; series: Array<{ label: string; points: LinePoint[] }>; percent?: boolean }) {
  const { keys, series } = props;
  const width = 860;
  const height = 260;
  const pad = { left: 48, right: 16, top: 16, bottom: 40 };
  const values = series.flatMap((s) => s.points.map((p) => p.value));
  const low = Math.min(0, ...values);
  const high = Math.max(1, ...values);
  const place = new Map(keys.map((k, i) => [k.key, i]));
  const x = (i: number) => pad.left + (keys.length === 1 ? (width - pad.left - pad.right) / 2 : (i * (width - pad.left - pad.right)) / (keys.length - 1));
  const y = (v: number) => pad.top + ((high - v) * (height - pad.top - pad.bottom)) / (high - low || 1);
  const shown = (v: number) => (props.percent ? `${Math.round(v * 100)} %` : score(Math.round(v * 100) / 100));
  const ticks = [low, (low + high) / 2, high];
  const edges = keys.length === 1 ? [{ at: 0, anchor: 'middle' }] : [{ at: 0, anchor: 'start' }, { at: keys.length - 1, anchor: 'end' }];
  return (
    <figure>
      <svg class="chart" viewBox={`0 0 ${width} ${height}`} role="img" aria-labelledby={`${props.id}-title ${props.id}-desc`}>
        <title id={`${props.id}-title`}>{props.title}</title>
        <desc id={`${props.id}-desc`}>{series.map((s) => `${s.label}: ${s.points.map((p) => `${p.label} ${shown(p.value)}`).join(', ')}`).join('; ')}</desc>
        <line class="axis" x1={pad.left} y1={height - pad.bottom} x2={width - pad.right} y2={height - pad.bottom} />
        <line class="axis" x1={pad.left} y1={pad.top} x2={pad.left} y2={height - pad.bottom} />
        {ticks.map((tick) => (
          <text x={pad.left - 6} y={y(tick) + 4} text-anchor="end">
            {shown(tick)}
          </text>
        ))}
        {series.map((s, n) => {
          const points = s.points.filter((p) => place.has(p.key));
          const path = points.map((p, i) => `${i ? 'L' : 'M'}${x(place.get(p.key)!).toFixed(1)},${y(p.value).toFixed(1)}`).join(' ');
          return (
            <g class={`series s${n % 6}`}>
              {points.length > 1 ? <path class="line" d={path} /> : null}
              {points.map((p) => (
                <circle class="dot" cx={x(place.get(p.key)!)} cy={y(p.value)} r={3.5}>
                  <title>{p.title}</title>
                </circle>
              ))}
            </g>
          );
        })}
        {keys.length
          ? edges.map((edge) => (
              <text x={x(edge.at)} y={height - 14} text-anchor={edge.anchor}>
                {keys[edge.at].label}
              </text>
            ))
          : null}
      </svg>
      {series.length > 1 ? (
        <figcaption>
          {series.map((s, n) => (
            <span class="legend">
              <span class={`swatch s${n % 6}`} aria-hidden="true"></span>
              {s.label}
            </span>
          ))}
        </figcaption>
      ) : null}
    </figure>
  );
}
