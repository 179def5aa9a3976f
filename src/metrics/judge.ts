import { z } from 'zod';
import type { LlmGateway } from '../providers/llm-gateway';
import { addUsd } from '../providers/pricing';
import type { ChatRequest, ModelSettings, TokenLogprob } from '../providers/types';
import { parseJsonReply } from './json-reply';

/** A judge reply that stayed unparsable after the retries; the raw reply is kept for the report. */
export class JudgeReplyError extends Error {
  constructor(
    message: string,
    readonly rawReply: string,
  ) {
    super(message);
    this.name = 'JudgeReplyError';
  }
}

/** Tokens and cost one metric evaluation spent on its judge. */
export class JudgeMeter {
  inputTokens = 0;
  outputTokens = 0;
  costUsd: number | null = 0;
  calls = 0;
}

export interface JudgeAnswer<T> {
  readonly value: T;
  readonly logprobs?: readonly TokenLogprob[];
  /** The reply's text, to locate a value's tokens in `logprobs`. */
  readonly text: string;
}

/** Attempts to get a reply that parses and matches the schema before the case is marked errored. */
export const JUDGE_PARSE_ATTEMPTS = 3;

/**
 * An LLM-as-judge bound to one model and one meter. Every question carries its JSON schema in the request
 * (structured output); the reply is still read tolerantly and checked against the zod schema.
 */
export class Judge {
  constructor(
    private readonly gateway: LlmGateway,
    readonly settings: ModelSettings | undefined,
    readonly meter: JudgeMeter = new JudgeMeter(),
  ) {}

  /** A judge on the same model with a fresh meter, for one metric evaluation. */
  metered(): Judge {
    return new Judge(this.gateway, this.settings, new JudgeMeter());
  }

  async ask<T>(
    question: { name: string; system: string; prompt: string; schema: z.ZodType<T>; logprobs?: boolean },
  ): Promise<JudgeAnswer<T>> {
    if (!this.settings) throw new Error('this metric needs an LLM judge: add `judge:` (provider and model) to the suite');
    const request: ChatRequest = {
      system: question.system,
      messages: [{ role: 'user', content: question.prompt }],
      responseSchema: { name: question.name, schema: toStrictJsonSchema(question.schema) },
      logprobs: question.logprobs,
    };
    let lastRaw = '';
    let lastProblem = '';
    for (let attempt = 1; attempt <= JUDGE_PARSE_ATTEMPTS; attempt++) {
      // Retries of an unparsable reply must not come back from the response cache: vary the request.
      const call = await this.gateway.chat(
        this.settings,
        attempt === 1 ? request : { ...request, messages: [...request.messages, { role: 'user', content: `(attempt ${attempt}: reply with JSON only)` }] },
      );
      this.meter.calls++;
      this.meter.inputTokens += call.usage.inputTokens + call.usage.cachedInputTokens;
      this.meter.outputTokens += call.usage.outputTokens;
      this.meter.costUsd = addUsd(this.meter.costUsd, call.costUsd);
      lastRaw = call.response.text;
      const candidate = call.response.structured ?? parseJsonReply(call.response.text);
      if (candidate === undefined) {
        lastProblem = 'the reply is not JSON';
        continue;
      }
      const parsed = question.schema.safeParse(candidate);
      if (parsed.success) return { value: parsed.data, logprobs: call.response.logprobs, text: call.response.text };
      lastProblem = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ');
    }
    throw new JudgeReplyError(
      `judge ${this.settings.provider}/${this.settings.model} gave no usable ${question.name} reply in ${JUDGE_PARSE_ATTEMPTS} attempts (${lastProblem})`,
      lastRaw,
    );
  }
}

const questionSchemas = new Map<string, z.ZodType>();

/**
 * A judge question's schema, built once per key (its shape: values, count, range): schemas, and the JSON form
 * toStrictJsonSchema keeps for each, are reused across cases instead of rebuilt per question.
 */
export function questionSchema<T>(key: string, build: () => z.ZodType<T>): z.ZodType<T> {
  let schema = questionSchemas.get(key) as z.ZodType<T> | undefined;
  if (!schema) questionSchemas.set(key, (schema = build()));
  return schema;
}

const jsonSchemas = new WeakMap<z.ZodType, Record<string, unknown>>();

/**
 * JSON schema for structured output: every property required and no extras, as OpenAI's strict mode demands.
 * Converted once per zod schema: conversion costs more than the rest of a judge call's CPU.
 */
export function toStrictJsonSchema(schema: z.ZodType): Record<string, unknown> {
  let json = jsonSchemas.get(schema);
  if (!json) {
    json = z.toJSONSchema(schema, { target: 'draft-7', io: 'output' }) as Record<string, unknown>;
    delete json.$schema;
    jsonSchemas.set(schema, json);
  }
  return json;
}
