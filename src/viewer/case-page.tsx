/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import { MAX_COMMENT_LENGTH, type LlmCallView } from '../contracts/api';
import type { ToolCallSpec } from '../contracts/case';
import type { MetricResult } from '../contracts/report';
import { duration, Layout, percent, score, StatusBadge, TableWrap, usd, when, type Viewer } from './layout';
import { targetOfSuite, type AgreementView, type CaseDetail, type ReviewView, type RunDetail } from './model';

export interface CasePageData {
  run: RunDetail;
  detail: CaseDetail;
  calls: LlmCallView[] | null;
  reviews: ReviewView[];
  agreement: AgreementView[];
  /** Which LLM-judged metrics of the run may be reviewed (metric id → judged by an LLM). */
  judged: ReadonlySet<string>;
  /** Set after a review was saved: the metric it was for. */
  saved?: string;
  /** A review that was refused, and why. */
  refused?: { metric: string; message: string };
  /** Where the case sits among the grid's cases (its filter and sort): previous and next, and the way back. */
  neighbours: { position: number; total: number; previous: number | null; next: number | null; query: URLSearchParams; gridHref: string };
  /** Set when the reviewer came from the run's review queue. */
  queue?: { order: string; size?: number };
}

/** Previous and next case under the grid's filter and sort (keys: k and j, or ← and →), and the place among them. */
function CaseNav(props: { viewer: Viewer; data: CasePageData }) {
  const { viewer, data } = props;
  const { neighbours, run } = data;
  const href = (index: number) => {
    const query = neighbours.query.toString();
    return `${viewer.paths.case(run.id, index)}${query ? `?${query}` : ''}`;
  };
  return (
    <nav class="pager case-nav" aria-label="Cases">
      {neighbours.previous !== null ? (
        <a href={href(neighbours.previous)} rel="prev" data-key="k">
          ← Previous case
        </a>
      ) : (
        <span class="muted">← Previous case</span>
      )}
      <span>
        {neighbours.position >= 0 ? `${neighbours.position + 1} of ${neighbours.total}` : `not among the ${neighbours.total} the grid's filter matches`}
        {' · '}
        <a href={neighbours.gridHref} data-key="u">
          back to the grid
        </a>
      </span>
      {neighbours.next !== null ? (
        <a href={href(neighbours.next)} rel="next" data-key="j">
          Next case →
        </a>
      ) : (
        <span class="muted">Next case →</span>
      )}
    </nav>
  );
}

function Text(props: { label: string; value: string | null | undefined }) {
  return (
    <>
      <h3>{props.label}</h3>
      {props.value === null || props.value === undefined ? <p class="muted">none</p> : <div class="text">{props.value}</div>}
    </>
  );
}

/** A numbered list of passages (retrieval context, ground truth); nothing when the case has none. */
function Texts(props: { label: string; values: string[] | undefined }) {
  if (!props.values) return null;
  return (
    <>
      <h3>{props.label}</h3>
      <ol>
        {props.values.map((text) => (
          <li>
            <div class="text">{text}</div>
          </li>
        ))}
      </ol>
    </>
  );
}

const json = (value: unknown): string => (typeof value === 'string' ? value : JSON.stringify(value, null, 2));

function Tools(props: { label: string; tools: ToolCallSpec[] | undefined }) {
  const tools = props.tools ?? [];
  return (
    <div>
      <h3>{props.label}</h3>
      {tools.length === 0 ? (
        <p class="muted">none</p>
      ) : (
        <ol>
          {tools.map((tool) => (
            <li>
              <code>{tool.name}</code>
              {tool.arguments !== undefined ? <div class="text">{json(tool.arguments)}</div> : null}
              {tool.output !== undefined ? (
                <details>
                  <summary>output</summary>
                  <div class="text">{json(tool.output)}</div>
                </details>
              ) : null}
            </li>
          ))}
        </ol>
      )}
    </div>
  );
}

/**
 * A metric's details as the judge gave them: lists of verdicts as tables, lists of texts as lists, the rest as
 * name and value. Shapes differ per metric, so this reads whatever is there.
 */
function Details(props: { details: unknown }) {
  const details = props.details;
  if (details === undefined || details === null) return null;
  if (typeof details !== 'object' || Array.isArray(details)) return <div class="text">{json(details)}</div>;
  return (
    <>
      {Object.entries(details as Record<string, unknown>).map(([key, value]) => {
        if (Array.isArray(value) && value.length && value.every((item) => item && typeof item === 'object' && !Array.isArray(item))) {
          const columns = [...new Set(value.flatMap((item) => Object.keys(item as object)))].slice(0, 6);
          return (
            <TableWrap label={key}>
              <table>
                <caption>{key.replace(/_/g, ' ')}</caption>
                <thead>
                  <tr>
                    <th scope="col" class="num">#</th>
                    {columns.map((column) => (
                      <th scope="col">{column}</th>
                    ))}
                  </tr>
                </thead>
                <tbody>
                  {value.slice(0, 200).map((item, i) => (
                    <tr>
                      <td class="num">{i + 1}</td>
                      {columns.map((column) => (
                        <td>{json((item as Record<string, unknown>)[column] ?? '')}</td>
                      ))}
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableWrap>
          );
        }
        if (Array.isArray(value) && value.every((item) => typeof item === 'string')) {
          return (
            <div>
              <h4>{key.replace(/_/g, ' ')}</h4>
              {value.length ? (
                <ol>
                  {value.slice(0, 200).map((item) => (
                    <li>{item as string}</li>
                  ))}
                </ol>
              ) : (
                <p class="muted">none</p>
              )}
            </div>
          );
        }
        return (
          <dl class="pairs">
            <dt>{key.replace(/_/g, ' ')}</dt>
            <dd>{json(value)}</dd>
          </dl>
        );
      })}
    </>
  );
}

/** What was sent, as stored: `{system, messages}` JSON, or the raw text when it is not that. */
function sentOf(request: string): { system?: string; messages: Array<{ role: string; content: string }> } | null {
  try {
    const parsed = JSON.parse(request) as { system?: unknown; messages?: unknown };
    if (!Array.isArray(parsed.messages)) return null;
    return {
      system: typeof parsed.system === 'string' ? parsed.system : undefined,
      messages: parsed.messages.map((m: { role?: unknown; content?: unknown }) => ({ role: String(m.role ?? ''), content: typeof m.content === 'string' ? m.content : JSON.stringify(m.content) })),
    };
  } catch {
    return null;
  }
}

/** A reply as a reader takes it in: structured output (JSON) indented, anything else as it came. */
function readable(text: string): string {
  if (!/^\s*[[{]/.test(text)) return text;
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

/** A long text in a box that scrolls, reachable by keyboard and named for screen readers. */
function Scroll(props: { label: string; text: string }) {
  return (
    <div class="text" role="region" aria-label={props.label} tabindex={0}>
      {props.text}
    </div>
  );
}

/** Each call's messages and reply (as the platform stored them: redacted, cut at the operator's limit). */
function CallTexts(props: { calls: LlmCallView[] }) {
  const stored = props.calls.some((call) => call.request || call.response);
  if (!stored) return <p class="muted">The messages and replies of these calls were not stored (the operator keeps none, or turned them off for this project).</p>;
  return (
    <div class="calls">
      <h3 id="call-texts">What was sent and received</h3>
      {props.calls.map((call, n) => {
        if (!call.request && !call.response) return null;
        const sent = call.request ? sentOf(call.request) : null;
        return (
          <details class="card call" id={`call-${n + 1}`} open={props.calls.length <= 4}>
            <summary>{`${n + 1}. ${call.kind}${call.metric ? ` · ${call.metric}` : ''} · ${call.step || 'reply'} · ${call.provider} ${call.model}${call.status === 'ok' ? '' : ' · failed'}`}</summary>
            {sent ? (
              <>
                {sent.system !== undefined ? (
                  <>
                    <h4>System</h4>
                    <Scroll label={`call ${n + 1}: system prompt`} text={sent.system} />
                  </>
                ) : null}
                {sent.messages.map((message, m) => (
                  <>
                    <h4>{message.role}</h4>
                    <Scroll label={`call ${n + 1}: message ${m + 1} (${message.role})`} text={message.content} />
                  </>
                ))}
              </>
            ) : call.request ? (
              <Scroll label={`call ${n + 1}: what was sent`} text={call.request} />
            ) : null}
            <h4>Reply</h4>
            {call.response ? <Scroll label={`call ${n + 1}: reply`} text={readable(call.response)} /> : <p class="muted">{call.status === 'ok' ? 'none stored' : 'none: the call failed'}</p>}
          </details>
        );
      })}
    </div>
  );
}

function ReviewForm(props: { viewer: Viewer; runId: string; index: number; metric: MetricResult; own: ReviewView | undefined; queue?: { order: string; size?: number } }) {
  const { metric, own } = props;
  const id = `review-${metric.metric}`;
  const corrected = own?.corrected_passed === null || own?.corrected_passed === undefined ? '' : String(own.corrected_passed);
  return (
    <form method="post" action={`${props.viewer.paths.case(props.runId, props.index)}/reviews`} aria-labelledby={`${id}-legend`}>
      <input type="hidden" name="csrf" value={props.viewer.csrf ?? ''} />
      <input type="hidden" name="metric" value={metric.metric} />
      {props.queue ? <input type="hidden" name="queue" value={props.queue.order} /> : null}
      {props.queue?.size ? <input type="hidden" name="size" value={String(props.queue.size)} /> : null}
      <fieldset>
        <legend id={`${id}-legend`}>{`Your review of ${metric.metric}`}</legend>
        <div class="choices" role="radiogroup" aria-label={`Do you agree with the judge's ${metric.passed ? 'pass' : 'fail'}?`}>
          <label>
            <input type="radio" name="verdict" value="agree" required checked={own?.agree === true} /> Agree with the judge
          </label>
          <label>
            <input type="radio" name="verdict" value="disagree" checked={own?.agree === false} /> Disagree
          </label>
        </div>
        <div class="field">
          <label for={`${id}-corrected`}>Should have been (when disagreeing)</label>
          <select name="corrected_passed" id={`${id}-corrected`}>
            <option value="" selected={corrected === ''}>{`the opposite: ${metric.passed ? 'fail' : 'pass'}`}</option>
            <option value="true" selected={corrected === 'true'}>
              pass
            </option>
            <option value="false" selected={corrected === 'false'}>
              fail
            </option>
          </select>
        </div>
        <div class="field">
          <label for={`${id}-comment`}>Comment (optional)</label>
          <textarea id={`${id}-comment`} name="comment" maxlength={MAX_COMMENT_LENGTH}>
            {own?.comment ?? ''}
          </textarea>
        </div>
        <p>
          <button type="submit" class="primary">
            {own ? 'Update review' : 'Save review'}
          </button>
        </p>
      </fieldset>
    </form>
  );
}

function MetricCard(props: { viewer: Viewer; data: CasePageData; detail: CaseDetail; metric: MetricResult }) {
  const { viewer, data, metric } = props;
  const reviews = data.reviews.filter((review) => review.metric === metric.metric);
  const own = viewer.reviewer ? reviews.find((review) => review.reviewer === viewer.reviewer) : undefined;
  const agreement = data.agreement.find((a) => a.metric === metric.metric);
  const judged = data.judged.has(metric.metric);
  const verdict = metric.error !== null && metric.score === null ? 'errored' : metric.passed ? 'passed' : 'failed';
  return (
    <section class="card" id={`metric-${metric.metric}`} aria-labelledby={`metric-${metric.metric}-title`}>
      <h3 id={`metric-${metric.metric}-title`}>
        {metric.metric}
        {metric.name !== metric.metric ? <span class="muted">{`(${metric.name})`}</span> : null} <StatusBadge status={verdict} />
      </h3>
      <dl class="pairs">
        <dt>Score</dt>
        <dd>{`${score(metric.score)} (threshold ${metric.direction === 'higher' ? '≥' : '≤'} ${metric.threshold}${metric.strict_mode ? ', strict mode' : ''})`}</dd>
        {metric.reason ? (
          <>
            <dt>Reason</dt>
            <dd>{metric.reason}</dd>
          </>
        ) : null}
        {metric.error ? (
          <>
            <dt>Error</dt>
            <dd>{`${metric.error}${metric.error_cause ? ` (${metric.error_cause})` : ''}`}</dd>
          </>
        ) : null}
        {judged ? (
          <>
            <dt>Judge</dt>
            <dd>{`${metric.judge_input_tokens} in / ${metric.judge_output_tokens} out tokens · ${usd(metric.judge_cost_usd)} · ${duration(metric.duration_ms)}`}</dd>
          </>
        ) : null}
      </dl>
      {data.calls?.some((call) => call.metric === metric.metric) ? (
        <p class="muted">
          {'LLM calls: '}
          {data.calls.map((call, n) =>
            call.metric === metric.metric ? (
              <>
                <a href={call.request || call.response ? `#call-${n + 1}` : '#calls'}>{`#${n + 1} ${call.step}`}</a>{' '}
              </>
            ) : null,
          )}
        </p>
      ) : null}
      {metric.details !== undefined ? (
        <details open={verdict !== 'passed'}>
          <summary>The judge's verdicts</summary>
          <Details details={metric.details} />
        </details>
      ) : null}
      {metric.raw_reply ? (
        <details>
          <summary>The judge's unusable reply</summary>
          <div class="text">{metric.raw_reply}</div>
        </details>
      ) : null}
      {judged && (viewer.reviewer || reviews.length) ? (
        <div>
          <h4>Human review</h4>
          {agreement ? <p class="muted">{`In this run, reviewers agreed with ${metric.metric} in ${percent(agreement.agreement_rate)} of ${agreement.reviews} reviews${agreement.kappa !== null ? ` (Cohen's κ ${agreement.kappa.toFixed(2)})` : ''}.`}</p> : null}
          {data.saved === metric.metric ? (
            <p class="notice" role="status">
              Review saved. The recorded score is unchanged.
            </p>
          ) : null}
          {data.refused?.metric === metric.metric ? (
            <p class="error-box" role="alert">
              {data.refused.message}
            </p>
          ) : null}
          {reviews.length ? (
            <ul>
              {reviews.map((review) => (
                <li>
                  <strong>{review.reviewer}</strong>
                  {` ${review.agree ? 'agrees' : `disagrees (should be ${(review.corrected_passed ?? !review.judge_passed) ? 'pass' : 'fail'})`} · ${when(review.updated_at)}`}
                  {review.comment ? <div class="text">{review.comment}</div> : null}
                </li>
              ))}
            </ul>
          ) : (
            <p class="muted">No review yet.</p>
          )}
          {viewer.reviewer && verdict !== 'errored' ? <ReviewForm viewer={viewer} runId={data.run.id} index={props.detail.index} metric={metric} own={own} queue={data.queue} /> : null}
        </div>
      ) : null}
    </section>
  );
}

export function CasePage(props: { viewer: Viewer; data: CasePageData }) {
  const { viewer, data } = props;
  const { run, detail } = data;
  const paths = viewer.paths;
  const result = detail.result;
  return (
    <Layout viewer={viewer} title={`Case ${detail.id}`} section="runs">
      <p class="muted">
        <a href={paths.runs()}>Runs</a> › <a href={paths.run(run.id)}>{run.suite}</a> › {detail.id}
      </p>
      <h1>
        {detail.id} <StatusBadge status={detail.status} />
      </h1>
      <CaseNav viewer={viewer} data={data} />
      {data.queue ? (
        <p class="notice queue">
          {`Review queue (${data.queue.order === 'uncertain' ? 'least sure first' : data.queue.order === 'random' ? 'random sample' : 'in order'}): `}
          <a href={`${paths.review(run.id)}/next?order=${data.queue.order}${data.queue.size ? `&size=${data.queue.size}` : ''}&after=${detail.index}`} data-key="n" rel="next">
            Next unreviewed case →
          </a>
        </p>
      ) : null}
      <dl class="facts">
        <div>
          <dt>Case</dt>
          <dd>{`#${detail.index}${result?.topic ? ` · ${result.topic}` : ''}`}</dd>
        </div>
        {result && targetOfSuite(result.suite) ? (
          <div>
            <dt>Target</dt>
            <dd>{targetOfSuite(result.suite)}</dd>
          </div>
        ) : null}
        {result?.tags.length ? (
          <div>
            <dt>Tags</dt>
            <dd>{result.tags.join(', ')}</dd>
          </div>
        ) : null}
        {result?.target ? (
          <div>
            <dt>Agent under test</dt>
            <dd>{`${duration(result.target.latency_ms)} · ${usd(result.target.cost_usd)}`}</dd>
          </div>
        ) : null}
        <div>
          <dt>Evaluated in</dt>
          <dd>{`${duration(result?.duration_ms)}${detail.attempts !== null ? ` · ${detail.attempts} attempt${detail.attempts === 1 ? '' : 's'}` : ''}`}</dd>
        </div>
      </dl>
      {data.refused && !data.judged.has(data.refused.metric) ? (
        <p class="error-box" role="alert">
          {data.refused.message}
        </p>
      ) : null}
      {detail.error ? (
        <p class="error-box" role="alert">
          {`${detail.error}${result?.error_cause ? ` (${result.error_cause})` : ''}`}
        </p>
      ) : null}
      {!result ? (
        <p class="notice">This case has no result yet.</p>
      ) : (
        <>
          <section>
            <h2 id="texts">Input and outputs</h2>
            {result.turns ? (
              <>
                <h3>Conversation</h3>
                <ol>
                  {result.turns.map((turn) => (
                    <li>
                      <strong>{turn.role}</strong>
                      <div class="text">{turn.content}</div>
                    </li>
                  ))}
                </ol>
              </>
            ) : (
              <Text label="Input" value={result.input} />
            )}
            <div class="grid2">
              <div>
                <Text label="Actual output" value={result.actual_output} />
              </div>
              <div>
                <Text label="Expected output" value={result.expected_output} />
              </div>
            </div>
            <Texts label="Retrieval context" values={result.retrieval_context} />
            <Texts label="Context (ground truth)" values={result.context} />
            {result.tools_called?.length || result.expected_tools?.length ? (
              <div class="grid2">
                <Tools label="Tools called" tools={result.tools_called} />
                <Tools label="Expected tools" tools={result.expected_tools} />
              </div>
            ) : null}
          </section>
          <section>
            <h2 id="metric-results">Metrics</h2>
            {Object.values(result.metrics).map((metric) => (
              <MetricCard viewer={viewer} data={data} detail={detail} metric={metric} />
            ))}
          </section>
          <section>
            <h2 id="calls">LLM calls</h2>
            {data.calls ? (
              data.calls.length === 0 ? (
                <p class="muted">No LLM call recorded (yet: calls reach the analytics store shortly after the case).</p>
              ) : (
                <>
                <TableWrap label="LLM calls">
                  <table>
                    <thead>
                      <tr>
                        <th scope="col" class="num">#</th>
                        <th scope="col">Kind</th>
                        <th scope="col">Served</th>
                        <th scope="col">Model</th>
                        <th scope="col">Status</th>
                        <th scope="col" class="num">Tokens in</th>
                        <th scope="col" class="num">Tokens out</th>
                        <th scope="col" class="num">Cost</th>
                        <th scope="col" class="num">Latency</th>
                        <th scope="col" class="num">Retries</th>
                        <th scope="col" class="num">Rate limited</th>
                      </tr>
                    </thead>
                    <tbody>
                      {data.calls.map((call, n) => (
                        <tr>
                          <td class="num">{call.request || call.response ? <a href={`#call-${n + 1}`}>{n + 1}</a> : n + 1}</td>
                          <td>{call.kind}</td>
                          <td>{call.metric ? <a href={`#metric-${encodeURIComponent(call.metric)}`}>{`${call.metric} · ${call.step}`}</a> : call.step || '–'}</td>
                          <td>{`${call.provider} ${call.model}`}</td>
                          <td>{call.status === 'ok' ? (call.cached ? 'ok (cached)' : 'ok') : `error ${call.error_status || ''}`}</td>
                          <td class="num">{call.input_tokens}</td>
                          <td class="num">{call.output_tokens}</td>
                          <td class="num">{usd(call.cost_usd)}</td>
                          <td class="num">{duration(call.latency_ms)}</td>
                          <td class="num">{Math.max(0, call.attempts - 1)}</td>
                          <td class="num">{call.rate_limited}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </TableWrap>
                <CallTexts calls={data.calls} />
                </>
              )
            ) : result.usage.length === 0 ? (
              <p class="muted">No LLM call.</p>
            ) : (
              <TableWrap label="LLM calls by model">
                <table>
                  <caption>By model (a report file keeps totals, not each call)</caption>
                  <thead>
                    <tr>
                      <th scope="col">Model</th>
                      <th scope="col" class="num">Calls</th>
                      <th scope="col" class="num">Cached</th>
                      <th scope="col" class="num">Tokens in</th>
                      <th scope="col" class="num">Tokens out</th>
                      <th scope="col" class="num">Cost</th>
                      <th scope="col" class="num">Retries</th>
                      <th scope="col" class="num">Rate limited</th>
                    </tr>
                  </thead>
                  <tbody>
                    {result.usage.map((usage) => (
                      <tr>
                        <td>{`${usage.provider} ${usage.model}`}</td>
                        <td class="num">{usage.calls}</td>
                        <td class="num">{usage.cache_hits}</td>
                        <td class="num">{usage.input_tokens}</td>
                        <td class="num">{usage.output_tokens}</td>
                        <td class="num">{usd(usage.cost_usd)}</td>
                        <td class="num">{usage.retries}</td>
                        <td class="num">{usage.rate_limited}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </TableWrap>
            )}
          </section>
          {result.metadata && Object.keys(result.metadata).length ? (
            <section>
              <h2 id="metadata">Metadata</h2>
              <dl class="pairs">
                {Object.entries(result.metadata).map(([key, value]) => (
                  <>
                    <dt>{key}</dt>
                    <dd>{json(value)}</dd>
                  </>
                ))}
              </dl>
            </section>
          ) : null}
        </>
      )}
    </Layout>
  );
}
