// Building DOM nodes. Every value goes in as a text node or an attribute value, never as
// markup: message content, file names and peer texts can hold anything.

const SVG_NS = 'http://www.w3.org/2000/svg';

function fill(node, props, children) {
  for (const [name, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'class') node.setAttribute('class', value);
    else if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** An HTML element with attributes, listeners (`onclick`) and children (nodes or text). */
export function el(tag, props, ...children) {
  return fill(document.createElement(tag), props, children);
}

/** An SVG element, built the same way. */
export function svg(tag, props, ...children) {
  return fill(document.createElementNS(SVG_NS, tag), props, children);
}

/** Replaces every child of `node`. */
export function replace(node, ...children) {
  node.replaceChildren();
  return fill(node, {}, children);
}

/** A link to a route of this UI, e.g. `link('#/message/12', '12')`. */
export function link(route, ...children) {
  return el('a', { href: route }, ...children);
}

/** A table with a header row and body rows (arrays of cells: nodes or text). */
export function table(headings, rows, props) {
  return el('table', props || { class: 'grid' },
    el('thead', {}, el('tr', {}, headings.map((h) => el('th', {}, h)))),
    el('tbody', {}, rows));
}

/** A status badge whose colour follows the status name. */
export function badge(text, kind) {
  const tone = String(kind || text).toLowerCase().replace(/[^a-z]/g, '');
  return el('span', { class: `badge badge-${tone}` }, text);
}

/** How long ago `time` (an RFC 3339 string) was, short: `4s`, `3m 10s`, `2h 5m`. */
export function age(time) {
  if (!time) return '';
  const seconds = Math.max(0, Math.round((Date.now() - Date.parse(time)) / 1000));
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ${seconds % 60}s`;
  const hours = Math.floor(seconds / 3600);
  if (hours < 48) return `${hours}h ${Math.floor((seconds % 3600) / 60)}m`;
  return `${Math.floor(hours / 24)}d`;
}

/** A time shown in the browser's zone, to the millisecond. */
export function when(time) {
  if (!time) return '';
  const date = new Date(time);
  if (Number.isNaN(date.getTime())) return time;
  const pad = (n, w = 2) => String(n).padStart(w, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}` +
    `.${pad(date.getMilliseconds(), 3)}`;
}
