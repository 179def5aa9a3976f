import { retryEnvironmentSchema } from '../providers/retry';
import { ENGINE_VERSION } from '../version';

/** The retry policy's variables, two to a line, as the help lists them. */
function retryVariables(): string {
  const names = Object.keys(retryEnvironmentSchema.shape);
  const lines: string[] = [];
  for (let i = 0; i < names.length; i += 2) lines.push(`  ${names.slice(i, i + 2).join(', ')}`);
  return lines.join(',\n');
}

const PLATFORM_COMMANDS = `
  evalctl dev [--port 8080] [--worker-port 0] [--data-dir .evaldata]
                                orchestrator + worker in one process, no other service needed
  evalctl serve | work | migrate
                                the platform's orchestrator, worker, and database migrations
  evalctl keys create --project <name>
                                a new API key for the project (shown once)
  evalctl keys revoke <key or prefix>
                                revokes a key (refused within a second)
  evalctl projects set <name> --llm-call-bodies on|off
                                whether the workers store what the project's LLM calls send and receive
`;

/** `evalctl --help`; the platform's commands are listed where they exist (this repository, the images). */
export function helpText(platform: boolean): string {
  return `evalctl ${ENGINE_VERSION}: evaluate an AI agent and gate a pull request on its scores.

Usage:
  evalctl run <suite files or folders…> [options]
      --output-json <file>      write report.json (summary.<metric> is the mean score)
      --junit <file>            write JUnit XML, one testcase per case
      --concurrency <n>         cases evaluated at once (default: the suites' concurrency, else 10)
      --threshold <metric=v>    override a metric's threshold; repeatable
      --max-errored-share <s>   share of cases that may error before the run counts as not evaluated
                                (exit 3; default 0.5)
      --no-cache                do not read or write the LLM response cache
      --cache-dir <dir>         cache folder (default .evalcache, or EVAL_CACHE_DIR)
      --server <url>            submit the suites to a running platform and wait (EVAL_API_KEY or --api-key)

  evalctl gate <report.json> [options]
      --min <metric=v>          the metric's mean must be >= v; repeatable
      --max <metric=v>          the metric's mean must be <= v; repeatable
      --baseline <report.json>  compare per metric and per case with an earlier report
      --max-drop <d>            how far a metric's mean may worsen against the baseline (default 0)
      --markdown <file>         also write the outcome as a pull-request comment (scores, cost, regressions)
      --api-key <key>           (a report from --server) ask the platform for a read-only viewer link for the
                                comment (default EVAL_API_KEY); without one, the comment links behind sign-in
      --link-hours <h>          how long that link works (default 72, at most 336)

  evalctl view <report.json> [baseline.json] [--port 8790] [--host 127.0.0.1]
                                the viewer's pages over report files (runs, cases, the comparison), served
                                on loopback until Ctrl-C; no platform needed

  evalctl metrics [--markdown]  every metric: what it needs, its options, range and direction
  evalctl schema [--markdown]   the suite format: JSON Schema for editors, or a table of every field
${platform ? PLATFORM_COMMANDS : ''}
  evalctl --help | --version

Suites (YAML or JSON): a file, or every *.yaml, *.yml and *.json under a folder.
  name: support-bot
  target: { type: openai, model: gpt-4o-mini }   # or anthropic, http (your agent's URL), none
  judge: { provider: openai, model: gpt-4o-mini }
  metrics: [answer_relevancy, { name: contains, value: refund, threshold: 1 }]
  cases:
    - { input: How do I get a refund?, expected_output: Within 30 days. }
  Every field: \`evalctl schema --markdown\`, or the package README:
  https://www.npmjs.com/package/@ai-eval-platform/evalctl

Exit codes:
  0  every threshold and gate rule holds
  1  the gate failed on scores: a metric missed its threshold, a case failed, or a score dropped
  2  usage or configuration error (bad flag, unreadable or invalid suite or report, missing key)
  3  the evaluation could not be done: the LLM refused the key, could not be reached or kept failing,
     or more than --max-errored-share of the cases errored; the scores are not a verdict

Environment:
  OPENAI_API_KEY, ANTHROPIC_API_KEY     provider keys (never logged or written to a report)
  OPENAI_BASE_URL, ANTHROPIC_BASE_URL   another endpoint, e.g. vLLM, Ollama or a gateway
${retryVariables()}
                                        retry policy for every LLM call
  EVAL_GIT_SHA, EVAL_BRANCH, EVAL_PULL_REQUEST, EVAL_BUILD_ID
                                        build metadata (read from the CI's variables otherwise)
`;
}
