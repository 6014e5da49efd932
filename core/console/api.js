/*
 * api.js - the admin API from the browser. The admin token lives in this
 * tab's sessionStorage and travels only in the Authorization header: never in
 * a URL (it would reach logs and history) nor in a cookie.
 */

const TOKEN_KEY = 'switchboard.admin_token';

export function hasToken() {
  return Boolean(sessionStorage.getItem(TOKEN_KEY));
}

export function signIn(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** An answer that was not 2xx, with the server's {"error": {...}} if it sent one. */
export class ApiError extends Error {
  constructor(status, code, message, requestId) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.requestId = requestId;
  }
}

let onUnauthorized = () => {};

/** Called (once per refused request) when the server says 401: the token is gone or wrong. */
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

async function errorFrom(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    /* not JSON: a proxy's page, say; the status alone must do */
  }
  const e = body && body.error;
  if (e && typeof e.message === 'string') {
    return new ApiError(response.status, e.code || '', e.message, e.request_id || '');
  }
  return new ApiError(response.status, '', `${response.status} ${response.statusText}`.trim(), '');
}

/**
 * Call the admin API. @p path starts with /admin/; @p query is an object whose
 * empty values are left out; @p body is sent as JSON. Resolves with the parsed
 * answer; rejects with an ApiError (or a TypeError when the network failed).
 * @p token overrides the stored one (sign-in tries a token before storing it).
 */
export async function api(path, {method = 'GET', query, body, token, signal} = {}) {
  const url = new URL(path, window.location.origin);
  for (const [k, v] of Object.entries(query || {})) {
    if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, String(v));
  }
  const headers = {Accept: 'application/json'};
  const bearer = token ?? sessionStorage.getItem(TOKEN_KEY);
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(url, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal,
    credentials: 'omit',
    cache: 'no-store',
  });
  if (!response.ok) {
    const error = await errorFrom(response);
    if (response.status === 401 && token === undefined) {
      signOut();
      onUnauthorized(error);
    }
    throw error;
  }
  return response.status === 204 ? null : response.json();
}

/** The unauthenticated endpoints (/healthz, /metrics) as text. */
export async function fetchText(path, {signal} = {}) {
  const response = await fetch(path, {signal, credentials: 'omit', cache: 'no-store'});
  if (!response.ok) throw await errorFrom(response);
  return response.text();
}
