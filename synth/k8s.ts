import { writeFileSync } from 'node:fs';
import { App, YamlOutputType } from 'cdk8s';
import { clusterAddonValues, ClusterAddonsChart, GitopsChart, PlatformChart } from '@ai-eval-platform/constructs/k8s';
import type { EnvironmentConfig } from '@ai-eval-platform/constructs';
import { loadEnvironments } from './environments';

/**
 * cdk8s entry point (`cdk8s synth`): per environment, in `dist/<env>/`: `platform.k8s.yaml` (the platform),
 * `cluster-addons.k8s.yaml` (the add-on Applications and the platform's, the app of apps),
 * `argocd-application.k8s.yaml` (the root Application, applied once) and `argocd-values.json` (the values
 * of the one `helm install` of Argo CD, the same its own Application then keeps).
 */
export function synthKubernetes(outdir = 'dist', envs: EnvironmentConfig[] = loadEnvironments()): void {
  for (const env of envs) {
    const app = new App({ outdir: `${outdir}/${env.name}`, outputFileExtension: '.k8s.yaml', yamlOutputType: YamlOutputType.FILE_PER_CHART });
    new PlatformChart(app, 'platform', { env });
    new ClusterAddonsChart(app, 'cluster-addons', { env });
    new GitopsChart(app, 'argocd-application', { env });
    app.synth();
    writeFileSync(`${outdir}/${env.name}/argocd-values.json`, `${JSON.stringify(clusterAddonValues(env).argoCd, null, 2)}\n`);
  }
}

if (require.main === module) synthKubernetes();
