import { z } from 'zod';
import { METRICS } from './registry';
import type { MetricDefinition } from './types';

/** One option of a metric entry, as the reference lists it. */
export interface MetricOption {
  readonly name: string;
  /** `boolean`, `string`, `"set" | "exact"`, `string | string[]`, … */
  readonly type: string;
  readonly required: boolean;
  /** JSON of the default, when there is one. */
  readonly default?: string;
  readonly description?: string;
}

/** What a suite author needs to know about a metric, read from its definition (never written by hand). */
export interface MetricReference {
  readonly name: string;
  readonly description: string;
  readonly needsLlm: boolean;
  readonly requires: readonly string[];
  readonly options: readonly MetricOption[];
  readonly range: string;
  readonly direction: 'higher' | 'lower';
  readonly defaultThreshold: number;
}

type JsonSchema = { type?: string | string[]; enum?: unknown[]; anyOf?: JsonSchema[]; items?: JsonSchema; default?: unknown; description?: string; properties?: Record<string, JsonSchema>; required?: string[] };

function typeName(schema: JsonSchema): string {
  if (schema.enum) return schema.enum.map((v) => JSON.stringify(v)).join(' | ');
  if (schema.anyOf) return schema.anyOf.map(typeName).join(' | ');
  if (schema.type === 'array') return schema.items ? `${typeName(schema.items).includes('|') ? `(${typeName(schema.items)})` : typeName(schema.items)}[]` : 'array';
  if (schema.type === 'object') return 'object';
  return Array.isArray(schema.type) ? schema.type.join(' | ') : (schema.type ?? 'any');
}

function optionsOf(definition: MetricDefinition): MetricOption[] {
  const schema = z.toJSONSchema(definition.params as z.ZodType, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const required = new Set(schema.required ?? []);
  return Object.entries(schema.properties ?? {}).map(([name, property]) => ({
    name,
    type: typeName(property),
    required: required.has(name) && property.default === undefined,
    ...(property.default !== undefined ? { default: JSON.stringify(property.default) } : {}),
    ...(property.description ? { description: property.description } : {}),
  }));
}

/** The reference of every registered metric, in registry order. */
export function metricReference(): MetricReference[] {
  return [...METRICS.values()].map((d) => {
    const requires: string[] = [...d.requires];
    if (d.requiresWith) requires.push(d.requiresWith.note);
    return {
      name: d.name,
      description: d.description,
      needsLlm: d.needsLlm,
      requires,
      options: optionsOf(d),
      range: `[${d.range[0]}, ${d.range[1] ?? '∞'}]`,
      direction: d.direction,
      defaultThreshold: d.defaultThreshold,
    };
  });
}

const option = (o: MetricOption): string => `${o.name}${o.required ? '' : '?'}: ${o.type}${o.default !== undefined ? ` = ${o.default}` : ''}`;

/** `evalctl metrics`: one block per metric. */
export function metricReferenceText(): string {
  return metricReference()
    .map((m) => {
      const lines = [
        `${m.name}${m.needsLlm ? ' (LLM judge)' : ''}: ${m.description}`,
        `  needs:     input${m.requires.length ? `, ${m.requires.join(', ')}` : ''}`,
        `  score:     ${m.range}, ${m.direction} is better; default threshold ${m.direction === 'higher' ? '>=' : '<='} ${m.defaultThreshold}`,
      ];
      if (m.options.length === 0) lines.push('  options:   none (besides name, id, threshold)');
      for (const [i, o] of m.options.entries()) lines.push(`  ${i === 0 ? 'options:  ' : '          '} ${option(o)}${o.description ? `  (${o.description})` : ''}`);
      return lines.join('\n');
    })
    .join('\n\n')
    .concat(
      '\n\nEvery entry also takes name, id (its key in the report\'s summary) and threshold. A metric scored in [0, 1] also\n' +
        'takes strict_mode: true, DeepEval\'s: the threshold becomes 1 (0 when lower is better) and the score 1 or 0.\n',
    );
}

const md = (text: string): string => text.replace(/\|/g, '\\|');

/** The README's metric table (between its `metrics:begin` / `metrics:end` markers), kept equal by a test. */
export function metricReferenceMarkdown(): string {
  const rows = metricReference().map((m) => {
    const options = m.options.length
      ? m.options.map((o) => `\`${md(option(o))}\`${o.description ? `: ${md(o.description)}` : ''}`).join('<br>')
      : '—';
    return `| \`${m.name}\` | ${md(m.description)} | ${m.needsLlm ? 'yes' : 'no'} | ${m.requires.length ? m.requires.map((r) => md(r)).join(', ') : '—'} | ${options} | ${m.range}, ${m.direction} | ${m.defaultThreshold} |`;
  });
  return [
    '| metric | what it measures | judge | case fields it needs (besides input) | options (`?` optional, `= default`) | range, better | default threshold |',
    '|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}
