// The single-page app: session, hash routing and the live event stream.
//
// Routes: #/overview, #/messages?<search>, #/message/<id>, #/trace/<session>, #/events.
// Each page module exports `render(main, params)`, which returns an optional object with
// `live(name, data)` (called for live events) and `leave()` (called on navigation).

import { get, post, setCsrf, whenLoggedOut } from './api.js';
import { replace } from './dom.js';
import { notify } from './ui.js';
import * as login from './login.js';
import * as overview from './overview.js';
import * as messages from './messages.js';
import * as detail from './detail.js';
import * as trace from './trace.js';
import * as events from './events.js';

const pages = { overview, messages, message: detail, trace, events };
const main = document.getElementById('main');
let current = null;
let stream = null;
let loggedIn = false;

function parseRoute() {
  const hash = location.hash.replace(/^#\/?/, '');
  const [path, query] = hash.split('?');
  const [page, id] = path.split('/');
  const params = Object.fromEntries(new URLSearchParams(query || ''));
  if (id !== undefined) params.id = decodeURIComponent(id);
  return { page: pages[page] ? page : 'overview', params };
}

async function route() {
  if (!loggedIn) return;
  if (current && current.leave) current.leave();
  current = null;
  const { page, params } = parseRoute();
  for (const a of document.querySelectorAll('#nav a')) {
    a.classList.toggle('active', a.dataset.page === (page === 'message' || page === 'trace'
      ? 'messages' : page));
  }
  main.setAttribute('data-page', page);
  replace(main);
  try {
    current = (await pages[page].render(main, params)) || null;
  } catch (error) {
    if (error.status !== 401) notify(error.message, 'error');
  }
}

function startLive() {
  if (stream) stream.close();
  stream = new EventSource('/api/live');
  const indicator = document.getElementById('live');
  stream.onopen = () => { indicator.hidden = false; indicator.className = 'live live-on'; };
  stream.onerror = () => { indicator.className = 'live live-off'; };
  for (const name of ['depth', 'item', 'logged', 'resync']) {
    stream.addEventListener(name, (event) => {
      const data = JSON.parse(event.data);
      if (current && current.live) current.live(name, data);
    });
  }
}

function showSession(session) {
  loggedIn = true;
  setCsrf(session.csrf);
  replace(document.getElementById('production'), session.production || '');
  replace(document.getElementById('user'), session.user);
  document.getElementById('nav').hidden = false;
  document.getElementById('logout').hidden = false;
  startLive();
}

function showLogin(askUser) {
  loggedIn = false;
  if (stream) stream.close();
  stream = null;
  if (current && current.leave) current.leave();
  current = null;
  document.getElementById('nav').hidden = true;
  document.getElementById('logout').hidden = true;
  document.getElementById('live').hidden = true;
  replace(document.getElementById('user'));
  main.setAttribute('data-page', 'login');
  login.render(main, askUser, (session) => {
    showSession(session);
    route();
  });
}

// Whether the login form should ask for a user name: only /api/session says whether the
// production has named users, so ask it whenever the form is shown.
async function askLogin() {
  let users = false;
  try {
    await get('/api/session');
  } catch (error) {
    users = Boolean(error.body && error.body.users);
  }
  showLogin(users);
}

whenLoggedOut(() => {
  if (!loggedIn) return;
  askLogin();
  notify('The session ended (logged out elsewhere, expired, or Ferry restarted); log in again.',
    'error');
});

document.getElementById('logout').addEventListener('click', async () => {
  try {
    await post('/api/logout');
  } finally {
    askLogin();
  }
});

window.addEventListener('hashchange', route);

async function start() {
  try {
    showSession(await get('/api/session'));
    await route();
  } catch (error) {
    showLogin(Boolean(error.body && error.body.users));
  }
}

start();
