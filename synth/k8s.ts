import { App, YamlOutputType } from 'cdk8s';
import { GitopsChart, PlatformChart } from '@ai-eval-platform/constructs/k8s';
import type { EnvironmentConfig } from '@ai-eval-platform/constructs';
import { loadEnvironments } from './environments';

/**
 * cdk8s entry point (`cdk8s synth`): per environment, `dist/<env>/platform.k8s.yaml` (what Argo CD
 * applies) and `dist/<env>/argocd-application.k8s.yaml` (applied once to bootstrap Argo CD).
 */
export function synthKubernetes(outdir = 'dist', envs: EnvironmentConfig[] = loadEnvironments()): void {
  for (const env of envs) {
    const app = new App({ outdir: `${outdir}/${env.name}`, outputFileExtension: '.k8s.yaml', yamlOutputType: YamlOutputType.FILE_PER_CHART });
    new PlatformChart(app, 'platform', { env });
    new GitopsChart(app, 'argocd-application', { env });
    app.synth();
  }
}

if (require.main === module) synthKubernetes();
