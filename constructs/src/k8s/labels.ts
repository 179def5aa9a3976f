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

/**
 * Node selector of the general (on-demand) node group, whose label the environments give it: the
 * orchestrator, the migration Job and the cluster add-ons run there, never on SPOT.
 */
export const GENERAL_POOL: Readonly<Record<string, string>> = { 'ai-eval-platform/pool': 'general' };

/** Argo CD applies lower waves first and waits for them to be healthy. */
export const SYNC_WAVE = 'argocd.argoproj.io/sync-wave';
