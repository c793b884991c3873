//! Queue announcements made of tones (issue 4 "caller experience"): the
//! switch tells a queued caller their place in line and the expected wait
//! without any third-party recording, as a short tone sequence a caller
//! learns at once and a test can decode:
//!
//! 1. a rising two-note chime (660 Hz then 880 Hz, 150 ms each): "here is
//!    your place in line";
//! 2. the place in line, one group of 1 kHz pips per decimal digit
//!    (1 to 9 pips, 10 for a zero; 120 ms on, 120 ms off; 500 ms between
//!    digits), the way pulse dialling counts digits;
//! 3. a falling chime (880 Hz then 660 Hz): "and the expected wait, in
//!    minutes";
//! 4. the wait in whole minutes (rounded up, at least 1), the same way with
//!    600 Hz pips.
//!
//! Numbers above 99 are said as 99 ("99 or more"): nobody counts three
//! groups of pips. Everything is 8 kHz mono 16-bit, at −16 dBFS per tone
//! (well above the hold music at about −21 dBFS, well below clipping).

use super::tone::sine;

/// Sample rate of announcements (the media plane's narrowband frame rate).
pub const PROMPT_RATE: u32 = 8000;
/// Frequency of the place-in-line pips.
pub const POSITION_PIP_HZ: f64 = 1000.0;
/// Frequency of the expected-wait pips.
pub const WAIT_PIP_HZ: f64 = 600.0;
/// Level of every tone of an announcement.
pub const PROMPT_DBFS: f64 = -16.0;
/// Length of one pip, and of the gap after it.
pub const PIP_MS: u32 = 120;
/// Gap between two digits' pip groups.
pub const DIGIT_GAP_MS: u32 = 500;
/// Largest number an announcement says.
pub const MAX_SAID: u32 = 99;

fn ms(n: u32) -> usize {
    (PROMPT_RATE * n / 1000) as usize
}

fn tone(out: &mut Vec<i16>, freq: f64, len_ms: u32) {
    out.extend(sine(freq, PROMPT_DBFS, PROMPT_RATE, ms(len_ms)));
}

fn silence(out: &mut Vec<i16>, len_ms: u32) {
    out.resize(out.len() + ms(len_ms), 0);
}

/// Pip groups for `n` (capped at [`MAX_SAID`]): one group per decimal
/// digit, ten pips for a zero.
fn say_number(out: &mut Vec<i16>, n: u32, freq: f64) {
    let digits: Vec<u32> = n
        .min(MAX_SAID)
        .to_string()
        .bytes()
        .map(|b| u32::from(b - b'0'))
        .collect();
    for (i, d) in digits.iter().enumerate() {
        if i > 0 {
            silence(out, DIGIT_GAP_MS - PIP_MS);
        }
        let pips = if *d == 0 { 10 } else { *d };
        for _ in 0..pips {
            tone(out, freq, PIP_MS);
            silence(out, PIP_MS);
        }
    }
}

/// The announcement for a caller at `position` (1 = next) who is expected
/// to wait `wait_s` seconds (said in whole minutes, rounded up, at least 1).
pub fn queue_announcement(position: u32, wait_s: u64) -> Vec<i16> {
    let minutes = u32::try_from(wait_s.div_ceil(60).max(1)).unwrap_or(u32::MAX);
    let mut out = Vec::with_capacity(ms(8000));
    tone(&mut out, 660.0, 150);
    tone(&mut out, 880.0, 150);
    silence(&mut out, 400);
    say_number(&mut out, position.max(1), POSITION_PIP_HZ);
    silence(&mut out, 600);
    tone(&mut out, 880.0, 150);
    tone(&mut out, 660.0, 150);
    silence(&mut out, 400);
    say_number(&mut out, minutes, WAIT_PIP_HZ);
    silence(&mut out, 300);
    out
}

/// Decodes an announcement back into (place in line, wait in minutes) by
/// counting pip groups per frequency in 20 ms frames; for tests and for
/// checking what a caller heard. `None` if either number is missing.
pub fn decode_announcement(samples: &[i16]) -> Option<(u32, u32)> {
    let frame = ms(20);
    let mut position = Counter::default();
    let mut wait = Counter::default();
    for f in samples.chunks_exact(frame) {
        let p = super::tone::tone_level_dbfs(f, POSITION_PIP_HZ, PROMPT_RATE) > PROMPT_DBFS - 8.0;
        let w = super::tone::tone_level_dbfs(f, WAIT_PIP_HZ, PROMPT_RATE) > PROMPT_DBFS - 8.0;
        position.frame(p);
        wait.frame(w);
    }
    Some((position.finish()?, wait.finish()?))
}

/// Counts pips and digit groups of one frequency, frame by frame.
#[derive(Default)]
struct Counter {
    on: bool,
    quiet_frames: u32,
    pips: u32,
    digits: Vec<u32>,
}

impl Counter {
    fn frame(&mut self, tone: bool) {
        if tone && !self.on {
            if self.pips > 0 && self.quiet_frames * 20 >= DIGIT_GAP_MS - PIP_MS {
                self.close_digit();
            }
            self.pips += 1;
        }
        if tone {
            self.quiet_frames = 0;
        } else {
            self.quiet_frames += 1;
        }
        self.on = tone;
    }

    fn close_digit(&mut self) {
        self.digits.push(self.pips % 10);
        self.pips = 0;
    }

    fn finish(mut self) -> Option<u32> {
        if self.pips > 0 {
            self.close_digit();
        }
        if self.digits.is_empty() {
            return None;
        }
        Some(self.digits.iter().fold(0, |n, d| n * 10 + d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announcements_decode_to_what_they_say() {
        for (pos, wait_s, minutes) in [(1, 30, 1), (3, 181, 4), (10, 600, 10), (42, 3599, 60), (250, 0, 1)] {
            let a = queue_announcement(pos, wait_s);
            assert_eq!(
                decode_announcement(&a),
                Some((pos.min(MAX_SAID), minutes)),
                "{pos} {wait_s}"
            );
        }
    }

    #[test]
    fn silence_says_nothing() {
        assert_eq!(decode_announcement(&[0i16; 8000]), None);
    }
}
