// Page furniture shared by every page: the notice line and the confirm dialog.

import { replace } from './dom.js';

/** Shows a one-line notice; `tone` is `ok` or `error`. */
export function notify(text, tone = 'ok') {
  const notice = document.getElementById('notice');
  replace(notice, text);
  notice.className = `notice notice-${tone}`;
  notice.hidden = false;
  clearTimeout(notify.timer);
  notify.timer = setTimeout(() => { notice.hidden = true; }, tone === 'error' ? 15000 : 6000);
}

/** Asks the person to confirm `text`; resolves true when they do. */
export function confirmAction(text, label = 'Confirm') {
  const dialog = document.getElementById('confirm');
  replace(document.getElementById('confirm-text'), text);
  replace(document.getElementById('confirm-ok'), label);
  dialog.returnValue = '';
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
    dialog.showModal();
  });
}

/** Runs an API call behind a confirm dialog; reports its error as a notice. */
export async function confirmed(text, label, call) {
  if (!(await confirmAction(text, label))) return null;
  try {
    return await call();
  } catch (error) {
    notify(error.message, 'error');
    return null;
  }
}
