//! ITU-T G.711 (11/88) pulse code modulation: μ-law (PCMU) and A-law (PCMA)
//! companding between 16-bit linear PCM and 8-bit codes, as carried in RTP
//! payload types 0 and 8 (RFC 3551 §4.5.14).
//!
//! Encoding is bit-exact arithmetic equivalent to the G.711 tables (the
//! classic Sun/CCITT reference `g711.c`): μ-law works on a 14-bit magnitude
//! with bias 33 (132 in 16-bit units) and clips at 32635; A-law works on a
//! 13-bit value with even-bit inversion (XOR 0x55). Decoding uses two
//! 256-entry tables built at compile time. Every decoded value is the
//! midpoint of its quantisation interval, so the round trip error is at most
//! half a step. The slice functions allocate nothing.

use super::DspError;

/// μ-law bias in 16-bit units (33 on the 14-bit scale).
const ULAW_BIAS: i32 = 0x84;
/// Largest 16-bit magnitude μ-law encodes without clipping.
const ULAW_CLIP: i32 = 32635;

/// Encodes one 16-bit linear sample to a μ-law code.
#[inline]
pub fn ulaw_from_linear(sample: i16) -> u8 {
    let mut s = i32::from(sample);
    let sign: u8 = if s < 0 {
        s = -s;
        0x80
    } else {
        0
    };
    s = s.min(ULAW_CLIP) + ULAW_BIAS;
    // s is in 132..=32767: its top bit is bit 7..=14, the segment is that minus 7.
    let exponent = (31 - s.leading_zeros()) as i32 - 7;
    let mantissa = (s >> (exponent + 3)) & 0x0F;
    !(sign | ((exponent as u8) << 4) | mantissa as u8)
}

/// Encodes one 16-bit linear sample to an A-law code.
#[inline]
pub fn alaw_from_linear(sample: i16) -> u8 {
    // 13-bit value; negative values use one's complement magnitude.
    let pcm = i32::from(sample) >> 3;
    let (mask, mag) = if pcm >= 0 { (0xD5u8, pcm) } else { (0x55u8, -pcm - 1) };
    // Segment: 0 for 0..=31, then one per doubling up to 4095.
    let seg = if mag < 32 {
        0
    } else {
        (31 - (mag as u32).leading_zeros()) as i32 - 4
    };
    let aval = if seg >= 8 {
        0x7F
    } else {
        let shift = if seg < 2 { 1 } else { seg };
        ((seg as u8) << 4) | ((mag >> shift) & 0x0F) as u8
    };
    aval ^ mask
}

const fn ulaw_decode_const(code: u8) -> i16 {
    let u = !code;
    let mut t = (((u & 0x0F) as i32) << 3) + ULAW_BIAS;
    t <<= ((u & 0x70) >> 4) as i32;
    if u & 0x80 != 0 {
        (ULAW_BIAS - t) as i16
    } else {
        (t - ULAW_BIAS) as i16
    }
}

const fn alaw_decode_const(code: u8) -> i16 {
    let a = code ^ 0x55;
    let mut t = ((a & 0x0F) as i32) << 4;
    let seg = ((a & 0x70) >> 4) as i32;
    match seg {
        0 => t += 8,
        1 => t += 0x108,
        _ => {
            t += 0x108;
            t <<= seg - 1;
        }
    }
    if a & 0x80 != 0 {
        t as i16
    } else {
        -t as i16
    }
}

const fn build_table(alaw: bool) -> [i16; 256] {
    let mut table = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = if alaw {
            alaw_decode_const(i as u8)
        } else {
            ulaw_decode_const(i as u8)
        };
        i += 1;
    }
    table
}

/// μ-law code → 16-bit linear sample, for all 256 codes.
pub static ULAW_DECODE: [i16; 256] = build_table(false);
/// A-law code → 16-bit linear sample, for all 256 codes.
pub static ALAW_DECODE: [i16; 256] = build_table(true);

/// Decodes one μ-law code.
#[inline]
pub fn ulaw_to_linear(code: u8) -> i16 {
    ULAW_DECODE[code as usize]
}

/// Decodes one A-law code.
#[inline]
pub fn alaw_to_linear(code: u8) -> i16 {
    ALAW_DECODE[code as usize]
}

/// μ-law code of digital silence (linear 0).
pub const ULAW_SILENCE: u8 = 0xFF;
/// A-law code of digital silence (linear 0 encodes to 0xD5, decoding to +8).
pub const ALAW_SILENCE: u8 = 0xD5;

fn check_room(input: usize, output: usize) -> Result<(), DspError> {
    if output < input {
        Err(DspError::FrameLength {
            what: "output",
            expected: input,
            actual: output,
        })
    } else {
        Ok(())
    }
}

/// Encodes `input` to μ-law into the start of `output`; returns the number of
/// bytes written (`input.len()`). Fails if `output` is shorter than `input`.
pub fn encode_ulaw(input: &[i16], output: &mut [u8]) -> Result<usize, DspError> {
    check_room(input.len(), output.len())?;
    for (o, &s) in output.iter_mut().zip(input) {
        *o = ulaw_from_linear(s);
    }
    Ok(input.len())
}

/// Encodes `input` to A-law into the start of `output`; returns the number of
/// bytes written (`input.len()`). Fails if `output` is shorter than `input`.
pub fn encode_alaw(input: &[i16], output: &mut [u8]) -> Result<usize, DspError> {
    check_room(input.len(), output.len())?;
    for (o, &s) in output.iter_mut().zip(input) {
        *o = alaw_from_linear(s);
    }
    Ok(input.len())
}

/// Decodes μ-law `input` into the start of `output`; returns the number of
/// samples written (`input.len()`). Fails if `output` is shorter than `input`.
pub fn decode_ulaw(input: &[u8], output: &mut [i16]) -> Result<usize, DspError> {
    check_room(input.len(), output.len())?;
    for (o, &c) in output.iter_mut().zip(input) {
        *o = ULAW_DECODE[c as usize];
    }
    Ok(input.len())
}

/// Decodes A-law `input` into the start of `output`; returns the number of
/// samples written (`input.len()`). Fails if `output` is shorter than `input`.
pub fn decode_alaw(input: &[u8], output: &mut [i16]) -> Result<usize, DspError> {
    check_room(input.len(), output.len())?;
    for (o, &c) in output.iter_mut().zip(input) {
        *o = ALAW_DECODE[c as usize];
    }
    Ok(input.len())
}

/// Translates μ-law codes to A-law codes (PCMU leg ↔ PCMA leg) through
/// linear PCM; `output` must be at least as long as `input`.
pub fn ulaw_to_alaw(input: &[u8], output: &mut [u8]) -> Result<usize, DspError> {
    check_room(input.len(), output.len())?;
    for (o, &c) in output.iter_mut().zip(input) {
        *o = alaw_from_linear(ulaw_to_linear(c));
    }
    Ok(input.len())
}

/// Translates A-law codes to μ-law codes; `output` must be at least as long
/// as `input`.
pub fn alaw_to_ulaw(input: &[u8], output: &mut [u8]) -> Result<usize, DspError> {
    check_room(input.len(), output.len())?;
    for (o, &c) in output.iter_mut().zip(input) {
        *o = ulaw_from_linear(alaw_to_linear(c));
    }
    Ok(input.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silence_codes() {
        assert_eq!(ulaw_from_linear(0), 0xFF);
        assert_eq!(alaw_from_linear(0), 0xD5);
        assert_eq!(ulaw_to_linear(0xFF), 0);
        assert_eq!(ulaw_to_linear(0x7F), 0);
        assert_eq!(alaw_to_linear(0xD5), 8);
        assert_eq!(alaw_to_linear(0x55), -8);
    }

    #[test]
    fn reference_values() {
        // Extremes of the G.711 tables.
        assert_eq!(ulaw_to_linear(0x80), 32124);
        assert_eq!(ulaw_to_linear(0x00), -32124);
        assert_eq!(alaw_to_linear(0xAA), 32256);
        assert_eq!(alaw_to_linear(0x2A), -32256);
        assert_eq!(ulaw_from_linear(i16::MAX), 0x80);
        assert_eq!(ulaw_from_linear(i16::MIN), 0x00);
        assert_eq!(alaw_from_linear(i16::MAX), 0xAA);
        assert_eq!(alaw_from_linear(i16::MIN), 0x2A);
        // Small values: μ-law segment 0 has a step of 8.
        assert_eq!(ulaw_to_linear(0xFE), 8);
        assert_eq!(ulaw_to_linear(0x7E), -8);
        assert_eq!(ulaw_from_linear(8), 0xFE);
        assert_eq!(ulaw_from_linear(-8), 0x7E);
        // A-law segment 0 step is 16.
        assert_eq!(alaw_to_linear(0xD4), 24);
        assert_eq!(alaw_from_linear(24), 0xD4);
        // 1000 in both laws (worked from the segment tables).
        assert_eq!(ulaw_from_linear(1000), 0xCE);
        assert_eq!(ulaw_to_linear(0xCE), 988);
        assert_eq!(alaw_from_linear(1000), 0xFA);
        assert_eq!(alaw_to_linear(0xFA), 1008);
    }

    #[test]
    fn all_codes_round_trip() {
        for code in 0..=255u8 {
            let lin = ulaw_to_linear(code);
            let back = ulaw_from_linear(lin);
            if code == 0x7F {
                // Negative zero: decodes to 0, which encodes as positive zero.
                assert_eq!(back, 0xFF);
            } else {
                assert_eq!(back, code, "μ-law {code:#04x} -> {lin}");
            }
            let lin = alaw_to_linear(code);
            assert_eq!(alaw_from_linear(lin), code, "A-law {code:#04x} -> {lin}");
        }
    }

    #[test]
    fn decode_tables_are_odd_symmetric_and_monotonic() {
        for code in 0..128u8 {
            assert_eq!(ULAW_DECODE[code as usize], -ULAW_DECODE[(code | 0x80) as usize]);
            assert_eq!(ALAW_DECODE[code as usize], -ALAW_DECODE[(code | 0x80) as usize]);
        }
        // μ-law positive codes 0xFF down to 0x80 increase.
        let pos: Vec<i16> = (0x80..=0xFFu8).rev().map(ulaw_to_linear).collect();
        assert!(pos.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn quantisation_error_is_at_most_half_a_step() {
        for x in i16::MIN..=i16::MAX {
            let m = i32::from(x).abs();
            // μ-law: segment e covers |x|+132 in [128<<e, 256<<e), step 8<<e.
            let u = i32::from(ulaw_to_linear(ulaw_from_linear(x)));
            let e = ((31 - ((m.min(ULAW_CLIP) + 132) as u32).leading_zeros()) as i32 - 7).max(0);
            let bound = if m > ULAW_CLIP { m - 32124 } else { 4 << e };
            assert!((i32::from(x) - u).abs() <= bound, "μ-law {x}: {u} (bound {bound})");
            // A-law: step 16 below 512, then 16<<(seg-1).
            let a = i32::from(alaw_to_linear(alaw_from_linear(x)));
            let seg = if m < 256 {
                1
            } else {
                (31 - (m as u32).leading_zeros()) as i32 - 7
            };
            let bound = (8 << (seg - 1)) + 1;
            assert!((i32::from(x) - a).abs() <= bound, "A-law {x}: {a} (bound {bound})");
        }
    }

    #[test]
    fn slices_and_lengths() -> Result<(), DspError> {
        let pcm = [0i16, 1000, -1000, i16::MAX, i16::MIN];
        let mut codes = [0u8; 8];
        assert_eq!(encode_ulaw(&pcm, &mut codes)?, 5);
        assert_eq!(&codes[..5], &[0xFF, 0xCE, 0x4E, 0x80, 0x00]);
        let mut back = [0i16; 5];
        decode_ulaw(&codes[..5], &mut back)?;
        assert_eq!(back, [0, 988, -988, 32124, -32124]);
        let mut short = [0u8; 2];
        assert!(matches!(
            encode_alaw(&pcm, &mut short),
            Err(DspError::FrameLength {
                expected: 5,
                actual: 2,
                ..
            })
        ));
        let mut a = [0u8; 5];
        encode_alaw(&pcm, &mut a)?;
        let mut lin = [0i16; 5];
        decode_alaw(&a, &mut lin)?;
        assert_eq!(lin, [8, 1008, -1008, 32256, -32256]);
        let mut u = [0u8; 5];
        alaw_to_ulaw(&a, &mut u)?;
        let mut a2 = [0u8; 5];
        ulaw_to_alaw(&u, &mut a2)?;
        // A-law silence decodes to +8, which is μ-law 0xFE, and back again.
        assert_eq!(u[0], 0xFE);
        assert_eq!(a2[0], ALAW_SILENCE);
        Ok(())
    }
}
