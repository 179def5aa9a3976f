import { synthKubernetes } from './k8s';
import { runGoLive } from './golive';
import { loadEnvironments } from './environments';
import { synthTerraform } from './terraform';

/** `npm run synth`: Terraform and Kubernetes for every environment, then the go-live checks. */
export function synthAll(): boolean {
  const started = Date.now();
  const envs = loadEnvironments();
  const app = synthTerraform(undefined, envs);
  synthKubernetes(undefined, envs);
  const { ok, text } = runGoLive(envs);
  process.stdout.write(text);
  const examples = envs.filter((env) => env.example).map((env) => env.name);
  if (examples.length > 0) {
    process.stdout.write(
      `${examples.join(', ')}: the repository's example environments (example: true); put in your own values before deploying (README, "Deploying an environment")\n`,
    );
  }
  const stacks = app.node.children.map((c) => c.node.id);
  const bootstraps = stacks.filter((stack) => !envs.some((env) => env.name === stack));
  process.stdout.write(
    `synthesized ${envs.length} environments (${envs.map((env) => env.name).join(', ')}) and ${bootstraps.length} account bootstraps (${bootstraps.join(', ')}): cdktf.out/stacks/<stack>/cdk.tf.json and dist/<env>/ in ${Date.now() - started} ms\n`,
  );
  return ok;
}

if (require.main === module && !synthAll()) {
  process.stderr.write('synth: a production go-live check failed\n');
  process.exitCode = 1;
}
