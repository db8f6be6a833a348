// The message actions (resend, suspend, discard) for one message or several, behind a
// confirm dialog, with a notice that says what happened to each.

import { post } from './api.js';
import { confirmed, notify } from './ui.js';

const verbs = { resend: 'Resend', suspend: 'Suspend', discard: 'Discard' };

/** Applies `action` to `ids` after confirmation; resolves to the per-id results or null. */
export async function messageAction(action, ids) {
  const verb = verbs[action];
  const what = ids.length === 1 ? `message ${ids[0]}` : `${ids.length} messages`;
  const answer = await confirmed(`${verb} ${what}?`, verb,
    () => post('/api/messages/actions', { action, ids: ids.map(Number) }));
  if (!answer) return null;

  const failed = answer.results.filter((r) => !r.ok);
  const resent = answer.results.filter((r) => r.resent_as).map((r) => r.resent_as);
  if (failed.length) {
    const reasons = failed.map((r) => `${r.id}: ${r.error}`).join('; ');
    notify(`${verb}: ${answer.results.length - failed.length} done, ${failed.length} ` +
      `refused (${reasons})`, 'error');
  } else if (resent.length) {
    notify(`Resent as ${resent.join(', ')}.`);
  } else {
    notify(`${verb}: ${answer.results.length} done.`);
  }
  return answer.results;
}
