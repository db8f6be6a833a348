// Calls to the admin API. State changes carry the session's CSRF token; a 401 anywhere
// means the session ended, and the app shows the login page.

let csrf = '';
let onLoggedOut = () => {};

/** A failed call: its HTTP status and the server's sentence. */
export class ApiError extends Error {
  constructor(status, text) {
    super(text);
    this.status = status;
  }
}

export function setCsrf(token) {
  csrf = token || '';
}

export function whenLoggedOut(callback) {
  onLoggedOut = callback;
}

async function answer(response) {
  const type = response.headers.get('content-type') || '';
  const body = type.includes('application/json') ? await response.json() : null;
  if (response.ok) return body;
  const text = (body && body.error) || `${response.status} ${response.statusText}`;
  const error = new ApiError(response.status, text);
  error.body = body;
  if (response.status === 401) onLoggedOut(error);
  throw error;
}

/** GET `path` with `params` (empty values left out). */
export async function get(path, params) {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params || {})) {
    if (value !== undefined && value !== null && value !== '') query.set(name, value);
  }
  const url = query.toString() ? `${path}?${query}` : path;
  const response = await fetch(url, {
    credentials: 'same-origin',
    headers: { Accept: 'application/json' },
  });
  return answer(response);
}

/** POST `body` as JSON to `path`, with the CSRF token. */
export async function post(path, body) {
  const response = await fetch(path, {
    method: 'POST',
    credentials: 'same-origin',
    headers: {
      Accept: 'application/json',
      'Content-Type': 'application/json',
      'X-CSRF-Token': csrf,
    },
    body: JSON.stringify(body || {}),
  });
  return answer(response);
}

/** The path of a message, built from its numeric id only. */
export function messagePath(id) {
  return `/api/messages/${Number(id)}`;
}
