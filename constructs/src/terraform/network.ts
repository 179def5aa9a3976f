import { Fn } from 'cdktf';
import { Construct } from 'constructs';
import { DataAwsAvailabilityZones } from '@cdktf/provider-aws/lib/data-aws-availability-zones';
import { Eip } from '@cdktf/provider-aws/lib/eip';
import { InternetGateway } from '@cdktf/provider-aws/lib/internet-gateway';
import { NatGateway } from '@cdktf/provider-aws/lib/nat-gateway';
import { RouteTable } from '@cdktf/provider-aws/lib/route-table';
import { RouteTableAssociation } from '@cdktf/provider-aws/lib/route-table-association';
import { Subnet } from '@cdktf/provider-aws/lib/subnet';
import { Vpc } from '@cdktf/provider-aws/lib/vpc';

export interface NetworkProps {
  /** Name prefix of every resource, and the EKS cluster the subnets are tagged for. */
  readonly clusterName: string;
  /** IPv4 CIDR of the VPC; public subnets take /20s from its bottom, private ones /19s from its top half. */
  readonly vpcCidr: string;
  /**
   * Availability zones to spread subnets over.
   * @default 3
   */
  readonly azCount?: number;
  /**
   * One NAT gateway for the VPC instead of one per AZ: cheaper, but an AZ outage cuts egress.
   * @default false
   */
  readonly singleNatGateway?: boolean;
}

/** A VPC across several AZs with public and private subnets, NAT, and the tags EKS load balancers need. */
export class Network extends Construct {
  readonly vpc: Vpc;
  readonly publicSubnetIds: string[];
  readonly privateSubnetIds: string[];
  /** The AZ of the subnets with the same index. */
  readonly availabilityZones: string[] = [];
  readonly azCount: number;
  readonly singleNatGateway: boolean;

  constructor(scope: Construct, id: string, props: NetworkProps) {
    super(scope, id);
    this.azCount = props.azCount ?? 3;
    this.singleNatGateway = props.singleNatGateway ?? false;
    if (this.azCount < 2 || this.azCount > 3) {
      throw new Error(`${this.node.path}: azCount (${this.azCount}) must be 2 or 3`);
    }
    const name = props.clusterName;
    const clusterTag = { [`kubernetes.io/cluster/${name}`]: 'shared' };

    const zones = new DataAwsAvailabilityZones(this, 'zones', {
      state: 'available',
      filter: [{ name: 'opt-in-status', values: ['opt-in-not-required'] }],
    });
    this.vpc = new Vpc(this, 'vpc', {
      cidrBlock: props.vpcCidr,
      enableDnsHostnames: true,
      enableDnsSupport: true,
      tags: { Name: name },
    });
    const igw = new InternetGateway(this, 'igw', { vpcId: this.vpc.id, tags: { Name: name } });
    const publicRoutes = new RouteTable(this, 'public-routes', {
      vpcId: this.vpc.id,
      route: [{ cidrBlock: '0.0.0.0/0', gatewayId: igw.id }],
      tags: { Name: `${name}-public` },
    });

    const publicSubnets: Subnet[] = [];
    const natGateways: NatGateway[] = [];
    this.privateSubnetIds = [];
    for (let i = 0; i < this.azCount; i++) {
      const az = Fn.element(zones.names, i);
      this.availabilityZones.push(az);
      const publicSubnet = new Subnet(this, `public-${i}`, {
        vpcId: this.vpc.id,
        availabilityZone: az,
        cidrBlock: Fn.cidrsubnet(props.vpcCidr, 4, i),
        mapPublicIpOnLaunch: false,
        tags: { Name: `${name}-public-${i}`, 'kubernetes.io/role/elb': '1', ...clusterTag },
      });
      new RouteTableAssociation(this, `public-${i}-routes`, { subnetId: publicSubnet.id, routeTableId: publicRoutes.id });
      publicSubnets.push(publicSubnet);

      if (!this.singleNatGateway || i === 0) {
        const eip = new Eip(this, `nat-${i}-ip`, { domain: 'vpc', tags: { Name: `${name}-nat-${i}` } });
        natGateways.push(
          new NatGateway(this, `nat-${i}`, {
            allocationId: eip.id,
            subnetId: publicSubnet.id,
            tags: { Name: `${name}-nat-${i}` },
            dependsOn: [igw],
          }),
        );
      }
      const nat = natGateways[this.singleNatGateway ? 0 : i];
      const privateRoutes = new RouteTable(this, `private-${i}-routes`, {
        vpcId: this.vpc.id,
        route: [{ cidrBlock: '0.0.0.0/0', natGatewayId: nat.id }],
        tags: { Name: `${name}-private-${i}` },
      });
      // Private subnets are /19s in the upper half of the /16: room for many pods with the VPC CNI.
      const privateSubnet = new Subnet(this, `private-${i}`, {
        vpcId: this.vpc.id,
        availabilityZone: az,
        cidrBlock: Fn.cidrsubnet(props.vpcCidr, 3, 4 + i),
        tags: { Name: `${name}-private-${i}`, 'kubernetes.io/role/internal-elb': '1', ...clusterTag },
      });
      new RouteTableAssociation(this, `private-${i}-routes-association`, {
        subnetId: privateSubnet.id,
        routeTableId: privateRoutes.id,
      });
      this.privateSubnetIds.push(privateSubnet.id);
    }
    this.publicSubnetIds = publicSubnets.map((subnet) => subnet.id);
  }
}
