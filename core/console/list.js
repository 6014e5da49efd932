/*
 * list.js - what the jobs, events and audit pages share: a filter form whose
 * values live in the address, and a table filled one page at a time with a
 * "Load more" cursor (the admin API's next_before, sent back as before=), so
 * a list of 10,000 is never fetched whole.
 */
import {h} from './dom.js';

export const PAGE_SIZE = 50;

/**
 * A search form over @p fields ({name, label, control}); @p onApply(values)
 * runs on submit ("Apply") and when a select changes.
 */
export function filterForm(label, fields, onApply) {
  const values = () => Object.fromEntries(fields.map((f) => [f.name, f.control.value.trim()]));
  const form = h('form', {class: 'filters', role: 'search', 'aria-label': label},
    fields.map((f) => {
      f.control.id = `filter-${f.name}`;
      f.control.name = f.name;
      return h('div', {class: 'field'}, h('label', {for: f.control.id}, f.label), f.control);
    }),
    h('div', {class: 'field field-button'}, h('button', {type: 'submit'}, 'Apply')));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    onApply(values());
  });
  for (const f of fields) {
    if (f.control.tagName === 'SELECT') f.control.addEventListener('change', () => onApply(values()));
  }
  return form;
}

/**
 * A paged table. @p fetchPage(before, limit) resolves with {items, next}
 * (before is null for the first page; next is null after the last one);
 * @p row(item) makes its <tr>. reload() starts over.
 */
export function pagedTable({caption, columns, fetchPage, row, emptyText, onError}) {
  const tbody = h('tbody');
  const count = h('p', {class: 'muted', 'aria-live': 'polite'});
  const more = h('button', {type: 'button', class: 'secondary'}, 'Load more');
  more.hidden = true;
  const table = h('div', {class: 'table-wrap'}, h('table', {class: 'responsive'},
    h('caption', {class: 'visually-hidden'}, caption),
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', {scope: 'col'}, c)))),
    tbody));
  let cursor = null;
  let shown = 0;
  let generation = 0; /* a reload outdates the pages still on their way */

  async function load(first) {
    const mine = first ? ++generation : generation;
    more.disabled = true;
    try {
      const {items, next} = await fetchPage(first ? null : cursor, PAGE_SIZE);
      if (mine !== generation) return;
      if (first) {
        tbody.replaceChildren();
        shown = 0;
      }
      for (const item of items) tbody.append(row(item));
      shown += items.length;
      cursor = next;
      more.hidden = next === null || next === undefined;
      count.textContent = shown ? `Showing ${shown}${more.hidden ? '' : ' (newest first)'}` : emptyText;
      table.hidden = shown === 0;
    } catch (error) {
      onError(error);
    } finally {
      more.disabled = false;
    }
  }

  more.addEventListener('click', () => load(false));
  const element = h('div', {class: 'paged'}, count, table, more);
  return {element, reload: () => load(true)};
}

/** A <details> showing @p value as indented JSON text. */
export function jsonDetails(summary, value) {
  if (value === null || value === undefined) return h('span', {class: 'muted'}, '—');
  return h('details', {}, h('summary', {}, summary),
    h('pre', {class: 'json'}, JSON.stringify(value, null, 2)));
}
