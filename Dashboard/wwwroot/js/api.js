// Shared by the pages: the REST API with the page's antiforgery token, and small formatting helpers.
const csrf = document.querySelector('meta[name="csrf-token"]')?.content ?? '';

/** Calls the API; resolves to {ok, status, body}. A 401 (signed out) goes back to the login page. */
export async function api(path, options = {}) {
  const headers = { 'Accept': 'application/json', ...(options.headers ?? {}) };
  if (options.method && options.method !== 'GET') headers['X-CSRF-TOKEN'] = csrf;
  const response = await fetch(path, { credentials: 'same-origin', ...options, headers });
  if (response.status === 401) {
    location.href = '/login?ReturnUrl=' + encodeURIComponent(location.pathname);
    return { ok: false, status: 401, body: null };
  }
  const text = await response.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch { body = { error: text }; }
  return { ok: response.ok, status: response.status, body };
}

/**
 * Opens a server-sent event stream once the page has loaded; handlers maps event names to functions of the
 * parsed data (and the source). Opened later, the stream never holds up the page's load event: a stream
 * opened while the page loads keeps it pending until the server answers, and the server may be busy.
 */
export function stream(path, handlers, liveElement) {
  const open = () => {
    const source = new EventSource(path);
    source.onopen = () => { if (liveElement) liveElement.textContent = 'live'; };
    source.onerror = () => { if (liveElement) liveElement.textContent = 'reconnecting…'; };
    for (const [name, handler] of Object.entries(handlers)) {
      source.addEventListener(name, event => handler(JSON.parse(event.data), source));
    }
  };
  if (document.readyState === 'complete') open();
  else window.addEventListener('load', open, { once: true });
}

export function fmt(value, digits = 4) {
  if (value === null || value === undefined || Number.isNaN(value)) return '–';
  if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString('en-US');
  return Number(value).toFixed(digits);
}

export function time(iso) {
  return new Date(iso).toLocaleTimeString('en-GB');
}

/** Creates an element with text content (never innerHTML with data). */
export function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

document.querySelectorAll('header.top a[data-nav]').forEach(a => {
  if (a.dataset.nav === document.body.dataset.page) a.classList.add('active');
});
