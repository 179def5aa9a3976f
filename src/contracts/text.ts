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

/** `text` as Postgres can store it: NUL characters removed, a lone surrogate replaced by U+FFFD. */
export function storableText(text: string): string {
  const noNul = text.includes('\u0000') ? text.replaceAll('\u0000', '') : text;
  const wellFormed = noNul as unknown as { isWellFormed(): boolean; toWellFormed(): string };
  return wellFormed.isWellFormed() ? noNul : wellFormed.toWellFormed();
}

/**
 * `text` cut to at most `max` UTF-16 units (then `…`), never inside a surrogate pair: the one way anything the
 * platform shows or stores is shortened.
 */
export function clipText(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max;
  // A high surrogate as the last unit kept would be left without its pair.
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${text.slice(0, end)}…`;
}

/** A text cut to `max` characters (by `clipText`), saying how much was left out: what is stored of a long text. */
export function clipBody(text: string, max: number): string {
  if (text.length <= max) return text;
  const kept = clipText(text, max).slice(0, -1);
  return `${kept}… [${text.length - kept.length} more characters not stored]`;
}

/**
 * `value` with `change` applied to every string in it (object keys included). Only what changes is copied: a
 * value whose strings all come back as they were is returned as it was.
 */
export function mapStrings<T>(value: T, change: (text: string) => string): T {
  const walk = (node: unknown): unknown => {
    if (typeof node === 'string') return change(node);
    let changed = false;
    if (Array.isArray(node)) {
      const items = node.map((item) => {
        const mapped = walk(item);
        changed ||= mapped !== item;
        return mapped;
      });
      return changed ? items : node;
    }
    if (node && typeof node === 'object' && !(node instanceof Date)) {
      const copy: Record<string, unknown> = {};
      for (const [key, inner] of Object.entries(node)) {
        const mappedKey = change(key);
        const mapped = walk(inner);
        changed ||= mappedKey !== key || mapped !== inner;
        copy[mappedKey] = mapped;
      }
      return changed ? copy : node;
    }
    return node;
  };
  return walk(value) as T;
}

/** `value` with every string made storable (`storableText`): what a worker writes never fails on its text. */
export const storableDeep = <T>(value: T): T => mapStrings(value, storableText);
