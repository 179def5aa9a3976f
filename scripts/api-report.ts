/**
 * The public API of each published package, as API Extractor reports it (`etc/api/<entry>.api.md`), and the rule
 * that holds it to the version: a report that differs from the one of the last released version
 * (`etc/api/released/`) needs a pending changeset for its package, a major one when something was removed or
 * changed rather than only added.
 *
 *   npm run api           rebuild the typings and rewrite the reports (commit them with the change)
 *   npm run api -- --check   fail on a stale report or an unannounced change (what the tests run)
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Extractor, ExtractorConfig, ExtractorLogLevel } from '@microsoft/api-extractor';

const root = join(__dirname, '..');
export const API_DIR = join(root, 'etc/api');
export const RELEASED_DIR = join(API_DIR, 'released');

/** One entry point of a published package. */
export interface ApiEntry {
  /** The report's name: `etc/api/<name>.api.md`. */
  readonly name: string;
  /** The package's folder and npm name. */
  readonly folder: 'constructs' | 'evalctl';
  readonly packageName: string;
  /** The entry's typings, relative to the package's compiled output. */
  readonly typings: string;
}

export const API_ENTRIES: readonly ApiEntry[] = [
  { name: 'evalctl', folder: 'evalctl', packageName: '@ai-eval-platform/evalctl', typings: 'index.d.ts' },
  { name: 'constructs', folder: 'constructs', packageName: '@ai-eval-platform/constructs', typings: 'index.d.ts' },
  { name: 'constructs-terraform', folder: 'constructs', packageName: '@ai-eval-platform/constructs', typings: 'terraform/index.d.ts' },
  { name: 'constructs-k8s', folder: 'constructs', packageName: '@ai-eval-platform/constructs', typings: 'k8s/index.d.ts' },
];

/** Compiles a package's typings alone, into a folder of its own (never the package's lib/, which packing rewrites). */
function buildTypings(folder: string, outDir: string): void {
  rmSync(outDir, { recursive: true, force: true });
  execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, folder, 'tsconfig.build.json'), '--emitDeclarationOnly', '--outDir', outDir], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** The report API Extractor writes for the entry now (not the committed one). */
export function generateReports(work = join(root, '.tmp', `api-report-${process.pid}`)): Map<string, string> {
  const reports = new Map<string, string>();
  const built = new Set<string>();
  for (const entry of API_ENTRIES) {
    const typings = join(work, 'typings', entry.folder);
    if (!built.has(entry.folder)) buildTypings(entry.folder, typings);
    built.add(entry.folder);
    const out = join(work, 'reports');
    mkdirSync(out, { recursive: true });
    const config = ExtractorConfig.prepare({
      configObject: {
        projectFolder: join(root, entry.folder),
        mainEntryPointFilePath: join(typings, entry.typings),
        compiler: { tsconfigFilePath: join(root, entry.folder, 'tsconfig.build.json'), skipLibCheck: true },
        newlineKind: 'lf',
        apiReport: { enabled: true, reportFileName: `${entry.name}.api.md`, reportFolder: out, reportTempFolder: out },
        docModel: { enabled: false },
        dtsRollup: { enabled: false },
        tsdocMetadata: { enabled: false },
        messages: {
          compilerMessageReporting: { default: { logLevel: ExtractorLogLevel.Warning } },
          // Unexported types reachable from the API are reported inline rather than as warnings.
          extractorMessageReporting: { default: { logLevel: ExtractorLogLevel.None }, 'ae-forgotten-export': { logLevel: ExtractorLogLevel.None, addToApiReportFile: false } },
          tsdocMessageReporting: { default: { logLevel: ExtractorLogLevel.None } },
        },
      },
      configObjectFullPath: undefined,
      packageJsonFullPath: join(root, entry.folder, 'package.json'),
    });
    const result = Extractor.invoke(config, { localBuild: true, showVerboseMessages: false, messageCallback: (message) => { message.handled = true; } });
    if (!result.succeeded) throw new Error(`API Extractor failed on ${entry.name} (${result.errorCount} errors)`);
    reports.set(entry.name, readFileSync(join(out, `${entry.name}.api.md`), 'utf8'));
  }
  rmSync(work, { recursive: true, force: true });
  return reports;
}

/** Package name → bump of every pending changeset (`.changeset/*.md`) that names it. */
export function pendingBumps(dir = join(root, '.changeset')): Map<string, Array<'major' | 'minor' | 'patch'>> {
  const bumps = new Map<string, Array<'major' | 'minor' | 'patch'>>();
  if (!existsSync(dir)) return bumps;
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.md') && f !== 'README.md')) {
    const front = /^---\n([\s\S]*?)\n---/.exec(readFileSync(join(dir, file), 'utf8'))?.[1] ?? '';
    for (const [, name, bump] of front.matchAll(/^["']?([^"':\n]+)["']?\s*:\s*(major|minor|patch)\s*$/gm)) {
      bumps.set(name, [...(bumps.get(name) ?? []), bump as 'major' | 'minor' | 'patch']);
    }
  }
  return bumps;
}

/**
 * The report's declarations, one per line without API Extractor's comments, each with the top-level declaration
 * it belongs to (the same member line in two interfaces is two declarations): what a consumer compiles against.
 */
function declarations(report: string): Set<string> {
  const found = new Set<string>();
  let owner = '';
  for (const raw of report.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('//') || line.startsWith('```') || line.startsWith('>') || line.startsWith('#')) continue;
    if (raw === line && line !== '}' && line !== '};') owner = line;
    found.add(raw === line ? line : `${owner} → ${line}`);
  }
  return found;
}

/** What is known about one entry's report: as generated now, as committed, as last released, and its package's pending bumps. */
export interface ReportState {
  readonly generated: string;
  readonly committed: string | undefined;
  readonly released: string;
  readonly pending: ReadonlyArray<'major' | 'minor' | 'patch'>;
}

/** The problem with one entry's report, if any: stale against the code, or changed since the release unannounced. */
export function reportProblem(entry: ApiEntry, state: ReportState): string | undefined {
  const file = `etc/api/${entry.name}.api.md`;
  if (state.committed !== state.generated) {
    return `${file}: the public API of ${entry.packageName} changed and the report does not say so: run \`npm run api\`, review the diff and commit it`;
  }
  if (state.released === state.committed) return undefined;
  const after = declarations(state.committed);
  const removed = [...declarations(state.released)].filter((line) => !after.has(line));
  if (state.pending.length === 0) {
    return `${file}: the public API of ${entry.packageName} changed since its last release and no changeset announces it: run \`npx changeset\` (${removed.length > 0 ? 'major: declarations were removed or changed' : 'minor: only additions'})`;
  }
  if (removed.length > 0 && !state.pending.includes('major')) {
    return `${file}: ${removed.length} declaration(s) of ${entry.packageName} were removed or changed since its last release (first: ${removed[0]}), a breaking change: its changeset must be major, not ${state.pending.join(', ')}`;
  }
  return undefined;
}

/** Problems with the committed reports, read from disk, against the reports generated now. */
export function apiReportProblems(generated: Map<string, string>): string[] {
  const bumps = pendingBumps();
  const read = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8') : undefined);
  return API_ENTRIES.flatMap((entry) => {
    const problem = reportProblem(entry, {
      generated: generated.get(entry.name) ?? '',
      committed: read(join(API_DIR, `${entry.name}.api.md`)),
      released: read(join(RELEASED_DIR, `${entry.name}.api.md`)) ?? '',
      pending: bumps.get(entry.packageName) ?? [],
    });
    return problem ? [problem] : [];
  });
}

if (require.main === module) {
  const check = process.argv.includes('--check');
  const generated = generateReports();
  if (check) {
    const problems = apiReportProblems(generated);
    for (const p of problems) console.error(p);
    process.exitCode = problems.length > 0 ? 1 : 0;
  } else {
    mkdirSync(API_DIR, { recursive: true });
    for (const [name, text] of generated) {
      const path = join(API_DIR, `${name}.api.md`);
      const before = existsSync(path) ? readFileSync(path, 'utf8') : undefined;
      if (before !== text) writeFileSync(path, text);
      console.log(`${before === text ? 'unchanged' : 'written  '} etc/api/${name}.api.md`);
    }
    if (process.argv.includes('--released')) {
      // After `changeset version`: the reports just released become the baseline of the next change.
      mkdirSync(RELEASED_DIR, { recursive: true });
      for (const [name, text] of generated) writeFileSync(join(RELEASED_DIR, `${name}.api.md`), text);
      console.log('etc/api/released/ updated');
    }
  }
}
