/* pages/audit.js - the audit timeline, newest first. */
import {api} from '../api.js';
import {h, select} from '../dom.js';
import {timeElement} from '../format.js';
import {filterForm, pagedTable} from '../list.js';

export async function render(ctx) {
  const {plugins} = await api('/admin/plugins', {signal: ctx.signal});
  let filter = {
    plugin: ctx.query.get('plugin') || '',
    installation: ctx.query.get('installation') || '',
    subject: ctx.query.get('subject') || '',
  };
  const form = filterForm('Filter the audit timeline', [
    {name: 'plugin', label: 'Plugin',
      control: select([['', 'All plugins'], ...plugins.map((p) => p.name)], filter.plugin)},
    {name: 'installation', label: 'Installation',
      control: h('input', {type: 'number', min: 0, inputmode: 'numeric', value: filter.installation,
        placeholder: 'id'})},
    {name: 'subject', label: 'Subject',
      control: h('input', {type: 'text', value: filter.subject, spellcheck: 'false'})},
  ], (values) => {
    filter = values;
    ctx.setQuery(filter);
    table.reload();
  });

  const table = pagedTable({
    caption: 'Audit timeline',
    columns: ['When', 'Plugin', 'Installation', 'Subject', 'Action', 'Detail'],
    fetchPage: async (before, limit) => {
      const answer = await api('/admin/audit', {query: {...filter, before, limit}, signal: ctx.signal});
      return {items: answer.audit, next: answer.next_before};
    },
    row: (a) => h('tr', {},
      h('th', {scope: 'row'}, timeElement(h, a.at)),
      h('td', {'data-label': 'Plugin'}, a.plugin),
      h('td', {'data-label': 'Installation'}, a.installation_id || '—'),
      h('td', {'data-label': 'Subject'}, a.subject || '—'),
      h('td', {'data-label': 'Action'}, a.action),
      h('td', {'data-label': 'Detail', class: 'detail'}, a.detail || '')),
    emptyText: 'Nothing in the audit timeline matches.',
    onError: ctx.alert,
  });

  ctx.main.append(h('h1', {}, 'Audit'), form, table.element);
  await table.reload();
}
