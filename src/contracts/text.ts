/**
 * What text the platform can store: Postgres's text and jsonb hold neither a NUL character nor a lone UTF-16
 * surrogate. Returns what is wrong with `text`, or undefined when it can be stored.
 */
export function unstorableText(text: string): string | undefined {
  if (text.includes('\u0000')) return 'contains a NUL character (\\u0000)';
  // String.prototype.isWellFormed: Node 20's V8 has it; the compiler's ES2022 library does not declare it.
  if (!(text as unknown as { isWellFormed(): boolean }).isWellFormed()) return 'contains a lone UTF-16 surrogate (not valid Unicode)';
  return undefined;
}
