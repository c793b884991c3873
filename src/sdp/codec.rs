//! Codecs as the switch knows them (RFC 3551 §4.5.14 PCMU/PCMA and §6 static
//! payload types, RFC 7587 §7 Opus, RFC 4733 §2.4.1/§7.1 telephone-event and
//! its events list), resolved from `a=rtpmap` (RFC 8866 §6.6) or from the
//! static payload type numbers 0 and 8 without one.

use std::fmt;
use std::str::FromStr;

use super::model::Rtpmap;

/// A codec named by the preference list of a leg (config names: `PCMU`, `PCMA`, `opus`, `telephone-event`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CodecKind {
    /// G.711 µ-law.
    Pcmu,
    /// G.711 A-law.
    Pcma,
    /// Opus (RFC 7587).
    Opus,
    /// RFC 4733 DTMF events.
    TelephoneEvent,
}

/// A codec name that is not one of [`CodecKind`] (a config error, never a fallback).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown codec `{0}` (expected PCMU, PCMA, opus or telephone-event)")]
pub struct UnknownCodec(pub String);

impl FromStr for CodecKind {
    type Err = UnknownCodec;

    /// Parses a config codec name, case-insensitively.
    fn from_str(s: &str) -> Result<Self, UnknownCodec> {
        let k = if s.eq_ignore_ascii_case("pcmu") {
            CodecKind::Pcmu
        } else if s.eq_ignore_ascii_case("pcma") {
            CodecKind::Pcma
        } else if s.eq_ignore_ascii_case("opus") {
            CodecKind::Opus
        } else if s.eq_ignore_ascii_case("telephone-event") {
            CodecKind::TelephoneEvent
        } else {
            return Err(UnknownCodec(s.to_owned()));
        };
        Ok(k)
    }
}

/// A codec this switch does not handle itself, as its rtpmap names it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct OtherCodec {
    /// The encoding name as written.
    pub name: String,
    /// The RTP clock rate in Hz.
    pub clock_rate: u32,
    /// The channel count (1 when the rtpmap gives none).
    pub channels: u16,
}

/// An RTP payload format's codec (RFC 3551, RFC 7587, RFC 4733).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Codec {
    /// G.711 µ-law, 8 kHz mono (static payload type 0).
    Pcmu,
    /// G.711 A-law, 8 kHz mono (static payload type 8).
    Pcma,
    /// Opus: RTP clock 48 kHz, always signalled with 2 channels (RFC 7587 §7).
    Opus,
    /// RFC 4733 named telephone events at the given clock rate.
    TelephoneEvent {
        /// The RTP clock rate (8000, or 48000 next to Opus).
        clock_rate: u32,
    },
    /// Anything else (G.722, G.729, CN, video codecs...).
    Other(OtherCodec),
}

impl Codec {
    /// The codec an `a=rtpmap` names; names compare case-insensitively (RFC 8866 §6.6).
    pub fn from_rtpmap(encoding: &str, clock_rate: u32, params: Option<&str>) -> Codec {
        let mono = matches!(params, None | Some("1"));
        if encoding.eq_ignore_ascii_case("PCMU") && clock_rate == 8000 && mono {
            Codec::Pcmu
        } else if encoding.eq_ignore_ascii_case("PCMA") && clock_rate == 8000 && mono {
            Codec::Pcma
        } else if encoding.eq_ignore_ascii_case("opus") && clock_rate == 48000 && matches!(params, None | Some("2")) {
            Codec::Opus
        } else if encoding.eq_ignore_ascii_case("telephone-event") && mono {
            Codec::TelephoneEvent { clock_rate }
        } else {
            let channels = params.and_then(|p| p.parse().ok()).unwrap_or(1);
            Codec::Other(OtherCodec {
                name: encoding.to_owned(),
                clock_rate,
                channels,
            })
        }
    }

    /// The codec of a static audio payload type used without rtpmap (RFC 3551 §6, table 4).
    pub fn from_static(pt: u8) -> Option<Codec> {
        let other = |name: &str| {
            Codec::Other(OtherCodec {
                name: name.to_owned(),
                clock_rate: 8000,
                channels: 1,
            })
        };
        Some(match pt {
            0 => Codec::Pcmu,
            3 => other("GSM"),
            4 => other("G723"),
            8 => Codec::Pcma,
            9 => other("G722"),
            13 => other("CN"),
            18 => other("G729"),
            _ => return None,
        })
    }

    /// The static payload type of this codec, if it has one (RFC 3551 §6).
    pub fn static_pt(&self) -> Option<u8> {
        match self {
            Codec::Pcmu => Some(0),
            Codec::Pcma => Some(8),
            _ => None,
        }
    }

    /// The preference-list kind, for the codecs the switch handles.
    pub fn kind(&self) -> Option<CodecKind> {
        match self {
            Codec::Pcmu => Some(CodecKind::Pcmu),
            Codec::Pcma => Some(CodecKind::Pcma),
            Codec::Opus => Some(CodecKind::Opus),
            Codec::TelephoneEvent { .. } => Some(CodecKind::TelephoneEvent),
            Codec::Other(_) => None,
        }
    }

    /// The RTP clock rate in Hz.
    pub fn clock_rate(&self) -> u32 {
        match self {
            Codec::Pcmu | Codec::Pcma => 8000,
            Codec::Opus => 48000,
            Codec::TelephoneEvent { clock_rate } => *clock_rate,
            Codec::Other(o) => o.clock_rate,
        }
    }

    /// The signalled channel count (2 for Opus per RFC 7587 §7, whatever it decodes to).
    pub fn channels(&self) -> u16 {
        match self {
            Codec::Opus => 2,
            Codec::Other(o) => o.channels,
            _ => 1,
        }
    }

    /// The encoding name as this switch writes it.
    pub fn encoding_name(&self) -> &str {
        match self {
            Codec::Pcmu => "PCMU",
            Codec::Pcma => "PCMA",
            Codec::Opus => "opus",
            Codec::TelephoneEvent { .. } => "telephone-event",
            Codec::Other(o) => &o.name,
        }
    }

    /// The `a=rtpmap` this switch writes for payload type `pt`.
    pub fn rtpmap(&self, pt: u8) -> Rtpmap {
        let params = match self.channels() {
            1 => None,
            n => Some(n.to_string()),
        };
        Rtpmap {
            pt,
            encoding: self.encoding_name().to_owned(),
            clock_rate: self.clock_rate(),
            params,
        }
    }
}

/// One payload format of an `m=` line resolved to its codec (RFC 8866 §5.14, §6.6, §6.15).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PayloadFormat {
    /// The payload type number.
    pub pt: u8,
    /// The codec.
    pub codec: Codec,
    /// The `a=fmtp` parameters, verbatim.
    pub fmtp: Option<String>,
}

/// A set of RFC 4733 event codes 0–255, as in `a=fmtp:101 0-15,66` (RFC 4733 §7.1.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct EventSet([u64; 4]);

impl EventSet {
    /// The DTMF digits 0–9, `*`, `#`, A–D: events 0–15, the default when no fmtp is given (RFC 4733 §7.1.1).
    pub const DTMF: EventSet = EventSet([0xffff, 0, 0, 0]);

    /// The empty set.
    pub const fn empty() -> Self {
        EventSet([0; 4])
    }

    /// Adds one event code.
    pub fn insert(&mut self, ev: u8) {
        self.0[usize::from(ev / 64)] |= 1u64 << (ev % 64);
    }

    /// True if the set holds `ev`.
    pub fn contains(&self, ev: u8) -> bool {
        self.0[usize::from(ev / 64)] & (1u64 << (ev % 64)) != 0
    }

    /// True if no event is in the set.
    pub fn is_empty(&self) -> bool {
        self.0 == [0; 4]
    }

    /// The events in both sets.
    pub fn intersect(&self, other: &EventSet) -> EventSet {
        let mut out = *self;
        for (a, b) in out.0.iter_mut().zip(other.0) {
            *a &= b;
        }
        out
    }

    /// Parses an events list such as `0-15,66,70` (RFC 4733 §7.1.1); `None` if malformed.
    pub fn parse(s: &str) -> Option<EventSet> {
        let mut set = EventSet::empty();
        for item in s.split(',') {
            let item = item.trim();
            let (lo, hi) = match item.split_once('-') {
                Some((a, b)) => (a.trim().parse::<u8>().ok()?, b.trim().parse::<u8>().ok()?),
                None => {
                    let n = item.parse::<u8>().ok()?;
                    (n, n)
                }
            };
            if lo > hi {
                return None;
            }
            for ev in lo..=hi {
                set.insert(ev);
            }
        }
        Some(set)
    }
}

impl fmt::Display for EventSet {
    /// Prints ranges, e.g. `0-15,66`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        let mut ev: u16 = 0;
        while ev < 256 {
            if !self.contains(ev as u8) {
                ev += 1;
                continue;
            }
            let start = ev;
            while ev + 1 < 256 && self.contains((ev + 1) as u8) {
                ev += 1;
            }
            if !first {
                f.write_str(",")?;
            }
            first = false;
            if start == ev {
                write!(f, "{start}")?;
            } else {
                write!(f, "{start}-{ev}")?;
            }
            ev += 1;
        }
        Ok(())
    }
}
