/**
 * The generated sections of the READMEs, between `<!-- name:begin … -->` and `<!-- name:end -->`: the metric,
 * parity and suite-format references from the engine's registries and schema, and the construct library's
 * configuration and construct tables from its typings' doc comments and `@default` tags. Nothing in them is
 * written by hand: `npm run docs` rewrites them, and `test/docs.test.ts` fails when one is stale.
 *
 *   npx tsx scripts/readme-sections.ts           rewrite every section
 *   npx tsx scripts/readme-sections.ts --check   exit 1 naming each stale section
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { metricReferenceMarkdown } from '../src/metrics/reference';
import { parityMarkdown } from '../src/metrics/parity';
import { suiteReferenceMarkdown } from '../src/suite/reference';

const root = join(__dirname, '..');

export interface ReadmeSection {
  /** The README, relative to the repository root. */
  readonly file: string;
  readonly name: string;
  readonly content: string;
}

const cell = (text: string) => text.replace(/\s*\n\s*/g, ' ').replace(/\|/g, '\\|').trim();

interface Documented {
  readonly description: string;
  readonly defaultValue?: string;
}

/** A node's doc comment without its tags, and its `@default`. */
function documentation(node: ts.Node): Documented {
  const docs = ts.getJSDocCommentsAndTags(node).filter(ts.isJSDoc);
  const description = docs.map((doc) => ts.getTextOfJSDocComment(doc.comment) ?? '').join(' ');
  const tag = docs.flatMap((doc) => [...(doc.tags ?? [])]).find((t) => t.tagName.text === 'default');
  const defaultValue = tag ? ts.getTextOfJSDocComment(tag.comment)?.trim() : undefined;
  return { description: cell(description), ...(defaultValue ? { defaultValue: cell(defaultValue) } : {}) };
}

function parse(file: string): ts.SourceFile {
  return ts.createSourceFile(file, readFileSync(join(root, file), 'utf8'), ts.ScriptTarget.ES2022, true);
}

function interfacesOf(source: ts.SourceFile): Map<string, ts.InterfaceDeclaration> {
  const found = new Map<string, ts.InterfaceDeclaration>();
  source.forEachChild((node) => {
    if (ts.isInterfaceDeclaration(node)) found.set(node.name.text, node);
  });
  return found;
}

/** Up to the first full stop that ends a sentence (not one inside `a.b` or `e.g.`). */
function firstSentence(text: string): string {
  const end = /(?<!e\.g|i\.e)\.(\s|$)/.exec(text);
  return end ? text.slice(0, end.index + 1) : text;
}

/** `EnvironmentInput`, every field at every depth: path, type, required, default, meaning. */
export function environmentReferenceMarkdown(): string {
  const source = parse('constructs/src/config/environment-input.ts');
  const interfaces = interfacesOf(source);
  const rows: string[] = ['| field | type | default | what it is |', '|---|---|---|---|'];
  const visit = (members: ts.NodeArray<ts.TypeElement>, prefix: string) => {
    for (const member of members) {
      if (!ts.isPropertySignature(member) || !member.type) continue;
      const path = `${prefix}${member.name.getText(source)}`;
      const { description, defaultValue } = documentation(member);
      let type = member.type;
      let suffix = '';
      // Record<string, X> of an interface: its fields under `<key>`; X[]: under `[]`.
      if (ts.isTypeReferenceNode(type) && type.typeName.getText(source) === 'Record' && type.typeArguments?.length === 2) {
        type = type.typeArguments[1];
        suffix = '.<key>';
      } else if (ts.isArrayTypeNode(type)) {
        type = type.elementType;
        suffix = '[]';
      }
      const named = ts.isTypeReferenceNode(type) ? interfaces.get(type.typeName.getText(source)) : undefined;
      const nested = ts.isTypeLiteralNode(type) ? type.members : named?.members;
      const typeText = nested ? (named ? `${named.name.text}${suffix ? ` (${suffix === '[]' ? 'list' : 'map'})` : ''}` : 'object') : member.type.getText(source);
      const optional = member.questionToken !== undefined;
      rows.push(`| \`${path}\`${optional ? '?' : ''} | ${cell(typeText)} | ${defaultValue ?? ''} | ${description || (named ? documentation(named).description : '')} |`);
      if (nested) visit(nested, `${path}${suffix}.`);
    }
  };
  visit(interfaces.get('EnvironmentInput')!.members, '');
  return rows.join('\n');
}

/** Each construct a side's index exports: its props with their defaults, and what its doc comment says it makes. */
export function constructTableMarkdown(side: 'terraform' | 'k8s'): string {
  const index = readFileSync(join(root, `constructs/src/${side}/index.ts`), 'utf8');
  const modules = [...index.matchAll(/^export \* from '\.\/([a-z0-9-]+)';/gm)].map((m) => `constructs/src/${side}/${m[1]}.ts`);
  const rows: string[] = ['| construct | props (`name` = default) | what it makes |', '|---|---|---|'];
  for (const file of modules) {
    const source = parse(file);
    const interfaces = interfacesOf(source);
    source.forEachChild((node) => {
      if (!ts.isClassDeclaration(node) || !node.name || !node.modifiers?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword)) return;
      const heritage = node.heritageClauses?.[0]?.types[0]?.expression.getText(source) ?? '';
      if (!/^(Construct|Chart|TerraformStack)$/.test(heritage)) return;
      // The constructor's props: a named interface of this file, or a type literal.
      const ctor = node.members.find(ts.isConstructorDeclaration);
      const propsType = ctor?.parameters[2]?.type;
      const members = propsType && ts.isTypeLiteralNode(propsType)
        ? propsType.members
        : propsType && ts.isTypeReferenceNode(propsType) ? interfaces.get(propsType.typeName.getText(source))?.members : undefined;
      const listed = (members ?? ts.factory.createNodeArray()).filter(ts.isPropertySignature).map((member) => {
        const { defaultValue } = documentation(member);
        const name = `\`${member.name.getText(source)}\``;
        return defaultValue ? `${name} = ${defaultValue}` : name;
      });
      const what = firstSentence(documentation(node).description);
      rows.push(`| \`${node.name.text}\` | ${listed.join(', ') || '—'} | ${what} |`);
    });
  }
  return rows.join('\n');
}

export function readmeSections(): ReadmeSection[] {
  return [
    { file: 'evalctl/README.md', name: 'suite-format', content: suiteReferenceMarkdown() },
    { file: 'evalctl/README.md', name: 'metrics', content: metricReferenceMarkdown() },
    { file: 'evalctl/README.md', name: 'parity', content: parityMarkdown() },
    { file: 'constructs/README.md', name: 'environment-config', content: environmentReferenceMarkdown() },
    { file: 'constructs/README.md', name: 'terraform-constructs', content: constructTableMarkdown('terraform') },
    { file: 'constructs/README.md', name: 'k8s-constructs', content: constructTableMarkdown('k8s') },
  ];
}

const sectionPattern = (name: string) => new RegExp(`(<!-- ${name}:begin[^>]*-->\\n)([\\s\\S]*?)(\\n<!-- ${name}:end -->)`);

/** The section's text as the README holds it now (undefined: the markers are missing). */
export function currentSection(section: ReadmeSection): string | undefined {
  return sectionPattern(section.name).exec(readFileSync(join(root, section.file), 'utf8'))?.[2];
}

if (require.main === module) {
  const check = process.argv.includes('--check');
  let stale = 0;
  for (const section of readmeSections()) {
    const path = join(root, section.file);
    const text = readFileSync(path, 'utf8');
    const pattern = sectionPattern(section.name);
    const current = pattern.exec(text);
    if (!current) throw new Error(`${section.file}: no <!-- ${section.name}:begin --> … <!-- ${section.name}:end --> markers`);
    if (current[2] === section.content) continue;
    stale++;
    if (check) console.error(`${section.file}: section "${section.name}" is stale: run npm run docs`);
    else writeFileSync(path, text.replace(pattern, (_all, begin: string, _old: string, end: string) => `${begin}${section.content}${end}`));
  }
  if (check && stale > 0) process.exit(1);
  if (!check) console.log(`${stale} section(s) rewritten`);
}
