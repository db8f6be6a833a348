// The login page: the admin token, or a user name and password when users exist.

import { post } from './api.js';
import { el, replace } from './dom.js';

export function render(main, askUser, loggedIn) {
  const user = el('input', { name: 'user', autocomplete: 'username', id: 'login-user' });
  const password = el('input', {
    name: 'password', type: 'password', autocomplete: 'current-password', id: 'login-password',
    required: true,
  });
  const problem = el('p', { class: 'problem', role: 'alert' });
  const form = el('form', { class: 'login', id: 'login-form' },
    el('h1', {}, 'Log in'),
    askUser ? el('label', {}, 'User', user) : null,
    el('label', {}, askUser ? 'Password (or the admin token, with no user)' : 'Admin token',
      password),
    el('button', { type: 'submit', class: 'primary' }, 'Log in'),
    problem);

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    replace(problem);
    try {
      loggedIn(await post('/api/login', { user: user.value, password: password.value }));
    } catch (error) {
      replace(problem, error.message);
    }
  });
  replace(main, form);
  (askUser ? user : password).focus();
}
