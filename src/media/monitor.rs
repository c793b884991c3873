//! What a silent monitor hears (spec SUP-2): every 20 ms the caller's and
//! the agent's decoded audio (8 kHz, the frames the recorder also reads)
//! are summed with saturation ([`crate::dsp::mix::mix`]) and encoded in the
//! monitor phone's negotiated codec ([`FrameEncoder`], the music-on-hold
//! encoder: PCMU, PCMA or Opus) as one RTP packet (RFC 3550 §5.1: own
//! SSRC, consecutive sequence numbers, timestamps 20 ms apart, marker on
//! the first). A party with nothing to say this tick (silence, lost
//! packets, no packets yet) adds nothing; a packet goes out every tick, so
//! the phone sees one continuous stream. Nothing comes back: the session
//! drops what the monitor sends.
//!
//! Sans-IO: frames in, packet out; the session owns the socket and clock.

use super::music::{FrameEncoder, FRAME_8K};
use crate::call::media::LegAudio;
use crate::rtp::{packet::write_packet, RtpFields};

/// Largest payload an encoded 20 ms frame takes (Opus packets stay far below).
const MAX_PAYLOAD: usize = 1500;

/// The monitor's outgoing stream: mixer plus encoder (SUP-2).
pub(crate) struct MonitorMix {
    encoder: FrameEncoder,
    pt: u8,
    ssrc: u32,
    seq: u16,
    ts: u32,
    ts_step: u32,
    first: bool,
    mixed: Vec<i16>,
    frame: [i16; FRAME_8K],
    payload: Vec<u8>,
}

impl MonitorMix {
    /// A stream to a phone that negotiated `audio` (we send with its
    /// `send_pt`), starting at `seq`/`ts` with `ssrc`; `None` for a codec
    /// the switch cannot encode.
    pub(crate) fn new(audio: &LegAudio, ssrc: u32, seq: u16, ts: u32) -> Option<MonitorMix> {
        Some(MonitorMix {
            encoder: FrameEncoder::new(audio.codec)?,
            pt: audio.send_pt,
            ssrc,
            seq,
            ts,
            ts_step: audio.clock_rate / 50,
            first: true,
            mixed: Vec::with_capacity(FRAME_8K),
            frame: [0; FRAME_8K],
            payload: vec![0; MAX_PAYLOAD],
        })
    }

    /// The saturated sum of what the caller and the agent said in one
    /// 20 ms frame; a missing side (`None`) is silence.
    pub(crate) fn mix_into(
        caller: Option<&[i16; FRAME_8K]>,
        agent: Option<&[i16; FRAME_8K]>,
        mixed: &mut Vec<i16>,
        out: &mut [i16; FRAME_8K],
    ) {
        const SILENCE: [i16; FRAME_8K] = [0; FRAME_8K];
        let inputs: [&[i16]; 2] = [caller.unwrap_or(&SILENCE), agent.unwrap_or(&SILENCE)];
        // Both inputs are FRAME_8K long: `mix` cannot refuse them.
        if crate::dsp::mix::mix(&inputs, mixed).is_err() || mixed.len() != FRAME_8K {
            out.fill(0);
            return;
        }
        out.copy_from_slice(mixed);
    }

    /// Writes the next RTP packet (the mix of `caller` and `agent`) into
    /// `buf`; its length, `None` when encoding failed or `buf` is too small
    /// (the timeline advances anyway).
    pub(crate) fn next_packet(
        &mut self,
        caller: Option<&[i16; FRAME_8K]>,
        agent: Option<&[i16; FRAME_8K]>,
        buf: &mut [u8],
    ) -> Option<usize> {
        Self::mix_into(caller, agent, &mut self.mixed, &mut self.frame);
        let fields = RtpFields {
            marker: self.first,
            payload_type: self.pt,
            sequence: self.seq,
            timestamp: self.ts,
            ssrc: self.ssrc,
        };
        self.ts = self.ts.wrapping_add(self.ts_step);
        let n = self.encoder.encode(&self.frame, &mut self.payload)?;
        let len = write_packet(buf, &fields, self.payload.get(..n)?).ok()?;
        self.seq = self.seq.wrapping_add(1);
        self.first = false;
        Some(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::g711;
    use crate::rtp::RtpHeader;
    use crate::sdp::CodecKind;

    fn audio(codec: CodecKind, pt: u8) -> LegAudio {
        LegAudio {
            codec,
            clock_rate: 8000,
            recv_pt: pt,
            send_pt: pt,
            event_recv_pt: None,
            event_send_pt: None,
            event_clock_rate: None,
        }
    }

    fn mixed(caller: Option<&[i16; FRAME_8K]>, agent: Option<&[i16; FRAME_8K]>) -> [i16; FRAME_8K] {
        let mut out = [0; FRAME_8K];
        MonitorMix::mix_into(caller, agent, &mut Vec::new(), &mut out);
        out
    }

    /// A ramp and a square wave: the monitor hears their sample-wise sum.
    #[test]
    fn sup2_monitor_hears_the_sum_of_both_parties() {
        let caller: [i16; FRAME_8K] = std::array::from_fn(|i| (i as i16) * 10);
        let agent: [i16; FRAME_8K] = std::array::from_fn(|i| if i % 2 == 0 { 500 } else { -500 });
        let out = mixed(Some(&caller), Some(&agent));
        for i in 0..FRAME_8K {
            assert_eq!(out[i], caller[i] + agent[i], "sample {i}");
        }
    }

    #[test]
    fn sup2_mix_saturates_instead_of_wrapping() {
        let loud = [30_000i16; FRAME_8K];
        let quiet = [-30_000i16; FRAME_8K];
        assert!(mixed(Some(&loud), Some(&loud)).iter().all(|&s| s == i16::MAX));
        assert!(mixed(Some(&quiet), Some(&quiet)).iter().all(|&s| s == i16::MIN));
        assert!(mixed(Some(&loud), Some(&quiet)).iter().all(|&s| s == 0));
    }

    /// One party silent or its packets missing: the monitor hears the other
    /// unchanged; both missing: silence, still sent.
    #[test]
    fn sup2_missing_side_is_silence() {
        let agent: [i16; FRAME_8K] = std::array::from_fn(|i| (i as i16) - 80);
        assert_eq!(mixed(None, Some(&agent)), agent);
        assert_eq!(mixed(Some(&agent), None), agent);
        assert_eq!(mixed(Some(&[0; FRAME_8K]), Some(&agent)), agent);
        assert_eq!(mixed(None, None), [0; FRAME_8K]);
        let mut m = MonitorMix::new(&audio(CodecKind::Pcmu, 0), 7, 1, 1).expect("PCMU");
        let mut buf = [0u8; 1500];
        assert!(m.next_packet(None, None, &mut buf).is_some(), "silence is sent too");
    }

    /// The packets: the phone's payload type, one SSRC, sequence +1 and
    /// timestamp +160 per 20 ms, marker on the first; the payload decodes
    /// to the mix (within G.711's quantisation).
    #[test]
    fn sup2_packets_carry_the_mix_in_the_phones_codec() {
        let caller = [1000i16; FRAME_8K];
        let agent = [2000i16; FRAME_8K];
        for (codec, pt) in [(CodecKind::Pcmu, 0u8), (CodecKind::Pcma, 8)] {
            let mut m = MonitorMix::new(&audio(codec, pt), 0xabcd, 65535, u32::MAX - 100).expect("codec");
            let mut buf = [0u8; 1500];
            let mut last: Option<(u16, u32)> = None;
            for k in 0..3 {
                let n = m.next_packet(Some(&caller), Some(&agent), &mut buf).expect("packet");
                let h = RtpHeader::parse(&buf[..n]).expect("rtp");
                assert_eq!((h.payload_type, h.ssrc, h.marker), (pt, 0xabcd, k == 0));
                if let Some((seq, ts)) = last {
                    assert_eq!(h.sequence, seq.wrapping_add(1));
                    assert_eq!(h.timestamp, ts.wrapping_add(160));
                }
                last = Some((h.sequence, h.timestamp));
                let payload = &buf[h.payload_offset..h.payload_end];
                assert_eq!(payload.len(), FRAME_8K);
                let mut pcm = [0i16; FRAME_8K];
                match codec {
                    CodecKind::Pcmu => g711::decode_ulaw(payload, &mut pcm),
                    _ => g711::decode_alaw(payload, &mut pcm),
                }
                .expect("decode");
                assert!(
                    pcm.iter().all(|&s| (s - 3000).abs() < 100),
                    "{codec:?}: {:?}",
                    &pcm[..4]
                );
            }
        }
    }

    #[test]
    fn telephone_event_alone_cannot_be_monitored() {
        assert!(MonitorMix::new(&audio(CodecKind::TelephoneEvent, 101), 1, 1, 1).is_none());
    }
}
