import { execFileSync } from 'node:child_process';
import { UNKNOWN_BUILD, type BuildMetadata } from './contracts/build';

const firstSet = (...values: Array<string | undefined>): string | null => values.find((v) => v !== undefined && v !== '') ?? null;

/**
 * Reads build metadata from the CI's own variables (GitHub Actions, GitLab CI, Buildkite, CircleCI, Jenkins),
 * overridable with EVAL_GIT_SHA / EVAL_BRANCH / EVAL_PULL_REQUEST / EVAL_BUILD_ID; outside CI, from git.
 */
export function detectBuildMetadata(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): BuildMetadata {
  let detected: BuildMetadata = { ...UNKNOWN_BUILD };
  if (env.GITHUB_ACTIONS === 'true') {
    const pr = /^refs\/pull\/(\d+)\//.exec(env.GITHUB_REF ?? '');
    detected = {
      ci: 'github-actions',
      git_sha: firstSet(env.GITHUB_SHA),
      branch: firstSet(env.GITHUB_HEAD_REF, env.GITHUB_REF_NAME),
      pull_request: pr ? pr[1] : null,
      build_id: firstSet(env.GITHUB_RUN_ID),
      build_url:
        env.GITHUB_SERVER_URL && env.GITHUB_REPOSITORY && env.GITHUB_RUN_ID
          ? `${env.GITHUB_SERVER_URL}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}`
          : null,
    };
  } else if (env.GITLAB_CI === 'true') {
    detected = {
      ci: 'gitlab-ci',
      git_sha: firstSet(env.CI_COMMIT_SHA),
      branch: firstSet(env.CI_MERGE_REQUEST_SOURCE_BRANCH_NAME, env.CI_COMMIT_REF_NAME),
      pull_request: firstSet(env.CI_MERGE_REQUEST_IID),
      build_id: firstSet(env.CI_PIPELINE_ID),
      build_url: firstSet(env.CI_PIPELINE_URL),
    };
  } else if (env.BUILDKITE === 'true') {
    detected = {
      ci: 'buildkite',
      git_sha: firstSet(env.BUILDKITE_COMMIT),
      branch: firstSet(env.BUILDKITE_BRANCH),
      pull_request: env.BUILDKITE_PULL_REQUEST && env.BUILDKITE_PULL_REQUEST !== 'false' ? env.BUILDKITE_PULL_REQUEST : null,
      build_id: firstSet(env.BUILDKITE_BUILD_NUMBER),
      build_url: firstSet(env.BUILDKITE_BUILD_URL),
    };
  } else if (env.CIRCLECI === 'true') {
    detected = {
      ci: 'circleci',
      git_sha: firstSet(env.CIRCLE_SHA1),
      branch: firstSet(env.CIRCLE_BRANCH),
      pull_request: firstSet(/\/pull\/(\d+)/.exec(env.CIRCLE_PULL_REQUEST ?? '')?.[1]),
      build_id: firstSet(env.CIRCLE_BUILD_NUM),
      build_url: firstSet(env.CIRCLE_BUILD_URL),
    };
  } else if (env.JENKINS_URL) {
    detected = {
      ci: 'jenkins',
      git_sha: firstSet(env.GIT_COMMIT),
      branch: firstSet(env.CHANGE_BRANCH, env.BRANCH_NAME, env.GIT_BRANCH),
      pull_request: firstSet(env.CHANGE_ID),
      build_id: firstSet(env.BUILD_ID),
      build_url: firstSet(env.BUILD_URL),
    };
  } else if (env.CI) {
    detected.ci = 'unknown';
  }
  if (!detected.git_sha) detected.git_sha = git(['rev-parse', 'HEAD'], cwd);
  if (!detected.branch) {
    const branch = git(['rev-parse', '--abbrev-ref', 'HEAD'], cwd);
    detected.branch = branch === 'HEAD' ? null : branch;
  }
  return {
    ...detected,
    git_sha: firstSet(env.EVAL_GIT_SHA) ?? detected.git_sha,
    branch: firstSet(env.EVAL_BRANCH) ?? detected.branch,
    pull_request: firstSet(env.EVAL_PULL_REQUEST) ?? detected.pull_request,
    build_id: firstSet(env.EVAL_BUILD_ID) ?? detected.build_id,
  };
}

function git(args: string[], cwd: string): string | null {
  try {
    return execFileSync('git', args, { cwd, stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }).toString().trim() || null;
  } catch {
    // Not a repository, or git missing: the field stays empty.
    return null;
  }
}
