// The production overview: every item with its state, queue and counts, kept current by
// the live stream (`depth` and `item` events), with enable/disable/restart actions.

import { get, post } from './api.js';
import { age, badge, el, link, replace, table, when } from './dom.js';
import { confirmed, notify } from './ui.js';

function stateOf(item) {
  if (item.role === undefined) return badge('unknown');
  if (!item.enabled) return badge('disabled');
  if (item.trouble) return badge(`trouble: ${item.trouble.state}`, 'trouble');
  return badge('enabled');
}

function itemPath(name, action) {
  return `/api/items/${encodeURIComponent(name)}/${action}`;
}

async function act(item, action, refresh) {
  const [verb, done] = {
    enable: ['Enable', 'Enabled'],
    disable: ['Disable', 'Disabled'],
    restart: ['Restart', 'Restarted'],
  }[action];
  const answer = await confirmed(`${verb} item “${item.name}”?`, verb,
    () => post(itemPath(item.name, action)));
  if (answer) {
    notify(`${done} item “${item.name}”.`);
    refresh();
  }
}

class Row {
  constructor(item, refresh) {
    this.item = item;
    this.cells = {
      state: el('td', { class: 'state' }),
      depth: el('td', { class: 'num queue-depth' }),
      oldest: el('td', { class: 'num oldest' }),
      received: el('td', { class: 'num received' }),
      processed: el('td', { class: 'num processed' }),
      errors: el('td', { class: 'num errors' }),
    };
    const toggle = el('button', { type: 'button', class: 'small toggle' });
    toggle.addEventListener('click', () =>
      act(this.item, this.item.enabled ? 'disable' : 'enable', refresh));
    this.toggle = toggle;
    const restart = el('button', { type: 'button', class: 'small restart' }, 'Restart');
    restart.addEventListener('click', () => act(this.item, 'restart', refresh));

    const c = this.cells;
    this.node = el('tr', { 'data-item': item.name },
      el('td', {}, link(`#/messages?target=${encodeURIComponent(item.name)}`, item.name)),
      el('td', {}, item.role),
      el('td', {}, item.kind),
      c.state, c.depth, c.oldest, c.received, c.processed, c.errors,
      el('td', { class: 'targets' }, item.targets.join(', ')),
      el('td', { class: 'actions' }, toggle, ' ', restart));
    this.show();
  }

  update(status) {
    Object.assign(this.item, status);
    this.show();
  }

  show() {
    const { item, cells } = this;
    const queued = item.role !== 'service';
    replace(cells.state, stateOf(item));
    if (item.trouble) cells.state.setAttribute('title', item.trouble.reason);
    else cells.state.removeAttribute('title');
    replace(cells.depth, queued ? String(item.queue_depth) : '–');
    cells.depth.classList.toggle('busy', queued && item.queue_depth > 0);
    this.tick();
    replace(cells.received, String(item.counts.received));
    replace(cells.processed, String(item.counts.processed));
    replace(cells.errors, String(item.counts.errors));
    cells.errors.classList.toggle('bad', item.counts.errors > 0);
    replace(this.toggle, item.enabled ? 'Disable' : 'Enable');
    this.node.classList.toggle('disabled', !item.enabled);
  }

  tick() {
    const oldest = this.item.queue_depth > 0 ? this.item.oldest_queued : null;
    replace(this.cells.oldest, oldest ? age(oldest) : '');
  }
}

/** How often counts are read again: they change with every message, not sent live. */
const COUNTS_EVERY_MS = 2000;

export async function render(main) {
  const body = el('div');
  const rows = new Map();

  async function build() {
    const overview = await get('/api/overview');
    const p = overview.production;
    rows.clear();
    const rowNodes = overview.items.map((item) => {
      const row = new Row(item, refresh);
      rows.set(item.name, row);
      return row.node;
    });
    replace(body,
      el('div', { class: 'page-head' },
        el('h1', {}, p.name),
        el('span', { class: 'muted' }, p.description || ''),
        el('span', { class: 'muted' }, `${p.file} · started ${when(p.started)}`)),
      table(['Item', 'Role', 'Kind', 'State', 'Queue', 'Oldest', 'Received', 'Processed',
        'Errors', 'Targets', ''], rowNodes, { class: 'grid items', id: 'items' }));
  }

  // Rows are updated in place, so a refresh never loses what the live stream showed.
  async function refresh() {
    const overview = await get('/api/overview');
    for (const item of overview.items) {
      const row = rows.get(item.name);
      if (row) row.update(item);
    }
  }

  await build();
  replace(main, body);
  const ticker = setInterval(() => rows.forEach((row) => row.tick()), 1000);
  const counter = setInterval(() => refresh().catch(() => {}), COUNTS_EVERY_MS);

  return {
    live(name, data) {
      if (name === 'depth') {
        const row = rows.get(data.item);
        if (row) row.update({ queue_depth: data.depth, oldest_queued: data.oldest_queued });
      } else if (name === 'item') {
        const row = rows.get(data.name);
        if (row) row.update(data);
      } else if (name === 'resync') {
        refresh();
      }
    },
    leave() {
      clearInterval(ticker);
      clearInterval(counter);
    },
  };
}
