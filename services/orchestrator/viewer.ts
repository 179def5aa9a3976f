import { createHash } from 'node:crypto';
import type { Context } from 'hono';
import { Hono } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { isWellFormedApiKey, projectForKey } from '../../src/store/postgres/projects';
import { issueViewerToken, revokeViewerToken, viewerGrant, type ViewerGrant } from '../../src/store/postgres/viewer-tokens';
import { securityHeaders, viewerAssets, viewerPages, type ViewerEnv } from '../../src/viewer/app';
import { Problem } from '../../src/viewer/layout';
import { TracePage, TracesPage } from '../../src/viewer/trace-pages';
import { listTracesQuery } from '../../src/contracts/online';
import { datasetNameSchema } from '../../src/contracts/api';
import { storableText } from '../../src/contracts/text';
import { listTraces, traceDetail } from '../../src/store/clickhouse/traces';
import { datasetCaseOfTrace } from '../../src/platform/online';
import { appendDatasetCase } from '../../src/store/postgres/projects';
import { LoginPage } from '../../src/viewer/login-page';
import { ViewerPaths } from '../../src/viewer/model';
import { checkReviewer } from '../../src/viewer/reviews';
import type { RouteDeps } from './http';
import { setBounded } from './limits';
import { PlatformViewerSource } from './viewer-source';
import { clipText } from '../../src/contracts/text';

/** Where the viewer lives on the orchestrator; the Ingress routes it beside `/v1`. */
export const VIEWER_BASE = '/ui';
const COOKIE = 'eval_viewer';
/** A browser session opened with a key lasts this long. */
const SESSION_HOURS = 12;

const paths = new ViewerPaths(VIEWER_BASE);

/** The form token of a session: derived from the session's own token, which only its cookie holds. */
const csrfFor = (token: string): string => createHash('sha256').update(`csrf:${token}`).digest('base64url').slice(0, 32);

/** Where to go after signing in: only a page of the viewer (never another site: no open redirect). */
const safeNext = (next: unknown): string => (typeof next === 'string' && next.startsWith(`${VIEWER_BASE}/`) && !next.startsWith('//') && !/[\\\r\n]/.test(next) ? next : `${VIEWER_BASE}/`);

const isHttps = (c: Context): boolean => c.req.header('x-forwarded-proto') === 'https' || new URL(c.req.url).protocol === 'https:';

function setSession(c: Context, token: string, expiresAt: Date): void {
  setCookie(c, COOKIE, token, {
    path: VIEWER_BASE,
    httpOnly: true,
    // Lax: the cookie goes along when a reader follows a link to the viewer; forms also carry the session's own token.
    sameSite: 'Lax',
    secure: isHttps(c),
    expires: expiresAt,
  });
}

/** A form posted from another site (or a page of another origin) is refused, whatever cookie it carries. */
function crossSite(c: Context): boolean {
  const origin = c.req.header('origin');
  if (!origin || origin === 'null') return c.req.header('sec-fetch-site') === 'cross-site';
  try {
    return new URL(origin).host !== new URL(c.req.url).host && new URL(origin).host !== c.req.header('x-forwarded-host');
  } catch {
    return true;
  }
}

/** The sign-in page, with the problem of the last attempt (naming the field) when there was one. */
const login = (c: Context, status: 200 | 400 | 401 | 403, next: string, problem?: { field: string; message: string }, reviewer?: string) =>
  c.html(LoginPage({ paths, action: `${VIEWER_BASE}/login`, next, problem, reviewer }), status);

/**
 * The viewer on the orchestrator: sign-in with a project key (a session cookie that holds a random token; only its
 * hash is stored, beside the key that opened it, so revoking the key ends it), the landing of a link from a
 * pull-request comment (read only, limited to the runs it names), and the pages, each reading only the session's
 * project through `PlatformViewerSource`.
 */
export function viewerRoutes(deps: RouteDeps): Hono {
  const { db, clickhouse, clickhouseDatabase } = deps;
  const app = new Hono();
  const grants = new Map<string, { grant: ViewerGrant | undefined; until: number }>();

  const grantFor = async (token: string | undefined): Promise<ViewerGrant | undefined> => {
    if (!token) return undefined;
    const now = Date.now();
    const cached = grants.get(token);
    if (cached && cached.until > now) return cached.grant && cached.grant.expiresAt.getTime() > now ? cached.grant : undefined;
    const grant = await viewerGrant(db, token);
    setBounded(grants, token, { grant, until: now + deps.limits.apiKeyCacheMs });
    return grant;
  };

  // Sign-in, links and sign-out; the pages set the same headers themselves (they are mounted by evalctl view too).
  app.use('*', securityHeaders);

  app.route('/assets', viewerAssets());

  app.get('/login', (c) => login(c, 200, safeNext(c.req.query('next'))));

  app.post('/login', async (c) => {
    const form = await c.req.parseBody();
    const next = safeNext(form.next);
    if (crossSite(c)) return login(c, 403, next, { field: 'origin', message: 'This sign-in came from another site and was refused.' });
    const key = typeof form.key === 'string' ? form.key.trim() : '';
    const reviewer = checkReviewer(form.reviewer);
    const shownName = typeof form.reviewer === 'string' ? clipText(form.reviewer, 200) : undefined;
    if ('field' in reviewer) return login(c, 400, next, { field: 'reviewer', message: reviewer.message.replace(/^reviewer:/, 'Your name:') }, shownName);
    const project = isWellFormedApiKey(key) ? await projectForKey(db, key) : undefined;
    if (!project) return login(c, 401, next, { field: 'key', message: 'Project API key: unknown or revoked (a key looks like aiev_ followed by 32 characters).' }, shownName);
    const expiresAt = new Date(Date.now() + SESSION_HOURS * 3_600_000);
    const token = await issueViewerToken(db, { kind: 'session', projectId: project.id, apiKeyId: project.key_id, reviewer: reviewer.reviewer, runIds: null, expiresAt });
    setSession(c, token, expiresAt);
    return c.redirect(next, 303);
  });

  // A link from a pull-request comment: its token becomes this browser's session (read only, its runs only), and
  // the address bar loses it at once.
  app.get('/l/:token', async (c) => {
    const token = c.req.param('token');
    const grant = await grantFor(token);
    if (!grant || grant.kind !== 'link') {
      return login(c, 401, `${VIEWER_BASE}/`, { field: 'link', message: 'This link has expired or was revoked. Sign in with a project key instead.' });
    }
    setSession(c, token, grant.expiresAt);
    const [head, base] = grant.runIds ?? [];
    return c.redirect(head && base ? paths.compare(base, head) : head ? paths.run(head) : paths.runs(), 303);
  });

  app.post('/logout', async (c) => {
    const token = getCookie(c, COOKIE);
    const form = await c.req.parseBody();
    // A sign-out another site posted changes nothing: the session and its cookie stay as they were.
    if (token && (crossSite(c) || form.csrf !== csrfFor(token))) return c.text('refused: this sign-out did not come from your session (reload the page and try again)', 403);
    if (token) {
      await revokeViewerToken(db, token);
      grants.delete(token);
    }
    deleteCookie(c, COOKIE, { path: VIEWER_BASE });
    return c.redirect(`${VIEWER_BASE}/login`, 303);
  });

  const pages = new Hono<ViewerEnv>();
  pages.use('*', async (c, next) => {
    const token = getCookie(c, COOKIE);
    const grant = await grantFor(token);
    if (!grant || !token) {
      if (c.req.method !== 'GET') return login(c, 401, `${VIEWER_BASE}/`, { field: 'session', message: 'Your session has ended. Sign in again.' });
      const url = new URL(c.req.url);
      return c.redirect(`${VIEWER_BASE}/login?next=${encodeURIComponent(url.pathname + url.search)}`, 303);
    }
    const csrf = csrfFor(token);
    if (c.req.method === 'POST') {
      const form = await c.req.parseBody();
      if (crossSite(c) || form.csrf !== csrf) return c.text('refused: this form did not come from your session (reload the page and try again)', 403);
    }
    c.set('viewerSource', new PlatformViewerSource(db, clickhouse, clickhouseDatabase, grant.project, grant.runIds, grant.reviewer));
    c.set('viewer', { paths, title: grant.project.name, mode: 'platform', reviewer: grant.reviewer, csrf, logoutPath: `${VIEWER_BASE}/logout` });
    await next();
  });
  // Production traces (a session's project's; a pull-request link, limited to its runs, sees none).
  const traceGrant = (c: Context<ViewerEnv>) => {
    const source = c.get('viewerSource') as PlatformViewerSource;
    return source.runIds === null ? source.project : undefined;
  };
  pages.get('/traces', async (c) => {
    const project = traceGrant(c);
    if (!project) return c.html(Problem({ viewer: c.get('viewer'), title: 'Not in this link', message: 'This link shows its runs only. Sign in with a project key to see production traces.' }), 404);
    const query = listTracesQuery.safeParse({ ...c.req.query(), limit: '100' });
    const filter = query.success ? query.data : { limit: 100 };
    const traces = await listTraces(clickhouse, clickhouseDatabase, { project: project.name, ...filter, since: undefined });
    return c.html(TracesPage({ viewer: c.get('viewer'), traces, filter }));
  });
  /** The session's trace of the address: its spans and scores, read once; none for a link or another project's trace. */
  const traceOf = async (c: Context<ViewerEnv>) => {
    const project = traceGrant(c);
    const traceId = c.req.param('id')?.toLowerCase() ?? '';
    const detail = project && /^[0-9a-f]{32}$/.test(traceId) ? await traceDetail(clickhouse, clickhouseDatabase, project.name, traceId) : { spans: [], scores: [] };
    return { project, traceId, ...detail };
  };
  type Trace = Awaited<ReturnType<typeof traceOf>>;
  const tracePage = (c: Context<ViewerEnv>, trace: Trace, extra: Pick<Parameters<typeof TracePage>[0], 'added' | 'problem'> = {}, status: 200 | 400 = 200) =>
    trace.spans.length === 0
      ? c.html(Problem({ viewer: c.get('viewer'), title: 'No such trace', message: `No trace ${trace.traceId} in this project.` }), 404)
      : c.html(TracePage({ viewer: c.get('viewer'), traceId: trace.traceId, spans: trace.spans, scores: trace.scores, ...extra }), status);
  pages.get('/traces/:id', async (c) => tracePage(c, await traceOf(c)));
  // The loop back to CI in one action: the trace's question (and its answer, as corrected) becomes a case of a dataset.
  pages.post('/traces/:id/dataset', async (c) => {
    const viewer = c.get('viewer');
    if (!traceGrant(c) || !viewer.reviewer) return c.text('refused: adding to a dataset needs a session opened with your name', 403);
    const form = await c.req.parseBody();
    const trace = await traceOf(c);
    if (!trace.project || trace.spans.length === 0) return tracePage(c, trace);
    const name = datasetNameSchema.safeParse(typeof form.dataset === 'string' ? form.dataset.trim() : '');
    if (!name.success) return tracePage(c, trace, { problem: { field: 'dataset', message: `letters, digits, ".", "_" and "-", 1 to 200 (${name.error.issues[0].message})` } }, 400);
    const expected = typeof form.expected_output === 'string' ? storableText(form.expected_output.replace(/\r\n/g, '\n')) : undefined;
    const made = datasetCaseOfTrace(trace.spans, { spanId: typeof form.span_id === 'string' && form.span_id ? form.span_id : undefined, expectedOutput: expected });
    if ('problem' in made) return tracePage(c, trace, { problem: { field: made.field, message: made.problem } }, 400);
    const added = await appendDatasetCase(db, trace.project.id, name.data, { ...made, metadata: { ...made.metadata, added_by: viewer.reviewer } });
    return tracePage(c, trace, { added });
  });
  pages.route('/', viewerPages());
  app.route('/', pages);
  return app;
}
