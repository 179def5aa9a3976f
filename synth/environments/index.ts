import { resolveEnvironment, type EnvironmentConfig, type EnvironmentInput } from '@ai-eval-platform/constructs';
import { withReleases, type ReleaseSources } from '../releases';
import { dev } from './dev';
import { prod } from './prod';

/** Every environment this repository deploys. To add one, write its file and list it here. */
export const environments: readonly EnvironmentInput[] = [dev, prod];

/**
 * Validates every environment (or the one named), each with the release it runs (synth/releases.ts); fails
 * with every problem at once.
 */
export function loadEnvironments(only?: string, releases: ReleaseSources = {}): EnvironmentConfig[] {
  const selected = only ? environments.filter((env) => env.name === only) : environments;
  if (only && selected.length === 0) {
    throw new Error(`unknown environment "${only}": expected one of ${environments.map((e) => e.name).join(', ')}`);
  }
  return withReleases(selected, releases).map(resolveEnvironment);
}
