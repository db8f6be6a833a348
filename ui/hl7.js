// HL7 v2 shown segment by segment: each field with its position (PID-5) and, for the
// common segments, its standard name; components listed under the field. The delimiters
// come from the message's own MSH, so messages with unusual separators split correctly.

import { el, table } from './dom.js';
import { fieldName, segmentName } from './hl7fields.js';

/** The message's delimiters, read from MSH-1 and MSH-2 (standard ones otherwise). */
export function delimiters(text) {
  if (text.startsWith('MSH') && text.length >= 8) {
    return { field: text[3], component: text[4], repetition: text[5] };
  }
  return { field: '|', component: '^', repetition: '~' };
}

/** The segments of a message: their name and fields, numbered as the standard does. */
export function segments(text) {
  const d = delimiters(text);
  return text.split(/\r\n|\r|\n/).filter((line) => line.length).map((line) => {
    const parts = line.split(d.field);
    const name = parts[0];
    const fields = [];
    if (name === 'MSH') {
      // MSH-1 is the field separator itself, so MSH-2 is the first value after it.
      fields.push({ position: 1, value: d.field });
      parts.slice(1).forEach((value, i) => fields.push({ position: i + 2, value }));
    } else {
      parts.slice(1).forEach((value, i) => fields.push({ position: i + 1, value }));
    }
    return { name, fields, line };
  });
}

function components(segment, field, d) {
  if (segment === 'MSH' && field.position <= 2) return null;
  const repetitions = field.value.split(d.repetition);
  const parts = [];
  repetitions.forEach((repetition, r) => {
    const pieces = repetition.split(d.component);
    if (pieces.length < 2 && repetitions.length < 2) return;
    pieces.forEach((piece, c) => {
      if (!piece) return;
      const rep = repetitions.length > 1 ? `(${r + 1})` : '';
      parts.push(el('span', { class: 'component' },
        el('span', { class: 'pos' }, `${segment}-${field.position}${rep}.${c + 1}`), ' ', piece));
    });
  });
  return parts.length ? el('div', { class: 'components' }, parts) : null;
}

/** The segment view of `text`. */
export function segmentView(text) {
  const d = delimiters(text);
  return el('div', { class: 'segments' }, segments(text).map((segment) => {
    const rows = segment.fields.filter((f) => f.value !== '').map((field) => el('tr', {},
      el('td', { class: 'pos' }, `${segment.name}-${field.position}`),
      el('td', { class: 'fname' }, fieldName(segment.name, field.position)),
      el('td', { class: 'value' }, field.value, components(segment.name, field, d))));
    return el('section', { class: 'segment', 'data-segment': segment.name },
      el('h3', {}, el('span', { class: 'seg' }, segment.name), ' ',
        el('span', { class: 'muted' }, segmentName(segment.name))),
      rows.length ? table(['Field', 'Name', 'Value'], rows, { class: 'grid fields' }) : null);
  }));
}
