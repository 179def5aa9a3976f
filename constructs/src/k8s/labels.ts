/** Labels every platform object carries, and the selector labels of one component. */
export function componentLabels(component: string): Record<string, string> {
  return {
    'app.kubernetes.io/name': component,
    'app.kubernetes.io/part-of': 'ai-eval-platform',
    'app.kubernetes.io/managed-by': 'cdk8s',
  };
}

export function selectorLabels(component: string): Record<string, string> {
  return { 'app.kubernetes.io/name': component, 'app.kubernetes.io/part-of': 'ai-eval-platform' };
}

/** Argo CD applies lower waves first and waits for them to be healthy. */
export const SYNC_WAVE = 'argocd.argoproj.io/sync-wave';
