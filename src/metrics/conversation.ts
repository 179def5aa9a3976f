import { z } from 'zod';
import type { Turn } from '../contracts/case';
import type { Judge } from './judge';
import { listOf, numbered, quoted, ratio, verdictsFor } from './rag';
import type { MetricDefinition } from './types';

/**
 * Conversational metrics over a case's `turns` (after the target replayed them). Each asks the judge for one
 * verdict per assistant turn (or per user intention) and scores the share that pass, as DeepEval's
 * conversational metrics do; the per-turn verdicts and reasons are kept in the report's details.
 */

/** What the four have in common: an LLM judge, a share in [0, 1], higher is better, 0.5 by default. */
const JUDGED_SHARE = { needsLlm: true, range: [0, 1], direction: 'higher', defaultThreshold: 0.5 } as const;

const noParams = z.object({}).strict();
const windowParams = z
  .object({ window_size: z.number().int().min(1).max(50).default(10).describe('how many earlier turns the judge sees with each reply') })
  .strict();

/** `[3] user: …` lines: numbered from 1 over the whole conversation. */
const transcript = (turns: readonly Turn[], offset = 0): string => turns.map((t, i) => `[${offset + i + 1}] ${t.role}: ${t.content}`).join('\n');

/** The positions of the assistant turns, 0-based. */
const assistantTurns = (turns: readonly Turn[]): number[] => turns.flatMap((t, i) => (t.role === 'assistant' ? [i] : []));

/** A question about the listed assistant turns of the whole conversation, one verdict each. */
const aboutTurns = (preamble: string, question: string, example: string, turns: readonly Turn[], at: readonly number[]): string =>
  `${preamble}For each assistant turn listed, in order, give a one-sentence "reason" and then a "verdict" on whether ${question}.\n\n` +
  `Example of one entry: ${example}\n\n` +
  `Conversation:\n${transcript(turns)}\n\nAssistant turns to judge: ${at.map((p) => p + 1).join(', ')}`;

/** Verdicts on each assistant turn, with the turn's position (1-based) beside each in the details. */
async function perTurn(
  judge: Judge,
  name: string,
  turns: readonly Turn[],
  question: (positions: number[]) => string,
): Promise<{ positions: number[]; verdicts: Array<{ verdict: 'yes' | 'no'; reason: string }> }> {
  const positions = assistantTurns(turns);
  if (positions.length === 0) return { positions, verdicts: [] };
  const verdicts = await verdictsFor(judge, name, ['yes', 'no'], positions.length, question(positions));
  return { positions, verdicts };
}

function turnScore(
  positions: number[],
  verdicts: Array<{ verdict: 'yes' | 'no'; reason: string }>,
  good: string,
  bad: string,
): { score: number; reason: string; details: unknown } {
  const failing = positions.filter((_, i) => verdicts[i].verdict === 'no');
  const reason =
    positions.length === 0
      ? 'The conversation has no assistant turn.'
      : failing.length === 0
        ? `All ${positions.length} assistant turns ${good}.`
        : `${failing.length} of ${positions.length} assistant turns ${bad}: turn ${failing.map((p) => p + 1).join(', ')} (${quoted(failing.map((p) => verdicts[positions.indexOf(p)].reason))}).`;
  return {
    score: ratio(positions.length - failing.length, positions.length),
    reason,
    details: { turns: positions.map((p, i) => ({ turn: p + 1, verdict: verdicts[i].verdict, reason: verdicts[i].reason })) },
  };
}

/**
 * turn_relevancy: for each assistant turn, is the reply relevant to the conversation so far (the last
 * `window_size` turns before it)? score = relevant assistant turns / assistant turns; none → 1.
 * DeepEval's TurnRelevancyMetric, with its sliding window (default 10).
 */
export const turnRelevancy: MetricDefinition<z.infer<typeof windowParams>> = {
  name: 'turn_relevancy',
  description: 'Share of the assistant’s replies that are relevant to the conversation so far.',
  ...JUDGED_SHARE,
  requires: ['turns'],
  params: windowParams,
  async evaluate({ testCase, params, judge }) {
    const turns = testCase.turns!;
    const { positions, verdicts } = await perTurn(judge, 'turn_relevancy_verdicts', turns, (at) =>
      `For each assistant reply listed, in order, give a one-sentence "reason" and then a "verdict": "yes" if it is relevant and ` +
        `appropriate given the turns before it, else "no".\n\n` +
        `Example of one entry: the user asked when their parcel arrives and the reply talks about the weather: ` +
        `{"reason": "The user asked about delivery; the reply does not address it.", "verdict": "no"}\n\n` +
        at
          .map((p, n) => `Reply ${n + 1} (turn ${p + 1}):\nEarlier turns:\n${transcript(turns.slice(Math.max(0, p - params.window_size), p), Math.max(0, p - params.window_size)) || '(none)'}\nReply: ${turns[p].content}`)
          .join('\n\n'),
    );
    return turnScore(positions, verdicts, 'are relevant to the conversation', 'are not relevant');
  },
};

/**
 * role_adherence: for each assistant turn, does the reply stay in the case's `chatbot_role`?
 * score = adhering assistant turns / assistant turns; none → 1. DeepEval's RoleAdherenceMetric.
 */
export const roleAdherence: MetricDefinition<z.infer<typeof noParams>> = {
  name: 'role_adherence',
  description: 'Share of the assistant’s replies that stay in the role the case gives it (chatbot_role).',
  ...JUDGED_SHARE,
  requires: ['turns', 'chatbot_role'],
  params: noParams,
  async evaluate({ testCase, judge }) {
    const turns = testCase.turns!;
    const { positions, verdicts } = await perTurn(judge, 'role_adherence_verdicts', turns, (at) =>
      aboutTurns(`The assistant's role is:\n${testCase.chatbot_role}\n\n`, 'it stays in that role ("yes") or breaks it ("no": out of character, tone or scope)',
        'for the role "a polite shop assistant", a reply that mocks the customer: {"reason": "A polite shop assistant would not mock the customer.", "verdict": "no"}',
        turns,
        at,
      ),
    );
    return turnScore(positions, verdicts, 'stay in role', 'break the role');
  },
};

/**
 * knowledge_retention: the judge lists what the user told the assistant (facts, preferences, constraints);
 * then, for each assistant turn, whether it contradicts or forgets something the user said before that turn
 * (asks for it again, ignores it). score = assistant turns without such attrition / assistant turns; none → 1.
 * DeepEval's KnowledgeRetentionMetric.
 */
export const knowledgeRetention: MetricDefinition<z.infer<typeof noParams>> = {
  name: 'knowledge_retention',
  description: 'Share of the assistant’s replies that keep what the user already said (no re-asking, no contradiction).',
  ...JUDGED_SHARE,
  requires: ['turns'],
  params: noParams,
  async evaluate({ testCase, judge }) {
    const turns = testCase.turns!;
    const knowledge = await listOf(
      judge,
      'user_knowledge',
      `List, as "items", every fact, preference or constraint the user states in this conversation, each with the ` +
        `turn number where it is first stated. Only what the user says, not what the assistant says.\n\n` +
        `Example: a user who says in turn 1 "I'm Ana, my order is 42, and please no phone calls" gives ` +
        `{"items": ["[1] the user is Ana", "[1] the order number is 42", "[1] the user does not want phone calls"]}\n\n${transcript(turns)}`,
    );
    const { positions, verdicts } = await perTurn(judge, 'knowledge_retention_verdicts', turns, (at) =>
      aboutTurns(
        `What the user said, with the turn where they said it:\n${numbered(knowledge) || '(nothing)'}\n\n`,
        'it keeps what the user said in earlier turns ("yes") or shows attrition ("no": asks again for something already given, contradicts it or ignores it)',
        'the user gave order number 42 in turn 1 and the reply in turn 4 asks for the order number: {"reason": "It asks again for the order number given in turn 1.", "verdict": "no"}',
        turns,
        at,
      ),
    );
    const outcome = turnScore(positions, verdicts, 'keep what the user said', 'forget or contradict what the user said');
    return { ...outcome, details: { knowledge, ...(outcome.details as object) } };
  },
};

/**
 * conversation_completeness: the judge lists the user's intentions over the conversation (what they wanted to
 * get done), then gives each a verdict: did the assistant satisfy it by the end? score = satisfied intentions /
 * intentions; none → 1. DeepEval's ConversationCompletenessMetric.
 */
export const conversationCompleteness: MetricDefinition<z.infer<typeof noParams>> = {
  name: 'conversation_completeness',
  description: 'Share of the user’s intentions in the conversation that the assistant satisfied by its end.',
  ...JUDGED_SHARE,
  requires: ['turns'],
  params: noParams,
  async evaluate({ testCase, judge }) {
    const turns = testCase.turns!;
    const intentions = await listOf(
      judge,
      'user_intentions',
      `List, as "items", what the user wants to get done in this conversation: one short intention per item, not the ` +
        `small talk.\n\nExample: "Hi! Where is order 42? Oh, and can you send it to my office?" gives ` +
        `{"items": ["find out where order 42 is", "have order 42 delivered to the office"]}\n\n${transcript(turns)}`,
    );
    if (intentions.length === 0) return { score: 1, reason: 'The user expressed no intention.', details: { intentions } };
    const verdicts = await verdictsFor(
      judge,
      'intention_verdicts',
      ['yes', 'no'],
      intentions.length,
      `For each intention, in order, give a one-sentence "reason" and then a "verdict": "yes" if the assistant satisfied it by ` +
        `the end of the conversation, else "no".\n\nExample of one entry, for "have order 42 delivered to the office" when the assistant ` +
        `only said it would pass the request on: {"reason": "The address was not changed; the request was only passed on.", "verdict": "no"}\n\n` +
        `Intentions:\n${numbered(intentions)}\n\nConversation:\n${transcript(turns)}`,
    );
    const unmet = intentions.filter((_, i) => verdicts[i].verdict === 'no');
    return {
      score: ratio(intentions.length - unmet.length, intentions.length),
      reason: unmet.length === 0 ? `All ${intentions.length} intentions were satisfied.` : `${unmet.length} of ${intentions.length} intentions were not satisfied: ${quoted(unmet)}.`,
      details: { intentions, verdicts },
    };
  },
};
