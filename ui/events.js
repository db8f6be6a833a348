// The event log, newest first, paged backwards; on the first page new events arrive live.

import { get } from './api.js';
import { badge, el, link, replace, table, when } from './dom.js';

function row(event) {
  return el('tr', { 'data-id': event.id, class: `level-${event.level}` },
    el('td', { class: 'time' }, when(event.time)),
    el('td', {}, badge(event.level)),
    el('td', {}, event.kind),
    el('td', {}, event.item || ''),
    el('td', { class: 'num' },
      event.message === null ? '' : link(`#/message/${Number(event.message)}`,
        String(event.message))),
    el('td', {}, event.actor || ''),
    el('td', { class: 'text' }, event.text));
}

export async function render(main, params) {
  const page = await get('/api/events', { before: params.before, limit: 100 });
  const rows = page.events.map(row);
  const list = table(['Time', 'Level', 'Kind', 'Item', 'Message', 'Actor', 'Text'], rows,
    { class: 'grid events', id: 'event-list' });
  const paging = [];
  if (params.before) paging.push(link('#/events', '« Newest'));
  if (page.next_before) paging.push(link(`#/events?before=${Number(page.next_before)}`,
    'Older »'));
  replace(main,
    el('div', { class: 'page-head' }, el('h1', {}, 'Event log'),
      el('span', { class: 'spacer' }), ...paging),
    list, page.events.length ? null : el('p', { class: 'empty' }, 'No events.'));

  return {
    live(name, data) {
      if (name !== 'logged' || params.before) return;
      const body = list.querySelector('tbody');
      body.prepend(row(data));
    },
  };
}
