//! WebRTC media descriptions (issue 12): what a browser offers and needs in
//! an answer, and what the switch offers a browser, for one audio stream.
//!
//! A WebRTC stream is `UDP/TLS/RTP/SAVPF` (RFC 5764 §8) with ICE
//! credentials (`a=ice-ufrag`, `a=ice-pwd`, RFC 8839 §5.4), a certificate
//! fingerprint (`a=fingerprint`, RFC 8122 §5), a DTLS role (`a=setup`,
//! RFC 4145 §4 and RFC 8842), RTP and RTCP on one port (`a=rtcp-mux`,
//! RFC 5761 §5.1.1; browsers require it) and an identification tag
//! (`a=mid`, RFC 5888) that BUNDLE groups (`a=group:BUNDLE`, RFC 8843).
//!
//! What the switch writes (an ICE-lite agent with one host candidate, its
//! media address, RFC 8445 §2.5; the DTLS server whenever it may choose):
//! - session level: `a=ice-lite` (RFC 8839 §5.3), and `a=group:BUNDLE <mid>`
//!   when the offer bundles (one audio m-line, so the group has one member);
//! - media level: `a=mid` (the offer's), ice-ufrag/pwd, the fingerprint,
//!   `a=setup:passive` in answers (the browser then sends ClientHello,
//!   RFC 5763 §5) or `actpass` in offers, `a=rtcp-mux`, `a=rtcp-rsize` when
//!   offered (RFC 5506), `a=msid` and `a=ssrc ... cname` for the stream the
//!   switch sends (RFC 8830, RFC 5576; browsers then give the page a
//!   MediaStream), one `a=candidate ... typ host` and `a=end-of-candidates`
//!   (RFC 8840 §5.1: a lite agent has all its candidates).
//! - Nothing a browser rejects: no extmap, rtcp-fb or `a=crypto` (RFC 8827
//!   §5.5 forbids SDES with WebRTC).
//!
//! Refused (the stream gets port 0, or 488 if nothing else is usable): a
//! WebRTC offer without ICE credentials, without a fingerprint whose hash
//! the switch knows (sha-256/384/512), without rtcp-mux, or with
//! `a=setup:holdconn`.
//!
//! A re-offer with a new ice-ufrag/ice-pwd restarts ICE (RFC 8839
//! §4.4.1.1.1): the answer carries new credentials of the switch's too
//! ([`LocalWebrtc::restarted`]), the same fingerprint and role.
//!
//! `c=IN IP4 0.0.0.0` with port 9 is the ICE convention for "no default
//! candidate" (RFC 8839 §4.2.1.1): on a WebRTC stream it does not mean hold.

use super::model::{Attribute, Line, Media, Proto, Sdp};

/// The switch's side of one WebRTC leg. Every re-offer and re-answer
/// repeats it (same DTLS association), except that an ICE restart by the
/// browser gives it new ICE credentials ([`LocalWebrtc::restarted`]).
#[derive(Clone, PartialEq, Eq)]
pub struct LocalWebrtc {
    /// `a=ice-ufrag` (RFC 8839 §5.4).
    pub ice_ufrag: String,
    /// `a=ice-pwd`.
    pub ice_pwd: String,
    /// `a=fingerprint` value of the switch's DTLS certificate, e.g. `sha-256 AB:..`.
    pub fingerprint: String,
    /// The SSRC the switch sends with toward this leg (`a=ssrc`).
    pub ssrc: u32,
    /// True when the switch's offers to this leg are WebRTC offers (the leg
    /// is a browser: it registered over WebSocket).
    pub offer: bool,
}

impl LocalWebrtc {
    /// The same side with new ICE credentials, for the answer to an offer
    /// that restarts ICE (RFC 8839 §4.4.1.1.2: the answerer changes its
    /// ufrag and pwd too). They are derived from the current ones with
    /// SHA-256, so this stays a pure function; the password never appears
    /// outside the leg's SDP, like the one it replaces.
    pub fn restarted(&self) -> LocalWebrtc {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        h.update(b"switchboard ice restart\0");
        h.update(self.ice_ufrag.as_bytes());
        h.update(b"\0");
        h.update(self.ice_pwd.as_bytes());
        let ice = crate::webrtc::ice_lite::IceCredentials::from_entropy(h.finalize().into());
        LocalWebrtc {
            ice_ufrag: ice.ufrag,
            ice_pwd: ice.pwd,
            ..self.clone()
        }
    }
}

impl std::fmt::Debug for LocalWebrtc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalWebrtc")
            .field("ice_ufrag", &self.ice_ufrag)
            .field("offer", &self.offer)
            .finish()
    }
}

/// The DTLS role the switch takes on a leg (RFC 5763 §5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DtlsSetup {
    /// We wrote `a=setup:passive` (or the browser answered `active`): the
    /// browser sends ClientHello, the switch is the DTLS server.
    Passive,
    /// We wrote `a=setup:active` (the browser answered `passive`): the
    /// switch sends ClientHello.
    Active,
}

/// What the remote side of a WebRTC leg declared.
#[derive(Clone, PartialEq, Eq)]
pub struct RemoteWebrtc {
    /// Its `a=ice-ufrag`.
    pub ice_ufrag: String,
    /// Its `a=ice-pwd` (checks it sends are signed with *our* password; this
    /// one would sign ours, which a lite agent never sends).
    pub ice_pwd: String,
    /// Its `a=fingerprint` values (RFC 8122 §5: any may match).
    pub fingerprints: Vec<String>,
    /// The role the switch takes.
    pub setup: DtlsSetup,
}

impl std::fmt::Debug for RemoteWebrtc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteWebrtc")
            .field("ice_ufrag", &self.ice_ufrag)
            .field("setup", &self.setup)
            .finish()
    }
}

/// True for the DTLS-SRTP profiles of RFC 5764 §8.
pub fn is_webrtc_proto(p: &Proto) -> bool {
    matches!(p, Proto::UdpTlsRtpSavp | Proto::UdpTlsRtpSavpf)
}

fn other<'a>(attrs: impl Iterator<Item = &'a Attribute>, want: &str) -> Option<Option<&'a str>> {
    attrs.into_iter().find_map(|a| match a {
        Attribute::Other { name, value } if name.eq_ignore_ascii_case(want) => Some(value.as_deref()),
        _ => None,
    })
}

/// An attribute's value at media level, else session level (RFC 8839 §5.4
/// and RFC 8122 §5 allow both).
fn value<'a>(sdp: &'a Sdp, m: &'a Media, name: &str) -> Option<&'a str> {
    other(m.attributes(), name)
        .or_else(|| other(sdp.attributes(), name))
        .flatten()
        .map(str::trim)
}

fn values<'a>(sdp: &'a Sdp, m: &'a Media, name: &'a str) -> Vec<&'a str> {
    let pick = |attrs: Vec<&'a Attribute>| -> Vec<&'a str> {
        attrs
            .into_iter()
            .filter_map(|a| match a {
                Attribute::Other {
                    name: n,
                    value: Some(v),
                } if n.eq_ignore_ascii_case(name) => Some(v.trim()),
                _ => None,
            })
            .collect()
    };
    let media = pick(m.attributes().collect());
    if media.is_empty() {
        pick(sdp.attributes().collect())
    } else {
        media
    }
}

/// True when stream `m` of `sdp` carries a flag attribute such as `rtcp-mux`.
pub(crate) fn has_flag(m: &Media, name: &str) -> bool {
    other(m.attributes(), name).is_some()
}

/// True when the stream uses ICE (its `c=0.0.0.0` is then no hold).
pub(crate) fn uses_ice(sdp: &Sdp, m: &Media) -> bool {
    is_webrtc_proto(&m.proto) || value(sdp, m, "ice-ufrag").is_some()
}

/// The stream's `a=mid`.
pub(crate) fn mid(m: &Media) -> Option<&str> {
    other(m.attributes(), "mid").flatten().map(str::trim)
}

/// True when the session bundles `mid` (RFC 8843 §7).
pub(crate) fn bundles(sdp: &Sdp, mid: &str) -> bool {
    sdp.attributes().any(|a| match a {
        Attribute::Other { name, value: Some(g) } if name == "group" => {
            let mut tokens = g.split_whitespace();
            tokens.next() == Some("BUNDLE") && tokens.any(|t| t == mid)
        }
        _ => false,
    })
}

/// Reads a WebRTC offer's stream `m`; `None` when it lacks what the switch
/// needs (see the module docs).
pub(crate) fn read_offer(sdp: &Sdp, m: &Media) -> Option<RemoteWebrtc> {
    let setup = match value(sdp, m, "setup").map(str::to_ascii_lowercase).as_deref() {
        // RFC 5763 §5: actpass or active from the offerer → we are passive.
        None | Some("actpass") | Some("active") => DtlsSetup::Passive,
        Some("passive") => DtlsSetup::Active,
        _ => return None,
    };
    read_common(sdp, m, setup)
}

/// Reads the answer to a WebRTC offer of ours (we offered `actpass`).
pub(crate) fn read_answer(sdp: &Sdp, m: &Media) -> Option<RemoteWebrtc> {
    let setup = match value(sdp, m, "setup").map(str::to_ascii_lowercase).as_deref() {
        // RFC 8842 §5.3: the answerer picks; active (or none, RFC 4145's
        // default) → we are the server.
        None | Some("active") => DtlsSetup::Passive,
        Some("passive") => DtlsSetup::Active,
        _ => return None,
    };
    read_common(sdp, m, setup)
}

fn read_common(sdp: &Sdp, m: &Media, setup: DtlsSetup) -> Option<RemoteWebrtc> {
    let ice_ufrag = value(sdp, m, "ice-ufrag").filter(|u| !u.is_empty())?.to_owned();
    let ice_pwd = value(sdp, m, "ice-pwd").filter(|p| !p.is_empty())?.to_owned();
    let fingerprints: Vec<String> = values(sdp, m, "fingerprint")
        .into_iter()
        .filter(|f| {
            let hash = f.split_whitespace().next().unwrap_or("").to_ascii_lowercase();
            matches!(hash.as_str(), "sha-256" | "sha-384" | "sha-512")
        })
        .map(str::to_owned)
        .collect();
    if fingerprints.is_empty() || !has_flag(m, "rtcp-mux") {
        return None;
    }
    Some(RemoteWebrtc {
        ice_ufrag,
        ice_pwd,
        fingerprints,
        setup,
    })
}

fn attr(name: &str, value: Option<String>) -> Line {
    Line::Attribute(Attribute::Other {
        name: name.to_owned(),
        value,
    })
}

/// Session-level lines of a description toward a WebRTC leg: `a=ice-lite`
/// and, when `bundle` names a mid, `a=group:BUNDLE <mid>`.
pub(crate) fn session_lines(bundle: Option<&str>) -> Vec<Line> {
    let mut out = vec![attr("ice-lite", None)];
    if let Some(mid) = bundle {
        out.push(attr("group", Some(format!("BUNDLE {mid}"))));
    }
    out
}

/// Media-level lines for our side of a WebRTC stream, in the order
/// browsers write them. `setup` is `passive` in answers, `actpass` in offers.
pub(crate) fn media_lines(
    local: &LocalWebrtc,
    mid: Option<&str>,
    setup: &str,
    rtcp_rsize: bool,
    candidate: std::net::SocketAddr,
) -> Vec<Line> {
    let mut out = Vec::with_capacity(9);
    if let Some(mid) = mid {
        out.push(attr("mid", Some(mid.to_owned())));
    }
    out.push(attr("ice-ufrag", Some(local.ice_ufrag.clone())));
    out.push(attr("ice-pwd", Some(local.ice_pwd.clone())));
    out.push(attr("fingerprint", Some(local.fingerprint.clone())));
    out.push(attr("setup", Some(setup.to_owned())));
    out.push(attr("rtcp-mux", None));
    if rtcp_rsize {
        out.push(attr("rtcp-rsize", None));
    }
    out.push(attr(
        "candidate",
        Some(format!(
            "1 1 udp 2130706431 {} {} typ host",
            candidate.ip(),
            candidate.port()
        )),
    ));
    out.push(attr("end-of-candidates", None));
    out
}

/// The lines naming the stream the switch sends (RFC 8830 `a=msid`,
/// RFC 5576 `a=ssrc`), written after the direction.
pub(crate) fn stream_lines(local: &LocalWebrtc) -> Vec<Line> {
    vec![
        attr("msid", Some("switchboard audio".to_owned())),
        attr("ssrc", Some(format!("{} cname:switchboard", local.ssrc))),
    ]
}
