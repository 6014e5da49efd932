/*
 * pages/jobs.js - jobs by state, plugin and installation, newest first, a
 * page at a time; failures with their reason; replay one, or all dead jobs
 * of a plugin.
 */
import {api} from '../api.js';
import {confirmDialog} from '../dialog.js';
import {h, replace, select} from '../dom.js';
import {JOB_STATES, REPLAYABLE_STATES, timeElement} from '../format.js';
import {filterForm, jsonDetails, pagedTable} from '../list.js';

export async function render(ctx) {
  const {plugins} = await api('/admin/plugins', {signal: ctx.signal});
  let filter = {
    state: ctx.query.get('state') || '',
    plugin: ctx.query.get('plugin') || '',
    installation: ctx.query.get('installation') || '',
    type: ctx.query.get('type') || '',
  };
  const stateControl = select([['', 'Any state'], ...JOB_STATES], filter.state);
  const pluginControl = select([['', 'All plugins'], ...plugins.map((p) => p.name)], filter.plugin);
  const installationControl = h('input', {type: 'number', min: 1, inputmode: 'numeric',
    value: filter.installation, placeholder: 'id'});
  const bulk = h('div', {class: 'bulk'});

  function row(job) {
    const tr = h('tr', {'data-job': job.id},
      h('th', {scope: 'row', 'data-label': 'Job'}, String(job.id)),
      h('td', {'data-label': 'Type'}, job.type, job.key ? h('div', {class: 'muted small'}, job.key) : null),
      h('td', {'data-label': 'Plugin'}, job.plugin),
      h('td', {'data-label': 'Installation'}, job.installation_id
        ? h('a', {href: `#/jobs?installation=${job.installation_id}`}, String(job.installation_id)) : '—'),
      h('td', {'data-label': 'State'}, h('span', {class: `badge state-${job.state}`}, job.state)),
      h('td', {'data-label': 'Attempts'}, `${job.attempts} of ${job.max_attempts}`),
      h('td', {'data-label': 'Reason'}, job.last_error
        ? h('span', {class: 'reason'}, job.last_error_code ? `${job.last_error_code}: ` : '', job.last_error)
        : ''),
      h('td', {'data-label': 'Updated'}, timeElement(h, job.updated_at)),
      h('td', {'data-label': 'Details'}, jsonDetails('Payload and checkpoint',
        {payload: job.payload, checkpoint: job.checkpoint, event_id: job.event_id,
          run_at: job.run_at ? new Date(job.run_at).toISOString() : null})),
      h('td', {'data-label': 'Action'}, REPLAYABLE_STATES.has(job.state)
        ? h('button', {type: 'button', class: 'secondary', 'aria-label': `Replay job ${job.id}`,
          onclick: async (event) => {
            const button = event.currentTarget;
            button.disabled = true;
            try {
              const again = await api(`/admin/jobs/${job.id}/replay`, {method: 'POST', signal: ctx.signal});
              const fresh = row(again);
              tr.replaceWith(fresh);
              const focusTarget = fresh.querySelector('a, button') || fresh.querySelector('th');
              if (focusTarget) focusTarget.focus();
              ctx.clearAlert();
            } catch (error) {
              ctx.alert(error);
              button.disabled = false;
            }
          }}, 'Replay')
        : ''));
    return tr;
  }

  const table = pagedTable({
    caption: 'Jobs',
    columns: ['Job', 'Type', 'Plugin', 'Installation', 'State', 'Attempts', 'Reason', 'Updated',
      'Details', 'Action'],
    fetchPage: async (before, limit) => {
      const answer = await api('/admin/jobs', {query: {...filter, before, limit}, signal: ctx.signal});
      return {items: answer.jobs, next: answer.next_before};
    },
    row,
    emptyText: 'No job matches.',
    onError: ctx.alert,
  });

  function drawBulk() {
    if (!filter.plugin) {
      replace(bulk);
      return;
    }
    const status = h('span', {role: 'status'});
    const button = h('button', {type: 'button', class: 'danger'}, `Replay all dead jobs of ${filter.plugin}`);
    const plugin = filter.plugin;
    button.addEventListener('click', async () => {
      const ok = await confirmDialog({
        title: `Replay all dead jobs of ${plugin}?`,
        text: 'Every dead job of this plugin goes back in the queue and runs again.',
        confirmText: 'Replay all',
      });
      if (!ok) return;
      button.disabled = true;
      try {
        const {replayed: n} = await api('/admin/jobs/dead/replay', {method: 'POST', query: {plugin},
          signal: ctx.signal});
        status.textContent = `${n} dead job${n === 1 ? '' : 's'} replayed.`;
        ctx.clearAlert();
        table.reload();
      } catch (error) {
        ctx.alert(error);
      } finally {
        button.disabled = false;
      }
    });
    replace(bulk, button, ' ', status);
  }

  const form = filterForm('Filter jobs', [
    {name: 'state', label: 'State', control: stateControl},
    {name: 'plugin', label: 'Plugin', control: pluginControl},
    {name: 'installation', label: 'Installation', control: installationControl},
    {name: 'type', label: 'Type', control: h('input', {type: 'text', value: filter.type,
      placeholder: 'webhook, sync…', spellcheck: 'false'})},
  ], (values) => {
    filter = values;
    ctx.setQuery(filter);
    drawBulk();
    table.reload();
  });

  ctx.main.append(h('h1', {}, 'Jobs'), form, bulk, table.element);
  drawBulk();
  await table.reload();
}
