import { mkdirSync } from 'node:fs';
import { App } from 'cdktf';
import { AccountBootstrapStack, PlatformStack } from '@ai-eval-platform/constructs/terraform';
import { accountBootstraps, bootstrapStackName, type EnvironmentConfig } from '@ai-eval-platform/constructs';
import { loadEnvironments } from './environments';

/**
 * `BOOTSTRAP_STATE=local` synthesizes the bootstrap stacks with local state, for their very first apply (their
 * bucket does not exist yet); without it they keep their state in that bucket. README, "Deploying an environment".
 */
export function bootstrapStateBackend(value = process.env.BOOTSTRAP_STATE): 's3' | 'local' {
  if (value === undefined || value === '' || value === 's3') return 's3';
  if (value === 'local') return 'local';
  throw new Error(`BOOTSTRAP_STATE: expected local or s3, got ${JSON.stringify(value)}`);
}

/**
 * cdktf entry point (`cdktf synth`, `cdktf deploy <stack>`): one `bootstrap-<accountId>` stack per AWS account
 * the environments use, then one stack per environment.
 */
export function synthTerraform(outdir = 'cdktf.out', envs: EnvironmentConfig[] = loadEnvironments(), stateBackend = bootstrapStateBackend()): App {
  mkdirSync(outdir, { recursive: true });
  const app = new App({ outdir, skipValidation: false });
  for (const account of accountBootstraps(envs)) {
    new AccountBootstrapStack(app, bootstrapStackName(account.accountId), { account, stateBackend });
  }
  for (const env of envs) new PlatformStack(app, env.name, { env });
  app.synth();
  return app;
}

if (require.main === module) synthTerraform();
