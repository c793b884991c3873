//! Fuzzing entry points of the RTP layer (DESIGN.md convention 8), one per
//! parser of outside bytes: RTP packets (RFC 3550 §5.1, §5.3.1 extension, P
//! bit padding), RTCP datagrams, compound or not (RFC 3550 §6.1, §6.4.1 SR,
//! §6.4.2 RR), and RFC 4733 §2.3 telephone-event payloads.
//!
//! Each entry point checks, besides "never panics", the invariants the
//! parser promises where they are cheap: layout bounds, setter/getter and
//! print/parse round trips, agreement between the fast-path header parser
//! and `rtc-rtp`, and that the state machines fed by the parsers (stream
//! rewriter, reception statistics, jitter buffer, DTMF detector) keep
//! theirs. Pure like the rest of `rtp`: the caller passes the base
//! [`Instant`] (the fuzz target reads the clock once per input); only
//! differences from it matter, so a crash replays the same.
//!
//! Stream inputs are a selector octet followed by records `gap, len,
//! bytes[len]` (`gap` in milliseconds, `len` clamped to what is left), so
//! one input is a short packet sequence; see `fuzz/README.md`.

use std::time::{Duration, Instant};

use rtc_shared::marshal::MarshalSize;

use super::dtmf::{digit_to_event, event_to_digit, DtmfDetector, DtmfEvent, EventPackets, TelephoneEvent, EVENT_LEN};
use super::jitter::{Insert, JitterBuffer, JitterConfig, Pull, TargetDelay};
use super::packet::{is_rtcp, to_rtc, write_packet, write_rtc, RtpFields, RtpHeader, RtpView, FIXED_HEADER_LEN};
use super::rewrite::{PayloadTypeMap, RewriterConfig, StreamRewriter};
use super::rtcp::{
    build_receiver_report, build_sender_report, ntp_from_unix, parse_reports, round_trip_time, ReceiverStats,
    RtcpReport, SenderInfo,
};

/// Packets of one stream input, at most (keeps an execution short).
const MAX_RECORDS: usize = 48;
/// Telephone-event payload type of the stream inputs (a common SDP choice).
const EVENT_PT: u8 = 101;

/// Splits a stream input into its selector and `(gap, packet)` records
/// (see the module docs).
pub fn records(data: &[u8]) -> (u8, Vec<(Duration, &[u8])>) {
    let Some((&selector, mut rest)) = data.split_first() else {
        return (0, Vec::new());
    };
    let mut out = Vec::new();
    while let [gap, len, tail @ ..] = rest {
        if out.len() == MAX_RECORDS {
            break;
        }
        let n = (*len as usize).min(tail.len());
        let (packet, next) = tail.split_at(n);
        out.push((Duration::from_millis(u64::from(*gap)), packet));
        rest = next;
    }
    (selector, out)
}

/// One RTP packet, then the same bytes as a packet stream: must never
/// panic, and every parse must agree with itself (RFC 3550 §5.1).
pub fn rtp(data: &[u8], base: Instant) {
    packet(data);
    stream(data, base);
}

/// The single-packet checks: bounds, view round trips, re-printing of plain
/// packets, and agreement with `rtc-rtp`.
fn packet(data: &[u8]) {
    let _ = is_rtcp(data);
    let Ok(h) = RtpHeader::parse(data) else {
        return;
    };
    assert!(
        FIXED_HEADER_LEN <= h.payload_offset && h.payload_offset <= h.payload_end && h.payload_end <= data.len(),
        "payload bounds {}..{} outside a {}-octet packet",
        h.payload_offset,
        h.payload_end,
        data.len()
    );
    assert!(h.csrc_count <= 15 && h.payload_type <= 0x7f);
    assert!(h.payload_offset >= FIXED_HEADER_LEN + 4 * h.csrc_count as usize);

    // The view reads what the parser read; writing those values back
    // changes nothing; new values read back and keep the layout.
    let mut buf = data.to_vec();
    let Ok(mut view) = RtpView::new(&mut buf) else {
        panic!("RtpView refused a packet RtpHeader accepted");
    };
    assert_eq!(view.header(), h);
    assert_eq!(view.payload(), &data[h.payload_offset..h.payload_end]);
    view.set_marker(h.marker);
    view.set_payload_type(h.payload_type);
    view.set_sequence(h.sequence);
    view.set_timestamp(h.timestamp);
    view.set_ssrc(h.ssrc);
    assert_eq!(view.as_bytes(), data, "writing the fields read changed the packet");
    let changed = RtpHeader {
        marker: !h.marker,
        payload_type: (h.payload_type ^ 0x55) & 0x7f,
        sequence: !h.sequence,
        timestamp: !h.timestamp,
        ssrc: h.ssrc.rotate_left(7) ^ 1,
        ..h
    };
    view.set_marker(changed.marker);
    view.set_payload_type(changed.payload_type | 0x80);
    view.set_sequence(changed.sequence);
    view.set_timestamp(changed.timestamp);
    view.set_ssrc(changed.ssrc);
    match RtpHeader::parse(&buf) {
        Ok(again) => assert_eq!(again, changed, "setters did not read back"),
        Err(e) => panic!("setters made the packet invalid: {e}"),
    }

    // A plain packet (no CSRC, extension or padding) prints back byte-exact.
    let fields = RtpFields {
        marker: h.marker,
        payload_type: h.payload_type,
        sequence: h.sequence,
        timestamp: h.timestamp,
        ssrc: h.ssrc,
    };
    if h.csrc_count == 0 && !h.has_extension && h.payload_end == data.len() {
        let mut out = vec![0u8; data.len()];
        match write_packet(&mut out, &fields, &data[FIXED_HEADER_LEN..]) {
            Ok(n) => assert_eq!(&out[..n], data, "write_packet(parse(p)) != p"),
            Err(e) => panic!("write_packet refused a parsed packet: {e}"),
        }
    }

    // The full parser agrees on the fields the relay uses; its output is a
    // packet the fast path reads the same.
    let Ok(p) = to_rtc(data) else {
        return; // rtc-rtp is stricter about RFC 8285 elements
    };
    let hdr = &p.header;
    let seen = (
        hdr.marker,
        hdr.payload_type,
        hdr.sequence_number,
        hdr.timestamp,
        hdr.ssrc,
    );
    let fast = (h.marker, h.payload_type, h.sequence, h.timestamp, h.ssrc);
    assert_eq!(seen, fast, "rtc-rtp and RtpHeader disagree");
    assert_eq!(hdr.csrc.len(), h.csrc_count as usize);
    // For the RFC 8285 profiles rtc-rtp walks the elements (and may stop
    // early); otherwise both must find the same payload.
    if !h.has_extension || !matches!(hdr.extension_profile, 0xBEDE | 0x1000) {
        assert_eq!(
            &p.payload[..],
            &data[h.payload_offset..h.payload_end],
            "payloads differ"
        );
    }
    let mut out = vec![0u8; p.marshal_size()];
    if let Ok(n) = write_rtc(&p, &mut out) {
        match RtpHeader::parse(&out[..n]) {
            Ok(back) => {
                let again = (back.marker, back.payload_type, back.sequence, back.timestamp, back.ssrc);
                assert_eq!(again, fast, "write_rtc changed the header");
            }
            Err(e) => panic!("write_rtc printed a packet RtpHeader refuses: {e}"),
        }
    }
}

/// The stream checks: each record's packet through a leg's rewriter, the
/// reception statistics, a jitter buffer and the DTMF detector.
fn stream(data: &[u8], base: Instant) {
    let (selector, records) = records(data);
    let mut map = PayloadTypeMap::identity();
    map.remove(13).insert(EVENT_PT, 96);
    let clock_rate = if selector & 1 == 0 { 8000 } else { 48_000 };
    let mut rw = StreamRewriter::new(RewriterConfig {
        ssrc: 0x5eed_0001,
        initial_sequence: 65_530,
        initial_timestamp: u32::MAX - 500,
        clock_rate,
        packet_samples: clock_rate / 50,
        payload_types: map,
    });
    let mut config = if clock_rate == 8000 {
        JitterConfig::g711()
    } else {
        JitterConfig::opus()
    };
    if selector & 2 != 0 {
        config.target = TargetDelay::Fixed(Duration::from_millis(u64::from(selector >> 2) * 5));
        config.capacity = usize::from(selector >> 4);
    }
    let mut jb = JitterBuffer::new(config);
    let mut stats: Option<ReceiverStats> = None;
    let mut last_ts: Option<u32> = None;
    let mut dtmf = DtmfDetector::new();
    let mut dtmf_check = DtmfCheck::default();
    let mut now = base;
    let mut next_pull = base;
    let frame = Duration::from_millis(20);
    let mut buf = Vec::new();
    for (gap, pkt) in records {
        now += gap;
        buf.clear();
        buf.extend_from_slice(pkt);
        if let Ok(r) = rw.rewrite(&mut buf, now) {
            let Ok(out) = RtpHeader::parse(&buf) else {
                panic!("the rewriter broke a packet");
            };
            assert_eq!(out.ssrc, rw.ssrc());
            assert_eq!(
                (out.sequence, out.timestamp, out.payload_type),
                (r.sequence, r.timestamp, r.payload_type)
            );
            assert!(out.marker || !r.switched, "a source change must set the marker");
            assert_eq!(
                &buf[out.payload_offset..out.payload_end],
                &pkt[out.payload_offset..out.payload_end]
            );
        }
        let Ok(h) = RtpHeader::parse(pkt) else {
            continue;
        };
        let payload = &pkt[h.payload_offset..h.payload_end];
        let st = stats.get_or_insert_with(|| ReceiverStats::new(h.ssrc, clock_rate));
        if st.ssrc() == h.ssrc {
            st.on_packet(h.sequence, h.timestamp, now);
            let block = st.report(now);
            assert!(block.total_lost <= 0xff_ffff);
        }
        if h.payload_type == EVENT_PT {
            let _ = dtmf.handle_packet(h.timestamp, payload);
        } else {
            dtmf.handle_audio(h.timestamp);
            // As the jitter buffer's one caller does (media::pipeline's
            // Receiver): a jump of more than 10 s from the newest timestamp
            // restarts the buffer. Without it an insert walks the whole gap
            // one frame at a time (up to 2^31 / frame_samples steps).
            let jump = last_ts.map_or(0, |t: u32| (h.timestamp.wrapping_sub(t) as i32).unsigned_abs());
            if jump > 10 * clock_rate {
                jb = JitterBuffer::new(config);
                next_pull = now;
                last_ts = None;
            }
            let inserted = jb.insert(h.sequence, h.timestamp, now, payload);
            if inserted == Insert::Queued && last_ts.is_none_or(|t| (h.timestamp.wrapping_sub(t) as i32) > 0) {
                last_ts = Some(h.timestamp);
            }
            assert!(payload.len() <= config.max_payload || inserted == Insert::TooLarge);
        }
        assert!(jb.len() <= jb.stats().queued as usize);
        while next_pull <= now {
            if let Pull::Frame { payload, .. } = jb.pull(next_pull) {
                assert!(payload.len() <= config.max_payload);
            }
            next_pull += frame;
        }
        let _ = jb.target_delay();
        dtmf_check.drain(&mut dtmf);
    }
}

/// Checks detector output as it is drained: an `End` closes the event
/// started last, and no event starts while another is open.
#[derive(Default)]
struct DtmfCheck {
    open: Option<(u8, u32)>,
}

impl DtmfCheck {
    fn drain(&mut self, dtmf: &mut DtmfDetector) -> Vec<DtmfEvent> {
        let mut out = Vec::new();
        while let Some(ev) = dtmf.poll_event() {
            match ev {
                DtmfEvent::Start { event, timestamp } => {
                    assert!(self.open.is_none(), "two events started without an end");
                    self.open = Some((event, timestamp));
                }
                DtmfEvent::End { event, timestamp, .. } => {
                    assert_eq!(self.open.take(), Some((event, timestamp)), "an end without its start");
                }
            }
            out.push(ev);
        }
        out
    }
}

/// An RTCP datagram (RFC 3550 §6.1 compound, §6.4 SR/RR): parsed reports
/// must print (with `build_*_report`) and re-parse to themselves, and the
/// values the session reads from them must not panic.
pub fn rtcp(data: &[u8], now: Instant) {
    let _ = is_rtcp(data);
    let Ok(reports) = parse_reports(data) else {
        return;
    };
    assert!(!reports.is_empty(), "parse_reports returned no report without an error");
    let now_ntp = ntp_from_unix(Duration::from_secs(1_704_067_200 + (data.len() as u64)));
    for r in &reports {
        assert!(r.blocks().len() <= 31, "more blocks than the RC field holds");
        let mut stats = ReceiverStats::new(r.ssrc(), 8000);
        let printed = match r {
            RtcpReport::Sender(sr) => {
                stats.on_sender_report(sr.ntp_time, now);
                let info = SenderInfo {
                    ssrc: sr.ssrc,
                    ntp_time: sr.ntp_time,
                    rtp_time: sr.rtp_time,
                    packet_count: sr.packet_count,
                    octet_count: sr.octet_count,
                };
                build_sender_report(&info, &sr.reports)
            }
            RtcpReport::Receiver(rr) => build_receiver_report(rr.ssrc, &rr.reports),
        };
        let _ = stats.report(now + Duration::from_millis(1500));
        for block in r.blocks() {
            let _ = round_trip_time(block, now_ntp);
            let _ = round_trip_time(block, u64::from(block.last_sender_report) << 16);
        }
        let printed = match printed {
            Ok(p) => p,
            Err(e) => panic!("a parsed report does not print: {e}"),
        };
        match parse_reports(&printed) {
            Ok(again) => {
                assert_eq!(again.len(), 1);
                assert_eq!(again[0].ssrc(), r.ssrc());
                assert_eq!(again[0].blocks(), r.blocks(), "report blocks changed in print/parse");
                if let (RtcpReport::Sender(a), RtcpReport::Sender(b)) = (&again[0], r) {
                    let fields = |s: &rtc_rtcp::sender_report::SenderReport| {
                        (s.ntp_time, s.rtp_time, s.packet_count, s.octet_count)
                    };
                    assert_eq!(fields(a), fields(b), "sender info changed in print/parse");
                }
            }
            Err(e) => panic!("a printed report does not parse: {e}"),
        }
    }
}

/// RFC 4733 §2.3 telephone-event payloads: the first 4 octets as one
/// payload (parse/print round trip), the sender's packets for the event
/// they describe fed back to a detector (must yield that event), then the
/// input as a stream of `(gap, payload)` records through a detector.
pub fn telephone_event(data: &[u8]) {
    if let Ok(ev) = TelephoneEvent::parse(data) {
        let wire = ev.to_bytes();
        let mut expected = [0u8; EVENT_LEN];
        expected.copy_from_slice(&data[..EVENT_LEN]);
        expected[1] &= 0xbf; // the R bit is not kept (RFC 4733 §2.3: sent as zero)
        assert_eq!(wire, expected, "to_bytes(parse(p)) != p");
        match TelephoneEvent::parse(&wire) {
            Ok(again) => assert_eq!(again, ev),
            Err(e) => panic!("printed event does not parse: {e}"),
        }
        let mut out = [0u8; EVENT_LEN + 1];
        assert_eq!(ev.write(&mut out).ok(), Some(EVENT_LEN));
        assert_eq!(out[..EVENT_LEN], wire);
        assert!(ev.write(&mut out[..EVENT_LEN - 1]).is_err());
        if let Some(c) = ev.digit() {
            assert_eq!(digit_to_event(c), Some(ev.event));
            assert_eq!(digit_to_event(c.to_ascii_lowercase()), Some(ev.event));
        }
        let rates = [8000, 16_000, 48_000, 0, u32::from(ev.duration)];
        for from in rates {
            for to in rates {
                let r = ev.rescaled(from, to);
                assert_eq!((r.event, r.end, r.volume), (ev.event, ev.end, ev.volume));
            }
        }
        sender_round_trip(data);
    } else {
        assert!(data.len() < EVENT_LEN);
    }
    for c in data.iter().take(8) {
        if let Some(e) = digit_to_event(*c as char) {
            assert_eq!(event_to_digit(e), Some((*c as char).to_ascii_uppercase()));
        }
    }
    detector_stream(data);
}

/// The sender's packets for the event in `data` (event, volume, duration,
/// step from its octets) must come out of a detector as that one event.
fn sender_round_trip(data: &[u8]) {
    let event = data[0];
    let volume = data[1] & 0x3f;
    let duration = u16::from_be_bytes([data[2], data[3]]);
    let step = data.get(4).map_or(160, |&s| u16::from(s).max(1) * 8);
    let timestamp = data
        .get(5..9)
        .map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
    let packets: Vec<(bool, TelephoneEvent)> = EventPackets::new(event, volume, duration, step).collect();
    let ends = packets.iter().filter(|(_, e)| e.end).count();
    assert_eq!(ends, 3, "RFC 4733 §2.5.1.4: the end is sent three times");
    assert!(packets.len() <= usize::from(duration / step.max(1)) + 4);
    assert!(packets[0].0, "the first packet has the marker");
    assert!(packets.iter().skip(1).all(|(m, _)| !m), "only the first has the marker");
    let mut last = 0;
    let mut det = DtmfDetector::new();
    for (_, ev) in &packets {
        assert!(
            ev.duration >= last && ev.duration <= duration,
            "durations grow up to the total"
        );
        last = ev.duration;
        if let Err(e) = det.handle_packet(timestamp, &ev.to_bytes()) {
            panic!("the detector refused the sender's packet: {e}");
        }
    }
    let seen = DtmfCheck::default().drain(&mut det);
    let want = [
        DtmfEvent::Start { event, timestamp },
        DtmfEvent::End {
            event,
            timestamp,
            duration,
            volume,
            confirmed: true,
        },
    ];
    assert_eq!(seen, want, "sender → detector lost or changed the event");
}

/// `data` as records `(gap in 20 ms frames, 4 payload octets)` through a
/// detector, audio timestamps in between.
fn detector_stream(data: &[u8]) {
    let mut det = DtmfDetector::new();
    let mut check = DtmfCheck::default();
    let mut ts: u32 = u32::MAX - 8000;
    for rec in data.chunks(1 + EVENT_LEN).take(MAX_RECORDS) {
        let Some((&ctl, payload)) = rec.split_first() else {
            break;
        };
        ts = ts.wrapping_add(u32::from(ctl & 0x3f) * 160);
        if ctl & 0x80 != 0 {
            det.handle_audio(ts.wrapping_add(u32::from(payload.first().copied().unwrap_or(0))));
        } else {
            let _ = det.handle_packet(ts, payload);
        }
        if ctl & 0x40 != 0 {
            check.drain(&mut det);
        }
    }
    check.drain(&mut det);
}
