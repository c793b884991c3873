//! Dialogs (RFC 3261 §12): the state a B2BUA leg keeps to send and match
//! in-dialog requests — Call-ID, tags, CSeq counters, remote target and
//! route set. Pure: the engine decides when a dialog is created (UAS on a
//! 2xx/1xx it sends, UAC on a 2xx/1xx it receives) and terminated.

use crate::sip::msg::typed::{ContactList, NameAddr};
use crate::sip::msg::Host;
use crate::sip::msg::{HeaderName, Message, Method, ParseError, Uri};
use bytes::Bytes;

/// A dialog identifier from our side: Call-ID and our tag (§12, RFC 3261
/// §12: the remote tag completes it; we key on what we chose).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DialogKey {
    /// The Call-ID.
    pub call_id: Bytes,
    /// Our tag (To tag for a UAS dialog, From tag for a UAC dialog).
    pub local_tag: Bytes,
}

/// Early (after a 1xx with a tag) or confirmed (after a 2xx) (§12.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DialogState {
    /// Created by a provisional response.
    Early,
    /// Created or confirmed by a 2xx.
    Confirmed,
}

/// One dialog (§12.1.1 UAS, §12.1.2 UAC).
///
/// A dialog lives as long as its call, so it is kept small: URIs are held
/// in their printed form, in buffers of their own (never slices of the
/// message that created the dialog), and parsed only when a request is
/// built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dialog {
    /// Call-ID and our tag.
    pub key: DialogKey,
    /// The peer's tag.
    pub remote_tag: Bytes,
    /// Our name-addr with our tag (the From of our requests).
    pub local_uri: Bytes,
    /// The peer's name-addr without its tag (the To of our requests).
    pub remote_uri: Bytes,
    /// Where in-dialog requests go: the peer's Contact URI (§12.1.1).
    pub remote_target: Bytes,
    /// Route set from Record-Route (reversed for a UAC, §12.1.2).
    pub route_set: Vec<Bytes>,
    /// Last CSeq we sent.
    pub local_seq: u32,
    /// Last CSeq we received (None until the first in-dialog request).
    pub remote_seq: Option<u32>,
    /// Early or confirmed.
    pub state: DialogState,
}

/// What is wrong with a message that should have formed or matched a dialog.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DialogError {
    /// A header needed for the dialog is missing or malformed.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// No Contact in a dialog-creating message (§12.1.1, §12.1.2).
    #[error("Missing Contact")]
    MissingContact,
    /// The in-dialog CSeq went backwards (§12.2.2: answer 500).
    #[error("CSeq Out of Order")]
    CSeqOutOfOrder,
}

/// Copies `parts` into one exactly sized buffer and returns a slice of it
/// per part: a dialog's texts cost one allocation, not one each, and never
/// pin the message they came from.
fn pack<const N: usize>(parts: [&[u8]; N]) -> [Bytes; N] {
    let mut buf = Vec::with_capacity(parts.iter().map(|p| p.len()).sum());
    let mut ends = [0usize; N];
    for (i, p) in parts.iter().enumerate() {
        buf.extend_from_slice(p);
        ends[i] = buf.len();
    }
    let buf = Bytes::from(buf);
    std::array::from_fn(|i| buf.slice(if i == 0 { 0 } else { ends[i - 1] }..ends[i]))
}

/// A copy in an exactly sized buffer of its own (not a slice pinning a
/// whole message, nor a builder's spare capacity).
fn fresh(b: &Bytes) -> Bytes {
    Bytes::copy_from_slice(b)
}

fn first_contact_uri(msg: &Message) -> Result<Uri, DialogError> {
    let raw = msg
        .headers
        .get(&HeaderName::Contact)
        .ok_or(DialogError::MissingContact)?;
    match ContactList::parse(raw)? {
        ContactList::List(list) => list
            .into_iter()
            .next()
            .map(|c| c.0.uri)
            .ok_or(DialogError::MissingContact),
        ContactList::Star => Err(DialogError::MissingContact),
    }
}

impl Dialog {
    /// The UAS side of a dialog created by our response to `invite`
    /// (§12.1.1): route set from Record-Route in order, remote target from
    /// the request's Contact.
    pub fn uas(invite: &Message, local_tag: Bytes, state: DialogState) -> Result<Dialog, DialogError> {
        let env = invite.envelope()?;
        let remote_target = first_contact_uri(invite)?;
        let route_set = invite.headers.values(&HeaderName::RecordRoute);
        let mut local_uri = env.to.clone();
        local_uri.params.set("tag", Some(local_tag.clone()));
        let mut remote_uri = env.from.clone();
        remote_uri.params.remove("tag");
        let [call_id, local_tag, remote_tag, local_uri, remote_uri, remote_target] = pack([
            &env.call_id,
            &local_tag,
            &env.from.tag().unwrap_or_default(),
            &local_uri.to_bytes(),
            &remote_uri.to_bytes(),
            &remote_target.to_bytes(),
        ]);
        Ok(Dialog {
            key: DialogKey { call_id, local_tag },
            remote_tag,
            local_uri,
            remote_uri,
            remote_target,
            route_set: route_set.iter().map(fresh).collect(),
            local_seq: 0,
            remote_seq: Some(env.cseq.seq),
            state,
        })
    }

    /// The UAC side of a dialog created by `response` to our `request`
    /// (§12.1.2): route set from Record-Route reversed, remote target from
    /// the response's Contact.
    pub fn uac(request: &Message, response: &Message, state: DialogState) -> Result<Dialog, DialogError> {
        let req = request.envelope()?;
        let resp = response.envelope()?;
        let remote_target = first_contact_uri(response)?;
        let mut route_set = response.headers.values(&HeaderName::RecordRoute);
        route_set.reverse();
        let mut remote_uri = resp.to.clone();
        remote_uri.params.remove("tag");
        let [call_id, local_tag, remote_tag, local_uri, remote_uri, remote_target] = pack([
            &req.call_id,
            &req.from.tag().unwrap_or_default(),
            &resp.to.tag().unwrap_or_default(),
            &req.from.to_bytes(),
            &remote_uri.to_bytes(),
            &remote_target.to_bytes(),
        ]);
        Ok(Dialog {
            key: DialogKey { call_id, local_tag },
            remote_tag,
            local_uri,
            remote_uri,
            remote_target,
            route_set: route_set.iter().map(fresh).collect(),
            local_seq: req.cseq.seq,
            remote_seq: None,
            state,
        })
    }

    /// Builds an in-dialog request (§12.2.1.1): Request-URI = remote target
    /// (loose routing assumed), To/From with tags, Call-ID, next CSeq (the
    /// same CSeq number for ACK and CANCEL is the caller's job: pass
    /// `cseq_override`), Route headers from the route set. Via and
    /// Max-Forwards are added by the sender.
    pub fn request(&mut self, method: Method, cseq_override: Option<u32>) -> Message {
        let seq = match cseq_override {
            Some(s) => s,
            None => {
                self.local_seq = self.local_seq.wrapping_add(1);
                self.local_seq
            }
        };
        let target = Uri::parse(&self.remote_target)
            .unwrap_or_else(|| Uri::sip(None, Host(Bytes::from_static(b"invalid")), None));
        let mut msg = Message::request(method.clone(), target);
        for r in &self.route_set {
            msg.headers.push(HeaderName::Route, r.clone());
        }
        let to = if self.remote_tag.is_empty() {
            self.remote_uri.clone()
        } else {
            let mut v = Vec::with_capacity(self.remote_uri.len() + self.remote_tag.len() + 5);
            v.extend_from_slice(&self.remote_uri);
            v.extend_from_slice(b";tag=");
            v.extend_from_slice(&self.remote_tag);
            Bytes::from(v)
        };
        msg.headers.push(HeaderName::From, self.local_uri.clone());
        msg.headers.push(HeaderName::To, to);
        msg.headers.push(HeaderName::CallId, self.key.call_id.clone());
        msg.headers
            .push(HeaderName::CSeq, Bytes::from(format!("{seq} {method}")));
        msg
    }

    /// Checks and records the CSeq of an in-dialog request (§12.2.2);
    /// ACK and CANCEL carry the INVITE's number and are not checked.
    pub fn accept_remote_cseq(&mut self, method: &Method, seq: u32) -> Result<(), DialogError> {
        if *method == Method::ACK || *method == Method::CANCEL {
            return Ok(());
        }
        if let Some(last) = self.remote_seq {
            if seq <= last {
                return Err(DialogError::CSeqOutOfOrder);
            }
        }
        self.remote_seq = Some(seq);
        Ok(())
    }

    /// The user part of our own URI (for a Contact we put in requests).
    pub fn local_user(&self) -> Option<String> {
        let na = NameAddr::parse_header(&self.local_uri, "From").ok()?;
        na.uri.user.map(|u| String::from_utf8_lossy(&u).into_owned())
    }

    /// Updates the remote target from a target-refresh request or its 2xx
    /// (re-INVITE, UPDATE: §12.2.1.2, §12.2.2).
    pub fn refresh_target(&mut self, msg: &Message) {
        if let Ok(uri) = first_contact_uri(msg) {
            self.remote_target = fresh(&uri.to_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::msg::{parse_datagram, Limits};

    fn msg(s: &str) -> Message {
        parse_datagram(Bytes::from(s.replace('\n', "\r\n")), &Limits::default()).expect("parses")
    }

    const INVITE: &str = "INVITE sip:1001@10.0.0.1 SIP/2.0\nVia: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKa\nRecord-Route: <sip:p1;lr>, <sip:p2;lr>\nFrom: <sip:1000@x>;tag=aa\nTo: <sip:1001@x>\nCall-ID: c1\nCSeq: 7 INVITE\nContact: <sip:1000@10.0.0.2:5062>\nContent-Length: 0\n\n";

    #[test]
    fn uas_dialog_per_12_1_1() {
        let inv = msg(INVITE);
        let mut d = Dialog::uas(&inv, Bytes::from_static(b"bb"), DialogState::Confirmed).expect("dialog");
        assert_eq!(d.remote_tag, Bytes::from_static(b"aa"));
        assert_eq!(d.remote_seq, Some(7));
        assert_eq!(d.route_set.len(), 2);
        assert_eq!(&d.remote_target[..], b"sip:1000@10.0.0.2:5062");
        let bye = d.request(Method::BYE, None);
        let text = String::from_utf8_lossy(&bye.to_bytes()).into_owned();
        assert!(text.starts_with("BYE sip:1000@10.0.0.2:5062 SIP/2.0\r\n"), "{text}");
        assert!(text.contains("Route: <sip:p1;lr>\r\nRoute: <sip:p2;lr>"), "{text}");
        assert!(text.contains("From: <sip:1001@x>;tag=bb"), "{text}");
        assert!(text.contains("To: <sip:1000@x>;tag=aa"), "{text}");
        assert!(text.contains("CSeq: 1 BYE"), "{text}");
    }

    #[test]
    fn uac_dialog_reverses_route_set_12_1_2() {
        let inv = msg(&INVITE.replace("Record-Route: <sip:p1;lr>, <sip:p2;lr>\n", ""));
        let resp = msg("SIP/2.0 200 OK\nVia: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKa\nRecord-Route: <sip:p1;lr>\nRecord-Route: <sip:p2;lr>\nFrom: <sip:1000@x>;tag=aa\nTo: <sip:1001@x>;tag=zz\nCall-ID: c1\nCSeq: 7 INVITE\nContact: <sip:1001@10.0.0.9>\nContent-Length: 0\n\n");
        let mut d = Dialog::uac(&inv, &resp, DialogState::Confirmed).expect("dialog");
        assert_eq!(d.route_set[0], Bytes::from_static(b"<sip:p2;lr>"));
        assert_eq!(d.local_seq, 7);
        let bye = d.request(Method::BYE, None);
        assert!(String::from_utf8_lossy(&bye.to_bytes()).contains("CSeq: 8 BYE"));
    }

    #[test]
    fn cseq_must_increase_12_2_2() {
        let mut d = Dialog::uas(&msg(INVITE), Bytes::from_static(b"bb"), DialogState::Confirmed).expect("dialog");
        assert_eq!(d.accept_remote_cseq(&Method::BYE, 7), Err(DialogError::CSeqOutOfOrder));
        assert_eq!(d.accept_remote_cseq(&Method::BYE, 8), Ok(()));
        assert_eq!(d.accept_remote_cseq(&Method::ACK, 7), Ok(()));
    }
}
