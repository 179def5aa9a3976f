import { createHash } from 'node:crypto';
import type { Report } from '../contracts/report';
import type { RunDetail } from './model';
import type { ReviewView } from './model';

/**
 * The order a reviewer walks a run's judged cases in: by place (`index`), the judge's least sure verdicts first
 * (`uncertain`: scores nearest their threshold, relative to the metric's range), or a random sample that stays
 * the same for the run (`random`: ordered by a hash of run and case, so two reviewers sample the same cases).
 */
export const QUEUE_ORDERS = ['index', 'uncertain', 'random'] as const;
export type QueueOrder = (typeof QUEUE_ORDERS)[number];

export interface ReviewQueue {
  order: QueueOrder;
  /** The queue's cases in order (a sample is the first `size`), each with its judged metrics and whether the reviewer reviewed them all. */
  cases: Array<{ index: number; id: string; metrics: string[]; reviewed: boolean; margin: number }>;
  reviewed: number;
}

/** A run's judged cases (evaluated, with a metric an LLM judged) in the queue's order, with the reviewer's progress. */
export function queueOf(run: RunDetail, report: Report, reviews: readonly ReviewView[], reviewer: string, order: QueueOrder, size: number | undefined): ReviewQueue {
  const judged = new Set(Object.entries(report.metrics).flatMap(([id, m]) => (m.needs_llm ? [id] : [])));
  const own = new Set(reviews.filter((r) => r.reviewer === reviewer).map((r) => `${r.case_index}/${r.metric}`));
  const cases = report.cases.flatMap((result, index) => {
    if (result.status === 'errored') return [];
    const metrics = Object.entries(result.metrics).filter(([id, m]) => judged.has(id) && m.score !== null && m.error === null);
    if (metrics.length === 0) return [];
    const margin = Math.min(
      ...metrics.map(([id, m]) => {
        const range = report.metrics[id].range;
        const width = (range[1] ?? Math.max(1, m.threshold * 2)) - range[0] || 1;
        return Math.abs(m.score! - m.threshold) / width;
      }),
    );
    return [{ index, id: result.id, metrics: metrics.map(([id]) => id), reviewed: metrics.every(([id]) => own.has(`${index}/${id}`)), margin }];
  });
  const hash = (index: number) => createHash('sha256').update(`${run.id}:${index}`).digest('hex');
  if (order === 'uncertain') cases.sort((a, b) => a.margin - b.margin || a.index - b.index);
  if (order === 'random') {
    const keys = new Map(cases.map((c) => [c.index, hash(c.index)]));
    cases.sort((a, b) => (keys.get(a.index)! < keys.get(b.index)! ? -1 : 1));
  }
  const picked = size ? cases.slice(0, size) : cases;
  return { order, cases: picked, reviewed: picked.filter((c) => c.reviewed).length };
}

/** The first case of the queue the reviewer has not finished, after `after` (its place in the queue) when given, else from the start. */
export function nextInQueue(queue: ReviewQueue, after?: number): number | null {
  const start = after === undefined ? 0 : queue.cases.findIndex((c) => c.index === after) + 1;
  const next = queue.cases.slice(start).find((c) => !c.reviewed) ?? queue.cases.slice(0, start).find((c) => !c.reviewed);
  return next ? next.index : null;
}
