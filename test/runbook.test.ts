import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { accountBootstraps, bootstrapStackName, platformNames, resolveEnvironment, type EnvironmentInput } from '@ai-eval-platform/constructs';
import { AccountBootstrapStack, PlatformStack } from '@ai-eval-platform/constructs/terraform';
import { Testing } from 'cdktf';
import { loadEnvironments } from '../synth/environments';
import { dev as devInput } from '../synth/environments/dev';
import { prod as prodInput } from '../synth/environments/prod';

/**
 * The README's runbook ("Deploying an environment") is commands an operator copies, in order. Every command of
 * this repository it names exists, every name it uses is the one the code uses (stacks, outputs, secrets,
 * GitHub secrets and environments the workflows read), the placeholder table is what `resolveEnvironment`
 * refuses, every tool it runs is in its tools table, and its order is the order `npm run test:apply` applies.
 */
const root = join(__dirname, '..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const section = readme.slice(readme.indexOf('## Deploying an environment\n'), readme.indexOf('\n## ', readme.indexOf('## Deploying an environment\n') + 5));
const commands = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]).join('\n');
const lines = commands.split('\n').filter((line) => line.trim() && !line.trim().startsWith('#'));
const packageJson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
const envs = loadEnvironments();
const [dev, prod] = ['dev', 'prod'].map((name) => envs.find((env) => env.name === name)!);
const accounts = accountBootstraps(envs);
const substitute = (text: string) => text.replaceAll('$DEV', dev.accountId).replaceAll('$PROD', prod.accountId);

const outputs = new Map<string, string[]>();
function outputsOf(stack: string): string[] {
  if (!outputs.has(stack)) outputs.set(stack, synthesizedOutputs(stack));
  return outputs.get(stack)!;
}

function synthesizedOutputs(stack: string): string[] {
  const account = accounts.find((a) => bootstrapStackName(a.accountId) === stack);
  const synthesized = account
    ? new AccountBootstrapStack(Testing.app(), stack, { account })
    : new PlatformStack(Testing.app(), stack, { env: envs.find((env) => env.name === stack)! });
  return Object.keys(JSON.parse(Testing.synth(synthesized)).output);
}

describe('the runbook in the README', () => {
  it('is a runbook: commands in code blocks', () => {
    expect(lines.length).toBeGreaterThan(40);
  });

  it('names only npm scripts and npx binaries that exist', () => {
    const scripts = [...commands.matchAll(/npm run (?:--silent )?([a-z][a-z0-9:-]*)/g)].map((m) => m[1]);
    expect(scripts.length).toBeGreaterThan(5);
    for (const script of new Set(scripts)) expect({ script, exists: script in packageJson.scripts }).toEqual({ script, exists: true });
    const binaries = [...commands.matchAll(/npx ([a-z][a-z0-9-]*)/g)].map((m) => m[1]);
    expect(binaries).toContain('cdktf');
    for (const bin of new Set(binaries)) expect({ bin, exists: existsSync(join(root, 'node_modules/.bin', bin)) }).toEqual({ bin, exists: true });
  });

  it('deploys stacks that are synthesized, and reads outputs they have', () => {
    const stacks = [...accounts.map((a) => bootstrapStackName(a.accountId)), ...envs.map((env) => env.name)];
    const deployed = [...commands.matchAll(/npx cdktf deploy (\S+)/g)].map((m) => substitute(m[1]));
    expect(deployed).toEqual([bootstrapStackName(dev.accountId), 'dev', 'prod']);
    for (const stack of deployed) expect(stacks).toContain(stack);
    const read = [...commands.matchAll(/terraform -chdir=cdktf\.out\/stacks\/(\S+) output -raw ([a-z_]+)/g)].map((m) => [substitute(m[1]), m[2]]);
    expect(read.length).toBeGreaterThan(4);
    for (const [stack, output] of read) expect({ stack, output, exists: outputsOf(stack).includes(output) }).toEqual({ stack, output, exists: true });
  });

  it('runs in the order test:apply applies: the bootstrap with local state, its state pushed into its bucket, then dev, then prod', () => {
    const at = (text: string) => {
      const index = lines.findIndex((line) => line.includes(text));
      expect({ text, found: index >= 0 }).toEqual({ text, found: true });
      return index;
    };
    const order = [
      at('BOOTSTRAP_STATE=local npx cdktf deploy bootstrap-$DEV'),
      at('npx cdktf synth'),
      at('terraform -chdir=cdktf.out/stacks/bootstrap-$DEV init -reconfigure'),
      at('terraform -chdir=cdktf.out/stacks/bootstrap-$DEV state push ../../../terraform.bootstrap-$DEV.tfstate'),
      at('npx cdktf deploy dev'),
      at('put-secret-value --secret-id "$ENV/eval-platform/llm-keys"'),
      at('npm run release -- record'),
      at('helm install argo-cd'),
      at('keys create --project default'),
      at('npx cdktf deploy prod'),
      at('npm run release -- promote prod'),
    ];
    expect(order).toEqual([...order].sort((a, b) => a - b));
    // test:apply does the same state moves.
    const applyTest = readFileSync(join(root, 'test/apply/first-deploy.apply.test.ts'), 'utf8');
    expect(applyTest).toContain("['init', '-input=false', '-reconfigure']");
    expect(applyTest).toContain("['state', 'push', `../../../terraform.${name}.tfstate`]");
  });

  it('uses the names the stacks and the workflows use: secrets, namespace, the image entry, GitHub secrets and environments', () => {
    const names = platformNames(dev);
    expect(commands).toContain('--secret-id "$ENV/eval-platform/llm-keys"');
    expect(names.llmKeysSecret).toBe('dev/eval-platform/llm-keys');
    expect(commands).toContain('--secret-id "$ENV/eval-platform/slack-webhook"');
    expect(names.slackWebhookSecret).toBe('dev/eval-platform/slack-webhook');
    // The sealing secret of projects' endpoint keys goes into the llm-keys secret, merged, not replaced.
    expect(commands).toMatch(/ENDPOINT_KEYS_SECRET: env\.ENDPOINT_KEYS_SECRET/);
    expect(commands).toMatch(/get-secret-value --secret-id "\$ENV\/eval-platform\/llm-keys"[^\n]*\|\| echo '\{\}'/);
    // The first API key: the orchestrator Deployment in the platform's namespace, the images' entry point.
    const entry = /ENTRYPOINT \["node", "--enable-source-maps", "([^"]+)"\]/.exec(readFileSync(join(root, 'Dockerfile'), 'utf8'))![1];
    expect(commands).toContain(`kubectl -n ${dev.kubernetes.namespace} exec deploy/orchestrator -- node ${entry} keys create --project default`);
    // Every secret the workflows read that names a role is set by the runbook; deploy.yml's jobs run in the
    // GitHub environments the deploy roles trust.
    const workflows = readdirSync(join(root, '.github/workflows')).map((file) => readFileSync(join(root, '.github/workflows', file), 'utf8'));
    const roleSecrets = new Set(workflows.flatMap((text) => [...text.matchAll(/secrets\.(AWS_[A-Z_]+_ROLE_ARN)/g)].map((m) => m[1])));
    expect([...roleSecrets].sort()).toEqual(['AWS_DEPLOY_ROLE_ARN', 'AWS_PROMOTE_ROLE_ARN', 'AWS_RELEASE_ROLE_ARN']);
    for (const secret of [...roleSecrets, 'AWS_REGION', 'GITOPS_REPOSITORY', 'GITOPS_TOKEN']) expect(commands).toContain(`gh secret set ${secret}`);
    const deploy = parse(readFileSync(join(root, '.github/workflows/deploy.yml'), 'utf8')) as { jobs: Record<string, { environment: string; steps: { run?: string }[] }> };
    for (const env of envs) {
      const job = Object.values(deploy.jobs).find((j) => j.steps.some((step) => step.run === `npx cdktf deploy ${env.name} --auto-approve`));
      expect({ env: env.name, githubEnvironment: job?.environment }).toEqual({ env: env.name, githubEnvironment: env.github.deployEnvironment });
      expect(commands).toContain(`gh secret set AWS_DEPLOY_ROLE_ARN --env ${env.github.deployEnvironment}`);
    }
  });

  it("runs release.yml's and gitops.yml's role steps with the tokens the bootstrap's roles trust", () => {
    // The release and promote roles trust `ref:refs/heads/<branch>` (and `ref:refs/tags/v*` for release): a job in
    // a GitHub environment would present `environment:<name>` instead and be refused.
    for (const [file, secret] of [['release.yml', 'AWS_RELEASE_ROLE_ARN'], ['gitops.yml', 'AWS_PROMOTE_ROLE_ARN']] as const) {
      const workflow = parse(readFileSync(join(root, '.github/workflows', file), 'utf8')) as { on: Record<string, unknown>; jobs: Record<string, { environment?: string; steps?: { with?: Record<string, string> }[] }> };
      const jobs = Object.entries(workflow.jobs).filter(([, job]) => (job.steps ?? []).some((step) => step.with?.['role-to-assume'] === `\${{ secrets.${secret} }}`));
      expect(jobs.length).toBeGreaterThan(0);
      for (const [name, job] of jobs) expect({ file, job: name, environment: job.environment }).toEqual({ file, job: name, environment: undefined });
    }
    const release = parse(readFileSync(join(root, '.github/workflows/release.yml'), 'utf8')) as { on: { push: { branches: string[]; tags: string[] } } };
    expect(release.on.push).toEqual({ branches: [dev.github.branch], tags: ['v*.*.*'] });
    expect(Object.keys(parse(readFileSync(join(root, '.github/workflows/gitops.yml'), 'utf8')).on)).toEqual(['workflow_call']);
  });

  it('lists every placeholder resolveEnvironment refuses outside the example, and no other', () => {
    const table = [...section.matchAll(/^\| `synth\/environments\/([a-z]+)\.ts` \| `([^`]+)` \| `([^`]+)` \|/gm)].map((m) => `${m[1]}: ${m[2]}: ${m[3]}`);
    const refused = ([devInput, prodInput] as EnvironmentInput[]).flatMap((input) => {
      const { example: _, ...own } = input;
      try {
        resolveEnvironment(own);
        return [];
      } catch (error) {
        return (error as { problems: string[] }).problems
          .filter((problem) => problem.includes('a placeholder of the example environments'))
          .map((problem) => /^([a-z]+): ([^:]+): .*\(got "(.*)"\)$/.exec(problem)!.slice(1).join(': '));
      }
    });
    // prod layers over dev: dev's placeholders it inherits are changed in dev's file.
    const inheritedFromDev = (entry: string) => entry.startsWith('prod: ') && table.includes(entry.replace(/^prod: /, 'dev: '));
    expect(refused.filter((entry) => !inheritedFromDev(entry)).sort()).toEqual(table.sort());
  });

  it('lists every tool its commands run, with a version', () => {
    const tools = [...section.matchAll(/^\| ([^|]+) \| ([^|]+) \| [^|]+ \|$/gm)].map((m) => m[1]).join(' ');
    const builtins = new Set(['eval', 'export', 'rm', 'mkdir', 'cp', 'sed', 'while', 'read', 'do', 'done', 'umask', 'echo', 'mktemp', 'then', 'if', 'fi']);
    // Whole commands: continued lines joined, quoted programs (jq's, a format) blanked, comments dropped.
    const joined: string[] = [];
    for (const line of commands.split('\n').filter((text) => !/^\s*#/.test(text)).map((text) => text.replace(/\s{2,}#.*$/, ''))) {
      const last = joined.at(-1);
      if (last !== undefined && (/\\$|\|$/.test(last) || (last.split("'").length - 1) % 2 === 1)) joined[joined.length - 1] = `${last.replace(/\\$/, '')} ${line}`;
      else joined.push(line);
    }
    const used = new Set(
      joined
        .map((line) => line.replace(/'[^']*'/g, "''"))
        .flatMap((line) => line.split(/&&|\|\||\||;|\$\(|\{\s|\bdo\b/))
        .map((segment) => segment.trim().replace(/^(?:[A-Za-z_]+=(?:"[^"]*"|<[^>]*>|\S*)\s*)+/, ''))
        .map((segment) => /^([a-z][a-z0-9-]*)(?:\s|$)/.exec(segment)?.[1])
        .filter((tool): tool is string => tool !== undefined && !builtins.has(tool)),
    );
    expect([...used].sort()).toEqual(['aws', 'docker', 'gh', 'git', 'helm', 'jq', 'kubectl', 'npm', 'npx', 'openssl', 'skopeo', 'terraform']);
    const row: Record<string, string> = { npm: 'npm', npx: 'npm', gh: '`gh`', aws: 'AWS CLI' };
    for (const tool of used) expect({ tool, listed: tools.includes(row[tool] ?? tool) }).toEqual({ tool, listed: true });
  });
});
