/** Exit codes of evalctl: a CI step tells "the scores dropped" apart from "nothing could be measured". */
export const EXIT_OK = 0;
/** The gate failed on scores: a metric missed its threshold, a case failed, or a score dropped against the baseline. */
export const EXIT_GATE_FAILED = 1;
/** Usage or configuration: a bad flag, an unreadable or invalid suite or report, a missing key. */
export const EXIT_USAGE = 2;
/**
 * The evaluation could not be done: the LLM refused the credentials, could not be reached, or failed for more
 * than `--max-errored-share` of the cases. The scores mean nothing, so they are not called a regression.
 */
export const EXIT_NOT_EVALUATED = 3;

/** Exit code 2 with this message and a pointer to --help. */
export class UsageError extends Error {}
