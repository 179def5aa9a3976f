import { z } from 'zod';
import { suiteSchema } from '../contracts/suite';

/** A JSON Schema node as zod writes it (the subset the reference reads). */
interface JsonSchema {
  type?: string;
  const?: unknown;
  enum?: unknown[];
  format?: string;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  additionalProperties?: JsonSchema | boolean;
  required?: string[];
  default?: unknown;
  description?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  minItems?: number;
  maxItems?: number;
  maxLength?: number;
}

/** One field of the suite format, as the reference lists it. */
export interface SuiteField {
  /** `target.url`, `cases[].turns[].role`. */
  readonly path: string;
  /** The variant of a union it belongs to, e.g. `target type: http`. */
  readonly when?: string;
  readonly type: string;
  readonly required: boolean;
  /** JSON of the default, when there is one. */
  readonly default?: string;
  readonly description?: string;
}

/**
 * The suite format as JSON Schema (draft 2020-12), as written (defaults not applied): editors validate and
 * complete suite files against it (`# yaml-language-server: $schema=…`). `dataset_file`, read by `evalctl
 * run` in place of `cases`, is added beside it.
 */
export function suiteJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(suiteSchema, { io: 'input', unrepresentable: 'any' }) as JsonSchema & Record<string, unknown>;
  const properties = { ...schema.properties, dataset_file: { type: 'string', description: DATASET_FILE } };
  return {
    ...schema,
    title: 'evalctl suite',
    properties,
    required: (schema.required ?? []).filter((name) => name !== 'cases'),
    anyOf: [{ required: ['cases'] }, { required: ['dataset_file'] }],
  };
}

const DATASET_FILE =
  'instead of `cases`: a DeepEval dataset file beside the suite (JSON, JSON Lines or CSV, as `EvaluationDataset.save_as` writes it); `evalctl run` only';

function typeName(schema: JsonSchema): string {
  if (schema.const !== undefined) return JSON.stringify(schema.const);
  if (schema.enum) return schema.enum.map((v) => JSON.stringify(v)).join(' | ');
  const union = schema.anyOf ?? schema.oneOf;
  if (union && union.every(variantName)) return `object (${union.map((member) => variantName(member)).join('; ')})`;
  if (union) return union.map(typeName).join(' | ');
  if (schema.type === 'array') {
    const items = schema.items ? typeName(schema.items) : 'any';
    return `${items.includes('|') ? `(${items})` : items}[]`;
  }
  if (schema.type === 'object') {
    if (schema.properties) return 'object';
    const values = typeof schema.additionalProperties === 'object' ? typeName(schema.additionalProperties) : 'any';
    return `map of ${values}`;
  }
  if (schema.type === 'string' && schema.format === 'uri') return 'URL';
  if (schema.type === 'string' && (schema as { pattern?: string }).pattern === '^\\$') return 'JSONPath';
  return schema.type ?? 'any JSON';
}

function bounds(schema: JsonSchema): string {
  const parts: string[] = [];
  const max = schema.maximum !== undefined && schema.maximum < Number.MAX_SAFE_INTEGER ? schema.maximum : undefined;
  if (schema.minimum !== undefined && max !== undefined) parts.push(`${schema.minimum}–${max}`);
  else {
    if (schema.minimum !== undefined) parts.push(`≥ ${schema.minimum}`);
    if (schema.exclusiveMinimum !== undefined) parts.push(`> ${schema.exclusiveMinimum}`);
    if (max !== undefined) parts.push(`≤ ${max}`);
  }
  if (schema.minItems !== undefined || schema.maxItems !== undefined) {
    parts.push(schema.maxItems === undefined ? `at least ${schema.minItems} item${schema.minItems === 1 ? '' : 's'}` : `${schema.minItems ?? 0}–${schema.maxItems} items`);
  }
  if (schema.maxLength !== undefined) parts.push(`at most ${schema.maxLength} characters`);
  return parts.length ? ` (${parts.join(', ')})` : '';
}

/** A union member's name: its `type` discriminator. */
function variantName(schema: JsonSchema): string | undefined {
  const type = schema.properties?.type;
  if (!type) return undefined;
  return `type: ${(type.enum ?? [type.const]).join(' | ')}`;
}

/** Each union member's fields are listed once: `targets[]`'s members are `target`'s. */
function collect(schema: JsonSchema, path: string, into: SuiteField[], seen: Set<string>, when?: string): void {
  const union = schema.anyOf ?? schema.oneOf;
  if (union && !schema.properties) {
    for (const member of union) {
      const key = JSON.stringify(member);
      if (seen.has(key)) continue;
      seen.add(key);
      collect(member, path, into, seen, variantName(member) ? `${path} ${variantName(member)}` : when);
    }
    return;
  }
  if (schema.type === 'array' && schema.items) {
    collect(schema.items, `${path}[]`, into, seen, when);
    return;
  }
  if (schema.type !== 'object' || !schema.properties) return;
  const required = new Set(schema.required ?? []);
  for (const [name, child] of Object.entries(schema.properties)) {
    const childPath = path ? `${path}.${name}` : name;
    into.push({
      path: childPath,
      ...(when ? { when } : {}),
      type: typeName(child) + bounds(child),
      required: required.has(name) && child.default === undefined,
      ...(child.default !== undefined ? { default: JSON.stringify(child.default) } : {}),
      ...(child.description ? { description: child.description } : {}),
    });
    if (name === 'type' && when) continue;
    collect(child, childPath, into, seen, when);
  }
}

/** Every field of the suite format, read from the schema (never written by hand). */
export function suiteReference(): SuiteField[] {
  const fields: SuiteField[] = [];
  collect(suiteJsonSchema() as JsonSchema, '', fields, new Set());
  return fields;
}

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** The reference as a Markdown table (`evalctl schema --markdown`; the package README holds the same). */
export function suiteReferenceMarkdown(): string {
  const lines = ['| field | type | default | what it is |', '|---|---|---|---|'];
  for (const f of suiteReference()) {
    const name = `\`${f.path}\`${f.required ? '' : '?'}${f.when ? ` (${cell(f.when)})` : ''}`;
    lines.push(`| ${name} | ${cell(f.type)} | ${f.default ? `\`${cell(f.default)}\`` : ''} | ${cell(f.description ?? '')} |`);
  }
  return lines.join('\n');
}
