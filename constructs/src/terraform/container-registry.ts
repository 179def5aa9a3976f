import { Construct } from 'constructs';
import { DataAwsIamPolicyDocument } from '@cdktf/provider-aws/lib/data-aws-iam-policy-document';
import { EcrLifecyclePolicy } from '@cdktf/provider-aws/lib/ecr-lifecycle-policy';
import { EcrRepository } from '@cdktf/provider-aws/lib/ecr-repository';
import { EcrRepositoryPolicy } from '@cdktf/provider-aws/lib/ecr-repository-policy';

export interface ContainerRegistryProps {
  /** Repository names, e.g. `{ orchestrator: 'ai-eval-platform-dev/orchestrator' }`. */
  readonly repositories: Record<string, string>;
  /** IAM roles that may pull (the EKS node role). */
  readonly pullRoleArns: string[];
  /** The one IAM role that may push: CI's release role, or in an environment images are promoted into, the promotion role. */
  readonly pushRoleArn: string;
  /**
   * Images tagged only with a git SHA (builds of main, or promotions of them) kept per repository, newest
   * first; older ones expire. Images with a version tag (`1.2.3`, `v1.2.3`) never expire.
   * @default 30
   */
  readonly keepBuilds?: number;
  /**
   * Untagged images (left by a re-push or an interrupted one) expire after this many days.
   * @default 7
   */
  readonly untaggedExpiryDays?: number;
  /**
   * Keep the repositories, and the images prod runs, when the stack is destroyed.
   * @default true
   */
  readonly retainOnDestroy?: boolean;
}

/** ECR's actions that write an image or a tag; only the push role may call them. */
export const ECR_PUSH_ACTIONS = ['ecr:PutImage', 'ecr:InitiateLayerUpload', 'ecr:UploadLayerPart', 'ecr:CompleteLayerUpload', 'ecr:BatchDeleteImage'];
export const ECR_PULL_ACTIONS = ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchCheckLayerAvailability'];

/** The lifecycle rules of a repository: version tags kept, the last `keepBuilds` builds kept, untagged images expired. */
export function ecrLifecycleRules(keepBuilds: number, untaggedExpiryDays: number): object {
  return {
    rules: [
      {
        // An image a rule matches cannot be expired by a lower-priority rule: version-tagged images are held
        // here (the count is a ceiling no repository reaches), so rule 3 never counts or expires them.
        rulePriority: 1,
        description: 'Releases with a version tag are kept',
        selection: { tagStatus: 'tagged', tagPatternList: ['*.*.*'], countType: 'imageCountMoreThan', countNumber: 10000 },
        action: { type: 'expire' },
      },
      {
        rulePriority: 2,
        description: `Untagged images expire after ${untaggedExpiryDays} days`,
        selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: untaggedExpiryDays },
        action: { type: 'expire' },
      },
      {
        rulePriority: 3,
        description: `The last ${keepBuilds} builds (git SHA tags) are kept`,
        selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: keepBuilds },
        action: { type: 'expire' },
      },
    ],
  };
}

/**
 * The ECR repositories an environment's Deployments pull from: tags immutable (a tag names one digest
 * forever), scanned on push, encrypted with KMS, pull for the node role and push for one role only (an
 * explicit deny for every other principal), and a lifecycle that keeps what an environment may still run.
 */
export class ContainerRegistry extends Construct {
  readonly repositories: Record<string, EcrRepository> = {};
  readonly keepBuilds: number;

  constructor(scope: Construct, id: string, props: ContainerRegistryProps) {
    super(scope, id);
    this.keepBuilds = props.keepBuilds ?? 30;
    const untaggedExpiryDays = props.untaggedExpiryDays ?? 7;
    if (!Number.isInteger(this.keepBuilds) || this.keepBuilds < 1) throw new Error(`${this.node.path}: keepBuilds (${this.keepBuilds}) must be a whole number >= 1`);
    if (props.pullRoleArns.length === 0) throw new Error(`${this.node.path}: pullRoleArns must name the node role`);
    const retain = props.retainOnDestroy ?? true;
    const lifecycle = JSON.stringify(ecrLifecycleRules(this.keepBuilds, untaggedExpiryDays));
    for (const [key, name] of Object.entries(props.repositories)) {
      const repository = new EcrRepository(this, key, {
        name,
        imageTagMutability: 'IMMUTABLE',
        imageScanningConfiguration: { scanOnPush: true },
        encryptionConfiguration: [{ encryptionType: 'KMS' }],
        forceDelete: !retain,
        lifecycle: { preventDestroy: retain },
      });
      this.repositories[key] = repository;
      new EcrLifecyclePolicy(this, `${key}-lifecycle`, { repository: repository.name, policy: lifecycle });
      const policy = new DataAwsIamPolicyDocument(this, `${key}-access`, {
        statement: [
          {
            sid: 'PullByNodes',
            effect: 'Allow',
            principals: [{ type: 'AWS', identifiers: props.pullRoleArns }],
            actions: ECR_PULL_ACTIONS,
          },
          {
            sid: 'PushByRelease',
            effect: 'Allow',
            principals: [{ type: 'AWS', identifiers: [props.pushRoleArn] }],
            actions: [...ECR_PULL_ACTIONS, ...ECR_PUSH_ACTIONS.filter((a) => a !== 'ecr:BatchDeleteImage')],
          },
          {
            // Identity policies of the same account (an admin's AdministratorAccess, say) would also allow a
            // push: the deny holds for every principal but the release role. Lifecycle expiry is ECR's own.
            sid: 'NoOtherWriter',
            effect: 'Deny',
            principals: [{ type: 'AWS', identifiers: ['*'] }],
            actions: ECR_PUSH_ACTIONS,
            condition: [{ test: 'ArnNotEquals', variable: 'aws:PrincipalArn', values: [props.pushRoleArn] }],
          },
        ],
      });
      new EcrRepositoryPolicy(this, `${key}-policy`, { repository: repository.name, policy: policy.json });
    }
  }
}
