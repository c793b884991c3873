/*
 * Switchboard's browser client for the desktop API, shared by the agent
 * desktop (/desk/) and the supervisor dashboard (/supervisor/).
 *
 * - Switchboard.api(token, method, path, body): one API request; resolves
 *   to the JSON answer, rejects with a Switchboard.ApiError carrying the
 *   status and the API's JSON error body ({"error", "message", "field"}).
 * - new Switchboard.EventStream(path, token, handlers): the WebSocket event
 *   stream (/agent/events, /supervisor/events) that reconnects after a
 *   network drop with a capped, jittered back-off. handlers.onOpen runs on
 *   every (re)connection: the page re-reads its state there, so nothing
 *   that happened while it was away is lost. handlers.onEvent gets each
 *   event object; handlers.onStatus gets "connecting", "connected",
 *   "reconnecting" or "refused" (401/403: the token is no good).
 * - Switchboard.token(role) / Switchboard.saveToken(role, token): the
 *   token, kept in sessionStorage (this tab only, gone when it closes).
 * - Switchboard.el(tag, attrs, ...children): builds DOM with textContent
 *   only, never innerHTML, so names and variables from callers are inert.
 * - Switchboard.duration(seconds): "0:42", "12:05", "1:02:03".
 *
 * Classic script (no modules, no build step), no dependencies.
 */
(function () {
  'use strict';

  const TOKEN_KEY = 'switchboard.token.';

  function token(role) {
    try {
      return sessionStorage.getItem(TOKEN_KEY + role) || '';
    } catch (_) {
      return '';
    }
  }

  function saveToken(role, value) {
    try {
      if (value) sessionStorage.setItem(TOKEN_KEY + role, value);
      else sessionStorage.removeItem(TOKEN_KEY + role);
    } catch (_) {
      /* private mode: the token lives in the page only */
    }
  }

  /** An API refusal: `status`, and the JSON body's `error`, `message`, `field`. */
  class ApiError extends Error {
    constructor(status, body, text) {
      const b = body && typeof body === 'object' ? body : {};
      super(b.message || text || ('HTTP ' + status));
      this.status = status;
      this.error = b.error || '';
      this.field = b.field || '';
      this.body = b;
    }
  }

  async function api(tok, method, path, body) {
    const headers = { Authorization: 'Bearer ' + tok };
    const init = { method: method, headers: headers, cache: 'no-store' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let r;
    try {
      r = await fetch(path, init);
    } catch (e) {
      throw new ApiError(0, null, 'the switch cannot be reached');
    }
    const text = await r.text();
    let json = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch (_) {
      json = null;
    }
    if (!r.ok) throw new ApiError(r.status, json, text);
    return json;
  }

  /** Back-off after the n-th failed attempt, in ms: 0.5 s doubling to 10 s, ±20 %. */
  function backoff(n) {
    const base = Math.min(10000, 500 * Math.pow(2, Math.max(0, n)));
    return Math.round(base * (0.8 + 0.4 * Math.random()));
  }

  class EventStream {
    constructor(path, tok, handlers) {
      this.path = path;
      this.tok = tok;
      this.h = handlers || {};
      this.ws = null;
      this.failures = 0;
      this.stopped = false;
      this.timer = null;
    }

    url() {
      const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
      return scheme + '//' + location.host + this.path + '?token=' + encodeURIComponent(this.tok);
    }

    status(s) {
      if (this.h.onStatus) this.h.onStatus(s);
    }

    start() {
      this.stopped = false;
      this.connect();
      return this;
    }

    connect() {
      if (this.stopped) return;
      this.status(this.failures === 0 ? 'connecting' : 'reconnecting');
      let opened = false;
      const ws = new WebSocket(this.url());
      this.ws = ws;
      ws.onopen = () => {
        opened = true;
        this.failures = 0;
        this.status('connected');
        if (this.h.onOpen) this.h.onOpen();
      };
      ws.onmessage = (m) => {
        let ev;
        try {
          ev = JSON.parse(m.data);
        } catch (_) {
          return;
        }
        if (ev && ev.type === 'lagged') {
          // Events were missed: re-read the state, as after a reconnection.
          if (this.h.onOpen) this.h.onOpen();
          return;
        }
        if (this.h.onEvent) this.h.onEvent(ev);
      };
      ws.onclose = (c) => {
        if (this.ws !== ws) return;
        this.ws = null;
        if (this.stopped) return;
        if (!opened && c.code === 1006 && this.failures > 0 && this.h.onProbe) {
          // Ask the page whether the token still works (a WebSocket
          // refusal shows no status).
          this.h.onProbe();
        }
        if (c.code === 1008) {
          this.status('refused');
        }
        this.failures += 1;
        this.status('reconnecting');
        this.timer = setTimeout(() => this.connect(), backoff(this.failures - 1));
      };
    }

    /** Closes at once and reconnects (a test's simulated network drop). */
    drop() {
      if (this.ws) this.ws.close();
    }

    stop() {
      this.stopped = true;
      clearTimeout(this.timer);
      if (this.ws) this.ws.close(1000);
      this.ws = null;
    }
  }

  function el(tag, attrs) {
    const e = document.createElement(tag);
    if (attrs) {
      for (const k of Object.keys(attrs)) {
        const v = attrs[k];
        if (v === undefined || v === null || v === false) continue;
        if (k === 'class') e.className = v;
        else if (k === 'text') e.textContent = v;
        else if (k.startsWith('on') && typeof v === 'function') e.addEventListener(k.slice(2), v);
        else if (k === 'dataset') Object.assign(e.dataset, v);
        else e.setAttribute(k, v === true ? '' : String(v));
      }
    }
    for (let i = 2; i < arguments.length; i++) {
      const c = arguments[i];
      if (c === undefined || c === null || c === false) continue;
      e.append(c instanceof Node ? c : String(c));
    }
    return e;
  }

  function duration(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const ss = String(s % 60).padStart(2, '0');
    return h > 0 ? h + ':' + String(m).padStart(2, '0') + ':' + ss : m + ':' + ss;
  }

  window.Switchboard = {
    api: api,
    ApiError: ApiError,
    EventStream: EventStream,
    token: token,
    saveToken: saveToken,
    el: el,
    duration: duration,
  };
})();
