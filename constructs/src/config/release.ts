import { z } from 'zod';

/**
 * A release: the images one build of the repository produced, as the release workflow records them after it
 * pushed them. The GitOps publish synthesizes the environments that follow main with the record of the build
 * that just passed; an environment pinned to a release (prod) carries its record in the repository, so a
 * promotion is a reviewed commit that replaces that one record, never a rebuild.
 */
export const RELEASE_SCHEMA = 'ai-eval-platform/release/v1';
/** The tag of the images when no release is known (local synth): clearly not an image anyone pushed. */
export const UNRELEASED_TAG = 'unreleased';
/** The images a release holds: the Dockerfile's targets. */
export const RELEASE_IMAGES = ['orchestrator', 'worker'] as const;
export type ReleaseImage = (typeof RELEASE_IMAGES)[number];

/** An image digest as a release records it and a production workload must pin it. */
export const IMAGE_DIGEST = /^sha256:[a-f0-9]{64}$/;
const digest = z.string().regex(IMAGE_DIGEST, 'sha256:<64 hex digits>');
const imageRecord = z.strictObject({
  /** Where the build pushed it, e.g. `<account>.dkr.ecr.<region>.amazonaws.com/ai-eval-platform-dev/worker`. */
  repository: z.string().regex(/^[a-z0-9.-]+(:\d+)?(\/[a-z0-9._-]+)+$/, 'a registry host and repository path, without tag or digest'),
  digest,
});

export const releaseRecordSchema = z.strictObject({
  schema: z.literal(RELEASE_SCHEMA),
  /** The full git commit the images were built from; every image carries it as its tag. */
  commit: z.string().regex(/^[0-9a-f]{40}$/, 'a full 40-character git commit SHA'),
  /** The version, on a build of a version tag (`v1.2.3` gives `1.2.3`); the images carry it as a second tag. */
  version: z.string().regex(/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/, 'a semantic version such as 1.2.3').optional(),
  builtAt: z.iso.datetime({ offset: true }),
  images: z.strictObject({ orchestrator: imageRecord, worker: imageRecord }),
});

export type ReleaseRecord = z.output<typeof releaseRecordSchema>;

/** A release record that cannot be used; lists every problem as `<source>: <field>: <message>`. */
export class ReleaseRecordError extends Error {
  constructor(
    readonly source: string,
    readonly problems: readonly string[],
  ) {
    super(`invalid release record ${source}:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ReleaseRecordError';
  }
}

/** Parses and validates a release record's JSON text; `source` (its file) names it in every error. */
export function parseReleaseRecord(text: string, source: string): ReleaseRecord {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ReleaseRecordError(source, [`not JSON: ${(error as Error).message}`]);
  }
  return validateReleaseRecord(value, source);
}

export function validateReleaseRecord(value: unknown, source: string): ReleaseRecord {
  const parsed = releaseRecordSchema.safeParse(value);
  if (!parsed.success) {
    throw new ReleaseRecordError(
      source,
      parsed.error.issues.map((issue) => `${issue.path.map(String).join('.') || '(root)'}: ${issue.message}`),
    );
  }
  return parsed.data;
}

/** `repository:tag@digest`: the tag says which build it is, the digest is what the node pulls. */
export function releaseImageReference(repository: string, tag: string, digestValue?: string): string {
  return digestValue ? `${repository}:${tag}@${digestValue}` : `${repository}:${tag}`;
}
