import { Fn } from 'cdktf';
import { Construct } from 'constructs';
import { SecretsmanagerSecret } from '@cdktf/provider-aws/lib/secretsmanager-secret';
import { SecretsmanagerSecretVersion } from '@cdktf/provider-aws/lib/secretsmanager-secret-version';
import { Password } from '@cdktf/provider-random/lib/password';

export interface PlatformSecretsProps {
  /** Name of the LLM keys secret, e.g. `prod/eval-platform/llm-keys`. */
  readonly llmKeysSecretName: string;
  /** Secrets Manager name of the generated Redis AUTH token. */
  readonly redisSecretName: string;
  /** Secrets Manager name of the generated ClickHouse credentials. */
  readonly clickhouseSecretName: string;
  /** Name of the Slack webhook secret Alertmanager posts alerts with; created without a value. */
  readonly slackWebhookSecretName: string;
  /**
   * Days a deleted secret can be restored.
   * @default 7
   */
  readonly recoveryWindowDays?: number;
}

/**
 * The platform's Secrets Manager secrets. The LLM keys and Slack webhook secrets are created without a value:
 * operators put the keys and the webhook URL there (brief §3) and External Secrets brings them into the cluster. The Redis AUTH token and the
 * ClickHouse password are generated at apply time; ElastiCache takes its AUTH token only as an argument,
 * so both live in the (encrypted, access-controlled) Terraform state, never in code or synthesized JSON.
 */
export class PlatformSecrets extends Construct {
  readonly llmKeys: SecretsmanagerSecret;
  readonly redis: SecretsmanagerSecret;
  readonly clickhouse: SecretsmanagerSecret;
  readonly slackWebhook: SecretsmanagerSecret;
  /** Terraform reference to the Redis AUTH token. */
  readonly redisAuthToken: string;
  readonly recoveryWindowDays: number;

  constructor(scope: Construct, id: string, props: PlatformSecretsProps) {
    super(scope, id);
    this.recoveryWindowDays = props.recoveryWindowDays ?? 7;
    const secret = (secretId: string, name: string, description: string) =>
      new SecretsmanagerSecret(this, secretId, { name, description, recoveryWindowInDays: this.recoveryWindowDays });

    this.llmKeys = secret('llm-keys', props.llmKeysSecretName, 'LLM provider API keys (OPENAI_API_KEY, ANTHROPIC_API_KEY, …), set by operators');
    this.redis = secret('redis', props.redisSecretName, 'Redis AUTH token of the job queue');
    this.clickhouse = secret('clickhouse', props.clickhouseSecretName, 'Password of the ClickHouse eval user');
    this.slackWebhook = secret('slack-webhook', props.slackWebhookSecretName, 'Slack incoming-webhook URL for alerts ({"url": …}), set by operators');

    // ElastiCache AUTH tokens: 16-128 printable characters without @, ", / or spaces.
    const redisToken = new Password(this, 'redis-token', { length: 48, special: false });
    const clickhousePassword = new Password(this, 'clickhouse-password', { length: 40, special: false });
    this.redisAuthToken = redisToken.result;
    new SecretsmanagerSecretVersion(this, 'redis-value', {
      secretId: this.redis.id,
      secretString: Fn.jsonencode({ password: redisToken.result }),
    });
    new SecretsmanagerSecretVersion(this, 'clickhouse-value', {
      secretId: this.clickhouse.id,
      secretString: Fn.jsonencode({ username: 'eval', password: clickhousePassword.result }),
    });
  }
}
