//! N-party audio mixing for conferences, consult/barge and mixed recordings.
//!
//! Mix-minus (the broadcast "N-1" mix): each party hears the sum of every
//! other party, never itself, so there is no echo of one's own voice. Sums
//! are computed in `i32` and saturated to `i16` once per output sample (hard
//! clipping of 16-bit linear PCM). A [`Mixer`] keeps a scratch
//! accumulator so a steady conference allocates nothing per frame; output
//! vectors are resized only when the frame length or party count changes.

use super::DspError;

#[inline]
fn sat(v: i32) -> i16 {
    v.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16
}

fn frame_len(inputs: &[&[i16]]) -> Result<usize, DspError> {
    let n = inputs.first().map_or(0, |f| f.len());
    for f in inputs {
        super::check_len("mixer input", n, f.len())?;
    }
    Ok(n)
}

/// Mixes every input into `output` (e.g. a mixed-mode recording, or a
/// listen-only supervisor). All inputs must have the same length; `output`
/// is resized to it.
pub fn mix(inputs: &[&[i16]], output: &mut Vec<i16>) -> Result<(), DspError> {
    let n = frame_len(inputs)?;
    output.resize(n, 0);
    for (i, o) in output.iter_mut().enumerate() {
        *o = sat(inputs.iter().map(|f| i32::from(f[i])).sum());
    }
    Ok(())
}

/// Mix-minus without scratch space: `outputs[p]` receives the saturated sum
/// of every input but `inputs[p]`. All inputs must have the same length and
/// there must be one output per input; outputs are resized to the frame
/// length (no allocation once they have that length).
pub fn mix_minus(inputs: &[&[i16]], outputs: &mut [Vec<i16>]) -> Result<(), DspError> {
    let n = frame_len(inputs)?;
    check_parties(inputs.len(), outputs.len())?;
    for o in outputs.iter_mut() {
        o.resize(n, 0);
    }
    for i in 0..n {
        let total: i32 = inputs.iter().map(|f| i32::from(f[i])).sum();
        for (o, f) in outputs.iter_mut().zip(inputs) {
            o[i] = sat(total - i32::from(f[i]));
        }
    }
    Ok(())
}

fn check_parties(inputs: usize, outputs: usize) -> Result<(), DspError> {
    if inputs == outputs {
        Ok(())
    } else {
        Err(DspError::PartyCount { inputs, outputs })
    }
}

/// A mix-minus mixer with a reusable `i32` accumulator: one pass sums all
/// parties, one pass per party subtracts its own signal. Faster than
/// [`mix_minus`] for larger conferences, and allocation-free once warmed up.
#[derive(Debug, Default, Clone)]
pub struct Mixer {
    total: Vec<i32>,
}

impl Mixer {
    /// An empty mixer; the accumulator grows on first use.
    pub fn new() -> Self {
        Self::default()
    }

    /// A mixer whose accumulator already holds `frame_len` samples.
    pub fn with_frame_len(frame_len: usize) -> Self {
        Mixer {
            total: vec![0; frame_len],
        }
    }

    /// Mix-minus: `outputs[p]` = saturate(Σ inputs − `inputs[p]`). Same
    /// contract as [`mix_minus`].
    pub fn mix_minus(&mut self, inputs: &[&[i16]], outputs: &mut [Vec<i16>]) -> Result<(), DspError> {
        let n = frame_len(inputs)?;
        check_parties(inputs.len(), outputs.len())?;
        self.total.clear();
        self.total.resize(n, 0);
        for f in inputs {
            for (t, &s) in self.total.iter_mut().zip(f.iter()) {
                *t += i32::from(s);
            }
        }
        for (o, f) in outputs.iter_mut().zip(inputs) {
            o.resize(n, 0);
            for ((d, &t), &s) in o.iter_mut().zip(&self.total).zip(f.iter()) {
                *d = sat(t - i32::from(s));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_party_hears_the_others() -> Result<(), DspError> {
        let a = [100i16, -200, 300];
        let b = [10i16, 20, 30];
        let c = [1i16, 2, 3];
        let inputs: [&[i16]; 3] = [&a, &b, &c];
        let mut outs = vec![Vec::new(); 3];
        mix_minus(&inputs, &mut outs)?;
        assert_eq!(outs[0], vec![11, 22, 33]);
        assert_eq!(outs[1], vec![101, -198, 303]);
        assert_eq!(outs[2], vec![110, -180, 330]);
        let mut m = Mixer::new();
        let mut outs2 = vec![Vec::new(); 3];
        m.mix_minus(&inputs, &mut outs2)?;
        assert_eq!(outs, outs2);
        let mut all = Vec::new();
        mix(&inputs, &mut all)?;
        assert_eq!(all, vec![111, -178, 333]);
        Ok(())
    }

    #[test]
    fn sums_saturate_instead_of_wrapping() -> Result<(), DspError> {
        let loud = [30000i16, -30000];
        let inputs: [&[i16]; 3] = [&loud, &loud, &[0, 0]];
        let mut outs = vec![Vec::new(); 3];
        Mixer::new().mix_minus(&inputs, &mut outs)?;
        assert_eq!(outs[0], vec![30000, -30000]);
        assert_eq!(outs[2], vec![i16::MAX, i16::MIN]);
        let mut all = Vec::new();
        mix(&inputs, &mut all)?;
        assert_eq!(all, vec![i16::MAX, i16::MIN]);
        // The unsaturated total is used for subtraction: clipping is applied
        // once, at the output.
        let x = [20000i16];
        let y = [20000i16];
        let z = [-20000i16];
        let mut outs = vec![Vec::new(); 3];
        mix_minus(&[&x, &y, &z], &mut outs)?;
        assert_eq!(outs[2], vec![i16::MAX]);
        assert_eq!(outs[0], vec![0]);
        Ok(())
    }

    #[test]
    fn one_party_hears_silence_and_none_is_fine() -> Result<(), DspError> {
        let a = [5i16; 160];
        let mut outs = vec![Vec::new()];
        mix_minus(&[&a], &mut outs)?;
        assert_eq!(outs[0], vec![0; 160]);
        let mut none: Vec<Vec<i16>> = Vec::new();
        mix_minus(&[], &mut none)?;
        Mixer::new().mix_minus(&[], &mut none)?;
        Ok(())
    }

    #[test]
    fn mismatches_are_errors() {
        let a = [0i16; 160];
        let b = [0i16; 80];
        let mut outs = vec![Vec::new(); 2];
        assert!(matches!(
            mix_minus(&[&a, &b], &mut outs),
            Err(DspError::FrameLength { .. })
        ));
        let mut outs = vec![Vec::new(); 3];
        assert!(matches!(
            mix_minus(&[&a, &a], &mut outs),
            Err(DspError::PartyCount { .. })
        ));
        assert!(matches!(
            Mixer::new().mix_minus(&[&a, &a], &mut outs),
            Err(DspError::PartyCount { .. })
        ));
    }

    #[test]
    fn steady_state_does_not_reallocate() -> Result<(), DspError> {
        let frames: Vec<Vec<i16>> = (0..8).map(|p| vec![p as i16; 160]).collect();
        let inputs: Vec<&[i16]> = frames.iter().map(|f| f.as_slice()).collect();
        let mut outs = vec![Vec::new(); 8];
        let mut m = Mixer::with_frame_len(160);
        m.mix_minus(&inputs, &mut outs)?;
        let ptrs: Vec<*const i16> = outs.iter().map(|o| o.as_ptr()).collect();
        for _ in 0..10 {
            m.mix_minus(&inputs, &mut outs)?;
        }
        assert_eq!(ptrs, outs.iter().map(|o| o.as_ptr()).collect::<Vec<_>>());
        // Party 3 hears 0+1+2+4+5+6+7 = 25.
        assert!(outs[3].iter().all(|&v| v == 25));
        Ok(())
    }
}
