import { Construct } from 'constructs';
import {
  ClusterSecretStore,
  ClusterSecretStoreSpecProviderAwsService,
  ExternalSecret,
  ExternalSecretSpec,
  ExternalSecretSpecSecretStoreRefKind,
  ExternalSecretSpecTargetTemplate,
  ExternalSecretSpecTargetCreationPolicy,
} from '../imports/external-secrets.io';
import { SERVICE_ENV } from '../config/service-environment';
import { componentLabels, SYNC_WAVE } from './labels';

/** Kubernetes Secrets that External Secrets Operator keeps in sync; pods read them as environment variables. */
export const PLATFORM_SECRETS = {
  /** OPENAI_API_KEY, ANTHROPIC_API_KEY, … (brief §3: Secret `llm-keys`). */
  llmKeys: 'llm-keys',
  connections: 'platform-connections',
  postgres: 'postgres-credentials',
  redis: 'redis-credentials',
  clickhouse: 'clickhouse-credentials',
  /** `url`: the Slack webhook Alertmanager posts to (read by the AlertmanagerConfig, never by pods). */
  slackWebhook: 'alertmanager-slack',
} as const;

export interface PlatformExternalSecretsProps {
  /** Namespace the Secrets are written to. */
  readonly namespace: string;
  /** AWS region of Secrets Manager. */
  readonly region: string;
  /** Namespace and service account of External Secrets Operator (annotated with its IRSA role). */
  readonly operatorNamespace: string;
  /** Service account of the External Secrets operator (IRSA), used by the ClusterSecretStore. */
  readonly operatorServiceAccount: string;
  /** Secrets Manager names. */
  readonly llmKeysSecret: string;
  /** Secrets Manager name of the data-store endpoints secret (no credentials). */
  readonly connectionsSecret: string;
  /** Secrets Manager name of the Redis AUTH token secret. */
  readonly redisSecret: string;
  /** Secrets Manager name of the ClickHouse user and password secret. */
  readonly clickhouseSecret: string;
  /** Secrets Manager name of `{"url": "<Slack incoming webhook>"}`. */
  readonly slackWebhookSecret: string;
  /** Tag by which the RDS-managed master secret is found (RDS copies the instance's tags onto it). */
  readonly postgresSecretTag: { readonly key: string; readonly value: string };
  /**
   * How often ESO re-reads AWS (a rotated key reaches pods on their next restart).
   * @default '1h'
   */
  readonly refreshInterval?: string;
}

/**
 * A ClusterSecretStore for AWS Secrets Manager (authenticated through ESO's IRSA role, usable only from the
 * platform namespace) and the ExternalSecrets that produce the Secrets in `PLATFORM_SECRETS`. No secret
 * value is in the manifests: only names of secrets in AWS.
 */
export class PlatformExternalSecrets extends Construct {
  static readonly STORE = 'aws-secrets-manager';
  readonly refreshInterval: string;

  constructor(scope: Construct, id: string, props: PlatformExternalSecretsProps) {
    super(scope, id);
    this.refreshInterval = props.refreshInterval ?? '1h';
    const labels = componentLabels('external-secrets');
    const annotations = { [SYNC_WAVE]: '-2' };
    awsSecretsManagerStore(this, 'store', {
      name: PlatformExternalSecrets.STORE,
      namespace: props.namespace,
      region: props.region,
      serviceAccount: { name: props.operatorServiceAccount, namespace: props.operatorNamespace },
      metadata: { labels, annotations },
    });
    /** One ExternalSecret in the platform namespace, producing the Secret of the same name. */
    const externalSecret = (
      id: string,
      name: string,
      spec: Pick<ExternalSecretSpec, 'data' | 'dataFrom'> & { template?: ExternalSecretSpecTargetTemplate },
    ) =>
      new ExternalSecret(this, id, {
        metadata: { name, namespace: props.namespace, labels, annotations },
        spec: {
          refreshInterval: this.refreshInterval,
          secretStoreRef: { kind: ExternalSecretSpecSecretStoreRefKind.CLUSTER_SECRET_STORE, name: PlatformExternalSecrets.STORE },
          target: { name, creationPolicy: ExternalSecretSpecTargetCreationPolicy.OWNER, template: spec.template },
          data: spec.data,
          dataFrom: spec.dataFrom,
        },
      });
    const property = (secretKey: string, key: string, name: string) => ({ secretKey, remoteRef: { key, property: name } });

    externalSecret('llm-keys', PLATFORM_SECRETS.llmKeys, { dataFrom: [{ extract: { key: props.llmKeysSecret } }] });
    externalSecret('connections', PLATFORM_SECRETS.connections, { dataFrom: [{ extract: { key: props.connectionsSecret } }] });
    externalSecret('redis', PLATFORM_SECRETS.redis, { data: [property(SERVICE_ENV.redisPassword, props.redisSecret, 'password')] });
    externalSecret('clickhouse', PLATFORM_SECRETS.clickhouse, {
      data: [
        property(SERVICE_ENV.clickhouseUser, props.clickhouseSecret, 'username'),
        property(SERVICE_ENV.clickhousePassword, props.clickhouseSecret, 'password'),
      ],
    });
    externalSecret('slack-webhook', PLATFORM_SECRETS.slackWebhook, { data: [property('url', props.slackWebhookSecret, 'url')] });
    // RDS names its managed secret itself (rds!db-…); it is found by tag and renamed to `master`.
    externalSecret('postgres', PLATFORM_SECRETS.postgres, {
      dataFrom: [
        {
          find: { tags: { [props.postgresSecretTag.key]: props.postgresSecretTag.value } },
          rewrite: [{ regexp: { source: '.*', target: 'master' } }],
        },
      ],
      template: {
        engineVersion: 'v2',
        data: {
          [SERVICE_ENV.postgresUser]: '{{ (.master | fromJson).username }}',
          [SERVICE_ENV.postgresPassword]: '{{ (.master | fromJson).password }}',
        },
      },
    });
  }
}

/**
 * A ClusterSecretStore over AWS Secrets Manager, usable from one namespace only, that authenticates as the
 * given service account (its IRSA role decides what can be read).
 */
export function awsSecretsManagerStore(
  scope: Construct,
  id: string,
  props: {
    name: string;
    namespace: string;
    region: string;
    serviceAccount: { name: string; namespace: string };
    metadata: { labels: Record<string, string>; annotations: Record<string, string> };
  },
): ClusterSecretStore {
  return new ClusterSecretStore(scope, id, {
    metadata: { name: props.name, ...props.metadata },
    spec: {
      conditions: [{ namespaces: [props.namespace] }],
      provider: {
        aws: {
          service: ClusterSecretStoreSpecProviderAwsService.SECRETS_MANAGER,
          region: props.region,
          auth: { jwt: { serviceAccountRef: props.serviceAccount } },
        },
      },
    },
  });
}
