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
  const stacks = app.node.children.map((c) => c.node.id);
  process.stdout.write(
    `synthesized ${stacks.length} environments (${stacks.join(', ')}): cdktf.out/stacks/<env>/cdk.tf.json and dist/<env>/ in ${Date.now() - started} ms\n`,
  );
  return ok;
}

if (require.main === module && !synthAll()) {
  process.stderr.write('synth: a production go-live check failed\n');
  process.exitCode = 1;
}
