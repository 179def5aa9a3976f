import { extname } from 'node:path';
import { SuiteError, type SuiteProblem } from './problems';

/**
 * DeepEval's dataset files read as they are: the goldens (or test cases) that `EvaluationDataset.save_as` writes
 * and `add_goldens_from_json_file` / `_jsonl_file` / `_csv_file` read (deepeval/dataset/dataset.py), in JSON (an
 * array of objects), JSONL (one object per line, contexts joined with "|") and CSV (a header row, contexts joined
 * with "|", tool calls and metadata as JSON cells, an empty or pandas-NA cell is no value). Each record becomes a
 * case with this platform's field names; nothing in it is dropped: fields without a place of their own (name,
 * comments, source_file, additional_metadata, custom_column_key_values, scenario, expected_outcome, and any column
 * DeepEval would ignore) go to the case's metadata.
 */

export type DatasetFormat = 'json' | 'jsonl' | 'csv';

/** A dataset read into cases (in this platform's field names, validated later with the suite) and where each came from. */
export interface DatasetCases {
  readonly file: string;
  readonly format: DatasetFormat;
  readonly cases: Array<Record<string, unknown>>;
  /** The line a case starts on, 1-based. */
  lineOf(index: number): number | undefined;
}

/** The format a file name says, or undefined. */
export function datasetFormatOf(file: string): DatasetFormat | undefined {
  const ext = extname(file).toLowerCase();
  return ext === '.json' ? 'json' : ext === '.jsonl' || ext === '.ndjson' ? 'jsonl' : ext === '.csv' ? 'csv' : undefined;
}

/** DeepEval's list delimiter in JSONL and CSV cells (`deepeval.dataset.utils.DELIMITER`). */
export const LIST_DELIMITER = '|';

/** The cells pandas' `read_csv` reads as missing by default (its `na_values`), which DeepEval turns into None. */
const PANDAS_NA = new Set(['', '#N/A', '#N/A N/A', '#NA', '-1.#IND', '-1.#QNAN', '-NaN', '-nan', '1.#IND', '1.#QNAN', '<NA>', 'N/A', 'NA', 'NULL', 'NaN', 'None', 'n/a', 'nan', 'null']);

/** How DeepEval writes a RetrievedContextData in a file; its text is the context. */
const RETRIEVED_CONTEXT_MARKER = /^deepeval_source=(.*?),deepeval_context=([\s\S]*)$/;

/** Each DeepEval field (both spellings) and this platform's name for it, where it has one. */
const ALIASES: Record<string, string> = {
  actualOutput: 'actual_output',
  expectedOutput: 'expected_output',
  retrievalContext: 'retrieval_context',
  toolsCalled: 'tools_called',
  expectedTools: 'expected_tools',
  additionalMetadata: 'additional_metadata',
  sourceFile: 'source_file',
  customColumnKeyValues: 'custom_column_key_values',
  tokenCost: 'token_cost',
  completionTime: 'completion_time',
  expectedOutcome: 'expected_outcome',
  userDescription: 'user_description',
  chatbotRole: 'chatbot_role',
};

/** Fields kept as they are under the case's metadata. */
const TO_METADATA = new Set(['name', 'comments', 'source_file', 'custom_column_key_values', 'scenario', 'expected_outcome', 'user_description', 'persona', 'completion_time']);

/** Fields DeepEval itself sets or ignores when it reads a file, with no meaning for a case here. */
const IGNORED = new Set(['id', 'flaky', 'multimodal']);

type Problem = (path: string, message: string) => void;

/** What the reader may be told about where the text came from: a check each JSON text must pass before it is parsed. */
export interface DatasetReadOptions {
  /** A reason to refuse a JSON text (a line, a cell, the file) before parsing it, e.g. nesting too deep; undefined: fine. */
  readonly refuseJson?: (text: string) => string | undefined;
}

/** What every step of reading one file needs: its format and the caller's check on JSON texts. */
interface Reading extends DatasetReadOptions {
  readonly format: DatasetFormat;
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * A list field: a list of strings, or (JSONL and CSV, where DeepEval joins lists) a string split on "|".
 * RetrievedContextData markers become their context text.
 */
function stringList(value: unknown, field: string, { format }: Reading, problem: Problem): string[] | undefined {
  let items: unknown[];
  if (typeof value === 'string' && format !== 'json') items = value === '' ? [] : value.split(LIST_DELIMITER);
  else if (Array.isArray(value)) items = value;
  else {
    problem(field, format === 'json' ? 'expected a list of strings' : `expected a list of strings, or one string with the items joined by "${LIST_DELIMITER}"`);
    return undefined;
  }
  const out: string[] = [];
  items.forEach((item, i) => {
    if (typeof item !== 'string') problem(`${field}[${i}]`, 'expected a string');
    else out.push(field === 'retrieval_context' ? (RETRIEVED_CONTEXT_MARKER.exec(item)?.[2] ?? item) : item);
  });
  return out;
}

/** A JSON cell (CSV, or a JSONL string where DeepEval accepts one). */
function jsonCell(value: string, field: string, reading: Reading, problem: Problem): unknown {
  const refused = reading.refuseJson?.(value);
  if (refused) {
    problem(field, refused);
    return undefined;
  }
  try {
    return JSON.parse(value);
  } catch (error) {
    problem(field, `not valid JSON: ${(error as Error).message}`);
    return undefined;
  }
}

/** DeepEval's ToolCall (name, input_parameters / inputParameters, output, description, reasoning, type) as a tool call here. */
function toolCalls(value: unknown, field: string, reading: Reading, problem: Problem): Array<Record<string, unknown>> | undefined {
  const list = typeof value === 'string' && reading.format !== 'json' ? jsonCell(value, field, reading, problem) : value;
  if (list === undefined) return undefined;
  if (!Array.isArray(list)) {
    problem(field, 'expected a list of tool calls ({"name": …, "input_parameters": {…}})');
    return undefined;
  }
  const calls: Array<Record<string, unknown>> = [];
  list.forEach((tool, i) => {
    const where = `${field}[${i}]`;
    if (!isRecord(tool)) return problem(where, 'expected a tool call object with a "name"');
    if (typeof tool.name !== 'string' || tool.name === '') return problem(`${where}.name`, 'missing: a tool call needs its name');
    const call: Record<string, unknown> = { name: tool.name };
    const args = tool.input_parameters ?? tool.inputParameters ?? tool.arguments;
    if (args !== undefined && args !== null) {
      if (!isRecord(args)) problem(`${where}.input_parameters`, 'expected an object of parameters');
      else call.arguments = args;
    }
    if (tool.output !== undefined && tool.output !== null) call.output = tool.output;
    for (const key of Object.keys(tool)) {
      if (!['name', 'input_parameters', 'inputParameters', 'arguments', 'output', 'description', 'reasoning', 'type'].includes(key)) {
        problem(`${where}.${key}`, 'unknown field of a DeepEval ToolCall');
      }
    }
    calls.push(call);
  });
  return calls;
}

/** DeepEval's turns (role, content, and per-turn retrieval_context / tools_called…) as turns here; the per-turn extras go to metadata. */
function turnsOf(value: unknown, reading: Reading, problem: Problem): { turns?: Array<{ role: string; content: string }>; extras: Array<Record<string, unknown>> } {
  const list = typeof value === 'string' && reading.format !== 'json' ? jsonCell(value, 'turns', reading, problem) : value;
  const extras: Array<Record<string, unknown>> = [];
  if (list === undefined) return { extras };
  if (!Array.isArray(list)) {
    problem('turns', 'expected a list of turns ({"role": "user" | "assistant", "content": …})');
    return { extras };
  }
  const turns: Array<{ role: string; content: string }> = [];
  list.forEach((turn, i) => {
    if (!isRecord(turn)) return problem(`turns[${i}]`, 'expected a turn object');
    if (turn.role !== 'user' && turn.role !== 'assistant') return problem(`turns[${i}].role`, 'expected "user" or "assistant"');
    if (typeof turn.content !== 'string') return problem(`turns[${i}].content`, 'expected a string');
    turns.push({ role: turn.role, content: turn.content });
    const { role: _role, content: _content, ...rest } = turn;
    const kept = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== null && v !== undefined));
    if (Object.keys(kept).length > 0) extras.push({ turn: i + 1, ...kept });
  });
  return { turns, extras };
}

/** One golden (or LLMTestCase / ConversationalGolden) as a case with this platform's field names. */
function goldenToCase(record: unknown, reading: Reading, problem: Problem): Record<string, unknown> | undefined {
  const { format } = reading;
  if (!isRecord(record)) {
    problem('', 'expected an object (one golden)');
    return undefined;
  }
  const out: Record<string, unknown> = {};
  const metadata: Record<string, unknown> = {};
  for (const [rawKey, value] of Object.entries(record)) {
    const key = ALIASES[rawKey] ?? rawKey;
    // DeepEval reads a missing value (null, an empty CSV cell) as None: the field is absent.
    if (value === null || value === undefined) continue;
    switch (key) {
      case 'input':
      case 'actual_output':
      case 'expected_output':
      case 'chatbot_role':
        if (typeof value !== 'string') problem(key, 'expected a string');
        else out[key] = value;
        break;
      case 'context':
      case 'retrieval_context': {
        const list = stringList(value, key, reading, problem);
        if (list) out[key] = list;
        break;
      }
      case 'tools_called':
      case 'expected_tools': {
        const calls = toolCalls(value, key, reading, problem);
        if (calls) out[key] = calls;
        break;
      }
      case 'turns': {
        const { turns, extras } = turnsOf(value, reading, problem);
        if (turns && turns.length > 0) out.turns = turns;
        if (extras.length > 0) metadata.turn_details = extras;
        break;
      }
      case 'additional_metadata':
      case 'metadata': {
        const parsed = typeof value === 'string' && format !== 'json' ? jsonCell(value, rawKey, reading, problem) : value;
        if (parsed === undefined) break;
        if (!isRecord(parsed)) problem(rawKey, 'expected an object (a JSON object in a CSV cell)');
        else Object.assign(metadata, parsed);
        break;
      }
      case 'tags':
        if (Array.isArray(value) && value.every((t) => typeof t === 'string')) out.tags = value;
        else problem('tags', 'expected a list of strings');
        break;
      case 'token_cost': {
        const cost = typeof value === 'string' ? Number(value) : value;
        if (typeof cost !== 'number' || !Number.isFinite(cost) || cost < 0) problem(rawKey, 'expected a cost in USD, a number ≥ 0');
        else out.cost_usd = cost;
        break;
      }
      case 'custom_column_key_values': {
        // A CSV cell holds it as JSON (DeepEval's parse_mapping); elsewhere it is already an object.
        const parsed = typeof value === 'string' && format === 'csv' ? jsonCell(value, rawKey, reading, problem) : value;
        if (parsed !== undefined) metadata.custom_column_key_values = parsed;
        break;
      }
      case 'images_mapping':
      case 'imagesMapping':
        if (isRecord(value) && Object.keys(value).length > 0) problem(rawKey, 'multimodal goldens (images) are not supported');
        break;
      default:
        if (key === 'multimodal' && value === true) problem(rawKey, 'multimodal goldens (images) are not supported');
        else if (TO_METADATA.has(key)) metadata[key] = value;
        else if (!IGNORED.has(key)) metadata[rawKey] = value;
    }
  }
  if (out.input === undefined && out.turns === undefined) {
    if (metadata.scenario !== undefined) problem('turns', 'a conversational golden without turns needs DeepEval\'s conversation simulator, which this platform does not run: record the turns');
    else problem('input', 'missing: a golden needs its input');
  }
  if (Object.keys(metadata).length > 0) out.metadata = metadata;
  return out;
}

interface RawRecord {
  readonly value: unknown;
  readonly line: number;
}

/** A JSON file: an array of goldens; the line of each is found only when asked (an error to report). */
function jsonRecords(text: string, file: string, reading: Reading): { records: unknown[]; lineOf: (index: number) => number | undefined } {
  const refused = reading.refuseJson?.(text);
  if (refused) throw new SuiteError([{ file, path: '', message: refused }]);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new SuiteError([{ file, line: syntaxErrorLine(text), path: '', message: `not valid JSON: ${(error as Error).message.replace(/\s+/g, ' ')}` }]);
  }
  if (!Array.isArray(value)) throw new SuiteError([{ file, line: 1, path: '', message: 'expected a JSON array of goldens, as DeepEval\'s save_as writes' }]);
  let lines: number[] | undefined;
  return { records: value, lineOf: (index) => (lines ??= elementLines(text))[index] };
}

/** The line of the first syntax error in a text that JSON.parse refused (whose message rarely says where). */
function syntaxErrorLine(text: string): number {
  const offset = jsonErrorOffset(text);
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

const JSON_NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/**
 * Where a JSON text stops being JSON: one pass, containers on an explicit stack (no recursion, whatever the
 * nesting). Only called for a text JSON.parse refused; text.length when the text just ends too early.
 */
export function jsonErrorOffset(text: string): number {
  const n = text.length;
  const stack: string[] = [];
  let i = 0;
  const skipSpace = () => {
    while (i < n && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  };
  /** Moves past a string at i; false when there is none, at a raw control character, or (back at its quote) when it is never closed. */
  const string = (): boolean => {
    const start = i;
    if (text[i] !== '"') return false;
    for (i++; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c === 34) return ++i > 0;
      if (c < 32) return false;
      if (c === 92) i++;
    }
    i = start;
    return false;
  };
  /** Moves past `"key" :`; false where that fails. */
  const key = (): boolean => {
    skipSpace();
    if (!string()) return false;
    skipSpace();
    return text[i] === ':' ? ++i > 0 : false;
  };
  for (;;) {
    // A value starts here.
    skipSpace();
    const c = text[i];
    if (c === '{' || c === '[') {
      i++;
      skipSpace();
      if (text[i] === (c === '{' ? '}' : ']')) i++;
      else {
        stack.push(c);
        if (c === '{' && !key()) return i;
        continue;
      }
    } else if (c === '"') {
      if (!string()) return i;
    } else if (text.startsWith('true', i) || text.startsWith('null', i)) i += 4;
    else if (text.startsWith('false', i)) i += 5;
    else {
      JSON_NUMBER.lastIndex = i;
      if (!JSON_NUMBER.test(text)) return i;
      i = JSON_NUMBER.lastIndex;
    }
    // After a value: a comma, the end of its container, or the end of the text.
    for (;;) {
      skipSpace();
      const open = stack[stack.length - 1];
      if (open === undefined) return i;
      if (text[i] === ',') {
        i++;
        if (open === '{' && !key()) return i;
        break;
      }
      if (text[i] !== (open === '{' ? '}' : ']')) return i;
      i++;
      stack.pop();
    }
  }
}

/** The line each element of a (valid) top-level JSON array starts on, in one pass over the text: strings skipped, nesting counted. */
function elementLines(text: string): number[] {
  const lines: number[] = [];
  let line = 1;
  let depth = 0;
  let inString = false;
  let expectingElement = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\n') line++;
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n') continue;
    if (depth === 1 && expectingElement && c !== ']') {
      lines.push(line);
      expectingElement = false;
    }
    if (c === '"') inString = true;
    else if (c === '[' || c === '{') {
      depth++;
      if (depth === 1) expectingElement = true;
    } else if (c === ']' || c === '}') depth--;
    else if (c === ',' && depth === 1) expectingElement = true;
  }
  return lines;
}

/** A JSONL file: one golden per non-blank line. */
function jsonlRecords(text: string, file: string, reading: Reading): RawRecord[] {
  const records: RawRecord[] = [];
  const problems: SuiteProblem[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '') return;
    const refused = reading.refuseJson?.(line);
    if (refused) return void problems.push({ file, line: i + 1, path: '', message: refused });
    try {
      records.push({ value: JSON.parse(line), line: i + 1 });
    } catch (error) {
      problems.push({ file, line: i + 1, path: '', message: `not valid JSON: ${(error as Error).message}` });
    }
  });
  if (problems.length > 0) throw new SuiteError(problems);
  return records;
}

/**
 * RFC 4180 CSV (what Python's csv module writes), read by csv-parse in one linear pass: "," between cells,
 * quoted cells with "" for a quote and line breaks inside, rows ending in \n, \r\n or \r. Each row with the
 * line it starts on; blank lines are skipped, as pandas skips them. What csv.writer never writes is a problem at
 * its line, not a guess: a quote left open, text after a closing quote, a quote inside an unquoted cell.
 */
/** csv-parse's errors in a dataset author's words. */
const CSV_PROBLEMS: Record<string, string> = {
  CSV_QUOTE_NOT_CLOSED: 'a quoted cell is never closed',
  CSV_INVALID_CLOSING_QUOTE: 'text after a quoted cell’s closing quote (a quote inside a quoted cell is written "")',
  INVALID_OPENING_QUOTE: 'a quote inside a cell that does not start with one (quote the cell and write the quote as "")',
};

export function parseCsv(text: string, file: string): Array<{ cells: string[]; quoted: boolean[]; line: number }> {
  let records: Array<{ record: Array<{ value: string; quoted: boolean }>; info: { lines: number } }>;
  try {
    // With `info` and `cast` each record is { record, info }, which csv-parse's types do not express.
    // Loaded on first use: only a CSV dataset needs it.
    const { parse } = require('csv-parse/sync') as typeof import('csv-parse/sync');
    records = parse(text, {
      bom: true,
      info: true,
      record_delimiter: ['\r\n', '\n', '\r'],
      relax_column_count: true,
      skip_empty_lines: true,
      cast: (value, context) => ({ value, quoted: context.quoting }),
    }) as unknown as typeof records;
  } catch (error) {
    const { code, lines, message } = error as { code?: string; lines?: number; message: string };
    const reason = CSV_PROBLEMS[code ?? ''] ?? message.replace(/ at line \d+/, '');
    throw new SuiteError([{ file, line: lines ?? 1, path: '', message: reason }]);
  }
  return records.map(({ record, info }) => {
    const cells = record.map((cell) => cell.value);
    // csv-parse counts lines to a row's end; the row starts as many lines earlier as its cells hold line breaks.
    let breaks = 0;
    for (const cell of cells) for (let k = cell.indexOf('\n'); k >= 0; k = cell.indexOf('\n', k + 1)) breaks++;
    return { cells, quoted: record.map((cell) => cell.quoted), line: info.lines - breaks };
  });
}

function csvRecords(text: string, file: string): RawRecord[] {
  const rows = parseCsv(text, file);
  if (rows.length === 0) throw new SuiteError([{ file, line: 1, path: '', message: 'the file is empty: expected a header row (input, actual_output, expected_output, …)' }]);
  const [header, ...body] = rows;
  const columns = header.cells.map((c) => c.trim());
  const seen = new Set<string>();
  const problems: SuiteProblem[] = [];
  columns.forEach((column) => {
    if (seen.has(column)) problems.push({ file, line: header.line, path: column, message: 'the header names this column twice' });
    seen.add(column);
  });
  const records: RawRecord[] = [];
  for (const row of body) {
    if (row.cells.length > columns.length) problems.push({ file, line: row.line, path: '', message: `${row.cells.length} cells, and the header names ${columns.length} columns` });
    const value: Record<string, unknown> = {};
    columns.forEach((column, c) => {
      const cell = row.cells[c];
      // pandas reads an empty cell or an NA marker as NaN, which DeepEval turns into None.
      value[column] = cell === undefined || PANDAS_NA.has(cell) ? null : cell;
    });
    records.push({ value, line: row.line });
  }
  if (problems.length > 0) throw new SuiteError(problems);
  return records;
}

/** Reads a DeepEval dataset file's text; every problem of every record is reported at once, with its line. */
export function readDeepEvalDataset(text: string, format: DatasetFormat, file: string, options: DatasetReadOptions = {}): DatasetCases {
  const reading: Reading = { ...options, format };
  let records: unknown[];
  let lineOf: (index: number) => number | undefined;
  if (format === 'json') ({ records, lineOf } = jsonRecords(text, file, reading));
  else {
    const raw = format === 'jsonl' ? jsonlRecords(text, file, reading) : csvRecords(text, file);
    records = raw.map((r) => r.value);
    lineOf = (index) => raw[index]?.line;
  }
  if (records.length === 0) throw new SuiteError([{ file, line: 1, path: '', message: 'the dataset holds no golden' }]);
  const problems: SuiteProblem[] = [];
  const cases = records.map((record, index) => {
    const converted = goldenToCase(record, reading, (path, message) => problems.push({ file, line: lineOf(index), path: `[${index}]${path ? `.${path}` : ''}`, message }));
    return converted ?? {};
  });
  if (problems.length > 0) throw new SuiteError(problems);
  assignIds(cases);
  return { file, format, cases, lineOf };
}

/** A golden's name becomes its case id when the file's names are unique (DeepEval does not require them to be); it stays in metadata either way. */
function assignIds(cases: Array<Record<string, unknown>>): void {
  const names = cases.map((c) => (c.metadata as Record<string, unknown> | undefined)?.name);
  const given = names.filter((n): n is string => typeof n === 'string' && n !== '');
  if (new Set(given).size !== given.length) return;
  cases.forEach((c, i) => {
    if (typeof names[i] === 'string' && names[i] !== '') c.id = names[i];
  });
}
