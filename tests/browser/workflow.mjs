// The everyday workflow in a real browser: log in; watch the queue of a disabled
// operation grow live as MLLP messages arrive, enable it and watch it drain; find a
// message by MSH-10; open its detail and its trace; resend it after confirming; read the
// event log. Extra environment: FERRY_MLLP (host:port of the MLLP service).

import { api, assert, clickConfirmed, login, need, run, sendMllp, shot, step } from './harness.mjs';

function message(n) {
  const id = `MSG${String(n).padStart(4, '0')}`;
  return `MSH|^~\\&|SENDAPP|SENDFAC|FERRY|HUB|20240101120000||ADT^A01^ADT_A01|${id}|P|2.5.1\r` +
    `PID|1||TEST${n}^^^TESTHOSP^MR||KELLER^ANNA\r`;
}

const depthCell = 'tr[data-item="Out"] .queue-depth';

async function depthBecomes(page, expected) {
  await page.waitForFunction(([cell, want]) => {
    const node = document.querySelector(cell);
    return node && node.textContent === want;
  }, [depthCell, String(expected)], { timeout: 30000 });
  step('queue depth', { item: 'Out', depth: expected });
}

await run('workflow', async (page) => {
  await login(page);
  await depthBecomes(page, 0);

  // Messages wait in the disabled operation's queue; the overview follows live.
  for (const n of [101, 102, 103]) {
    const ack = await sendMllp(need('FERRY_MLLP'), message(n));
    assert(ack.includes('MSA|AA'), `no AA for message ${n}: ${ack}`);
  }
  await depthBecomes(page, 3);
  await page.waitForFunction(() =>
    document.querySelector('tr[data-item="MLLP in"] .received').textContent === '3');
  assert(await page.textContent('tr[data-item="Out"] .state') === 'disabled', 'Out disabled');
  await shot(page, 'workflow-1-queued');

  await clickConfirmed(page, 'tr[data-item="Out"] button.toggle');
  await depthBecomes(page, 0);
  await page.waitForFunction(() =>
    document.querySelector('tr[data-item="Out"] .state').textContent === 'enabled');
  await shot(page, 'workflow-2-drained');

  // Search by MSH-10 and open the hop that went to the operation.
  await page.click('#nav a[data-page="messages"]');
  await page.waitForSelector('#search');
  await page.fill('#search-field', 'MSH-10');
  await page.fill('#search-value', 'MSG0102');
  await page.click('#search button[type=submit]');
  await page.waitForSelector('#results[data-query*="value=MSG0102"] #message-list');
  const found = await page.$$eval('#message-list tbody tr', (rows) =>
    rows.map((row) => [...row.cells].map((cell) => cell.textContent)));
  step('search', { found });
  assert(found.length >= 1 && found.every((cells) => cells.length === 9), 'search results');
  const toOut = found.find((cells) => cells[4] === 'Out');
  assert(toOut && toOut[6] === 'Completed', `the hop to Out completed: ${JSON.stringify(found)}`);
  await shot(page, 'workflow-3-search');

  await page.click(`#message-list a[href="#/message/${toOut[1]}"]`);
  await page.waitForSelector(`#message-header[data-id="${toOut[1]}"]`);
  await page.waitForSelector('section[data-segment="PID"]');
  const pid = await page.textContent('section[data-segment="PID"]');
  assert(pid.includes('PID-5') && pid.includes('Patient Name') && pid.includes('KELLER^ANNA'),
    `PID shown with field names: ${pid}`);
  const msh = await page.textContent('section[data-segment="MSH"]');
  assert(msh.includes('MSH-10') && msh.includes('Message Control ID') && msh.includes('MSG0102'),
    `MSH shown with field names: ${msh}`);
  await shot(page, 'workflow-4-detail');
  await page.click('button[data-tab="raw"]');
  const raw = await page.textContent('#body-raw');
  assert(raw.startsWith('MSH|^~\\&|SENDAPP'), `raw view: ${raw}`);

  // The trace: one arrow per hop, in order, each linking to its message.
  await page.click('.page-head a[href^="#/trace/"]');
  await page.waitForSelector('#trace-diagram a.hop');
  const hops = await page.$$eval('#trace-diagram a.hop', (links) =>
    links.map((a) => a.getAttribute('href')));
  step('trace', { hops });
  assert(hops.length === 2, `two hops (In → Router → Out): ${hops}`);
  await shot(page, 'workflow-5-trace');

  // Resend the hop to Out, after confirming.
  await page.click(`#trace-diagram a.hop[href="#/message/${toOut[1]}"]`);
  await page.waitForSelector(`#message-header[data-id="${toOut[1]}"]`);
  await clickConfirmed(page, 'button[data-action="resend"]');
  await page.waitForFunction(() =>
    /Resent as \d+/.test(document.getElementById('notice').textContent));
  const notice = await page.textContent('#notice');
  step('resent', { notice });
  const resent = Number(notice.match(/Resent as (\d+)/)[1]);
  const detail = await api(page, `/api/messages/${resent}`);
  assert(detail.body.header.resend_of === Number(toOut[1]), 'the resend points back');

  await page.goto(`${need('FERRY_UI')}#/trace/${detail.body.header.session}`);
  await page.waitForFunction(() => document.querySelectorAll('#trace-diagram a.hop').length === 3);
  await page.waitForSelector('#trace-diagram .resend-link');
  await shot(page, 'workflow-6-trace-with-resend');

  await page.click('#nav a[data-page="events"]');
  await page.waitForSelector('#event-list tbody tr');
  const events = await page.textContent('#event-list');
  assert(events.includes('item enabled'), 'the enable is in the event log');
  await shot(page, 'workflow-7-events');
});
