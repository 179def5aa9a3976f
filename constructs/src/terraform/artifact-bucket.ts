import { Construct } from 'constructs';
import { DataAwsIamPolicyDocument } from '@cdktf/provider-aws/lib/data-aws-iam-policy-document';
import { S3Bucket } from '@cdktf/provider-aws/lib/s3-bucket';
import { S3BucketLifecycleConfiguration } from '@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration';
import { S3BucketOwnershipControls } from '@cdktf/provider-aws/lib/s3-bucket-ownership-controls';
import { S3BucketPolicy } from '@cdktf/provider-aws/lib/s3-bucket-policy';
import { S3BucketPublicAccessBlock } from '@cdktf/provider-aws/lib/s3-bucket-public-access-block';
import { S3BucketServerSideEncryptionConfigurationA } from '@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration';
import { S3BucketVersioningA } from '@cdktf/provider-aws/lib/s3-bucket-versioning';

/**
 * What every bucket of the platform gets: versioning, SSE-KMS with a bucket key (under `kmsKeyArn`, else S3's
 * AWS-managed key), public access blocked, owner-enforced objects and a policy refusing requests without TLS.
 * Its resources are named `<idPrefix>versioning`, `<idPrefix>encryption`, … in `scope`.
 */
export function protectBucket(scope: Construct, bucket: S3Bucket, options: { idPrefix?: string; kmsKeyArn?: string } = {}): void {
  const id = (name: string) => `${options.idPrefix ?? ''}${name}`;
  new S3BucketVersioningA(scope, id('versioning'), {
    bucket: bucket.id,
    versioningConfiguration: { status: 'Enabled' },
  });
  new S3BucketServerSideEncryptionConfigurationA(scope, id('encryption'), {
    bucket: bucket.id,
    rule: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: 'aws:kms', ...(options.kmsKeyArn ? { kmsMasterKeyId: options.kmsKeyArn } : {}) }, bucketKeyEnabled: true }],
  });
  new S3BucketPublicAccessBlock(scope, id('public-access-block'), {
    bucket: bucket.id,
    blockPublicAcls: true,
    blockPublicPolicy: true,
    ignorePublicAcls: true,
    restrictPublicBuckets: true,
  });
  new S3BucketOwnershipControls(scope, id('ownership'), {
    bucket: bucket.id,
    rule: { objectOwnership: 'BucketOwnerEnforced' },
  });
  new S3BucketPolicy(scope, id('tls-only'), {
    bucket: bucket.id,
    policy: new DataAwsIamPolicyDocument(scope, id('tls-only-policy'), {
      statement: [
        {
          sid: 'DenyInsecureTransport',
          effect: 'Deny',
          actions: ['s3:*'],
          principals: [{ type: '*', identifiers: ['*'] }],
          resources: [bucket.arn, `${bucket.arn}/*`],
          condition: [{ test: 'Bool', variable: 'aws:SecureTransport', values: ['false'] }],
        },
      ],
    }).json,
  });
}

export interface ArtifactBucketProps {
  /** Globally unique bucket name. */
  readonly bucketName: string;
  /**
   * Current objects move to STANDARD_IA after this many days.
   * @default 30
   */
  readonly transitionToInfrequentAccessDays?: number;
  /**
   * Noncurrent versions are deleted after this many days.
   * @default 90
   */
  readonly expireNoncurrentVersionsDays?: number;
  /**
   * Incomplete multipart uploads are aborted after this many days.
   * @default 7
   */
  readonly abortIncompleteUploadsDays?: number;
  /**
   * Keep the bucket (and its objects) when the stack is destroyed.
   * @default true
   */
  readonly retainOnDestroy?: boolean;
}

/**
 * The artifact bucket (reports, datasets, traces): versioned, KMS-encrypted, public access blocked,
 * bucket-owner-enforced, TLS-only, with lifecycle rules for old versions and unfinished uploads.
 */
export class ArtifactBucket extends Construct {
  readonly bucket: S3Bucket;
  readonly transitionToInfrequentAccessDays: number;
  readonly expireNoncurrentVersionsDays: number;
  readonly abortIncompleteUploadsDays: number;

  constructor(scope: Construct, id: string, props: ArtifactBucketProps) {
    super(scope, id);
    this.transitionToInfrequentAccessDays = props.transitionToInfrequentAccessDays ?? 30;
    this.expireNoncurrentVersionsDays = props.expireNoncurrentVersionsDays ?? 90;
    this.abortIncompleteUploadsDays = props.abortIncompleteUploadsDays ?? 7;
    if (this.transitionToInfrequentAccessDays < 30) {
      throw new Error(
        `${this.node.path}: transitionToInfrequentAccessDays (${this.transitionToInfrequentAccessDays}) must be >= 30 (an S3 minimum for STANDARD_IA)`,
      );
    }
    const retain = props.retainOnDestroy ?? true;
    this.bucket = new S3Bucket(this, 'bucket', {
      bucket: props.bucketName,
      forceDestroy: !retain,
      lifecycle: { preventDestroy: retain },
    });
    protectBucket(this, this.bucket);
    new S3BucketLifecycleConfiguration(this, 'lifecycle', {
      bucket: this.bucket.id,
      rule: [
        {
          id: 'tiering-and-old-versions',
          status: 'Enabled',
          filter: [{ prefix: '' }],
          transition: [{ days: this.transitionToInfrequentAccessDays, storageClass: 'STANDARD_IA' }],
          noncurrentVersionExpiration: [{ noncurrentDays: this.expireNoncurrentVersionsDays }],
          abortIncompleteMultipartUpload: [{ daysAfterInitiation: this.abortIncompleteUploadsDays }],
        },
      ],
    });
  }
}
