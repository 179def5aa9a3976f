/** The DeepEval source the formulas below were read from (confident-ai/deepeval, 2026-08-22). */
export const DEEPEVAL_SOURCE = 'confident-ai/deepeval@a2e0d4cfd3118352d321c1c84bdeba17d4a201bc';

/**
 * How each metric DeepEval also has scores, beside DeepEval's own formula (read from deepeval/metrics/<name>/ at
 * DEEPEVAL_SOURCE, the `_calculate_score` of each). The README's parity table is generated from these rows and a test holds
 * both to them: `test/engine/deepeval-parity.test.ts` feeds every metric here the same judge verdicts DeepEval
 * would get and expects the score DeepEval's formula gives, computed by hand.
 */
export interface ParityRow {
  /** The metric's name here. */
  readonly metric: string;
  /** DeepEval's class. */
  readonly deepeval: string;
  /** DeepEval's score from its verdicts. */
  readonly formula: string;
  /** Ours, where it is worded differently, else "the same". */
  readonly ours: string;
  /** Same score for the same verdicts (or, for a deterministic metric, the same case). */
  readonly same: boolean;
  /** Why, and any deliberate difference with the reason it never changes a well-formed score. */
  readonly note: string;
  /** Asks one verdict per item and refuses a reply with another count (COUNT_NOTE, the table's footnote). */
  readonly countsVerdicts?: boolean;
}

/** The one deliberate difference of every metric that asks a verdict per item. */
export const COUNT_NOTE =
  'A judge reply with a different number of verdicts than items is asked again here (DeepEval scores whatever count came back); a well-formed reply has one verdict per item, so its score is the same.';

export const PARITY: readonly ParityRow[] = [
  {
    metric: 'faithfulness',
    deepeval: 'FaithfulnessMetric',
    formula: '(claims − "no" − (penalize_ambiguous_claims ? "idk" : 0)) / claims; no claims → 1. Claims are judged against truths extracted from the retrieval context (truths_extraction_limit per document).',
    ours: 'the same, the same two extraction steps',
    same: true,
    note: '',
    countsVerdicts: true,
  },
  {
    metric: 'answer_relevancy',
    deepeval: 'AnswerRelevancyMetric',
    formula: '(statements − "no") / statements; "idk" counts as relevant; no statements → 1',
    ours: 'the same; penalize_ambiguous_claims (ours, off by default) also drops "idk"',
    same: true,
    note: '',
    countsVerdicts: true,
  },
  {
    metric: 'contextual_precision',
    deepeval: 'ContextualPrecisionMetric',
    formula: 'Σₖ relₖ · (relevant in top k / k) / relevant nodes; no relevant node → 0',
    ours: 'the same',
    same: true,
    note: '',
    countsVerdicts: true,
  },
  {
    metric: 'contextual_recall',
    deepeval: 'ContextualRecallMetric',
    formula: '"yes" / verdicts, one verdict per sentence of the expected output as the judge splits it; no verdict → 0',
    ours: 'the same: the judge splits the sentences (in earlier builds a regular expression did, and "e.g. Visa." ended a sentence); an empty expected output is 0 without a call',
    same: true,
    note: 'The judge decides the sentences, so the count is not checked.',
  },
  {
    metric: 'hallucination',
    deepeval: 'HallucinationMetric',
    formula: '"no" (contradicted) / contexts; no context → 0; lower is better',
    ours: 'the same',
    same: true,
    note: '',
    countsVerdicts: true,
  },
  {
    metric: 'g_eval',
    deepeval: 'GEval',
    formula: '(score − start) / (end − start), the range 0–10 or the rubric\'s, where score = Σ p·v / Σ p over the top log-probs (p ≥ 0.01, decimal tokens) of the last reply token equal to the raw score, if the model returns log-probs; else the raw score (a decimal is accepted). strict_mode: a 0/1 question.',
    ours: 'the same; log-probs are asked only of models known to return them (DeepEval\'s table, `judge.logprobs` to override)',
    same: true,
    note: 'A score outside the range is asked again here (DeepEval would divide it as it came); a well-formed reply is within the range. Log-prob candidates outside a rubric\'s range could take DeepEval\'s score past 1; here it is held to [0, 1].',
  },
  {
    metric: 'tool_correctness',
    deepeval: 'ToolCorrectnessMetric',
    formula: 'default: Σ best credit per expected call / expected, each called tool (and every call equal to it) matched once; should_consider_ordering: weighted LCS / expected; should_exact_match: 1 or 0. Credit: 1, × the share of matching argument keys (recursive) with INPUT_PARAMETERS, 0 on an output mismatch with OUTPUT.',
    ours: 'match: set | ordered | exact, check_arguments, check_output: the same',
    same: true,
    note: 'DeepEval\'s optional `available_tools` (an LLM-judged tool-selection score, the minimum of both) is not offered.',
  },
  {
    metric: 'task_completion',
    deepeval: 'TaskCompletionMetric',
    formula: 'the judge\'s verdict (0–1) on the outcome against the task, both first extracted from the trace (or the task given)',
    ours: 'the same two steps, over input, tool calls (with outputs) and the final output',
    same: true,
    note: 'DeepEval also reads a traced span tree when there is one; a case here has no spans, the same input it reads without one.',
  },
  {
    metric: 'exact_match',
    deepeval: 'ExactMatchMetric',
    formula: '1 if expected.strip() == actual.strip() else 0',
    ours: 'the same (trim on by default); `value` and ignore_case are ours',
    same: true,
    note: 'DeepEval refuses an empty actual_output; here "" is compared (1 only against an empty expected output). DeepEval gives no score there, so no score it gives changes.',
  },
  {
    metric: 'pattern_match',
    deepeval: 'PatternMatchMetric',
    formula: '1 if re.fullmatch(pattern.strip(), actual.strip()) else 0',
    ours: 'the same (RE2 syntax, matched in linear time: Python’s (?P<name>…) works; backreferences and lookaround are refused when the suite loads)',
    same: true,
    note: '`regex` is a different metric: a match anywhere in the output.',
  },
  {
    metric: 'json_schema',
    deepeval: 'JsonCorrectnessMetric',
    formula: '1 if the output validates against the expected schema else 0',
    ours: 'the same, with the schema as JSON Schema instead of a pydantic model',
    same: true,
    note: '',
  },
  {
    metric: 'turn_relevancy',
    deepeval: 'TurnRelevancyMetric',
    formula: '(assistant turns − "no") / assistant turns, each judged with the window_size turns before it; none → 1',
    ours: 'the same',
    same: true,
    note: '',
    countsVerdicts: true,
  },
  {
    metric: 'role_adherence',
    deepeval: 'RoleAdherenceMetric',
    formula: '(assistant turns − out-of-character turns) / assistant turns; none → 1',
    ours: 'the same: a yes/no verdict per assistant turn, "no" being out of character',
    same: true,
    note: '',
    countsVerdicts: true,
  },
  {
    metric: 'knowledge_retention',
    deepeval: 'KnowledgeRetentionMetric',
    formula: 'turns without attrition / assistant turns ("yes" there means attrition); none → 1',
    ours: 'the same, with the labels the other way round ("no" means attrition here)',
    same: true,
    note: '',
    countsVerdicts: true,
  },
  {
    metric: 'conversation_completeness',
    deepeval: 'ConversationCompletenessMetric',
    formula: '(intentions − "no") / intentions; none → 1',
    ours: 'the same',
    same: true,
    note: '',
    countsVerdicts: true,
  },
];

const cell = (text: string): string => text.replace(/\|/g, '\\|');

/** The README's parity table (between its `parity:begin` / `parity:end` markers), kept equal by a test. */
export function parityMarkdown(): string {
  return [
    '| metric | DeepEval | DeepEval\'s score | ours | same score for the same verdicts |',
    '|---|---|---|---|---|',
    ...PARITY.map(
      (row) =>
        `| \`${row.metric}\` | \`${row.deepeval}\` | ${cell(row.formula)} | ${cell(row.ours)} | ${row.same ? 'yes' : 'no'}${row.countsVerdicts ? ' ¹' : ''}${row.note ? `: ${cell(row.note)}` : ''} |`,
    ),
    '',
    `¹ ${COUNT_NOTE}`,
  ].join('\n');
}
