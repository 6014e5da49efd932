/* pages/signin.js - sign in with the admin token; it is tried before it is kept. */
import {api, ApiError, signIn} from '../api.js';
import {field, h} from '../dom.js';

export async function render(ctx) {
  const input = h('input', {type: 'password', name: 'token', autocomplete: 'current-password',
    required: true, spellcheck: 'false'});
  const button = h('button', {type: 'submit'}, 'Sign in');
  const message = h('p', {class: 'error', role: 'alert'});
  message.hidden = true;
  if (ctx.query.get('expired')) {
    message.hidden = false;
    message.textContent = 'The admin token was refused; sign in again.';
  }

  const form = h('form', {class: 'signin card', novalidate: true},
    h('h1', {}, 'Sign in'),
    h('p', {}, 'Enter the admin token (the file var/admin.token on the server). It stays in this tab ',
      'and is forgotten when the tab closes.'),
    field('Admin token', input),
    message,
    h('div', {class: 'actions'}, button));

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const token = input.value.trim();
    if (!token) {
      message.hidden = false;
      message.textContent = 'Enter the admin token.';
      input.focus();
      return;
    }
    button.disabled = true;
    message.hidden = true;
    try {
      await api('/admin/plugins', {token, signal: ctx.signal});
      signIn(token);
      ctx.navigate('/overview');
    } catch (error) {
      if (error.name === 'AbortError') return;
      message.hidden = false;
      message.textContent = error instanceof ApiError && error.status === 401
        ? 'The admin token was refused.'
        : `Could not sign in: ${error instanceof ApiError ? error.message
          : 'the server could not be reached.'}`;
      input.select();
      input.focus();
    } finally {
      button.disabled = false;
    }
  });

  ctx.main.append(form);
  input.focus();
}
