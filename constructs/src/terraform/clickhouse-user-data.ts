import { SERVICE_DEFAULTS } from '../config/service-environment';

const CLUSTER = SERVICE_DEFAULTS.clickhouseCluster;

/** Inputs of one ClickHouse node's first-boot script. */
export interface ClickhouseNodeBoot {
  /** 1-based replica number; also the Keeper server id. */
  readonly replica: number;
  /** Stable DNS names of every replica, in order. */
  readonly hosts: readonly string[];
  readonly version: string;
  readonly region: string;
  /** Secrets Manager secret whose JSON holds `password` for the `eval` user. */
  readonly passwordSecretName: string;
  /** EBS volume id of the data volume (its NVMe serial, without the dash). */
  readonly dataVolumeId: string;
}

/**
 * The boot script's reading of the `eval` password into `$password`: retried (every `$retry_seconds`, 10 by
 * default, 30 times) while the secret, its value or the role's permission is not there yet, as on a first
 * apply; the error is logged, the password never. Exits non-zero when it never gets one.
 */
export function readPasswordScript(region: string, secretName: string): string {
  return `password=""
for attempt in $(seq 1 30); do
  if secret=$(aws secretsmanager get-secret-value --region ${region} --secret-id '${secretName}' --query SecretString --output text 2>/tmp/secret-error); then
    password=$(printf '%s' "$secret" | jq -r '.password // empty' 2>/dev/null || true)
    [ -n "$password" ] && break
    echo "ClickHouse password secret has no password yet (attempt $attempt)" >&2
  else
    echo "reading the ClickHouse password failed (attempt $attempt): $(head -c 300 /tmp/secret-error)" >&2
  fi
  sleep "$(printenv retry_seconds || echo 10)"
done
[ -n "$password" ] || { echo "no ClickHouse password after 30 attempts" >&2; exit 1; }`;
}

/**
 * The cloud-init script of a ClickHouse node: mounts the gp3 data volume at /var/lib/clickhouse, installs
 * the pinned server (and, on a replicated cluster, runs the embedded ClickHouse Keeper on every replica),
 * renders the cluster, macros and Keeper configuration from stable DNS names, and sets the `eval` user's
 * password from Secrets Manager at boot, so no credential is in the user data.
 */
export function clickhouseUserData(node: ClickhouseNodeBoot): string {
  const replicated = node.hosts.length > 1;
  const replicas = node.hosts.map((host) => `<replica><host>${host}</host><port>9000</port></replica>`).join('');
  const keeperNodes = node.hosts.map((host) => `<node><host>${host}</host><port>9181</port></node>`).join('');
  const raftServers = node.hosts
    .map((host, i) => `<server><id>${i + 1}</id><hostname>${host}</hostname><port>9234</port></server>`)
    .join('');
  const keeper = replicated
    ? `<keeper_server><tcp_port>9181</tcp_port><server_id>${node.replica}</server_id>` +
      `<log_storage_path>/var/lib/clickhouse/coordination/log</log_storage_path>` +
      `<snapshot_storage_path>/var/lib/clickhouse/coordination/snapshots</snapshot_storage_path>` +
      `<raft_configuration>${raftServers}</raft_configuration></keeper_server><zookeeper>${keeperNodes}</zookeeper>`
    : '';
  return `#!/bin/bash
set -euo pipefail
# Data volume: the NVMe device whose serial is the EBS volume id.
volume='${node.dataVolumeId}'
dev=""
for i in $(seq 1 60); do
  dev=$(lsblk -dno NAME,SERIAL | awk -v serial="$$\{volume/-/}" '$2==serial {print "/dev/"$1}')
  [ -n "$dev" ] && break; sleep 5
done
[ -n "$dev" ] || { echo "data volume ${node.dataVolumeId} not attached" >&2; exit 1; }
blkid "$dev" || mkfs.ext4 -L chdata "$dev"
mkdir -p /var/lib/clickhouse
grep -q chdata /etc/fstab || echo "LABEL=chdata /var/lib/clickhouse ext4 defaults,noatime,nofail 0 2" >> /etc/fstab
mount -a
apt-get update && apt-get install -y apt-transport-https ca-certificates curl gnupg jq && snap install aws-cli --classic
curl -fsSL https://packages.clickhouse.com/rpm/lts/repodata/repomd.xml.key | gpg --dearmor -o /usr/share/keyrings/clickhouse-keyring.gpg
echo "deb [signed-by=/usr/share/keyrings/clickhouse-keyring.gpg] https://packages.clickhouse.com/deb stable main" > /etc/apt/sources.list.d/clickhouse.list
apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y "clickhouse-server=${node.version}.*" "clickhouse-client=${node.version}.*" "clickhouse-common-static=${node.version}.*"
chown -R clickhouse:clickhouse /var/lib/clickhouse
cat > /etc/clickhouse-server/config.d/platform.xml <<'XML'
<clickhouse>
  <listen_host>0.0.0.0</listen_host>
  <interserver_http_host>${node.hosts[node.replica - 1]}</interserver_http_host>
  <macros><shard>1</shard><replica>${node.hosts[node.replica - 1]}</replica><cluster>${CLUSTER}</cluster></macros>
  <remote_servers><${CLUSTER}><shard><internal_replication>true</internal_replication>${replicas}</shard></${CLUSTER}></remote_servers>
  ${keeper}
</clickhouse>
XML
${readPasswordScript(node.region, node.passwordSecretName)}
hash=$(printf '%s' "$password" | sha256sum | cut -d' ' -f1)
cat > /etc/clickhouse-server/users.d/platform.xml <<XML
<clickhouse>
  <users>
    <default><networks><ip>127.0.0.1</ip><ip>::1</ip></networks></default>
    <eval><password_sha256_hex>$hash</password_sha256_hex><networks><ip>10.0.0.0/8</ip></networks><profile>default</profile><quota>default</quota><access_management>0</access_management></eval>
  </users>
</clickhouse>
XML
chmod 640 /etc/clickhouse-server/users.d/platform.xml && chown root:clickhouse /etc/clickhouse-server/users.d/platform.xml
systemctl enable --now clickhouse-server
`;
}
