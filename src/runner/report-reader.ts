import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';

const QUOTE = 34;
const BACKSLASH = 92;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;
const OPEN_BRACKET = 91;
const CLOSE_BRACKET = 93;
const COLON = 58;
const COMMA = 44;
const NEWLINE = 10;
const RETURN = 13;
const SPACE = 32;
const TAB = 9;

/** A report that is not JSON, or whose `cases` is not an array of objects; `line` is where, when known. */
export class ReportSyntaxError extends Error {
  constructor(
    message: string,
    readonly line: number | null,
  ) {
    super(message);
  }
}

/**
 * Reads a report.json a megabyte at a time, handing each element of the top-level `cases` array to `each` as
 * soon as it is read, and returns the rest of the report parsed, with `cases` as the array of what `each`
 * returned. Memory holds one case's text and what `each` keeps, not the report's text: a gate over a report of
 * 100,000 cases keeps their scores, not their outputs. Any JSON layout is read, not only evalctl's own.
 */
export function readReportStreaming<T>(path: string, each: (value: unknown) => T): Record<string, unknown> & { cases?: Array<Exclude<T, undefined>> } {
  const fd = openSync(path, 'r');
  const buffer = Buffer.alloc(1 << 20);
  const decoder = new StringDecoder('utf8');
  // What `each` returns, when it returns something.
  const cases: Array<Exclude<T, undefined>> = [];
  // The report's text with the cases' elements left out, parsed at the end.
  const rest: string[] = [];
  let depth = 0;
  let inString = false;
  let escaped = false;
  /** The top-level key whose value is being read (the last string before a `:` at depth 1). */
  let key = '';
  let keyStart = -1;
  let lastString = '';
  let inCases = false;
  let sawCases = false;
  /** Text of the element of `cases` being read (carried across chunks). */
  let element: string[] = [];
  let elementStart = -1;
  /** 1-based line of the character being read, and of the case element being read. */
  let line = 1;
  let elementLine = 1;
  try {
    for (;;) {
      const read = readSync(fd, buffer, 0, buffer.length, null);
      const text = read === 0 ? decoder.end() : decoder.write(buffer.subarray(0, read));
      let keep = 0;
      for (let i = 0; i < text.length; i++) {
        const c = text.charCodeAt(i);
        if (inString) {
          // A raw newline in a string is not JSON; JSON.parse says so below.
          if (c === NEWLINE) line++;
          if (escaped) escaped = false;
          else if (c === BACKSLASH) escaped = true;
          else if (c === QUOTE) {
            inString = false;
            if (depth === 1 && keyStart >= 0) {
              lastString += text.slice(keyStart, i);
              keyStart = -1;
            }
          }
          continue;
        }
        if (c === NEWLINE) {
          line++;
          continue;
        }
        if (inCases && depth === 2 && c !== OPEN_BRACE && c !== CLOSE_BRACKET && c !== COMMA && c !== SPACE && c !== TAB && c !== RETURN) {
          throw new ReportSyntaxError(`line ${line}: an element of "cases" is not an object`, line);
        }
        if (c === QUOTE) {
          inString = true;
          if (depth === 1 && !inCases) {
            keyStart = i + 1;
            lastString = '';
          }
          continue;
        }
        if (c === COLON && depth === 1) {
          key = lastString;
          continue;
        }
        if (c === OPEN_BRACE || c === OPEN_BRACKET) {
          depth++;
          if (depth === 2 && key === 'cases' && c === OPEN_BRACKET && !inCases) {
            inCases = true;
            sawCases = true;
            // The array itself is kept, empty: `"cases": []`.
            rest.push(text.slice(keep, i + 1));
            keep = i + 1;
          } else if (inCases && depth === 3) {
            elementStart = i;
            elementLine = line;
            element = [];
          }
          continue;
        }
        if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
          if (inCases && depth === 3 && elementStart >= 0) {
            element.push(text.slice(elementStart, i + 1));
            const kept = each(parseElement(element.join(''), elementLine));
            if (kept !== undefined) cases.push(kept as Exclude<T, undefined>);
            element = [];
            elementStart = -1;
          } else if (inCases && depth === 2) {
            inCases = false;
            keep = i;
          }
          depth--;
          continue;
        }
      }
      if (inString && keyStart >= 0) {
        lastString += text.slice(keyStart);
        keyStart = 0;
      }
      if (inCases) {
        if (elementStart >= 0) {
          element.push(text.slice(elementStart));
          elementStart = 0;
        }
      } else rest.push(text.slice(keep));
      if (read === 0) break;
    }
  } finally {
    closeSync(fd);
  }
  if (inCases) throw new ReportSyntaxError('the cases array is not closed', line);
  let value: unknown;
  try {
    value = JSON.parse(rest.join(''));
  } catch {
    // What is outside the cases is not JSON: the whole text, parsed, says where.
    try {
      JSON.parse(readFileSync(path, 'utf8'));
    } catch (error) {
      throw new ReportSyntaxError((error as Error).message, null);
    }
    throw new ReportSyntaxError('not JSON', null);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new ReportSyntaxError('not a JSON object', null);
  const report = value as Record<string, unknown> & { cases?: Array<Exclude<T, undefined>> };
  if (sawCases && Array.isArray(report.cases)) report.cases = cases;
  return report;
}

function parseElement(text: string, line: number): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ReportSyntaxError(`the case starting on line ${line}: ${(error as Error).message}`, line);
  }
}
