//! A seeded mutation loop over the RFC 4475 vectors and a few edge inputs:
//! nothing the network can send may panic the parser (RFC 4475 §1: the
//! element must not crash), and whatever parses prints back to itself.

use super::*;

// ------------------------------------------------------- never panics

macro_rules! vectors {
    ($($name:literal),* $(,)?) => {
        [$(include_bytes!(concat!("../../../../tests/vectors/rfc4475/", $name, ".dat")) as &[u8]),*]
    };
}

const VECTORS: [&[u8]; 50] = vectors![
    "badaspec",
    "badbranch",
    "baddate",
    "baddn",
    "badinv01",
    "badvers",
    "bcast",
    "bext01",
    "bigcode",
    "clerr",
    "cparam01",
    "cparam02",
    "dblreq",
    "esc01",
    "esc02",
    "escnull",
    "escruri",
    "insuf",
    "intmeth",
    "inv2543",
    "invut",
    "longreq",
    "ltgtruri",
    "lwsdisp",
    "lwsruri",
    "lwsstart",
    "mcl01",
    "mismatch01",
    "mismatch02",
    "mpart01",
    "multi01",
    "ncl",
    "noreason",
    "novelsc",
    "quotbal",
    "regaut01",
    "regbadct",
    "regescrt",
    "scalar02",
    "scalarlg",
    "sdp01",
    "semiuri",
    "test",
    "transports",
    "trws",
    "unkscm",
    "unksm2",
    "unreason",
    "wsinv",
    "zeromf",
];

/// Bytes that steer a parser into its edge cases.
const INTERESTING: &[u8] = b"\r\n\t :;,<>\"\\%@?=[]/0123456789-\0\xff";

/// Everything the layer exposes, run on one input; says whether the
/// datagram parsed and whether it passed `envelope()`.
fn exercise(data: &[u8]) -> (bool, bool) {
    let limits = Limits::default();
    let buf = Bytes::copy_from_slice(data);
    let mut out = (false, false);
    for stream in [false, true] {
        match parse_message(buf.clone(), &limits, stream) {
            Ok(m) => {
                let env = m.envelope();
                if !stream {
                    out = (true, env.is_ok());
                }
                // What we print, we parse back to the same message.
                let printed = m.to_bytes();
                if printed.len() <= limits.max_message {
                    let again = parse_datagram(printed, &limits).unwrap_or_else(|e| panic!("{e:?}: {m:?}"));
                    assert_eq!(strip_cl(&again), strip_cl(&m));
                    assert_eq!(again.envelope().is_ok(), env.is_ok());
                }
                for h in m.headers.iter() {
                    let _ = parse_any(h);
                    let _ = ContactList::parse(&h.value);
                    let _ = <ContentType as TypedHeader>::parse(&h.value);
                    let _ = <Require as TypedHeader>::parse(&h.value);
                    let _ = <Expires as TypedHeader>::parse(&h.value);
                }
                if let Some(u) = m.uri() {
                    let _ = u.user_unescaped();
                    let _ = u.host.ip();
                }
                let _ = Message::response_to(&m, StatusCode::OK, None, Some("t"));
            }
            Err(e) => {
                let _ = e.error.reason();
            }
        }
    }
    let _ = frame_stream(data, &limits);
    let _ = Uri::parse(&buf);
    out
}

#[test]
fn mutated_vectors_never_panic() {
    // SB_MUTATIONS / SB_SEED widen the search locally; CI runs the default.
    let env = |k: &str, d: u64| std::env::var(k).ok().and_then(|v| v.parse().ok()).unwrap_or(d);
    let mut rng = Rng(env("SB_SEED", 0x005e_ed0f_5111_7c4b).max(1));
    let mut data = Vec::with_capacity(70_000);
    let (mut parsed, mut enveloped) = (0, 0);
    for i in 0..env("SB_MUTATIONS", 20_000) as usize {
        let base = VECTORS[i % VECTORS.len()];
        data.clear();
        data.extend_from_slice(base);
        for _ in 0..1 + rng.below(8) {
            let pos = rng.below(data.len() + 1);
            let byte = if rng.below(2) == 0 {
                INTERESTING[rng.below(INTERESTING.len())]
            } else {
                rng.next() as u8
            };
            match rng.below(6) {
                0 | 1 if pos < data.len() => data[pos] = byte,
                2 if pos < data.len() => data[pos] ^= 1 << rng.below(8),
                3 if pos < data.len() => {
                    let n = rng.below(16).min(data.len() - pos);
                    data.drain(pos..pos + n);
                }
                4 => {
                    // Duplicate a slice (repeats headers, digits, separators).
                    let len = rng.below(64).min(data.len().saturating_sub(pos));
                    let chunk = data[pos..pos + len].to_vec();
                    data.splice(pos..pos, chunk);
                }
                _ => data.insert(pos.min(data.len()), byte),
            }
        }
        // Truncations test the Incomplete paths too.
        let cut = if rng.below(4) == 0 {
            rng.below(data.len() + 1)
        } else {
            data.len()
        };
        let (p, e) = exercise(&data[..cut]);
        parsed += usize::from(p);
        enveloped += usize::from(e);
    }
    // The loop must reach past the framer, not only bounce off it.
    assert!(
        parsed > 2_000 && enveloped > 1_000,
        "parsed {parsed}, enveloped {enveloped}"
    );
}

#[test]
fn edge_inputs_never_panic() {
    let mut inputs: Vec<Vec<u8>> = vec![
        vec![],
        b"\r".to_vec(),
        b"\n".to_vec(),
        b"\r\n\r\n".to_vec(),
        b"SIP/".to_vec(),
        b"SIP/2.0 200".to_vec(),
        b"A B C\n\n".to_vec(),
        b"A B SIP/2.0\n \n".to_vec(),
        b"A sip:[ SIP/2.0\r\n\r\n".to_vec(),
        b"A sip:a@[::1 SIP/2.0\r\n\r\n".to_vec(),
        b"A sip:a@b:99999999999999999999 SIP/2.0\r\n\r\n".to_vec(),
        b"A s:\xff SIP/2.0\r\nVia: SIP/2.0/UDP [\r\n\r\n".to_vec(),
        b"A sip:a SIP/2.0\r\nContent-Length: 18446744073709551616\r\n\r\n".to_vec(),
        b"A sip:a SIP/2.0\r\nFrom: \"\\\r\nTo: <\r\nContact: \"\\\"\r\nVia: SIP/2.0/UDP h;x=\"\\\r\n\r\n".to_vec(),
    ];
    inputs.push(vec![b'\n'; 70_000]);
    inputs.push([b"INVITE sip:a SIP/2.0\r\n".as_slice(), &vec![b' '; 70_000]].concat());
    inputs.push([b"INVITE sip:a SIP/2.0\r\nX: ".as_slice(), &b"\r\n x".repeat(5000)].concat());
    for i in inputs {
        exercise(&i);
    }
}
