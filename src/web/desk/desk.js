/*
 * The agent desktop (issue 13 item 1), on the desktop API and its event
 * stream (/agent/events) through /web/client.js, with the softphone's
 * phone embedded (/softphone/softphone.js, `data-embed`).
 *
 * What it shows comes from the switch only: /agent/me and
 * /agent/interactions are read on every (re)connection of the event
 * stream, and each event updates that picture. Buttons are enabled as the
 * stream says (the `controls` event; until one arrives for an interaction,
 * the controls its state allows), never from a guess about what a request
 * will do.
 *
 * Rules shown here: AGENT-1/4/6 (state selector with the configured idle
 * reasons, pending state), OFFER-2/3/4/5 (stacked offers with the queue's
 * variables as the switch sends them, secure ones never, the caller masked
 * when configured; ringing timer; the RONA prompt), CALL-HOLD-1 (End is
 * disabled while held), CALL-CONSULT-*, CALL-XFER-*, CALL-CONF-*,
 * CALL-REC-1, CAD-1..4 (call data: edit, save, the conflict message,
 * revert), WRAP-1..3 (reasons, notes, extend).
 *
 * URL settings (for a bookmark or a test): ?sip=ws://host:port (the SIP
 * WebSocket server), ?sip_password=... (taken out of the address bar at
 * once), ?phone=desk (use the desk phone). A test reads `window.deskState`.
 */
(function () {
  'use strict';

  const S = window.Switchboard;
  const el = S.el;
  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(location.search);
  const SERVER_KEY = 'switchboard.desk.sip-server';
  const MODE_KEY = 'switchboard.desk.phone-mode';
  /** Which buttons each interaction state allows, until a `controls` event says. */
  const DEFAULT_CONTROLS = {
    connected: ['hold', 'end', 'consult'],
    held: ['resume'],
    consult: ['toggle', 'end_consult'],
    conference: ['consult', 'end', 'leave'],
    post_call: ['end', 'leave'],
  };
  const STATE_TEXT = {
    LoggedOut: 'Logged out',
    Available: 'Available',
    Idle: 'Idle',
    Reserved: 'Reserved (an offer rings)',
    Busy: 'Busy (on a call)',
    WrapUp: 'Wrap-up',
  };

  /** What the page knows; a test reads it as `window.deskState`. */
  const st = {
    token: '',
    connection: 'offline',
    reads: 0, // completed re-reads of /agent/me (one per (re)connection)
    me: null, // AgentView
    offers: [], // OfferView, earliest first
    ix: null, // the interaction handled: InteractionView
    controls: null, // enabled controls from the last `controls` event, or null
    consult: null, // { party, state, reason }
    roster: [], // lines shown under "On the call"
    recordingPaused: false,
    data: null, // DataView as saved
    dirty: {}, // name -> edited value not yet saved
    dataMessage: '',
    wrap: null, // { interaction, reasons, deadline_ms }
    consultOffer: null, // a consult asked of this agent: { interaction, from, variables }
    rona: false,
    picker: null, // 'consult' | 'transfer' | null
    phone: null, // the embedded phone's state
    voicemails: [], // VoicemailView not yet done, newest first
    callback: null, // a callback being placed: { number, state: 'dialing' | 'held', reason } (CB-7: the reason code)
    log: [],
  };
  window.deskState = st;

  let stream = null;
  let phone = null;
  let ticker = null;
  let readSeq = 0;

  // --- small helpers -----------------------------------------------------

  function activity(line) {
    st.log.push(line);
    if (st.log.length > 100) st.log.shift();
    const list = $('activity');
    list.prepend(el('li', null, new Date().toLocaleTimeString() + '  ' + line));
    while (list.children.length > 50) list.lastChild.remove();
  }

  function showError(id, e) {
    const msg = e ? (e.message || String(e)) : '';
    $(id).textContent = msg;
    if (msg) activity(msg);
  }

  async function call(method, path, body, errorId) {
    try {
      const r = await S.api(st.token, method, path, body);
      if (errorId) showError(errorId, null);
      return r;
    } catch (e) {
      if (errorId) showError(errorId, e);
      if (e.status === 401) loggedOut('The token is no longer accepted: log in again');
      throw e;
    }
  }

  function ixPath(suffix) {
    return '/agent/interactions/' + encodeURIComponent(st.ix.interaction) + suffix;
  }

  function since(ms) {
    return ms ? S.duration((Date.now() - ms) / 1000) : '';
  }

  // --- log in, the stream, re-reading ------------------------------------

  async function login(token) {
    st.token = token.trim();
    $('login-error').textContent = '';
    let me;
    try {
      me = await S.api(st.token, 'GET', '/agent/me');
    } catch (e) {
      $('login-error').textContent =
        e.status === 401 || e.status === 403 ? 'This token is not an agent\u2019s token.' : e.message;
      st.token = '';
      return false;
    }
    if (me.state === 'LoggedOut') {
      try {
        me = await S.api(st.token, 'POST', '/agent/login', {});
      } catch (e) {
        $('login-error').textContent = e.message;
        return false;
      }
    }
    S.saveToken('agent', st.token);
    st.me = me;
    $('login-view').hidden = true;
    $('desk-view').hidden = false;
    $('logout').hidden = false;
    $('desk-ext').textContent = '(extension ' + me.extension + ')';
    activity('Logged in as ' + me.name + ' (' + me.agent + ')');
    startPhoneFromSettings();
    stream = new S.EventStream('/agent/events', st.token, {
      onOpen: reread,
      onEvent: onEvent,
      onStatus: onStatus,
      onProbe: () => call('GET', '/agent/me').catch(() => {}),
    }).start();
    st.streamObj = stream;
    if (!ticker) ticker = setInterval(tick, 1000);
    render();
    $('state-select').focus();
    return true;
  }

  function loggedOut(why) {
    if (stream) stream.stop();
    stream = null;
    S.saveToken('agent', '');
    st.token = '';
    st.me = null;
    $('desk-view').hidden = true;
    $('login-view').hidden = false;
    $('logout').hidden = true;
    $('who').textContent = '';
    $('conn').textContent = 'Not logged in';
    $('login-error').textContent = why || '';
    $('token').focus();
  }

  function onStatus(s) {
    st.connection = s;
    const text = {
      connecting: 'Connecting…',
      connected: 'Connected',
      reconnecting: 'Connection lost: reconnecting…',
      refused: 'The switch refused this token',
    }[s] || s;
    $('conn').textContent = text;
    $('conn').className = 'conn ' + s;
    if (s === 'reconnecting') activity('Event stream lost: reconnecting');
  }

  /** Re-reads everything (each (re)connection, or after `lagged`). */
  async function reread() {
    const seq = ++readSeq;
    let me;
    let list;
    try {
      [me, list] = await Promise.all([
        call('GET', '/agent/me'),
        call('GET', '/agent/interactions'),
      ]);
    } catch (e) {
      return;
    }
    if (seq !== readSeq) return;
    st.me = me;
    st.offers = (me.offers || []).slice().sort((a, b) => a.offered_ms - b.offered_ms);
    const mine = (list.interactions || []).find((i) => i.interaction === me.interaction && i.agent === me.agent);
    let live = mine && me.state === 'Busy' ? mine : null;
    // A consulted agent's call is someone else's interaction: keep it.
    if (!live && st.ix && st.ix.state === 'consultant' && me.state === 'Busy') live = st.ix;
    // Events may have been missed: the controls and the recording are as
    // the switch lists them now (a consultant's call: as its state allows
    // until the next `controls` event).
    st.controls = live && Array.isArray(live.controls) && live !== st.ix ? live.controls : null;
    if (!live || !st.ix || st.ix.interaction !== live.interaction) {
      st.consult = null;
      st.roster = [];
      st.recordingPaused = false;
    } else if (live.state !== 'consult') {
      st.consult = null;
    }
    if (live && live !== st.ix) st.recordingPaused = live.recording === 'paused';
    st.ix = live;
    if (live) {
      if (!st.data || st.data.interaction !== live.interaction) loadData();
    } else if (!(me.state === 'WrapUp')) {
      st.data = null;
      st.dirty = {};
    }
    if (me.state === 'WrapUp') {
      st.wrap = {
        interaction: me.interaction,
        reasons: me.wrap_up_reasons || (st.wrap ? st.wrap.reasons : []),
        deadline_ms: me.wrap_up_deadline_ms,
      };
    } else {
      st.wrap = null;
    }
    st.rona = me.state === 'Idle' && me.reason === 'RONA' && st.ronaDismissed !== me.since_ms;
    st.reads += 1;
    render();
    loadVoicemails();
  }

  // --- events ------------------------------------------------------------

  function onEvent(ev) {
    const me = st.me;
    if (!me) return;
    switch (ev.type) {
      case 'agent_state':
        me.state = ev.state;
        me.reason = ev.reason;
        me.pending = ev.pending;
        me.since_ms = ev.at_ms;
        activity('State: ' + stateText(ev.state, ev.reason) + (ev.pending ? ' (then ' + ev.pending + ')' : ''));
        if (ev.state !== 'Idle' || ev.reason !== 'RONA') st.rona = false;
        if (ev.state !== 'WrapUp') st.wrap = null;
        if (ev.state !== 'Busy' && ev.state !== 'Reserved') st.consultOffer = null;
        break;
      case 'offer': {
        const o = Object.assign({}, ev);
        delete o.type;
        delete o.agent;
        st.offers = st.offers.filter((x) => x.offer !== o.offer).concat([o]);
        st.offers.sort((a, b) => a.offered_ms - b.offered_ms);
        activity('Offer from ' + o.caller + ' (' + o.queue + ')');
        render();
        focusOffer();
        return;
      }
      case 'callback': {
        // CB-6, CB-7: where the callback the agent handles is.
        const what = {
          dialing: 'Calling ' + ev.number + '\u2026',
          held: 'Callback to ' + ev.number + ' held: ' + (ev.reason || '').replace(/_/g, ' '),
          answered: ev.number + ' answered',
          unanswered: ev.number + ' did not answer: the callback goes back to its queue',
          cancelled: 'Callback to ' + ev.number + ' cancelled',
        }[ev.state] || ev.state;
        st.callback = ev.state === 'held' || ev.state === 'dialing' ? { number: ev.number, state: ev.state, reason: ev.reason } : null;
        activity(what);
        break;
      }
      case 'offer_cancelled':
        dropOffer(ev.offer);
        if (st.consultOffer && st.consultOffer.interaction === ev.interaction) st.consultOffer = null;
        activity('Offer withdrawn: ' + ev.reason.replace(/_/g, ' '));
        break;
      case 'rona':
        dropOffer(ev.offer);
        st.rona = true;
        activity('No answer: Idle (RONA)');
        render();
        $('rona-available').focus();
        return;
      case 'connected':
        st.offers = st.offers.filter((o) => o.interaction !== ev.interaction.interaction);
        st.ix = ev.interaction;
        st.controls = null;
        st.consult = null;
        st.roster = [];
        st.recordingPaused = false;
        st.dirty = {};
        st.dataMessage = '';
        activity('Connected to ' + ev.interaction.caller);
        loadData();
        break;
      case 'hold':
        if (st.ix && st.ix.interaction === ev.interaction) {
          st.ix.state = ev.held ? 'held' : 'connected';
          activity(ev.held ? 'Customer on hold' : 'Customer resumed');
        }
        break;
      case 'controls':
        if (st.ix && st.ix.interaction === ev.interaction) st.controls = ev.enabled;
        else if (!st.ix && ev.enabled.includes('leave')) {
          // This agent joined someone else's call as the consulted party.
          const from = st.consultOffer && st.consultOffer.interaction === ev.interaction ? st.consultOffer.from : '';
          st.ix = { interaction: ev.interaction, caller: from ? 'Consult from ' + from : 'Consult', queue: '', dnis: '', state: 'consultant' };
          st.controls = ev.enabled;
          st.consultOffer = null;
        }
        break;
      case 'consult':
        if (st.ix && st.ix.interaction === ev.interaction) {
          // The `merged` event may not repeat who it was.
          const party = ev.party || (st.consult ? st.consult.party : '');
          st.consult = ['ended', 'failed', 'merged'].includes(ev.state) ? null : { party: party, state: ev.state };
          if (ev.state === 'merged') {
            st.ix.state = 'conference';
            if (party) st.roster = st.roster.filter((r) => r !== party).concat([party]);
          } else if (ev.state === 'connected' || ev.state === 'ringing' || ev.state === 'waiting') {
            st.ix.state = 'consult';
          } else if (st.ix.state === 'consult') {
            st.ix.state = 'connected';
          }
          activity('Consult ' + party + ': ' + ev.state + (ev.reason ? ' (' + ev.reason + ')' : ''));
        }
        break;
      case 'consult_offer':
        st.consultOffer = { interaction: ev.interaction, from: ev.from, variables: ev.variables };
        activity(ev.from + ' asks to consult you: answer on your phone');
        break;
      case 'customer_left':
        if (st.ix && st.ix.interaction === ev.interaction) st.ix.state = 'post_call';
        activity('The customer left; the agents talk on');
        break;
      case 'transferred':
        activity('Transferred to ' + ev.to);
        endInteraction(ev.interaction);
        break;
      case 'primary_changed':
        activity(ev.from + ' left: you control the call');
        reread();
        break;
      case 'ended':
        activity('Call ended by ' + ev.by);
        endInteraction(ev.interaction);
        break;
      case 'wrap_up':
        st.wrap = { interaction: ev.interaction, reasons: ev.reasons, deadline_ms: ev.deadline_ms };
        activity('Wrap-up');
        render();
        $('wrapup').focus();
        return;
      case 'wrap_up_ended':
        st.wrap = null;
        st.data = null;
        st.dirty = {};
        activity(ev.timed_out ? 'Wrap-up time ran out' : 'Wrap-up submitted');
        break;
      case 'data_saved':
        if (st.data && st.data.interaction === ev.interaction && ev.version > st.data.version) {
          activity('Call data saved (version ' + ev.version + '): ' + ev.changed.join(', '));
          if (Object.keys(st.dirty).length === 0) loadData();
        }
        break;
      case 'supervisor':
        activity('Supervisor ' + ev.supervisor + ': ' + ev.mode);
        break;
      case 'assigned':
        activity('Supervisor ' + ev.supervisor + ' assigned you a call (' + ev.delivery.replace('_', ' ') + ')');
        break;
      case 'closed_by_supervisor':
        activity('Supervisor ' + ev.supervisor + ' closed the call');
        endInteraction(ev.interaction);
        break;
      case 'voicemail': {
        const v = Object.assign({}, ev);
        delete v.type;
        delete v.agent;
        st.voicemails = [v].concat(st.voicemails.filter((x) => x.id !== v.id));
        activity('Voicemail from ' + callerText(v) + ' (' + mailboxText(v) + ')');
        break;
      }
      case 'voicemail_done':
        st.voicemails = st.voicemails.filter((x) => x.id !== ev.id);
        activity('Voicemail marked done by ' + ev.by);
        break;
      default:
        return;
    }
    render();
  }

  function dropOffer(offer) {
    st.offers = st.offers.filter((o) => o.offer !== offer);
  }

  function endInteraction(uid) {
    if (st.ix && st.ix.interaction === uid) {
      st.ix = null;
      st.controls = null;
      st.consult = null;
      st.picker = null;
    }
  }

  function stateText(state, reason) {
    const base = STATE_TEXT[state] || state;
    return state === 'Idle' && reason ? 'Idle (' + reason + ')' : base;
  }

  // --- rendering -----------------------------------------------------------

  function render() {
    const me = st.me;
    if (!me) return;
    $('who').textContent = me.name + ' \u00b7 ' + me.agent + ' \u00b7 ext. ' + me.extension;
    renderState(me);
    renderOffers();
    renderInteraction();
    renderWrap();
    renderVoicemails();
  }

  function renderState(me) {
    const line = stateText(me.state, me.reason);
    $('state-line').textContent = line + (me.pending ? ' \u2014 next: ' + me.pending : '');
    $('state-line').dataset.state = me.state;
    $('state-line').title = 'since ' + new Date(me.since_ms).toLocaleTimeString();
    const sel = $('state-select');
    const want = ['available'].concat((me.idle_reasons || []).map((r) => 'idle:' + r));
    const have = Array.from(sel.options).map((o) => o.value);
    if (want.join('\n') !== have.join('\n')) {
      sel.replaceChildren(
        el('option', { value: 'available' }, 'Available'),
        ...(me.idle_reasons || []).map((r) => el('option', { value: 'idle:' + r }, 'Idle \u2014 ' + r)),
      );
    }
    $('rona').hidden = !st.rona;
  }

  function focusOffer() {
    const first = document.querySelector('#offers .offer button.accept');
    if (first) first.focus();
  }

  function renderOffers() {
    const box = $('offers');
    const shown = Array.from(box.children).map((c) => c.dataset.offer).join(',');
    const co = st.consultOffer;
    const want = st.offers.map((o) => String(o.offer)).concat(co ? ['consult:' + co.interaction] : []).join(',');
    if (shown !== want) {
      box.replaceChildren(...st.offers.map(offerCard), ...(co ? [consultCard(co)] : []));
    }
    for (const card of box.querySelectorAll('.offer')) {
      const o = st.offers.find((x) => String(x.offer) === card.dataset.offer);
      if (!o) continue;
      card.querySelector('.ring-timer').textContent = S.duration((Date.now() - o.offered_ms) / 1000);
      const left = Math.max(0, Math.ceil((o.rona_ms - Date.now()) / 1000));
      card.querySelector('.ring-left').textContent = left + ' s';
    }
  }

  function offerCard(o) {
    const vars = el('dl', { class: 'vars' });
    for (const v of o.variables) {
      vars.append(el('dt', null, label(v.name)), el('dd', { dataset: { name: v.name } }, v.value === '' ? '\u2014' : v.value));
    }
    const yes = el('button', { type: 'button', class: 'primary accept', onclick: () => accept(o) }, 'Accept');
    const no = el('button', { type: 'button', class: 'decline', onclick: () => decline(o) }, 'Decline');
    if (o.callback) return callbackCard(o, vars, yes, no);
    if (o.voicemail) return voicemailCard(o, vars, yes, no);
    return el(
      'section',
      { class: 'offer card', role: 'dialog', 'aria-label': 'Incoming call from ' + o.caller, dataset: { offer: String(o.offer) } },
      el('h2', null, 'Incoming call \u2014 ' + o.queue),
      el(
        'p',
        { class: 'offer-line' },
        'From ',
        el('strong', { class: 'caller' }, o.caller),
        ' to ' + o.dnis + ' \u00b7 ringing ',
        el('span', { class: 'ring-timer' }, '0:00'),
        ' \u00b7 rings out in ',
        el('span', { class: 'ring-left' }, ''),
        o.auto_answer ? ' \u00b7 answers by itself' : '',
      ),
      vars,
      el('div', { class: 'row' }, yes, no),
    );
  }

  /**
   * A callback offer (OFFER-6): the Callback label, the number the switch
   * will call, the queue, the DNIS and a timer since the offer. Accepting
   * it, the agent's phone is called first, then the customer.
   */
  function callbackCard(o, vars, yes, no) {
    const cb = o.callback;
    return el(
      'section',
      { class: 'offer card callback', role: 'dialog', 'aria-label': cb.label + ' to ' + cb.number, dataset: { offer: String(o.offer) } },
      el('h2', null, el('span', { class: 'badge callback-label' }, cb.label), ' \u2014 ' + o.queue),
      el(
        'p',
        { class: 'offer-line' },
        'Call ',
        el('strong', { class: 'caller' }, cb.number),
        cb.name ? ' (' + cb.name + ')' : '',
        ' for ' + o.dnis + ' \u00b7 offered ',
        el('span', { class: 'ring-timer' }, '0:00'),
        ' \u00b7 rings out in ',
        el('span', { class: 'ring-left' }, ''),
      ),
      cb.reason ? el('p', { class: 'callback-reason' }, 'Reason: ' + cb.reason) : '',
      cb.attempts > 0 ? el('p', { class: 'callback-attempts' }, 'Tries so far: ' + cb.attempts) : '',
      el('p', { class: 'hint' }, 'Your phone rings first; the customer is called once you answer.'),
      vars,
      el('div', { class: 'row' }, yes, no),
    );
  }

  /**
   * A queue's voicemail message offered as a work item (issue 14 item 5):
   * who called, when, how long, and its audio. No phone rings: Accept
   * takes it; End (once handled) marks the message done.
   */
  function voicemailCard(o, vars, yes, no) {
    const vm = o.voicemail;
    const audio = el('audio', { controls: true, preload: 'none', src: vm.audio_url + '?token=' + encodeURIComponent(st.token) });
    return el(
      'section',
      { class: 'offer card voicemail', role: 'dialog', 'aria-label': 'Voicemail from ' + o.caller, dataset: { offer: String(o.offer) } },
      el('h2', null, el('span', { class: 'badge voicemail-label' }, 'Voicemail'), ' \u2014 ' + o.queue),
      el(
        'p',
        { class: 'offer-line' },
        'From ',
        el('strong', { class: 'caller' }, o.caller),
        ' to ' + o.dnis + ' \u00b7 ' + S.duration(vm.duration_ms / 1000) + ' long \u00b7 offered ',
        el('span', { class: 'ring-timer' }, '0:00'),
        ' \u00b7 back to the queue in ',
        el('span', { class: 'ring-left' }, ''),
      ),
      audio,
      vars,
      el('div', { class: 'row' }, yes, no),
    );
  }

  /** A consult asked of this agent (CALL-CONSULT-5): who, and the call's variables, read-only. */
  function consultCard(co) {
    const vars = el('dl', { class: 'vars' });
    for (const v of co.variables) vars.append(el('dt', null, label(v.name)), el('dd', null, v.value === '' ? '\u2014' : v.value));
    return el(
      'section',
      { class: 'consult-offer card', role: 'region', 'aria-label': 'Consult request from ' + co.from, dataset: { offer: 'consult:' + co.interaction } },
      el('h2', null, 'Consult request from ' + co.from),
      el('p', null, 'Answer it on your phone.'),
      vars,
    );
  }

  /** The built-in variables' names for people. */
  const BUILT_IN = {
    caller_number: 'Caller number',
    caller_name: 'Caller name',
    dnis: 'Number dialled',
    queue: 'Queue',
    initiator_name: 'Asked by',
    initiator_extension: 'Their extension',
    initiator_team: 'Their team',
  };

  /** A variable's name for people: `customer_tier` -> `Customer tier`. */
  function label(name) {
    if (BUILT_IN[name]) return BUILT_IN[name];
    const words = name.replace(/_/g, ' ');
    return words.charAt(0).toUpperCase() + words.slice(1);
  }

  function enabledControls() {
    const ix = st.ix;
    if (!ix) return [];
    return st.controls || DEFAULT_CONTROLS[ix.state] || [];
  }

  function renderInteraction() {
    const ix = st.ix;
    $('ix').hidden = !ix;
    if (!ix) {
      $('picker').hidden = true;
      return;
    }
    const consultant = ix.state === 'consultant';
    $('ix-line').replaceChildren(
      el('strong', null, ix.caller),
      consultant ? '' : ' \u00b7 ' + ix.queue + ' \u00b7 dialled ' + ix.dnis,
    );
    $('data-form').hidden = consultant;
    const stateWords = {
      connected: 'Talking',
      held: 'Customer on hold',
      consult: 'Consulting',
      conference: 'Conference',
      post_call: 'Customer left',
      consultant: 'You were consulted: leave when done',
    };
    let status = stateWords[ix.state] || ix.state;
    // A voicemail work item: no call; End marks the message done.
    if (ix.channel === 'voicemail' && ix.state === 'connected') status = 'Voicemail: listen, call back if needed, then End';
    if (st.consult) status += ' \u00b7 ' + st.consult.party + ' ' + st.consult.state;
    if (st.recordingPaused) status += ' \u00b7 recording paused';
    // CB-7: the reason code while the tenant's concurrent-call limit holds the dial.
    if (st.callback && st.callback.state === 'held') {
      status = 'Callback to ' + st.callback.number + ' held: ' + st.callback.reason;
    } else if (st.callback) {
      status = 'Calling ' + st.callback.number + '\u2026';
    }
    $('ix-status').textContent = status;
    $('ix-status').dataset.state = ix.state;
    const enabled = enabledControls();
    const may = {
      hold: enabled.includes('hold'),
      resume: enabled.includes('resume'),
      end: enabled.includes('end'),
      consult: enabled.includes('consult'),
      // A blind transfer needs the customer not held by a consult.
      transfer: enabled.includes('consult'),
      toggle: enabled.includes('toggle'),
      merge: enabled.includes('merge'),
      end_consult: enabled.includes('end_consult'),
      transfer_consultee: enabled.includes('merge'),
      leave: enabled.includes('leave'),
      // Only a recorded call (CALL-REC-1) has a recording to pause.
      recording_pause: !!ix.recording && !st.recordingPaused && (ix.state === 'connected' || ix.state === 'held'),
      recording_resume: !!ix.recording && st.recordingPaused && (ix.state === 'connected' || ix.state === 'held'),
    };
    for (const b of $('controls').querySelectorAll('button[data-control]')) {
      const c = b.dataset.control;
      b.disabled = !may[c];
      // Show only what this call can do now or is about to: less noise.
      b.hidden =
        (!may[c] && ['toggle', 'merge', 'end_consult', 'transfer_consultee', 'leave', 'resume', 'recording_resume'].includes(c)) ||
        (c === 'recording_pause' && !ix.recording);
    }
    // Hold and Resume trade places; End stays visible (greyed while held).
    const hold = $('controls').querySelector('[data-control=hold]');
    hold.hidden = ix.state === 'held';
    if (st.picker && !may[st.picker]) closePicker(false);
    renderRoster();
    if (!consultant) renderData();
  }

  function renderRoster() {
    const me = st.me;
    const lines = ['You (' + me.name + ')', 'Customer ' + st.ix.caller + (st.ix.state === 'held' ? ' (on hold)' : '')];
    if (st.ix.state === 'post_call') lines[1] = 'Customer (left)';
    if (st.ix.state === 'consultant') lines[1] = st.ix.caller;
    for (const p of st.roster) lines.push(p);
    if (st.consult) lines.push(st.consult.party + ' (consult: ' + st.consult.state + ')');
    const list = $('roster');
    const want = lines.join('\n');
    if (list.dataset.lines !== want) {
      list.dataset.lines = want;
      list.replaceChildren(...lines.map((l) => el('li', null, l)));
    }
  }

  function renderData() {
    const box = $('data-fields');
    const d = st.data;
    if (!d) {
      box.replaceChildren(el('p', { class: 'muted' }, 'Loading call data…'));
      return;
    }
    const key = d.interaction + ':' + d.version;
    if (box.dataset.key !== key) {
      box.dataset.key = key;
      box.replaceChildren(...d.variables.map(dataField));
    }
    for (const input of box.querySelectorAll('[data-var]')) {
      const name = input.dataset.var;
      const dirty = Object.prototype.hasOwnProperty.call(st.dirty, name);
      input.closest('.field').classList.toggle('dirty', dirty);
    }
    const edits = Object.keys(st.dirty).length > 0;
    $('data-save').disabled = !edits;
    $('data-revert').disabled = !edits;
    $('data-msg').textContent = st.dataMessage;
  }

  function dataField(v) {
    const id = 'var-' + v.name;
    let input;
    const value = Object.prototype.hasOwnProperty.call(st.dirty, v.name) ? st.dirty[v.name] : v.value;
    if (v.secure) {
      input = el('output', { id: id, class: 'secure', 'data-var': v.name }, 'hidden (secure)');
    } else if (!v.editable) {
      input = el('output', { id: id, 'data-var': v.name }, value === null || value === '' ? '\u2014' : value);
    } else if (v.type === 'boolean') {
      input = el('select', { id: id, 'data-var': v.name }, el('option', { value: 'true' }, 'yes'), el('option', { value: 'false' }, 'no'));
      input.value = value === 'true' ? 'true' : 'false';
    } else {
      const type = v.type === 'integer' ? 'number' : 'text';
      input = el('input', { id: id, type: type, 'data-var': v.name, maxlength: '256', spellcheck: 'false' });
      if (v.type === 'integer') input.setAttribute('step', '1');
      input.value = value === null ? '' : value;
    }
    if (input.tagName !== 'OUTPUT') {
      const saved = v.value === null ? '' : v.value;
      const onEdit = () => {
        if (input.value === saved) delete st.dirty[v.name];
        else st.dirty[v.name] = input.value;
        st.dataMessage = '';
        renderData();
      };
      input.addEventListener('input', onEdit);
      input.addEventListener('change', onEdit);
    }
    return el('div', { class: 'field' }, el('label', { for: id }, label(v.name) + (v.editable && !v.secure ? '' : ' (read-only)')), input);
  }

  function renderWrap() {
    const w = st.wrap;
    const box = $('wrapup');
    const wasHidden = box.hidden;
    box.hidden = !w;
    if (!w) return;
    const reasons = $('wrapup-reasons');
    const key = w.interaction + ':' + w.reasons.join('\n');
    if (reasons.dataset.key !== key) {
      reasons.dataset.key = key;
      $('wrapup-notes').value = '';
      reasons.replaceChildren(
        ...w.reasons.map((r, i) =>
          el('label', { class: 'check' }, el('input', { type: 'checkbox', name: 'reason', value: r, id: 'reason-' + i }), ' ' + r),
        ),
      );
    }
    $('wrapup-timer').textContent =
      w.deadline_ms === null || w.deadline_ms === undefined
        ? 'Extended: no time limit'
        : 'Ends by itself in ' + S.duration(Math.max(0, (w.deadline_ms - Date.now()) / 1000));
    $('wrapup-hold').disabled = w.deadline_ms === null;
    if (wasHidden) box.focus();
  }

  function tick() {
    if (!st.me) return;
    renderOffers();
    if (st.wrap) renderWrap();
  }

  // --- actions -------------------------------------------------------------

  async function accept(o) {
    try {
      await call('POST', '/agent/offers/' + o.offer + '/accept', undefined, 'state-error');
      activity('Accepted: the phone answers');
    } catch (_) {
      /* shown */
    }
  }

  async function decline(o) {
    try {
      await call('POST', '/agent/offers/' + o.offer + '/decline', undefined, 'state-error');
    } catch (_) {
      /* shown */
    }
  }

  async function setState(value) {
    const body = value === 'available' ? { state: 'available' } : { state: 'idle', reason: value.slice(5) };
    try {
      const me = await call('POST', '/agent/state', body, 'state-error');
      st.me = Object.assign(st.me, me);
      render();
    } catch (_) {
      /* shown */
    }
  }

  async function control(c) {
    if (!st.ix) return;
    const paths = {
      hold: '/hold',
      resume: '/resume',
      end: '/end',
      toggle: '/toggle',
      merge: '/merge',
      end_consult: '/consult/end',
      leave: '/leave',
      recording_pause: '/recording/pause',
      recording_resume: '/recording/resume',
    };
    if (c === 'consult' || c === 'transfer') return openPicker(c);
    if (c === 'transfer_consultee') {
      try {
        await call('POST', ixPath('/transfer'), { consultee: true }, 'ix-error');
      } catch (_) {
        /* shown */
      }
      return;
    }
    try {
      await call('POST', ixPath(paths[c]), undefined, 'ix-error');
      if (c === 'leave' && st.ix && st.ix.state === 'consultant') {
        endInteraction(st.ix.interaction);
        render();
      }
      if (c === 'recording_pause' || c === 'recording_resume') {
        st.recordingPaused = c === 'recording_pause';
        render();
      }
    } catch (_) {
      /* shown */
    }
  }

  async function openPicker(kind) {
    st.picker = kind;
    $('picker-title').textContent = kind === 'consult' ? 'Consult' : 'Transfer (blind)';
    $('picker-go').textContent = kind === 'consult' ? 'Consult' : 'Transfer';
    for (const b of $('controls').querySelectorAll('[aria-controls=picker]')) {
      b.setAttribute('aria-expanded', b.dataset.control === kind ? 'true' : 'false');
    }
    const sel = $('picker-target');
    sel.replaceChildren(el('option', { value: '' }, 'Loading…'));
    $('picker').hidden = false;
    sel.focus();
    let t;
    try {
      t = await call('GET', '/agent/consult-targets', undefined, 'ix-error');
    } catch (_) {
      sel.replaceChildren(el('option', { value: '' }, '(no list: type a number)'));
      return;
    }
    const agents = el('optgroup', { label: 'Agents' });
    for (const a of t.agents) {
      const avail = a.state === 'Available' ? 'available' : 'idle' + (a.reason ? ', ' + a.reason : '');
      agents.append(el('option', { value: 'agent:' + a.agent }, a.name + ' (' + a.agent + ', ' + avail + ')'));
    }
    const queues = el('optgroup', { label: 'Queues' });
    for (const q of t.queues) queues.append(el('option', { value: 'queue:' + q }, q));
    const eps = el('optgroup', { label: 'Numbers' });
    for (const n of t.entry_points) eps.append(el('option', { value: 'entry_point:' + n }, n));
    sel.replaceChildren(el('option', { value: '' }, '\u2014 pick \u2014'), agents, queues, eps);
  }

  function closePicker(focusBack) {
    const kind = st.picker;
    st.picker = null;
    $('picker').hidden = true;
    for (const b of $('controls').querySelectorAll('[aria-controls=picker]')) b.setAttribute('aria-expanded', 'false');
    if (focusBack && kind) {
      const b = $('controls').querySelector('[data-control=' + kind + ']');
      if (b) b.focus();
    }
  }

  async function pickerGo() {
    const kind = st.picker;
    if (!kind || !st.ix) return;
    const number = $('picker-number').value.trim();
    const picked = $('picker-target').value;
    let body;
    if (number) body = { number: number };
    else if (picked) {
      const i = picked.indexOf(':');
      body = { [picked.slice(0, i)]: picked.slice(i + 1) };
    } else {
      showError('ix-error', new Error('Pick who to ' + kind + ', or type a number'));
      return;
    }
    try {
      await call('POST', ixPath(kind === 'consult' ? '/consult' : '/transfer'), body, 'ix-error');
      $('picker-number').value = '';
      closePicker(true);
    } catch (_) {
      /* shown */
    }
  }

  async function loadData() {
    if (!st.ix && !st.wrap) return;
    const uid = st.ix ? st.ix.interaction : st.wrap.interaction;
    try {
      const d = await call('GET', '/agent/interactions/' + encodeURIComponent(uid) + '/data');
      if (st.ix && st.ix.interaction === d.interaction) {
        st.data = d;
        render();
      }
    } catch (_) {
      /* the interaction is gone */
    }
  }

  async function saveData() {
    if (!st.ix || !st.data) return;
    const edits = Object.assign({}, st.dirty);
    if (Object.keys(edits).length === 0) return;
    try {
      const d = await S.api(st.token, 'PUT', ixPath('/data'), { version: st.data.version, values: edits });
      st.data = d;
      st.dirty = {};
      st.dataMessage = 'Saved.';
      activity('Call data saved: ' + Object.keys(edits).join(', '));
    } catch (e) {
      if (e.status === 409 && e.error === 'data_conflict') {
        const over = e.body.overwritten || {};
        const names = Object.keys(over);
        const what = names.map((n) => label(n) + ' is now \u201c' + over[n] + '\u201d').join('; ');
        st.dataMessage =
          'Someone else saved first (version ' + e.body.version + '): ' + (what || 'values changed') +
          '. Your edits were not saved: Save again to overwrite, or Revert.';
        activity('Call data conflict: ' + (what || 'values changed'));
        // The next save is made on the version now current.
        const d = await call('GET', ixPath('/data')).catch(() => null);
        if (d) {
          st.data = d;
          $('data-fields').dataset.key = '';
        }
      } else {
        st.dataMessage = 'Not saved: ' + e.message;
      }
    }
    render();
    $('data-msg').focus();
  }

  async function revertData() {
    if (!st.ix) return;
    try {
      const d = await call('POST', ixPath('/data/revert'), undefined, 'ix-error');
      st.data = d;
      st.dirty = {};
      st.dataMessage = 'Reverted to the saved values.';
      $('data-fields').dataset.key = '';
      render();
    } catch (_) {
      /* shown */
    }
  }

  async function submitWrap() {
    const reasons = Array.from($('wrapup-reasons').querySelectorAll('input:checked')).map((i) => i.value);
    if (reasons.length === 0) {
      showError('wrapup-error', new Error('Pick at least one reason'));
      return;
    }
    try {
      const me = await call('POST', '/agent/wrapup', { reasons: reasons, notes: $('wrapup-notes').value }, 'wrapup-error');
      st.me = Object.assign(st.me, me);
      if (me.state !== 'WrapUp') st.wrap = null;
      render();
      $('state-select').focus();
    } catch (_) {
      /* shown */
    }
  }

  async function extendWrap(body) {
    try {
      const me = await call('POST', '/agent/wrapup/extend', body, 'wrapup-error');
      if (st.wrap) st.wrap.deadline_ms = me.wrap_up_deadline_ms;
      render();
    } catch (_) {
      /* shown */
    }
  }

  // --- the phone -------------------------------------------------------------

  function phoneMode() {
    return $('mode-desk').checked ? 'desk' : 'browser';
  }

  function startPhoneFromSettings() {
    let server = params.get('sip') || '';
    try {
      if (!server) server = localStorage.getItem(SERVER_KEY) || '';
      const mode = params.get('phone') || localStorage.getItem(MODE_KEY);
      if (mode === 'desk') $('mode-desk').checked = true;
    } catch (_) {
      /* no storage */
    }
    if (!server) server = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.hostname + ':5066';
    $('phone-server').value = server;
    if (params.has('sip_password')) {
      $('phone-password').value = params.get('sip_password');
      const url = new URL(location.href);
      url.searchParams.delete('sip_password');
      history.replaceState(null, '', url);
    }
    applyPhoneMode();
    if (phoneMode() === 'browser' && params.has('sip')) connectPhone();
  }

  function applyPhoneMode() {
    const desk = phoneMode() === 'desk';
    $('phone-form').hidden = desk;
    $('phone-answer').hidden = desk;
    $('phone-hangup').hidden = desk;
    try {
      localStorage.setItem(MODE_KEY, phoneMode());
    } catch (_) {
      /* no storage */
    }
    if (desk) {
      if (phone) phone.unregister();
      $('phone-line').textContent = 'Calls ring on your desk phone, extension ' + (st.me ? st.me.extension : '');
    } else {
      renderPhone(phone ? phone.state : null);
    }
  }

  /**
   * The phone's line, from its state; never the caller's number (the
   * phone's own status would show the SIP From, which OFFER-3 may mask).
   */
  function renderPhone(s) {
    if (phoneMode() === 'desk') return;
    const line = $('phone-line');
    let text = 'Phone not connected';
    let kind = '';
    if (s && s.registrationError) {
      text = s.registrationError;
      kind = 'error';
    } else if (s && s.registered) {
      text = {
        ringing: 'Ringing: accept the offer, or answer here',
        calling: 'Calling…',
        confirmed: 'In a call',
        held: 'In a call (phone on hold)',
      }[s.callState] || 'Ready: extension ' + (st.me ? st.me.extension : '');
      kind = 'ok';
    } else if (s && s.connection === 'connecting') {
      text = 'Connecting the phone…';
    }
    if (line.textContent !== text) line.textContent = text;
    line.className = kind;
  }

  function connectPhone() {
    if (!st.me) return;
    if (!phone) {
      phone = window.SwitchboardSoftphone.create({
        prefix: 'phone-',
        onChange: (s) => {
          st.phone = s;
          renderPhone(s);
        },
        // The switch asks the phone to answer once the agent accepted on
        // this desktop (Call-Info: answer-after=0, OFFER-1).
        autoAnswer: (req) => {
          const info = req && req.getHeader ? req.getHeader('Call-Info') || '' : '';
          return /answer-after\s*=\s*0/i.test(info);
        },
      });
      st.phone = phone.state;
    }
    const server = $('phone-server').value.trim();
    try {
      localStorage.setItem(SERVER_KEY, server);
    } catch (_) {
      /* no storage */
    }
    phone.register({ server: server, user: st.me.extension, password: $('phone-password').value });
  }

  // --- voicemail (issue 14 item 5) -----------------------------------------

  function callerText(v) {
    return v.caller_name ? v.caller_name + ' ' + v.caller_number : v.caller_number;
  }

  function mailboxText(v) {
    return v.queue ? 'queue ' + v.queue : 'extension ' + v.user;
  }

  /** The messages not yet done of the queues this agent serves (and its own). */
  async function loadVoicemails() {
    let list;
    try {
      list = await call('GET', '/voicemails', undefined, 'vm-error');
    } catch (e) {
      return;
    }
    st.voicemails = (list.voicemails || []).filter((v) => v.state !== 'done');
    renderVoicemails();
  }

  function renderVoicemails() {
    const ul = $('vm-list');
    ul.replaceChildren(...st.voicemails.map(voicemailItem));
    $('vm-empty').hidden = st.voicemails.length > 0;
  }

  function voicemailItem(v) {
    const who = callerText(v);
    const when = new Date(v.start_ms).toLocaleString();
    return el(
      'li',
      { dataset: { id: v.id, state: v.state } },
      el('p', { class: 'vm-line' }, el('strong', null, who), ' \u00b7 ' + mailboxText(v) + ' \u00b7 ' + S.duration(v.duration_ms / 1000)),
      el('p', { class: 'vm-state' }, when + ' \u00b7 ' + (v.state === 'new' ? 'new' : 'heard by ' + v.heard_by)),
      el(
        'div',
        { class: 'row' },
        el('button', { type: 'button', class: 'vm-play', 'aria-label': 'Play the message from ' + who, onclick: () => playVoicemail(v) }, 'Play'),
        el('button', { type: 'button', class: 'vm-done', 'aria-label': 'Mark the message from ' + who + ' done', onclick: () => voicemailDone(v) }, 'Done'),
      ),
    );
  }

  /** Plays the message in the card's player (an <audio> cannot send a header: ?token=). */
  function playVoicemail(v) {
    const audio = $('vm-audio');
    audio.hidden = false;
    audio.src = v.audio_url + '?token=' + encodeURIComponent(st.token);
    audio.setAttribute('aria-label', 'Message from ' + callerText(v));
    audio.play().catch(() => {});
    if (v.state === 'new') {
      v.state = 'heard';
      v.heard_by = st.me ? st.me.agent : '';
    }
    renderVoicemails();
  }

  async function voicemailDone(v) {
    try {
      await call('POST', '/voicemails/' + encodeURIComponent(v.id) + '/done', undefined, 'vm-error');
    } catch (e) {
      if (e.status !== 409) return;
      // Someone else did: the message says who; it leaves the list anyway.
    }
    st.voicemails = st.voicemails.filter((x) => x.id !== v.id);
    renderVoicemails();
    $('vm-title').focus();
  }

  // --- wiring ----------------------------------------------------------------

  function wire() {
    $('login-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      login($('token').value);
    });
    $('logout').addEventListener('click', async () => {
      try {
        await call('POST', '/agent/logout', undefined, 'state-error');
      } catch (e) {
        return; // AGENT-3: refused while an offer rings; the reason is shown
      }
      if (phone) phone.unregister();
      loggedOut('Logged out');
    });
    $('state-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      setState($('state-select').value);
    });
    $('rona-available').addEventListener('click', async () => {
      await setState('available');
      st.rona = false;
      render();
    });
    $('rona-stay').addEventListener('click', () => {
      st.rona = false;
      if (st.me) st.ronaDismissed = st.me.since_ms;
      render();
      $('state-select').focus();
    });
    $('controls').addEventListener('click', (ev) => {
      const b = ev.target.closest('button[data-control]');
      if (b && !b.disabled) control(b.dataset.control);
    });
    $('picker').addEventListener('submit', (ev) => {
      ev.preventDefault();
      pickerGo();
    });
    $('picker-cancel').addEventListener('click', () => closePicker(true));
    $('picker').addEventListener('keydown', (ev) => {
      if (ev.key === 'Escape') closePicker(true);
    });
    $('data-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      saveData();
    });
    $('data-revert').addEventListener('click', revertData);
    $('wrapup-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      submitWrap();
    });
    $('wrapup-extend').addEventListener('click', () => extendWrap({ seconds: 60 }));
    $('wrapup-hold').addEventListener('click', () => extendWrap({ indefinitely: true }));
    $('phone-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      connectPhone();
    });
    for (const r of document.querySelectorAll('input[name=phone-mode]')) r.addEventListener('change', applyPhoneMode);
    $('phone-answer').addEventListener('click', () => phone && phone.answer());
    $('phone-hangup').addEventListener('click', () => phone && phone.hangup());
  }

  wire();
  window.desk = {
    login: login,
    /** A test's network drop: the stream closes and reconnects. */
    dropStream: () => stream && stream.drop(),
  };
  const saved = S.token('agent');
  if (saved) login(saved);
  else $('token').focus();
})();
