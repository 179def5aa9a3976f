import { Fn, type ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';
import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group';
import { DataAwsIamPolicyDocument } from '@cdktf/provider-aws/lib/data-aws-iam-policy-document';
import { EksAccessEntry } from '@cdktf/provider-aws/lib/eks-access-entry';
import { EksAccessPolicyAssociation } from '@cdktf/provider-aws/lib/eks-access-policy-association';
import { EksAddon } from '@cdktf/provider-aws/lib/eks-addon';
import { EksCluster as AwsEksCluster } from '@cdktf/provider-aws/lib/eks-cluster';
import { IamOpenidConnectProvider } from '@cdktf/provider-aws/lib/iam-openid-connect-provider';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicyAttachment } from '@cdktf/provider-aws/lib/iam-role-policy-attachment';
import { KmsKey } from '@cdktf/provider-aws/lib/kms-key';
import { SecurityGroup } from '@cdktf/provider-aws/lib/security-group';
import { VpcSecurityGroupEgressRule } from '@cdktf/provider-aws/lib/vpc-security-group-egress-rule';
import { VpcSecurityGroupIngressRule } from '@cdktf/provider-aws/lib/vpc-security-group-ingress-rule';
import { IrsaRole } from './irsa-role';

export const CONTROL_PLANE_LOG_TYPES = ['api', 'audit', 'authenticator', 'controllerManager', 'scheduler'];
export const CLUSTER_ADDONS = ['vpc-cni', 'coredns', 'kube-proxy', 'eks-pod-identity-agent', 'aws-ebs-csi-driver'];

/**
 * Add-ons a node needs before it can become Ready (`bootstrap_self_managed_addons = false` installs none):
 * created before the node groups, as terraform-aws-modules/eks's `before_compute`. The others (CoreDNS, the
 * EBS CSI controller) need nodes to run on and come after them.
 */
export const BEFORE_COMPUTE_ADDONS = ['vpc-cni', 'kube-proxy', 'eks-pod-identity-agent'];

export interface EksClusterProps {
  /** Name of the EKS cluster. */
  readonly clusterName: string;
  /** Kubernetes minor version, e.g. `1.33`. */
  readonly kubernetesVersion: string;
  /** VPC of the cluster. */
  readonly vpcId: string;
  /** Subnets of the control plane's network interfaces and of the nodes. */
  readonly privateSubnetIds: string[];
  /**
   * Whether the API server has a public endpoint besides the private one.
   * @default false
   */
  readonly publicEndpoint?: boolean;
  /**
   * CIDRs allowed to reach the public endpoint.
   * @default ['0.0.0.0/0']
   */
  readonly publicAccessCidrs?: string[];
  /**
   * IAM role ARNs given cluster-admin through access entries.
   * @default []
   */
  readonly adminRoleArns?: string[];
  /**
   * IAM role of CI's deploy job: an access entry with `AmazonEKSEditPolicy` scoped to `deployNamespaces`.
   * @default none
   */
  readonly deployRoleArn?: string;
  /**
   * Namespaces the deploy role may edit.
   * @default ['argocd']
   */
  readonly deployNamespaces?: string[];
  /**
   * Whether the VPC CNI enforces NetworkPolicies (its network policy agent); EKS leaves it off by default.
   * @default true
   */
  readonly enforceNetworkPolicies?: boolean;
  /**
   * Retention of the control-plane logs in CloudWatch.
   * @default 30
   */
  readonly logRetentionDays?: number;
}

/**
 * An EKS cluster with what running it needs: cluster and node IAM roles, cluster and node security groups
 * with EKS's rules, KMS envelope encryption of Secrets, every control-plane log type, the OIDC provider
 * for IRSA, access entries (API authentication mode) and the core add-ons.
 */
export class EksCluster extends Construct {
  readonly cluster: AwsEksCluster;
  readonly nodeRole: IamRole;
  readonly clusterSecurityGroup: SecurityGroup;
  readonly nodeSecurityGroup: SecurityGroup;
  readonly oidcProvider: IamOpenidConnectProvider;
  /** OIDC issuer without `https://`, the prefix of IRSA condition keys. */
  readonly oidcIssuerHost: string;
  readonly addons: Record<string, EksAddon> = {};
  /** The node role's policy attachments: node groups are created after them. */
  readonly nodeRolePolicies: IamRolePolicyAttachment[] = [];

  /** What a node group must be created after: the node role's policies and the `BEFORE_COMPUTE_ADDONS`. */
  get computePrerequisites(): ITerraformDependable[] {
    return [...this.nodeRolePolicies, ...BEFORE_COMPUTE_ADDONS.map((addon) => this.addons[addon])];
  }
  readonly publicEndpoint: boolean;
  readonly logRetentionDays: number;
  readonly enforceNetworkPolicies: boolean;
  /** Access entries by principal ARN. */
  readonly accessEntries: EksAccessEntry[] = [];

  constructor(scope: Construct, id: string, props: EksClusterProps) {
    super(scope, id);
    const name = props.clusterName;
    this.publicEndpoint = props.publicEndpoint ?? false;
    this.logRetentionDays = props.logRetentionDays ?? 30;
    this.enforceNetworkPolicies = props.enforceNetworkPolicies ?? true;

    const clusterRole = new IamRole(this, 'cluster-role', {
      name: `${name}-cluster`,
      assumeRolePolicy: servicePrincipalTrust(this, 'cluster-trust', 'eks.amazonaws.com', ['sts:AssumeRole', 'sts:TagSession']),
    });
    const clusterPolicy = new IamRolePolicyAttachment(this, 'cluster-policy', {
      role: clusterRole.name,
      policyArn: 'arn:aws:iam::aws:policy/AmazonEKSClusterPolicy',
    });

    this.clusterSecurityGroup = new SecurityGroup(this, 'cluster-sg', {
      name: `${name}-cluster`,
      description: 'EKS control plane network interfaces',
      vpcId: props.vpcId,
      tags: { Name: `${name}-cluster` },
    });
    this.nodeSecurityGroup = new SecurityGroup(this, 'node-sg', {
      name: `${name}-node`,
      description: 'EKS worker nodes',
      vpcId: props.vpcId,
      tags: { Name: `${name}-node`, [`kubernetes.io/cluster/${name}`]: 'owned' },
    });
    const rule = (ruleId: string, sg: SecurityGroup, description: string, from: SecurityGroup, fromPort: number, toPort: number) =>
      new VpcSecurityGroupIngressRule(this, ruleId, {
        securityGroupId: sg.id,
        description,
        referencedSecurityGroupId: from.id,
        ipProtocol: 'tcp',
        fromPort,
        toPort,
      });
    rule('cluster-from-nodes-443', this.clusterSecurityGroup, 'Nodes to the API server', this.nodeSecurityGroup, 443, 443);
    rule('nodes-from-cluster-443', this.nodeSecurityGroup, 'API server to webhooks on nodes', this.clusterSecurityGroup, 443, 443);
    rule('nodes-from-cluster-kubelet', this.nodeSecurityGroup, 'API server to kubelets', this.clusterSecurityGroup, 10250, 10250);
    rule('nodes-from-cluster-webhooks', this.nodeSecurityGroup, 'API server to webhooks on high ports', this.clusterSecurityGroup, 1025, 65535);
    new VpcSecurityGroupIngressRule(this, 'nodes-from-nodes', {
      securityGroupId: this.nodeSecurityGroup.id,
      description: 'Node to node, all protocols (pod networking, CoreDNS)',
      referencedSecurityGroupId: this.nodeSecurityGroup.id,
      ipProtocol: '-1',
    });
    for (const [sgId, sg] of [
      ['cluster-egress', this.clusterSecurityGroup],
      ['nodes-egress', this.nodeSecurityGroup],
    ] as const) {
      new VpcSecurityGroupEgressRule(this, sgId, {
        securityGroupId: sg.id,
        description: 'All egress',
        cidrIpv4: '0.0.0.0/0',
        ipProtocol: '-1',
      });
    }

    const secretsKey = new KmsKey(this, 'secrets-key', {
      description: `${name} Kubernetes Secrets envelope encryption`,
      enableKeyRotation: true,
      deletionWindowInDays: 30,
    });
    const logGroup = new CloudwatchLogGroup(this, 'control-plane-logs', {
      name: `/aws/eks/${name}/cluster`,
      retentionInDays: this.logRetentionDays,
    });

    this.cluster = new AwsEksCluster(this, 'cluster', {
      name,
      version: props.kubernetesVersion,
      roleArn: clusterRole.arn,
      vpcConfig: {
        subnetIds: props.privateSubnetIds,
        securityGroupIds: [this.clusterSecurityGroup.id],
        endpointPrivateAccess: true,
        endpointPublicAccess: this.publicEndpoint,
        publicAccessCidrs: this.publicEndpoint ? (props.publicAccessCidrs ?? ['0.0.0.0/0']) : undefined,
      },
      accessConfig: { authenticationMode: 'API', bootstrapClusterCreatorAdminPermissions: false },
      enabledClusterLogTypes: CONTROL_PLANE_LOG_TYPES,
      encryptionConfig: { resources: ['secrets'], provider: { keyArn: secretsKey.arn } },
      bootstrapSelfManagedAddons: false,
      // After its role may act: a cluster created before AmazonEKSClusterPolicy is attached fails or comes up
      // unable to manage its network interfaces (the provider's docs, terraform-aws-modules/eks).
      dependsOn: [logGroup, clusterPolicy],
    });

    const issuer = this.cluster.identity.get(0).oidc.get(0).issuer;
    this.oidcIssuerHost = Fn.replace(issuer, 'https://', '');
    this.oidcProvider = new IamOpenidConnectProvider(this, 'oidc-provider', {
      url: issuer,
      clientIdList: ['sts.amazonaws.com'],
    });

    this.nodeRole = new IamRole(this, 'node-role', {
      name: `${name}-node`,
      assumeRolePolicy: servicePrincipalTrust(this, 'node-trust', 'ec2.amazonaws.com', ['sts:AssumeRole']),
    });
    for (const policy of [
      'AmazonEKSWorkerNodePolicy',
      'AmazonEKS_CNI_Policy',
      'AmazonEC2ContainerRegistryReadOnly',
      'AmazonSSMManagedInstanceCore',
    ]) {
      this.nodeRolePolicies.push(
        new IamRolePolicyAttachment(this, `node-${policy}`, {
          role: this.nodeRole.name,
          policyArn: `arn:aws:iam::aws:policy/${policy}`,
        }),
      );
    }

    const access = (entryId: string, principalArn: string, policy: string, scope: { type: 'cluster' } | { type: 'namespace'; namespaces: string[] }) => {
      const entry = new EksAccessEntry(this, entryId, { clusterName: this.cluster.name, principalArn, type: 'STANDARD' });
      new EksAccessPolicyAssociation(this, `${entryId}-policy`, {
        clusterName: this.cluster.name,
        principalArn: entry.principalArn,
        policyArn: `arn:aws:eks::aws:cluster-access-policy/${policy}`,
        accessScope: scope,
      });
      this.accessEntries.push(entry);
    };
    (props.adminRoleArns ?? []).forEach((principalArn, i) => access(`admin-${i}`, principalArn, 'AmazonEKSClusterAdminPolicy', { type: 'cluster' }));
    if (props.deployRoleArn) {
      access('deploy', props.deployRoleArn, 'AmazonEKSEditPolicy', { type: 'namespace', namespaces: props.deployNamespaces ?? ['argocd'] });
    }

    const ebsCsiRole = new IrsaRole(this, 'ebs-csi-role', {
      roleName: `${name}-ebs-csi`,
      oidcProviderArn: this.oidcProvider.arn,
      oidcIssuerHost: this.oidcIssuerHost,
      namespace: 'kube-system',
      serviceAccount: 'ebs-csi-controller-sa',
      managedPolicyArns: ['arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy'],
    });
    for (const addon of CLUSTER_ADDONS) {
      this.addons[addon] = new EksAddon(this, `addon-${addon}`, {
        clusterName: this.cluster.name,
        addonName: addon,
        resolveConflictsOnCreate: 'OVERWRITE',
        resolveConflictsOnUpdate: 'PRESERVE',
        serviceAccountRoleArn: addon === 'aws-ebs-csi-driver' ? ebsCsiRole.role.arn : undefined,
        // The VPC CNI's network policy agent: without it, NetworkPolicies are accepted and ignored.
        configurationValues: addon === 'vpc-cni' && this.enforceNetworkPolicies ? JSON.stringify({ enableNetworkPolicy: 'true' }) : undefined,
        // The VPC CNI acts as the node role (AmazonEKS_CNI_Policy); the EBS CSI driver as its IRSA role.
        dependsOn: addon === 'aws-ebs-csi-driver' ? ebsCsiRole.policies : addon === 'vpc-cni' ? this.nodeRolePolicies : undefined,
      });
    }
  }
}

function servicePrincipalTrust(scope: Construct, id: string, service: string, actions: string[]): string {
  return new DataAwsIamPolicyDocument(scope, id, {
    statement: [{ effect: 'Allow', actions, principals: [{ type: 'Service', identifiers: [service] }] }],
  }).json;
}
