import type { CaseOutcome, TopicGroup } from '../contracts/api';

/**
 * Groups a run's cases by topic, worst first: a case is labelled by its topic, else its first tag, else the
 * label the run's judge gave it when the run finished (`judgeLabels`, case index → label).
 */
export function groupByTopic(cases: readonly CaseOutcome[], judgeLabels: Readonly<Record<string, string>> = {}): TopicGroup[] {
  const groups = new Map<string, { topic: string; cases: number; failed: number }>();
  for (const row of cases) {
    const label = row.topic || (row.tags.length ? `tag:${row.tags[0]}` : (judgeLabels[String(row.case_index)] ?? '(no topic or tag)'));
    const group = groups.get(label) ?? { topic: label, cases: 0, failed: 0 };
    group.cases++;
    if (!row.passed) group.failed++;
    groups.set(label, group);
  }
  return [...groups.values()]
    .map((g) => ({ ...g, fail_rate: Math.round((g.failed / g.cases) * 10_000) / 10_000 }))
    .sort((a, b) => b.fail_rate - a.fail_rate || b.cases - a.cases || a.topic.localeCompare(b.topic));
}
