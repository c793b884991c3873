//! SIP URI equivalence (RFC 3261 §19.1.4), the rule the registrar uses to
//! match a Contact against existing bindings (§10.3 step 7) and the digest
//! verifier uses to match `uri` against the Request-URI (RFC 7616 §3.4.6).

use crate::sip::msg::{Params, Uri};

/// Parameters that must match whenever either URI carries them (§19.1.4).
const STRICT_PARAMS: [&str; 5] = ["transport", "user", "ttl", "method", "maddr"];

/// True when `a` and `b` are equivalent SIP/SIPS URIs per §19.1.4: same
/// scheme, user info compared case-sensitively after %-decoding, host
/// case-insensitively, same explicit port (5060 ≠ absent), the strict
/// parameters equal when either has them, other parameters equal when both
/// have them, and the same headers. Non-SIP URIs compare byte-for-byte.
pub fn uri_equivalent(a: &Uri, b: &Uri) -> bool {
    if !a.is_sip() || !b.is_sip() {
        return a.scheme == b.scheme && a.to_bytes().eq_ignore_ascii_case(&b.to_bytes());
    }
    a.scheme == b.scheme
        && a.user_unescaped() == b.user_unescaped()
        && a.password == b.password
        && a.host.0.eq_ignore_ascii_case(&b.host.0)
        && a.port == b.port
        && params_equivalent(&a.params, &b.params)
        && a.headers == b.headers
}

fn params_equivalent(a: &Params, b: &Params) -> bool {
    let same = |x: Option<Option<&bytes::Bytes>>, y: Option<Option<&bytes::Bytes>>| match (x, y) {
        (Some(Some(x)), Some(Some(y))) => x.eq_ignore_ascii_case(y),
        (Some(None), Some(None)) | (None, None) => true,
        _ => false,
    };
    let strict = STRICT_PARAMS.iter().all(|n| same(a.get(n), b.get(n)));
    let common = a.iter().all(|(n, _)| {
        let n = String::from_utf8_lossy(n);
        b.get(&n).is_none() || same(a.get(&n), b.get(&n))
    });
    strict && common
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn eq(a: &str, b: &str) -> bool {
        let p = |s: &str| Uri::parse(&Bytes::copy_from_slice(s.as_bytes())).unwrap();
        uri_equivalent(&p(a), &p(b))
    }

    #[test]
    fn rfc3261_19_1_4_equivalent_examples() {
        assert!(eq(
            "sip:%61lice@atlanta.com;transport=TCP",
            "sip:alice@AtLanTa.CoM;Transport=tcp"
        ));
        assert!(eq("sip:carol@chicago.com", "sip:carol@chicago.com;newparam=5"));
        assert!(eq(
            "sip:carol@chicago.com;security=on",
            "sip:carol@chicago.com;newparam=5"
        ));
        assert!(eq(
            "sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
            "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com"
        ));
    }

    #[test]
    fn rfc3261_19_1_4_non_equivalent_examples() {
        assert!(!eq(
            "SIP:ALICE@AtLanTa.CoM;Transport=udp",
            "sip:alice@AtLanTa.CoM;Transport=UDP"
        ));
        assert!(!eq("sip:bob@biloxi.com", "sip:bob@biloxi.com:5060"));
        assert!(!eq("sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp"));
        assert!(!eq("sip:bob@biloxi.com", "sip:bob@biloxi.com:6000;transport=tcp"));
        assert!(!eq(
            "sip:carol@chicago.com",
            "sip:carol@chicago.com?Subject=next%20meeting"
        ));
        assert!(!eq(
            "sip:carol@chicago.com;security=on",
            "sip:carol@chicago.com;security=off"
        ));
    }
}
