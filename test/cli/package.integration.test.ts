import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Report } from '../../src/contracts/report';
import { fakeEnv } from '../support/engine';
import { echoTruths, startFakeLlmServer, type FakeLlmServer } from '../support/fake-llm-server';
import { installEvalctl, packWorkspace, README_ANSWERS, runEvalctlReadme, runIn } from '../support/readme-examples';

/**
 * Another team's repository installs the packed evalctl (`npm i -D`), runs a suite against the fake LLM with
 * the installed bin, and finds none of the platform's server dependencies in its node_modules.
 */
const root = join(__dirname, '../..');
// hono is not among them: `evalctl view` renders the viewer's pages with it (node:http serves them).
const SERVER_DEPENDENCIES = [
  'chdb', 'bee-queue', '@hono/node-server', 'kysely', '@clickhouse/client', 'redis', 'pg', '@electric-sql/pglite', 'prom-client',
  'cdktf', 'cdk8s', 'constructs', '@ai-eval-platform/constructs', 'tsx', 'typescript',
];

interface LsNode {
  dependencies?: Record<string, LsNode>;
}
const installedNames = (node: LsNode, into = new Set<string>()): Set<string> => {
  for (const [name, child] of Object.entries(node.dependencies ?? {})) {
    into.add(name);
    installedNames(child, into);
  }
  return into;
};

describe('the packed evalctl in another repository (integration)', () => {
  const work = join(root, '.tmp', `evalctl-package-${process.pid}`);
  const app = join(work, 'app');
  let server: FakeLlmServer;
  let files: string[] = [];
  let tarball = '';
  const version = (JSON.parse(readFileSync(join(root, 'evalctl/package.json'), 'utf8')) as { version: string }).version;

  beforeAll(async () => {
    server = await startFakeLlmServer();
    ({ tarball, files } = packWorkspace('evalctl', work));
    // One command, as the README says: npm i -D <package>.
    expect(installEvalctl(app, tarball, process.execPath).status).toBe(0);
  }, 180_000);
  afterAll(async () => {
    await server.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('carries the platform version: the CLI and the repository release together', () => {
    expect(version).toBe((JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version);
  });

  it('ships compiled JavaScript and typings only: no TypeScript source, no platform service', () => {
    expect(files).toEqual(expect.arrayContaining(['bin/evalctl.js', 'lib/cli/entry.js', 'lib/index.js', 'lib/index.d.ts', 'package.json', 'README.md', 'CHANGELOG.md', 'LICENSE']));
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    expect(files.filter((f) => /(^|\/)(services|store|queue|platform|telemetry)\//.test(f))).toEqual([]);
  });

  it('names its repository, home page and issue tracker, as npm shows them', () => {
    const manifest = JSON.parse(readFileSync(join(app, 'node_modules/@ai-eval-platform/evalctl/package.json'), 'utf8')) as Record<string, unknown>;
    expect(manifest).toMatchObject({ repository: { directory: 'evalctl' }, homepage: expect.stringMatching(/^https:\/\//), bugs: { url: expect.stringMatching(/\/issues$/) }, license: 'Apache-2.0' });
    expect(readFileSync(join(app, 'node_modules/@ai-eval-platform/evalctl/LICENSE'), 'utf8')).toMatch(/Apache License\s+Version 2\.0/);
    expect(readFileSync(join(app, 'node_modules/@ai-eval-platform/evalctl/CHANGELOG.md'), 'utf8')).toContain(`## ${version}`);
  });

  it('installs none of the platform server dependencies (npm ls)', () => {
    const tree = JSON.parse(execFileSync('npm', ['ls', '--all', '--json'], { cwd: app, encoding: 'utf8' })) as LsNode;
    const names = installedNames(tree);
    expect(names).toContain('@ai-eval-platform/evalctl');
    expect(names).toContain('openai');
    expect(SERVER_DEPENDENCIES.filter((name) => names.has(name))).toEqual([]);
  });

  const run = (command: string, args: string[], env: NodeJS.ProcessEnv) => runIn(app, command, args, env);

  it('runs a suite against the fake LLM with the installed bin and gates on it', async () => {
    server.script = (request) => {
      if (request.schemaName === 'claims') return { json: { claims: ['Refunds take 5 days.'] } };
      if (request.schemaName === 'truths') return echoTruths(request);
      if (request.schemaName === 'claim_verdicts') return { json: { verdicts: [{ verdict: 'yes', reason: 'stated in the context' }] } };
      return { text: 'Refunds take 5 days.', usage: { input: 30, output: 6 } };
    };
    writeFileSync(
      join(app, 'suite.yaml'),
      `name: support
target: { type: openai, model: gpt-4o-mini, temperature: 0 }
judge: { provider: openai, model: gpt-4o-mini }
metrics:
  - { name: faithfulness, threshold: 0.9 }
  - { name: icontains, value: days }
cases:
  - { id: refund, input: How long do refunds take?, retrieval_context: [Refunds take 5 days.] }
`,
    );
    const env = { PATH: `${join(app, 'node_modules/.bin')}:${process.env.PATH}`, HOME: process.env.HOME, ...fakeEnv(server), CI: 'true' };
    expect(execFileSync('evalctl', ['--version'], { cwd: app, env, encoding: 'utf8' })).toBe(`${version}\n`);
    // The engine's commands only: the platform's (serve, work, dev) are not part of the package.
    const help = execFileSync('evalctl', ['--help'], { cwd: app, env, encoding: 'utf8' });
    expect(help).toContain('3  the evaluation could not be done');
    expect(help).not.toContain('evalctl serve');
    const result = await run('npx', ['--no-install', 'evalctl', 'run', 'suite.yaml', '--output-json', 'report.json', '--junit', 'junit.xml'], env);
    expect(result.stderr).not.toContain('Error');
    expect(result.status).toBe(0);
    const report = JSON.parse(readFileSync(join(app, 'report.json'), 'utf8')) as Report;
    expect(report.summary).toEqual({ faithfulness: 1, icontains: 1 });
    expect(report.tool).toEqual({ name: 'evalctl', version });
    // The target, then faithfulness's claims, truths and verdicts.
    expect(server.requests.length).toBe(4);
    // The brief's gate line, on the installed CLI's report.
    expect(spawnSync('jq', ['-e', '.summary.faithfulness > 0.9', 'report.json'], { cwd: app }).status).toBe(0);
    const gate = await run('evalctl', ['gate', 'report.json', '--min', 'faithfulness=0.95'], env);
    expect(gate.status).toBe(0);
    // `evalctl view` serves the viewer's pages over the report, from the installed package alone.
    const viewer = spawn(join(app, 'node_modules/.bin/evalctl'), ['view', 'report.json', '--port', '0'], { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const url = await new Promise<string>((done, failed) => {
        viewer.stdout!.on('data', (chunk: Buffer) => {
          const match = /evalctl view: (http\S+)/.exec(chunk.toString());
          if (match) done(match[1]);
        });
        viewer.once('exit', (code) => failed(new Error(`evalctl view exited ${code}`)));
      });
      const page = await fetch(url);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-security-policy')).toMatch(/^default-src 'none'/);
      expect(await page.text()).toMatch(/<h1>support <span class="badge pass">completed<\/span><\/h1>/);
    } finally {
      viewer.kill('SIGINT');
    }
    // The programmatic API is the same package.
    const api = execFileSync(process.execPath, ['-e', "const e = require('@ai-eval-platform/evalctl'); console.log(typeof e.runSuites, typeof e.defineSuite, e.METRICS.size)"], { cwd: app, encoding: 'utf8' });
    expect(api.trim()).toMatch(/^function function \d+$/);
  });

  it("the README's first suite and its commands, from the installed package: evaluated, reported, gated; the API example too", async () => {
    server.requests.length = 0;
    const outcome = await runEvalctlReadme(app, server, process.execPath);
    expect(outcome.commands.map((c) => c.line)).toEqual([
      'npx evalctl run evals/ --output-json report.json --junit junit.xml',
      'npx evalctl gate report.json --min faithfulness=0.8 --min answer_relevancy=0.7',
    ]);
    expect(outcome.commands.map((c) => [c.status, c.stderr])).toEqual([[0, []], [0, []]]);
    expect(outcome.report.summary).toEqual({ faithfulness: 1, answer_relevancy: 1, icontains: 1 });
    expect(outcome.report.cases.map((c) => [c.id, c.actual_output])).toEqual([
      ['return-window', README_ANSWERS['How long do I have to return shoes?']],
      ['refund-time', README_ANSWERS['How long does a refund take?']],
    ]);
    // The target saw its passages through the README's input_template.
    const targetCall = server.requests.find((r) => !r.schemaName && r.prompt.includes('Question: How long does a refund take?'));
    expect(targetCall?.prompt).toContain('Passages: Refunds reach the original payment method within 5 business days.');
    expect(existsSync(join(app, 'junit.xml'))).toBe(true);
    expect(outcome.api).toMatchObject({ status: 0, stdout: 'exact_match 1, gate passed\n' });
  });

  describe('the reusable pull-request gate (.github/actions/quality-gate), run as the action runs it', () => {
    const GATE = join(root, '.github/actions/quality-gate/gate.sh');
    const repo = join(work, 'gate-repo');
    const fakeBin = join(work, 'fake-gh');
    const ghLog = join(work, 'gh.log');
    let path = '';
    let installed: ReturnType<typeof step>;

    /** One step of action.yml: `gate.sh <step>` with the runner's variables and the step's inputs. */
    const step = (name: string, env: Record<string, string>) => {
      const outputFile = join(repo, `.output-${name}`);
      const summaryFile = join(repo, '.summary');
      writeFileSync(outputFile, '');
      const result = spawnSync('bash', [GATE, name], {
        cwd: repo,
        encoding: 'utf8',
        env: {
          // The machine's own settings (npm's CA bundle, proxy), none of a real runner's GITHUB_* or INPUT_*.
          ...Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^(GITHUB_|INPUT_|RUNNER_)/.test(key))),
          PATH: path,
          GATE_DIR: repo,
          RUNNER_TEMP: join(work, 'runner-temp'),
          GITHUB_OUTPUT: outputFile,
          GITHUB_STEP_SUMMARY: summaryFile,
          GITHUB_PATH: join(work, 'github-path'),
          GITHUB_REPOSITORY: 'acme/agent',
          GITHUB_WORKFLOW_REF: 'acme/agent/.github/workflows/quality-gate.yml@refs/pull/7/merge',
          GITHUB_EVENT_NAME: 'pull_request',
          GITHUB_EVENT_PATH: join(repo, '.event.json'),
          INPUT_ARTIFACT_NAME: 'eval-report',
          INPUT_MAX_DROP: '0.02',
          INPUT_REQUIRED_SECRETS: 'OPENAI_API_KEY',
          OPENAI_API_KEY: 'set-in-secrets',
          ...env,
        },
      });
      const outputs = Object.fromEntries(readFileSync(outputFile, 'utf8').split('\n').filter(Boolean).map((l) => l.split('=') as [string, string]));
      return { status: result.status, stdout: result.stdout, stderr: result.stderr, outputs, summary: existsSync(summaryFile) ? readFileSync(summaryFile, 'utf8') : '' };
    };
    const event = (fork: boolean) => writeFileSync(join(repo, '.event.json'), JSON.stringify({ pull_request: { number: 7, base: { ref: 'main' }, head: { repo: { fork } } } }));
    const suite = (output: string) =>
      writeFileSync(join(repo, 'evals.yaml'), `name: answers\nmetrics: [{ name: levenshtein, threshold: 0 }]\ncases:\n  - { id: hello, input: greet, actual_output: "${output}", expected_output: hello }\n  - { id: bye, input: leave, actual_output: bye, expected_output: bye }\n`);

    beforeAll(() => {
      mkdirSync(repo, { recursive: true });
      mkdirSync(fakeBin, { recursive: true });
      // A stand-in for the GitHub CLI: logs each call; FAKE_RUN_ID, FAKE_BASELINE and FAKE_COMMENT_ID script it.
      writeFileSync(
        join(fakeBin, 'gh'),
        `#!/usr/bin/env bash
echo "gh $*" >> ${JSON.stringify(ghLog)}
case "$1 $2" in
  "run list") echo "\${FAKE_RUN_ID:-}" ;;
  "run download") [ -n "\${FAKE_BASELINE:-}" ] || exit 1; dir=""; while [ $# -gt 0 ]; do [ "$1" = --dir ] && dir="$2"; shift; done; mkdir -p "$dir"; cp "$FAKE_BASELINE" "$dir/report.json" ;;
  "api repos/acme/agent/issues/7/comments") echo "\${FAKE_COMMENT_ID:-}" ;;
  "api --method") for a in "$@"; do case "$a" in body=@*) cp "\${a#body=@}" ${JSON.stringify(join(work, 'posted.md'))} ;; esac; done ;;
esac
`,
      );
      chmodSync(join(fakeBin, 'gh'), 0o755);
      path = `${fakeBin}:${process.env.PATH}`;
      // The action's first step, once for every test here (each runs alone too: `npx jest -t`).
      writeFileSync(join(repo, 'package.json'), '{"name":"agent","private":true}');
      installed = step('install', { INPUT_EVALCTL_PACKAGE: tarball });
      // Later steps find it on the PATH the runner builds from GITHUB_PATH.
      if (installed.status === 0) path = `${readFileSync(join(work, 'github-path'), 'utf8').trim()}:${path}`;
    }, 120_000);

    it('installs the packed evalctl into a prefix of its own, leaving the repository untouched', () => {
      expect(installed.status).toBe(0);
      expect(installed.stdout).toContain(`evalctl ${version} installed from`);
      expect(readFileSync(join(repo, 'package.json'), 'utf8')).toBe('{"name":"agent","private":true}');
      expect(path.split(':')[0]).toBe(readFileSync(join(work, 'github-path'), 'utf8').trim());
    });

    it('a fork pull request without secrets is skipped with a notice, not failed; a same-repository one without them fails', () => {
      event(true);
      const fork = step('guard', { OPENAI_API_KEY: '' });
      expect(fork.status).toBe(0);
      expect(fork.outputs.skip).toBe('true');
      expect(fork.stdout).toContain('::notice title=evalctl gate skipped::Evaluation skipped: this pull request comes from a fork');
      expect(fork.summary).toContain('### Evaluation: skipped');
      event(false);
      const own = step('guard', { OPENAI_API_KEY: '' });
      expect(own.status).toBe(2);
      expect(own.stdout).toContain('::error title=evalctl gate::not set: OPENAI_API_KEY');
      expect(step('guard', {}).outputs.skip).toBe('false');
    });

    it('gates against the base branch report: a drop past max-drop fails the check and is commented, once, then edited', () => {
      event(false);
      // main's report, as its push run uploaded it.
      suite('hello');
      expect(step('run', { INPUT_SUITES: 'evals.yaml' }).outputs.status).toBe('0');
      const mainReport = join(work, 'main-report.json');
      writeFileSync(mainReport, readFileSync(join(repo, 'report.json')));
      // The pull request's answer is further from the expected one; the suite's own threshold (0) still holds.
      suite('help!');
      writeFileSync(ghLog, '');
      const run = step('run', { INPUT_SUITES: 'evals.yaml' });
      expect(run.outputs.status).toBe('0');
      expect(existsSync(join(repo, 'junit.xml'))).toBe(true);
      const baseline = step('baseline', { FAKE_RUN_ID: '555', FAKE_BASELINE: mainReport });
      expect(baseline.outputs.found).toBe('true');
      expect(readFileSync(ghLog, 'utf8')).toContain('gh run list --repo acme/agent --branch main --workflow quality-gate.yml --event push --status success --limit 1');
      const gate = step('gate', {});
      expect(gate.outputs.status).toBe('1');
      expect(gate.summary).toContain('| levenshtein | 0.8000 | 1.0000 | -0.2000 | ≥ 0 | 2/2 |');
      const commented = step('comment', {});
      expect(commented.stdout).toContain('Commented on #7');
      const posted = readFileSync(join(work, 'posted.md'), 'utf8');
      expect(posted.split('\n')[0]).toBe('<!-- evalctl-gate:eval-report -->');
      expect(posted).toContain('### Evaluation: ❌ failed');
      expect(posted).toContain('| answers | hello | levenshtein | 1.0000 | 0.6000 | score worse |');
      // The next push edits the same comment.
      expect(step('comment', { FAKE_COMMENT_ID: '9001' }).stdout).toContain('Updated comment 9001');
      expect(readFileSync(ghLog, 'utf8')).toContain('gh api --method PATCH repos/acme/agent/issues/comments/9001');
      const verdict = step('verdict', { RUN_STATUS: run.outputs.status, GATE_STATUS: gate.outputs.status });
      expect(verdict.status).toBe(1);
      expect(verdict.stdout).toContain('::error title=evalctl gate::scores dropped against the baseline by more than 0.02');
    });

    it('an evaluation that could not be done stops with exit 3 and says so on the pull request, not as a regression', async () => {
      event(false);
      writeFileSync(join(repo, 'chat.yaml'), 'name: chat\ntarget: { type: openai, model: gpt-4o-mini }\nmetrics: [{ name: icontains, value: hi }]\ncases: [{ id: hello, input: hi }]\n');
      // Nothing listens on the fake LLM's port once it is closed.
      const closed = await startFakeLlmServer();
      await closed.close();
      const outage = join(repo, 'outage');
      const run = step('run', { GATE_DIR: outage, INPUT_SUITES: 'chat.yaml', OPENAI_BASE_URL: closed.openaiBaseUrl, LLM_RETRY_MAX_ATTEMPTS: '1' });
      expect(run.status).toBe(3);
      expect(run.outputs.status).toBe('3');
      expect(run.stderr).toContain('evalctl: not evaluated: 1 case(s) could not be evaluated (unreachable)');
      const comment = readFileSync(join(outage, 'comment.md'), 'utf8');
      expect(comment).toContain('### Evaluation: not evaluated');
      expect(comment).toContain('evalctl: not evaluated: 1 case(s) could not be evaluated (unreachable); first: chat / hello: target failed: openai gpt-4o-mini: connection failed');
      expect(step('comment', { GATE_DIR: outage }).stdout).toContain('Commented on #7');
      const posted = readFileSync(join(work, 'posted.md'), 'utf8');
      expect(posted.split('\n')[0]).toBe('<!-- evalctl-gate:eval-report -->');
      expect(posted).toContain('### Evaluation: not evaluated');
    });

    it('without a report on the base branch it says so and gates on thresholds only', () => {
      event(false);
      suite('hello');
      expect(step('run', { INPUT_SUITES: 'evals.yaml' }).outputs.status).toBe('0');
      rmSync(join(repo, 'baseline'), { recursive: true, force: true });
      const none = step('baseline', { FAKE_RUN_ID: '' });
      expect(none.outputs.found).toBe('false');
      expect(none.stdout).toContain('::notice title=evalctl gate::no successful run of quality-gate.yml on main yet: gating on thresholds only');
      const expired = step('baseline', { FAKE_RUN_ID: '556' });
      expect(expired.stdout).toContain("::warning title=evalctl gate::run 556 on main has no 'eval-report' artifact (expired?)");
      const gate = step('gate', { INPUT_MIN: 'levenshtein=0.5' });
      expect(gate.outputs.status).toBe('0');
      expect(readFileSync(join(repo, 'comment.md'), 'utf8')).toContain('_No baseline report to compare with: gated on thresholds only._');
      expect(step('verdict', { RUN_STATUS: '0', GATE_STATUS: '0' }).status).toBe(0);
    });
  });
});
