//! Offer/answer for one leg of the B2BUA (RFC 3264): pure functions over a
//! per-leg [`SessionState`]. The switch anchors media, so every description it
//! sends carries its own address and port (`c=`/`m=` rewritten per leg) and
//! its own `o=` identity.
//!
//! - [`answer`]: RFC 3264 §6 — one answered `m=` line per offered one, in
//!   order; the first usable audio stream gets one codec from the leg's
//!   preference list plus telephone-event (RFC 4733 §7.1.1), under the
//!   offerer's payload type numbers (§6.1); every other stream gets port 0
//!   (§6); the direction is answered per §6.1 and `ptime`/`maxptime` are kept.
//!   No usable audio gives a [`Rejection`]: a 488 with a Warning
//!   (RFC 3261 §21.4.26, §20.43).
//! - [`offer`]: RFC 3264 §5 for the first offer, §8 for re-offers (same `o=`
//!   id, version +1 when the description changes, the same `m=` lines in the
//!   same order), including hold (§8.4: `sendonly`/`inactive`) and resume.
//! - [`accept_answer`]: RFC 3264 §7 — the answer must mirror our `m=` lines
//!   and use only formats we offered, with a direction our offer allows.
//! - [`direction_of`]: hold detection, including RFC 2543's `c=0.0.0.0` (§8.4).
//!
//! One audio stream per leg: further audio streams are refused with port 0.
//! SRTP (SDES, RFC 4568) follows the leg's [`LocalSrtp`] policy kept in its
//! [`SessionState`]: see [`super::sdes`] for what is offered and accepted;
//! DTLS-SRTP (`UDP/TLS/RTP/SAVPF`, WebRTC) is answered and offered when the
//! leg has [`LocalWebrtc`] credentials (see [`super::webrtc`]); otherwise
//! it is refused with port 0.

use std::net::{IpAddr, SocketAddr};

use super::codec::{Codec, CodecKind, EventSet, PayloadFormat};
use super::model::{
    AddrType, Attribute, Connection, Direction, Fmt, Fmtp, Line, LineEnding, Media, MediaKind, Origin, Proto, Sdp,
};
use super::sdes::{LocalSrtp, SdesCrypto, SrtpPolicy};
use super::webrtc::{self, DtlsSetup, LocalWebrtc, RemoteWebrtc};
use crate::rtp::srtp::{SrtpKeys, SrtpSuite};

/// Opus parameters toward a browser (RFC 7587 §6.1): 10 ms minimum
/// packets, in-band FEC and DTX, as the issue asks.
const WEBRTC_OPUS_FMTP: &str = "minptime=10;useinbandfec=1;usedtx=1";

/// The `a=mid` of the one audio stream the switch offers a browser.
const WEBRTC_MID: &str = "0";

/// What one leg accepts and offers (built from config once; see [`CodecKind`]'s `FromStr`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LegPolicy {
    /// Codecs in preference order; include [`CodecKind::TelephoneEvent`] to negotiate DTMF events.
    pub codecs: Vec<CodecKind>,
    /// The RFC 4733 events we accept and offer.
    pub dtmf_events: EventSet,
    /// `a=ptime` in our offers (ms), if any.
    pub ptime: Option<u32>,
    /// Dynamic payload type for Opus in our offers (96–127).
    pub opus_pt: u8,
    /// Dynamic payload type for telephone-event (8 kHz) in our offers (96–127).
    pub telephone_event_pt: u8,
    /// Dynamic payload type for telephone-event at 48 kHz, offered beside
    /// Opus so an Opus leg's events share its RTP clock (RFC 4733 §2.1,
    /// RFC 7160 §4.1).
    pub telephone_event_48k_pt: u8,
    /// `a=fmtp` for Opus in our offers and answers, e.g. `useinbandfec=1`.
    pub opus_fmtp: Option<String>,
    /// The `o=` user name.
    pub username: String,
    /// The `s=` value.
    pub session_name: String,
}

impl Default for LegPolicy {
    /// PCMU, PCMA, Opus, telephone-event 0–15; ptime 20; Opus on 111, events
    /// on 101 (8 kHz) and 110 (48 kHz, with Opus).
    fn default() -> Self {
        LegPolicy {
            codecs: vec![
                CodecKind::Pcmu,
                CodecKind::Pcma,
                CodecKind::Opus,
                CodecKind::TelephoneEvent,
            ],
            dtmf_events: EventSet::DTMF,
            ptime: Some(20),
            opus_pt: 111,
            telephone_event_pt: 101,
            telephone_event_48k_pt: 110,
            opus_fmtp: Some("useinbandfec=1".to_owned()),
            username: "switchboard".to_owned(),
            session_name: "switchboard".to_owned(),
        }
    }
}

/// Why an offer cannot be accepted: the engine answers 488 Not Acceptable Here
/// with [`Rejection::warning`] as the Warning header (RFC 3264 §6, RFC 3261 §20.43).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    /// No audio stream with a non-zero port (Warning 304).
    #[error("no audio stream offered")]
    NoAudio,
    /// Audio offered only over a profile we do not relay, such as RTP/SAVP (Warning 302).
    #[error("audio offered only over an unsupported transport profile")]
    IncompatibleTransport,
    /// Audio offered, but no codec of the leg's preference list (Warning 305).
    #[error("no common audio codec")]
    NoCommonCodec,
    /// The profile requires SRTP (`srtp = "mandatory"`) and the offer has no
    /// usable `a=crypto` (Warning 302).
    #[error("the profile requires SRTP and the offer has no usable a=crypto key")]
    SrtpRequired,
    /// `RTP/SAVP` offered with no `a=crypto` line the switch can use (RFC
    /// 4568 §7.1.2: the stream is refused) (Warning 302).
    #[error("RTP/SAVP offered with no usable a=crypto key (suites AES_CM_128_HMAC_SHA1_80/_32, no MKI)")]
    NoUsableCrypto,
}

impl Rejection {
    /// The response status: 488 Not Acceptable Here (RFC 3261 §21.4.26).
    pub fn status(&self) -> u16 {
        488
    }

    /// The warn-code (RFC 3261 §20.43).
    pub fn warn_code(&self) -> u16 {
        match self {
            Rejection::NoAudio => 304,
            Rejection::IncompatibleTransport | Rejection::SrtpRequired | Rejection::NoUsableCrypto => 302,
            Rejection::NoCommonCodec => 305,
        }
    }

    /// The warn-text RFC 3261 §20.43 gives for the code.
    pub fn warn_text(&self) -> &'static str {
        match self {
            Rejection::NoAudio => "Media type not available",
            Rejection::IncompatibleTransport | Rejection::SrtpRequired | Rejection::NoUsableCrypto => {
                "Incompatible transport protocol"
            }
            Rejection::NoCommonCodec => "Incompatible media format",
        }
    }

    /// The Warning header value, e.g. `304 switchboard "Media type not available"`.
    pub fn warning(&self, agent: &str) -> String {
        format!("{} {} \"{}\"", self.warn_code(), agent, self.warn_text())
    }
}

/// Why an answer to our offer is invalid (RFC 3264 §6, §7).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AnswerError {
    /// No offer of ours is waiting for an answer.
    #[error("no offer is pending")]
    NoPendingOffer,
    /// The answer does not have one `m=` line per offered one (§6).
    #[error("answer has {answered} m= lines, offer had {offered}")]
    MediaCount {
        /// Offered count.
        offered: usize,
        /// Answered count.
        answered: usize,
    },
    /// An answered `m=` line has another media type than the offered one (§6).
    #[error("m= line {index} changes media type")]
    MediaKind {
        /// 0-based m= line index.
        index: usize,
    },
    /// A stream we offered with port 0 was answered with a port (§6).
    #[error("m= line {index} was disabled in the offer")]
    StreamWasDisabled {
        /// 0-based m= line index.
        index: usize,
    },
    /// The answer uses a format we did not offer (§6.1).
    #[error("m= line {index} answers payload type {pt}, which was not offered")]
    UnofferedFormat {
        /// 0-based m= line index.
        index: usize,
        /// The payload type.
        pt: u8,
    },
    /// The audio stream was rejected (port 0) (§6).
    #[error("the audio stream was rejected")]
    AudioRejected,
    /// The answer holds no codec the switch handles.
    #[error("no usable audio codec in the answer")]
    NoCommonCodec,
    /// Our offer was `RTP/SAVP` (`srtp = "mandatory"`) and the answer has no
    /// `a=crypto` line matching one we offered (RFC 4568 §7.1.2).
    #[error("the answer has no a=crypto key matching the offer, and SRTP is mandatory")]
    NoCrypto,
    /// Our WebRTC offer was answered without ICE credentials, a usable
    /// fingerprint or rtcp-mux (RFC 8839 §5.4, RFC 8122 §5, RFC 5761).
    #[error("the answer to a WebRTC offer lacks ICE credentials, a usable fingerprint or rtcp-mux")]
    WebrtcIncomplete,
    /// The answered direction is not allowed by the offered one (§6.1).
    #[error("answered direction {answered:?} does not fit offered {offered:?}")]
    Direction {
        /// Our offered direction.
        offered: Direction,
        /// Their answered direction.
        answered: Direction,
    },
}

/// Negotiated telephone-events (RFC 4733) on a leg.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TelephoneEvents {
    /// Payload type we send events with (the number in the remote description).
    pub send_pt: u8,
    /// Payload type we receive events with (the number in our description).
    pub recv_pt: u8,
    /// The RTP clock rate.
    pub clock_rate: u32,
    /// Events both sides accept.
    pub events: EventSet,
}

/// The outcome of an offer/answer exchange on a leg, for the media plane.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Negotiated {
    /// 0-based index of the audio `m=` line.
    pub media_index: usize,
    /// The audio codec.
    pub codec: Codec,
    /// Payload type we send with (the remote's number: each side receives with the numbers of its own SDP, §6.1).
    pub send_pt: u8,
    /// Payload type we receive with (the number in our SDP).
    pub recv_pt: u8,
    /// Telephone-events, if negotiated.
    pub telephone_event: Option<TelephoneEvents>,
    /// The packet time the remote asked for (ms), if any.
    pub ptime: Option<u32>,
    /// Our direction on this leg (whether we send and/or receive).
    pub direction: Direction,
    /// Where to send RTP (`None` for `0.0.0.0` or a host name).
    pub remote_rtp: Option<SocketAddr>,
    /// Where to send RTCP: `a=rtcp` (RFC 3605), else RTP port + 1.
    pub remote_rtcp: Option<SocketAddr>,
    /// The SRTP keys agreed (RFC 4568), `None` for plain RTP and for
    /// WebRTC (whose keys come from DTLS).
    pub srtp: Option<SrtpKeys>,
    /// What the remote declared for a WebRTC stream (ICE, fingerprints, our
    /// DTLS role); `None` for plain RTP and SDES.
    pub webrtc: Option<RemoteWebrtc>,
}

/// An answer to a remote offer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// Our answer SDP.
    pub sdp: Sdp,
    /// What was agreed.
    pub negotiated: Negotiated,
    /// True when the offer repeats the remote's previous `o=` version, so the
    /// session is unchanged (RFC 3264 §8).
    pub unchanged: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct PendingOffer {
    sdp: Sdp,
    audio_index: usize,
    direction: Direction,
    previous_direction: Direction,
}

/// Our side of one leg's SDP session: the `o=` identity and version, the last
/// description we sent, our wanted direction (hold), an outstanding offer and
/// the negotiated media (RFC 3264 §5, §8).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionState {
    session_id: u64,
    version: u64,
    last_sent: Option<Sdp>,
    local_direction: Direction,
    pending: Option<PendingOffer>,
    remote_origin: Option<(String, u64)>,
    negotiated: Option<Negotiated>,
    srtp: LocalSrtp,
    webrtc: Option<LocalWebrtc>,
}

impl SessionState {
    /// A fresh leg session; `session_id` comes from the caller's seeded generator (no clock here).
    pub fn new(session_id: u64) -> Self {
        SessionState {
            session_id,
            version: 0,
            last_sent: None,
            local_direction: Direction::SendRecv,
            pending: None,
            remote_origin: None,
            negotiated: None,
            srtp: LocalSrtp::default(),
            webrtc: None,
        }
    }

    /// The switch's ICE credentials, fingerprint and SSRC for the leg: with
    /// them it answers WebRTC offers, and offers WebRTC when
    /// [`LocalWebrtc::offer`] is set.
    pub fn with_webrtc(mut self, webrtc: LocalWebrtc) -> Self {
        self.webrtc = Some(webrtc);
        self
    }

    /// The leg's WebRTC side, if it has one.
    pub fn webrtc(&self) -> Option<&LocalWebrtc> {
        self.webrtc.as_ref()
    }

    /// The leg's SRTP policy and the switch's key for it (plain RTP unless set).
    pub fn with_srtp(mut self, srtp: LocalSrtp) -> Self {
        self.srtp = srtp;
        self
    }

    /// The leg's SRTP policy and key.
    pub fn srtp(&self) -> &LocalSrtp {
        &self.srtp
    }

    /// Our `o=` session id.
    pub fn session_id(&self) -> u64 {
        self.session_id
    }

    /// The `o=` version of the last description we sent (0 before the first).
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The last description we sent.
    pub fn last_sent(&self) -> Option<&Sdp> {
        self.last_sent.as_ref()
    }

    /// Our wanted direction: `SendRecv`, or `SendOnly`/`Inactive` while we hold the leg.
    pub fn local_direction(&self) -> Direction {
        self.local_direction
    }

    /// Our offer awaiting an answer, if any.
    pub fn pending_offer(&self) -> Option<&Sdp> {
        self.pending.as_ref().map(|p| &p.sdp)
    }

    /// The media agreed by the last completed exchange.
    pub fn negotiated(&self) -> Option<&Negotiated> {
        self.negotiated.as_ref()
    }

    /// Drops our pending offer after it was rejected or glared (RFC 3264 §8: the old session stays).
    pub fn cancel_offer(&mut self) {
        if let Some(p) = self.pending.take() {
            self.local_direction = p.previous_direction;
        }
    }

    /// Offers the last description we sent again, unchanged and with the
    /// same `o=` version (RFC 3264 §8: "no change"), as a session refresh
    /// does (RFC 4028 §10). `None` before a completed exchange or while
    /// another offer is pending. The offer stays pending until
    /// [`accept_answer`] or [`SessionState::cancel_offer`].
    pub fn repeat_offer(&mut self) -> Option<Sdp> {
        if self.pending.is_some() {
            return None;
        }
        let sdp = self.last_sent.clone()?;
        let audio_index = self.negotiated.as_ref()?.media_index;
        if audio_index >= sdp.media.len() {
            return None;
        }
        let direction = sdp.media_direction(audio_index);
        self.pending = Some(PendingOffer {
            sdp: sdp.clone(),
            audio_index,
            direction,
            previous_direction: self.local_direction,
        });
        Some(sdp)
    }

    /// Stamps `sdp` with our `o=` version: unchanged content keeps the version, anything else bumps it (§8).
    fn emit(&mut self, mut sdp: Sdp) -> Sdp {
        sdp.origin.session_version = self.version;
        if self.last_sent.as_ref() != Some(&sdp) {
            self.version += 1;
            sdp.origin.session_version = self.version;
            self.last_sent = Some(sdp.clone());
        }
        sdp
    }
}

fn skeleton(policy: &LegPolicy, state: &SessionState, ip: IpAddr) -> Sdp {
    Sdp {
        origin: Origin {
            username: policy.username.clone(),
            session_id: state.session_id.to_string(),
            session_version: state.version,
            addr_type: AddrType::of(ip),
            address: ip.to_string(),
        },
        session_name: policy.session_name.clone(),
        lines: vec![
            Line::Connection(Connection::ip(ip)),
            Line::Other {
                kind: 't',
                value: "0 0".to_owned(),
            },
        ],
        media: Vec::with_capacity(1),
        line_ending: LineEnding::Crlf,
    }
}

/// A stream refused or disabled: port 0, same media type, protocol and formats, no attributes (§6, §8.2).
fn disabled(m: &Media) -> Media {
    Media {
        kind: m.kind.clone(),
        port: 0,
        port_count: None,
        proto: m.proto.clone(),
        formats: m.formats.clone(),
        lines: Vec::new(),
    }
}

fn push_format(m: &mut Media, pt: u8, codec: &Codec, fmtp: Option<String>) {
    m.formats.push(Fmt::Pt(pt));
    m.lines.push(Line::Attribute(Attribute::Rtpmap(codec.rtpmap(pt))));
    if let Some(params) = fmtp {
        m.lines.push(Line::Attribute(Attribute::Fmtp(Fmtp {
            format: pt.to_string(),
            params,
        })));
    }
}

fn audio_media(port: u16, proto: Proto) -> Media {
    Media {
        kind: MediaKind::Audio,
        port,
        port_count: None,
        proto,
        formats: Vec::new(),
        lines: Vec::with_capacity(8),
    }
}

/// The effective direction of stream `index` of a remote description, with
/// `c=0.0.0.0` meaning "do not send to me" (RFC 3264 §6.1, §8.4).
fn remote_direction(sdp: &Sdp, index: usize) -> Direction {
    let d = sdp.media_direction(index);
    let ice = sdp.media.get(index).is_some_and(|m| webrtc::uses_ice(sdp, m));
    match sdp.media_connection(index) {
        // With ICE, 0.0.0.0 means "no default candidate", not hold (RFC 8839 §4.2.1.1).
        Some(c) if c.is_unspecified() && !ice => Direction::from_flags(d.sends(), false),
        _ => d,
    }
}

fn remote_addrs(sdp: &Sdp, index: usize) -> (Option<SocketAddr>, Option<SocketAddr>) {
    let Some(m) = sdp.media.get(index) else {
        return (None, None);
    };
    let ip = sdp
        .media_connection(index)
        .and_then(Connection::ip_addr)
        .filter(|ip| !ip.is_unspecified());
    let Some(ip) = ip else { return (None, None) };
    if webrtc::has_flag(m, "rtcp-mux") && webrtc::is_webrtc_proto(&m.proto) {
        let rtp = SocketAddr::new(ip, m.port);
        return (Some(rtp), Some(rtp));
    }
    let rtcp = match m.rtcp() {
        Some(r) => {
            let rip = r.connection.as_ref().and_then(Connection::ip_addr).unwrap_or(ip);
            Some(SocketAddr::new(rip, r.port))
        }
        None => m.port.checked_add(1).map(|p| SocketAddr::new(ip, p)),
    };
    (Some(SocketAddr::new(ip, m.port)), rtcp)
}

/// The hold state a description asks for: the direction of its first active
/// audio stream, `c=0.0.0.0` counting as not receiving (RFC 3264 §8.4);
/// `Inactive` when no audio stream is active. `SendOnly` or `Inactive` from
/// the remote means it holds the call.
pub fn direction_of(sdp: &Sdp) -> Direction {
    sdp.media
        .iter()
        .position(|m| m.kind == MediaKind::Audio && m.port != 0)
        .map_or(Direction::Inactive, |i| remote_direction(sdp, i))
}

/// True if the description puts the call on hold: its audio does not want to receive (RFC 3264 §8.4).
pub fn is_hold(sdp: &Sdp) -> bool {
    !direction_of(sdp).receives()
}

fn offered_events(fmtp: Option<&str>) -> EventSet {
    // No fmtp means events 0-15 (RFC 4733 §7.1.1); a malformed list too.
    fmtp.and_then(EventSet::parse).unwrap_or(EventSet::DTMF)
}

struct Choice {
    codec: PayloadFormat,
    te: Option<(PayloadFormat, EventSet)>,
}

/// The leg's codecs in preference order; a WebRTC leg puts Opus first when
/// the leg allows it (a browser's wideband codec with FEC; the switch
/// transcodes toward G.711 legs).
fn preference(policy: &LegPolicy, webrtc: bool) -> Vec<CodecKind> {
    let mut kinds = policy.codecs.clone();
    if webrtc {
        kinds.sort_by_key(|k| *k != CodecKind::Opus);
    }
    kinds
}

fn choose(m: &Media, policy: &LegPolicy, webrtc: bool) -> Option<Choice> {
    let formats = m.payload_formats();
    let codec = preference(policy, webrtc)
        .iter()
        .filter(|k| **k != CodecKind::TelephoneEvent)
        .find_map(|k| formats.iter().find(|f| f.codec.kind() == Some(*k)))?
        .clone();
    let te = if policy.codecs.contains(&CodecKind::TelephoneEvent) {
        let is_te = |f: &&PayloadFormat| matches!(f.codec, Codec::TelephoneEvent { .. });
        let rate = codec.codec.clock_rate();
        formats
            .iter()
            .filter(is_te)
            .find(|f| f.codec.clock_rate() == rate)
            .or_else(|| formats.iter().find(is_te))
            .and_then(|f| {
                let ev = offered_events(f.fmtp.as_deref()).intersect(&policy.dtmf_events);
                (!ev.is_empty()).then(|| (f.clone(), ev))
            })
    } else {
        None
    };
    Some(Choice { codec, te })
}

mod answer;
mod offer;

pub use answer::answer;
pub use offer::{accept_answer, offer};
