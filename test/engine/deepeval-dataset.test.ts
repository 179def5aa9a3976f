import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { jsonErrorOffset, parseCsv, readDeepEvalDataset, type DatasetFormat } from '../../src/suite/deepeval-dataset';
import { SuiteError } from '../../src/suite/problems';

const FIXTURES = join(__dirname, '../fixtures/deepeval');
const read = (file: string, format: DatasetFormat) => readDeepEvalDataset(readFileSync(join(FIXTURES, file), 'utf8'), format, file);

/** Every problem of a dataset text, as `file:line: path: message` lines. */
function problems(text: string, format: DatasetFormat): string[] {
  try {
    readDeepEvalDataset(text, format, `d.${format}`);
  } catch (error) {
    if (error instanceof SuiteError) return error.message.split('\n');
    throw error;
  }
  return [];
}

describe('DeepEval dataset files, as save_as writes them', () => {
  const expected = [
    {
      id: 'refund-window',
      input: 'How long do I have to return shoes?',
      actual_output: 'You can return shoes within 30 days of delivery.',
      expected_output: 'Within 30 days of delivery.',
      // DeepEval's RetrievedContextData marker is read as its context.
      retrieval_context: ['Items may be returned within 30 days of delivery.', 'Refunds go to the original card.'],
      tools_called: [{ name: 'lookup_policy', arguments: { topic: 'returns' } }],
      expected_tools: [{ name: 'lookup_policy', arguments: { topic: 'returns' } }],
      metadata: { name: 'refund-window', comments: 'from the support inbox', locale: 'en-GB' },
    },
    {
      id: 'order-status',
      input: 'Where is order 42?',
      actual_output: 'Order 42 ships tomorrow, by courier.',
      expected_output: 'It ships tomorrow.',
      retrieval_context: ['Order 42: packed, ships tomorrow.'],
      context: ['Orders ship within 2 days.'],
      tools_called: [{ name: 'lookup_order', arguments: { id: 42 }, output: { status: 'packed' } }],
      expected_tools: [{ name: 'lookup_order', arguments: { id: 42 } }, { name: 'notify_customer' }],
      metadata: { name: 'order-status', comments: 'A note over two lines,\nwith a comma and a "quote".', source_file: 'orders.md', custom_column_key_values: { team: 'logistics' } },
    },
    {
      id: 'greeting',
      input: 'Hi!',
      actual_output: 'Hello! How can I help?',
      expected_output: 'Hello!',
      retrieval_context: ['Greet the customer.'],
      tools_called: [{ name: 'greet' }],
      expected_tools: [{ name: 'greet' }],
      metadata: { name: 'greeting' },
    },
  ];

  test.each([
    ['goldens.json', 'json'],
    ['goldens.jsonl', 'jsonl'],
    ['goldens.csv', 'csv'],
  ] as const)('%s reads into the same cases, nothing dropped', (file, format) => {
    const dataset = read(file, format);
    expect(dataset.cases).toEqual(expected);
  });

  test('each case knows its line: the JSON object, the JSONL line, the CSV row (a quoted cell spans two lines)', () => {
    expect([0, 1, 2].map((i) => read('goldens.json', 'json').lineOf(i))).toEqual([2, 37, 80]);
    expect([0, 1, 2].map((i) => read('goldens.jsonl', 'jsonl').lineOf(i))).toEqual([1, 2, 3]);
    expect([0, 1, 2].map((i) => read('goldens.csv', 'csv').lineOf(i))).toEqual([2, 3, 5]);
  });

  test('a multi-turn dataset: turns as the conversation, scenario and outcome kept, per-turn extras kept beside them', () => {
    const [conversation] = read('conversations.json', 'json').cases;
    expect(conversation.turns).toEqual([
      { role: 'user', content: 'Hi, I am Ana; order 42 is late.' },
      { role: 'assistant', content: 'Sorry Ana, order 42 ships tomorrow.' },
      { role: 'user', content: 'Send it to my office instead.' },
      { role: 'assistant', content: 'Done: order 42 goes to your office.' },
    ]);
    expect(conversation.metadata).toMatchObject({
      scenario: 'A customer whose order is late asks for a new address.',
      expected_outcome: 'The address is changed.',
      turn_details: [{ turn: 4, retrieval_context: ['Addresses can change until dispatch.'] }],
    });
  });

  test('camelCase fields (Confident AI exports) and pandas NA cells read as DeepEval reads them', () => {
    const [json] = readDeepEvalDataset(JSON.stringify([{ input: 'q', actualOutput: 'a', retrievalContext: ['c'], toolsCalled: [{ name: 't', input_parameters: { x: 1 } }], tokenCost: 0.002 }]), 'json', 'd.json').cases;
    expect(json).toEqual({ input: 'q', actual_output: 'a', retrieval_context: ['c'], tools_called: [{ name: 't', arguments: { x: 1 } }], cost_usd: 0.002 });
    const [csv] = readDeepEvalDataset('input,actual_output,expected_output,context\nq,N/A,,a|b\n', 'csv', 'd.csv').cases;
    expect(csv).toEqual({ input: 'q', context: ['a', 'b'] });
  });
});

describe('a bad dataset: every problem, with its file and line', () => {
  test('JSONL: an invalid line and a golden without input', () => {
    expect(problems('{"input": "q"}\n\n{"input": \n{"expected_output": "e"}\n', 'jsonl')).toEqual([expect.stringMatching(/^d\.jsonl:3: not valid JSON/)]);
    expect(problems('{"input": "q"}\n{"expected_output": "e"}\n', 'jsonl')).toEqual(['d.jsonl:2: [1].input: missing: a golden needs its input']);
  });

  test('CSV: a tools cell that is not JSON, a tool call without a name, a row with too many cells, an unclosed quote', () => {
    expect(problems('input,tools_called,expected_tools\nq,[{oops}],"[{""input_parameters"": {}}]"\n', 'csv')).toEqual([
      expect.stringMatching(/^d\.csv:2: \[0\]\.tools_called: not valid JSON/),
      'd.csv:2: [0].expected_tools[0].name: missing: a tool call needs its name',
    ]);
    expect(problems('input\nq,extra\n', 'csv')).toEqual(['d.csv:2: 2 cells, and the header names 1 columns']);
    expect(problems('input\n"q\n', 'csv')).toEqual(['d.csv:2: a quoted cell is never closed']);
  });

  test('JSON: not an array, a list field of the wrong type, a conversation without turns', () => {
    expect(problems('{"input": "q"}', 'json')).toEqual([expect.stringContaining('d.json:1: expected a JSON array of goldens')]);
    expect(problems('[\n  {"input": "q"},\n  {"input": }\n]', 'json')).toEqual([expect.stringMatching(/^d\.json:3: not valid JSON/)]);
    expect(problems('[{"input": "q", "context": "one string"}]', 'json')).toEqual(['d.json:1: [0].context: expected a list of strings']);
    expect(problems('[\n  {"scenario": "a late order"}\n]', 'json')).toEqual([expect.stringMatching(/^d\.json:2: \[0\]\.turns: a conversational golden without turns needs DeepEval's conversation simulator/)]);
  });

  test('a multimodal golden is refused rather than judged without its images', () => {
    expect(problems('[{"input": "q", "multimodal": true}]', 'json')).toEqual(['d.json:1: [0].multimodal: multimodal goldens (images) are not supported']);
  });
});

test('the CSV reader: quoted cells, doubled quotes, CRLF, a BOM, blank lines', () => {
  expect(parseCsv('\ufeffa,b\r\n"x, ""y""","1\n2"\r\n\r\nz,\n', 'f.csv')).toEqual([
    { cells: ['a', 'b'], quoted: [false, false], line: 1 },
    { cells: ['x, "y"', '1\n2'], quoted: [true, true], line: 2 },
    { cells: ['z', ''], quoted: [false, false], line: 5 },
  ]);
});

test('where a JSON text stops being JSON', () => {
  const at = (text: string) => jsonErrorOffset(text);
  expect(at('{"a": }')).toBe(6);
  expect(at('[1, 2,, 3]')).toBe(6);
  expect(at('{"a": 1 "b": 2}')).toBe(8);
  expect(at('["ok", "unclosed]')).toBe(7);
  expect(at('[{"a": [1, {"b": tru}]}]')).toBe(17);
  expect(at('[1] x')).toBe(4);
  // Every valid document is read to its end; cutting one short is an error at or before the cut.
  fc.assert(
    fc.property(fc.jsonValue(), fc.nat(), (value, cut) => {
      const text = JSON.stringify(value, null, 1);
      expect(at(text)).toBe(text.length);
      const short = text.slice(0, cut % text.length);
      let parses = true;
      try {
        JSON.parse(short);
      } catch {
        parses = false;
      }
      if (!parses) expect(at(short)).toBeLessThanOrEqual(short.length);
    }),
    { numRuns: 300 },
  );
});

test('the CSV reader reads back whatever Python’s csv.writer writes (minimal quoting, \r\n rows)', () => {
  const quote = (cell: string) => (/[",\r\n]/.test(cell) || cell === '' ? `"${cell.replace(/"/g, '""')}"` : cell);
  fc.assert(
    fc.property(fc.array(fc.array(fc.string({ unit: fc.constantFrom('a', 'b', ',', '"', '\n', '\r', ' ', 'é') }), { minLength: 1, maxLength: 4 }), { maxLength: 5 }), (rows) => {
      const text = rows.map((row) => row.map(quote).join(',')).join('\r\n') + '\r\n';
      expect(parseCsv(text, 'f.csv').map((r) => r.cells)).toEqual(rows);
    }),
    { numRuns: 300 },
  );
});
