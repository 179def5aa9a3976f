import { mkdirSync } from 'node:fs';
import { App } from 'cdktf';
import { PlatformStack } from '@ai-eval-platform/constructs/terraform';
import type { EnvironmentConfig } from '@ai-eval-platform/constructs';
import { loadEnvironments } from './environments';

/** cdktf entry point (`cdktf synth`, `cdktf deploy <env>`): one stack per environment. */
export function synthTerraform(outdir = 'cdktf.out', envs: EnvironmentConfig[] = loadEnvironments()): App {
  mkdirSync(outdir, { recursive: true });
  const app = new App({ outdir, skipValidation: false });
  for (const env of envs) new PlatformStack(app, env.name, { env });
  app.synth();
  return app;
}

if (require.main === module) synthTerraform();
