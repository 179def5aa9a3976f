import { Token, type ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';
import { EksNodeGroup } from '@cdktf/provider-aws/lib/eks-node-group';
import { LaunchTemplate } from '@cdktf/provider-aws/lib/launch-template';
import type { NodeGroupInput } from '../config/environment-input';

/** A node group of the environment's configuration (`NodeGroupInput`), and where it joins the cluster. */
export interface ManagedNodeGroupProps extends NodeGroupInput {
  /** EKS cluster the group joins. */
  readonly clusterName: string;
  /** Node group name, as in the brief (`general`, `workers_spot`). */
  readonly nodeGroupName: string;
  /** IAM role of the nodes. */
  readonly nodeRoleArn: string;
  /** Private subnets the nodes run in. */
  readonly subnetIds: string[];
  /** Security group of every node, attached through the launch template. */
  readonly nodeSecurityGroupId: string;
  /**
   * Created after these: the node role's policies and the add-ons a node needs to become Ready
   * (`EksCluster.computePrerequisites`). @default []
   */
  readonly dependsOn?: ITerraformDependable[];
}

/**
 * An EKS managed node group with its own launch template: IMDSv2 only with a hop limit of 1 (pods cannot
 * borrow the node's credentials; they use IRSA), encrypted gp3 root volumes, and a desired size that
 * later applies never reset.
 */
export class ManagedNodeGroup extends Construct {
  readonly nodeGroup: EksNodeGroup;
  readonly launchTemplate: LaunchTemplate;
  readonly capacityType: 'ON_DEMAND' | 'SPOT';
  readonly diskSizeGiB: number;

  constructor(scope: Construct, id: string, props: ManagedNodeGroupProps) {
    super(scope, id);
    const { minSize, maxSize, desiredSize } = props;
    const where = `${this.node.path}`;
    if (minSize > maxSize) throw new Error(`${where}: minSize (${minSize}) must be <= maxSize (${maxSize})`);
    if (desiredSize < minSize || desiredSize > maxSize) {
      throw new Error(`${where}: desiredSize (${desiredSize}) must be within [${minSize}, ${maxSize}]`);
    }
    if (props.instanceTypes.length === 0) throw new Error(`${where}: instanceTypes must not be empty`);
    this.capacityType = props.capacityType ?? 'ON_DEMAND';
    this.diskSizeGiB = props.diskSizeGiB ?? 50;

    const name = `${props.clusterName}-${props.nodeGroupName.replace(/_/g, '-')}`;
    this.launchTemplate = new LaunchTemplate(this, 'launch-template', {
      name,
      updateDefaultVersion: true,
      vpcSecurityGroupIds: [props.nodeSecurityGroupId],
      metadataOptions: { httpEndpoint: 'enabled', httpTokens: 'required', httpPutResponseHopLimit: 1 },
      blockDeviceMappings: [
        {
          deviceName: '/dev/xvda',
          ebs: { volumeSize: this.diskSizeGiB, volumeType: 'gp3', encrypted: 'true', deleteOnTermination: 'true' },
        },
      ],
      tagSpecifications: [{ resourceType: 'instance', tags: { Name: name } }],
    });
    this.nodeGroup = new EksNodeGroup(this, 'node-group', {
      clusterName: props.clusterName,
      nodeGroupName: props.nodeGroupName,
      nodeRoleArn: props.nodeRoleArn,
      subnetIds: props.subnetIds,
      instanceTypes: props.instanceTypes,
      capacityType: this.capacityType,
      scalingConfig: { minSize, maxSize, desiredSize },
      updateConfig: { maxUnavailablePercentage: 33 },
      launchTemplate: { id: this.launchTemplate.id, version: Token.asString(this.launchTemplate.latestVersion) },
      labels: props.labels ?? {},
      taint: (props.taints ?? []).map((t) => ({ key: t.key, value: t.value ?? 'true', effect: t.effect })),
      lifecycle: { ignoreChanges: ['scaling_config[0].desired_size'] },
      tags: { Name: name },
      dependsOn: props.dependsOn,
    });
  }
}
