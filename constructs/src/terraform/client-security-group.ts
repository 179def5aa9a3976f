import { Construct } from 'constructs';
import { SecurityGroup } from '@cdktf/provider-aws/lib/security-group';
import { VpcSecurityGroupIngressRule } from '@cdktf/provider-aws/lib/vpc-security-group-ingress-rule';

export interface ClientSecurityGroupOptions {
  readonly name: string;
  readonly description: string;
  readonly vpcId: string;
  /** The only source allowed in (the EKS nodes). */
  readonly clientSecurityGroupId: string;
  /** TCP ports opened to it, each with what it serves. */
  readonly ports: readonly (readonly [number, string])[];
}

/** A data store's security group: the given TCP ports from one client security group, nothing else. */
export function clientSecurityGroup(scope: Construct, id: string, options: ClientSecurityGroupOptions): SecurityGroup {
  const group = new SecurityGroup(scope, id, {
    name: options.name,
    description: options.description,
    vpcId: options.vpcId,
    tags: { Name: options.name },
  });
  for (const [port, what] of options.ports) {
    new VpcSecurityGroupIngressRule(scope, `${id}-clients-${port}`, {
      securityGroupId: group.id,
      description: `${what} from EKS nodes`,
      referencedSecurityGroupId: options.clientSecurityGroupId,
      ipProtocol: 'tcp',
      fromPort: port,
      toPort: port,
    });
  }
  return group;
}
