//! SIP sockets (RFC 3261 §18): one UDP socket and one TCP listener per
//! profile address, 4 MiB socket buffers, TCP connections framed by
//! Content-Length (`frame_stream`), reused for requests and responses in
//! both directions, closed after `[sip] tcp_idle_timeout_s` without
//! traffic. A message that cannot be framed (RFC 4475 `ncl`, `mcl01` over
//! TCP) is answered from its head (the engine's `400`, written on the
//! connection) and the connection is then closed (§18.3: framing is lost).
//!
//! Every message passes the overload gate ([`OverloadGate`], issue 11 item
//! 3) before it is queued for the engine: new requests get a stateless 503
//! here when the engine's queue is long or their source sends too much.
//! The queue to the engine is bounded; a reader that finds it full counts
//! it (logged with the stats) and waits, leaving datagrams in the kernel.
//!
//! SIP over WebSocket (RFC 7118) has its listeners in `ws.rs`; its
//! connections share the connection table, and [`Sockets::send`] delivers
//! to them.

use super::Event;
use crate::config::{Config, Transport};
use crate::sip::msg::{frame_stream, FrameError, Limits, ParseError, StreamFrame};
use crate::sip::overload::{OverloadGate, ShedReason, Verdict};
use crate::sip::transaction::{Destination, TransportKind, TxId};
use bytes::{Bytes, BytesMut};
use dashmap::DashMap;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{mpsc, oneshot};

/// Socket buffer size asked for (the kernel caps it at `net.core.rmem_max`).
const SOCKET_BUFFER: usize = 4 * 1024 * 1024;
/// Most simultaneous TCP connections.
pub(super) const MAX_TCP_CONNECTIONS: usize = 10_000;
/// How long a connection that lost framing waits for the engine's answer.
const ANSWER_WAIT: Duration = Duration::from_secs(2);
/// How long such a connection, its answer written and its write side shut,
/// still reads and discards what the peer sends: closing with unread input
/// would reset the connection and could destroy the answer in flight.
const CLOSE_LINGER: Duration = Duration::from_secs(1);

pub(super) type ConnKey = (SocketAddr, SocketAddr); // (our profile address, peer)

/// How long a TLS client has to finish its handshake.
pub(super) const TLS_HANDSHAKE: Duration = Duration::from_secs(10);

/// The bound sockets and live TCP connections.
pub(crate) struct Sockets {
    udp: HashMap<SocketAddr, Arc<UdpSocket>>,
    conns: Arc<DashMap<ConnKey, mpsc::Sender<Bytes>>>,
    events: mpsc::Sender<Event>,
    limits: Limits,
    idle: Duration,
    gate: Arc<OverloadGate>,
    /// Each TLS profile's certificate (reloaded on SIGHUP) and files.
    tls_certs: Vec<(Arc<crate::tls::CertSlot>, Option<crate::tls::TlsFiles>)>,
    /// How to connect to each TLS trunk, by its address.
    tls_trunks: HashMap<SocketAddr, TlsTrunk>,
    /// The WebSocket listeners (RFC 7118) and their transport.
    ws_locals: HashMap<SocketAddr, TransportKind>,
}

/// What opening a TLS connection to a trunk needs.
#[derive(Clone)]
struct TlsTrunk {
    config: Arc<rustls::ClientConfig>,
    name: rustls::pki_types::ServerName<'static>,
}

fn bind_udp(addr: SocketAddr) -> std::io::Result<UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let sock = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    if addr.is_ipv6() {
        sock.set_only_v6(true)?;
    }
    let _ = sock.set_recv_buffer_size(SOCKET_BUFFER);
    let _ = sock.set_send_buffer_size(SOCKET_BUFFER);
    sock.set_nonblocking(true)?;
    sock.bind(&addr.into())?;
    UdpSocket::from_std(sock.into())
}

impl Sockets {
    /// Binds every profile's sockets and starts their reader tasks.
    pub(crate) async fn bind(
        cfg: &Config,
        events: mpsc::Sender<Event>,
        gate: Arc<OverloadGate>,
    ) -> Result<Sockets, super::DriverError> {
        let limits = cfg.sip().limits();
        let idle = cfg.sip().tcp_idle_timeout;
        let conns: Arc<DashMap<ConnKey, mpsc::Sender<Bytes>>> = Arc::new(DashMap::new());
        let mut udp = HashMap::new();
        let mut tls_certs = Vec::new();
        // What every connection task of every listener shares.
        let ctx = ConnCtx {
            conns: conns.clone(),
            events: events.clone(),
            limits,
            idle,
            gate: gate.clone(),
        };
        let mut profile_slots: HashMap<String, Arc<crate::tls::CertSlot>> = HashMap::new();
        let mut ws_locals = HashMap::new();
        for p in cfg.profiles() {
            for addr in &p.listen {
                if p.transports.contains(&Transport::Udp) {
                    let s = bind_udp(*addr).map_err(|e| super::DriverError::Bind {
                        addr: *addr,
                        transport: "udp",
                        source: e,
                    })?;
                    let s = Arc::new(s);
                    udp.insert(*addr, s.clone());
                    tokio::spawn(udp_reader(s, *addr, events.clone(), gate.clone()));
                    tracing::info!(profile = %p.name, %addr, "listening on udp");
                }
                if p.transports.contains(&Transport::Tcp) {
                    let l = TcpListener::bind(addr).await.map_err(|e| super::DriverError::Bind {
                        addr: *addr,
                        transport: "tcp",
                        source: e,
                    })?;
                    tokio::spawn(tcp_acceptor(l, *addr, ctx.clone()));
                    tracing::info!(profile = %p.name, %addr, "listening on tcp");
                }
            }
            if let Some(tls) = &p.tls {
                let slot = profile_cert(&p.name, tls)?;
                let roots = match &tls.client_ca {
                    Some(ca) => Some(crate::tls::load_roots(ca)?),
                    None => None,
                };
                let server = crate::tls::sip_server_config(slot.clone(), roots)?;
                tls_certs.push((slot.clone(), tls.files.clone()));
                profile_slots.insert(p.name.clone(), slot);
                for addr in &tls.listen {
                    let l = TcpListener::bind(addr).await.map_err(|e| super::DriverError::Bind {
                        addr: *addr,
                        transport: "tls",
                        source: e,
                    })?;
                    let acceptor = tokio_rustls::TlsAcceptor::from(server.clone());
                    tokio::spawn(tls_acceptor(l, *addr, ctx.clone(), acceptor));
                    tracing::info!(profile = %p.name, %addr, mutual = tls.client_ca.is_some(), "listening on tls");
                }
            }
            let slot = profile_slots.get(&p.name).cloned();
            ws_locals.extend(super::ws::bind(p, slot, &ctx).await?);
        }
        let mut tls_trunks = HashMap::new();
        for t in cfg.trunks() {
            let (Some(tt), Some(slot)) = (&t.tls, profile_slots.get(&t.profile)) else {
                continue;
            };
            let roots = crate::tls::load_roots(&tt.ca)?;
            let name = rustls::pki_types::ServerName::try_from(tt.server_name.clone())
                .map_err(|e| crate::tls::TlsError::Config(e.to_string()))?;
            let config = crate::tls::client_config(roots, slot.clone())?;
            tls_trunks.insert(t.address, TlsTrunk { config, name });
        }
        Ok(Sockets {
            udp,
            conns,
            events,
            limits,
            idle,
            gate,
            tls_certs,
            tls_trunks,
            ws_locals,
        })
    }

    /// Re-reads every TLS profile's certificate files (SIGHUP); a file
    /// that fails keeps the running certificate.
    pub(crate) fn reload_certificates(&self) {
        for (slot, files) in &self.tls_certs {
            let Some(files) = files else { continue };
            match slot.reload(files) {
                Ok(()) => tracing::info!(certificate = %files.certificate.display(), "SIP TLS certificate reloaded"),
                Err(e) => tracing::error!(error = %e, "SIP TLS certificate not reloaded; keeping the running one"),
            }
        }
    }

    /// Sends `bytes` to `dest` without blocking the engine.
    pub(crate) fn send(&self, dest: Destination, bytes: Bytes, tx: Option<TxId>) {
        match dest.transport {
            TransportKind::Udp => {
                let Some(sock) = self.udp.get(&dest.local) else {
                    tracing::warn!(local = %dest.local, "no udp socket for this address");
                    self.fail(tx);
                    return;
                };
                if let Err(e) = sock.try_send_to(&bytes, dest.addr) {
                    // UDP is lossy anyway: the transaction layer retransmits.
                    tracing::debug!(peer = %dest.addr, error = %e, "udp send failed");
                    if e.kind() != std::io::ErrorKind::WouldBlock {
                        self.fail(tx);
                    }
                }
            }
            TransportKind::Ws | TransportKind::Wss => self.send_ws(dest, bytes, tx),
            TransportKind::Tls if !self.conns.contains_key(&(dest.local, dest.addr)) => {
                // Phones are reached over the connection they registered
                // on; the switch opens connections to TLS trunks only.
                let Some(trunk) = self.tls_trunks.get(&dest.addr).cloned() else {
                    tracing::warn!(peer = %dest.addr, "no TLS connection to this peer: the request cannot be sent");
                    self.fail(tx);
                    return;
                };
                self.open_tls(dest, trunk, bytes, tx);
            }
            _ => {
                let key = (dest.local, dest.addr);
                if let Some(conn) = self.conns.get(&key) {
                    match conn.try_send(bytes.clone()) {
                        Ok(()) => return,
                        Err(mpsc::error::TrySendError::Full(_)) => {
                            // The peer reads slower than we write: this
                            // message is lost like a UDP datagram (the
                            // transaction layer fails or retransmits it).
                            crate::bounded::TCP_WRITE.full("dropped");
                            drop(conn);
                            self.fail(tx);
                            return;
                        }
                        // The connection ended: open a new one below.
                        Err(mpsc::error::TrySendError::Closed(_)) => {}
                    }
                }
                if self.conns.len() >= MAX_TCP_CONNECTIONS {
                    self.fail(tx);
                    return;
                }
                // Open a connection (§18.1.1) and queue the message on it.
                let (wtx, wrx) = mpsc::channel::<Bytes>(crate::bounded::TCP_WRITE.capacity());
                let _ = wtx.try_send(bytes);
                self.conns.insert(key, wtx);
                let ctx = self.ctx();
                tokio::spawn(async move {
                    match TcpStream::connect(dest.addr).await {
                        Ok(stream) => {
                            let _ = stream.set_nodelay(true);
                            run_connection(stream, key, wrx, ctx, TransportKind::Tcp).await;
                        }
                        Err(e) => {
                            tracing::debug!(peer = %dest.addr, error = %e, "tcp connect failed");
                            ctx.conns.remove(&key);
                            if let Some(t) = tx {
                                let _ = ctx.events.send(Event::SendFailed(t)).await;
                            }
                        }
                    }
                });
            }
        }
    }

    /// Sends on the WebSocket connection from `dest.addr` (RFC 7118: the
    /// switch never opens one; a phone is reached over the connection it
    /// registered on). The connection is looked up under `dest.local`, the
    /// profile's first listener of that transport, then on any listener of
    /// it. No connection, or one that cannot take more, fails `tx` like a
    /// failed TCP send.
    fn send_ws(&self, dest: Destination, bytes: Bytes, tx: Option<TxId>) {
        let conn = self.conns.get(&(dest.local, dest.addr)).map(|c| c.clone()).or_else(|| {
            self.conns
                .iter()
                .find(|c| c.key().1 == dest.addr && self.ws_locals.get(&c.key().0) == Some(&dest.transport))
                .map(|c| c.value().clone())
        });
        let Some(conn) = conn else {
            tracing::info!(peer = %dest.addr, "the WebSocket connection to this peer is gone: message not sent");
            self.fail(tx);
            return;
        };
        match conn.try_send(bytes) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                crate::bounded::TCP_WRITE.full("dropped");
                self.fail(tx);
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                tracing::info!(peer = %dest.addr, "the WebSocket connection to this peer closed: message not sent");
                self.fail(tx);
            }
        }
    }

    /// Opens a TLS connection to a trunk (§18.1.1 over TLS, verifying its
    /// certificate, presenting ours) and queues `bytes` on it.
    fn open_tls(&self, dest: Destination, trunk: TlsTrunk, bytes: Bytes, tx: Option<TxId>) {
        if self.conns.len() >= MAX_TCP_CONNECTIONS {
            self.fail(tx);
            return;
        }
        let key = (dest.local, dest.addr);
        let (wtx, wrx) = mpsc::channel::<Bytes>(crate::bounded::TCP_WRITE.capacity());
        let _ = wtx.try_send(bytes);
        self.conns.insert(key, wtx);
        let ctx = self.ctx();
        tokio::spawn(async move {
            let connector = tokio_rustls::TlsConnector::from(trunk.config);
            let connect = async {
                let tcp = TcpStream::connect(dest.addr).await?;
                let _ = tcp.set_nodelay(true);
                connector.connect(trunk.name, tcp).await
            };
            match tokio::time::timeout(TLS_HANDSHAKE, connect).await {
                Ok(Ok(stream)) => run_connection(stream, key, wrx, ctx, TransportKind::Tls).await,
                outcome => {
                    let why = match outcome {
                        Ok(Err(e)) => e.to_string(),
                        _ => "handshake timed out".to_string(),
                    };
                    tracing::warn!(peer = %dest.addr, error = %why, "TLS connection to the trunk failed");
                    ctx.conns.remove(&key);
                    if let Some(t) = tx {
                        let _ = ctx.events.send(Event::SendFailed(t)).await;
                    }
                }
            }
        });
    }

    /// What a connection task opened from here shares.
    fn ctx(&self) -> ConnCtx {
        ConnCtx {
            conns: self.conns.clone(),
            events: self.events.clone(),
            limits: self.limits,
            idle: self.idle,
            gate: self.gate.clone(),
        }
    }

    fn fail(&self, tx: Option<TxId>) {
        if let Some(t) = tx {
            let _ = self.events.try_send(Event::SendFailed(t));
        }
    }
}

/// The gate's verdict on `data` from `peer`, with the engine's queue as
/// it is now.
pub(super) fn verdict(gate: &OverloadGate, events: &mpsc::Sender<Event>, data: &[u8], peer: SocketAddr) -> Verdict {
    let queued = events.max_capacity() - events.capacity();
    let v = gate.check(data, peer.ip(), queued, std::time::Instant::now());
    if let Verdict::Shed {
        reason: ShedReason::SourceRate,
        report: true,
        ..
    } = &v
    {
        tracing::warn!(source = %peer.ip(), "source over its rate of new requests ([security] source_rate): answering 503");
    }
    v
}

/// Queues `ev` for the engine; a full queue is counted, then waited for.
/// False when the engine is gone.
pub(super) async fn queue(events: &mpsc::Sender<Event>, ev: Event) -> bool {
    match events.try_send(ev) {
        Ok(()) => true,
        Err(mpsc::error::TrySendError::Full(ev)) => {
            crate::bounded::ENGINE_INPUT.full("waiting");
            events.send(ev).await.is_ok()
        }
        Err(mpsc::error::TrySendError::Closed(_)) => false,
    }
}

async fn udp_reader(sock: Arc<UdpSocket>, local: SocketAddr, events: mpsc::Sender<Event>, gate: Arc<OverloadGate>) {
    let mut buf = vec![0u8; 65_536];
    loop {
        match sock.recv_from(&mut buf).await {
            Ok((n, peer)) => match verdict(&gate, &events, &buf[..n], peer) {
                Verdict::Admit => {
                    let data = Bytes::copy_from_slice(&buf[..n]);
                    let ev = Event::Packet {
                        local,
                        peer,
                        transport: TransportKind::Udp,
                        data,
                    };
                    if !queue(&events, ev).await {
                        break;
                    }
                }
                Verdict::Shed { response, .. } => {
                    let _ = sock.try_send_to(&response, peer);
                }
                Verdict::Drop => {}
            },
            Err(e) => {
                // ICMP port unreachable shows up here on Linux; keep reading.
                tracing::debug!(%local, error = %e, "udp recv error");
            }
        }
    }
}

/// What every TCP connection task shares.
#[derive(Clone)]
pub(super) struct ConnCtx {
    pub(super) conns: Arc<DashMap<ConnKey, mpsc::Sender<Bytes>>>,
    pub(super) events: mpsc::Sender<Event>,
    pub(super) limits: Limits,
    pub(super) idle: Duration,
    pub(super) gate: Arc<OverloadGate>,
}

async fn tcp_acceptor(l: TcpListener, local: SocketAddr, ctx: ConnCtx) {
    loop {
        let Ok((stream, peer)) = l.accept().await else { continue };
        if ctx.conns.len() >= MAX_TCP_CONNECTIONS {
            continue; // dropped: the connection limit protects the engine
        }
        let _ = stream.set_nodelay(true);
        let key = (local, peer);
        let (wtx, wrx) = mpsc::channel::<Bytes>(crate::bounded::TCP_WRITE.capacity());
        ctx.conns.insert(key, wtx);
        tokio::spawn(run_connection(stream, key, wrx, ctx.clone(), TransportKind::Tcp));
    }
}

/// A TLS profile's certificate: its files, or a self-signed one for its
/// loopback addresses (the config allows nothing else without files).
fn profile_cert(
    profile: &str,
    tls: &crate::config::ProfileTls,
) -> Result<Arc<crate::tls::CertSlot>, super::DriverError> {
    let key = match &tls.files {
        Some(files) => crate::tls::load_certified_key(files)?,
        None => {
            let mut names: Vec<String> = vec!["localhost".into()];
            names.extend(tls.listen.iter().map(|a| a.ip().to_string()));
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            let (key, _) = crate::tls::self_signed(&names)?;
            tracing::warn!(
                profile,
                "SIP over TLS with a self-signed demo certificate (loopback only)"
            );
            key
        }
    };
    Ok(crate::tls::CertSlot::new(key))
}

/// Accepts TLS connections: each handshake in its own task, bounded by
/// [`TLS_HANDSHAKE`]; then the connection is served like TCP.
async fn tls_acceptor(l: TcpListener, local: SocketAddr, ctx: ConnCtx, acceptor: tokio_rustls::TlsAcceptor) {
    loop {
        let Ok((stream, peer)) = l.accept().await else { continue };
        if ctx.conns.len() >= MAX_TCP_CONNECTIONS {
            continue;
        }
        let _ = stream.set_nodelay(true);
        let (acceptor, ctx) = (acceptor.clone(), ctx.clone());
        tokio::spawn(async move {
            let tls = match tokio::time::timeout(TLS_HANDSHAKE, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => {
                    tracing::debug!(%peer, error = %e, "SIP TLS handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!(%peer, "SIP TLS handshake timed out");
                    return;
                }
            };
            let key = (local, peer);
            let (wtx, wrx) = mpsc::channel::<Bytes>(crate::bounded::TCP_WRITE.capacity());
            ctx.conns.insert(key, wtx);
            run_connection(tls, key, wrx, ctx, TransportKind::Tls).await;
        });
    }
}

/// Reads framed messages and writes queued ones until error or idle.
async fn run_connection<S: AsyncRead + AsyncWrite + Send + 'static>(
    stream: S,
    key: ConnKey,
    mut out: mpsc::Receiver<Bytes>,
    ctx: ConnCtx,
    kind: TransportKind,
) {
    let ConnCtx {
        conns,
        events,
        limits,
        idle,
        gate,
    } = ctx;
    let (mut rd, mut wr) = tokio::io::split(stream);
    let mut buf = BytesMut::with_capacity(8192);
    let (local, peer) = key;
    let mut lost_framing = false;
    'conn: loop {
        tokio::select! {
            r = rd.read_buf(&mut buf) => {
                match r {
                    Ok(0) | Err(_) => break 'conn,
                    Ok(_) => {}
                }
                loop {
                    match frame_stream(&buf, &limits) {
                        Ok(StreamFrame::KeepAlive(n)) => {
                            let _ = buf.split_to(n);
                        }
                        Ok(StreamFrame::Message(n)) => {
                            let data = buf.split_to(n).freeze();
                            match verdict(&gate, &events, &data, peer) {
                                Verdict::Admit => {
                                    let ev = Event::Packet { local, peer, transport: kind, data };
                                    if !queue(&events, ev).await {
                                        break 'conn;
                                    }
                                }
                                Verdict::Shed { response, .. } => {
                                    if write_flush(&mut wr, &response).await.is_err() {
                                        break 'conn;
                                    }
                                }
                                Verdict::Drop => {}
                            }
                        }
                        Err(FrameError::Incomplete) => break,
                        Err(FrameError::Unframeable { error, head }) => {
                            tracing::debug!(%peer, %error, "tcp framing error: answering, then closing");
                            if let Some(h) = head {
                                let head = buf.split_to(h).freeze();
                                answer_unframeable(&events, &mut out, &mut wr, key, kind, head, error).await;
                            }
                            lost_framing = true;
                            break 'conn;
                        }
                    }
                }
            }
            msg = out.recv() => {
                match msg {
                    Some(b) => {
                        if write_flush(&mut wr, &b).await.is_err() {
                            break 'conn;
                        }
                    }
                    None => break 'conn,
                }
            }
            _ = tokio::time::sleep(idle) => break 'conn,
        }
    }
    conns.remove(&key);
    if lost_framing {
        close_gracefully(rd, wr).await;
    }
}

/// Writes `bytes` and flushes: a TLS stream keeps written records in its
/// buffer until flushed (TCP sends at once either way).
async fn write_flush<W: AsyncWrite>(wr: &mut WriteHalf<W>, bytes: &[u8]) -> std::io::Result<()> {
    wr.write_all(bytes).await?;
    wr.flush().await
}

/// Hands the head of a message that cannot be framed to the engine, waits
/// until the engine has queued its answer (§8.2: `400` naming the fault) on
/// this connection, and writes everything queued so far.
async fn answer_unframeable<W: AsyncWrite>(
    events: &mpsc::Sender<Event>,
    out: &mut mpsc::Receiver<Bytes>,
    wr: &mut WriteHalf<W>,
    (local, peer): ConnKey,
    kind: TransportKind,
    head: Bytes,
    error: ParseError,
) {
    let (answered, queued) = oneshot::channel();
    let ev = Event::Unframeable {
        local,
        peer,
        transport: kind,
        head,
        error,
        answered,
    };
    if events.send(ev).await.is_err() {
        return;
    }
    // Fires after the engine task has queued this input's outputs (or is
    // dropped if it stopped); the wait is bounded either way.
    let _ = tokio::time::timeout(ANSWER_WAIT, queued).await;
    while let Ok(b) = out.try_recv() {
        if write_flush(wr, &b).await.is_err() {
            return;
        }
    }
}

/// Shuts the write side (FIN after the last answer) and reads until the
/// peer closes too, for at most [`CLOSE_LINGER`].
async fn close_gracefully<S: AsyncRead + AsyncWrite>(mut rd: ReadHalf<S>, mut wr: WriteHalf<S>) {
    let _ = wr.shutdown().await;
    let drain = async {
        let mut sink = [0u8; 4096];
        while let Ok(n) = rd.read(&mut sink).await {
            if n == 0 {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(CLOSE_LINGER, drain).await;
}
