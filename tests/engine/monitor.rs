//! Silent monitor of a queue call (issue 4 item 5; spec SUP-2, SUP-3,
//! SUP-4), in virtual time: supervisor sam (`demo-token-sam-supervisor`)
//! monitors alice's connected call from phone 1009; the switch INVITEs that
//! phone with a `sendrecv` offer, ACKs its answer and tells the media
//! workers to feed it; the call's end hangs the monitor up, the
//! supervisor's hang-up leaves the call up.

use crate::sim::*;
use std::time::Duration;
use switchboard::call::media::MediaCommand;
use switchboard::engine::desk::{DeskCommand, DeskError, DeskReply, SupervisorCommand};
use switchboard::sip::msg::{Message, Method};

const ALICE: &str = "demo-token-alice";
const SAM: &str = "demo-token-sam-supervisor";

/// A connected queue call: customer 1000 → queue 5000 → alice (1001);
/// sam's phone 1009 registered.
struct Connected {
    h: Harness,
    customer: Ua,
    customer_dlg: Dlg,
    alice: Ua,
    sam: Ua,
    uid: String,
}

fn connected() -> Connected {
    let mut h = Harness::new();
    let mut customer = Ua::phone("1000", "192.0.2.10");
    let mut alice = Ua::phone("1001", "192.0.2.21");
    let mut sam = Ua::phone("1009", "192.0.2.29");
    h.register(&mut alice, 3600);
    h.register(&mut sam, 3600);
    let now = h.now();
    h.engine
        .desk(now, ALICE, DeskCommand::Login { state: None })
        .expect("login");
    h.input_drain();
    let out = h.place_call(&mut customer, "5000");
    let invite = h.expect_request(alice.addr, "INVITE");
    let answer = sdp(&alice.addr.ip().to_string(), 52000);
    h.send(
        &alice,
        &response(
            &invite,
            200,
            "OK",
            Some("alicetag"),
            &[("Contact", &alice.contact())],
            Some(("application/sdp", &answer)),
        ),
    );
    let ok = h.expect_response(customer.addr, 200);
    let customer_dlg = customer.dialog_from_2xx(&out, &ok);
    let ack = customer.ack_2xx(&customer_dlg, out.cseq).text();
    h.send(&customer, &ack);
    h.expect_request(alice.addr, "ACK");
    let uid = match supervise(&mut h, SAM, SupervisorCommand::Interactions) {
        Ok(DeskReply::Interactions(list)) => list[0].interaction.clone(),
        other => panic!("{other:?}"),
    };
    h.media.clear();
    h.desk.clear();
    h.clear_wire();
    Connected {
        h,
        customer,
        customer_dlg,
        alice,
        sam,
        uid,
    }
}

fn supervise(h: &mut Harness, token: &str, cmd: SupervisorCommand) -> Result<DeskReply, DeskError> {
    let now = h.now();
    let r = h.engine.supervise(now, token, cmd);
    h.input_drain();
    r
}

fn monitor(uid: &str, ext: Option<&str>) -> SupervisorCommand {
    SupervisorCommand::Monitor {
        interaction: uid.to_owned(),
        extension: ext.map(String::from),
    }
}

/// The supervisor phone's answer (`recvonly`: a phone may) to the switch's offer.
fn recvonly(ip: &str, port: u16) -> String {
    format!(
        "v=0\r\no=- 5 5 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\nm=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=recvonly\r\n"
    )
}

/// Starts a monitor from 1009 and answers it; the INVITE the phone got.
fn monitor_answered(c: &mut Connected) -> Message {
    supervise(&mut c.h, SAM, monitor(&c.uid, Some("1009"))).expect("monitor");
    let invite = c.h.expect_request(c.sam.addr, "INVITE");
    let answer = recvonly(&c.sam.addr.ip().to_string(), 53000);
    c.h.send(
        &c.sam,
        &response(
            &invite,
            200,
            "OK",
            Some("samtag"),
            &[("Contact", &c.sam.contact())],
            Some(("application/sdp", &answer)),
        ),
    );
    c.h.expect_request(c.sam.addr, "ACK");
    invite
}

/// spec: SUP-2 — the supervisor's phone gets the switch's `sendonly` offer
/// from a third port bound first; its answer is ACKed and the workers are
/// told to feed it (nothing is relayed to or from it); neither party is
/// told (no desktop event), nothing is sent to the caller or the agent.
#[test]
fn sup2_monitor_calls_the_supervisor_phone_and_feeds_it() {
    let mut c = connected();
    let reply = supervise(&mut c.h, SAM, monitor(&c.uid, Some("1009"))).expect("monitor");
    let DeskReply::Interactions(list) = reply else {
        panic!("{reply:?}")
    };
    assert!(list.iter().any(|i| i.interaction == c.uid && i.state == "connected"));
    let invite = c.h.expect_request(c.sam.addr, "INVITE");
    let offer = body_str(&invite);
    assert!(
        offer.contains("a=sendrecv"),
        "whisper and barge need no re-INVITE: {offer}"
    );
    let port: u16 = offer
        .lines()
        .find_map(|l| l.strip_prefix("m=audio "))
        .and_then(|l| l.split(' ').next())
        .and_then(|p| p.parse().ok())
        .expect("m=audio port");
    let prepared = c.h.media.iter().find_map(|m| match m {
        MediaCommand::MonitorPrepare { local, .. } => Some(*local),
        _ => None,
    });
    assert_eq!(
        prepared.map(|l| l.port()),
        Some(port),
        "the offered port is bound: {:?}",
        c.h.media
    );
    let text = String::from_utf8_lossy(&invite.to_bytes()).into_owned();
    assert!(text.contains("answer-after=0"), "{text}");
    // Not a callee answering: no desk event, nothing to the call's parties.
    c.h.assert_silent(c.customer.addr);
    c.h.assert_silent(c.alice.addr);
    let answer = recvonly(&c.sam.addr.ip().to_string(), 53000);
    c.h.send(
        &c.sam,
        &response(
            &invite,
            200,
            "OK",
            Some("samtag"),
            &[("Contact", &c.sam.contact())],
            Some(("application/sdp", &answer)),
        ),
    );
    let ack = c.h.expect_request(c.sam.addr, "ACK");
    assert_eq!(cseq_num(&ack), cseq_num(&invite));
    let fed = c.h.media.iter().find_map(|m| match m {
        MediaCommand::Monitor { leg, .. } => Some(leg.clone()),
        _ => None,
    });
    let leg = fed.expect("the workers feed the monitor");
    assert_eq!(leg.remote.map(|r| r.port()), Some(53000));
    assert_eq!(leg.local.port(), port);
    assert!(
        !c.h.media.iter().any(|m| matches!(m, MediaCommand::Relay { .. })),
        "the call's relay plan is untouched: {:?}",
        c.h.media
    );
    c.h.assert_silent(c.customer.addr);
    c.h.assert_silent(c.alice.addr);
    assert!(c.h.desk.is_empty(), "monitor is silent, nobody is told: {:?}", c.h.desk);
    // One monitor at a time.
    let again = supervise(&mut c.h, SAM, monitor(&c.uid, Some("1004")));
    assert!(matches!(again, Err(DeskError::Conflict(_))), "{again:?}");
}

/// spec: SUP-4 — the call ends (the customer hangs up; the only agent
/// leaves with it): the monitor gets BYE and its media stops.
#[test]
fn sup4_call_end_hangs_up_the_monitor() {
    let mut c = connected();
    monitor_answered(&mut c);
    c.h.media.clear();
    let bye = c.customer.in_dialog(&mut c.customer_dlg, "BYE").text();
    c.h.send(&c.customer, &bye);
    c.h.expect_response(c.customer.addr, 200);
    c.h.expect_request(c.alice.addr, "BYE");
    c.h.expect_request(c.sam.addr, "BYE");
    assert!(
        c.h.media.iter().any(|m| matches!(m, MediaCommand::MonitorStop { .. })),
        "{:?}",
        c.h.media
    );
}

/// spec: SUP-2, HIST-3 — the supervisor hanging up ends only the monitor
/// leg (its CDR is written): the call stays up, nobody else gets BYE, and it
/// can be monitored again.
#[test]
fn sup2_monitor_hang_up_leaves_the_call_up() {
    let mut c = connected();
    let invite = monitor_answered(&mut c);
    c.h.media.clear();
    c.h.advance(Duration::from_secs(12));
    let mut dlg = c.sam.dialog_from_invite(&invite, "samtag");
    let bye = c.sam.in_dialog(&mut dlg, "BYE").text();
    c.h.send(&c.sam, &bye);
    c.h.expect_response(c.sam.addr, 200);
    // HIST-3: the monitor leg's CDR, with the 12 s it listened.
    let cdr =
        c.h.acd
            .iter()
            .find_map(|r| match r {
                switchboard::store::AcdRecord::LegCdr(l) if l.leg == "monitor" => Some(l.clone()),
                _ => None,
            })
            .expect("the monitor leg's CDR");
    assert_eq!((cdr.party.as_str(), cdr.cause.as_str()), ("sam", "supervisor_hangup"));
    assert_eq!((cdr.talk_ms, cdr.final_code), (12_000, Some(200)));
    assert_eq!(cdr.interaction.as_deref(), Some(c.uid.as_str()));
    assert!(c.h.media.iter().any(|m| matches!(m, MediaCommand::MonitorStop { .. })));
    assert!(!c.h.media.iter().any(|m| matches!(m, MediaCommand::Close { .. })));
    c.h.advance(Duration::from_secs(40));
    assert_eq!(
        c.h.count(c.customer.addr, |m| m.method() == Some(&Method::BYE))
            + c.h.count(c.alice.addr, |m| m.method() == Some(&Method::BYE)),
        0,
        "the call goes on"
    );
    let DeskReply::Agent(a) = c.h.engine.desk(c.h.now(), ALICE, DeskCommand::Me).expect("me") else {
        panic!()
    };
    assert_eq!(a.state, "Busy");
    supervise(&mut c.h, SAM, monitor(&c.uid, Some("1009"))).expect("monitor again");
    c.h.expect_request(c.sam.addr, "INVITE");
}

/// The call ends while the supervisor's phone still rings: it is CANCELled.
#[test]
fn call_end_cancels_a_ringing_monitor() {
    let mut c = connected();
    supervise(&mut c.h, SAM, monitor(&c.uid, Some("1009"))).expect("monitor");
    let invite = c.h.expect_request(c.sam.addr, "INVITE");
    c.h.send(
        &c.sam,
        &response(
            &invite,
            180,
            "Ringing",
            Some("samtag"),
            &[("Contact", &c.sam.contact())],
            None,
        ),
    );
    let bye = c.customer.in_dialog(&mut c.customer_dlg, "BYE").text();
    c.h.send(&c.customer, &bye);
    c.h.expect_request(c.alice.addr, "BYE");
    c.h.expect_request(c.sam.addr, "CANCEL");
}

/// spec: SUP-3 and the request checks — no monitor of a call not yet
/// connected or in wrap-up, none from the agent's own phone; the extension
/// is required (400 naming it), must be a directory user (404 naming it)
/// and registered (409); an unknown interaction is 404; agents get 403.
#[test]
fn sup3_monitor_refusals() {
    let mut c = connected();
    let conflict = |r: Result<DeskReply, DeskError>, what: &str| match r {
        Err(DeskError::Conflict(m)) => assert!(m.contains(what), "{m}"),
        other => panic!("expected a conflict about {what}: {other:?}"),
    };
    match supervise(&mut c.h, SAM, monitor(&c.uid, None)) {
        Err(DeskError::Invalid { field, .. }) => assert_eq!(field, "extension"),
        other => panic!("{other:?}"),
    }
    match supervise(&mut c.h, SAM, monitor(&c.uid, Some("7777"))) {
        Err(DeskError::NotFound { field, .. }) => assert_eq!(field, "extension"),
        other => panic!("{other:?}"),
    }
    match supervise(&mut c.h, SAM, monitor("no-such-uid", Some("1009"))) {
        Err(DeskError::NotFound { field, .. }) => assert_eq!(field, "interaction"),
        other => panic!("{other:?}"),
    }
    conflict(supervise(&mut c.h, SAM, monitor(&c.uid, Some("1001"))), "SUP-3");
    conflict(
        supervise(&mut c.h, SAM, monitor(&c.uid, Some("1008"))),
        "not registered",
    );
    assert!(matches!(
        supervise(&mut c.h, ALICE, monitor(&c.uid, Some("1009"))),
        Err(DeskError::Forbidden(_))
    ));
    c.h.assert_silent(c.sam.addr);
    // A second caller waits in the queue (alice is busy): not connected.
    let mut other = Ua::phone("1005", "192.0.2.15");
    c.h.place_call(&mut other, "5000");
    let waiting = match supervise(&mut c.h, SAM, SupervisorCommand::Interactions) {
        Ok(DeskReply::Interactions(list)) => list
            .into_iter()
            .find(|i| i.interaction != c.uid)
            .expect("second interaction"),
        other => panic!("{other:?}"),
    };
    assert_eq!(waiting.state, "queued");
    conflict(
        supervise(&mut c.h, SAM, monitor(&waiting.interaction, Some("1009"))),
        "not connected",
    );
    // The first call ends: alice wraps up, no new monitor (SUP-3).
    let bye = c.customer.in_dialog(&mut c.customer_dlg, "BYE").text();
    c.h.send(&c.customer, &bye);
    c.h.expect_request(c.alice.addr, "BYE");
    conflict(supervise(&mut c.h, SAM, monitor(&c.uid, Some("1009"))), "wrap-up");
    c.h.assert_silent(c.sam.addr);
    assert!(
        !c.h.media
            .iter()
            .any(|m| matches!(m, MediaCommand::MonitorPrepare { .. })),
        "no port bound for a refused monitor"
    );
}

/// SUP-2: from the same leg, the supervisor whispers to the agent, barges
/// in and goes back to listening; the agent's desktop is told each time;
/// only the supervisor monitoring may do it.
#[test]
fn sup2_whisper_and_barge_from_the_monitor_leg() {
    use switchboard::call::media::{MediaLeg, PartyMode};
    use switchboard::call::SupervisorMode;
    use switchboard::engine::desk::DeskEvent;
    let mut c = connected();
    let mode = |uid: &str, mode| SupervisorCommand::MonitorMode {
        interaction: uid.to_owned(),
        mode,
    };
    match supervise(&mut c.h, SAM, mode(&c.uid, SupervisorMode::Whisper)) {
        Err(DeskError::Conflict(m)) => assert_eq!(
            m, "you are not monitoring alice's call: start a monitor first (SUP-2)",
            "named as the supervisor knows it, no internal id"
        ),
        other => panic!("{other:?}"),
    }
    monitor_answered(&mut c);
    c.h.media.clear();
    supervise(&mut c.h, SAM, mode(&c.uid, SupervisorMode::Whisper)).expect("whisper");
    supervise(&mut c.h, SAM, mode(&c.uid, SupervisorMode::Barge)).expect("barge");
    supervise(&mut c.h, SAM, mode(&c.uid, SupervisorMode::Listen)).expect("listen");
    let modes: Vec<PartyMode> =
        c.h.media
            .iter()
            .filter_map(|m| match m {
                MediaCommand::MonitorMode { mode, .. } => Some(*mode),
                _ => None,
            })
            .collect();
    assert_eq!(
        modes,
        [
            PartyMode::Whisper { to: MediaLeg::B },
            PartyMode::Talk,
            PartyMode::Muted
        ]
    );
    let told: Vec<&str> =
        c.h.desk
            .iter()
            .filter_map(|e| match e {
                DeskEvent::Supervisor { agent, mode, .. } if agent == "alice" => Some(*mode),
                _ => None,
            })
            .collect();
    assert_eq!(told, ["whisper", "barge", "listen"]);
}
