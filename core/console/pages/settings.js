/*
 * pages/settings.js - an installation's settings as a form generated from its
 * plugin's schema. Only changed values are sent (a masked sensitive value is
 * never sent back); a 422's "key: problem; key: problem" is shown per field.
 */
import {api, ApiError} from '../api.js';
import {h, replace} from '../dom.js';

const MASK = '********';

/** A control for one setting of the schema, holding @p value. */
function control(setting, value) {
  switch (setting.type) {
    case 'bool':
      return h('input', {type: 'checkbox', checked: value === true});
    case 'int':
      return h('input', {type: 'number', step: 1, inputmode: 'numeric', min: setting.min,
        max: setting.max, value: value ?? ''});
    case 'enum':
      return h('select', {}, setting.allowed.map((a) => h('option', {value: a, selected: a === value}, a)));
    case 'string_list':
      return h('textarea', {rows: Math.min(8, Math.max(3, (value || []).length + 1)),
        value: (value || []).join('\n')});
    default:
      return setting.sensitive
        ? h('input', {type: 'password', autocomplete: 'off', value: value ?? ''})
        : h('input', {type: 'text', value: value ?? '', spellcheck: 'false'});
  }
}

/** What the control holds, typed as the API wants it. */
function readControl(setting, el) {
  switch (setting.type) {
    case 'bool':
      return el.checked;
    case 'int':
      /* Not a whole number: sent as typed, so that the server's message explains. */
      return /^-?\d+$/.test(el.value.trim()) ? Number(el.value.trim()) : el.value;
    case 'string_list':
      return el.value.split('\n').map((line) => line.trim()).filter(Boolean);
    default:
      return el.value;
  }
}

function hintText(setting) {
  const parts = [];
  if (setting.description) parts.push(setting.description);
  if (setting.type === 'int' && setting.min !== undefined) parts.push(`from ${setting.min} to ${setting.max}`);
  if (setting.type === 'string_list') parts.push('one per line');
  if (setting.sensitive) parts.push('sensitive: shown masked, sent only if you change it');
  else if (setting.default !== null && setting.default !== undefined) {
    const d = Array.isArray(setting.default) ? setting.default.join(', ') : String(setting.default);
    parts.push(`default: ${d === '' ? '(empty)' : d}`);
  }
  return parts.join(' · ');
}

/**
 * Split "key: problem; key: problem" by the schema's keys (a problem may
 * itself hold "; " or ": "). Returns {fields: Map key -> [problem], general: [text]}.
 */
export function splitProblems(message, keys) {
  const fields = new Map();
  const general = [];
  const escaped = [...keys].sort((a, b) => b.length - a.length)
    .map((k) => k.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  const starts = escaped.length ? new RegExp(`(?:^|; )(${escaped.join('|')}): `, 'g') : null;
  const marks = starts ? [...message.matchAll(starts)] : [];
  if (!marks.length || marks[0].index !== 0) {
    general.push(message.slice(0, marks.length ? marks[0].index : message.length));
  }
  marks.forEach((m, i) => {
    const from = m.index + m[0].length;
    const to = i + 1 < marks.length ? marks[i + 1].index : message.length;
    if (!fields.has(m[1])) fields.set(m[1], []);
    fields.get(m[1]).push(message.slice(from, to));
  });
  return {fields, general: general.filter(Boolean)};
}

export async function render(ctx) {
  const id = ctx.params[0];
  const [inst, current] = await Promise.all([
    api(`/admin/installations/${id}`, {signal: ctx.signal}),
    api(`/admin/installations/${id}/settings`, {signal: ctx.signal}),
  ]);
  const who = inst.workspace_name ? `${inst.workspace_name} (${inst.workspace_id})` : inst.workspace_id;
  const status = h('p', {role: 'status', class: 'saved'});
  const formErrors = h('div', {class: 'form-errors'});
  const fieldsBox = h('div', {class: 'fields'});
  const save = h('button', {type: 'submit'}, 'Save settings');
  const form = h('form', {class: 'card settings', novalidate: true},
    h('h2', {}, `${inst.plugin} in ${who}`),
    fieldsBox, formErrors,
    h('div', {class: 'actions'}, save, status));
  ctx.main.append(
    h('p', {}, h('a', {href: '#/installations'}, '← Installations')),
    h('h1', {}, 'Settings'), form);

  let controls = new Map(); /* name -> {setting, el, error, initial} */

  function build(settings, schema) {
    controls = new Map();
    replace(fieldsBox, schema.map((setting) => {
      const el = control(setting, settings[setting.name]);
      el.id = `setting-${setting.name}`;
      el.name = setting.name;
      const error = h('p', {class: 'field-error', id: `error-${setting.name}`});
      error.hidden = true;
      const hint = hintText(setting);
      const hintEl = hint ? h('p', {class: 'hint', id: `hint-${setting.name}`}, hint) : null;
      if (hintEl) el.setAttribute('aria-describedby', hintEl.id);
      controls.set(setting.name, {setting, el, error, hint: hintEl, initial: readControl(setting, el)});
      const label = h('label', {for: el.id}, setting.name);
      return h('div', {class: `field ${setting.type === 'bool' ? 'field-check' : ''}`},
        setting.type === 'bool' ? [el, label] : [label, el], hintEl, error);
    }));
    if (!schema.length) fieldsBox.append(h('p', {}, 'This plugin has no settings.'));
  }

  function clearProblems() {
    formErrors.replaceChildren();
    for (const c of controls.values()) {
      c.error.hidden = true;
      c.error.textContent = '';
      c.el.removeAttribute('aria-invalid');
      if (c.hint) c.el.setAttribute('aria-describedby', c.hint.id);
      else c.el.removeAttribute('aria-describedby');
    }
  }

  function showProblems(message) {
    const {fields, general} = splitProblems(message, controls.keys());
    let first = null;
    for (const [name, problems] of fields) {
      const c = controls.get(name);
      c.error.textContent = problems.join('; ');
      c.error.hidden = false;
      c.el.setAttribute('aria-invalid', 'true');
      c.el.setAttribute('aria-describedby', [c.error.id, c.hint && c.hint.id].filter(Boolean).join(' '));
      first = first || c.el;
    }
    if (general.length) {
      formErrors.append(h('p', {class: 'error', role: 'alert'}, general.join('; ')));
    } else {
      formErrors.append(h('p', {class: 'error', role: 'alert'},
        `Not saved: ${fields.size} setting${fields.size === 1 ? ' has a' : 's have'} problem${fields.size === 1 ? '' : 's'}.`));
    }
    if (first) first.focus();
  }

  build(current.settings, current.schema);

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearProblems();
    status.textContent = '';
    const changes = {};
    for (const [name, c] of controls) {
      const value = readControl(c.setting, c.el);
      if (JSON.stringify(value) === JSON.stringify(c.initial)) continue;
      if (c.setting.sensitive && value === MASK) continue;
      changes[name] = value;
    }
    if (!Object.keys(changes).length) {
      status.textContent = 'Nothing changed.';
      return;
    }
    save.disabled = true;
    try {
      const saved = await api(`/admin/installations/${id}/settings`, {method: 'PUT', body: changes,
        signal: ctx.signal});
      ctx.clearAlert();
      build(saved.settings, saved.schema);
      status.textContent = 'Settings saved.';
    } catch (error) {
      if (error instanceof ApiError && error.status === 422) showProblems(error.message);
      else ctx.alert(error);
    } finally {
      save.disabled = false;
    }
  });
}
