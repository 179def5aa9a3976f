import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
// The typed Kubernetes API alone: loading all of cdk8s-plus costs synth about 30 ms.
import * as k8s from 'cdk8s-plus-28/lib/imports/k8s';
import {
  ExternalSecret,
  ExternalSecretSpecSecretStoreRefKind,
  ExternalSecretSpecTargetCreationPolicy,
} from '../imports/external-secrets.io';
import { componentLabels, SYNC_WAVE } from './labels';
import { awsSecretsManagerStore } from './platform-external-secrets';

export interface AcmeClusterIssuerProps {
  /** ClusterIssuer name, referenced by the Ingress's `cert-manager.io/cluster-issuer` annotation. @default 'letsencrypt' */
  readonly name?: string;
  /** ACME directory URL. */
  readonly server: string;
  /** Contact address of the ACME account. */
  readonly email: string;
  /** Ingress class that serves the HTTP-01 challenges. */
  readonly ingressClassName: string;
}

/** A cert-manager ClusterIssuer for an ACME CA (Let's Encrypt), solving HTTP-01 through the ingress controller. */
export class AcmeClusterIssuer extends Construct {
  readonly name: string;

  constructor(scope: Construct, id: string, props: AcmeClusterIssuerProps) {
    super(scope, id);
    this.name = props.name ?? 'letsencrypt';
    new ApiObject(this, 'issuer', {
      apiVersion: 'cert-manager.io/v1',
      kind: 'ClusterIssuer',
      metadata: { name: this.name, labels: componentLabels('certificates'), annotations: { [SYNC_WAVE]: '-2' } },
      spec: {
        acme: {
          server: props.server,
          email: props.email,
          privateKeySecretRef: { name: `${this.name}-account-key` },
          solvers: [{ http01: { ingress: { ingressClassName: props.ingressClassName } } }],
        },
      },
    });
  }
}

export interface GrafanaClickhouseCredentialsProps {
  /** Namespace of Grafana (kube-prometheus-stack). */
  readonly namespace: string;
  /** AWS region of Secrets Manager. */
  readonly region: string;
  /** Service account External Secrets authenticates as; its IRSA role reads the ClickHouse secret only. */
  readonly serviceAccount: string;
  /** ARN of that IRSA role (`names.grafanaSecretsRoleArn`). */
  readonly roleArn: string;
  /** Secrets Manager secret with `password`. */
  readonly clickhouseSecret: string;
  /** Kubernetes Secret Grafana loads as environment (`CLICKHOUSE_PASSWORD`). */
  readonly secretName: string;
  /**
   * Sync wave. These objects ship with the add-ons (cluster-addons.k8s.yaml), in a wave after External Secrets'
   * and before kube-prometheus-stack's: Grafana's pod needs the Secret to start. @default '-2'
   */
  readonly wave?: number;
}

/**
 * The ClickHouse password for Grafana's data source, in the monitoring namespace, through a secret store of
 * its own: a service account whose IRSA role can read that one secret, and a ClusterSecretStore usable from
 * the monitoring namespace only. The platform's store (LLM keys and all) stays closed to that namespace.
 */
export class GrafanaClickhouseCredentials extends Construct {
  static readonly STORE = 'grafana-clickhouse';

  constructor(scope: Construct, id: string, props: GrafanaClickhouseCredentialsProps) {
    super(scope, id);
    const labels = componentLabels('grafana-clickhouse');
    const wave = { [SYNC_WAVE]: String(props.wave ?? -2) };
    // Synced by the root Application in the same pass as the chart that brings their CRDs: Argo CD's dry run
    // would refuse the whole sync over a kind it does not know yet.
    const annotations = { ...wave, 'argocd.argoproj.io/sync-options': 'SkipDryRunOnMissingResource=true' };
    // The namespace exists before kube-prometheus-stack's Application would create it.
    new k8s.KubeNamespace(this, 'namespace', { metadata: { name: props.namespace, labels, annotations: wave } });
    new k8s.KubeServiceAccount(this, 'service-account', {
      metadata: { name: props.serviceAccount, namespace: props.namespace, labels, annotations: { ...wave, 'eks.amazonaws.com/role-arn': props.roleArn } },
      automountServiceAccountToken: false,
    });
    awsSecretsManagerStore(this, 'store', {
      name: GrafanaClickhouseCredentials.STORE,
      namespace: props.namespace,
      region: props.region,
      serviceAccount: { name: props.serviceAccount, namespace: props.namespace },
      metadata: { labels, annotations },
    });
    new ExternalSecret(this, 'secret', {
      metadata: { name: props.secretName, namespace: props.namespace, labels, annotations },
      spec: {
        refreshInterval: '1h',
        secretStoreRef: { kind: ExternalSecretSpecSecretStoreRefKind.CLUSTER_SECRET_STORE, name: GrafanaClickhouseCredentials.STORE },
        target: { name: props.secretName, creationPolicy: ExternalSecretSpecTargetCreationPolicy.OWNER },
        data: [{ secretKey: 'CLICKHOUSE_PASSWORD', remoteRef: { key: props.clickhouseSecret, property: 'password' } }],
      },
    });
  }
}
