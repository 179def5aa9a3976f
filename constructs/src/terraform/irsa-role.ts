import type { ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';
import { DataAwsIamPolicyDocument } from '@cdktf/provider-aws/lib/data-aws-iam-policy-document';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
import { IamRolePolicyAttachment } from '@cdktf/provider-aws/lib/iam-role-policy-attachment';

export interface PolicyStatement {
  readonly actions: string[];
  readonly resources: string[];
  /** IAM conditions, e.g. `{ test: 'StringEquals', variable: 'aws:ResourceTag/owner', values: ['me'] }`. @default [] */
  readonly conditions?: { readonly test: string; readonly variable: string; readonly values: string[] }[];
}

export interface IrsaRoleProps {
  /** IAM role name; the Kubernetes side derives the role ARN from it, so keep it stable. */
  readonly roleName: string;
  /** ARN of the cluster's IAM OIDC provider. */
  readonly oidcProviderArn: string;
  /** The OIDC issuer without `https://`. */
  readonly oidcIssuerHost: string;
  /** Namespace of the Kubernetes service account allowed to assume the role. */
  readonly namespace: string;
  /** Name of that service account. */
  readonly serviceAccount: string;
  /**
   * What the role may do; nothing else is granted.
   * @default []
   */
  readonly statements?: PolicyStatement[];
  /**
   * AWS managed policies attached as they are.
   * @default []
   */
  readonly managedPolicyArns?: string[];
}

/** An IAM role for one Kubernetes service account (IRSA), least privilege by construction. */
export class IrsaRole extends Construct {
  readonly role: IamRole;
  readonly subject: string;
  /** The role's policies: whatever acts as the role is created after them (`depends_on`). */
  readonly policies: ITerraformDependable[] = [];

  constructor(scope: Construct, id: string, props: IrsaRoleProps) {
    super(scope, id);
    const statements = props.statements ?? [];
    const managedPolicyArns = props.managedPolicyArns ?? [];
    if (statements.length === 0 && managedPolicyArns.length === 0) {
      throw new Error(`${this.node.path}: statements or managedPolicyArns must grant something, got neither`);
    }
    this.subject = `system:serviceaccount:${props.namespace}:${props.serviceAccount}`;
    const trust = new DataAwsIamPolicyDocument(this, 'trust', {
      statement: [
        {
          effect: 'Allow',
          actions: ['sts:AssumeRoleWithWebIdentity'],
          principals: [{ type: 'Federated', identifiers: [props.oidcProviderArn] }],
          condition: [
            { test: 'StringEquals', variable: `${props.oidcIssuerHost}:sub`, values: [this.subject] },
            { test: 'StringEquals', variable: `${props.oidcIssuerHost}:aud`, values: ['sts.amazonaws.com'] },
          ],
        },
      ],
    });
    this.role = new IamRole(this, 'role', { name: props.roleName, assumeRolePolicy: trust.json });
    if (statements.length > 0) {
      const permissions = new DataAwsIamPolicyDocument(this, 'permissions', {
        statement: statements.map((s) => ({
          effect: 'Allow',
          actions: s.actions,
          resources: s.resources,
          condition: s.conditions?.map((c) => ({ test: c.test, variable: c.variable, values: c.values })),
        })),
      });
      this.policies.push(new IamRolePolicy(this, 'policy', { name: 'permissions', role: this.role.name, policy: permissions.json }));
    }
    managedPolicyArns.forEach((policyArn, i) => {
      this.policies.push(new IamRolePolicyAttachment(this, `managed-${i}`, { role: this.role.name, policyArn }));
    });
  }
}
