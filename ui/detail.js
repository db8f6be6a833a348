// One message: its header, actions, and its body shown as segments (HL7), re-indented
// (XML, JSON) or raw, its search fields and properties, and the response kept with it.

import { get, messagePath } from './api.js';
import { messageAction } from './actions.js';
import { badge, el, link, replace, table, when } from './dom.js';
import { segmentView } from './hl7.js';
import { prettyJson, prettyXml } from './pretty.js';

function idLink(id, route) {
  return id === null || id === undefined ? '' : link(`${route}${Number(id)}`, String(id));
}

function headerList(h) {
  const rows = [
    ['ID', String(h.id)],
    ['Session', link(`#/trace/${Number(h.session)}`, `${h.session} (trace)`)],
    ['Parent', idLink(h.parent, '#/message/')],
    ['Resend of', idLink(h.resend_of, '#/message/')],
    ['Source', h.source],
    ['Target', h.target],
    ['Status', badge(h.status)],
    ['Doc type', h.doc_type || ''],
    ['Created', when(h.created)],
    ['Updated', when(h.updated)],
    ['Attempts', String(h.attempts)],
    ['Possible duplicate', h.possible_duplicate ? 'yes' : 'no'],
    ['Reason', h.reason || ''],
  ];
  return el('dl', { class: 'header', id: 'message-header', 'data-id': Number(h.id) },
    rows.map(([name, value]) => [el('dt', {}, name), el('dd', { 'data-name': name }, value)]));
}

/** Body text as a raw view: HL7 segment terminators (CR) shown as line ends. */
function rawText(body) {
  if (!body || body.text === null) return '';
  return body.kind === 'hl7v2' ? body.text.replace(/\r\n?/g, '\n') : body.text;
}

function pretty(body) {
  if (!body || body.text === null) return null;
  if (body.kind === 'json') return prettyJson(body.text);
  if (body.kind === 'xml') return prettyXml(body.text);
  return null;
}

function bodyFacts(body) {
  if (!body) return 'The body was purged.';
  const charset = body.charset ? `, ${body.charset}` : '';
  const cut = body.truncated ? ' (shown up to 1 MiB; the download has all)' : '';
  return `${body.kind}${charset}, ${body.size} bytes${cut}`;
}

function views(detail) {
  const { header, body, response, fields } = detail;
  const id = Number(header.id);
  const tabs = [];
  if (body && body.kind === 'hl7v2' && body.text !== null) {
    tabs.push(['segments', 'Segments', segmentView(body.text)]);
  }
  const prettyText = pretty(body);
  if (prettyText !== null) {
    tabs.push(['pretty', body.kind === 'xml' ? 'XML' : 'JSON',
      el('pre', { class: 'body pretty', id: 'body-pretty' }, prettyText)]);
  }
  tabs.push(['raw', 'Raw', el('div', {},
    el('div', { class: 'toolbar' }, el('span', { class: 'muted' }, bodyFacts(body)),
      body ? el('a', { href: `${messagePath(id)}/raw`, download: '' }, 'Download') : null),
    body && body.text === null
      ? el('p', { class: 'empty' }, 'Binary body: download it to look at it.')
      : el('pre', { class: 'body raw', id: 'body-raw' }, rawText(body)))]);
  tabs.push(['fields', `Fields & properties (${fields.length})`, fields.length
    ? table(['Field', 'Value'], fields.map((f) => el('tr', {},
      el('td', { class: 'pos' }, f.field), el('td', { class: 'value' }, f.value))),
    { class: 'grid fields', id: 'message-fields' })
    : el('p', { class: 'empty' }, 'No search fields or properties.')]);
  if (response) {
    tabs.push(['response', 'Response', el('div', {},
      el('div', { class: 'toolbar' }, el('span', { class: 'muted' }, bodyFacts(response)),
        el('a', { href: `${messagePath(id)}/response/raw`, download: '' }, 'Download')),
      response.kind === 'hl7v2' && response.text !== null ? segmentView(response.text) : null,
      el('pre', { class: 'body', id: 'response-raw' }, rawText(response)))]);
  }
  return tabs;
}

function tabbed(tabs) {
  const panels = tabs.map(([name, , content]) =>
    el('div', { class: 'panel', 'data-panel': name, hidden: true }, content));
  const buttons = tabs.map(([name, label], i) => {
    const button = el('button', { type: 'button', class: 'tab', 'data-tab': name }, label);
    button.addEventListener('click', () => {
      buttons.forEach((b, j) => b.classList.toggle('active', i === j));
      panels.forEach((p, j) => { p.hidden = i !== j; });
    });
    return button;
  });
  if (buttons.length) {
    buttons[0].classList.add('active');
    panels[0].hidden = false;
  }
  return el('div', { class: 'tabs' }, el('div', { class: 'tab-bar' }, buttons), panels);
}

export async function render(main, params) {
  const detail = await get(messagePath(params.id));
  const h = detail.header;

  const actions = ['resend', 'suspend', 'discard'].map((action) => {
    const button = el('button', { type: 'button', 'data-action': action },
      `${action[0].toUpperCase()}${action.slice(1)}`);
    button.addEventListener('click', async () => {
      const results = await messageAction(action, [h.id]);
      if (results) render(main, params);
    });
    return button;
  });
  replace(main,
    el('div', { class: 'page-head' },
      el('h1', {}, `Message ${h.id}`), badge(h.status),
      el('span', { class: 'muted' }, `${h.source} → ${h.target}`),
      el('span', { class: 'spacer' }),
      link(`#/trace/${Number(h.session)}`, 'Trace'), ...actions),
    el('div', { class: 'detail' }, headerList(h), tabbed(views(detail))));
}
