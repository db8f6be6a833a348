// Message search: the form's values live in the route (#/messages?...), so a search can
// be bookmarked and the back button works; results page backwards with `before`.

import { get } from './api.js';
import { messageAction } from './actions.js';
import { badge, el, link, replace, table, when } from './dom.js';

const STATUSES = ['Queued', 'Delivered', 'Completed', 'Error', 'Suspended', 'Discarded'];
const FIELDS = ['MSH-10', 'MSH-9', 'MSH-3', 'MSH-4', 'PID-3', 'PID-5', 'PV1-19', 'origin'];
const TEXT_FILTERS = ['doc_type', 'session', 'field', 'value'];

function localInput(iso) {
  if (!iso) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  const local = new Date(date.getTime() - date.getTimezoneOffset() * 60000);
  return local.toISOString().slice(0, 19);
}

function isoFromLocal(value) {
  return value ? new Date(value).toISOString() : '';
}

function select(name, choices, value, any) {
  return el('select', { name, id: `search-${name}` },
    el('option', { value: '' }, any),
    choices.map((c) => el('option', { value: c, selected: c === value }, c)));
}

function searchForm(items, params) {
  const names = items.map((i) => i.name);
  const input = (name, placeholder, extra) => el('input', {
    name, id: `search-${name}`, placeholder, value: params[name] || '', ...extra,
  });
  const form = el('form', { class: 'search', id: 'search' },
    el('label', {}, 'Source', select('source', names, params.source, 'any')),
    el('label', {}, 'Target', select('target', names, params.target, 'any')),
    el('label', {}, 'Status', select('status', STATUSES, params.status, 'any')),
    el('label', {}, 'Doc type', input('doc_type', 'ADT^A01')),
    el('label', {}, 'Session', input('session', 'id', { inputmode: 'numeric' })),
    el('label', {}, 'Field', input('field', 'MSH-10', { list: 'search-fields' })),
    el('label', {}, 'Value', input('value', '')),
    el('label', {}, 'From', el('input', {
      type: 'datetime-local', step: 1, name: 'from', value: localInput(params.from),
    })),
    el('label', {}, 'To', el('input', {
      type: 'datetime-local', step: 1, name: 'to', value: localInput(params.to),
    })),
    el('datalist', { id: 'search-fields' }, FIELDS.map((f) => el('option', { value: f }))),
    el('div', { class: 'search-buttons' },
      el('button', { type: 'submit', class: 'primary' }, 'Search'),
      el('button', { type: 'reset', class: 'link' }, 'Clear')));

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const query = new URLSearchParams();
    for (const name of ['source', 'target', 'status', ...TEXT_FILTERS]) {
      const value = String(data.get(name) || '').trim();
      if (value) query.set(name, value);
    }
    for (const name of ['from', 'to']) {
      const value = isoFromLocal(String(data.get(name) || ''));
      if (value) query.set(name, value);
    }
    location.hash = `#/messages?${query}`;
  });
  form.addEventListener('reset', () => { setTimeout(() => { location.hash = '#/messages'; }); });
  return form;
}

function resultRow(header, selected) {
  const box = el('input', { type: 'checkbox', 'aria-label': `select ${header.id}` });
  box.addEventListener('change', () => {
    if (box.checked) selected.add(header.id); else selected.delete(header.id);
  });
  return el('tr', { 'data-id': header.id },
    el('td', {}, box),
    el('td', { class: 'num' }, link(`#/message/${header.id}`, String(header.id))),
    el('td', { class: 'time' }, when(header.created)),
    el('td', {}, header.source),
    el('td', {}, header.target),
    el('td', {}, header.doc_type || ''),
    el('td', {}, badge(header.status)),
    el('td', { class: 'num' }, link(`#/trace/${header.session}`, String(header.session))),
    el('td', { class: 'reason' }, header.reason || ''));
}

export async function render(main, params) {
  const overview = await get('/api/overview');
  const form = searchForm(overview.items, params);
  const results = el('div', { id: 'results' });
  replace(main, el('div', { class: 'page-head' }, el('h1', {}, 'Messages')), form, results);

  const filters = { ...params };
  delete filters.id;
  const page = await get('/api/messages', filters);
  const selected = new Set();
  const rows = page.messages.map((h) => resultRow(h, selected));
  const all = el('input', { type: 'checkbox', 'aria-label': 'select all shown' });
  all.addEventListener('change', () => {
    for (const row of rows) {
      const box = row.querySelector('input[type=checkbox]');
      if (box.checked !== all.checked) {
        box.checked = all.checked;
        box.dispatchEvent(new Event('change'));
      }
    }
  });

  const bulk = ['resend', 'suspend', 'discard'].map((action) => {
    const button = el('button', { type: 'button', class: 'small', 'data-action': action },
      `${action[0].toUpperCase()}${action.slice(1)} selected`);
    button.addEventListener('click', async () => {
      if (!selected.size) return;
      if (await messageAction(action, [...selected])) render(main, params);
    });
    return button;
  });
  const paging = [];
  if (params.before) {
    const first = new URLSearchParams(filters);
    first.delete('before');
    paging.push(link(`#/messages?${first}`, '« Newest'));
  }
  if (page.next_before) {
    const next = new URLSearchParams(filters);
    next.set('before', page.next_before);
    paging.push(link(`#/messages?${next}`, 'Older »'));
  }

  // Marks which search the results are for, so a reader can tell a new page from the last.
  results.setAttribute('data-query', new URLSearchParams(filters).toString());
  replace(results,
    el('div', { class: 'toolbar' },
      el('span', { class: 'muted' }, `${page.messages.length} shown`), ...bulk,
      el('span', { class: 'spacer' }), ...paging),
    page.messages.length
      ? table([all, 'ID', 'Created', 'Source', 'Target', 'Doc type', 'Status', 'Session',
        'Reason'], rows, { class: 'grid messages', id: 'message-list' })
      : el('p', { class: 'empty' }, 'No message matches.'));
}
