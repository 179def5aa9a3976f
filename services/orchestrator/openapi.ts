import { z } from 'zod';
import { suiteSchema } from '../../src/contracts/suite';
import { agreementQuery, compareQuery, createDatasetSchema, createLinkSchema, listRunsQuery, putEndpointSchema, putReviewSchema, resultsQuery, reviewsQuery, submitRunSchema, topicsQuery, trendsQuery } from '../../src/contracts/api';

const schema = (type: z.ZodType) => {
  const json = z.toJSONSchema(type, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  delete json.$schema;
  return json;
};

/** Query parameters of a route, from the zod schema that validates them. */
function queryParameters(type: z.ZodObject) {
  const json = schema(type) as { properties: Record<string, unknown>; required?: string[] };
  return Object.entries(json.properties).map(([name, property]) => ({ name, in: 'query', required: json.required?.includes(name) ?? false, schema: property }));
}

const errorResponse = { description: 'Error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
const retryAfter = { 'retry-after': { description: 'Seconds to wait before trying again', schema: { type: 'integer' } } };
const limited = (description: string) => ({ ...errorResponse, description, headers: retryAfter });
/** Every /v1 route: bad input, no key, not found, over the project's request rate. */
const errors = { '400': errorResponse, '401': errorResponse, '404': errorResponse, '429': limited('Over the project’s request rate (or, on submission, its run, case or cost limits)') };
const json = (description: string) => ({ description, content: { 'application/json': { schema: { type: 'object' } } } });
const idParameter = { name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } };

let cached: Record<string, unknown> | undefined;

/** The OpenAPI 3.1 description of the API, generated from the same zod schemas that validate requests. */
export function openApiDocument(version: string): Record<string, unknown> {
  cached ??= {
    openapi: '3.1.0',
    info: { title: 'ai-eval-platform orchestrator', version },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'A project API key: `evalctl keys create --project <name>`.' } },
      schemas: {
        Suite: schema(suiteSchema),
        SubmitRun: { ...schema(submitRunSchema), properties: { ...(schema(submitRunSchema).properties as object), suite: { $ref: '#/components/schemas/Suite' } } },
        CreateDataset: schema(createDatasetSchema),
        PutEndpoint: schema(putEndpointSchema),
        PutReview: schema(putReviewSchema),
        CreateLink: schema(createLinkSchema),
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: {
              type: 'object',
              required: ['code', 'message'],
              properties: { code: { type: 'string' }, message: { type: 'string' }, field: { type: 'string' }, problems: { type: 'array' }, limit: { type: 'string', enum: ['active_runs', 'queued_cases', 'daily_cost'] } },
            },
          },
        },
      },
    },
    security: [{ bearer: [] }],
    paths: {
      '/v1/runs': {
        post: {
          summary: 'Submit a run: a suite (inline or a dataset version), evaluated case by case by the workers',
          parameters: [{ name: 'Idempotency-Key', in: 'header', required: false, schema: { type: 'string', maxLength: 200 } }],
          requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/SubmitRun' } } } },
          responses: {
            '202': json('The run, queued'),
            '200': json('The run already submitted with this Idempotency-Key'),
            '413': errorResponse,
            '415': errorResponse,
            '422': { ...errorResponse, description: 'The Idempotency-Key was used with a different body' },
            '503': limited('Other large bodies are being read; retry after the given seconds'),
            ...errors,
          },
        },
        get: { summary: 'List the project’s runs, newest first', parameters: queryParameters(listRunsQuery), responses: { '200': json('A page of runs and the next cursor'), ...errors } },
      },
      '/v1/runs/{id}': { get: { summary: 'A run: status, progress, summary', parameters: [idParameter], responses: { '200': json('The run'), ...errors } } },
      '/v1/runs/{id}/results': {
        get: { summary: 'A run’s case results, paged', parameters: [idParameter, ...queryParameters(resultsQuery)], responses: { '200': json('A page of results'), ...errors } },
      },
      '/v1/runs/{id}/report': {
        get: { summary: 'The report.json evalctl writes, for a finished run', parameters: [idParameter], responses: { '200': json('The report'), '409': errorResponse, ...errors } },
      },
      '/v1/runs/{id}/cancel': { post: { summary: 'Cancel a run', parameters: [idParameter], responses: { '200': json('The run'), '409': errorResponse, ...errors } } },
      '/v1/datasets': {
        post: {
          summary: 'Add a dataset version (immutable): { name, cases }, or a DeepEval dataset file as it is with ?name= (a JSON array of goldens, JSON Lines, or CSV)',
          parameters: [{ name: 'name', in: 'query', required: false, description: 'the dataset’s name, for a DeepEval file', schema: { type: 'string' } }],
          requestBody: {
            required: true,
            content: {
              'application/json': { schema: { oneOf: [{ $ref: '#/components/schemas/CreateDataset' }, { type: 'array', items: { type: 'object' }, description: 'DeepEval goldens' }] } },
              'application/jsonl': { schema: { type: 'string', description: 'DeepEval goldens, one JSON object per line' } },
              'text/csv': { schema: { type: 'string', description: 'DeepEval goldens as EvaluationDataset.save_as writes them' } },
            },
          },
          responses: { '201': json('The new version'), ...errors },
        },
        get: { summary: 'List datasets and their versions', responses: { '200': json('Datasets'), ...errors } },
      },
      '/v1/endpoints': { get: { summary: 'The LLM endpoints the project’s suites may name: the platform’s and its own (never a key)', responses: { '200': json('Endpoints'), ...errors } } },
      '/v1/endpoints/{name}': {
        put: {
          summary: 'Register or replace one of the project’s own LLM endpoints; the key is stored sealed and never returned',
          parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string' } }],
          requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/PutEndpoint' } } } },
          responses: { '200': json('The endpoint, without its key'), '409': errorResponse, '503': errorResponse, ...errors },
        },
        delete: { summary: 'Remove one of the project’s own endpoints', parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string' } }], responses: { '204': { description: 'Removed' }, ...errors } },
      },
      '/v1/compare': { get: { summary: 'Regression tracker: per metric and per case, base against head', parameters: queryParameters(compareQuery), responses: { '200': json('The comparison'), ...errors } } },
      '/v1/trends': { get: { summary: 'AI quality trends: mean score by build over time', parameters: queryParameters(trendsQuery), responses: { '200': json('Points'), ...errors } } },
      '/v1/topics': { get: { summary: 'Fail topic clusters of a run', parameters: queryParameters(topicsQuery), responses: { '200': json('Topics'), ...errors } } },
      '/v1/runs/{id}/cases/{index}/reviews/{metric}': {
        put: {
          summary: 'Record a person’s review of one LLM-judged metric of a case (one per reviewer; sent again, it replaces theirs). The score is never changed',
          parameters: [
            idParameter,
            { name: 'index', in: 'path', required: true, schema: { type: 'integer', minimum: 0 } },
            { name: 'metric', in: 'path', required: true, description: 'the metric’s id in the run', schema: { type: 'string' } },
          ],
          requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/PutReview' } } } },
          responses: { '200': json('The review, with the judge’s verdict beside it'), '409': errorResponse, ...errors },
        },
      },
      '/v1/runs/{id}/reviews': {
        get: { summary: 'A run’s reviews (or one case’s)', parameters: [idParameter, ...queryParameters(reviewsQuery)], responses: { '200': json('Reviews'), ...errors } },
      },
      '/v1/agreement': {
        get: {
          summary: 'Judge agreement: per LLM-judged metric, the share of reviews that agreed and Cohen’s kappa (null unless both verdicts occur)',
          parameters: queryParameters(agreementQuery),
          responses: { '200': json('Per metric: reviews, agreed, agreement_rate, kappa, confusion'), ...errors },
        },
      },
      '/v1/links': {
        post: {
          summary: 'A read-only viewer link to a run (and its baseline) that expires: the path to open on this server',
          requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/CreateLink' } } } },
          responses: { '201': json('{ path, expires_at, runs }'), ...errors },
        },
      },
      '/ui/': {
        get: {
          summary: 'The viewer (HTML pages: runs, a run, a case, comparisons, trends, judge agreement); sign in with a project key at /ui/login',
          security: [],
          responses: { '200': { description: 'HTML' }, '303': { description: 'To the sign-in page' } },
        },
      },
      '/healthz': { get: { summary: 'The process is up; internal, not routed by the Ingress', security: [], responses: { '200': json('ok') } } },
      '/readyz': { get: { summary: 'Postgres and Redis are reachable (ClickHouse is reported, not required); internal, not routed by the Ingress', security: [], responses: { '200': json('ready'), '503': json('not ready') } } },
      '/metrics': { get: { summary: 'Prometheus metrics', security: [], responses: { '200': { description: 'Prometheus text format' } } } },
    },
  };
  return cached;
}
