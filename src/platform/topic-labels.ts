import { z } from 'zod';
import type { Judge } from '../metrics/judge';

const BATCH = 40;

/**
 * Short topic labels for cases that have neither a topic nor tags (the Fail Topic Cluster groups by them):
 * the run's judge labels their inputs, up to 40 per call, reusing labels across inputs that share a topic.
 * Returns case index → label; a batch the judge cannot label is left out (those cases stay unlabelled).
 */
export async function labelTopics(judge: Judge, cases: ReadonlyArray<{ index: number; input: string }>): Promise<Record<number, string>> {
  const labels: Record<number, string> = {};
  for (let start = 0; start < cases.length; start += BATCH) {
    const batch = cases.slice(start, start + BATCH);
    const schema = z.object({ labels: z.array(z.string().trim().min(1).max(60)).length(batch.length) });
    try {
      const answer = await judge.ask({
        name: 'topic_labels',
        system: 'You organise support and evaluation data. Answer in JSON.',
        prompt:
          `Give each user input below a topic label of 1 to 4 words, in order, as "labels". Inputs about the same ` +
          `subject get exactly the same label.\n\n${batch.map((c, i) => `${i + 1}. ${c.input.slice(0, 500)}`).join('\n')}`,
        schema,
      });
      answer.value.labels.forEach((label, i) => (labels[batch[i].index] = label.toLowerCase()));
    } catch {
      // Unlabelled cases are still counted, under "(no topic or tag)".
    }
  }
  return labels;
}
