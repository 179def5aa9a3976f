import { z } from 'zod';

/** Build metadata a client may attach to a run (evalctl sends what it detected in CI). */
export const buildSchema = z
  .object({
    ci: z.string().max(100).nullable().optional(),
    git_sha: z.string().max(100).nullable().optional(),
    branch: z.string().max(300).nullable().optional(),
    pull_request: z.string().max(100).nullable().optional(),
    build_id: z.string().max(200).nullable().optional(),
    build_url: z.string().max(2_000).nullable().optional(),
  })
  .strict();

/** Where a run's code came from; attached to every run and report, every field present (null when unknown). */
export type BuildMetadata = { [K in keyof z.infer<typeof buildSchema>]-?: string | null };

export const UNKNOWN_BUILD: Readonly<BuildMetadata> = { ci: null, git_sha: null, branch: null, pull_request: null, build_id: null, build_url: null };
