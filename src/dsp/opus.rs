//! Opus (RFC 6716) per-stream encoder and decoder for RTP legs (RFC 7587),
//! over libopus through the `opus` crate.
//!
//! One [`OpusEncoder`]/[`OpusDecoder`] per stream, mono, at 8, 16 or 48 kHz
//! (RFC 7587 §4.1: the RTP clock is always 48 kHz whatever rate the codec
//! runs at internally), 20 ms frames (RFC 7587 §4.2 default `ptime`).
//! Loss handling per RFC 6716 §4.4: [`OpusDecoder::conceal`] runs the
//! decoder's packet loss concealment for a missing packet, and
//! [`OpusDecoder::decode_fec`] recovers a missing packet from the in-band
//! forward error correction (LBRR) carried in the packet after it, which
//! the encoder adds when [`OpusConfig::inband_fec`] is on (RFC 7587 §3.3,
//! SDP `useinbandfec=1`).

use ::opus::{Application, Bitrate, Channels, Decoder, Encoder};

use super::{check_len, DspError, SampleRate};

/// Largest Opus packet for one frame (RFC 6716 §3.2.1: 1275 bytes).
pub const MAX_PACKET: usize = 1275;

/// Encoder settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpusConfig {
    /// Target bitrate in bits per second (RFC 7587 §3.1.1 suggests 20–40
    /// kb/s for fullband speech).
    pub bitrate: i32,
    /// Add in-band FEC (LBRR) so the receiver can recover single losses.
    pub inband_fec: bool,
    /// Expected packet loss in percent; drives how much FEC is spent.
    pub expected_loss_percent: i32,
    /// Encoder complexity 0–10 (CPU against quality).
    pub complexity: i32,
    /// Discontinuous transmission (RFC 7587 §3.1.3, `usedtx`).
    pub dtx: bool,
}

impl Default for OpusConfig {
    fn default() -> Self {
        OpusConfig {
            bitrate: 32_000,
            inband_fec: true,
            expected_loss_percent: 5,
            complexity: 5,
            dtx: false,
        }
    }
}

/// Opus encoder for one mono stream, 20 ms frames.
pub struct OpusEncoder {
    inner: Encoder,
    rate: SampleRate,
}

impl std::fmt::Debug for OpusEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpusEncoder").field("rate", &self.rate).finish()
    }
}

impl OpusEncoder {
    /// A VoIP-mode encoder at `rate` with `config`.
    pub fn new(rate: SampleRate, config: OpusConfig) -> Result<Self, DspError> {
        let mut inner = Encoder::new(rate.hz(), Channels::Mono, Application::Voip)?;
        inner.set_bitrate(Bitrate::Bits(config.bitrate))?;
        inner.set_inband_fec(config.inband_fec)?;
        inner.set_packet_loss_perc(config.expected_loss_percent)?;
        inner.set_complexity(config.complexity)?;
        inner.set_dtx(config.dtx)?;
        Ok(OpusEncoder { inner, rate })
    }

    /// Samples per frame (20 ms at the encoder's rate).
    pub fn frame_len(&self) -> usize {
        self.rate.frame_20ms()
    }

    /// The encoder's input rate.
    pub fn rate(&self) -> SampleRate {
        self.rate
    }

    /// Encodes one 20 ms frame into `packet` (size it [`MAX_PACKET`]);
    /// returns the packet length. A length of 1 or 2 bytes is a DTX/silence
    /// packet that RFC 7587 §3.1.3 lets the sender skip.
    pub fn encode(&mut self, pcm: &[i16], packet: &mut [u8]) -> Result<usize, DspError> {
        check_len("opus encoder input", self.frame_len(), pcm.len())?;
        Ok(self.inner.encode(pcm, packet)?)
    }

    /// Changes the target bitrate (e.g. on RTCP feedback or SDP
    /// `maxaveragebitrate`).
    pub fn set_bitrate(&mut self, bits_per_second: i32) -> Result<(), DspError> {
        Ok(self.inner.set_bitrate(Bitrate::Bits(bits_per_second))?)
    }

    /// Changes the expected loss used to size the in-band FEC.
    pub fn set_expected_loss(&mut self, percent: i32) -> Result<(), DspError> {
        Ok(self.inner.set_packet_loss_perc(percent)?)
    }
}

/// Opus decoder for one mono stream, 20 ms frames, with loss concealment.
pub struct OpusDecoder {
    inner: Decoder,
    rate: SampleRate,
}

impl std::fmt::Debug for OpusDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpusDecoder").field("rate", &self.rate).finish()
    }
}

impl OpusDecoder {
    /// A decoder producing mono PCM at `rate` (any Opus packet decodes to
    /// any rate; RFC 6716 §2).
    pub fn new(rate: SampleRate) -> Result<Self, DspError> {
        Ok(OpusDecoder {
            inner: Decoder::new(rate.hz(), Channels::Mono)?,
            rate,
        })
    }

    /// Samples per 20 ms frame at the decoder's rate.
    pub fn frame_len(&self) -> usize {
        self.rate.frame_20ms()
    }

    /// The decoder's output rate.
    pub fn rate(&self) -> SampleRate {
        self.rate
    }

    /// Decodes `packet` into `pcm`, which must hold at least one 20 ms frame
    /// (more if the sender packs longer frames; up to 120 ms); returns the
    /// number of samples decoded. An empty packet is an error: use
    /// [`conceal`](Self::conceal) for a lost one.
    pub fn decode(&mut self, packet: &[u8], pcm: &mut [i16]) -> Result<usize, DspError> {
        if packet.is_empty() {
            return Err(DspError::FrameLength {
                what: "opus packet",
                expected: 1,
                actual: 0,
            });
        }
        if pcm.len() < self.frame_len() {
            return Err(DspError::FrameLength {
                what: "opus decoder output",
                expected: self.frame_len(),
                actual: pcm.len(),
            });
        }
        Ok(self.inner.decode(packet, pcm, false)?)
    }

    /// Packet loss concealment: synthesises one 20 ms frame in place of a
    /// lost packet. `pcm` must be exactly one frame.
    pub fn conceal(&mut self, pcm: &mut [i16]) -> Result<usize, DspError> {
        check_len("opus concealment output", self.frame_len(), pcm.len())?;
        Ok(self.inner.decode(&[], pcm, false)?)
    }

    /// Recovers the lost frame *before* `next_packet` from the in-band FEC
    /// that `next_packet` carries (falling back to concealment inside
    /// libopus when it carries none). Call it when packet N is missing and
    /// N+1 has arrived, then [`decode`](Self::decode) N+1 as usual. `pcm`
    /// must be exactly one frame.
    pub fn decode_fec(&mut self, next_packet: &[u8], pcm: &mut [i16]) -> Result<usize, DspError> {
        check_len("opus FEC output", self.frame_len(), pcm.len())?;
        if next_packet.is_empty() {
            return self.conceal(pcm);
        }
        Ok(self.inner.decode(next_packet, pcm, true)?)
    }

    /// Samples (per channel, at the decoder's rate) that `packet` holds.
    pub fn packet_samples(&self, packet: &[u8]) -> Result<usize, DspError> {
        Ok(self.inner.get_nb_samples(packet)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::tone::{dominant_frequency, level_dbfs, tone_level_dbfs, ToneGenerator};

    fn round_trip(rate: SampleRate) -> Result<Vec<i16>, DspError> {
        let mut enc = OpusEncoder::new(rate, OpusConfig::default())?;
        let mut dec = OpusDecoder::new(rate)?;
        let mut gen = ToneGenerator::sine(1000.0, -12.0, rate.hz());
        let mut pcm = vec![0i16; enc.frame_len()];
        let mut packet = [0u8; MAX_PACKET];
        let mut out = vec![0i16; dec.frame_len()];
        let mut decoded = Vec::new();
        for _ in 0..50 {
            gen.fill(&mut pcm);
            let n = enc.encode(&pcm, &mut packet)?;
            assert!(n > 2 && n <= MAX_PACKET);
            assert_eq!(dec.packet_samples(&packet[..n])?, dec.frame_len());
            let m = dec.decode(&packet[..n], &mut out)?;
            assert_eq!(m, dec.frame_len());
            decoded.extend_from_slice(&out);
        }
        Ok(decoded)
    }

    #[test]
    fn tone_survives_encode_decode() -> Result<(), DspError> {
        for rate in [SampleRate::Hz48000, SampleRate::Hz16000, SampleRate::Hz8000] {
            let out = round_trip(rate)?;
            let steady = &out[out.len() / 2..];
            let f = dominant_frequency(steady, rate.hz()).unwrap_or(0.0);
            let level = tone_level_dbfs(steady, 1000.0, rate.hz());
            assert!((f - 1000.0).abs() < 1.0, "{rate:?}: {f} Hz");
            assert!((level + 12.0).abs() < 1.5, "{rate:?}: {level} dBFS");
        }
        Ok(())
    }

    #[test]
    fn concealment_and_fec_fill_a_lost_packet() -> Result<(), DspError> {
        let rate = SampleRate::Hz48000;
        let config = OpusConfig {
            expected_loss_percent: 20,
            ..OpusConfig::default()
        };
        let mut enc = OpusEncoder::new(rate, config)?;
        let mut gen = ToneGenerator::sine(440.0, -12.0, rate.hz());
        let mut pcm = vec![0i16; enc.frame_len()];
        let mut packets = Vec::new();
        for _ in 0..30 {
            gen.fill(&mut pcm);
            let mut p = [0u8; MAX_PACKET];
            let n = enc.encode(&pcm, &mut p)?;
            packets.push(p[..n].to_vec());
        }
        // Packet 20 is lost: PLC on one decoder, FEC from packet 21 on another.
        let mut plc = OpusDecoder::new(rate)?;
        let mut fec = OpusDecoder::new(rate)?;
        let mut out = vec![0i16; 960];
        for p in &packets[..20] {
            plc.decode(p, &mut out)?;
            fec.decode(p, &mut out)?;
        }
        let mut concealed = vec![0i16; 960];
        assert_eq!(plc.conceal(&mut concealed)?, 960);
        let mut recovered = vec![0i16; 960];
        assert_eq!(fec.decode_fec(&packets[20], &mut recovered)?, 960);
        for frame in [&concealed, &recovered] {
            let level = level_dbfs(frame);
            assert!(level > -20.0, "lost frame filled at {level} dBFS");
            let f = dominant_frequency(frame, rate.hz()).unwrap_or(0.0);
            assert!((f - 440.0).abs() < 30.0, "lost frame at {f} Hz");
        }
        // Decoding continues normally after the gap.
        assert_eq!(fec.decode(&packets[20], &mut out)?, 960);
        assert_eq!(plc.decode(&packets[21], &mut out)?, 960);
        Ok(())
    }

    #[test]
    fn bad_inputs_are_typed_errors() -> Result<(), DspError> {
        let mut enc = OpusEncoder::new(SampleRate::Hz8000, OpusConfig::default())?;
        let mut p = [0u8; MAX_PACKET];
        assert!(matches!(
            enc.encode(&[0; 100], &mut p),
            Err(DspError::FrameLength { .. })
        ));
        let mut dec = OpusDecoder::new(SampleRate::Hz8000)?;
        let mut out = [0i16; 160];
        assert!(matches!(dec.decode(&[], &mut out), Err(DspError::FrameLength { .. })));
        // A code-3 packet (TOC 0x03) whose frame count byte is missing.
        assert!(matches!(dec.decode(&[0x03], &mut out), Err(DspError::Opus { .. })));
        assert!(matches!(dec.conceal(&mut out[..10]), Err(DspError::FrameLength { .. })));
        Ok(())
    }
}
