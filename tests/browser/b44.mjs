// Field case B44: message content is shown as text, and no other site can act.
//
// The test sent, before this script runs: MSG2001 over MLLP with script and markup in PID
// and NTE; a JSON and an XML body over HTTP; M(2002) in a file named
// `<svg onload=window.ferryXss=5>.hl7`; M(2003) over AMQP with app_id
// `<script>window.ferryXss=6</script>`. All wait in the queue of the disabled operation
// `Held`. This script opens every page that shows them and checks that no script ran, no
// element came from them and their characters show as sent. Then a page on another
// origin auto-submits a form to the UI's discard action for MSG2001 and loads the action
// URLs as images: nothing changes, the POST gets 403, and the refusal is in the event log.

import http from 'node:http';
import { api, assert, login, need, run, shot, step } from './harness.mjs';

const SENT = [
  '<script>window.ferryXss=1</script>',
  '<b>TEST</b>',
  '<img src=x onerror="window.ferryXss=2">',
  '"note": "<svg onload=\\"window.ferryXss=3\\">"',
  '<![CDATA[</pre><script>window.ferryXss=4</script>]]>',
  '<svg onload=window.ferryXss=5>.hl7',
  '<script>window.ferryXss=6</script>',
];

/** Fails when any script from a message ran or any element came from one. */
async function clean(page, where) {
  const found = await page.evaluate(() => ({
    xss: typeof window.ferryXss,
    scripts: document.querySelectorAll('script').length,
    images: document.querySelectorAll('img').length,
    bold: document.querySelectorAll('main b').length,
    foreignSvg: document.querySelectorAll('svg:not(.trace)').length,
  }));
  assert(found.xss === 'undefined', `window.ferryXss was set on ${where}`);
  assert(found.scripts === 1 && found.images === 0 && found.bold === 0 && !found.foreignSvg,
    `elements from message content on ${where}: ${JSON.stringify(found)}`);
}

async function visit(page, route, ready) {
  await page.goto(`${need('FERRY_UI')}${route}`);
  await page.waitForSelector(ready);
  await clean(page, route);
  return page.textContent('main');
}

/** Every view of one message's detail page, as text. */
async function detailText(page, id) {
  let text = await visit(page, `#/message/${id}`, `#message-header[data-id="${id}"]`);
  const tabs = await page.$$eval('button.tab', (buttons) => buttons.map((b) => b.dataset.tab));
  for (const tab of tabs) {
    await page.click(`button[data-tab="${tab}"]`);
    await page.waitForSelector(`div[data-panel="${tab}"]:not([hidden])`);
    await clean(page, `message ${id}, ${tab}`);
    text += await page.textContent(`div[data-panel="${tab}"]`);
  }
  step('detail', { id, tabs });
  return text;
}

function evilPage(ui, id) {
  const target = (path) => new URL(path, ui).href.replace(/"/g, '&quot;');
  const actions = [
    `/api/messages/${id}/discard`, `/api/messages/${id}/resend`,
    `/api/messages/${id}/suspend`, '/api/items/Held/enable', '/api/items/Held/restart',
    '/api/messages/actions', '/api/logout',
  ];
  const images = actions.map((path) => `<img src="${target(path)}">`).join('\n');
  return `<!doctype html><html><body>
<h1>Win a prize</h1>
${images}
<form id="f" method="POST" action="${target(`/api/messages/${id}/discard`)}">
<input name="action" value="discard"></form>
<script>window.addEventListener('load', () => document.getElementById('f').submit());</script>
</body></html>`;
}

function serve(html) {
  return new Promise((resolve) => {
    const server = http.createServer((request, response) => {
      response.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      response.end(html);
    });
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

await run('b44', async (page) => {
  const ui = need('FERRY_UI');
  await login(page);
  await clean(page, 'the overview');

  // Wait until all five are stored (the file and AMQP services take theirs on their own).
  let list = null;
  for (let tries = 0; tries < 300; tries += 1) {
    list = (await api(page, '/api/messages?target=Held')).body.messages;
    if (list.length >= 5) break;
    await page.waitForTimeout(100);
  }
  assert(list.length === 5, `five messages stored: ${JSON.stringify(list)}`);

  let seen = await visit(page, '#/messages', '#message-list');
  await shot(page, 'b44-1-list');
  const searches = [
    ['MSH-10', 'MSG2001'],
    ['amqp.app_id', '<script>window.ferryXss=6</script>'],
  ];
  for (const [field, value] of searches) {
    await page.fill('#search-field', field);
    await page.fill('#search-value', value);
    await page.click('#search button[type=submit]');
    const query = new URLSearchParams({ field, value }).toString();
    await page.waitForSelector(`#results[data-query*="${query}"] #message-list`);
    const rows = await page.$$('#message-list tbody tr');
    assert(rows.length === 1, `one message has ${field} = ${value}: ${rows.length}`);
    await clean(page, `the search for ${field}`);
    seen += await page.textContent('main');
    step('search', { field, value });
  }
  await shot(page, 'b44-2-search');

  for (const header of list) {
    seen += await detailText(page, header.id);
    if (header.source === 'MLLP in') await shot(page, 'b44-3-detail-mllp');
    const diagram = `#trace-diagram[data-session="${header.session}"]`;
    seen += await visit(page, `#/trace/${header.session}`, diagram);
  }
  await shot(page, 'b44-4-trace');
  seen += await visit(page, '#/events', '#event-list');
  for (const text of SENT) assert(seen.includes(text), `shown as sent: ${text}`);
  step('shown as text', { values: SENT.length });

  // Raw downloads cannot become markup.
  const msg2001 = list.find((h) => h.source === 'MLLP in');
  const raw = await page.evaluate(async (id) => {
    const response = await fetch(`/api/messages/${id}/raw`);
    return {
      type: response.headers.get('content-type'),
      sniff: response.headers.get('x-content-type-options'),
      disposition: response.headers.get('content-disposition'),
      text: await response.text(),
    };
  }, msg2001.id);
  assert(raw.type.startsWith('text/plain') && raw.sniff === 'nosniff' &&
    raw.disposition.startsWith('attachment') && raw.text.includes(SENT[0]),
    `raw download: ${JSON.stringify(raw)}`);

  // Another origin, same browser, same session.
  const server = await serve(evilPage(ui, msg2001.id));
  const evil = `http://127.0.0.1:${server.address().port}/`;
  const refused = page.waitForResponse((response) =>
    response.request().method() === 'POST' && response.url().endsWith('/discard'));
  await page.goto(evil);
  const post = await refused;
  assert(post.status() === 403, `the cross-site POST got ${post.status()}`);
  step('cross-site form refused', { status: post.status(), from: evil });
  // The form's navigation ends on the UI's 403 answer; only then may the test move on.
  await page.waitForURL((url) => url.pathname.endsWith('/discard'));
  await page.waitForLoadState('load');
  server.close();

  await page.goto(`${ui}#/message/${msg2001.id}`);
  await page.waitForSelector(`#message-header[data-id="${msg2001.id}"]`);
  const after = await api(page, `/api/messages/${msg2001.id}`);
  assert(after.status === 200, 'still logged in: the GETs did not log out');
  assert(after.body.header.status === 'Queued', `MSG2001 is ${after.body.header.status}`);
  const overview = (await api(page, '/api/overview')).body;
  const held = overview.items.find((item) => item.name === 'Held');
  assert(!held.enabled, 'Held is still disabled');
  const stillHeld = (await api(page, '/api/messages?target=Held')).body.messages;
  assert(stillHeld.length === 5 && stillHeld.every((h) => h.status === 'Queued'),
    `nothing resent, suspended or discarded: ${JSON.stringify(stillHeld)}`);

  const events = await visit(page, '#/events', '#event-list');
  const refusal = `refused POST /api/messages/${msg2001.id}/discard: it came from ` +
    `'${evil.replace(/\/$/, '')}'`;
  assert(events.includes(refusal), `the refusal is in the event log: ${refusal}`);
  await shot(page, 'b44-5-events');
});
