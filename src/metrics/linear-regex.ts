import { RE2JS } from 're2js';

/**
 * Regular expressions from suites run on RE2 (re2js): matching takes time linear in the text, whatever the
 * pattern, so `(a+)+$` over a long output cannot hold a worker's event loop. What RE2 refuses, because it
 * cannot be matched in linear time, is refused when the suite is read: backreferences (`\1`, `\k<name>`),
 * lookahead (`(?=`, `(?!`), lookbehind (`(?<=`, `(?<!`) and possessive or atomic groups.
 */
export const LINEAR_REGEX_NOTE = 'RE2 syntax, matched in linear time: no backreferences or lookaround';

/** JavaScript flags as RE2's: i, s and m change matching; d, g, u and v change nothing a match test sees. */
const FLAG_BITS: Record<string, number> = { i: RE2JS.CASE_INSENSITIVE, s: RE2JS.DOTALL, m: RE2JS.MULTILINE, d: 0, g: 0, u: 0, v: 0, y: 0 };

export interface LinearRegex {
  /** A match somewhere in `text` (at its start only with the `y` flag, as a fresh sticky RegExp). */
  test(text: string): boolean;
  /** The whole of `text` matches (Python's `re.fullmatch`). */
  fullMatch(text: string): boolean;
}

/** Compiles `pattern` (JavaScript syntax where RE2 has it); throws an Error that says what RE2 refused. */
export function compileLinearRegex(pattern: string, flags = ''): LinearRegex {
  let bits = 0;
  for (const flag of flags) {
    const bit = FLAG_BITS[flag];
    if (bit === undefined) throw new Error(`unknown flag "${flag}"`);
    bits |= bit;
  }
  let compiled: RE2JS;
  try {
    compiled = RE2JS.compile(RE2JS.translateRegExp(pattern), bits);
  } catch (error) {
    throw new Error(`${refusal(pattern) ?? (error as Error).message.replace(/^error parsing regexp: /, '')} (${LINEAR_REGEX_NOTE})`);
  }
  const sticky = flags.includes('y');
  return {
    test: (text) => (sticky ? compiled.matcher(text).lookingAt() : compiled.matcher(text).find()),
    fullMatch: (text) => compiled.matcher(text).matches(),
  };
}

/** What in `pattern` RE2 cannot match in linear time, in words (RE2's own message names only the syntax). */
function refusal(pattern: string): string | undefined {
  if (/\(\?<[=!]/.test(pattern)) return 'a lookbehind ((?<= or (?<!) is not supported';
  if (/\(\?[=!]/.test(pattern)) return 'a lookahead ((?= or (?!) is not supported';
  if (/\\(?:[1-9]|k<)/.test(pattern)) return 'a backreference (\\1, \\k<name>) is not supported';
  return undefined;
}
