import { Construct } from 'constructs';
import { Application } from '../imports/argoproj.io';
import { componentLabels } from './labels';

export interface ArgocdApplicationProps {
  /** Application name. */
  readonly name: string;
  /** Namespace Argo CD runs in. @default 'argocd' */
  readonly argocdNamespace?: string;
  /** @default 'default' */
  readonly project?: string;
  /** GitOps repository that holds the synthesized manifests. */
  readonly repoUrl: string;
  /** @default 'main' */
  readonly targetRevision?: string;
  /** Folder of this environment's manifests in that repository, e.g. `dist/prod`. */
  readonly path: string;
  /** Manifest files of the folder to apply (glob). @default 'platform.k8s.yaml' */
  readonly include?: string;
  /** Namespace the platform runs in. */
  readonly destinationNamespace: string;
}

/** An Argo CD Application with automated sync, pruning and self-healing over one environment's folder. */
export class ArgocdApplication extends Construct {
  readonly application: Application;

  constructor(scope: Construct, id: string, props: ArgocdApplicationProps) {
    super(scope, id);
    this.application = new Application(this, 'application', {
      metadata: {
        name: props.name,
        namespace: props.argocdNamespace ?? 'argocd',
        labels: componentLabels('argocd-application'),
        finalizers: ['resources-finalizer.argocd.argoproj.io'],
      },
      spec: {
        project: props.project ?? 'default',
        source: {
          repoUrl: props.repoUrl,
          targetRevision: props.targetRevision ?? 'main',
          path: props.path,
          directory: { recurse: false, include: props.include ?? 'platform.k8s.yaml' },
        },
        destination: { server: 'https://kubernetes.default.svc', namespace: props.destinationNamespace },
        syncPolicy: {
          automated: { prune: true, selfHeal: true, allowEmpty: false },
          syncOptions: ['ServerSideApply=true', 'PruneLast=true'],
          retry: { limit: 5, backoff: { duration: '10s', factor: 2, maxDuration: '5m' } },
        },
      },
    });
  }
}
