/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { SpanScoreView, SpanView, TraceSummary } from '../contracts/online';
import { duration, Layout, score, TableWrap, type Viewer } from './layout';

const clip = (text: string, max = 160) => (text.length > max ? `${text.slice(0, max)}…` : text);

/** A project's production traces, newest first, each with its online scores. */
export function TracesPage(props: { viewer: Viewer; traces: TraceSummary[]; filter: { service?: string; evaluator?: string; session?: string } }) {
  const { viewer, traces, filter } = props;
  return (
    <Layout viewer={viewer} title="Production traces" section="traces">
      <h1>Production traces</h1>
      <form method="get" action={viewer.paths.traces()} class="filters">
        <label>
          Service <input name="service" value={filter.service ?? ''} />
        </label>
        <label>
          Scored by evaluator <input name="evaluator" value={filter.evaluator ?? ''} />
        </label>
        <label>
          Session <input name="session" value={filter.session ?? ''} />
        </label>
        <button type="submit">Filter</button>
      </form>
      {traces.length === 0 ? (
        <p>No traces yet. Point an agent's OTLP exporter at this platform's /v1/traces (see the README, "Online evaluation").</p>
      ) : (
        <TableWrap label="Traces">
          <table>
            <thead>
              <tr>
                <th scope="col">Started</th>
                <th scope="col">Service</th>
                <th scope="col">Trace</th>
                <th scope="col">Question</th>
                <th scope="col">Answer</th>
                <th scope="col">Models</th>
                <th scope="col">Spans</th>
                <th scope="col">Online scores</th>
              </tr>
            </thead>
            <tbody>
              {traces.map((t) => (
                <tr>
                  <td>{t.started.replace(/\.\d+$/, '')}</td>
                  <td>{t.service}</td>
                  <td>
                    <a href={viewer.paths.trace(t.trace_id)}>{t.name || t.trace_id.slice(0, 16)}</a>
                    {t.errors > 0 ? <span class="badge fail"> {t.errors} error{t.errors > 1 ? 's' : ''}</span> : null}
                  </td>
                  <td>{clip(t.input_text)}</td>
                  <td>{clip(t.output_text)}</td>
                  <td>{t.models.join(', ')}</td>
                  <td>{t.spans}</td>
                  <td>
                    {t.scores.map((s) => (
                      <span class={`badge ${s.passed ? 'pass' : 'fail'}`} title={`${s.evaluator}: ${s.metric}`}>
                        {s.metric} {score(s.mean)} {s.passed ? '✓' : '✗'}{' '}
                      </span>
                    ))}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
    </Layout>
  );
}

/** Depth of each span under its trace's roots, for indenting the span list. */
function depths(spans: SpanView[]): Map<string, number> {
  const parent = new Map(spans.map((s) => [s.span_id, s.parent_span_id]));
  const depth = new Map<string, number>();
  for (const s of spans) {
    let d = 0;
    for (let p = s.parent_span_id, seen = 0; p && parent.has(p) && seen < 100; p = parent.get(p)!, seen++) d++;
    depth.set(s.span_id, d);
  }
  return depth;
}

/** One trace: its spans with their messages and tool calls, the online scores with the judge's reasons, and the form that makes it a dataset case. */
export function TracePage(props: { viewer: Viewer; traceId: string; spans: SpanView[]; scores: SpanScoreView[]; added?: { name: string; version: number; case_count: number }; problem?: { field: string; message: string } }) {
  const { viewer, traceId, spans, scores } = props;
  const depth = depths(spans);
  const candidates = spans.filter((s) => s.input_text !== '');
  const chosen = candidates.find((s) => s.operation === 'chat' && s.output_text !== '') ?? candidates[0];
  return (
    <Layout viewer={viewer} title={`Trace ${traceId.slice(0, 16)}`} section="traces">
      <p>
        <a href={viewer.paths.traces()}>← Production traces</a>
      </p>
      <h1>Trace {traceId}</h1>
      {props.added ? (
        <p role="status" class="notice">
          Added to dataset {props.added.name}, version {props.added.version} ({props.added.case_count} cases). A suite runs it with{' '}
          <code>{`dataset: { name: ${props.added.name}, version: ${props.added.version} }`}</code>.
        </p>
      ) : null}
      {props.problem ? (
        <p role="alert" class="problem">
          {props.problem.field}: {props.problem.message}
        </p>
      ) : null}
      <h2>Online scores</h2>
      {scores.length === 0 ? (
        <p>Not scored: no online evaluator sampled this trace.</p>
      ) : (
        <TableWrap label="Online scores">
          <table>
            <thead>
              <tr>
                <th scope="col">Evaluator</th>
                <th scope="col">Metric</th>
                <th scope="col">Score</th>
                <th scope="col">Threshold</th>
                <th scope="col">Verdict</th>
                <th scope="col">Judge's reason</th>
              </tr>
            </thead>
            <tbody>
              {scores.map((s) => (
                <tr>
                  <td>{s.evaluator}</td>
                  <td>{s.metric}</td>
                  <td>{score(s.score)}</td>
                  <td>{score(s.threshold)}</td>
                  <td>
                    <span class={`badge ${s.errored ? 'error' : s.passed ? 'pass' : 'fail'}`}>{s.errored ? 'error' : s.passed ? 'pass' : 'fail'}</span>
                  </td>
                  <td>{s.reason}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
      <h2>Spans</h2>
      <ol class="spans">
        {spans.map((s) => (
          // Indented by depth through the stylesheet (the viewer's policy allows no inline style), at most 4 levels.
          <li class={`depth-${Math.min(depth.get(s.span_id) ?? 0, 4)}`}>
            <details open={s.input_messages.length > 0 || s.output_messages.length > 0}>
              <summary>
                <strong>{s.name}</strong> {s.operation ? <span class="badge">{s.operation}</span> : null} {s.model} · {duration(s.duration_ms)}
                {s.input_tokens || s.output_tokens ? ` · ${s.input_tokens} in / ${s.output_tokens} out tokens` : ''}
                {s.status_code === 2 ? <span class="badge fail"> error{s.status_message ? `: ${s.status_message}` : ''}</span> : null}
              </summary>
              {[...s.input_messages, ...s.output_messages].map((m) => (
                <div class={`message ${m.role}`}>
                  <strong>{m.role}</strong>
                  <pre>{m.content}</pre>
                  {(m.tool_calls ?? []).map((call) => (
                    <pre>{`→ ${call.name}(${call.arguments === undefined ? '' : JSON.stringify(call.arguments)})`}</pre>
                  ))}
                </div>
              ))}
              {s.operation === 'execute_tool'
                ? s.tool_calls.map((call) => <pre>{`${call.name}(${call.arguments === undefined ? '' : JSON.stringify(call.arguments)}) → ${call.output === undefined ? '' : JSON.stringify(call.output)}`}</pre>)
                : null}
              {Object.keys(s.attributes).length > 0 ? (
                <details>
                  <summary>Attributes</summary>
                  <dl>
                    {Object.entries(s.attributes).map(([k, v]) => (
                      <>
                        <dt>{k}</dt>
                        <dd>{clip(v, 2_000)}</dd>
                      </>
                    ))}
                  </dl>
                </details>
              ) : null}
            </details>
          </li>
        ))}
      </ol>
      {chosen && viewer.csrf && viewer.reviewer ? (
        <section>
          <h2>Add to a dataset</h2>
          <p>The question becomes a case of the dataset (a new version); the answer, as you correct it, its expected output. Suites that name the dataset run it in CI.</p>
          <form method="post" action={`${viewer.paths.trace(traceId)}/dataset`}>
            <input type="hidden" name="csrf" value={viewer.csrf} />
            <label>
              Dataset <input name="dataset" required pattern="[A-Za-z0-9._\-]+" value="production-cases" />
            </label>
            <label>
              Span{' '}
              <select name="span_id">
                {candidates.map((s) => (
                  <option value={s.span_id} selected={s.span_id === chosen.span_id}>
                    {s.name}: {clip(s.input_text, 60)}
                  </option>
                ))}
              </select>
            </label>
            <label>
              Expected output <textarea name="expected_output" rows={4}>{chosen.output_text}</textarea>
            </label>
            <button type="submit">Add to dataset</button>
          </form>
        </section>
      ) : null}
    </Layout>
  );
}
