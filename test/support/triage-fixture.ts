import type { Report } from '../../src/contracts/report';
import { runSuites } from '../../src/runner/run-suites';
import { expandMatrix, resolveSuite } from '../../src/suite/load';
import { FAST_RETRY, fakeEnv } from './engine';
import { echoTruths, type FakeLlmServer, type FakeReply, type FakeRequest } from './fake-llm-server';

/**
 * The reports an ML engineer triages a regression with, made by the real engine against the fake LLM server
 * (the official SDKs over HTTP): a 30-case RAG support suite on main and on a branch that breaks it, and the
 * same suite as a matrix of two models. The branch's retrieval context says "Mars" for the cases it breaks, and
 * the faithfulness judge finds the answer's warehouse claim contradicted there.
 */
export const TRIAGE_CASES = 30;
const LOCALES = ['en-GB', 'de-DE', 'fr-FR'];
const CHANNELS = ['chat', 'email'];
const TOPICS = ['shipping', 'refunds', 'billing'];

/** The cases the branch breaks: 5 of them. */
export const BROKEN_ON_BRANCH = [3, 8, 13, 19, 24];
/** The case main already fails (and the branch fixes). */
export const BROKEN_ON_MAIN = [27];

/** Which run the fake server answers: the branch's agent is slow on orders 6 and 16. */
let answering: 'main' | 'branch' = 'main';

/** The agent answers from the prompt; the second model words it differently. The judge reads the context. */
export function triageScript(request: FakeRequest): FakeReply {
  if (request.schemaName === 'claims') return { json: { claims: ['The parcel ships within two days.', 'It ships from the Leeds warehouse.'] } };
  if (request.schemaName === 'truths') return echoTruths(request);
  if (request.schemaName === 'claim_verdicts') {
    const bad = request.prompt.includes('Mars');
    return {
      json: {
        verdicts: [
          { reason: 'The context says two days.', verdict: 'yes' },
          { reason: bad ? 'The context says the parcel ships from Mars, not the Leeds warehouse.' : 'The context names the Leeds warehouse.', verdict: bad ? 'no' : 'yes' },
        ],
      },
    };
  }
  const order = /order (\d+)/.exec(request.prompt)?.[1] ?? '?';
  const slow = answering === 'branch' && (order === '6' || order === '16') ? 1_200 : 0;
  if (request.model.startsWith('claude')) return { text: `Order ${order} leaves our Leeds warehouse and arrives within two days.`, usage: { input: 60, output: 16 }, delayMs: slow };
  // The branch's agent, given the broken record, words the answer its own way.
  if (answering === 'branch' && BROKEN_ON_BRANCH.includes(Number(order))) {
    return { text: `Your order ${order} ships within two days from our Mars hub via the Leeds warehouse. Track it under My orders.`, usage: { input: 52, output: 24 }, delayMs: slow };
  }
  return { text: `Your order ${order} ships within two days from the Leeds warehouse. Track it under My orders.`, usage: { input: 52, output: 20 }, delayMs: slow };
}

function suiteSource(variant: 'main' | 'branch', matrix: boolean): Record<string, unknown> {
  const broken = variant === 'branch' ? BROKEN_ON_BRANCH : BROKEN_ON_MAIN;
  return {
    name: 'support-rag',
    ...(matrix
      ? {
          targets: [
            { type: 'openai', model: 'gpt-4o-mini', system_prompt: 'You are the shop assistant. Answer from the order record only.', temperature: 0 },
            { type: 'anthropic', model: 'claude-3-5-haiku-latest', system_prompt: 'You are the shop assistant. Answer from the order record only.', temperature: 0, id: 'haiku' },
          ],
        }
      : { target: { type: 'openai', model: 'gpt-4o-mini', system_prompt: 'You are the shop assistant. Answer from the order record only.', temperature: 0 } }),
    judge: { provider: 'openai', model: 'gpt-4o-mini' },
    metrics: [{ name: 'faithfulness', threshold: 0.9 }, { name: 'icontains', value: 'two days' }],
    cases: Array.from({ length: TRIAGE_CASES }, (_, i) => ({
      id: `order-${String(i).padStart(2, '0')}`,
      input: `Where is my order ${i}? I ordered it last week and the tracking page shows nothing.`,
      expected_output: `Order ${i} ships within two days from the Leeds warehouse.`,
      retrieval_context: [broken.includes(i) ? `Order ${i} ships from Mars within two days.` : `Order ${i} ships from the Leeds warehouse within two days.`],
      topic: TOPICS[i % 3],
      tags: i % 4 === 0 ? ['priority'] : [],
      metadata: { locale: LOCALES[i % 3], channel: CHANNELS[i % 2], tier: i % 5 === 0 ? 'gold' : 'free', order: i },
    })),
  };
}

async function run(fake: FakeLlmServer, variant: 'main' | 'branch', matrix: boolean, build: { branch: string; sha: string; id: string }): Promise<Report> {
  const env = fakeEnv(fake);
  answering = variant;
  const loaded = resolveSuite(suiteSource(variant, matrix), 'evals/support-rag.yaml', undefined, env);
  return runSuites(expandMatrix(loaded), {
    env,
    retry: FAST_RETRY,
    concurrency: 8,
    build: { ci: 'github', git_sha: build.sha, branch: build.branch, pull_request: build.branch === 'main' ? null : '42', build_id: build.id, build_url: `https://ci.example.com/builds/${build.id}` },
  });
}

/** main's report, the branch's, and main's matrix of two models. */
export async function triageReports(fake: FakeLlmServer): Promise<{ base: Report; head: Report; matrix: Report }> {
  fake.script = triageScript;
  const base = await run(fake, 'main', false, { branch: 'main', sha: 'aaaa1111bbbb2222', id: '1060' });
  const head = await run(fake, 'branch', false, { branch: 'feature/tracking', sha: 'cccc3333dddd4444', id: '1061' });
  const matrix = await run(fake, 'main', true, { branch: 'main', sha: 'aaaa1111bbbb2222', id: '1062' });
  return { base, head, matrix };
}
