//! The I/O edge (DESIGN.md "driver"): binds each profile's UDP, TCP, TLS
//! and WebSocket sockets, reads the clock, pumps the sans-IO [`Engine`], writes bindings
//! and CDRs through a store thread, and handles signals (SIGINT/SIGTERM end
//! calls and stop; SIGHUP reloads the config, keeping the running one when
//! the new one fails validation).

mod net;
mod queue_feed;
mod store_worker;
mod ws;

#[cfg(feature = "fuzzing")]
pub use ws::fuzz as ws_fuzz;

use crate::api::{ApiCommand, ApiReply};
use crate::config::{Config, ConfigErrors};
use crate::engine::desk::DeskEvent;
use crate::engine::{Engine, Input, Now, Output};
use crate::sip::transaction::TransportKind;
use crate::store::AcdRecord;
use bytes::Bytes;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::{broadcast, mpsc, oneshot};

/// Why the driver could not start or run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DriverError {
    /// A socket could not be bound.
    #[error("cannot bind {addr} ({transport}): {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// udp, tcp, tls, ws, wss, http or https.
        transport: &'static str,
        /// The OS error.
        source: std::io::Error,
    },
    /// The store could not be opened.
    #[error("store: {0}")]
    Store(#[from] crate::store::StoreError),
    /// A certificate or key could not be loaded.
    #[error("{0}")]
    Tls(#[from] crate::tls::TlsError),
    /// Another I/O failure.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}

/// Desk events buffered for the slowest desktop before it is told it
/// lagged.
const DESK_EVENTS_CAPACITY: usize = 1024;

/// How often the engine's counters are logged.
const STATS_INTERVAL: Duration = Duration::from_secs(10);

/// How long the engine loop waits for the store to commit a write-ahead
/// record (a callback's dialling step, CB-8) before it goes on.
const WRITE_AHEAD_WAIT: Duration = Duration::from_secs(5);

/// How the driver was started; kept to re-apply on SIGHUP reloads.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Config directory (`None`: the embedded default).
    pub config_dir: Option<PathBuf>,
    /// `--sip-listen PROFILE=ADDR` overrides.
    pub listen_overrides: Vec<(String, SocketAddr)>,
    /// `--rtp-ports LO-HI` override.
    pub rtp_ports: Option<(u16, u16)>,
    /// `--api-listen ADDR` override.
    pub api_listen: Option<SocketAddr>,
    /// Directory for the SQLite store and the CDR file.
    pub data_dir: PathBuf,
}

/// Loads the config named by `opts` and applies the command-line overrides.
pub fn load_config(opts: &RunOptions) -> Result<Config, ConfigErrors> {
    let mut cfg = match &opts.config_dir {
        Some(d) => crate::config::load_dir(d)?,
        None => crate::config::load_embedded()?,
    };
    let mut errors = Vec::new();
    for (profile, addr) in &opts.listen_overrides {
        if let Err(e) = cfg.override_listen(profile, *addr) {
            errors.push(e);
        }
    }
    if let Some(addr) = opts.api_listen {
        if let Err(e) = cfg.override_api_listen(addr) {
            errors.push(e);
        }
    }
    if let Some((lo, hi)) = opts.rtp_ports {
        if let Err(e) = cfg.override_rtp_ports(lo, hi) {
            errors.push(e);
        }
    }
    if let Err(e) = cfg.check_bind_safety() {
        errors.push(e);
    }
    if errors.is_empty() {
        Ok(cfg)
    } else {
        Err(ConfigErrors(errors))
    }
}

/// What the socket tasks and signal handlers tell the engine task.
#[derive(Debug)]
pub(crate) enum Event {
    Packet {
        local: SocketAddr,
        peer: SocketAddr,
        transport: TransportKind,
        data: Bytes,
    },
    /// A stream message that could not be framed (RFC 3261 §18.3): its head
    /// goes to the engine, and `answered` fires once the engine's outputs
    /// for it (the `400`) are queued on the connection, which then closes.
    Unframeable {
        local: SocketAddr,
        peer: SocketAddr,
        transport: TransportKind,
        head: Bytes,
        error: crate::sip::msg::ParseError,
        answered: oneshot::Sender<()>,
    },
    SendFailed(crate::sip::transaction::TxId),
    Reload,
    Shutdown,
}

/// The clock, read only here.
fn now() -> Now {
    let unix_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    Now {
        mono: Instant::now(),
        unix_ms,
    }
}

/// Runs the switch until SIGINT/SIGTERM.
pub async fn run(cfg: Config, opts: RunOptions) -> Result<(), DriverError> {
    std::fs::create_dir_all(&opts.data_dir)?;
    let cfg = Arc::new(cfg);
    let store_path = cfg.store().path_in(&opts.data_dir);
    let cdr_path = cfg.cdr().jsonl_in(&opts.data_dir);
    let (store, bindings, recovery) = store_worker::start(store_path, cdr_path, now().unix_ms)?;
    if !recovery.is_empty() {
        // The counts are logged at warn by the store; the ids for the operator.
        tracing::info!(
            interactions = ?recovery.interrupted,
            agents = ?recovery.logged_out,
            "closed by restart recovery"
        );
    }
    let mut engine = Engine::with_entropy(cfg.clone(), rand::random::<[u8; 32]>());
    // The DTLS certificate of WebRTC legs (issue 12): one per run, its
    // fingerprint in every WebRTC SDP (RFC 8122 §5).
    let dtls = match crate::webrtc::dtls::DtlsIdentity::generate() {
        Ok(id) => Some(Arc::new(id)),
        Err(e) => {
            tracing::error!(error = %e, "no DTLS certificate: WebRTC calls are refused");
            None
        }
    };
    engine.set_dtls_fingerprint(dtls.as_ref().map(|d| d.fingerprint().to_string()));
    let restored = bindings.len();
    engine.load_bindings(bindings);
    // CB-8: the stored callbacks (and their idempotency keys) before the
    // engine serves.
    engine.load_callbacks(store_worker::load_callbacks(&cfg.store().path_in(&opts.data_dir))?);
    // Issue 14 item 5: the voicemail messages and their states, likewise.
    engine.load_voicemails(store_worker::load_voicemails(&cfg.store().path_in(&opts.data_dir))?);
    let (tx, mut rx) = mpsc::channel::<Event>(crate::bounded::ENGINE_INPUT.capacity());
    spawn_signals(tx.clone());
    let gate = Arc::new(crate::sip::overload::OverloadGate::new(gate_settings(&cfg)));
    let sockets = net::Sockets::bind(&cfg, tx.clone(), gate.clone()).await?;
    let media_threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
    let recordings = cfg.media().recording.dir_in(&opts.data_dir);
    // Recordings a crash left as `.wav.part` become playable `.wav` files
    // before any new recording starts (spec CALL-REC-1: nothing lost).
    match crate::media::recorder::recover_partials(&recordings) {
        Ok(found) if !found.is_empty() => tracing::warn!(count = found.len(), "recovered interrupted recordings"),
        Ok(_) => {}
        Err(e) => tracing::error!(error = %e, dir = %recordings.display(), "recordings could not be checked"),
    }
    let (report_tx, mut media_reports) =
        mpsc::channel::<crate::media::MediaReport>(crate::bounded::MEDIA_REPORTS.capacity());
    let media = crate::media::MediaWorkers::start(media_threads, recordings.clone(), report_tx, dtls)?;
    let api_addr = cfg.api().listen;
    let api_listener = tokio::net::TcpListener::bind(api_addr)
        .await
        .map_err(|e| DriverError::Bind {
            addr: api_addr,
            transport: "http",
            source: e,
        })?;
    let api_cert = match &cfg.api().tls {
        Some(files) => Some(crate::tls::CertSlot::new(
            crate::tls::load_certified_key(files).map_err(DriverError::Tls)?,
        )),
        None => None,
    };
    let api_listener =
        crate::api::listener::ApiListener::start(api_listener, api_cert.clone(), cfg.api().max_connections as usize)
            .map_err(|e| DriverError::Bind {
                addr: api_addr,
                transport: "https",
                source: e,
            })?;
    let api_guard = crate::api::guard::ApiGuard::new(
        crate::api::guard::TokenTable::from_config(&cfg),
        crate::api::guard::Limits::from_settings(cfg.api()),
    );
    if cfg.api().admin_tokens.is_empty() {
        tracing::warn!("no admin token in [api] admin_tokens: /calls and /trunks refuse every request");
    }
    let (api_tx, mut api_rx) = mpsc::channel::<crate::api::ApiRequest>(256);
    // Desk events for the desktops' WebSocket streams (a slow one is told
    // how many it missed).
    let (desk_tx, _) = broadcast::channel::<DeskEvent>(DESK_EVENTS_CAPACITY);
    let api_events = desk_tx.clone();
    let guard = api_guard.clone();
    tokio::spawn(async move {
        if let Err(e) = crate::api::serve(api_listener, api_tx, api_events, guard).await {
            tracing::error!(error = %e, "control API stopped");
        }
    });
    let scheme = if api_cert.is_some() { "https" } else { "http" };
    tracing::info!(%api_addr, scheme, "API listening");
    tracing::info!(restored_bindings = restored, "switchboard running");
    let edge = Edge {
        api_guard,
        api_cert,
        gate: gate.clone(),
    };
    let mut overload = OverloadSample::default();
    engine.start(now());
    let mut shutdown_deadline: Option<Instant> = None;
    let mut stats_tick = tokio::time::interval(STATS_INTERVAL);
    let mut feed_tick = tokio::time::interval(queue_feed::FEED_INTERVAL);
    feed_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut feed = queue_feed::QueueFeed::default();
    loop {
        let deadline = [engine.poll_timeout(), shutdown_deadline].into_iter().flatten().min();
        let sleep = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d.into()).await,
                None => std::future::pending().await,
            }
        };
        // A connection that lost framing, told once the answer is queued.
        let mut answered: Option<oneshot::Sender<()>> = None;
        let mut api_answer: Option<(oneshot::Sender<crate::api::ApiReply>, crate::api::ApiReply)> = None;
        tokio::select! {
            ev = rx.recv() => {
                let Some(ev) = ev else { break };
                let n = now();
                match ev {
                    Event::Packet { local, peer, transport, data } => {
                        engine.handle_input(n, Input::Packet { local, peer, transport, data });
                    }
                    Event::Unframeable { local, peer, transport, head, error, answered: done } => {
                        engine.handle_input(n, Input::Unframeable { local, peer, transport, head, error });
                        answered = Some(done);
                    }
                    Event::SendFailed(t) => engine.handle_input(n, Input::SendFailed { tx: t }),
                    Event::Reload => {
                        reload(&mut engine, &opts, &edge);
                        sockets.reload_certificates();
                    }
                    Event::Shutdown => {
                        if shutdown_deadline.is_none() {
                            tracing::info!("shutting down: ending calls");
                            engine.shutdown(n);
                            shutdown_deadline = Some(n.mono + Duration::from_secs(5));
                        }
                    }
                }
            }
            _ = sleep => {
                engine.handle_timeout(now());
            }
            Some(r) = media_reports.recv() => {
                engine.handle_input(now(), Input::Digit { session: r.session, leg: r.leg, digit: r.digit });
            }
            Some((cmd, reply)) = api_rx.recv() => match cmd {
                crate::api::ApiCommand::Stats { token, query } => {
                    queue_feed::request(&engine, &store, now().mono, &token, query, reply);
                }
                cmd => {
                    // Answered once its outputs are carried out below: a
                    // write-ahead record (a callback, CB-8) is on disk first.
                    api_answer = Some((reply, answer_api(&mut engine, cmd, &gate.counters, &recordings)));
                }
            },
            _ = feed_tick.tick() => {
                let n = now();
                feed.tick(&engine, n.mono, n.unix_ms, &store, &desk_tx);
            }
            _ = stats_tick.tick() => {
                let s = engine.stats();
                let o = overload.sample(&gate.counters);
                tracing::info!(
                    calls_active = s.calls_active,
                    calls_started = s.calls_started,
                    calls_answered = s.calls_answered,
                    transactions = s.transactions,
                    dialogs = s.dialogs,
                    registrations = s.registrations,
                    timers = s.timers,
                    call_transactions = s.call_transactions,
                    auth_tracked = s.auth_tracked,
                    auth_held = s.auth_held,
                    media_sessions = crate::media::live_sessions(),
                    sip_backlog = rx.len(),
                    store_backlog_peak = crate::bounded::STORE.take_high(),
                    malformed = s.malformed,
                    shed_busy = o.shed_busy,
                    shed_source = o.shed_source,
                    shed_acks_dropped = o.acks_dropped,
                    queues_full = o.queues_full,
                    "stats"
                );
                if o.new_shed > 0 {
                    tracing::warn!(
                        refused = o.new_shed,
                        "overload: {} new requests answered 503 in the last {} s",
                        o.new_shed,
                        STATS_INTERVAL.as_secs()
                    );
                }
            }
        }
        let mut media_failed: Vec<u64> = Vec::new();
        loop {
            let Some(out) = engine.poll_output() else {
                // Calls whose media ports could not be bound end now (their
                // outputs are then handled by this same loop).
                match media_failed.pop() {
                    Some(call) => {
                        engine.handle_input(now(), Input::MediaFailed { call });
                        continue;
                    }
                    None => break,
                }
            };
            match out {
                Output::Transmit { dest, bytes, tx: t } => sockets.send(dest, bytes, t),
                Output::SaveBinding(b) => store.send(store_worker::Op::Save(b)),
                Output::DeleteBinding(b) => store.send(store_worker::Op::Delete(b)),
                Output::Cdr(c) => store.send(store_worker::Op::Cdr(c)),
                // CB-8: a write-ahead record is on disk before what follows it leaves.
                Output::Acd(r) if r.is_write_ahead() => {
                    if let AcdRecord::Callback(c) = r {
                        let c_id = c.id.clone();
                        let (done_tx, done_rx) = std::sync::mpsc::sync_channel(1);
                        store.send(store_worker::Op::CallbackCommit(c, done_tx));
                        if done_rx.recv_timeout(WRITE_AHEAD_WAIT).is_err() {
                            tracing::error!(callback = %c_id, "the store did not confirm a callback change in time: going on");
                        }
                    }
                }
                Output::Acd(r) => store.send(match r {
                    AcdRecord::AgentAudit(a) => {
                        feed.written();
                        store_worker::Op::AgentAudit(a)
                    }
                    AcdRecord::Interaction(i) => {
                        feed.written();
                        store_worker::Op::Interaction(*i)
                    }
                    AcdRecord::LegCdr(l) => store_worker::Op::LegCdr(l),
                    AcdRecord::Callback(c) => store_worker::Op::Callback(c),
                    AcdRecord::Voicemail(v) => store_worker::Op::Voicemail(v),
                }),
                // No desktop listening is no error.
                Output::Desk(ev) => {
                    let _ = desk_tx.send(ev);
                }
                Output::Media(cmd) => {
                    let call = match &cmd {
                        crate::call::media::MediaCommand::Prepare { call, .. } => Some(*call),
                        // A room caller's party key is its call number.
                        crate::call::media::MediaCommand::RoomPrepare { party, .. } => Some(*party as u64),
                        _ => None,
                    };
                    if let (Err(_), Some(call)) = (media.send(cmd), call) {
                        media_failed.push(call);
                    }
                }
            }
        }
        if let Some(done) = answered {
            // Every Transmit above is already on the connection's queue.
            let _ = done.send(());
        }
        if let Some((reply, answer)) = api_answer {
            let _ = reply.send(answer);
        }
        if let Some(d) = shutdown_deadline {
            if engine.is_idle() || Instant::now() >= d {
                break;
            }
        }
    }
    store.close();
    tracing::info!("switchboard stopped");
    Ok(())
}

/// Carries out one API request on the engine.
fn answer_api(
    engine: &mut Engine,
    cmd: ApiCommand,
    gate: &crate::sip::overload::GateCounters,
    recordings: &std::path::Path,
) -> ApiReply {
    use std::sync::atomic::Ordering::Relaxed;
    match cmd {
        // The loop hands these to the store thread (`queue_feed::request`).
        ApiCommand::Stats { .. } => ApiReply::Stats(Err(crate::api::error::ApiError::Internal(
            "statistics are folded by the store thread".into(),
        ))),
        ApiCommand::Metrics => {
            let (queues, agents) = engine.acd_gauges(now().mono);
            let packets = crate::media::packet_totals();
            ApiReply::Metrics(Box::new(crate::api::metrics::MetricsSnapshot {
                engine: engine.stats(),
                sip: engine.sip_counters(),
                queues,
                agents,
                media_sessions: crate::media::live_sessions() as u64,
                media_packets_relayed: packets.relayed,
                media_packets_dropped: packets.dropped,
                media_srtp_refused: packets.srtp_refused,
                media_packets_lost: packets.lost,
                media_packets_late: packets.late,
                shed_busy: gate.shed_busy.load(Relaxed),
                shed_source: gate.shed_source.load(Relaxed),
                acks_dropped: gate.acks_dropped.load(Relaxed),
                entry_points: engine.entry_point_counts(),
                callbacks: engine.callback_counts(),
            }))
        }
        ApiCommand::ListCalls => ApiReply::Calls(engine.calls_snapshot()),
        ApiCommand::ListTrunks => ApiReply::Trunks(engine.trunks_snapshot()),
        ApiCommand::Control { call, control } => ApiReply::Call(engine.control(now(), call, control)),
        ApiCommand::Desk { token, cmd } => ApiReply::Desk(engine.desk(now(), &token, cmd)),
        ApiCommand::Supervise { token, cmd } => ApiReply::Desk(engine.supervise(now(), &token, cmd)),
        ApiCommand::Callbacks { who, cmd } => ApiReply::Callbacks(engine.callbacks(now(), &who, cmd)),
        // A message's audio is its file in the recordings directory.
        ApiCommand::Voicemails { who, cmd } => {
            ApiReply::Voicemails(engine.voicemail_request(now(), &who, cmd).map(|r| match r {
                crate::engine::VoicemailReply::Audio { id, path } => crate::engine::VoicemailReply::Audio {
                    id,
                    path: recordings.join(path),
                },
                other => other,
            }))
        }
    }
}

/// What a SIGHUP reloads besides the engine.
struct Edge {
    api_guard: Arc<crate::api::guard::ApiGuard>,
    api_cert: Option<Arc<crate::tls::CertSlot>>,
    gate: Arc<crate::sip::overload::OverloadGate>,
}

/// The overload gate's settings of `cfg`: trunks' `inbound_from` join
/// `[security] source_rate_allow`.
fn gate_settings(cfg: &Config) -> crate::sip::overload::GateSettings {
    let mut allow = cfg.security().source_rate_allow.clone();
    for t in cfg.trunks() {
        if let Some(inbound) = &t.inbound {
            allow.extend(inbound.from.iter().cloned());
        }
    }
    crate::sip::overload::GateSettings {
        busy_queue: cfg.sip().overload_queue,
        source_rate: cfg.security().source_rate,
        allow,
    }
}

/// The gate's counters at the last stats line, to log what changed since.
#[derive(Default)]
struct OverloadSample {
    shed: u64,
}

/// Cumulative counters and what is new since the last sample.
struct OverloadReading {
    shed_busy: u64,
    shed_source: u64,
    acks_dropped: u64,
    /// Times each bounded queue was found full, `name=n` pairs.
    queues_full: String,
    new_shed: u64,
}

impl OverloadSample {
    fn sample(&mut self, c: &crate::sip::overload::GateCounters) -> OverloadReading {
        use std::sync::atomic::Ordering::Relaxed;
        let (busy, source) = (c.shed_busy.load(Relaxed), c.shed_source.load(Relaxed));
        let queues_full = crate::bounded::all()
            .iter()
            .filter(|w| w.times_full() > 0)
            .map(|w| format!("{}={}", w.name(), w.times_full()))
            .collect::<Vec<_>>()
            .join(", ");
        let r = OverloadReading {
            shed_busy: busy,
            shed_source: source,
            acks_dropped: c.acks_dropped.load(Relaxed),
            queues_full,
            new_shed: (busy + source).saturating_sub(self.shed),
        };
        self.shed = busy + source;
        r
    }
}

/// SIGHUP: the new config for the engine, the overload gate's settings,
/// the API's tokens (admin tokens rotate; agents' wait for a restart like
/// the rest of acd.toml) and its certificate (a file that fails to load
/// keeps the running one).
fn reload(engine: &mut Engine, opts: &RunOptions, edge: &Edge) {
    match load_config(opts) {
        Ok(cfg) => {
            engine.reload(Arc::new(cfg));
            engine.start(now());
            let cfg = engine.config();
            edge.gate.set_settings(gate_settings(cfg));
            edge.api_guard
                .set_tokens(crate::api::guard::TokenTable::from_config(cfg));
            if let (Some(slot), Some(files)) = (edge.api_cert.as_deref(), &cfg.api().tls) {
                match slot.reload(files) {
                    Ok(()) => tracing::info!("API certificate reloaded"),
                    Err(e) => tracing::error!(error = %e, "API certificate not reloaded; keeping the running one"),
                }
            }
            tracing::info!("configuration reloaded");
        }
        Err(errors) => {
            for e in errors.errors() {
                tracing::error!(error = %e, "reload rejected; keeping the running configuration");
            }
        }
    }
}

/// Installs the SIGINT/SIGTERM/SIGHUP handlers now (before the switch
/// answers anything, so a SIGTERM right after start-up is a clean shutdown
/// with the store flushed, never the default kill), and forwards them as
/// events.
fn spawn_signals(tx: mpsc::Sender<Event>) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut int), Ok(mut term), Ok(mut hup)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    ) else {
        tracing::error!("cannot install signal handlers");
        return;
    };
    tokio::spawn(async move {
        loop {
            let ev = tokio::select! {
                _ = int.recv() => Event::Shutdown,
                _ = term.recv() => Event::Shutdown,
                _ = hup.recv() => Event::Reload,
            };
            if tx.send(ev).await.is_err() {
                break;
            }
        }
    });
}
