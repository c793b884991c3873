/*
 * Switchboard's supervisor dashboard (issue 13 item 2; spec SUP-1..SUP-6).
 *
 * Signs in with a supervisor's token, then shows, live:
 * - one tile per queue (GET /supervisor/queues; `queue` and `queue_stats`
 *   events): customers waiting, the longest wait (ticking locally from
 *   `oldest_waiting_since`), agents by state, today's service level and
 *   average speed of answer;
 * - every agent (GET /supervisor/agents; `agent_state` events): state,
 *   reason, time in state, the interaction it handles; force its state
 *   (Available, Idle with a reason, log out: confirmed first);
 * - every interaction (GET /supervisor/interactions): queue, caller, agent,
 *   phase, time in the phase and in total; monitor it on the supervisor's
 *   phone, then listen, whisper or barge (SUP-2, SUP-3); force close it
 *   (SUP-6, confirmed first).
 *
 * The lists are re-read on every (re)connection of /supervisor/events and
 * shortly after each event (one read for a burst); times tick every
 * second in the page. Rows are kept by key and updated in place, so focus,
 * and what a keyboard user is doing, survive updates.
 *
 * For tests: window.supervisorPage.state() returns what the page holds.
 */
(function () {
  'use strict';

  const S = window.Switchboard;
  const el = S.el;
  const ROLE = 'supervisor';
  const PHONE_KEY = 'switchboard.supervisor.phone';

  /** Which phase duration a state counts into (InteractionView.durations). */
  const PHASE_KEY = {
    queued: 'queue_ms',
    ringing: 'ring_ms',
    connected: 'talk_ms',
    held: 'hold_ms',
    consult: 'consult_ms',
    conference: 'conference_ms',
    post_call: 'post_call_ms',
    wrap_up: 'wrap_up_ms',
  };
  const PHASE_NAME = {
    queued: 'Waiting',
    ringing: 'Ringing',
    connected: 'Talking',
    held: 'On hold',
    consult: 'Consulting',
    conference: 'Conference',
    post_call: 'After call',
    wrap_up: 'Wrap-up',
  };
  const STATE_NAME = {
    LoggedOut: 'Logged out',
    Available: 'Available',
    Idle: 'Idle',
    Reserved: 'Reserved',
    Busy: 'Busy',
    WrapUp: 'Wrap-up',
  };
  const STATE_ORDER = ['Available', 'Idle', 'Reserved', 'Busy', 'WrapUp', 'LoggedOut'];
  const CONNECTED_STATES = ['connected', 'held', 'consult', 'conference'];

  const $ = (id) => document.getElementById(id);

  const page = {
    token: '',
    stream: null,
    agents: new Map(), // login -> AgentView
    interactions: new Map(), // uid -> {view, fetchedAt}
    queues: new Map(), // name -> queue object
    queuesMissing: false,
    monitoring: null, // {uid, mode}
    agentRows: new Map(),
    interactionRows: new Map(),
    tiles: new Map(),
    refreshTimer: null,
    refreshing: null,
  };

  // ---------------------------------------------------------------- helpers

  function say(text, isError) {
    const m = $('message');
    m.textContent = text || '';
    m.classList.toggle('error', !!isError);
  }

  function errorText(e) {
    if (e instanceof S.ApiError) return e.message;
    return String(e && e.message ? e.message : e);
  }

  function setText(node, text) {
    const t = text === undefined || text === null ? '' : String(text);
    if (node.textContent !== t) node.textContent = t;
  }

  function since(ms) {
    return S.duration((Date.now() - ms) / 1000);
  }

  function percent(x) {
    return x === null || x === undefined ? '—' : Math.round(x * 100) + ' %';
  }

  function seconds(x) {
    return x === null || x === undefined ? '—' : S.duration(x);
  }

  // ---------------------------------------------------------------- sign in

  async function signIn(tok) {
    $('signin-error').textContent = '';
    try {
      await S.api(tok, 'GET', '/supervisor/agents');
    } catch (e) {
      $('signin-error').textContent =
        e.status === 401 || e.status === 403 ? 'That token is not a supervisor\'s: ' + errorText(e) : errorText(e);
      return false;
    }
    page.token = tok;
    S.saveToken(ROLE, tok);
    $('signin').hidden = true;
    $('dashboard').hidden = false;
    // The sign-in form is gone: the focus goes to the top of the dashboard.
    $('queues-title').focus();
    page.stream = new S.EventStream('/supervisor/events', tok, {
      onOpen: refreshAll,
      onEvent: onEvent,
      onStatus: onStatus,
      onProbe: probe,
    }).start();
    return true;
  }

  function signOut(why) {
    if (page.stream) page.stream.stop();
    page.stream = null;
    page.token = '';
    S.saveToken(ROLE, '');
    page.agents.clear();
    page.interactions.clear();
    page.queues.clear();
    page.monitoring = null;
    render();
    $('dashboard').hidden = true;
    $('signin').hidden = false;
    setText($('connection'), 'Signed out');
    $('signin-error').textContent = why || '';
    $('token').value = '';
    $('token').focus();
  }

  function onStatus(s) {
    const text = {
      connecting: 'Connecting…',
      connected: 'Live',
      reconnecting: 'Connection lost, reconnecting…',
      refused: 'The switch refused the token',
    }[s] || s;
    setText($('connection'), text);
    $('connection').dataset.status = s;
  }

  /** The stream cannot connect: is the token still good? */
  async function probe() {
    try {
      await S.api(page.token, 'GET', '/supervisor/agents');
    } catch (e) {
      if (e.status === 401 || e.status === 403) signOut('Signed out: ' + errorText(e));
    }
  }

  // ---------------------------------------------------------------- data

  async function refreshAll() {
    if (!page.token) return;
    const tok = page.token;
    const [agents, interactions, queues] = await Promise.allSettled([
      S.api(tok, 'GET', '/supervisor/agents'),
      S.api(tok, 'GET', '/supervisor/interactions'),
      S.api(tok, 'GET', '/supervisor/queues'),
    ]);
    if (tok !== page.token) return;
    if (agents.status === 'fulfilled') setAgents(agents.value.agents || []);
    if (interactions.status === 'fulfilled') setInteractions(interactions.value.interactions || []);
    if (queues.status === 'fulfilled') {
      page.queuesMissing = false;
      setQueues(queues.value.queues || []);
    } else if (queues.reason && queues.reason.status === 404) {
      page.queuesMissing = true;
    }
    const failed = [agents, interactions].find((r) => r.status === 'rejected');
    if (failed) {
      const e = failed.reason;
      if (e.status === 401 || e.status === 403) return signOut('Signed out: ' + errorText(e));
      say('Could not read the dashboard: ' + errorText(e), true);
    }
    render();
  }

  /** Re-reads agents and interactions once, soon after a burst of events. */
  function refreshSoon() {
    if (page.refreshTimer) return;
    page.refreshTimer = setTimeout(async () => {
      page.refreshTimer = null;
      if (!page.token) return;
      const tok = page.token;
      try {
        const [a, i] = await Promise.all([
          S.api(tok, 'GET', '/supervisor/agents'),
          S.api(tok, 'GET', '/supervisor/interactions'),
        ]);
        if (tok !== page.token) return;
        setAgents(a.agents || []);
        setInteractions(i.interactions || []);
        render();
      } catch (e) {
        if (e.status === 401 || e.status === 403) signOut('Signed out: ' + errorText(e));
      }
    }, 150);
  }

  function setAgents(list) {
    page.agents = new Map(list.map((a) => [a.agent, a]));
  }

  function setInteractions(list) {
    const now = Date.now();
    page.interactions = new Map(list.map((i) => [i.interaction, { view: i, fetchedAt: now }]));
    if (page.monitoring && !page.interactions.has(page.monitoring.uid)) page.monitoring = null;
    // The switch says who monitors what (SUP-2): after a reload, this
    // page's monitor (on its phone) comes back with its mode.
    const phone = $('phone').value.trim();
    for (const i of list) {
      const m = i.monitor;
      if (!m || !phone || m.extension !== phone) continue;
      if (!page.monitoring || page.monitoring.uid === i.interaction) page.monitoring = { uid: i.interaction, mode: m.mode };
    }
  }

  function setQueues(list) {
    const now = Date.now();
    page.queues = new Map(list.map((q) => [q.queue, Object.assign({ fetchedAt: now }, q)]));
  }

  function onEvent(ev) {
    switch (ev.type) {
      case 'agent_state': {
        const a = page.agents.get(ev.agent);
        if (a) {
          a.state = ev.state;
          a.reason = ev.reason === undefined ? null : ev.reason;
          a.pending = ev.pending === undefined ? null : ev.pending;
          a.since_ms = ev.at_ms;
        }
        render();
        refreshSoon();
        return;
      }
      case 'queue': {
        const q = page.queues.get(ev.queue) || { queue: ev.queue, today: null };
        q.waiting = ev.waiting;
        q.oldest_waiting_since = ev.oldest_waiting_since;
        q.longest_wait_s = ev.longest_wait_s;
        q.agents = ev.agents;
        q.fetchedAt = Date.now();
        page.queues.set(ev.queue, q);
        render();
        // A customer came into the queue or left it: no agent's event says so.
        refreshSoon();
        return;
      }
      case 'queue_stats': {
        const q = page.queues.get(ev.queue) || { queue: ev.queue, waiting: 0, agents: {} };
        q.today = ev.today;
        page.queues.set(ev.queue, q);
        render();
        return;
      }
      case 'supervisor':
        if (page.monitoring && page.monitoring.uid === ev.interaction) page.monitoring.mode = ev.mode;
        render();
        refreshSoon();
        return;
      default:
        // Offers, connections, endings, wrap-ups...: the lists changed.
        refreshSoon();
    }
  }

  // ---------------------------------------------------------------- actions

  async function act(what, method, path, body, done) {
    say('');
    try {
      const r = await S.api(page.token, method, path, body);
      if (done) done(r);
      refreshSoon();
      return r;
    } catch (e) {
      say(what + ': ' + errorText(e), true);
      if (e.status === 401) signOut('Signed out: ' + errorText(e));
      return null;
    }
  }

  function confirmThen(title, text, onYes, returnFocus) {
    const d = $('confirm-dialog');
    setText($('confirm-title'), title);
    setText($('confirm-text'), text);
    d.returnValue = '';
    d.onclose = () => {
      // A close event of an earlier opening may arrive after this one
      // began: the dialog is open again then, and this one still waits.
      if (d.open) return;
      d.onclose = null;
      if (returnFocus && returnFocus.isConnected) returnFocus.focus();
      if (d.returnValue === 'yes') onYes();
    };
    d.showModal();
    $('confirm-no').focus();
  }

  function openStateDialog(login, opener) {
    const a = page.agents.get(login);
    const d = $('state-dialog');
    d.dataset.agent = login;
    setText($('state-title'), 'Change the state of ' + login);
    setText($('state-error'), '');
    // The agent's configured idle reasons (AGENT-1), its current one chosen.
    const reasons = (a && a.idle_reasons) || [];
    $('state-reason').replaceChildren(
      ...reasons.map((r) => el('option', { value: r, selected: a.state === 'Idle' && a.reason === r }, r))
    );
    const current = a && a.state === 'Available' && reasons.length ? 'idle' : 'available';
    for (const r of d.querySelectorAll('input[name=state]')) {
      r.checked = r.value === current;
      // A logged-out agent can be logged in (Available or Idle), not out;
      // Idle needs a configured reason.
      r.disabled =
        (r.value === 'logged_out' && !!a && a.state === 'LoggedOut') || (r.value === 'idle' && !reasons.length);
    }
    syncReason();
    d.onclose = () => {
      if (d.open) return; // an earlier opening's close event
      d.onclose = null;
      if (opener && opener.isConnected) opener.focus();
    };
    d.showModal();
    d.querySelector('input[name=state]:checked').focus();
  }

  function chosenState() {
    const r = $('state-dialog').querySelector('input[name=state]:checked');
    return r ? r.value : 'available';
  }

  function syncReason() {
    const idle = chosenState() === 'idle';
    $('state-reason').disabled = !idle;
    $('state-reason').required = idle;
  }

  async function applyState(ev) {
    ev.preventDefault();
    const d = $('state-dialog');
    const login = d.dataset.agent;
    const state = chosenState();
    const body = { state: state };
    if (state === 'idle') {
      const reason = $('state-reason').value;
      if (!reason) {
        setText($('state-error'), 'An idle state needs a reason.');
        $('state-reason').focus();
        return;
      }
      body.reason = reason;
    }
    const send = async () => {
      try {
        const view = await S.api(page.token, 'POST', '/supervisor/agents/' + encodeURIComponent(login) + '/state', body);
        if (view && view.agent) {
          page.agents.set(view.agent, view);
          render();
        }
        if (d.open) d.close();
        say(login + ': ' + (STATE_NAME[view && view.state] || 'state changed'));
        refreshSoon();
      } catch (e) {
        if (!d.open) d.showModal();
        setText($('state-error'), errorText(e));
        if (e.field === 'reason') $('state-reason').focus();
      }
    };
    if (state === 'logged_out') {
      const opener = rowButton(login);
      d.onclose = null;
      d.close();
      confirmThen('Log out ' + login + '?', login + ' stops getting calls until logging in again.', send, opener);
    } else {
      await send();
    }
  }

  function rowButton(login) {
    const row = page.agentRows.get(login);
    return row ? row.change : null;
  }

  function monitor(uid) {
    const phone = $('phone').value.trim();
    if (!phone) {
      say('Enter your phone\'s extension first: the switch calls it to monitor.', true);
      $('phone').focus();
      return;
    }
    try {
      localStorage.setItem(PHONE_KEY, phone);
    } catch (_) {
      /* not kept */
    }
    act('Monitor', 'POST', '/supervisor/interactions/' + encodeURIComponent(uid) + '/monitor', { extension: phone }, (r) => {
      page.monitoring = { uid: uid, mode: 'listen' };
      if (r && r.interactions) setInteractions(r.interactions);
      say('Calling your phone ' + phone + ': answer it to listen.');
      render();
    });
  }

  function mode(uid, m) {
    act(m[0].toUpperCase() + m.slice(1), 'POST', '/supervisor/interactions/' + encodeURIComponent(uid) + '/' + m, undefined, () => {
      if (page.monitoring && page.monitoring.uid === uid) page.monitoring.mode = m;
      render();
    });
  }

  function forceClose(uid, opener) {
    const it = page.interactions.get(uid);
    const who = it ? describe(it.view) : 'this interaction';
    confirmThen(
      'Close ' + who + '?',
      'The call ends for everyone on it; nobody wraps it up.',
      () => act('Close', 'POST', '/supervisor/interactions/' + encodeURIComponent(uid) + '/close', undefined, () => say('Closed ' + who + '.')),
      opener
    );
  }

  /** An interaction in a person's words: queue and caller, never its uid. */
  function describe(v) {
    return v.queue + ' call from ' + (v.caller || 'an unknown number');
  }

  // ---------------------------------------------------------------- render

  function render() {
    renderQueues();
    renderAgents();
    renderInteractions();
    tick();
  }

  function renderQueues() {
    const box = $('queues');
    const names = [...page.queues.keys()]; // the switch's (file) order
    for (const [name, t] of page.tiles) {
      if (!page.queues.has(name)) {
        t.root.remove();
        page.tiles.delete(name);
      }
    }
    names.forEach((name, i) => {
      let t = page.tiles.get(name);
      if (!t) {
        t = queueTile(name);
        page.tiles.set(name, t);
      }
      if (box.children[i] !== t.root) box.insertBefore(t.root, box.children[i] || null);
      const q = page.queues.get(name);
      setText(t.waiting, q.waiting === undefined ? '—' : q.waiting);
      t.root.classList.toggle('has-waiting', q.waiting > 0);
      const agents = q.agents || {};
      t.agents.replaceChildren(
        ...STATE_ORDER.filter((s) => agents[s]).map((s) =>
          el('li', { class: 'state-' + s, dataset: { state: s } }, el('span', { class: 'count' }, String(agents[s])), ' ' + STATE_NAME[s])
        )
      );
      if (!t.agents.children.length) t.agents.append(el('li', { class: 'muted' }, 'No agents'));
      const d = q.today;
      setText(t.sl, d ? percent(d.service_level) : '—');
      setText(t.slLabel, d && d.threshold_s !== undefined ? 'Service level (' + d.threshold_s + ' s)' : 'Service level');
      setText(t.asa, d ? seconds(d.asa_s) : '—');
      setText(t.offered, d ? d.offered : '—');
      setText(t.answered, d ? d.answered : '—');
      setText(t.abandoned, d ? d.abandoned : '—');
    });
    const empty = $('queues-empty');
    empty.hidden = names.length > 0;
    setText(empty, page.queuesMissing ? 'This switch does not report queue figures (GET /supervisor/queues).' : 'No queues.');
  }

  function queueTile(name) {
    const stat = (label, cls) => {
      const dd = el('dd', { class: cls });
      const dt = el('dt', null, label);
      return { dt: dt, dd: dd };
    };
    const waiting = stat('Waiting', 'waiting');
    const longest = stat('Longest wait', 'longest');
    const sl = stat('Service level', 'sl');
    const asa = stat('ASA', 'asa');
    asa.dt.replaceChildren(el('abbr', { title: 'Average speed of answer' }, 'ASA'));
    const offered = stat('Offered', 'offered');
    const answered = stat('Answered', 'answered');
    const abandoned = stat('Abandoned', 'abandoned');
    const agents = el('ul', { class: 'agents-by-state', 'aria-label': 'Agents by state' });
    const title = el('h3', null, name);
    const root = el(
      'article',
      { class: 'tile card', dataset: { queue: name }, 'aria-label': 'Queue ' + name },
      title,
      el('dl', { class: 'now' }, waiting.dt, waiting.dd, longest.dt, longest.dd),
      agents,
      el('p', { class: 'muted today-title' }, 'Today (since 00:00 UTC)'),
      el('dl', { class: 'today' }, sl.dt, sl.dd, asa.dt, asa.dd, offered.dt, offered.dd, answered.dt, answered.dd, abandoned.dt, abandoned.dd)
    );
    return {
      root: root,
      waiting: waiting.dd,
      longest: longest.dd,
      sl: sl.dd,
      slLabel: sl.dt,
      asa: asa.dd,
      offered: offered.dd,
      answered: answered.dd,
      abandoned: abandoned.dd,
      agents: agents,
    };
  }

  function renderAgents() {
    const body = $('agents').tBodies[0];
    const logins = [...page.agents.keys()].sort();
    for (const [login, row] of page.agentRows) {
      if (!page.agents.has(login)) {
        row.tr.remove();
        page.agentRows.delete(login);
      }
    }
    logins.forEach((login, i) => {
      let row = page.agentRows.get(login);
      if (!row) {
        row = agentRow(login);
        page.agentRows.set(login, row);
      }
      if (body.children[i] !== row.tr) body.insertBefore(row.tr, body.children[i] || null);
      const a = page.agents.get(login);
      setText(row.name, a.name || '');
      setText(row.state, STATE_NAME[a.state] || a.state);
      row.tr.dataset.state = a.state;
      row.state.className = 'state state-' + a.state;
      const pending = a.pending ? ' (then ' + a.pending + ')' : '';
      setText(row.reason, (a.reason || '') + pending);
      row.time.dataset.since = String(a.since_ms || 0);
      const it = a.interaction ? page.interactions.get(a.interaction) : null;
      setText(row.interaction, it ? describe(it.view) : a.interaction ? 'a call' : '');
      setText(row.change, a.state === 'LoggedOut' ? 'Log in…' : 'Change state…');
      row.change.setAttribute('aria-label', (a.state === 'LoggedOut' ? 'Log in ' : 'Change the state of ') + login);
    });
  }

  function agentRow(login) {
    const name = el('span', { class: 'muted name' });
    const state = el('span', { class: 'state' });
    const reason = el('td', { class: 'reason' });
    const time = el('td', { class: 'time' });
    const interaction = el('td', { class: 'interaction' });
    const change = el('button', { type: 'button', class: 'change', dataset: { agent: login } }, 'Change state…');
    change.addEventListener('click', () => openStateDialog(login, change));
    const tr = el(
      'tr',
      { dataset: { agent: login } },
      el('th', { scope: 'row' }, el('span', { class: 'login' }, login), ' ', name),
      el('td', null, state),
      reason,
      time,
      interaction,
      el('td', { class: 'actions' }, change)
    );
    return { tr: tr, name: name, state: state, reason: reason, time: time, interaction: interaction, change: change };
  }

  function renderInteractions() {
    const body = $('interactions').tBodies[0];
    const uids = [...page.interactions.keys()].sort(
      (a, b) => page.interactions.get(a).view.arrived_ms - page.interactions.get(b).view.arrived_ms
    );
    for (const [uid, row] of page.interactionRows) {
      if (!page.interactions.has(uid)) {
        row.tr.remove();
        page.interactionRows.delete(uid);
      }
    }
    uids.forEach((uid, i) => {
      let row = page.interactionRows.get(uid);
      if (!row) {
        row = interactionRow(uid);
        page.interactionRows.set(uid, row);
      }
      if (body.children[i] !== row.tr) body.insertBefore(row.tr, body.children[i] || null);
      const v = page.interactions.get(uid).view;
      setText(row.queue, v.queue);
      // A callback the switch places, or a voicemail work item, says so.
      const kind = { callback: 'Callback to ', voicemail: 'Voicemail from ' }[v.channel] || '';
      setText(row.caller, kind + v.caller);
      row.tr.dataset.channel = v.channel || 'voice';
      setText(row.agent, v.agent || (v.assigned_to ? 'for ' + v.assigned_to : ''));
      setText(row.phase, PHASE_NAME[v.state] || v.state);
      row.tr.dataset.state = v.state;
      renderInteractionActions(row, uid, v);
    });
    $('interactions-empty').hidden = uids.length > 0;
  }

  function interactionRow(uid) {
    const cells = {};
    for (const c of ['queue', 'caller', 'agent', 'phase', 'inPhase', 'total', 'actions']) cells[c] = el('td', { class: c });
    const tr = el('tr', { dataset: { interaction: uid } }, ...Object.values(cells));
    return Object.assign({ tr: tr, sig: '' }, cells);
  }

  /** The row's buttons, rebuilt only when what they offer changes. */
  function renderInteractionActions(row, uid, v) {
    const mon = page.monitoring && page.monitoring.uid === uid ? page.monitoring.mode : '';
    const connected = CONNECTED_STATES.includes(v.state);
    const sig = [connected, mon, v.state === 'wrap_up'].join('|');
    if (row.sig === sig) return;
    const focusedClass = row.actions.contains(document.activeElement) ? document.activeElement.className : null;
    row.sig = sig;
    const who = describe(v);
    const buttons = [];
    if (mon) {
      for (const m of ['listen', 'whisper', 'barge']) {
        const b = el(
          'button',
          { type: 'button', class: 'mode-' + m, 'aria-pressed': String(mon === m), 'aria-label': m[0].toUpperCase() + m.slice(1) + ' on ' + who },
          m[0].toUpperCase() + m.slice(1)
        );
        b.addEventListener('click', () => mode(uid, m));
        buttons.push(b);
      }
    } else if (connected) {
      const b = el('button', { type: 'button', class: 'monitor', 'aria-label': 'Monitor ' + who }, 'Monitor');
      b.addEventListener('click', () => monitor(uid));
      buttons.push(b);
    }
    const close = el('button', { type: 'button', class: 'close danger', 'aria-label': 'Close ' + who }, 'Close…');
    close.addEventListener('click', () => forceClose(uid, close));
    buttons.push(close);
    row.actions.replaceChildren(...buttons);
    if (focusedClass) {
      const again = buttons.find((b) => b.className === focusedClass) || buttons[0];
      again.focus();
    }
  }

  /** Updates every ticking time (each second, and after each render). */
  function tick() {
    const now = Date.now();
    for (const row of page.agentRows.values()) {
      const ms = Number(row.time.dataset.since);
      setText(row.time, ms ? since(ms) : '');
    }
    for (const [uid, row] of page.interactionRows) {
      const it = page.interactions.get(uid);
      if (!it) continue;
      const v = it.view;
      const key = PHASE_KEY[v.state];
      const base = key && v.durations ? v.durations[key] || 0 : 0;
      setText(row.inPhase, S.duration((base + (now - it.fetchedAt)) / 1000));
      setText(row.total, S.duration((now - v.arrived_ms) / 1000));
    }
    for (const [name, t] of page.tiles) {
      const q = page.queues.get(name);
      if (!q) continue;
      if (q.waiting > 0 && q.oldest_waiting_since) setText(t.longest, since(q.oldest_waiting_since));
      else if (q.waiting > 0 && q.longest_wait_s !== undefined) setText(t.longest, S.duration(q.longest_wait_s + (now - q.fetchedAt) / 1000));
      else setText(t.longest, q.waiting === 0 ? '—' : '');
    }
  }

  // ---------------------------------------------------------------- wiring

  function init() {
    $('signin').addEventListener('submit', (e) => {
      e.preventDefault();
      signIn($('token').value.trim());
    });
    $('signout').addEventListener('click', () => signOut(''));
    $('state-form').addEventListener('submit', applyState);
    $('state-form').addEventListener('change', syncReason);
    $('state-cancel').addEventListener('click', () => $('state-dialog').close());
    try {
      $('phone').value = localStorage.getItem(PHONE_KEY) || '';
    } catch (_) {
      /* nothing kept */
    }
    setInterval(tick, 1000);
    const saved = S.token(ROLE);
    if (saved) signIn(saved);
    else $('token').focus();
  }

  window.supervisorPage = {
    /** What the page holds (for tests and the console). */
    state: () => ({
      signedIn: !!page.token,
      connection: $('connection').dataset.status || '',
      agents: [...page.agents.values()],
      interactions: [...page.interactions.values()].map((i) => i.view),
      queues: [...page.queues.values()],
      monitoring: page.monitoring,
    }),
    /** Simulates a network drop of the event stream. */
    dropStream: () => page.stream && page.stream.drop(),
  };

  init();
})();
