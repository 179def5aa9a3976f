import type { ModelSettings } from '../providers/types';

/**
 * OpenAI models known to return token log-probs, the ones g_eval asks for them: DeepEval's table
 * (`deepeval/models/llms/constants.py` at DEEPEVAL_SOURCE, the OpenAI models with `supports_log_probs=True`). Reasoning models
 * (o1, o3, o4, gpt-5 and later minis) refuse the parameter, and Anthropic's API has none. A judge outside the
 * table (a vLLM or Ollama server behind an OpenAI-compatible URL, a newer model) gets them with
 * `judge.logprobs: true`; `false` turns them off for a listed one.
 */
export const LOGPROB_MODELS: ReadonlySet<string> = new Set([
  'gpt-3.5-turbo',
  'gpt-3.5-turbo-0125',
  'gpt-3.5-turbo-1106',
  'gpt-4',
  'gpt-4-0125-preview',
  'gpt-4-1106-preview',
  'gpt-4-32k',
  'gpt-4-32k-0613',
  'gpt-4-turbo',
  'gpt-4-turbo-2024-04-09',
  'gpt-4-turbo-preview',
  'gpt-4.1',
  'gpt-4.1-mini',
  'gpt-4.1-nano',
  'gpt-4o',
  'gpt-4o-2024-05-13',
  'gpt-4o-2024-08-06',
  'gpt-4o-2024-11-20',
  'gpt-4o-mini',
  'gpt-4o-mini-2024-07-18',
  'gpt-5.4',
  'gpt-5.4-2026-03-05',
]);

/** Whether a judge is asked for log-probs: its `logprobs` setting, else whether the table lists its OpenAI model. */
export function wantsLogprobs(settings: Pick<ModelSettings, 'provider' | 'model' | 'logprobs'> | undefined): boolean {
  if (!settings || settings.provider !== 'openai') return false;
  return settings.logprobs ?? LOGPROB_MODELS.has(settings.model);
}
