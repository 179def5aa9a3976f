import { Token, type ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';
import { DataAwsIamPolicyDocument } from '@cdktf/provider-aws/lib/data-aws-iam-policy-document';
import { DataAwsSsmParameter } from '@cdktf/provider-aws/lib/data-aws-ssm-parameter';
import { EbsVolume } from '@cdktf/provider-aws/lib/ebs-volume';
import { IamInstanceProfile } from '@cdktf/provider-aws/lib/iam-instance-profile';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
import { IamRolePolicyAttachment } from '@cdktf/provider-aws/lib/iam-role-policy-attachment';
import { Instance } from '@cdktf/provider-aws/lib/instance';
import { Route53Record } from '@cdktf/provider-aws/lib/route53-record';
import { SecurityGroup } from '@cdktf/provider-aws/lib/security-group';
import { clientSecurityGroup } from './client-security-group';
import { VolumeAttachment } from '@cdktf/provider-aws/lib/volume-attachment';
import { VpcSecurityGroupEgressRule } from '@cdktf/provider-aws/lib/vpc-security-group-egress-rule';
import { VpcSecurityGroupIngressRule } from '@cdktf/provider-aws/lib/vpc-security-group-ingress-rule';
import { clickhouseUserData } from './clickhouse-user-data';
import type { ClickhouseInput } from '../config/environment-input';

/** The environment's ClickHouse settings (`ClickhouseInput`) and where the nodes run. */
export interface ClickhouseClusterProps extends ClickhouseInput {
  /** Name prefix. */
  readonly name: string;
  /** AWS region of the instances. */
  readonly region: string;
  /** VPC of the instances and their security group. */
  readonly vpcId: string;
  /** One subnet per replica, in different AZs. */
  readonly subnetIds: string[];
  /** The availability zone of each of those subnets (the data volumes must sit beside their instance). */
  readonly availabilityZones: string[];
  /** Security group allowed to query (the EKS nodes): HTTP 8123 and native 9000. */
  readonly clientSecurityGroupId: string;
  /** Private hosted zone id and its name, where `clickhouse-<n>.<zone>` and `clickhouse.<zone>` are kept. */
  readonly zoneId: string;
  /** Stable DNS names of the replicas, in order; their count must equal `replicas`. */
  readonly hosts: readonly string[];
  /** Name shared by every replica (round-robin A record). */
  readonly serviceHost: string;
  /** Secrets Manager secret (name and ARN) with the `eval` user's password. */
  readonly passwordSecretName: string;
  /** ARN of the Secrets Manager secret holding the ClickHouse password, read by the nodes at boot. */
  readonly passwordSecretArn: string;
  /** The password's secret version: a node boots after it exists (`depends_on`). */
  readonly passwordVersion: ITerraformDependable;
  /** Tags put on the data volumes, e.g. the AWS Backup selection tag. @default {} */
  readonly dataVolumeTags?: Record<string, string>;
  /**
   * `prevent_destroy` on the data volumes: a plan that would delete one fails (production).
   * @default true
   */
  readonly retainDataVolumes?: boolean;
}

/**
 * ClickHouse on dedicated EC2 instances with gp3 data volumes: one node in dev, three replicas with the
 * embedded ClickHouse Keeper in prod. Instances are replaceable (the data lives on a separate volume
 * that survives them); each has a stable DNS name.
 */
export class ClickhouseCluster extends Construct {
  readonly instances: Instance[] = [];
  readonly dataVolumes: EbsVolume[] = [];
  readonly securityGroup: SecurityGroup;
  readonly version: string;

  constructor(scope: Construct, id: string, props: ClickhouseClusterProps) {
    super(scope, id);
    if (props.hosts.length !== props.replicas) {
      throw new Error(`${this.node.path}: hosts (${props.hosts.length}) must name every replica (${props.replicas})`);
    }
    if (props.subnetIds.length < props.replicas) {
      throw new Error(`${this.node.path}: subnetIds (${props.subnetIds.length}) must give one subnet per replica (${props.replicas})`);
    }
    this.version = props.version ?? '25.8';
    const name = `${props.name}-clickhouse`;

    this.securityGroup = clientSecurityGroup(this, 'sg', {
      name,
      description: 'ClickHouse nodes',
      vpcId: props.vpcId,
      clientSecurityGroupId: props.clientSecurityGroupId,
      ports: [
        [8123, 'ClickHouse HTTP'],
        [9000, 'ClickHouse native'],
      ],
    });
    for (const [port, what] of [
      [9000, 'native between replicas'],
      [9009, 'interserver replication'],
      [9181, 'Keeper client'],
      [9234, 'Keeper Raft'],
    ] as const) {
      new VpcSecurityGroupIngressRule(this, `peers-${port}`, {
        securityGroupId: this.securityGroup.id,
        description: `ClickHouse ${what}`,
        referencedSecurityGroupId: this.securityGroup.id,
        ipProtocol: 'tcp',
        fromPort: port,
        toPort: port,
      });
    }
    new VpcSecurityGroupEgressRule(this, 'egress', {
      securityGroupId: this.securityGroup.id,
      description: 'Packages, Secrets Manager, peers',
      cidrIpv4: '0.0.0.0/0',
      ipProtocol: '-1',
    });

    const role = new IamRole(this, 'role', {
      name,
      assumeRolePolicy: new DataAwsIamPolicyDocument(this, 'trust', {
        statement: [{ effect: 'Allow', actions: ['sts:AssumeRole'], principals: [{ type: 'Service', identifiers: ['ec2.amazonaws.com'] }] }],
      }).json,
    });
    const ssm = new IamRolePolicyAttachment(this, 'ssm', { role: role.name, policyArn: 'arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore' });
    const readPassword = new IamRolePolicy(this, 'read-password', {
      name: 'read-password',
      role: role.name,
      policy: new DataAwsIamPolicyDocument(this, 'read-password-policy', {
        statement: [{ effect: 'Allow', actions: ['secretsmanager:GetSecretValue'], resources: [props.passwordSecretArn] }],
      }).json,
    });
    const profile = new IamInstanceProfile(this, 'profile', { name, role: role.name });
    const ami = new DataAwsSsmParameter(this, 'ami', {
      name: '/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id',
    });

    for (let i = 0; i < props.replicas; i++) {
      const subnetId = props.subnetIds[i];
      const host = props.hosts[i];
      const instance = new Instance(this, `node-${i + 1}`, {
        ami: ami.value,
        instanceType: props.instanceType,
        subnetId,
        vpcSecurityGroupIds: [this.securityGroup.id],
        iamInstanceProfile: profile.name,
        metadataOptions: { httpEndpoint: 'enabled', httpTokens: 'required', httpPutResponseHopLimit: 1 },
        rootBlockDevice: { volumeType: 'gp3', volumeSize: 30, encrypted: true },
        monitoring: true,
        tags: { Name: `${name}-${i + 1}` },
        // The AMI parameter moves with every Ubuntu release; an instance is replaced deliberately, not by a plan.
        // A change of its configuration (version, replicas, hosts) does replace it: the boot script is the
        // node's whole configuration, so a node never keeps running an old one. Data and Keeper state live on
        // the separate volume, which the new instance mounts again (README: ClickHouse nodes).
        lifecycle: { ignoreChanges: ['ami'] },
        userDataReplaceOnChange: true,
        // It reads its password at boot, through its role: both exist first.
        dependsOn: [props.passwordVersion, ssm, readPassword],
      });
      const volume = new EbsVolume(this, `data-${i + 1}`, {
        availabilityZone: props.availabilityZones[i],
        size: props.dataVolumeGiB,
        type: 'gp3',
        iops: props.dataVolumeIops ?? 3000,
        throughput: props.dataVolumeThroughputMiBps ?? 125,
        encrypted: true,
        tags: { Name: `${name}-${i + 1}-data`, ...(props.dataVolumeTags ?? {}) },
        lifecycle: { preventDestroy: props.retainDataVolumes ?? true },
      });
      instance.userData = clickhouseUserData({
        replica: i + 1,
        hosts: props.hosts,
        version: this.version,
        region: props.region,
        passwordSecretName: props.passwordSecretName,
        dataVolumeId: Token.asString(volume.id),
      });
      new VolumeAttachment(this, `data-${i + 1}-attachment`, {
        deviceName: '/dev/sdf',
        volumeId: volume.id,
        instanceId: instance.id,
      });
      new Route53Record(this, `dns-${i + 1}`, {
        zoneId: props.zoneId,
        name: host,
        type: 'A',
        ttl: 60,
        records: [instance.privateIp],
      });
      this.instances.push(instance);
      this.dataVolumes.push(volume);
    }
    new Route53Record(this, 'dns-service', {
      zoneId: props.zoneId,
      name: props.serviceHost,
      type: 'A',
      ttl: 30,
      records: this.instances.map((instance) => instance.privateIp),
    });
  }
}
