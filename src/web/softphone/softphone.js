// The Switchboard softphone (issue 12): a SIP phone in the browser on the
// vendored JsSIP (SIP over WebSocket, RFC 7118; media over WebRTC). Plain
// JavaScript, no build step: the switch serves this file as it is.
//
// Humans use the form; tests drive it with query parameters and need no
// clicks:
//   ?server=wss://host:port&user=1001&password=...&domain=...
//    &autoanswer=1&call=1002&dtmf=123&debug=1
// `server` and `user` register at once; `call` dials once registered;
// `dtmf` is sent (RFC 4733 events in the RTP stream) once a call is up;
// `debug=1` turns on JsSIP's own log.
//
// What a test reads: `window.testState` (registration, call state and
// cause, the remote audio's dominant frequency, RTP packet counts, digits
// sent, a log of state lines) and `console.log('softphone: ...')` lines;
// what it calls: `window.softphone.call(target)`, `answer()`, `hangup()`,
// `hold()`, `unhold()`, `dtmf(digits)`, `restartIce()`.
//
// Other pages embed the same phone (the agent desktop's built-in
// softphone): loaded with `<script src="/softphone/softphone.js"
// data-embed>`, this file only defines `window.SwitchboardSoftphone.create(
// options)`, which returns { state, register, unregister, call, answer,
// hangup, hold, unhold, dtmf, restartIce } for one phone. Options:
//   prefix      the ids of its elements are prefix + the softphone page's
//               ids ('status', 'log', 'remote-audio', 'answer', 'hangup',
//               'hold', ...); any that is missing is skipped
//   onChange    called with `state` after every change
//   autoAnswer  called with JsSIP's incoming INVITE: true answers it at once
// Without `data-embed` the softphone page runs (create({ page: true })).
//
// When the browser's ICE connection fails (a laptop moved to another
// network, a VPN came up), the page restarts ICE by itself with a
// re-INVITE (RFC 8839 §4.4.1.1); the switch answers with new credentials
// and keeps the DTLS association, so the call goes on.
'use strict';

(function () {
  /** The script element, read while it runs (null inside callbacks). */
  const script = document.currentScript;

  /** How often the tone meter and the RTP counters are read (ms). */
  const TICK_MS = 200;
  /** A spectrum peak below this (dB full scale) counts as silence. */
  const SILENCE_DB = -70;
  /** Wait this long after a call is up before sending `?dtmf=` (ms). */
  const DTMF_DELAY_MS = 500;
  /** Lines kept in `testState.log` and on the page. */
  const LOG_LINES = 200;

  /** One phone; `options` as in the header comment. */
  function create(options) {
    const opts = options || {};
    const prefix = opts.prefix || '';
    const $ = (id) => document.getElementById(prefix + id);
    const params = opts.page ? new URLSearchParams(window.location.search) : new URLSearchParams('');
    const changed = typeof opts.onChange === 'function' ? opts.onChange : () => {};

    /** Everything a test may read; updated as things happen. */
    const state = {
      ready: false,
      jssipVersion: null,
      connection: 'disconnected', // 'connecting' | 'connected' | 'disconnected'
      registered: false,
      registrationError: null,
      callState: 'idle', // 'idle' | 'ringing' | 'calling' | 'confirmed' | 'held' | 'ended' | 'failed'
      cause: null, // JsSIP's cause of the last end or failure ('Terminated', 'Busy', ...)
      endedBy: null, // who ended or failed the last call: 'local' | 'remote' | 'system'
      remote: null, // the other party's user part
      remoteToneHz: null,
      inboundPackets: 0,
      outboundPackets: 0,
      dtmfSent: '',
      iceState: null, // the call's RTCPeerConnection.iceConnectionState
      iceRestarts: 0, // ICE restarts answered by the other side
      remoteIceUfrag: null, // the switch's a=ice-ufrag in the current answer
      selectedPair: null, // the ICE candidate pair media uses: { id, state, responsesReceived }
      log: [],
    };
    if (opts.page) window.testState = state;

    let ua = null;
    let session = null;
    let held = { local: false, remote: false };
    let wantHold = false;
    let holdTimer = null;
    let holdInFlight = false;
    let pendingCall = params.get('call') || null;
    let pendingDtmf = params.get('dtmf') || null;
    let ticker = null;
    let meter = null;
    let statsBusy = false;
    const dtmfSenders = new WeakSet();

    // --- log and status -------------------------------------------------

    function note(line) {
      state.log.push(line);
      if (state.log.length > LOG_LINES) state.log.shift();
      console.log('softphone: ' + line);
      const list = $('log');
      if (!list) return;
      const item = document.createElement('li');
      item.textContent = new Date().toLocaleTimeString() + '  ' + line;
      list.appendChild(item);
      while (list.children.length > LOG_LINES) list.removeChild(list.firstChild);
      list.scrollTop = list.scrollHeight;
    }

    function status(text, kind) {
      const el = $('status');
      if (!el) return;
      el.textContent = text;
      el.className = kind || '';
    }

    /** Disables the element `id` when `off` (when the page has it). */
    function disable(id, off) {
      const el = $(id);
      if (el) el.disabled = off;
    }

    function render() {
      const live = session !== null;
      const up = state.callState === 'confirmed' || state.callState === 'held';
      disable('unregister', ua === null);
      disable('call', ua === null || live);
      disable('answer', state.callState !== 'ringing');
      disable('hangup', !live);
      const hold = $('hold');
      if (hold) {
        hold.disabled = !up;
        hold.textContent = held.local ? 'Resume' : 'Hold';
        hold.setAttribute('aria-pressed', held.local ? 'true' : 'false');
      }
      const keypad = $('keypad');
      if (keypad) for (const key of keypad.querySelectorAll('button')) key.disabled = !up;
      changed(state);
    }

    // --- registration ---------------------------------------------------

    function describeRegistrationFailure(cause, server) {
      const causes = JsSIP.C.causes;
      if (cause === causes.AUTHENTICATION_ERROR) return 'Registration refused: wrong extension or password';
      if (cause === causes.CONNECTION_ERROR) return 'Cannot reach the server at ' + server;
      if (cause === causes.REQUEST_TIMEOUT) return 'The server did not answer the registration';
      return 'Registration failed: ' + cause;
    }

    /** Registers `user` at `server` (a ws:// or wss:// URL); replaces any earlier account. */
    function register(account) {
      stopUa();
      const server = (account.server || '').trim();
      const user = (account.user || '').trim();
      state.registrationError = null;
      if (!/^wss?:\/\/[^/]+/i.test(server)) {
        return registrationFailed('The server must be a ws:// or wss:// URL, not "' + server + '"');
      }
      if (user === '') return registrationFailed('Enter an extension');
      let domain = (account.domain || '').trim();
      try {
        if (domain === '') domain = new URL(server).hostname;
      } catch (e) {
        return registrationFailed('The server URL is not valid: ' + server);
      }
      try {
        const socket = new JsSIP.WebSocketInterface(server);
        ua = new JsSIP.UA({
          sockets: [socket],
          uri: 'sip:' + user + '@' + domain,
          authorization_user: user,
          password: account.password || undefined,
          register: true,
          user_agent: 'Switchboard softphone (JsSIP ' + JsSIP.version + ')',
        });
      } catch (e) {
        ua = null;
        return registrationFailed('Cannot use these settings: ' + (e && e.message ? e.message : e));
      }
      const me = ua;
      me.on('connecting', () => {
        if (ua !== me) return;
        state.connection = 'connecting';
      });
      me.on('connected', () => {
        if (ua !== me) return;
        state.connection = 'connected';
        note('Connected to ' + server);
      });
      me.on('disconnected', () => {
        if (ua !== me) return;
        state.connection = 'disconnected';
        state.registered = false;
        state.registrationError = 'Cannot reach the server at ' + server;
        note(state.registrationError + '; retrying');
        status(state.registrationError + '; retrying', 'error');
        render();
      });
      me.on('registered', () => {
        // Also each refresh of the registration: only the first is news.
        if (ua !== me || state.registered) return;
        state.registered = true;
        state.registrationError = null;
        note('Registered as ' + user);
        status('Registered as ' + user, 'ok');
        render();
        if (pendingCall) {
          const target = pendingCall;
          pendingCall = null;
          call(target);
        }
      });
      me.on('unregistered', () => {
        if (ua !== me) return;
        state.registered = false;
        note('Unregistered');
        status('Not registered');
        render();
      });
      me.on('registrationFailed', (e) => {
        if (ua !== me) return;
        const why = describeRegistrationFailure(e.cause, server);
        const code = e.response ? ' (' + e.response.status_code + ' ' + e.response.reason_phrase + ')' : '';
        registrationFailed(why + code);
      });
      me.on('newRTCSession', onSession);
      note('Registering ' + user + ' at ' + server);
      status('Registering as ' + user + '…');
      state.connection = 'connecting';
      me.start();
      render();
      return true;
    }

    function registrationFailed(why) {
      state.registered = false;
      state.registrationError = why;
      note(why);
      status(why, 'error');
      render();
      return false;
    }

    function stopUa() {
      if (ua === null) return;
      const old = ua;
      ua = null;
      if (session) {
        try {
          session.terminate();
        } catch (e) {
          // already ending
        }
      }
      old.stop();
      state.registered = false;
      state.connection = 'disconnected';
    }

    function unregister() {
      if (ua === null) return false;
      stopUa();
      note('Unregistered');
      status('Not registered');
      render();
      return true;
    }

    // --- calls ----------------------------------------------------------

    function userOf(identity) {
      if (!identity || !identity.uri) return 'unknown';
      return identity.uri.user || identity.uri.toString();
    }

    function setCall(callState, line) {
      state.callState = callState;
      if (line) {
        note(line);
        status(line, callState === 'failed' ? 'error' : 'ok');
      }
      render();
    }

    function describeEnd(kind, cause, incoming, who, by) {
      const c = JsSIP.C.causes;
      if (kind === 'ended') return by === 'remote' ? who + ' hung up' : 'Call with ' + who + ' ended';
      switch (cause) {
        case c.BUSY:
          return who + ' is busy';
        case c.REJECTED:
          return incoming ? 'Call from ' + who + ' declined' : who + ' declined the call';
        case c.NOT_FOUND:
          return 'No such number: ' + who;
        case c.UNAVAILABLE:
          return who + ' is unavailable';
        case c.NO_ANSWER:
          return 'No answer from ' + who;
        case c.CANCELED:
          return incoming ? 'Missed call from ' + who : 'Call to ' + who + ' cancelled';
        case c.CONNECTION_ERROR:
          return 'Lost the connection to the server';
        case c.USER_DENIED_MEDIA_ACCESS:
          return 'Microphone access was denied';
        case c.AUTHENTICATION_ERROR:
          return 'The server refused the call: wrong extension or password';
        default:
          return 'Call ' + (incoming ? 'from ' : 'to ') + who + ' failed: ' + cause;
      }
    }

    function onSession(e) {
      const s = e.session;
      const incoming = e.originator === 'remote';
      const who = userOf(s.remote_identity);
      if (session !== null) {
        if (incoming) {
          note('Busy: declined a call from ' + who);
          s.terminate({ status_code: 486, reason_phrase: 'Busy Here' });
        }
        return;
      }
      session = s;
      held = { local: false, remote: false };
      Object.assign(state, {
        remote: who,
        cause: null,
        endedBy: null,
        remoteToneHz: null,
        inboundPackets: 0,
        outboundPackets: 0,
        dtmfSent: '',
      });
      s.on('peerconnection', (ev) => watchConnection(ev.peerconnection));
      if (s.connection) watchConnection(s.connection);
      s.on('progress', () => {
        if (!incoming) note(who + ' is ringing');
      });
      s.on('accepted', () => setCall('confirmed', 'In a call with ' + who));
      s.on('confirmed', () => {
        if (state.callState !== 'confirmed') setCall('confirmed', 'In a call with ' + who);
        if (pendingDtmf) {
          const digits = pendingDtmf;
          pendingDtmf = null;
          setTimeout(() => dtmf(digits), DTMF_DELAY_MS);
        }
      });
      // Our own hold counts once the other side accepted it (applyHold).
      s.on('hold', (ev) => {
        if (ev.originator === 'local') return;
        held.remote = true;
        setCall('held', who + ' put the call on hold');
      });
      s.on('unhold', (ev) => {
        if (ev.originator === 'local') return;
        held.remote = false;
        setCall(held.local ? 'held' : 'confirmed', who + ' resumed the call');
      });
      s.on('ended', (ev) => finish(s, 'ended', ev, describeEnd('ended', ev.cause, incoming, who, ev.originator)));
      s.on('failed', (ev) => finish(s, 'failed', ev, describeEnd('failed', ev.cause, incoming, who, ev.originator)));
      startTicker();
      if (incoming) {
        setCall('ringing', 'Call from ' + who);
        const box = $('autoanswer');
        const auto = opts.autoAnswer ? opts.autoAnswer(e.request) : params.get('autoanswer') === '1';
        if (auto || (box && box.checked)) answer();
      } else {
        setCall('calling', 'Calling ' + who + '…');
      }
    }

    function finish(s, kind, ev, line) {
      if (session !== s) return;
      session = null;
      held = { local: false, remote: false };
      wantHold = false;
      holdInFlight = false;
      if (holdTimer !== null) clearTimeout(holdTimer);
      holdTimer = null;
      state.cause = ev.cause || null;
      state.endedBy = ev.originator || null;
      stopTicker();
      const audio = $('remote-audio');
      if (audio) audio.srcObject = null;
      setCall(kind, line);
    }

    const mediaOptions = () => ({
      mediaConstraints: { audio: true, video: false },
      pcConfig: { iceServers: [] },
    });

    /** Calls `target` (an extension or a SIP URI). */
    function call(target) {
      target = String(target || '').trim();
      if (ua === null) {
        note('Register before calling');
        return false;
      }
      if (target === '') {
        note('Enter a number to call');
        return false;
      }
      if (session !== null) {
        note('Already in a call');
        return false;
      }
      try {
        ua.call(target, mediaOptions());
        return true;
      } catch (e) {
        state.cause = e && e.message ? e.message : String(e);
        setCall('failed', 'Cannot call ' + target + ': ' + state.cause);
        return false;
      }
    }

    function answer() {
      if (session === null || state.callState !== 'ringing') return false;
      try {
        session.answer(mediaOptions());
        return true;
      } catch (e) {
        note('Cannot answer: ' + (e && e.message ? e.message : e));
        return false;
      }
    }

    function hangup() {
      if (session === null) return false;
      try {
        session.terminate();
        return true;
      } catch (e) {
        note('Cannot hang up: ' + (e && e.message ? e.message : e));
        return false;
      }
    }

    /** Puts the call on hold (a re-INVITE with `a=sendonly`); 'held' once answered. */
    function hold() {
      return wantHoldNow(true);
    }

    /** Takes the call off hold; 'confirmed' once answered. */
    function unhold() {
      return wantHoldNow(false);
    }

    function wantHoldNow(on) {
      if (session === null || !(state.callState === 'confirmed' || state.callState === 'held')) {
        note(on ? 'Nothing to hold' : 'Nothing to resume');
        return false;
      }
      wantHold = on;
      applyHold();
      return true;
    }

    /**
     * Moves the call towards `wantHold`, one re-INVITE at a time: a hold or
     * resume asked while one is in progress waits for it (a quick hold then
     * resume ends resumed). JsSIP's own isReadyToReOffer() is not enough: it
     * says yes until the first offer is actually built.
     */
    function applyHold() {
      if (holdTimer !== null) clearTimeout(holdTimer);
      holdTimer = null;
      const s = session;
      if (s === null || holdInFlight || s.isOnHold().local === wantHold) return;
      const retry = () => {
        holdTimer = setTimeout(applyHold, 100);
      };
      if (!s.isReadyToReOffer()) return retry();
      const done = () => {
        if (session !== s) return;
        holdInFlight = false;
        held.local = s.isOnHold().local;
        if (held.local) setCall('held', 'Call on hold');
        else setCall(held.remote ? 'held' : 'confirmed', 'Call resumed');
        applyHold();
      };
      holdInFlight = true;
      const started = wantHold ? s.hold({}, done) : s.unhold({}, done);
      if (started === false) {
        holdInFlight = false;
        retry();
      }
    }

    /**
     * Restarts ICE with a re-INVITE (new ice-ufrag/ice-pwd, RFC 8839
     * §4.4.1.1), one at a time and not during a hold change; counted in
     * `testState.iceRestarts` once answered.
     */
    function restartIce() {
      const s = session;
      if (s === null || !(state.callState === 'confirmed' || state.callState === 'held')) {
        note('No call to restart ICE on');
        return false;
      }
      if (holdInFlight || !s.isReadyToReOffer()) {
        setTimeout(restartIce, 100);
        return true;
      }
      holdInFlight = true;
      const done = () => {
        if (session !== s) return;
        holdInFlight = false;
        state.iceRestarts += 1;
        readRemoteUfrag(s.connection);
        note('ICE restarted');
        applyHold();
      };
      const started = s.renegotiate({ rtcOfferConstraints: { iceRestart: true } }, done);
      if (started === false) {
        holdInFlight = false;
        setTimeout(restartIce, 100);
      } else {
        note('Restarting ICE');
      }
      return true;
    }

    function readRemoteUfrag(pc) {
      const sdp = pc && pc.remoteDescription ? pc.remoteDescription.sdp : '';
      const m = /a=ice-ufrag:(\S+)/.exec(sdp);
      state.remoteIceUfrag = m ? m[1] : null;
    }

    /** Sends `digits` as RFC 4733 telephone events (not SIP INFO, JsSIP's default). */
    function dtmf(digits) {
      digits = String(digits || '');
      if (!/^[0-9A-D#*]+$/i.test(digits)) {
        note('Not DTMF digits: "' + digits + '"');
        return false;
      }
      if (session === null || !(state.callState === 'confirmed' || state.callState === 'held')) {
        note('DTMF needs a call in progress');
        return false;
      }
      watchDtmf(session.connection);
      try {
        session.sendDTMF(digits, { transportType: JsSIP.C.DTMF_TRANSPORT.RFC2833, duration: 100, interToneGap: 70 });
        note('Sending DTMF ' + digits);
        return true;
      } catch (e) {
        note('Cannot send DTMF: ' + (e && e.message ? e.message : e));
        return false;
      }
    }

    /** Counts the digits the browser actually puts on the wire. */
    function watchDtmf(pc) {
      if (!pc) return;
      for (const sender of pc.getSenders()) {
        if (!sender.dtmf || !sender.track || sender.track.kind !== 'audio' || dtmfSenders.has(sender)) continue;
        dtmfSenders.add(sender);
        sender.dtmf.addEventListener('tonechange', (ev) => {
          if (ev.tone && ev.tone !== ',') state.dtmfSent += ev.tone;
        });
      }
    }

    // --- remote audio: playback, tone meter, RTP counters ----------------

    function watchConnection(pc) {
      pc.addEventListener('iceconnectionstatechange', () => {
        state.iceState = pc.iceConnectionState;
        // 'disconnected' may heal by itself; 'failed' will not: restart.
        if (pc.iceConnectionState === 'failed' && session !== null && session.connection === pc) {
          note('The media connection failed: restarting ICE');
          restartIce();
        }
      });
      pc.addEventListener('track', (ev) => {
        if (ev.track.kind !== 'audio') return;
        const stream = ev.streams && ev.streams[0] ? ev.streams[0] : new MediaStream([ev.track]);
        const audio = $('remote-audio');
        if (!audio) return;
        audio.srcObject = stream;
        audio.play().catch(() => note('The browser blocked audio playback until the page is clicked'));
        startMeter(stream);
      });
    }

    function startMeter(stream) {
      stopMeter();
      const Ctx = window.AudioContext || window.webkitAudioContext;
      if (!Ctx) return;
      const ctx = new Ctx();
      const source = ctx.createMediaStreamSource(stream);
      const analyser = ctx.createAnalyser();
      analyser.fftSize = 8192;
      analyser.smoothingTimeConstant = 0;
      source.connect(analyser);
      meter = { ctx, source, analyser, bins: new Float32Array(analyser.frequencyBinCount) };
      if (ctx.state === 'suspended') ctx.resume().catch(() => {});
    }

    function stopMeter() {
      if (meter === null) return;
      meter.source.disconnect();
      meter.ctx.close().catch(() => {});
      meter = null;
      state.remoteToneHz = null;
    }

    /** The spectrum's strongest bin, refined by parabolic interpolation; null when silent. */
    function measureTone() {
      if (meter === null) {
        state.remoteToneHz = null;
        return;
      }
      const { analyser, bins, ctx } = meter;
      analyser.getFloatFrequencyData(bins);
      let best = 1;
      for (let i = 2; i < bins.length - 1; i++) if (bins[i] > bins[best]) best = i;
      if (!(bins[best] > SILENCE_DB)) {
        state.remoteToneHz = null;
        return;
      }
      const a = bins[best - 1];
      const b = bins[best];
      const c = bins[best + 1];
      const curve = a - 2 * b + c;
      const shift = curve < 0 ? (0.5 * (a - c)) / curve : 0;
      state.remoteToneHz = Math.round(((best + shift) * ctx.sampleRate) / analyser.fftSize);
    }

    async function readStats() {
      const pc = session && session.connection;
      if (!pc || statsBusy || pc.signalingState === 'closed') return;
      statsBusy = true;
      try {
        const report = await pc.getStats();
        let inbound = 0;
        let outbound = 0;
        let pairId = null;
        report.forEach((r) => {
          if (r.type === 'transport' && r.selectedCandidatePairId) pairId = r.selectedCandidatePairId;
          if ((r.kind || r.mediaType) !== 'audio') return;
          if (r.type === 'inbound-rtp') inbound += r.packetsReceived || 0;
          if (r.type === 'outbound-rtp') outbound += r.packetsSent || 0;
        });
        state.inboundPackets = inbound;
        state.outboundPackets = outbound;
        readRemoteUfrag(pc);
        const pair = pairId ? report.get(pairId) : null;
        state.selectedPair = pair ? { id: pairId, state: pair.state, responsesReceived: pair.responsesReceived || 0 } : null;
      } catch (e) {
        // the connection closed meanwhile; keep the last counts
      } finally {
        statsBusy = false;
      }
    }

    function startTicker() {
      stopTicker();
      ticker = setInterval(() => {
        measureTone();
        readStats();
      }, TICK_MS);
    }

    function stopTicker() {
      if (ticker !== null) clearInterval(ticker);
      ticker = null;
      stopMeter();
    }

    // --- the page ---------------------------------------------------------

    function accountFromForm() {
      return {
        server: $('server').value,
        user: $('user').value,
        password: $('password').value,
        domain: $('domain').value,
      };
    }

    function wire() {
      $('account').addEventListener('submit', (ev) => {
        ev.preventDefault();
        register(accountFromForm());
      });
      $('unregister').addEventListener('click', unregister);
      $('dial').addEventListener('submit', (ev) => {
        ev.preventDefault();
        call($('target').value);
      });
      $('answer').addEventListener('click', answer);
      $('hangup').addEventListener('click', hangup);
      $('hold').addEventListener('click', () => (wantHold ? unhold() : hold()));
      $('keypad').addEventListener('click', (ev) => {
        const key = ev.target.closest('button[data-digit]');
        if (key) dtmf(key.dataset.digit);
      });
    }

    const api = { state, register, unregister, call, answer, hangup, hold, unhold, dtmf, restartIce };

    /** The softphone page: its form, the URL's settings, the test globals. */
    function start() {
      window.softphone = api;
      wire();
      if (typeof JsSIP === 'undefined' || typeof JsSIP.UA !== 'function') {
        registrationFailed('The SIP library did not load');
        return;
      }
      state.jssipVersion = JsSIP.version;
      if (params.get('debug') === '1') JsSIP.debug.enable('JsSIP:*');
      else JsSIP.debug.disable();
      for (const field of ['server', 'user', 'password', 'domain']) {
        if (params.has(field)) $(field).value = params.get(field);
      }
      $('autoanswer').checked = params.get('autoanswer') === '1';
      if (params.has('call')) $('target').value = params.get('call');
      if (params.has('password')) {
        // Keep the password out of the address bar and the history.
        const url = new URL(window.location.href);
        url.searchParams.delete('password');
        window.history.replaceState(null, '', url);
      }
      render();
      note('Softphone ready (JsSIP ' + JsSIP.version + ')');
      if (params.get('server') && params.get('user')) register(accountFromForm());
      state.ready = true;
    }

    if (opts.page) {
      start();
    } else if (typeof JsSIP === 'undefined' || typeof JsSIP.UA !== 'function') {
      registrationFailed('The SIP library did not load');
    } else {
      state.jssipVersion = JsSIP.version;
      JsSIP.debug.disable();
      state.ready = true;
      render();
    }
    return api;
  }

  window.SwitchboardSoftphone = { create: create };
  if (!(script && script.hasAttribute('data-embed'))) create({ page: true });
})();
