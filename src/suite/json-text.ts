/**
 * A JSON suite file read at JSON's speed: `JSON.parse`, then a scan for a key repeated within one object
 * (which `JSON.parse` lets the last one win, and the YAML reader refuses with its line). Undefined when the
 * text is not valid JSON or repeats a key: the caller then reads it with the YAML reader, whose error names
 * the line. For a 1,000-case suite this is about 3 ms instead of 80.
 */
export function parseStrictJson(text: string): { value: unknown } | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  return repeatsKey(text) ? undefined : { value };
}

const QUOTE = 34; // "
const BACKSLASH = 92;
const COLON = 58;
const OPEN_OBJECT = 123; // {
const CLOSE_OBJECT = 125;
const OPEN_ARRAY = 91; // [
const CLOSE_ARRAY = 93;

/** Whether an object of the (valid) JSON text has the same key twice, compared as decoded strings. */
function repeatsKey(text: string): boolean {
  // Per open container: the keys seen so far for an object, null for an array.
  const stack: Array<Set<string> | null> = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === OPEN_OBJECT) stack.push(new Set());
    else if (c === OPEN_ARRAY) stack.push(null);
    else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) stack.pop();
    else if (c === QUOTE) {
      const start = i;
      let escaped = false;
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === BACKSLASH) {
          escaped = true;
          i++;
        } else if (d === QUOTE) break;
      }
      const keys = stack[stack.length - 1];
      if (!keys) continue;
      // A string in an object is a key when a colon follows it.
      let next = i + 1;
      while (next < text.length && text.charCodeAt(next) <= 32) next++;
      if (text.charCodeAt(next) !== COLON) continue;
      const raw = text.slice(start, i + 1);
      const key = escaped ? (JSON.parse(raw) as string) : raw.slice(1, -1);
      if (keys.has(key)) return true;
      keys.add(key);
    }
  }
  return false;
}
