/*
 * dom.js - building DOM nodes. Data from the server (Intercom and plugin
 * strings) only ever becomes text nodes or attribute values, never markup.
 */

/* Properties rather than attributes: they hold the live state of a control. */
const PROPERTIES = new Set(['value', 'checked', 'disabled', 'selected', 'open', 'hidden']);

/**
 * h('button', {type: 'button', onclick: fn}, 'Replay') -> <button>.
 * Children: strings and numbers become text, null/undefined/false are skipped,
 * arrays are flattened.
 */
export function h(tag, attrs = {}, ...children) {
  const svg = tag.startsWith('svg:');
  const el = svg
    ? document.createElementNS('http://www.w3.org/2000/svg', tag.slice(4))
    : document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      el.addEventListener(name.slice(2), value);
    } else if (!svg && PROPERTIES.has(name)) {
      el[name] = value;
    } else {
      el.setAttribute(name, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Replace all children of @p el. */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/** A unique id for label/control pairs. */
let idCounter = 0;
export function uid(prefix = 'f') {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}

/** A labelled control: [<label for=id>, control]. */
export function field(labelText, control, hint) {
  const id = control.id || uid();
  control.id = id;
  const children = [h('label', {for: id}, labelText), control];
  if (hint) {
    const hintId = `${id}-hint`;
    control.setAttribute('aria-describedby', hintId);
    children.push(h('p', {class: 'hint', id: hintId}, hint));
  }
  return h('div', {class: 'field'}, children);
}

/** A <select> from [value, text] pairs (or plain strings). */
export function select(options, value) {
  return h('select', {},
    options.map((o) => {
      const [v, text] = Array.isArray(o) ? o : [o, o];
      return h('option', {value: v, selected: v === value}, text);
    }));
}
