import type { LinkView } from '../contracts/api';
import type { Report } from '../contracts/report';
import { ViewerPaths } from '../viewer/model';
import { platformRequest } from './remote-run';

/** A link to a run's pages in the platform's viewer, for the pull-request comment. */
export interface ViewerLink {
  suite: string;
  url: string;
  /** Set for a signed link (read only, expires); absent: the page asks the reader to sign in with a key. */
  expires_at?: string;
  /** The link opens the comparison with the baseline's run of the same suite. */
  compares: boolean;
}

/**
 * Links for the comment: for each run the report's suites made on the platform, a read-only link that expires
 * (`POST /v1/links`, covering the baseline's run of the same suite when the baseline ran on the same platform),
 * or, without an API key or when the platform refuses, the run's page behind sign-in. Never fails the gate:
 * the links are a convenience, the scores are the verdict.
 */
export async function viewerLinks(report: Report, baseline: Report | undefined, options: { apiKey?: string; ttlHours?: number; warn(message: string): void }): Promise<ViewerLink[]> {
  const platform = report.platform;
  if (!platform) return [];
  const server = platform.server.replace(/\/+$/, '');
  const baseRuns = baseline?.platform?.server.replace(/\/+$/, '') === server ? baseline.platform.runs : [];
  const paths = new ViewerPaths(`${server}/ui`);
  const request = options.apiKey ? platformRequest(server, options.apiKey) : undefined;
  const links: ViewerLink[] = [];
  for (const run of platform.runs) {
    const base = baseRuns.find((candidate) => candidate.suite === run.suite)?.run_id;
    const compares = base !== undefined;
    const fallback: ViewerLink = { suite: run.suite, url: base ? paths.compare(base, run.run_id) : paths.run(run.run_id), compares };
    if (!request) {
      links.push(fallback);
      continue;
    }
    try {
      const link = await request<LinkView>('POST', '/v1/links', { run: run.run_id, ...(base ? { baseline: base } : {}), ...(options.ttlHours ? { ttl_hours: options.ttlHours } : {}) });
      links.push({ suite: run.suite, url: `${server}${link.path}`, expires_at: link.expires_at, compares });
    } catch (error) {
      options.warn(`evalctl gate: no signed viewer link for ${run.suite} (${(error as Error).message}); the comment links to the page behind sign-in`);
      links.push(fallback);
    }
  }
  return links;
}
