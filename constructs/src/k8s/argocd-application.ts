import { Construct } from 'constructs';
import { Application } from '../imports/argoproj.io';
import { componentLabels, SYNC_WAVE } from './labels';

/** A Helm chart as an Application's source. */
export interface HelmSource {
  readonly repoUrl: string;
  readonly chart: string;
  /** Exact chart version. */
  readonly version: string;
  /** @default the Application's name */
  readonly releaseName?: string;
  /** Helm values. @default {} */
  readonly values?: Record<string, unknown>;
}

export interface ArgocdApplicationProps {
  /** Application name. */
  readonly name: string;
  /** Namespace Argo CD runs in. @default 'argocd' */
  readonly argocdNamespace?: string;
  /** @default 'default' */
  readonly project?: string;
  /** GitOps repository that holds the synthesized manifests (ignored with `helm`). */
  readonly repoUrl?: string;
  /** @default 'main' */
  readonly targetRevision?: string;
  /** Folder of this environment's manifests in that repository, e.g. `dist/prod` (ignored with `helm`). */
  readonly path?: string;
  /** Manifest files of the folder to apply (glob). @default 'platform.k8s.yaml' */
  readonly include?: string;
  /** A Helm chart instead of a folder of the GitOps repository. */
  readonly helm?: HelmSource;
  /** Namespace the objects go to. */
  readonly destinationNamespace: string;
  /** Create the destination namespace. @default false */
  readonly createNamespace?: boolean;
  /** Sync wave of this Application within its parent (app of apps). @default none */
  readonly wave?: number;
  /**
   * Deleting the Application deletes what it deployed (Argo CD's resources finalizer). Off for an
   * Application that deploys Argo CD itself. @default true
   */
  readonly cascadeDelete?: boolean;
}

/**
 * An Argo CD Application with automated sync, pruning and self-healing, server-side apply (large CRDs fit)
 * and retries: over one environment's folder of the GitOps repository, or over a pinned Helm chart.
 */
export class ArgocdApplication extends Construct {
  readonly application: Application;

  constructor(scope: Construct, id: string, props: ArgocdApplicationProps) {
    super(scope, id);
    if (!props.helm && (!props.repoUrl || !props.path)) {
      throw new Error(`${this.node.path}: repoUrl and path, or helm, must say what to sync`);
    }
    const source = props.helm
      ? {
          repoUrl: props.helm.repoUrl,
          chart: props.helm.chart,
          targetRevision: props.helm.version,
          helm: { releaseName: props.helm.releaseName ?? props.name, valuesObject: props.helm.values ?? {} },
        }
      : {
          repoUrl: props.repoUrl!,
          targetRevision: props.targetRevision ?? 'main',
          path: props.path,
          directory: { recurse: false, include: props.include ?? 'platform.k8s.yaml' },
        };
    const syncOptions = ['ServerSideApply=true', 'PruneLast=true'];
    if (props.createNamespace) syncOptions.push('CreateNamespace=true');
    this.application = new Application(this, 'application', {
      metadata: {
        name: props.name,
        namespace: props.argocdNamespace ?? 'argocd',
        labels: componentLabels('argocd-application'),
        annotations: props.wave === undefined ? undefined : { [SYNC_WAVE]: String(props.wave) },
        finalizers: props.cascadeDelete === false ? undefined : ['resources-finalizer.argocd.argoproj.io'],
      },
      spec: {
        project: props.project ?? 'default',
        source,
        destination: { server: 'https://kubernetes.default.svc', namespace: props.destinationNamespace },
        syncPolicy: {
          automated: { prune: true, selfHeal: true, allowEmpty: false },
          syncOptions,
          retry: { limit: 5, backoff: { duration: '10s', factor: 2, maxDuration: '5m' } },
        },
      },
    });
  }
}
