// The visual trace of a session: one lane per item, in the order the message reached
// them, and one arrow per hop from its source lane to its target lane, in id order. The
// arrow's colour is the hop's status; its label gives the id, the time since the session
// began and how long the hop took. Grey links join a hop to its parent, dashed orange
// ones a resend to the hop it repeats. Every hop links to its message.

import { get } from './api.js';
import { badge, el, link, replace, svg, table, when } from './dom.js';

const LANE = 200;
const MARGIN = 24;
const HEAD = 44;
const ROW = 64;
const STATUSES = ['queued', 'delivered', 'completed', 'error', 'suspended', 'discarded'];

function ms(from, to) {
  return Date.parse(to) - Date.parse(from);
}

function duration(millis) {
  if (millis < 1000) return `${millis} ms`;
  if (millis < 60000) return `${(millis / 1000).toFixed(2)} s`;
  return `${Math.floor(millis / 60000)} min ${Math.round((millis % 60000) / 1000)} s`;
}

function short(text, max) {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function lanesOf(hops) {
  const lanes = [];
  for (const hop of hops) {
    for (const name of [hop.source, hop.target]) if (!lanes.includes(name)) lanes.push(name);
  }
  return lanes;
}

function markers() {
  return svg('defs', {}, STATUSES.map((status) => svg('marker', {
    id: `arrow-${status}`, viewBox: '0 0 10 10', refX: 9, refY: 5,
    markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse',
  }, svg('path', { d: 'M0,0 L10,5 L0,10 z', class: `arrowhead st-${status}` }))));
}

function laneHeads(lanes, height) {
  return lanes.map((name, i) => {
    const x = MARGIN + i * LANE;
    return svg('g', { class: 'lane' },
      svg('line', { x1: x + LANE / 2, y1: HEAD, x2: x + LANE / 2, y2: height, class: 'lifeline' }),
      svg('rect', { x: x + 8, y: 6, width: LANE - 16, height: 28, rx: 4, class: 'lane-box' }),
      svg('text', { x: x + LANE / 2, y: 25, 'text-anchor': 'middle', class: 'lane-name' },
        svg('title', {}, name), short(name, 24)));
  });
}

function hopShape(hop, row, lanes, start) {
  const status = hop.status.toLowerCase();
  const y = HEAD + 28 + row * ROW;
  const from = MARGIN + lanes.indexOf(hop.source) * LANE + LANE / 2;
  const to = MARGIN + lanes.indexOf(hop.target) * LANE + LANE / 2;
  const resend = hop.resend_of !== null;
  const line = from === to
    ? svg('path', {
      d: `M${from},${y - 8} h40 v16 h-36`, class: `hop-line st-${status}`,
      'marker-end': `url(#arrow-${status})`,
    })
    : svg('line', {
      x1: from, y1: y, x2: to + (to > from ? -6 : 6), y2: y,
      class: `hop-line st-${status}${resend ? ' resend' : ''}`,
      'marker-end': `url(#arrow-${status})`,
    });
  const middle = from === to ? from + 60 : (from + to) / 2;
  const label = `#${hop.id} ${hop.status}`;
  const since = `+${duration(ms(start, hop.created))}`;
  const took = ['Completed', 'Error', 'Discarded'].includes(hop.status)
    ? ` · took ${duration(ms(hop.created, hop.updated))}` : '';
  const detail = [hop.doc_type, resend ? `resend of #${hop.resend_of}` : null]
    .filter(Boolean).join(' · ');

  return svg('a', { href: `#/message/${Number(hop.id)}`, class: 'hop', 'data-id': hop.id },
    svg('title', {}, `${hop.source} → ${hop.target}${hop.reason ? `: ${hop.reason}` : ''}`),
    svg('rect', {
      x: Math.min(from, to, middle - 62) - 4, y: y - 26,
      width: Math.abs(to - from) + 132, height: ROW - 8, class: 'hit',
    }),
    line,
    svg('rect', {
      x: middle - 62, y: y - 22, width: 124, height: 16, rx: 3, class: `hop-box st-${status}`,
    }),
    svg('text', { x: middle, y: y - 10, 'text-anchor': 'middle', class: 'hop-label' }, label),
    svg('text', { x: middle, y: y + 16, 'text-anchor': 'middle', class: 'hop-time' },
      `${since}${took}`),
    detail ? svg('text', { x: middle, y: y + 28, 'text-anchor': 'middle', class: 'hop-time' },
      short(detail, 40)) : null);
}

function links(hops, lanes) {
  const rowOf = new Map(hops.map((hop, i) => [hop.id, i]));
  const y = (row) => HEAD + 28 + row * ROW;
  const x = (name) => MARGIN + lanes.indexOf(name) * LANE + LANE / 2;
  const paths = [];
  hops.forEach((hop, row) => {
    const parent = rowOf.get(hop.parent);
    if (parent !== undefined) {
      const p = hops[parent];
      paths.push(svg('path', {
        d: `M${x(p.target) + 4},${y(parent) + 4} C${x(p.target) + 24},${y(parent) + 30} ` +
          `${x(hop.source) + 24},${y(row) - 30} ${x(hop.source) + 4},${y(row) - 4}`,
        class: 'parent-link',
      }));
    }
    const original = rowOf.get(hop.resend_of);
    if (original !== undefined) {
      const o = hops[original];
      paths.push(svg('path', {
        d: `M${x(o.source) - 4},${y(original)} C${x(o.source) - 40},${y(original)} ` +
          `${x(hop.source) - 40},${y(row)} ${x(hop.source) - 4},${y(row)}`,
        class: 'resend-link',
      }));
    }
  });
  return paths;
}

/** The SVG diagram of `hops` (headers in id order). */
export function diagram(hops) {
  const lanes = lanesOf(hops);
  const width = MARGIN * 2 + lanes.length * LANE + 40;
  const height = HEAD + 28 + hops.length * ROW;
  const start = hops[0].created;
  return svg('svg', {
    class: 'trace', id: 'trace-diagram', 'data-session': Number(hops[0].session),
    width, height, viewBox: `0 0 ${width} ${height}`,
    role: 'img', 'aria-label': 'session trace',
  }, markers(), laneHeads(lanes, height), links(hops, lanes),
  hops.map((hop, row) => hopShape(hop, row, lanes, start)));
}

export async function render(main, params) {
  const trace = await get(`/api/sessions/${Number(params.id)}/trace`);
  const hops = trace.hops;
  const start = hops[0].created;
  const rows = hops.map((hop) => el('tr', {},
    el('td', { class: 'num' }, link(`#/message/${Number(hop.id)}`, String(hop.id))),
    el('td', { class: 'num' }, hop.parent === null ? '' : String(hop.parent)),
    el('td', { class: 'num' }, hop.resend_of === null ? '' : String(hop.resend_of)),
    el('td', {}, hop.source), el('td', {}, hop.target), el('td', {}, hop.doc_type || ''),
    el('td', {}, badge(hop.status)),
    el('td', { class: 'time' }, when(hop.created)),
    el('td', { class: 'num' }, `+${duration(ms(start, hop.created))}`),
    el('td', { class: 'reason' }, hop.reason || '')));
  replace(main,
    el('div', { class: 'page-head' }, el('h1', {}, `Session ${trace.session}`),
      el('span', { class: 'muted' }, `${hops.length} hops`)),
    el('div', { class: 'trace-wrap' }, diagram(hops)),
    table(['ID', 'Parent', 'Resend of', 'Source', 'Target', 'Doc type', 'Status', 'Created',
      'Since start', 'Reason'], rows, { class: 'grid hops', id: 'trace-hops' }));
}
