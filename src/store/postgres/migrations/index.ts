import type { Migration } from 'kysely';
import { initial } from './2026-11-27-0001-initial';
import { tenantSafety } from './2026-11-30-0001-tenant-safety';
import { outboxGroups } from './2026-11-30-0002-outbox-groups';
import { viewer } from './2026-12-01-0001-viewer';
import { callBodies } from './2026-12-06-0001-call-bodies';
import { caseSearch } from './2026-12-06-0002-case-search';
import { onlineEvaluation } from './2026-12-06-0003-online-evaluation';

/** Every migration, by name; names sort in the order they run. */
export const POSTGRES_MIGRATIONS: Record<string, Migration> = {
  '2026-11-27-0001-initial': initial,
  '2026-11-30-0001-tenant-safety': tenantSafety,
  '2026-11-30-0002-outbox-groups': outboxGroups,
  '2026-12-01-0001-viewer': viewer,
  '2026-12-06-0001-call-bodies': callBodies,
  '2026-12-06-0002-case-search': caseSearch,
  '2026-12-06-0003-online-evaluation': onlineEvaluation,
};
