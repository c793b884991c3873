//! Requests the transaction layer builds itself: the ACK for a non-2xx final
//! response (RFC 3261 §17.1.1.3) and the CANCEL of a pending INVITE (§9.1).
//!
//! Both copy the INVITE's Request-URI, Call-ID, From, CSeq number, its
//! single top Via (so they reach the same next hop and, for CANCEL, match
//! the same server transaction, §9.2) and its Route headers.

use crate::sip::msg::{split_list, HeaderName, Message, Method, StartLine};
use bytes::Bytes;

/// The ACK for a 300–699 response to `invite` (§17.1.1.3): To comes from
/// the response (it carries the tag), everything else from the INVITE.
pub(crate) fn ack_for(invite: &Message, seq: u32, response: &Message) -> Message {
    let to = response
        .headers
        .get(&HeaderName::To)
        .or_else(|| invite.headers.get(&HeaderName::To))
        .cloned();
    derived(invite, Method::ACK, seq, to)
}

/// The CANCEL of `invite` (§9.1): To is the INVITE's own (no tag).
pub(crate) fn cancel_for(invite: &Message, seq: u32) -> Message {
    let to = invite.headers.get(&HeaderName::To).cloned();
    derived(invite, Method::CANCEL, seq, to)
}

fn derived(invite: &Message, method: Method, seq: u32, to: Option<Bytes>) -> Message {
    let uri = match &invite.start {
        StartLine::Request { uri, .. } => uri.clone(),
        // Only ever called with a request; an empty URI keeps this total.
        StartLine::Response { .. } => crate::sip::msg::Uri::sip(None, crate::sip::msg::Host(Bytes::new()), None),
    };
    let mut out = Message::request(method.clone(), uri);
    if let Some(via) = invite
        .headers
        .get(&HeaderName::Via)
        .and_then(|v| split_list(v).into_iter().next())
    {
        out.headers.push(HeaderName::Via, via);
    }
    for route in invite.headers.get_all(&HeaderName::Route) {
        out.headers.push(HeaderName::Route, route.clone());
    }
    let max_forwards = invite
        .headers
        .get(&HeaderName::MaxForwards)
        .cloned()
        .unwrap_or_else(|| Bytes::from_static(b"70"));
    out.headers.push(HeaderName::MaxForwards, max_forwards);
    for name in [HeaderName::From, HeaderName::To, HeaderName::CallId] {
        let value = if name == HeaderName::To {
            to.clone()
        } else {
            invite.headers.get(&name).cloned()
        };
        if let Some(v) = value {
            out.headers.push(name, v);
        }
    }
    out.headers
        .push(HeaderName::CSeq, Bytes::from(format!("{seq} {method}")));
    out
}
