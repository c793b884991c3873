//! End-to-end desktop transfers (issue 10 item 1; spec CALL-XFER-1..5,
//! CALL-CONSULT-4, HIST-3) on the real switch over loopback sockets: a
//! customer (the test's UA on the external profile, saying 440 Hz) calls
//! the support queue (5000) and alice's phone (1001, 1000 Hz) answers. Alice
//! transfers from her desktop; the next agent's phone (bob 1002 at 1700 Hz,
//! carol 1003 at 2300 Hz) rings as a new leg of the customer's call, and
//! who hears whom is decided by Goertzel filters over one second of
//! decoded G.711. The interaction's record (one history across the
//! transfer) and the legs' CDRs are read back from the store.
//!
//! Every wait is bounded and waits for an event (a SIP message, a desktop
//! event, the first packet carrying the expected sound); the only timed
//! reads are the one-second listening windows real-time media needs.

mod common;

use common::conference::*;
use common::desk::{Desk, BOB, CAROL};
use common::media::*;
use common::{wait_until, Switch};
use std::net::SocketAddr;
use std::time::Duration;
use switchboard::sip::msg::Method;
use switchboard::store::{InteractionOutcome, InteractionRecord, Store};

const CUSTOMER_HZ: f64 = 440.0;
const ALICE_HZ: f64 = 1000.0;
const BOB_HZ: f64 = 1700.0;
const CAROL_HZ: f64 = 2300.0;
const TONE_DBFS: f64 = -12.0;

const VOICES: [Voice; 4] = [
    Voice {
        name: "customer",
        hz: CUSTOMER_HZ,
    },
    Voice {
        name: "alice",
        hz: ALICE_HZ,
    },
    Voice {
        name: "bob",
        hz: BOB_HZ,
    },
    Voice {
        name: "carol",
        hz: CAROL_HZ,
    },
];

fn says(p: &Rtp, freq: f64) -> bool {
    p.pt == 0 && packet_level(p, freq) > TONE_DBFS - 10.0
}

/// A connected queue call, the customer and alice talking.
struct Scene {
    sw: Switch,
    uid: String,
    alice: Desk,
    alice_feed: Feed,
    customer: Customer,
    customer_media: SocketAddr,
    customer_ear: Ear,
    alice_phone: Phone,
    _talk: Vec<Sender>,
}

impl Scene {
    fn start() -> Scene {
        let Connected {
            sw,
            uid,
            alice,
            alice_feed,
            customer,
            customer_media,
            alice_phone,
            alice_media,
        } = Connected::start("15550123", Watch::Call);
        let customer_ear = Ear::new("the customer", &customer.rtp.0, customer_media, &VOICES);
        let talk = vec![
            Sender::spawn(
                &customer.rtp.0,
                customer_media,
                Stream::pcmu(0x0c05),
                pcmu_tone(CUSTOMER_HZ, TONE_DBFS),
            ),
            Sender::spawn(
                &alice_phone.rtp.0,
                alice_media,
                Stream::pcmu(0xa11c),
                pcmu_tone(ALICE_HZ, TONE_DBFS),
            ),
        ];
        let mut s = Scene {
            sw,
            uid,
            alice,
            alice_feed,
            customer,
            customer_media,
            customer_ear,
            alice_phone,
            _talk: talk,
        };
        let heard = s.customer_ear.second_from_now("connected", |p| says(p, ALICE_HZ));
        assert!(heard.level(ALICE_HZ) > TONE_DBFS - 6.0, "{}", heard.summary());
        s
    }

    fn path(&self, action: &str) -> String {
        format!("/agent/interactions/{}/{action}", self.uid)
    }

    /// An agent logs in with its phone registered; its event stream.
    fn agent(&self, token: &'static str, who: &'static str, ext: &'static str) -> (Phone, Feed, Desk) {
        let phone = Phone::register(&self.sw, ext);
        let mut feed = Feed::open(&self.sw, token, who);
        login_seen(&self.sw, token, &mut feed);
        (phone, feed, Desk::new(self.sw.api_addr(), token))
    }

    /// Alice's phone is hung up by the switch, and her desktop says she
    /// transferred the call and prompts her wrap-up (CALL-XFER-5).
    fn alice_handed_off(&mut self, to: &str, kind: &str) {
        recv_request(&mut self.alice_phone.ua, Method::BYE);
        let t = self.alice_feed.wait("transferred", |v| v["type"] == "transferred");
        assert_eq!((t["to"].as_str(), t["kind"].as_str()), (Some(to), Some(kind)), "{t}");
        let w = self.alice_feed.wait("wrap_up", |v| v["type"] == "wrap_up");
        assert_eq!(w["interaction"], self.uid.as_str(), "{w}");
        assert!(
            w["reasons"]
                .as_array()
                .is_some_and(|r| r.iter().any(|x| x == "Resolved")),
            "the support queue's reasons: {w}"
        );
        // Meanwhile the customer waits with music, alice gone.
        let waiting = self
            .customer_ear
            .second_from_now("waiting", |p| p.pt == 0 && packet_level(p, ALICE_HZ) < TONE_DBFS - 30.0);
        assert!(
            waiting.level(ALICE_HZ) < TONE_DBFS - 40.0,
            "alice is gone: {}",
            waiting.summary()
        );
    }

    /// `phone` rings for the transferred customer and answers; it starts
    /// talking at `hz`; the customer and it hear each other.
    fn answers(&mut self, phone: &mut Phone, feed: &mut Feed, who: &'static str, hz: f64) -> Sender {
        let offer = feed.wait("offer", |v| v["type"] == "offer");
        assert_eq!(offer["interaction"], self.uid.as_str(), "{offer}");
        let invite = phone.rings();
        let media = phone.answer(&invite);
        recv_request(&mut phone.ua, Method::ACK);
        feed.wait("connected", |v| v["type"] == "connected");
        let mut ear = Ear::new(who, &phone.rtp.0, media, &VOICES);
        let talk = Sender::spawn(&phone.rtp.0, media, Stream::pcmu(0xb0b0), pcmu_tone(hz, TONE_DBFS));
        let heard = ear.second_from_now("after the transfer", |p| says(p, CUSTOMER_HZ));
        assert!(heard.level(CUSTOMER_HZ) > TONE_DBFS - 6.0, "{}", heard.summary());
        assert!(heard.level(ALICE_HZ) < TONE_DBFS - 40.0, "{}", heard.summary());
        let heard = self.customer_ear.second_from_now("after the transfer", |p| says(p, hz));
        assert!(heard.level(hz) > TONE_DBFS - 6.0, "{}", heard.summary());
        assert!(heard.level(ALICE_HZ) < TONE_DBFS - 40.0, "{}", heard.summary());
        talk
    }

    /// The customer hangs up; `feed`'s agent wraps up, then alice: the
    /// record closes with both (HIST-3).
    fn finish(&mut self, last: &Desk, feed: &mut Feed, reason: &str) -> InteractionRecord {
        self.customer.hang_up();
        feed.wait("wrap_up", |v| v["type"] == "wrap_up");
        last.ok(
            "POST",
            "/agent/wrapup",
            Some(&format!(r#"{{"reasons": ["{reason}"]}}"#)),
        );
        self.alice
            .ok("POST", "/agent/wrapup", Some(r#"{"reasons": ["Escalated"]}"#));
        let db = self.sw.data_dir().join("switchboard.sqlite");
        let mut record = None;
        let closed = wait_until(Duration::from_secs(10), || {
            record = Store::open_reader(&db)
                .ok()
                .and_then(|s| s.get_interaction(&self.uid).ok().flatten())
                .filter(|r| r.handlers.iter().all(|h| !h.wrap_up_reasons.is_empty()) && r.outcome.is_some());
            record.is_some()
        });
        assert!(closed, "the interaction is stored closed with both wrap-ups");
        record.expect("record")
    }

    fn leg_causes(&self) -> Vec<(String, String)> {
        let db = self.sw.data_dir().join("switchboard.sqlite");
        Store::open_reader(&db)
            .expect("store")
            .list_leg_cdrs(&self.uid)
            .expect("legs")
            .into_iter()
            .map(|l| (l.party, l.cause))
            .collect()
    }
}

// spec: CALL-XFER-1
// spec: CALL-XFER-3
// spec: CALL-XFER-5
#[test]
fn a_blind_transfer_to_a_queue_is_answered_by_another_agent_with_one_history() {
    let mut s = Scene::start();
    let (mut bob_phone, mut bob_feed, bob) = s.agent(BOB, "bob", "1002");
    s.alice.ok("POST", &s.path("transfer"), Some(r#"{"queue": "support"}"#));
    s.alice_handed_off("support", "queue");
    let _bob_talk = s.answers(&mut bob_phone, &mut bob_feed, "bob", BOB_HZ);
    // alice is never offered it back (CALL-XFER-3): her stream had no offer.
    let offers = s.alice_feed.seen.iter().filter(|v| v["type"] == "offer").count();
    assert_eq!(offers, 1, "only her first offer: {:?}", s.alice_feed.seen);
    // The customer got one RTP stream all along: alice, the music while
    // waiting, bob (one SSRC, consecutive sequence numbers).
    s.customer_ear.assert_one_stream();
    let rec = s.finish(&bob, &mut bob_feed, "Resolved");
    assert_eq!(rec.outcome, Some(InteractionOutcome::Answered));
    assert_eq!(rec.agent.as_deref(), Some("bob"));
    let hs: Vec<(&str, Option<&str>, Vec<String>)> = rec
        .handlers
        .iter()
        .map(|h| (h.agent.as_str(), h.end.as_deref(), h.wrap_up_reasons.clone()))
        .collect();
    assert_eq!(
        hs,
        vec![
            ("alice", Some("transferred"), vec!["Escalated".to_string()]),
            ("bob", Some("ended"), vec!["Resolved".to_string()]),
        ],
        "{rec:?}"
    );
    assert!(rec.handlers[0].to_ms.is_some_and(|t| t <= rec.handlers[1].from_ms));
    let legs = s.leg_causes();
    assert!(
        legs.contains(&("alice".to_string(), "transferred".to_string())),
        "alice's leg CDR: {legs:?}"
    );
    assert!(legs.iter().any(|(p, _)| p == "bob"), "bob's leg CDR: {legs:?}");
}

// spec: CALL-XFER-1
// spec: CALL-XFER-2
#[test]
fn a_transfer_to_an_agent_who_declines_is_rerouted_by_the_queue_and_never_dropped() {
    let mut s = Scene::start();
    let (mut bob_phone, mut bob_feed, bob) = s.agent(BOB, "bob", "1002");
    // An agent who is not Available is refused, and nothing moves.
    let (mut carol_phone, mut carol_feed, carol) = s.agent(CAROL, "carol", "1003");
    carol.ok("POST", "/agent/state", Some(r#"{"state": "idle", "reason": "Lunch"}"#));
    let (status, body) = s.alice.post(&s.path("transfer"), Some(r#"{"agent": "carol"}"#));
    assert_eq!(status, 409, "{body}");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("carol") && m.contains("CALL-XFER-1")),
        "{body}"
    );
    carol.ok("POST", "/agent/state", Some(r#"{"state": "available"}"#));
    // bob is offered it and declines: the queue's rule gives it to carol.
    s.alice.ok("POST", &s.path("transfer"), Some(r#"{"agent": "bob"}"#));
    s.alice_handed_off("bob", "agent");
    let offer = bob_feed.wait("offer", |v| v["type"] == "offer");
    let invite = bob_phone.rings();
    bob.ok("POST", &format!("/agent/offers/{}/decline", offer["offer"]), None);
    recv_request(&mut bob_phone.ua, Method::CANCEL);
    let _ = invite;
    let _carol_talk = s.answers(&mut carol_phone, &mut carol_feed, "carol", CAROL_HZ);
    let rec = s.finish(&carol, &mut carol_feed, "Resolved");
    let who: Vec<&str> = rec.handlers.iter().map(|h| h.agent.as_str()).collect();
    assert_eq!(who, vec!["alice", "carol"], "{rec:?}");
}

// spec: CALL-CONSULT-4
// spec: CALL-XFER-5
#[test]
fn a_transfer_to_the_consultee_connects_the_customer_to_it() {
    let mut s = Scene::start();
    let (mut bob_phone, mut bob_feed, bob) = s.agent(BOB, "bob", "1002");
    s.alice.ok("POST", &s.path("consult"), Some(r#"{"agent": "bob"}"#));
    // Not before bob answered (CALL-CONSULT-2).
    let invite = bob_phone.rings();
    let (status, body) = s.alice.post(&s.path("transfer"), Some(r#"{"consultee": true}"#));
    assert_eq!(status, 409, "{body}");
    let bob_media = bob_phone.answer(&invite);
    recv_request(&mut bob_phone.ua, Method::ACK);
    s.alice_feed.consult("connected");
    let _bob_talk = Sender::spawn(
        &bob_phone.rtp.0,
        bob_media,
        Stream::pcmu(0xb0b0),
        pcmu_tone(BOB_HZ, TONE_DBFS),
    );
    s.alice.ok("POST", &s.path("transfer"), Some(r#"{"consultee": true}"#));
    recv_request(&mut s.alice_phone.ua, Method::BYE);
    let t = s.alice_feed.wait("transferred", |v| v["type"] == "transferred");
    assert_eq!(t["kind"], "consultee", "{t}");
    s.alice_feed.wait("wrap_up", |v| v["type"] == "wrap_up");
    let p = bob_feed.wait("primary_changed", |v| v["type"] == "primary_changed");
    assert_eq!(p["from"], "alice", "{p}");
    let heard = s.customer_ear.second_from_now("with bob", |p| says(p, BOB_HZ));
    assert!(heard.level(BOB_HZ) > TONE_DBFS - 6.0, "{}", heard.summary());
    assert!(heard.level(ALICE_HZ) < TONE_DBFS - 40.0, "{}", heard.summary());
    let mut bob_ear = Ear::new("bob", &bob_phone.rtp.0, bob_media, &VOICES);
    let heard = bob_ear.second_from_now("with the customer", |p| says(p, CUSTOMER_HZ));
    assert!(heard.level(CUSTOMER_HZ) > TONE_DBFS - 6.0, "{}", heard.summary());
    // bob controls it now: he can hold and resume the customer.
    bob.ok("POST", &s.path("hold"), None);
    let held = s.customer_ear.second_from_now("held by bob", |p| {
        p.pt == 0 && packet_level(p, BOB_HZ) < TONE_DBFS - 30.0
    });
    assert!(held.level(BOB_HZ) < TONE_DBFS - 40.0, "{}", held.summary());
    bob.ok("POST", &s.path("resume"), None);
    let back = s.customer_ear.second_from_now("resumed", |p| says(p, BOB_HZ));
    assert!(back.level(BOB_HZ) > TONE_DBFS - 6.0, "{}", back.summary());
    let _ = s.customer_media;
    let rec = s.finish(&bob, &mut bob_feed, "Resolved");
    let hs: Vec<(&str, Option<&str>)> = rec
        .handlers
        .iter()
        .map(|h| (h.agent.as_str(), h.end.as_deref()))
        .collect();
    assert_eq!(
        hs,
        vec![("alice", Some("transferred")), ("bob", Some("ended"))],
        "{rec:?}"
    );
}

// spec: CALL-XFER-1
// spec: CALL-DIAL-1
#[test]
fn a_transfer_to_a_number_takes_the_customer_out_of_the_contact_center() {
    let mut s = Scene::start();
    // 1003 is a phone of the dial plan, not an agent here.
    let mut phone = Phone::register(&s.sw, "1003");
    let (status, body) = s.alice.post(&s.path("transfer"), Some(r#"{"number": "12"}"#));
    assert_eq!((status, body["field"].as_str()), (400, Some("target.number")), "{body}");
    s.alice.ok("POST", &s.path("transfer"), Some(r#"{"number": "(1003)"}"#));
    s.alice_handed_off("1003", "number");
    let invite = phone.rings();
    let media = phone.answer(&invite);
    recv_request(&mut phone.ua, Method::ACK);
    let _talk = Sender::spawn(
        &phone.rtp.0,
        media,
        Stream::pcmu(0x1003),
        pcmu_tone(CAROL_HZ, TONE_DBFS),
    );
    let heard = s.customer_ear.second_from_now("with 1003", |p| says(p, CAROL_HZ));
    assert!(heard.level(CAROL_HZ) > TONE_DBFS - 6.0, "{}", heard.summary());
    // alice's wrap-up closes the record: the customer left the contact center.
    s.alice
        .ok("POST", "/agent/wrapup", Some(r#"{"reasons": ["Escalated"]}"#));
    let db = s.sw.data_dir().join("switchboard.sqlite");
    let mut record = None;
    assert!(wait_until(Duration::from_secs(10), || {
        record = Store::open_reader(&db)
            .ok()
            .and_then(|st| st.get_interaction(&s.uid).ok().flatten())
            .filter(|r| r.outcome.is_some());
        record.is_some()
    }));
    let rec = record.expect("record");
    assert_eq!(rec.outcome, Some(InteractionOutcome::Transferred), "{rec:?}");
    assert_eq!(rec.agent.as_deref(), Some("alice"));
    assert_eq!(rec.handlers.len(), 1);
    assert_eq!(rec.handlers[0].end.as_deref(), Some("transferred"));
    // The customer and 1003 talk on after the interaction closed.
    let heard = s.customer_ear.second_from_now("still with 1003", |p| says(p, CAROL_HZ));
    assert!(heard.level(CAROL_HZ) > TONE_DBFS - 6.0, "{}", heard.summary());
}

// spec: CALL-XFER-2
#[test]
fn a_number_that_does_not_answer_sends_the_customer_back_to_the_queue() {
    let mut s = Scene::start();
    let mut phone = Phone::register(&s.sw, "1003");
    let (mut bob_phone, mut bob_feed, bob) = s.agent(BOB, "bob", "1002");
    s.alice.ok("POST", &s.path("transfer"), Some(r#"{"number": "1003"}"#));
    s.alice_handed_off("1003", "number");
    let invite = phone.rings();
    phone.reject(&invite, switchboard::sip::msg::StatusCode::BUSY_HERE);
    // Back in support's line: bob (not alice, CALL-XFER-3) takes it.
    let _bob_talk = s.answers(&mut bob_phone, &mut bob_feed, "bob", BOB_HZ);
    let rec = s.finish(&bob, &mut bob_feed, "Resolved");
    assert_eq!(rec.outcome, Some(InteractionOutcome::Answered));
    let who: Vec<&str> = rec.handlers.iter().map(|h| h.agent.as_str()).collect();
    assert_eq!(who, vec!["alice", "bob"], "{rec:?}");
}

// spec: CALL-XFER-6
#[test]
fn a_supervisor_transfer_keeps_alice_with_the_customer_until_bob_answers() {
    let mut s = Scene::start();
    let (mut bob_phone, mut bob_feed, bob) = s.agent(BOB, "bob", "1002");
    let sam = Desk::new(s.sw.api_addr(), common::desk::SAM);
    // An agent cannot do it; a supervisor can.
    let path = format!("/supervisor/interactions/{}/transfer", s.uid);
    let (status, _) = s.alice.post(&path, Some(r#"{"agent": "bob"}"#));
    assert_eq!(status, 403);
    sam.ok("POST", &path, Some(r#"{"agent": "bob"}"#));
    let t = s.alice_feed.wait("transferred", |v| v["type"] == "transferred");
    assert_eq!(
        (t["to"].as_str(), t["kind"].as_str()),
        (Some("bob"), Some("supervisor")),
        "{t}"
    );
    // While bob's phone rings, the customer still talks with alice.
    bob_feed.wait("offer", |v| v["type"] == "offer");
    let invite = bob_phone.rings();
    let heard = s.customer_ear.second_from_now("bob ringing", |p| says(p, ALICE_HZ));
    assert!(heard.level(ALICE_HZ) > TONE_DBFS - 6.0, "{}", heard.summary());
    let media = bob_phone.answer(&invite);
    recv_request(&mut bob_phone.ua, Method::ACK);
    bob_feed.wait("connected", |v| v["type"] == "connected");
    // alice leaves: hung up, told, and no wrap-up (CALL-END-1).
    recv_request(&mut s.alice_phone.ua, Method::BYE);
    let ended = s.alice_feed.wait("ended", |v| v["type"] == "ended");
    assert_eq!(ended["by"], "supervisor", "{ended}");
    let me = s.alice.ok("GET", "/agent/me", None);
    assert_eq!(me["state"], "Available", "{me}");
    let _talk = Sender::spawn(
        &bob_phone.rtp.0,
        media,
        Stream::pcmu(0xb0b0),
        pcmu_tone(BOB_HZ, TONE_DBFS),
    );
    let heard = s.customer_ear.second_from_now("with bob", |p| says(p, BOB_HZ));
    assert!(heard.level(BOB_HZ) > TONE_DBFS - 6.0, "{}", heard.summary());
    assert!(heard.level(ALICE_HZ) < TONE_DBFS - 40.0, "{}", heard.summary());
    s.customer.hang_up();
    bob_feed.wait("wrap_up", |v| v["type"] == "wrap_up");
    bob.ok("POST", "/agent/wrapup", Some(r#"{"reasons": ["Resolved"]}"#));
    let db = s.sw.data_dir().join("switchboard.sqlite");
    let mut record = None;
    assert!(wait_until(Duration::from_secs(10), || {
        record = Store::open_reader(&db)
            .ok()
            .and_then(|st| st.get_interaction(&s.uid).ok().flatten())
            .filter(|r| r.outcome.is_some());
        record.is_some()
    }));
    let rec = record.expect("record");
    let hs: Vec<(&str, Option<&str>)> = rec
        .handlers
        .iter()
        .map(|h| (h.agent.as_str(), h.end.as_deref()))
        .collect();
    assert_eq!(
        hs,
        vec![("alice", Some("supervisor")), ("bob", Some("ended"))],
        "{rec:?}"
    );
    // alice's leg CDR says she was transferred away, with her talk time.
    let legs = Store::open_reader(&db)
        .expect("store")
        .list_leg_cdrs(&s.uid)
        .expect("legs");
    let alice = legs.iter().find(|l| l.party == "alice").expect("alice's leg");
    assert_eq!(alice.cause, "transferred", "{legs:?}");
    assert!(alice.answered_ms.is_some() && alice.talk_ms > 0, "{alice:?}");
}

/// The value of variable `name` in a data view (`None`: unset).
fn value_of(data: &serde_json::Value, name: &str) -> Option<String> {
    data["variables"]
        .as_array()
        .and_then(|vs| vs.iter().find(|v| v["name"] == name))
        .unwrap_or_else(|| panic!("no variable {name}: {data}"))["value"]
        .as_str()
        .map(str::to_owned)
}

// spec: CALL-XFER-4
#[test]
fn an_entry_point_transfer_keeps_only_the_variables_of_the_new_flow() {
    let mut s = Scene::start();
    let (mut carol_phone, mut carol_feed, carol) = s.agent(CAROL, "carol", "1003");
    let data = s.alice.ok("GET", &s.path("data"), None);
    assert_eq!(value_of(&data, "open_tickets").as_deref(), Some("0"), "{data}");
    assert_eq!(value_of(&data, "customer_tier").as_deref(), Some("standard"), "{data}");
    // 5001 is the sales queue's number: its flow uses account and customer_tier.
    s.alice
        .ok("POST", &s.path("transfer"), Some(r#"{"entry_point": "5001"}"#));
    s.alice_handed_off("5001", "entry_point");
    let _carol_talk = s.answers(&mut carol_phone, &mut carol_feed, "carol", CAROL_HZ);
    let data = carol.ok("GET", &s.path("data"), None);
    assert_eq!(
        value_of(&data, "open_tickets"),
        None,
        "not in the sales flow: dropped: {data}"
    );
    assert_eq!(value_of(&data, "customer_tier").as_deref(), Some("standard"), "{data}");
    assert_eq!(
        value_of(&data, "caller_number").as_deref(),
        Some("****0123"),
        "built-ins stay (masked by sales, OFFER-3): {data}"
    );
    let view = carol.ok("GET", "/agent/interactions", None);
    assert!(
        view.to_string().contains("\"queue\":\"sales\""),
        "now a sales call: {view}"
    );
}

// spec: CALL-XFER-1
// spec: CALL-XFER-5
/// The agent's desk phone transfers with its Transfer key (REFER to bob's
/// extension): the switch treats it as the desktop's blind transfer to
/// bob, the phone is told it worked (202, NOTIFY 200) and hung up, alice
/// wraps up, and the record keeps both agents.
#[test]
fn an_agent_phone_refer_is_a_blind_transfer_of_the_interaction() {
    use switchboard::sip::msg::{HeaderName, StatusCode};
    let mut s = Scene::start();
    let (mut bob_phone, mut bob_feed, bob) = s.agent(BOB, "bob", "1002");
    let mut refer = s.alice_phone.in_dialog(Method::REFER, 1);
    refer.headers.push(HeaderName::ReferTo, "<sip:1002@127.0.0.1>");
    s.alice_phone.ua.send(&refer);
    let accepted = recv_where(&mut s.alice_phone.ua, "the 202", |m| common::ua::code(m) >= 200);
    assert_eq!(common::ua::code(&accepted), 202, "{}", common::ua::text(&accepted));
    let notify = recv_request(&mut s.alice_phone.ua, Method::NOTIFY);
    assert_eq!(String::from_utf8_lossy(&notify.body).trim(), "SIP/2.0 200 OK");
    s.alice_phone.ua.reply(&notify, StatusCode::OK, None);
    s.alice_handed_off("bob", "agent");
    let _bob_talk = s.answers(&mut bob_phone, &mut bob_feed, "bob", BOB_HZ);
    let rec = s.finish(&bob, &mut bob_feed, "Resolved");
    let hs: Vec<(&str, Option<&str>)> = rec
        .handlers
        .iter()
        .map(|h| (h.agent.as_str(), h.end.as_deref()))
        .collect();
    assert_eq!(
        hs,
        vec![("alice", Some("transferred")), ("bob", Some("ended"))],
        "{rec:?}"
    );
}

// spec: CALL-XFER-5
/// The agent's desk phone transfers attended (RFC 5589 §7): alice's phone
/// puts the customer aside, calls extension 1003 itself (a plain call
/// through the switch), then presses Transfer: REFER in the customer's
/// call with Replaces naming its call to 1003. The switch moves 1003 into
/// the customer's call (a re-INVITE from a port of it), tells the phone
/// (202, NOTIFY 200) and hangs it up in both calls; the interaction is
/// transferred to 1003 like the desktop's transfer to a number: alice
/// wraps up, one record, outcome `Transferred`.
#[test]
fn an_agent_phone_attended_transfer_hands_the_interaction_to_the_consulted_number() {
    use switchboard::sip::msg::{HeaderName, StatusCode};
    let mut s = Scene::start();
    let mut target = Phone::register(&s.sw, "1003");
    // alice's phone calls 1003 from the same phone (its own second call).
    let consult_rtp = rtp_rtcp_sockets();
    let mut invite = s.alice_phone.ua.invite("1001", "1003");
    invite.body = sdp_for("1001", &consult_rtp.0);
    let invite = authorized_invite_as(&mut s.alice_phone.ua, &invite, "1001", "demo-1001");
    s.alice_phone.ua.send(&invite);
    let t_invite = target.rings();
    target.answer(&t_invite);
    let ok = recv_where(&mut s.alice_phone.ua, "the 200 from 1003's call", |m| {
        common::ua::code(m) == 200 && m.headers.get(&HeaderName::CallId) == invite.headers.get(&HeaderName::CallId)
    });
    ack_2xx(&mut s.alice_phone.ua, &invite, &ok);
    recv_request(&mut target.ua, Method::ACK);
    // Transfer: REFER in the customer's call, Replaces = the call to 1003.
    let replaces = replaces_for(&invite, &ok);
    let mut refer = s.alice_phone.in_dialog(Method::REFER, 1);
    refer
        .headers
        .push(HeaderName::ReferTo, format!("<sip:1003@127.0.0.1?Replaces={replaces}>"));
    s.alice_phone.ua.send(&refer);
    // 1003 is re-INVITEd in its own dialog to a port of the customer's call.
    let reinvite = recv_request(&mut target.ua, Method::INVITE);
    assert_eq!(
        reinvite.headers.get(&HeaderName::CallId),
        t_invite.headers.get(&HeaderName::CallId),
        "{}",
        common::ua::text(&reinvite)
    );
    let media = target.answer_reinvite(&reinvite, "1003");
    // alice's phone: 202, NOTIFY 200, and a BYE in each of its calls.
    let (mut got_202, mut notifies, mut byes) = (false, Vec::new(), 0);
    while !(got_202 && !notifies.is_empty() && byes == 2) {
        let m = s
            .alice_phone
            .ua
            .recv(Duration::from_secs(10))
            .unwrap_or_else(|| panic!("alice's phone waits: 202 {got_202}, NOTIFYs {notifies:?}, BYEs {byes}"));
        match m.method() {
            Some(x) if *x == Method::NOTIFY => {
                notifies.push(String::from_utf8_lossy(&m.body).trim().to_owned());
                s.alice_phone.ua.reply(&m, StatusCode::OK, None);
            }
            Some(x) if *x == Method::BYE => {
                byes += 1;
                s.alice_phone.ua.reply(&m, StatusCode::OK, None);
            }
            Some(_) => {}
            None => got_202 |= common::ua::code(&m) == 202,
        }
    }
    assert_eq!(notifies, vec!["SIP/2.0 200 OK"]);
    // alice's desktop: transferred to 1003, then her wrap-up (CALL-XFER-5).
    let t = s.alice_feed.wait("transferred", |v| v["type"] == "transferred");
    assert_eq!(
        (t["to"].as_str(), t["kind"].as_str()),
        (Some("1003"), Some("number")),
        "{t}"
    );
    s.alice_feed.wait("wrap_up", |v| v["type"] == "wrap_up");
    // The customer and 1003 hear each other.
    let _talk = Sender::spawn(
        &target.rtp.0,
        media,
        Stream::pcmu(0x1003),
        pcmu_tone(CAROL_HZ, TONE_DBFS),
    );
    let heard = s.customer_ear.second_from_now("with 1003", |p| says(p, CAROL_HZ));
    assert!(heard.level(CAROL_HZ) > TONE_DBFS - 6.0, "{}", heard.summary());
    assert!(heard.level(ALICE_HZ) < TONE_DBFS - 40.0, "{}", heard.summary());
    let mut ear = Ear::new("1003", &target.rtp.0, media, &VOICES);
    let heard = ear.second_from_now("with the customer", |p| says(p, CUSTOMER_HZ));
    assert!(heard.level(CUSTOMER_HZ) > TONE_DBFS - 6.0, "{}", heard.summary());
    // One record: alice held it until the transfer; the customer left the
    // contact center with 1003.
    s.alice
        .ok("POST", "/agent/wrapup", Some(r#"{"reasons": ["Escalated"]}"#));
    let db = s.sw.data_dir().join("switchboard.sqlite");
    let mut record = None;
    assert!(wait_until(Duration::from_secs(10), || {
        record = Store::open_reader(&db)
            .ok()
            .and_then(|st| st.get_interaction(&s.uid).ok().flatten())
            .filter(|r| r.outcome.is_some());
        record.is_some()
    }));
    let rec = record.expect("record");
    assert_eq!(rec.outcome, Some(InteractionOutcome::Transferred), "{rec:?}");
    assert_eq!(rec.handlers.len(), 1, "{rec:?}");
    assert_eq!(rec.handlers[0].end.as_deref(), Some("transferred"));
    assert!(
        s.leg_causes()
            .contains(&("alice".to_string(), "transferred".to_string())),
        "alice's leg CDR: {:?}",
        s.leg_causes()
    );
}
