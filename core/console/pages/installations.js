/*
 * pages/installations.js - installations per plugin: workspace, region,
 * state (with revoke), last sync and a progress bar while one runs, refreshed
 * by polling; "Connect a workspace" starts the plugin's OAuth install.
 */
import {api} from '../api.js';
import {confirmDialog} from '../dialog.js';
import {field, h, replace, select} from '../dom.js';
import {formatNumber, formatSeconds, installationStateText, timeElement} from '../format.js';
import {isSyncType, progressOf, resultText, syncEntries, underwayJob} from '../sync.js';

const POLL_MS = 2000;
const PAGE_SIZE = 50;
const FULL_REFRESH_EVERY = 5; /* polls */

function confirmRevoke(inst) {
  const who = inst.workspace_name || inst.workspace_id;
  return confirmDialog({
    title: 'Revoke this installation?',
    text: `${inst.plugin} in ${who} (${inst.workspace_id}) stops at once: its token is revoked at `
      + 'Intercom and its jobs stop. Installing the app again reconnects it.',
    confirmText: 'Revoke',
  });
}

/* Sync activity per installation: fetched when first shown, then while a sync is underway. */
class SyncCache {
  constructor() {
    this.entries = new Map();
  }

  async refresh(ids, signal) {
    await Promise.all(ids.map(async (id) => {
      const activity = await api(`/admin/installations/${id}/activity`, {signal});
      this.entries.set(id, syncEntries(activity));
    }));
  }

  get(id) {
    return this.entries.get(id);
  }

  underway(id) {
    return (this.entries.get(id) || []).some(underwayJob);
  }
}

export async function render(ctx) {
  const pluginList = await api('/admin/plugins', {signal: ctx.signal});
  const plugins = new Map(pluginList.plugins.map((p) => [p.name, p]));
  const state = {
    plugin: ctx.query.get('plugin') || '',
    state: ctx.query.get('state') || '',
    workspace: ctx.query.get('workspace') || '',
    shown: PAGE_SIZE,
  };
  const cache = new SyncCache();
  let installations = [];
  let running = new Set(); /* installations with a sync job running now */
  let lastSignature = '';
  let polls = 0;

  const pluginFilter = select([['', 'All plugins'], ...[...plugins.keys()].map((n) => [n, n])],
    state.plugin);
  const stateFilter = select([['', 'Any state'], ['active', 'authenticated'],
    ['needs_reauth', 'needs re-install'], ['revoked', 'revoked']], state.state);
  const workspaceFilter = h('input', {type: 'search', value: state.workspace,
    placeholder: 'id or name'});
  /* Not a live region: it is redrawn on every sync update, which would be read out each time. */
  const list = h('div', {'aria-busy': 'true'});

  const filters = h('form', {class: 'filters', role: 'search', 'aria-label': 'Filter installations'},
    field('Plugin', pluginFilter), field('State', stateFilter), field('Workspace', workspaceFilter));
  filters.addEventListener('submit', (e) => e.preventDefault());
  const onFilter = () => {
    state.plugin = pluginFilter.value;
    state.state = stateFilter.value;
    state.workspace = workspaceFilter.value.trim();
    state.shown = PAGE_SIZE;
    ctx.setQuery({plugin: state.plugin, state: state.state, workspace: state.workspace});
    refresh().catch(ctx.alert);
  };
  pluginFilter.addEventListener('change', onFilter);
  stateFilter.addEventListener('change', onFilter);
  /* Typing narrows the rows at once; the syncs of rows that come into view follow. */
  workspaceFilter.addEventListener('input', () => refreshSyncs().catch(ctx.alert));
  workspaceFilter.addEventListener('change', onFilter);

  ctx.main.append(h('h1', {}, 'Installations'), filters, list);

  function matchesWorkspace(inst) {
    const q = workspaceFilter.value.trim().toLowerCase();
    return !q || inst.workspace_id.toLowerCase().includes(q)
      || (inst.workspace_name || '').toLowerCase().includes(q);
  }

  async function revoke(inst) {
    if (!(await confirmRevoke(inst))) return;
    try {
      await api(`/admin/installations/${inst.id}/revoke`, {method: 'POST', signal: ctx.signal});
      ctx.clearAlert();
      await refresh();
    } catch (error) {
      ctx.alert(error);
    }
  }

  function stateCell(inst) {
    const text = installationStateText(inst.state);
    if (inst.state !== 'active') {
      return h('span', {class: `badge ${inst.state === 'revoked' ? 'bad' : 'warn'}`}, text);
    }
    return [h('span', {class: 'badge good'}, text), ' (',
      h('button', {type: 'button', class: 'link', 'data-focus-key': `revoke-${inst.id}`,
        onclick: () => revoke(inst)}, 'revoke'), ')'];
  }

  function progressLine(who, entry, job) {
    const progress = progressOf(job.checkpoint);
    const known = progress && progress.total;
    const bar = h('progress', {'aria-label': `Sync progress of ${who}`,
      max: known ? progress.total : null, value: known ? progress.done : null});
    const numbers = progress
      ? `: ${formatNumber(progress.done)}${known ? ` of ${formatNumber(progress.total)}` : ''}` : '';
    return h('div', {class: 'progress'}, bar, h('span', {}, ` ${entry.type} ${job.state}${numbers}`));
  }

  function syncCell(inst) {
    const who = inst.workspace_name || inst.workspace_id;
    const entries = cache.get(inst.id);
    if (!entries) return h('span', {class: 'muted'}, '…');
    if (!entries.length) return h('span', {class: 'muted'}, 'never');
    return entries.map((entry) => {
      const job = underwayJob(entry);
      const last = entry.last_finished;
      return h('div', {class: 'sync-entry'},
        job ? progressLine(who, entry, job) : null,
        last
          ? h('div', {class: last.state === 'done' ? '' : 'warn-text'},
            entries.length > 1 ? `${entry.type}: ` : '',
            h('span', {class: 'sync-result'}, resultText(last)), ' · ',
            timeElement(h, last.finished_at || last.updated_at))
          : (job ? null : h('span', {class: 'muted'}, 'never')));
    });
  }

  function row(inst) {
    return h('tr', {'data-installation': inst.id},
      h('th', {scope: 'row'}, inst.workspace_name ? [inst.workspace_name, h('br'), ''] : '',
        h('code', {}, inst.workspace_id)),
      h('td', {'data-label': 'Region'}, inst.region),
      h('td', {'data-label': 'State'}, stateCell(inst)),
      h('td', {'data-label': 'Installed'}, formatSeconds(inst.installed_at)),
      h('td', {'data-label': 'Last sync'}, syncCell(inst)),
      h('td', {'data-label': 'Settings'}, h('a', {href: `#/installations/${inst.id}/settings`,
        'data-focus-key': `settings-${inst.id}`}, 'Settings')));
  }

  function pluginSection(name, rows) {
    const plugin = plugins.get(name);
    return h('section', {class: 'card', 'aria-labelledby': `inst-${name}`},
      h('div', {class: 'section-head'},
        h('h2', {id: `inst-${name}`}, name),
        plugin && plugin.configured
          ? h('a', {class: 'button', href: `/oauth/${encodeURIComponent(name)}/install`,
            'data-focus-key': `connect-${name}`}, 'Connect a workspace')
          : h('span', {class: 'warn-text'}, 'not configured: cannot connect yet')),
      rows.length
        ? h('div', {class: 'table-wrap'}, h('table', {class: 'responsive'},
          h('thead', {}, h('tr', {}, ['Workspace', 'Region', 'State', 'Installed', 'Last sync',
            'Settings'].map((t) => h('th', {scope: 'col'}, t)))),
          h('tbody', {}, rows)))
        : h('p', {class: 'muted'}, 'No installation matches.'));
  }

  /* Rebuilds only when something shown changed, and gives focus back to the same control. */
  function draw(force = false) {
    const visible = installations.filter(matchesWorkspace);
    const page = visible.slice(0, state.shown);
    const signature = JSON.stringify([page, [...running], page.map((i) => cache.get(i.id)),
      workspaceFilter.value]);
    if (!force && signature === lastSignature) return;
    lastSignature = signature;
    const focused = document.activeElement;
    const focusKey = focused && focused.dataset ? focused.dataset.focusKey : undefined;
    const focusRow = focused && focused.closest ? focused.closest('tr[data-installation]') : null;
    const focusRowId = focusRow ? focusRow.dataset.installation : undefined;
    const names = state.plugin ? [state.plugin] : [...plugins.keys()];
    const byPlugin = new Map(names.map((n) => [n, []]));
    for (const inst of page) {
      if (!byPlugin.has(inst.plugin)) byPlugin.set(inst.plugin, []);
      byPlugin.get(inst.plugin).push(row(inst));
    }
    const more = visible.length > page.length
      ? h('button', {type: 'button', class: 'secondary', 'data-focus-key': 'more',
        onclick: () => { state.shown += PAGE_SIZE; draw(true); refreshSyncs().catch(ctx.alert); }},
      `Load more (${visible.length - page.length} more)`)
      : null;
    replace(list,
      h('p', {class: 'muted'}, `${visible.length} installation${visible.length === 1 ? '' : 's'}`),
      [...byPlugin].map(([name, rows]) => pluginSection(name, rows)),
      more);
    list.setAttribute('aria-busy', 'false');
    if (focusKey) {
      /* The same control, or (a revoke button is gone once revoked) another one of its row. */
      const again = list.querySelector(`[data-focus-key="${CSS.escape(focusKey)}"]`)
        || (focusRowId && list.querySelector(`tr[data-installation="${CSS.escape(focusRowId)}"] a`));
      if (again) again.focus();
    }
  }

  /* Activity of the shown installations: new to the cache, or with a sync underway or just started. */
  async function refreshSyncs(all = false) {
    const shown = installations.filter(matchesWorkspace).slice(0, state.shown);
    const ids = shown.map((i) => i.id)
      .filter((id) => all || !cache.get(id) || cache.underway(id) || running.has(id));
    if (ids.length) await cache.refresh(ids, ctx.signal);
    draw();
  }

  async function refresh() {
    const [answer, runningJobs] = await Promise.all([
      api('/admin/installations', {query: {plugin: state.plugin, state: state.state},
        signal: ctx.signal}),
      api('/admin/jobs', {query: {state: 'running', plugin: state.plugin, limit: 1000},
        signal: ctx.signal}),
    ]);
    installations = answer.installations;
    running = new Set(runningJobs.jobs.filter((j) => isSyncType(j.type)).map((j) => j.installation_id));
    ctx.clearAlert();
    /* Now and then all of them: a sync can start and end between two polls. */
    polls += 1;
    await refreshSyncs(polls % FULL_REFRESH_EVERY === 0);
  }

  await ctx.every(POLL_MS, refresh);
}
