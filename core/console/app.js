/*
 * app.js - the console's shell: hash routing (#/overview, #/jobs?state=dead,
 * ...), the navigation, sign-out, error display and polling that stops when
 * the page is left. Each page is a module exporting render(ctx).
 */
import {ApiError, hasToken, setUnauthorizedHandler, signOut} from './api.js';
import {h, replace} from './dom.js';
import * as audit from './pages/audit.js';
import * as events from './pages/events.js';
import * as installations from './pages/installations.js';
import * as jobs from './pages/jobs.js';
import * as overview from './pages/overview.js';
import * as plugins from './pages/plugins.js';
import * as settings from './pages/settings.js';
import * as signin from './pages/signin.js';

const ROUTES = [
  {path: /^\/signin$/, page: signin, title: 'Sign in', signedOut: true},
  {path: /^\/overview$/, page: overview, title: 'Overview', section: 'overview'},
  {path: /^\/plugins$/, page: plugins, title: 'Plugins', section: 'plugins'},
  {path: /^\/installations$/, page: installations, title: 'Installations', section: 'installations'},
  {path: /^\/installations\/(\d+)\/settings$/, page: settings, title: 'Settings',
    section: 'installations'},
  {path: /^\/jobs$/, page: jobs, title: 'Jobs', section: 'jobs'},
  {path: /^\/events$/, page: events, title: 'Events', section: 'events'},
  {path: /^\/audit$/, page: audit, title: 'Audit', section: 'audit'},
];

const main = document.getElementById('main');
const nav = document.getElementById('nav');
let active = null; /* {controller} of the page on screen */

/** What a person should read for an error. */
export function errorText(error) {
  if (error instanceof ApiError) {
    const id = error.requestId ? ` (request ${error.requestId})` : '';
    return `${error.message}${id}`;
  }
  if (error instanceof TypeError) return 'The server could not be reached. Is it running?';
  return String(error && error.message ? error.message : error);
}

function parseHash() {
  const raw = window.location.hash.startsWith('#/') ? window.location.hash.slice(1) : '/overview';
  const [path, search] = raw.split('?');
  return {path, query: new URLSearchParams(search || '')};
}

export function navigate(path) {
  window.location.hash = `#${path}`;
}

function makeContext(match, query, controller) {
  const alerts = h('div', {class: 'alerts'});
  const content = h('div', {class: 'page'});
  replace(main, alerts, content);
  return {
    main: content,
    params: match.slice(1),
    query,
    signal: controller.signal,
    navigate,
    /* Shows @p error above the page (an AbortError from leaving the page is not one). */
    alert(error) {
      if (controller.signal.aborted || (error && error.name === 'AbortError')) return;
      if (error instanceof ApiError && error.status === 401) return; /* back to sign-in */
      replace(alerts, h('p', {role: 'alert', class: 'error'}, errorText(error)));
    },
    clearAlert() {
      alerts.replaceChildren();
    },
    /* Writes the page's filters into the address without re-rendering (bookmarkable). */
    setQuery(values) {
      const params = new URLSearchParams();
      for (const [k, v] of Object.entries(values)) if (v !== '' && v != null) params.set(k, v);
      const qs = params.toString();
      const path = parseHash().path;
      window.history.replaceState(null, '', `#${path}${qs ? `?${qs}` : ''}`);
    },
    /* Runs @p fn now and every @p ms until the page is left; skipped while the tab is hidden. */
    every(ms, fn) {
      let timer = null;
      const tick = async () => {
        if (controller.signal.aborted) return;
        if (!document.hidden) {
          try {
            await fn();
          } catch (error) {
            this.alert(error);
          }
        }
        if (!controller.signal.aborted) timer = window.setTimeout(tick, ms);
      };
      controller.signal.addEventListener('abort', () => window.clearTimeout(timer));
      return tick();
    },
  };
}

async function render() {
  const {path, query} = parseHash();
  let route = null;
  let match = null;
  for (const r of ROUTES) {
    match = r.path.exec(path);
    if (match) {
      route = r;
      break;
    }
  }
  if (!route) {
    window.location.replace('#/overview');
    return;
  }
  if (!hasToken() && !route.signedOut) {
    window.location.replace('#/signin');
    return;
  }
  if (hasToken() && route.signedOut) {
    window.location.replace('#/overview');
    return;
  }
  if (active) active.controller.abort();
  const controller = new AbortController();
  active = {controller};

  nav.hidden = !hasToken();
  for (const link of nav.querySelectorAll('a[data-section]')) {
    if (link.dataset.section === route.section) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  document.title = `${route.title} · Switchboard`;
  const ctx = makeContext(match, query, controller);
  try {
    await route.page.render(ctx);
  } catch (error) {
    ctx.alert(error);
  }
}

function onHashChange() {
  render().then(() => {
    /* Keyboard and screen-reader users land on the new page, not on the old link. */
    if (document.activeElement === document.body || nav.contains(document.activeElement)) {
      main.focus({preventScroll: true});
    }
  });
}

setUnauthorizedHandler(() => {
  window.location.replace('#/signin?expired=1');
});

document.getElementById('sign-out').addEventListener('click', () => {
  signOut();
  window.location.replace('#/signin');
});

window.addEventListener('hashchange', onHashChange);
render();
