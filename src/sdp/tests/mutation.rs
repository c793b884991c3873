//! Seeded mutation of real descriptions (RFC 8866 §5, RFC 3264 §6): the parser, printer and
//! answerer never panic, and whatever parses prints and re-parses to itself.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::crlf;
use super::vectors::ALL;
use crate::sdp::*;

const INTERESTING: &[u8] = b"=: /\r\n0123456789-.,;*\t\xff\xc3amcvost";

fn mutate(rng: &mut StdRng, input: &[u8]) -> Vec<u8> {
    let mut v = input.to_vec();
    for _ in 0..rng.random_range(1..6) {
        let len = v.len();
        match rng.random_range(0..7) {
            0 if len > 0 => {
                let i = rng.random_range(0..len);
                v[i] = INTERESTING[rng.random_range(0..INTERESTING.len())];
            }
            1 if len > 0 => {
                v.remove(rng.random_range(0..len));
            }
            2 => {
                let i = rng.random_range(0..=len);
                v.insert(i, INTERESTING[rng.random_range(0..INTERESTING.len())]);
            }
            3 if len > 0 => v.truncate(rng.random_range(0..len)),
            4 if len > 0 => {
                let i = rng.random_range(0..len);
                v[i] ^= 1 << rng.random_range(0..8);
            }
            5 => {
                // Swap two lines.
                let mut lines: Vec<Vec<u8>> = v.split(|b| *b == b'\n').map(<[u8]>::to_vec).collect();
                if lines.len() > 2 {
                    let a = rng.random_range(0..lines.len());
                    let b = rng.random_range(0..lines.len());
                    lines.swap(a, b);
                }
                v = lines.join(&b'\n');
            }
            _ => {
                // Duplicate a random slice.
                if len > 1 {
                    let a = rng.random_range(0..len);
                    let b = rng.random_range(a..len);
                    let chunk = v[a..b].to_vec();
                    let at = rng.random_range(0..=v.len());
                    v.splice(at..at, chunk);
                }
            }
        }
    }
    v
}

/// RFC 8866 §5: 30,000 seeded mutations never panic; parsed ones round-trip through print.
#[test]
fn rfc8866_s5_seeded_mutations_never_panic() {
    let mut rng = StdRng::seed_from_u64(8866);
    let policy = LegPolicy::default();
    let local = "192.0.2.1:20000".parse().unwrap();
    let seeds: Vec<Vec<u8>> = ALL.iter().map(|v| crlf(v).into_bytes()).collect();
    let (mut ok, mut err) = (0, 0);
    for i in 0..30_000 {
        let input = mutate(&mut rng, &seeds[i % seeds.len()]);
        match parse(&input) {
            Ok(sdp) => {
                ok += 1;
                let printed = sdp.print();
                assert_eq!(
                    parse(printed.as_bytes()).as_ref(),
                    Ok(&sdp),
                    "{}",
                    String::from_utf8_lossy(&input)
                );
                let mut st = SessionState::new(1);
                if let Ok(a) = answer(&sdp, &policy, local, &mut st) {
                    assert_eq!(a.sdp.media.len(), sdp.media.len());
                    let _ = offer(&policy, local, direction_of(&sdp), &mut st);
                    let _ = accept_answer(&sdp, &mut st);
                }
            }
            Err(e) => {
                err += 1;
                assert!(e.line >= 1);
            }
        }
    }
    assert!(ok > 1000 && err > 1000, "ok {ok} err {err}");
}
