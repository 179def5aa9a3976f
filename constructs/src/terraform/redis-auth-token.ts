/**
 * What `terraform apply` runs (a `local-exec` provisioner of a `terraform_data`) to give the replication group
 * its AUTH token without Terraform ever holding it: ElastiCache takes the token only as a plain argument, and a
 * plain argument is stored in state. The script reads the token from its Secrets Manager secret (written
 * write-only by `PlatformSecrets`) and hands it to ElastiCache through a private file, never on a command line
 * or in the output. A group without AUTH yet gets it with `SET` (AUTH required at once); a group that has one
 * gets the new token with `ROTATE` (the old one stays valid until the pods restart with the new one).
 * It needs the AWS CLI v2 and jq where `cdktf deploy` runs (the README's tools).
 *
 * Environment: `REPLICATION_GROUP`, `REGION`, `SECRET_ID`.
 */
export function setRedisAuthTokenScript(): string {
  return `set -euo pipefail
umask 077
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
aws secretsmanager get-secret-value --region "$REGION" --secret-id "$SECRET_ID" --query SecretString --output text > "$work/secret"
jq -r '.password // empty' "$work/secret" > "$work/token"
[ -s "$work/token" ] || { echo "secret $SECRET_ID holds no password: nothing to set on $REPLICATION_GROUP" >&2; exit 1; }
aws elasticache wait replication-group-available --region "$REGION" --replication-group-id "$REPLICATION_GROUP"
enabled=$(aws elasticache describe-replication-groups --region "$REGION" --replication-group-id "$REPLICATION_GROUP" --query 'ReplicationGroups[0].AuthTokenEnabled' --output text)
if [ "$enabled" = "True" ] || [ "$enabled" = "true" ]; then strategy=ROTATE; else strategy=SET; fi
jq -n --rawfile token "$work/token" --arg group "$REPLICATION_GROUP" --arg strategy "$strategy" \\
  '{ReplicationGroupId: $group, AuthToken: ($token | rtrimstr("\\n")), AuthTokenUpdateStrategy: $strategy, ApplyImmediately: true}' > "$work/modify.json"
aws elasticache modify-replication-group --region "$REGION" --cli-input-json "file://$work/modify.json" > /dev/null
aws elasticache wait replication-group-available --region "$REGION" --replication-group-id "$REPLICATION_GROUP"
echo "AUTH token of $REPLICATION_GROUP set from $SECRET_ID ($strategy)"
`;
}
