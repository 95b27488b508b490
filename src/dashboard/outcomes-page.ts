/**
 * The outcome lookup page: a form for a trace id; the script asks `api/outcomes` and shows the outcome.
 * Page and script are static, so a strict Content-Security-Policy (`script-src 'self'`) applies, and values
 * from Redis are inserted as text only, never as HTML.
 */
export const OUTCOMES_PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/** The HTML of the lookup page mounted at `<basePath>/outcomes`. */
export function outcomesPage(basePath: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>Outcome lookup · hubspot-batch-queue</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 48rem; padding: 0 1rem; color: #1d232b; }
  form { display: flex; align-items: center; gap: .5rem; margin: 1rem 0; }
  input { flex: 1; font: inherit; font-family: ui-monospace, monospace; padding: .4rem .6rem; }
  button { font: inherit; padding: .4rem 1rem; }
  #status { font-size: 1.4rem; font-weight: 600; }
  #status[data-status="succeeded"] { color: #1a7f37; }
  #status[data-status="failed"] { color: #cf222e; }
  #status[data-status="retrying"], #status[data-status="queued"] { color: #9a6700; }
  dl { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; }
  dt { color: #57606a; }
  dd { margin: 0; font-family: ui-monospace, monospace; overflow-wrap: anywhere; }
  .error { color: #cf222e; }
  #story { list-style: none; padding: 0; font-family: ui-monospace, monospace; font-size: .9rem; }
  #story li { padding: .15rem 0; overflow-wrap: anywhere; }
  #story li.call { padding-left: 1.5rem; }
  #story time { color: #57606a; margin-right: .75rem; }
</style>
</head>
<body>
<p><a href="${basePath}/">Bull Board</a></p>
<h1>Outcome lookup</h1>
<form id="lookup" action="${basePath}/outcomes" method="get">
  <label for="id">Trace id</label>
  <input id="id" name="id" autocomplete="off" spellcheck="false" required maxlength="128" placeholder="objectWriteTraceId">
  <button type="submit">Look up</button>
</form>
<section id="result" aria-live="polite" hidden>
  <p>Status: <span id="status"></span></p>
  <dl id="fields"></dl>
  <h2>Story</h2>
  <ol id="story"></ol>
</section>
<p id="message" class="error" role="alert"></p>
<script src="${basePath}/outcomes.js"></script>
</body>
</html>
`;
}

/** The lookup page's script; it needs the API path only. */
export function outcomesScript(basePath: string): string {
  return `'use strict';
(() => {
  const api = ${JSON.stringify(`${basePath}/api/outcomes`)};
  const form = document.getElementById('lookup');
  const input = document.getElementById('id');
  const result = document.getElementById('result');
  const statusEl = document.getElementById('status');
  const fields = document.getElementById('fields');
  const message = document.getElementById('message');
  const storyEl = document.getElementById('story');
  const time = (ms) => (typeof ms === 'number' && ms > 0 ? new Date(ms).toISOString() : undefined);

  function show(outcome) {
    statusEl.textContent = outcome.status;
    statusEl.dataset.status = outcome.status;
    fields.replaceChildren();
    const rows = [
      ['Trace id', outcome.objectWriteTraceId],
      ['Account', outcome.account],
      ['Object', outcome.objectType + ' ' + (outcome.idProperty ? outcome.idProperty + '=' : '') + outcome.id],
      ['HubSpot id', outcome.hubspotObjectId],
      ['Attempts', String(outcome.attempts)],
      ['Enqueued', time(outcome.enqueuedAt)],
      ['Finished', time(outcome.finishedAt)],
      ['Error category', outcome.error && outcome.error.category],
      ['Error', outcome.error && outcome.error.message],
      ['HTTP status', outcome.error && outcome.error.httpStatus !== undefined ? String(outcome.error.httpStatus) : undefined],
    ];
    for (const [label, value] of rows) {
      if (value === undefined || value === '') continue;
      const dt = document.createElement('dt');
      dt.textContent = label;
      const dd = document.createElement('dd');
      dd.textContent = value;
      fields.append(dt, dd);
    }
    result.hidden = false;
  }

  function event(at, text, kind) {
    const li = document.createElement('li');
    if (kind) li.className = kind;
    const t = document.createElement('time');
    t.textContent = time(at) || '';
    li.append(t, document.createTextNode(text));
    storyEl.append(li);
  }

  // One line per event of the update's story, as \`explain\` prints it; every value inserted as text.
  function showStory(story, outcome) {
    storyEl.replaceChildren();
    if (!story) return;
    event(story.enqueuedAt, 'enqueued');
    if (story.ingestedAt) event(story.ingestedAt, 'ingested');
    for (const b of story.batches || []) {
      if (!b.recorded) {
        event(undefined, 'batch ' + b.batchId + ': no record of it (its worker stopped before settling it, or it expired)');
        continue;
      }
      let text = 'batch ' + b.batchId + ' (' + b.inputs + ' inputs, ' + b.updates + ' updates)';
      if (b.mergedWith.length > 0) text += ', merged with ' + b.mergedWith.join(', ');
      if (b.decided) text += ', decided before sending: ' + b.decided;
      event(b.claimedAt, text, 'batch');
      for (const c of b.calls) {
        const parts = [typeof c.status === 'number' ? 'HTTP ' + c.status : String(c.status)];
        if (c.policyName) parts.push('policy ' + c.policyName);
        parts.push('correlation id ' + (c.correlationId || '-'), 'attempt ' + c.attempt,
          'waited ' + c.waitedMs + ' ms for budget', 'took ' + c.latencyMs + ' ms');
        event(c.at, 'call: ' + parts.join(', '), 'call');
      }
    }
    event(outcome.finishedAt, 'outcome: ' + outcome.status + (outcome.error ? ' (' + outcome.error.category + ')' : ''));
  }

  async function lookup(id) {
    message.textContent = '';
    result.hidden = true;
    try {
      const res = await fetch(api + '?id=' + encodeURIComponent(id), { headers: { accept: 'application/json' } });
      const body = await res.json();
      if (res.ok && body.outcome) {
        show(body.outcome);
        showStory(body.story, body.outcome);
      }
      else message.textContent = body.error || 'lookup failed (HTTP ' + res.status + ')';
    } catch (err) {
      message.textContent = 'lookup failed: ' + (err && err.message ? err.message : String(err));
    }
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const id = input.value.trim();
    if (!id) return;
    // The address names the lookup, so it can be shared and reloaded.
    history.replaceState(null, '', '?id=' + encodeURIComponent(id));
    lookup(id);
  });
  const initial = new URLSearchParams(location.search).get('id');
  if (initial) {
    input.value = initial;
    lookup(initial);
  }
})();
`;
}
