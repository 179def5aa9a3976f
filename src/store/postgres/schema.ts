import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';
import type { RunCaseStatus, RunStatus } from '../../contracts/api';
import type { BuildMetadata } from '../../contracts/build';
import type { TestCase } from '../../contracts/case';
import type { CaseResult, ReportSummary } from '../../contracts/report';

export type { RunCaseStatus, RunStatus };

type Timestamp = Date;
/** A jsonb column: read as T, written as its JSON text. */
type Json<T> = ColumnType<T, string, string>;

export interface ProjectTable {
  id: Generated<string>;
  name: string;
  /** Whether the workers store what each LLM call of the project's runs sent and received (the operator's choice). */
  llm_call_bodies: Generated<boolean>;
  created_at: Generated<Timestamp>;
}

export interface ApiKeyTable {
  id: Generated<string>;
  project_id: string;
  /** sha256 of the key, hex; the key itself is shown once and never stored. */
  key_hash: string;
  /** The first characters of the key, to tell keys apart in listings. */
  key_prefix: string;
  created_at: Generated<Timestamp>;
  revoked_at: Timestamp | null;
}

export interface DatasetTable {
  id: Generated<string>;
  project_id: string;
  name: string;
  created_at: Generated<Timestamp>;
}

export interface DatasetVersionTable {
  id: Generated<string>;
  dataset_id: string;
  version: number;
  cases: Json<TestCase[]>;
  case_count: number;
  created_at: Generated<Timestamp>;
}


export interface RunTable {
  id: Generated<string>;
  project_id: string;
  suite_name: string;
  status: RunStatus;
  /** The suite as submitted (cases included), validated: what the workers evaluate. */
  suite: Json<Record<string, unknown>>;
  dataset_version_id: string | null;
  build: Json<BuildMetadata>;
  branch: string | null;
  idempotency_key: string | null;
  /** sha256 of the submitted body, to refuse an Idempotency-Key reused with another body. */
  request_hash: string | null;
  total_cases: number;
  completed_cases: Generated<number>;
  passed_cases: Generated<number>;
  failed_cases: Generated<number>;
  errored_cases: Generated<number>;
  /** USD spent on LLM calls by the cases counted so far. */
  cost_usd: Generated<number>;
  /** The run's budget in USD; past it no new case starts and the run ends budget_exceeded. */
  max_cost_usd: number | null;
  /** The report without its cases, written once when the last case completes. */
  summary: Json<ReportSummary> | null;
  created_at: Generated<Timestamp>;
  started_at: Timestamp | null;
  finished_at: Timestamp | null;
}

export interface RunCaseTable {
  run_id: string;
  case_index: number;
  case_id: string;
  status: RunCaseStatus;
  attempts: Generated<number>;
  error: string | null;
  /** The engine's CaseResult. */
  result: Json<CaseResult> | null;
  updated_at: Generated<Timestamp>;
}

export interface ClickhouseOutboxTable {
  id: Generated<string>;
  table_name: 'results' | 'llm_calls';
  rows: Json<unknown[]>;
  row_count: number;
  claimed_until: Timestamp | null;
  /** The ClickHouse insert this row belongs to (its smallest outbox id), fixed at the first attempt. */
  drain_group: string | null;
  created_at: Generated<Timestamp>;
}

export interface ProjectEndpointTable {
  project_id: string;
  name: string;
  provider: 'openai' | 'anthropic';
  base_url: string;
  models: Json<string[]> | null;
  /** The key, sealed (AES-256-GCM under ENDPOINT_KEYS_SECRET). */
  sealed_key: string;
  /** The key's last four characters, to tell keys apart. */
  key_hint: string;
  updated_at: Generated<Timestamp>;
}

export interface CaseReviewTable {
  id: Generated<string>;
  project_id: string;
  run_id: string;
  case_index: number;
  /** The metric's id in the run (its key in the case's metrics). */
  metric: string;
  reviewer: string;
  agree: boolean;
  /** The judge's pass/fail when the review was made. */
  judge_passed: boolean;
  /** The reviewer's pass/fail; null: the judge's when agreeing, the opposite when disagreeing. */
  corrected_passed: boolean | null;
  comment: string | null;
  created_at: Generated<Timestamp>;
  updated_at: Generated<Timestamp>;
}

export interface ViewerTokenTable {
  /** sha256 of the token, hex; the token itself lives only in the cookie or the link. */
  token_hash: string;
  /** `session`: a browser after a key was entered; `link`: a signed-in link a pull-request comment carries. */
  kind: 'session' | 'link';
  project_id: string;
  /** The key that opened it: revoking the key ends its sessions and links. */
  api_key_id: string;
  /** Who reviews in this session; null: read only. */
  reviewer: string | null;
  /** null: every run of the project; else only these. */
  run_ids: string[] | null;
  expires_at: Timestamp;
  created_at: Generated<Timestamp>;
}

export interface Database {
  projects: ProjectTable;
  api_keys: ApiKeyTable;
  datasets: DatasetTable;
  dataset_versions: DatasetVersionTable;
  runs: RunTable;
  run_cases: RunCaseTable;
  clickhouse_outbox: ClickhouseOutboxTable;
  project_endpoints: ProjectEndpointTable;
  case_reviews: CaseReviewTable;
  viewer_tokens: ViewerTokenTable;
}

/** A project as the API and the viewer know it (its settings are read where they apply). */
export type Project = Omit<Selectable<ProjectTable>, 'llm_call_bodies'>;
export type Run = Selectable<RunTable>;
export type NewRun = Insertable<RunTable>;
export type RunUpdate = Updateable<RunTable>;
export type RunCase = Selectable<RunCaseTable>;
export type DatasetVersion = Selectable<DatasetVersionTable>;
export type CaseReview = Selectable<CaseReviewTable>;
