//! DTMF as RTP telephone-events (RFC 4733 §2.3 payload format, §2.5
//! sender and receiver rules, §3.2 DTMF event codes 0–15).
//!
//! A key press is one *event*: every packet of it carries the same RTP
//! timestamp (the event's start), the first has the marker bit, updates
//! carry the growing duration, and the end is sent three times with the E
//! bit (§2.5.1.4) so one loss does not lose it. [`DtmfDetector`] turns that
//! packet stream into one [`DtmfEvent::Start`] and one [`DtmfEvent::End`] per
//! key press, ignoring the redundant ends and late packets; it also ends an
//! event whose end packets were all lost when the next event or audio comes.
//! [`EventPackets`] generates the packets for a digit the switch sends.
//!
//! Passing telephone-events between legs whose SDP gave them different
//! payload type numbers is the rewriter's job (a [`super::PayloadTypeMap`]
//! entry such as 101 → 96); the payload is unchanged unless the legs' clock
//! rates differ ([`TelephoneEvent::rescaled`]).

use std::collections::VecDeque;

use super::RtpError;

/// Length of a telephone-event payload block (RFC 4733 §2.3).
pub const EVENT_LEN: usize = 4;

/// One telephone-event payload (RFC 4733 §2.3).
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// |     event     |E|R| volume    |          duration             |
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TelephoneEvent {
    /// The event code (§3.2: 0–9, 10 = `*`, 11 = `#`, 12–15 = A–D).
    pub event: u8,
    /// The E bit: this packet ends the event.
    pub end: bool,
    /// Power level in −dBm0, 0–63 (larger is quieter).
    pub volume: u8,
    /// Duration so far, in timestamp units.
    pub duration: u16,
}

impl TelephoneEvent {
    /// Parses the first 4 octets of `payload` (any further blocks, e.g.
    /// RFC 2198 redundancy, are ignored).
    ///
    /// # Errors
    /// [`RtpError::EventTooShort`].
    pub fn parse(payload: &[u8]) -> Result<Self, RtpError> {
        match payload {
            [event, flags, d0, d1, ..] => Ok(TelephoneEvent {
                event: *event,
                end: flags & 0x80 != 0,
                volume: flags & 0x3f,
                duration: u16::from_be_bytes([*d0, *d1]),
            }),
            _ => Err(RtpError::EventTooShort { len: payload.len() }),
        }
    }

    /// The 4-octet wire form (R bit zero, volume masked to 6 bits).
    pub fn to_bytes(&self) -> [u8; EVENT_LEN] {
        let d = self.duration.to_be_bytes();
        [
            self.event,
            (self.volume & 0x3f) | if self.end { 0x80 } else { 0 },
            d[0],
            d[1],
        ]
    }

    /// Writes the payload into `out`, returning 4.
    ///
    /// # Errors
    /// [`RtpError::BufferTooSmall`].
    pub fn write(&self, out: &mut [u8]) -> Result<usize, RtpError> {
        let len = out.len();
        let dst = out
            .get_mut(..EVENT_LEN)
            .ok_or(RtpError::BufferTooSmall { len, needed: EVENT_LEN })?;
        dst.copy_from_slice(&self.to_bytes());
        Ok(EVENT_LEN)
    }

    /// The same event with its duration converted between clock rates (a
    /// leg at 8 kHz and one at 48 kHz, RFC 4733 §2.1), saturating.
    pub fn rescaled(&self, from_rate: u32, to_rate: u32) -> Self {
        let d = self.duration as u64 * to_rate as u64 / from_rate.max(1) as u64;
        TelephoneEvent {
            duration: d.min(u16::MAX as u64) as u16,
            ..*self
        }
    }

    /// The DTMF character of this event, if it is one (§3.2).
    pub fn digit(&self) -> Option<char> {
        event_to_digit(self.event)
    }
}

/// The DTMF character for an event code 0–15 (RFC 4733 §3.2).
pub fn event_to_digit(event: u8) -> Option<char> {
    const DIGITS: &[u8; 16] = b"0123456789*#ABCD";
    DIGITS.get(event as usize).map(|&c| c as char)
}

/// The event code for a DTMF character (`0`–`9`, `*`, `#`, `A`–`D`, case-insensitive).
pub fn digit_to_event(digit: char) -> Option<u8> {
    match digit.to_ascii_uppercase() {
        c @ '0'..='9' => Some(c as u8 - b'0'),
        '*' => Some(10),
        '#' => Some(11),
        c @ 'A'..='D' => Some(c as u8 - b'A' + 12),
        _ => None,
    }
}

/// A key press seen by the [`DtmfDetector`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DtmfEvent {
    /// An event began.
    Start {
        /// The event code.
        event: u8,
        /// The event's RTP timestamp (its start).
        timestamp: u32,
    },
    /// An event ended.
    End {
        /// The event code.
        event: u8,
        /// The event's RTP timestamp (its start).
        timestamp: u32,
        /// Its duration in timestamp units (the last one seen, if the end was lost).
        duration: u16,
        /// Its volume, −dBm0.
        volume: u8,
        /// `false` if no E-bit packet arrived and the end was inferred.
        confirmed: bool,
    },
}

#[derive(Clone, Copy, Debug)]
struct Active {
    timestamp: u32,
    event: u8,
    duration: u16,
    volume: u8,
}

/// Turns the telephone-event packets of one incoming stream into key presses
/// (RFC 4733 §2.5.2): `handle_packet` for each, then drain `poll_event`.
#[derive(Clone, Debug, Default)]
pub struct DtmfDetector {
    active: Option<Active>,
    /// Timestamp of the last event ended; its packets are ignored from then on.
    last_ended: Option<u32>,
    events: VecDeque<DtmfEvent>,
}

/// `a` is at or before `b` in RTP timestamp (serial) order.
fn ts_not_after(a: u32, b: u32) -> bool {
    (b.wrapping_sub(a) as i32) >= 0
}

impl DtmfDetector {
    /// A detector with no event in progress.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds one telephone-event packet: its RTP `timestamp` and payload.
    ///
    /// # Errors
    /// [`RtpError::EventTooShort`]; the detector is unchanged.
    pub fn handle_packet(&mut self, timestamp: u32, payload: &[u8]) -> Result<(), RtpError> {
        let ev = TelephoneEvent::parse(payload)?;
        if self.last_ended.is_some_and(|ended| ts_not_after(timestamp, ended)) {
            // Redundant end packet, or a late packet of a finished event.
            return Ok(());
        }
        match self.active {
            Some(a) if a.timestamp == timestamp => {
                let a = Active {
                    duration: a.duration.max(ev.duration),
                    volume: ev.volume,
                    ..a
                };
                self.active = Some(a);
                if ev.end {
                    self.finish(a, true);
                }
                return Ok(());
            }
            Some(a) if ts_not_after(timestamp, a.timestamp) => return Ok(()), // late, older event
            Some(a) => self.finish(a, false),                                 // the previous event's ends were all lost
            None => {}
        }
        let a = Active {
            timestamp,
            event: ev.event,
            duration: ev.duration,
            volume: ev.volume,
        };
        self.events.push_back(DtmfEvent::Start {
            event: ev.event,
            timestamp,
        });
        self.active = Some(a);
        if ev.end {
            self.finish(a, true);
        }
        Ok(())
    }

    /// Feeds the timestamp of an audio packet of the same stream: audio past
    /// the event's end means the event is over even if its ends were lost.
    pub fn handle_audio(&mut self, timestamp: u32) {
        if let Some(a) = self.active {
            if !ts_not_after(timestamp, a.timestamp.wrapping_add(a.duration as u32)) {
                self.finish(a, false);
            }
        }
    }

    /// The next detected event.
    pub fn poll_event(&mut self) -> Option<DtmfEvent> {
        self.events.pop_front()
    }

    fn finish(&mut self, a: Active, confirmed: bool) {
        self.events.push_back(DtmfEvent::End {
            event: a.event,
            timestamp: a.timestamp,
            duration: a.duration,
            volume: a.volume,
            confirmed,
        });
        self.active = None;
        self.last_ended = Some(a.timestamp);
    }
}

/// The telephone-event packets for one event the switch sends (RFC 4733
/// §2.5.1): an update every `step` timestamp units until `duration`, then
/// three end packets. Yields `(marker, payload)`; all share the event's RTP
/// timestamp, and each needs its own sequence number.
#[derive(Clone, Debug)]
pub struct EventPackets {
    event: u8,
    volume: u8,
    total: u16,
    step: u16,
    sent: u16,
    ends_left: u8,
}

impl EventPackets {
    /// Packets for `event` at `volume` lasting `duration` units, updated every `step`.
    pub fn new(event: u8, volume: u8, duration: u16, step: u16) -> Self {
        EventPackets {
            event,
            volume,
            total: duration,
            step: step.max(1),
            sent: 0,
            ends_left: 3,
        }
    }
}

impl Iterator for EventPackets {
    type Item = (bool, TelephoneEvent);

    fn next(&mut self) -> Option<Self::Item> {
        let first = self.sent == 0 && self.ends_left == 3;
        if self.sent < self.total {
            self.sent = self.sent.saturating_add(self.step).min(self.total);
            if self.sent < self.total {
                let ev = TelephoneEvent {
                    event: self.event,
                    end: false,
                    volume: self.volume,
                    duration: self.sent,
                };
                return Some((first, ev));
            }
        }
        if self.ends_left == 0 {
            return None;
        }
        self.ends_left -= 1;
        let ev = TelephoneEvent {
            event: self.event,
            end: true,
            volume: self.volume,
            duration: self.total,
        };
        Some((first, ev))
    }
}
