import { createHash } from 'node:crypto';

/**
 * The viewer's only static files, served by the viewer itself (no CDN, nothing fetched elsewhere). They live in
 * this module rather than beside it so that the compiled services and the evalctl package carry them without
 * a copy step. The names carry a hash of the content, so browsers may keep them for good.
 */
const CSS = `
:root { color-scheme: light; --fg: #1b1f24; --muted: #57606a; --line: #d0d7de; --bg: #ffffff; --soft: #f6f8fa;
  --pass: #116329; --pass-bg: #dafbe1; --fail: #a40e26; --fail-bg: #ffebe9; --warn: #7d4e00; --warn-bg: #fff8c5;
  --link: #0550ae; --focus: #0969da; }
* { box-sizing: border-box; }
html { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--fg); background: var(--bg); }
body { margin: 0; }
a { color: var(--link); }
a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible, textarea:focus-visible, summary:focus-visible, [tabindex]:focus-visible {
  outline: 3px solid var(--focus); outline-offset: 2px; }
.skip { position: absolute; left: -999px; top: 0; background: var(--bg); padding: .5rem 1rem; z-index: 10; }
.skip:focus { left: .5rem; }
header.top { display: flex; flex-wrap: wrap; gap: .5rem 1.5rem; align-items: center; padding: .6rem 1.25rem; border-bottom: 1px solid var(--line); background: var(--soft); }
header.top .brand { font-weight: 700; color: var(--fg); text-decoration: none; }
header.top nav ul { display: flex; flex-wrap: wrap; gap: .25rem 1rem; list-style: none; margin: 0; padding: 0; }
header.top nav a[aria-current="page"] { font-weight: 700; color: var(--fg); }
header.top .who { margin-left: auto; display: flex; gap: .75rem; align-items: center; color: var(--muted); font-size: .9rem; }
main { padding: 1rem 1.25rem 3rem; max-width: 1400px; margin: 0 auto; }
h1 { font-size: 1.5rem; margin: .25rem 0 .75rem; overflow-wrap: anywhere; }
h2 { font-size: 1.15rem; margin: 1.75rem 0 .5rem; }
h3 { font-size: 1rem; margin: 1.25rem 0 .4rem; }
.muted { color: var(--muted); }
.facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(11rem, 1fr)); gap: .5rem 1rem; margin: 0 0 1rem; }
.facts div { background: var(--soft); border: 1px solid var(--line); border-radius: 6px; padding: .45rem .7rem; }
.facts dt { font-size: .8rem; color: var(--muted); }
.facts dd { margin: 0; font-weight: 600; overflow-wrap: anywhere; }
.table-wrap { overflow-x: auto; border: 1px solid var(--line); border-radius: 6px; margin: .5rem 0 1rem; }
table { border-collapse: collapse; width: 100%; font-size: .92rem; }
caption { text-align: left; padding: .5rem .75rem; font-weight: 600; caption-side: top; }
th, td { padding: .4rem .75rem; border-top: 1px solid var(--line); text-align: left; vertical-align: top; }
thead th { background: var(--soft); font-weight: 600; white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.badge { display: inline-block; padding: 0 .45rem; border-radius: 999px; font-size: .8rem; font-weight: 600; white-space: nowrap; border: 1px solid transparent; }
.badge.pass { color: var(--pass); background: var(--pass-bg); border-color: #aceebb; }
.badge.fail { color: var(--fail); background: var(--fail-bg); border-color: #ffcecb; }
.badge.warn { color: var(--warn); background: var(--warn-bg); border-color: #f5e0a0; }
.badge.info { color: var(--muted); background: var(--soft); border-color: var(--line); }
.score.pass { color: var(--pass); } .score.fail { color: var(--fail); font-weight: 600; } .score.err { color: var(--warn); font-weight: 600; }
form.filters { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: flex-end; margin: .5rem 0; }
form.filters label, form.stack label { display: flex; flex-direction: column; font-size: .85rem; color: var(--muted); gap: .15rem; }
input, select, textarea, button { font: inherit; color: inherit; }
input[type="text"], input[type="password"], select, textarea { border: 1px solid #8c959f; border-radius: 6px; padding: .35rem .5rem; background: var(--bg); min-width: 10rem; max-width: 100%; }
textarea { width: 100%; min-height: 4rem; }
button, .button { border: 1px solid #8c959f; background: var(--soft); border-radius: 6px; padding: .35rem .9rem; cursor: pointer; text-decoration: none; color: var(--fg); display: inline-block; }
button.primary { background: #1f883d; border-color: #1a7f37; color: #fff; }
.pager { display: flex; flex-wrap: wrap; gap: .75rem; align-items: center; margin: .5rem 0 1rem; }
.text { white-space: pre-wrap; overflow-wrap: anywhere; background: var(--soft); border: 1px solid var(--line); border-radius: 6px; padding: .5rem .75rem; margin: .25rem 0 .75rem; max-height: 24rem; overflow-y: auto; }
.grid2 { display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: .6rem .9rem; margin: .75rem 0; }
.card h3 { margin-top: 0; display: flex; flex-wrap: wrap; gap: .5rem; align-items: baseline; }
fieldset .field { display: flex; flex-direction: column; align-items: flex-start; gap: .2rem; margin: .5rem 0; }
fieldset .field textarea { align-self: stretch; }
fieldset { border: 1px solid var(--line); border-radius: 6px; margin: .5rem 0; padding: .5rem .9rem .75rem; }
legend { font-weight: 600; padding: 0 .25rem; }
.choices { display: flex; flex-wrap: wrap; gap: .25rem 1.25rem; margin: .25rem 0 .5rem; }
.choices label { display: inline-flex; gap: .35rem; align-items: center; color: var(--fg); font-size: .95rem; }
.notice { border: 1px solid #54aeff; background: #ddf4ff; border-radius: 6px; padding: .5rem .75rem; margin: .5rem 0 1rem; }
.error-box { border: 1px solid #ff8182; background: var(--fail-bg); border-radius: 6px; padding: .5rem .75rem; margin: .5rem 0 1rem; }
.login { max-width: 28rem; margin: 3rem auto; }
.login form { display: flex; flex-direction: column; gap: .75rem; }
.login input { width: 100%; }
svg.chart { width: 100%; height: auto; max-width: 900px; border: 1px solid var(--line); border-radius: 6px; background: var(--bg); }
svg.chart .axis { stroke: #8c959f; stroke-width: 1; }
svg.chart .line { fill: none; stroke: var(--focus); stroke-width: 2; }
svg.chart .dot { fill: var(--focus); }
svg.chart text { fill: var(--muted); font-size: 11px; }
meter { width: 6rem; height: .9rem; vertical-align: middle; }
details summary { cursor: pointer; }
dl.pairs { display: grid; grid-template-columns: max-content 1fr; gap: .15rem 1rem; margin: .25rem 0; }
dl.pairs dt { color: var(--muted); } dl.pairs dd { margin: 0; overflow-wrap: anywhere; }
.visually-hidden { position: absolute !important; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
@media (max-width: 720px) {
  html { font-size: 14px; }
  main { padding: .75rem .75rem 2rem; }
  .grid2 { grid-template-columns: 1fr; }
  header.top { padding: .5rem .75rem; }
  header.top .who { margin-left: 0; }
  th, td { padding: .35rem .5rem; }
}
`;

/** Progressive enhancement only: every page works without it. A filter applies as soon as a choice changes. */
const JS = `
document.addEventListener('change', function (event) {
  var target = event.target;
  if (target && target.matches && target.matches('form[data-autosubmit] select')) target.form.requestSubmit();
});
`;

const named = (stem: string, ext: string, body: string) => ({
  name: `${stem}.${createHash('sha256').update(body).digest('hex').slice(0, 12)}.${ext}`,
  body,
  type: ext === 'css' ? 'text/css; charset=utf-8' : 'text/javascript; charset=utf-8',
});

export const ASSETS = { css: named('viewer', 'css', CSS), js: named('viewer', 'js', JS) } as const;

/** The asset of that name, or undefined. */
export const assetNamed = (name: string) => Object.values(ASSETS).find((asset) => asset.name === name);

/**
 * The headers every viewer response carries. Nothing but the viewer's own origin may serve a script, a style, an
 * image or a form target; no inline script or style at all; no framing; no referrer (a link's token must not
 * travel in one).
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
};
