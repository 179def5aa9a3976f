import type { CaseResult, ReportSummary } from '../contracts/report';
import { MAX_COMMENT_LENGTH, MAX_REVIEWER_LENGTH } from '../contracts/api';
import { unstorableText } from '../contracts/text';
import { METRICS } from '../metrics/registry';
import type { ReviewInput } from './model';


/** Control characters other than line breaks (allowed in comments only) and tabs: nothing a page should show. */
const CONTROL = /[\u0001-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

/** Text a reviewer may give: storable (`unstorableText`) and free of control characters. */
const printable = (text: string): boolean => unstorableText(text) === undefined && !CONTROL.test(text);

/** Whether a metric of the run is judged by an LLM, and so open to review. */
export function isJudged(metric: string, result: CaseResult, summary: ReportSummary | null): boolean {
  const fromSummary = summary?.metrics?.[metric]?.needs_llm;
  if (fromSummary !== undefined) return fromSummary;
  const name = result.metrics[metric]?.name;
  return name !== undefined && METRICS.get(name)?.needsLlm === true;
}

/** A reviewer's name: who they are to their team (a name or an e-mail address), printable, on one line. */
export function checkReviewer(reviewer: unknown, field = 'reviewer'): { reviewer: string } | { field: string; message: string } {
  if (typeof reviewer !== 'string' || reviewer.trim() === '') return { field, message: `${field}: give your name or e-mail address` };
  const trimmed = reviewer.trim();
  if (trimmed.length > MAX_REVIEWER_LENGTH) return { field, message: `${field}: at most ${MAX_REVIEWER_LENGTH} characters` };
  if (/[\r\n]/.test(trimmed) || !printable(trimmed)) {
    return { field, message: `${field}: only printable characters` };
  }
  return { reviewer: trimmed };
}

/**
 * Checks a review against the case it is for: the metric must be one of the case's, judged by an LLM, and
 * scored (an errored metric has no verdict to agree with). Returns the judge's verdict to record beside it, or
 * the problem naming its field.
 */
export function checkReview(
  review: ReviewInput,
  result: CaseResult | null,
  summary: ReportSummary | null,
): { judgePassed: boolean; review: ReviewInput } | { field: string; message: string } {
  if (!result) return { field: 'case', message: 'case: it has no result yet; review it once it is evaluated' };
  const reviewer = checkReviewer(review.reviewer);
  if ('field' in reviewer) return reviewer;
  const metric = result.metrics[review.metric];
  if (!metric) return { field: 'metric', message: `metric: the case has no metric "${review.metric}" (it has ${Object.keys(result.metrics).join(', ') || 'none'})` };
  if (!isJudged(review.metric, result, summary)) return { field: 'metric', message: `metric: ${review.metric} is not judged by an LLM; only judged metrics are reviewed` };
  if (metric.score === null) return { field: 'metric', message: `metric: ${review.metric} errored in this case; there is no verdict to review` };
  const comment = review.comment?.trim() ? review.comment.trim() : null;
  if (comment !== null && comment.length > MAX_COMMENT_LENGTH) return { field: 'comment', message: `comment: at most ${MAX_COMMENT_LENGTH} characters` };
  if (comment !== null && !printable(comment)) {
    return { field: 'comment', message: 'comment: only printable characters and line breaks' };
  }
  if (review.agree && review.corrected_passed !== null && review.corrected_passed !== metric.passed) {
    return { field: 'corrected_passed', message: 'corrected_passed: agreeing with the judge keeps its verdict; disagree to correct it' };
  }
  return { judgePassed: metric.passed, review: { ...review, reviewer: reviewer.reviewer, comment, corrected_passed: review.agree ? null : review.corrected_passed } };
}
