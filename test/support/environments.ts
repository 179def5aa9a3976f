import { resolveEnvironment, type EnvironmentConfig, type EnvironmentInput, overrideEnvironment, type EnvironmentOverrides } from '@ai-eval-platform/constructs';
import { dev } from '../../synth/environments/dev';
import { prod } from '../../synth/environments/prod';

/** The repository's dev or prod environment with overrides layered on, validated. */
export function environment(name: 'dev' | 'prod', overrides: EnvironmentOverrides = {}): EnvironmentConfig {
  return resolveEnvironment(overrideEnvironment(name === 'dev' ? dev : prod, overrides));
}

export function rawEnvironment(name: 'dev' | 'prod'): EnvironmentInput {
  return structuredClone(name === 'dev' ? dev : prod) as EnvironmentInput;
}
