/*
 * pages/plugins.js - each plugin's descriptor, whether it is configured, and
 * the URLs to enter in its Intercom app with copy buttons.
 */
import {api} from '../api.js';
import {h, replace, uid} from '../dom.js';
import {formatDuration, formatNumber, timeElement} from '../format.js';

/* In the order the Developer Hub asks for them (README "Connecting an Intercom app"). */
const URL_LABELS = [
  ['oauth_callback', 'OAuth redirect', 'Authentication → Redirect URLs'],
  ['webhook', 'Webhooks', 'Webhooks → Endpoint URL'],
  ['canvas_initialize', 'Canvas initialize', 'Canvas Kit → Initialize URL'],
  ['canvas_submit', 'Canvas submit', 'Canvas Kit → Submit URL'],
  ['uninstall', 'Uninstall', 'Installation → Uninstall URL'],
  ['oauth_install', 'Install link', 'App Store listing → install URL'],
];

async function copy(input, status) {
  try {
    await navigator.clipboard.writeText(input.value);
    status.textContent = 'Copied';
  } catch {
    /* No clipboard outside a secure context: leave it selected for Ctrl+C. */
    input.focus();
    input.select();
    status.textContent = 'Selected: press Ctrl+C to copy';
  }
  window.setTimeout(() => { status.textContent = ''; }, 4000);
}

function urlRows(urls) {
  return URL_LABELS.filter(([key]) => urls[key]).map(([key, label, where]) => {
    const input = h('input', {type: 'text', readonly: true, value: urls[key], class: 'url'});
    input.id = uid(`url-${key}`);
    const status = h('span', {role: 'status', class: 'copied'});
    return h('div', {class: 'url-row'},
      h('label', {for: input.id}, label, h('span', {class: 'hint'}, ` (${where})`)),
      h('div', {class: 'url-control'},
        input,
        h('button', {type: 'button', class: 'secondary', 'aria-label': `Copy ${label} URL`,
          onclick: () => copy(input, status)}, 'Copy'),
        status));
  });
}

function missingText(plugin) {
  const missing = Array.isArray(plugin.missing) && plugin.missing.length
    ? plugin.missing.join(', ')
    : 'client_id and/or client_secret';
  return `not configured: missing ${missing} (plugins.${plugin.name} in the configuration)`;
}

function table(caption, headers, rows) {
  if (!rows.length) return h('p', {class: 'muted'}, `${caption}: none`);
  return h('div', {class: 'table-wrap'}, h('table', {},
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, headers.map((t) => h('th', {scope: 'col'}, t)))),
    h('tbody', {}, rows.map((cells) => h('tr', {}, cells.map((c) => h('td', {}, c)))))));
}

function settingBounds(s) {
  if (s.allowed) return `one of: ${s.allowed.join(', ')}`;
  if (s.min !== undefined) return `${s.min} to ${s.max}`;
  return '';
}

function settingDefault(s) {
  if (s.sensitive) return '(sensitive)';
  if (s.default === null || s.default === undefined) return '';
  return Array.isArray(s.default) ? s.default.join(', ') : String(s.default);
}

/* The product webhook (README "Product events"): where it goes, and the way back after a 410. */
function productView(p, product, alert) {
  const box = h('div', {class: 'product'});
  const draw = (state) => {
    const enable = h('button', {type: 'button', class: 'secondary'}, 'Enable the product webhook');
    enable.addEventListener('click', async () => {
      enable.disabled = true;
      try {
        draw(await api(`/admin/plugins/${encodeURIComponent(p.name)}/product/enable`, {method: 'POST'}));
      } catch (error) {
        alert(error);
        enable.disabled = false;
      }
    });
    replace(box,
      h('h3', {}, 'Product webhook'),
      h('p', {}, h('code', {}, state.webhook_url)),
      state.enabled
        ? h('p', {class: 'good-text'}, 'enabled')
        : h('p', {class: 'warn-text'}, 'disabled since ', timeElement(h, state.disabled_at),
          state.disabled_reason ? `: ${state.disabled_reason}` : '', ' (its deliveries are held)'),
      h('p', {}, `${formatNumber(state.pending)} pending, `,
        h('a', {href: `#/jobs?state=dead&plugin=${encodeURIComponent(p.name)}`},
          `${formatNumber(state.dead)} dead`)),
      state.enabled ? null : enable);
  };
  draw(product);
  return box;
}

function pluginView(p, alert) {
  return h('section', {class: 'card plugin', 'aria-labelledby': `plugin-${p.name}`},
    h('h2', {id: `plugin-${p.name}`}, p.name),
    h('p', {}, `${p.version} · ABI ${p.abi} · ${p.state}`, p.description ? ` — ${p.description}` : ''),
    h('p', {class: p.configured ? 'good-text' : 'warn-text'},
      p.configured ? 'configured' : missingText(p)),
    h('p', {}, h('a', {href: `#/installations?plugin=${encodeURIComponent(p.name)}`},
      'Installations of ', p.name)),
    h('h3', {}, 'Intercom app'),
    h('div', {class: 'urls'}, urlRows(p.urls || {})),
    p.product && p.product.configured ? productView(p, p.product, alert) : null,
    h('h3', {}, 'Descriptor'),
    h('p', {}, h('strong', {}, 'Topics: '),
      p.topics.length ? p.topics.join(', ') : 'none (receives no webhooks)'),
    table('Routes', ['Method', 'Path', 'Public', 'Installation'],
      p.routes.map((r) => [r.method, h('code', {}, r.path), r.public ? 'yes' : 'no',
        r.installation || '—'])),
    table('Schedules', ['Name', 'Every', 'Setting'],
      p.schedules.map((s) => [s.name, formatDuration(s.interval_s), s.interval_setting || '—'])),
    table('Settings schema', ['Name', 'Type', 'Default', 'Allowed', 'Description'],
      p.settings.map((s) => [h('code', {}, s.name), s.sensitive ? `${s.type}, sensitive` : s.type,
        settingDefault(s), settingBounds(s), s.description || ''])));
}

export async function render(ctx) {
  ctx.main.append(h('h1', {}, 'Plugins'));
  const list = await api('/admin/plugins', {signal: ctx.signal});
  const details = await Promise.all(list.plugins.map((p) =>
    api(`/admin/plugins/${encodeURIComponent(p.name)}`, {signal: ctx.signal})));
  if (!details.length) ctx.main.append(h('p', {}, 'No plugin is loaded.'));
  ctx.main.append(...details.map((p) => pluginView(p, ctx.alert)));
  if (list.refused.length) {
    ctx.main.append(h('section', {class: 'card', 'aria-labelledby': 'refused-heading'},
      h('h2', {id: 'refused-heading'}, 'Refused plugins'),
      h('ul', {class: 'plain refused'}, list.refused.map((r) => h('li', {},
        h('strong', {}, r.name), ` (${r.path}): `, h('span', {class: 'reason'}, r.reason))))));
  }
}
