import {
  checkEnvironment,
  formatReports,
  hasProductionFailure,
  scanTreeForSecrets,
  type EnvironmentConfig,
  type EnvironmentReport,
} from '@ai-eval-platform/constructs';
import { loadEnvironments } from './environments';

/** `npm run golive`: the brief's go-live checklist over every environment's synthesized files. */
export function runGoLive(
  envs: EnvironmentConfig[] = loadEnvironments(),
  root = '.',
  terraformDir = 'cdktf.out',
  manifestDir = 'dist',
): { reports: EnvironmentReport[]; ok: boolean; text: string } {
  const reports = envs.map((env) =>
    checkEnvironment({
      name: env.name,
      production: env.production,
      terraformFile: `${terraformDir}/stacks/${env.name}/cdk.tf.json`,
      manifestDir: `${manifestDir}/${env.name}`,
    }),
  );
  const repositorySecrets = scanTreeForSecrets(root);
  let text = formatReports(reports);
  text += repositorySecrets.length === 0
    ? 'repository: no secret-looking value in the source tree\n'
    : `repository: secret-looking values:\n${repositorySecrets.map((f) => `  - ${f}`).join('\n')}\n`;
  return { reports, ok: !hasProductionFailure(reports) && repositorySecrets.length === 0, text };
}

if (require.main === module) {
  const { ok, text } = runGoLive();
  process.stdout.write(text);
  if (!ok) {
    process.stderr.write('go-live: a production check failed\n');
    process.exitCode = 1;
  }
}
