import { z } from 'zod';
import { clipText } from '../contracts/text';
import type { Judge } from '../metrics/judge';

const BATCH = 40;
/** Characters of a case's input the judge is shown. */
export const LABEL_INPUT_CHARS = 500;

/**
 * Short topic labels for cases that have neither a topic nor tags (the Fail Topic Cluster groups by them):
 * the run's judge labels their inputs, 40 per call (the calls in parallel, under the model's rate limits).
 * Returns case index → label; a batch the judge cannot label is left out (those cases stay unlabelled).
 */
export async function labelTopics(judge: Judge, cases: ReadonlyArray<{ index: number; input: string }>): Promise<Record<number, string>> {
  const labels: Record<number, string> = {};
  const batches = Array.from({ length: Math.ceil(cases.length / BATCH) }, (_, i) => cases.slice(i * BATCH, (i + 1) * BATCH));
  await Promise.all(batches.map((batch) => labelBatch(judge, batch, labels)));
  return labels;
}

async function labelBatch(judge: Judge, batch: ReadonlyArray<{ index: number; input: string }>, labels: Record<number, string>): Promise<void> {
  const schema = z.object({ labels: z.array(z.string().trim().min(1).max(60)).length(batch.length) });
  try {
    const answer = await judge.ask({
      name: 'topic_labels',
      system: 'You organise support and evaluation data. Answer in JSON.',
      prompt:
        `Give each user input below a topic label of 1 to 4 words, in order, as "labels". Inputs about the same ` +
        `subject get exactly the same label.\n\n${batch.map((c, i) => `${i + 1}. ${clipText(c.input, LABEL_INPUT_CHARS)}`).join('\n')}`,
      schema,
    });
    answer.value.labels.forEach((label, i) => (labels[batch[i].index] = label.toLowerCase()));
  } catch {
    // Unlabelled cases are still counted, under "(no topic or tag)".
  }
}
