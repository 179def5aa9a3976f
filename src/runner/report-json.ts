/**
 * report.json written a piece at a time, the same text as `JSON.stringify(report, null, 2)`: the head (every
 * key before `cases`), each case as `caseJson` gives it, then the keys after `cases` (a platform run's
 * `budget`). Memory holds one case's text at a time, not the report.
 */
function frame(head: object, tail: object): { open: string; close: (any: boolean) => string } {
  const opened = JSON.stringify(head, null, 2);
  const after = Object.entries(tail)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `,\n  ${JSON.stringify(key)}: ${JSON.stringify(value, null, 2).replace(/\n/g, '\n  ')}`)
    .join('');
  return {
    // The head's closing brace comes after `cases`; an empty head is `{}`.
    open: opened === '{}' ? '{\n  "cases": [' : `${opened.slice(0, -2)},\n  "cases": [`,
    close: (any) => `${any ? '\n  ]' : ']'}${after}\n}`,
  };
}

export function* reportJsonPieces(head: object, cases: Iterable<string>, tail: object = {}): Generator<string> {
  const { open, close } = frame(head, tail);
  yield open;
  let any = false;
  for (const text of cases) {
    yield any ? `,\n${text}` : `\n${text}`;
    any = true;
  }
  yield close(any);
}

/** As `reportJsonPieces`, the cases coming in batches that are read as the text is written. */
export async function* reportJsonBatches(head: object, batches: AsyncIterable<readonly string[]>, tail: object = {}): AsyncGenerator<string> {
  const { open, close } = frame(head, tail);
  yield open;
  let any = false;
  for await (const batch of batches) {
    if (batch.length === 0) continue;
    yield `${any ? ',' : ''}\n${batch.join(',\n')}`;
    any = true;
  }
  yield close(any);
}

/** A case as an entry of report.json's `cases`, indented as `JSON.stringify(report, null, 2)` indents it. */
export function caseJson(result: unknown): string {
  // Stringified where report.json holds it, so JSON.stringify indents it there itself (no second pass).
  const text = JSON.stringify({ cases: [result] }, null, 2);
  return text.slice(CASE_PREFIX.length, text.length - CASE_SUFFIX.length);
}

const CASE_PREFIX = '{\n  "cases": [\n';
const CASE_SUFFIX = '\n  ]\n}';
