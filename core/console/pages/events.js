/* pages/events.js - received webhooks, newest first, with their outcome and body. */
import {api} from '../api.js';
import {h, select} from '../dom.js';
import {timeElement} from '../format.js';
import {filterForm, jsonDetails, pagedTable} from '../list.js';

export async function render(ctx) {
  const {plugins} = await api('/admin/plugins', {signal: ctx.signal});
  let filter = {
    plugin: ctx.query.get('plugin') || '',
    topic: ctx.query.get('topic') || '',
    installation: ctx.query.get('installation') || '',
  };
  const form = filterForm('Filter events', [
    {name: 'plugin', label: 'Plugin',
      control: select([['', 'All plugins'], ...plugins.map((p) => p.name)], filter.plugin)},
    {name: 'topic', label: 'Topic',
      control: h('input', {type: 'text', value: filter.topic, placeholder: 'conversation.user.created',
        spellcheck: 'false'})},
    {name: 'installation', label: 'Installation',
      control: h('input', {type: 'number', min: 1, inputmode: 'numeric', value: filter.installation,
        placeholder: 'id'})},
  ], (values) => {
    filter = values;
    ctx.setQuery(filter);
    table.reload();
  });

  const table = pagedTable({
    caption: 'Events',
    columns: ['Event', 'Topic', 'Plugin', 'Workspace', 'Outcome', 'Received', 'Body'],
    /* Bodies come with the page: a page is 50 events, and the body is what one opens them for. */
    fetchPage: async (before, limit) => {
      const answer = await api('/admin/events', {query: {...filter, before, limit, body: 1},
        signal: ctx.signal});
      return {items: answer.events, next: answer.next_before};
    },
    row: (e) => h('tr', {},
      h('th', {scope: 'row', 'data-label': 'Event'}, String(e.id)),
      h('td', {'data-label': 'Topic'}, e.topic),
      h('td', {'data-label': 'Plugin'}, e.plugin),
      h('td', {'data-label': 'Workspace'}, e.workspace_id || '—',
        e.installation_id ? h('div', {class: 'muted small'}, `installation ${e.installation_id}`) : null),
      h('td', {'data-label': 'Outcome'}, h('span', {class: `badge outcome-${e.outcome}`}, e.outcome)),
      h('td', {'data-label': 'Received'}, timeElement(h, e.received_at)),
      h('td', {'data-label': 'Body'}, jsonDetails('Body', e.body))),
    emptyText: 'No event matches.',
    onError: ctx.alert,
  });

  ctx.main.append(h('h1', {}, 'Events'), form, table.element);
  await table.reload();
}
