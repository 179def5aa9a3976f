import { createHash } from 'node:crypto';

/**
 * The viewer's only static files, served by the viewer itself (no CDN, nothing fetched elsewhere). They live in
 * this module rather than beside it so that the compiled services and the evalctl package carry them without
 * a copy step. The names carry a hash of the content, so browsers may keep them for good.
 */
const CSS = `
:root { color-scheme: light dark; --fg: #1b1f24; --muted: #57606a; --line: #d0d7de; --bg: #ffffff; --soft: #f6f8fa;
  --pass: #116329; --pass-bg: #dafbe1; --pass-line: #aceebb; --fail: #a40e26; --fail-bg: #ffebe9; --fail-line: #ffcecb;
  --warn: #7d4e00; --warn-bg: #fff8c5; --warn-line: #f5e0a0; --link: #0550ae; --focus: #0969da; --field: #8c959f;
  --notice-bg: #ddf4ff; --notice-line: #54aeff; --mark: #fff2a8; --ins: #ccffd8; --del: #ffd7d5;
  --s0: #0969da; --s1: #bf3989; --s2: #1a7f37; --s3: #9a6700; --s4: #8250df; --s5: #57606a; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e6edf3; --muted: #9da7b3; --line: #3d444d; --bg: #0d1117; --soft: #161b22;
    --pass: #56d364; --pass-bg: #12261e; --pass-line: #2ea04366; --fail: #ff7b72; --fail-bg: #2d1214; --fail-line: #f8514966;
    --warn: #e3b341; --warn-bg: #2b2111; --warn-line: #bb800966; --link: #58a6ff; --focus: #58a6ff; --field: #6e7681;
    --notice-bg: #0c2d4b; --notice-line: #1f6feb; --mark: #6b5b00; --ins: #1b4721; --del: #67060c;
    --s0: #58a6ff; --s1: #f778ba; --s2: #56d364; --s3: #e3b341; --s4: #bc8cff; --s5: #9da7b3; }
}
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
.badge.pass { color: var(--pass); background: var(--pass-bg); border-color: var(--pass-line); }
.badge.fail { color: var(--fail); background: var(--fail-bg); border-color: var(--fail-line); }
.badge.warn { color: var(--warn); background: var(--warn-bg); border-color: var(--warn-line); }
.badge.info { color: var(--muted); background: var(--soft); border-color: var(--line); }
ol.spans { list-style: none; padding-left: 0; }
ol.spans li { margin: .25rem 0; }
ol.spans li.depth-1 { margin-left: 1.5rem; } ol.spans li.depth-2 { margin-left: 3rem; } ol.spans li.depth-3 { margin-left: 4.5rem; } ol.spans li.depth-4 { margin-left: 6rem; }
ol.spans .message pre { white-space: pre-wrap; overflow-wrap: anywhere; margin: .25rem 0 .5rem; }
.score.pass { color: var(--pass); } .score.fail { color: var(--fail); font-weight: 600; } .score.err { color: var(--warn); font-weight: 600; }
form.filters { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: flex-end; margin: .5rem 0; }
form.filters label, form.stack label { display: flex; flex-direction: column; font-size: .85rem; color: var(--muted); gap: .15rem; }
input, select, textarea, button { font: inherit; color: inherit; }
input[type="text"], input[type="password"], input[type="search"], select, textarea { border: 1px solid var(--field); border-radius: 6px; padding: .35rem .5rem; background: var(--bg); min-width: 10rem; max-width: 100%; }
textarea { width: 100%; min-height: 4rem; }
button, .button { border: 1px solid var(--field); background: var(--soft); border-radius: 6px; padding: .35rem .9rem; cursor: pointer; text-decoration: none; color: var(--fg); display: inline-block; }
button.primary, .button.primary { background: #1f883d; border-color: #1a7f37; color: #fff; }
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
.notice { border: 1px solid var(--notice-line); background: var(--notice-bg); border-radius: 6px; padding: .5rem .75rem; margin: .5rem 0 1rem; }
.error-box { border: 1px solid var(--fail-line); background: var(--fail-bg); border-radius: 6px; padding: .5rem .75rem; margin: .5rem 0 1rem; }
.login { max-width: 28rem; margin: 3rem auto; }
.login form { display: flex; flex-direction: column; gap: .75rem; }
.login input { width: 100%; }
svg.chart { width: 100%; height: auto; max-width: 900px; border: 1px solid var(--line); border-radius: 6px; background: var(--bg); }
svg.chart .axis { stroke: var(--field); stroke-width: 1; }
svg.chart .line { fill: none; stroke: var(--s0); stroke-width: 2; }
svg.chart .dot { fill: var(--s0); }
svg.chart .s1 .line { stroke: var(--s1); } svg.chart .s1 .dot { fill: var(--s1); }
svg.chart .s2 .line { stroke: var(--s2); } svg.chart .s2 .dot { fill: var(--s2); }
svg.chart .s3 .line { stroke: var(--s3); } svg.chart .s3 .dot { fill: var(--s3); }
svg.chart .s4 .line { stroke: var(--s4); } svg.chart .s4 .dot { fill: var(--s4); }
svg.chart .s5 .line { stroke: var(--s5); } svg.chart .s5 .dot { fill: var(--s5); }
svg.chart .bar.s0 { fill: var(--s0); } svg.chart .bar.s1 { fill: var(--s1); }
svg.chart text { fill: var(--muted); font-size: 11px; }
svg.chart.small { max-width: 420px; }
figure { margin: .5rem 0 1rem; } figcaption { color: var(--muted); font-size: .85rem; display: flex; flex-wrap: wrap; gap: .25rem 1rem; }
.legend { display: inline-flex; align-items: center; gap: .3rem; }
.swatch { display: inline-block; width: .8rem; height: .8rem; border-radius: 2px; background: var(--s0); }
.swatch.s1 { background: var(--s1); } .swatch.s2 { background: var(--s2); } .swatch.s3 { background: var(--s3); } .swatch.s4 { background: var(--s4); } .swatch.s5 { background: var(--s5); }
.histograms { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 20rem), 1fr)); gap: .5rem 1rem; }
mark { background: var(--mark); color: inherit; padding: 0 1px; border-radius: 2px; }
ins { background: var(--ins); text-decoration: none; } del { background: var(--del); text-decoration: line-through; }
table.grid tbody th { white-space: nowrap; }
table.grid td.cell-text { min-width: 14rem; max-width: 28rem; overflow-wrap: anywhere; }
table.grid tbody tr.current { outline: 2px solid var(--focus); outline-offset: -2px; }
td.cell-diff { min-width: 24rem; }
table.changes tbody th { white-space: nowrap; }
details.clip summary, details.reason summary { list-style: none; }
details.clip summary::-webkit-details-marker, details.reason summary::-webkit-details-marker { display: none; }
details.clip[open] summary { display: none; }
details.reason .why { white-space: normal; text-align: left; font-weight: 400; color: var(--fg); max-width: 22rem; margin-top: .25rem; }
.grid-tools { display: flex; flex-wrap: wrap; gap: .5rem 1.5rem; align-items: baseline; margin: .25rem 0; }
fieldset.range { display: flex; flex-wrap: wrap; gap: .25rem .75rem; margin: 0; padding: .1rem .6rem .4rem; }
fieldset.range legend { font-weight: 400; font-size: .85rem; color: var(--muted); }
fieldset.range input { min-width: 4rem; width: 5rem; }
kbd { border: 1px solid var(--line); border-radius: 4px; padding: 0 .3rem; font-size: .8rem; background: var(--soft); }
ul.plain { list-style: none; padding: 0; margin: 0; } ul.actions { display: flex; flex-wrap: wrap; gap: .5rem; }
td.means { min-width: 12rem; } td.means .mean { display: inline-block; margin-right: .75rem; white-space: nowrap; }
td.when { white-space: nowrap; }
.small { font-size: .8rem; }
table.scores { width: auto; font-size: .85rem; } table.scores th, table.scores td { border: 0; padding: .05rem .4rem .05rem 0; }
meter { width: 6rem; height: .9rem; vertical-align: middle; }
details summary { cursor: pointer; }
dl.pairs { display: grid; grid-template-columns: max-content 1fr; gap: .15rem 1rem; margin: .25rem 0; }
dl.pairs dt { color: var(--muted); } dl.pairs dd { margin: 0; overflow-wrap: anywhere; }
.visually-hidden { position: absolute !important; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
@media (max-width: 720px) {
  html { font-size: 14px; }
  main { padding: .75rem .75rem 2rem; }
  .grid2 { grid-template-columns: 1fr; }
  .keys { display: none; }
  table.grid td.cell-text { min-width: 10rem; }
  td.cell-diff { min-width: 16rem; }
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
// Keyboard: "/" searches; j and k move through the grid's rows, Enter opens one; on a case page j and k (or the
// arrow keys) go to the next and previous case, u back to the grid, n to the next unreviewed case.
document.addEventListener('keydown', function (event) {
  if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
  var active = document.activeElement;
  var typing = active && (active.tagName === 'INPUT' || active.tagName === 'TEXTAREA' || active.tagName === 'SELECT' || active.isContentEditable);
  if (typing) {
    if (event.key === 'Escape' && active.blur) active.blur();
    return;
  }
  var key = event.key;
  if (key === '/') {
    var search = document.querySelector('[data-search-key]');
    if (search) { event.preventDefault(); search.focus(); search.select(); }
    return;
  }
  var rows = Array.prototype.slice.call(document.querySelectorAll('table[data-grid] tbody tr'));
  if (rows.length) {
    var current = document.querySelector('table[data-grid] tbody tr.current');
    var at = rows.indexOf(current);
    if (key === 'j' || key === 'k') {
      event.preventDefault();
      var next = key === 'j' ? Math.min(rows.length - 1, at + 1) : Math.max(0, at - 1);
      if (current) current.classList.remove('current');
      rows[next].classList.add('current');
      rows[next].scrollIntoView({ block: 'nearest' });
      var link = rows[next].querySelector('th a');
      if (link) link.focus({ preventScroll: true });
      return;
    }
    if (key === 'Enter' && current && current.dataset.href) { window.location.href = current.dataset.href; }
    return;
  }
  var map = { j: 'j', ArrowRight: 'j', k: 'k', ArrowLeft: 'k', u: 'u', n: 'n' };
  var target = map[key] && document.querySelector('a[data-key="' + map[key] + '"]');
  if (target) { event.preventDefault(); window.location.href = target.href; }
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
