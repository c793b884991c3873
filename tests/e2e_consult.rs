//! End-to-end consult and conference (issue 9 sections 2 and 3; spec
//! CALL-HOLD-2, CALL-CONSULT-1..4, CALL-CONF-1, CALL-CONF-4) on the real
//! switch, over loopback sockets: a customer (the test's own UA on the
//! external profile, saying 440 Hz) calls the support queue (5000); alice's
//! phone (1001, saying 1000 Hz) answers; bob (1002, saying 1700 Hz) is
//! logged in `Available`. Alice drives the consult from her desktop over
//! HTTP and watches her WebSocket event stream; each phone's RTP socket is
//! listened to, and who hears whom is decided by Goertzel filters over
//! one second of decoded G.711 at a time.
//!
//! Every wait is bounded and waits for an event (a SIP message, a desktop
//! event, the first packet carrying the expected sound); the only timed
//! reads are the one-second listening windows real-time media needs.

mod common;

use common::conference::*;
use common::desk::{Desk, BOB};
use common::media::*;
use common::Switch;
use std::net::SocketAddr;
use switchboard::dsp::tone::level_dbfs;
use switchboard::sip::msg::{Method, StatusCode};

/// What each party says, at [`TONE_DBFS`].
const CUSTOMER_HZ: f64 = 440.0;
const ALICE_HZ: f64 = 1000.0;
const BOB_HZ: f64 = 1700.0;
const TONE_DBFS: f64 = -12.0;
/// Over a second, a tone heard is at most this far below its level (the
/// bridge's limiter, codec round trips)...
const HEARD_DB: f64 = 6.0;
/// ... and a tone not heard at least this far (hold music has no partial
/// near 1000 or 1700 Hz).
const ABSENT_DB: f64 = 40.0;

/// The three voices, as every summary names them.
const VOICES: [Voice; 3] = [
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
];

fn says(p: &Rtp, freq: f64) -> bool {
    p.pt == 0 && packet_level(p, freq) > TONE_DBFS - 10.0
}

fn silent_at(p: &Rtp, freq: f64) -> bool {
    p.pt == 0 && packet_level(p, freq) < TONE_DBFS - 30.0
}

/// This file's checks on one second heard, against [`TONE_DBFS`].
trait Hears {
    /// `name`'s tone is there at about the level it was said.
    fn has(&self, name: &str, freq: f64) -> &Self;
    /// `name`'s tone is not there.
    fn lacks(&self, name: &str, freq: f64) -> &Self;
    /// Hold music: audible, and none of the agents' tones.
    fn music(&self) -> &Self;
}

impl Hears for Heard {
    fn has(&self, name: &str, freq: f64) -> &Self {
        assert!(
            self.level(freq) > TONE_DBFS - HEARD_DB,
            "{} hears {name}: {}",
            self.who,
            self.summary()
        );
        self
    }

    fn lacks(&self, name: &str, freq: f64) -> &Self {
        assert!(
            self.level(freq) < TONE_DBFS - ABSENT_DB,
            "{} must not hear {name}: {}",
            self.who,
            self.summary()
        );
        self
    }

    fn music(&self) -> &Self {
        let level = level_dbfs(&self.pcm);
        assert!(level > -40.0, "{} hears music on hold: {}", self.who, self.summary());
        self
    }
}

// ---------------------------------------------------------------------------
// The scene
// ---------------------------------------------------------------------------

/// A connected queue call: the customer with alice, both talking; bob
/// logged in `Available` with his phone registered.
struct Scene {
    sw: Switch,
    uid: String,
    alice: Desk,
    alice_feed: Feed,
    bob_feed: Feed,
    customer: Customer,
    alice_phone: Phone,
    bob_phone: Phone,
    customer_media: SocketAddr,
    alice_media: SocketAddr,
    customer_ear: Ear,
    alice_ear: Ear,
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
        } = Connected::start("15550123", Watch::Everything);

        // Bob logs in once alice has the call (he would be offered it first:
        // he has the higher skill).
        let bob_phone = Phone::register(&sw, "1002");
        let mut bob_feed = Feed::open(&sw, BOB, "bob").own_only();
        login_seen(&sw, BOB, &mut bob_feed);

        let customer_ear = Ear::new("the customer", &customer.rtp.0, customer_media, &VOICES);
        let alice_ear = Ear::new("alice", &alice_phone.rtp.0, alice_media, &VOICES);
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
            bob_feed,
            customer,
            alice_phone,
            bob_phone,
            customer_media,
            alice_media,
            customer_ear,
            alice_ear,
            _talk: talk,
        };
        // The call is up: the customer and alice hear each other.
        s.alice_ear
            .second_from_now("connected", |p| says(p, CUSTOMER_HZ))
            .has("the customer", CUSTOMER_HZ)
            .lacks("herself", ALICE_HZ);
        s.customer_ear
            .second_from_now("connected", |p| says(p, ALICE_HZ))
            .has("alice", ALICE_HZ)
            .lacks("itself", CUSTOMER_HZ);
        // CALL-CONSULT-2: the desktop is told its controls on connect.
        let first = s.alice_feed.wait("controls on connect", |v| v["type"] == "controls");
        assert_eq!(enabled(&first), ["hold", "end", "consult"], "{first}");
        s
    }

    fn path(&self, action: &str) -> String {
        format!("/agent/interactions/{}/{action}", self.uid)
    }

    /// Alice asks for `action` (toggle, merge, ...) and gets 200.
    fn alice_does(&self, action: &str) {
        self.alice.ok("POST", &self.path(action), None);
    }

    /// Alice consults bob; bob's phone rings with the switch's offer from a
    /// port of its own, and answers. Returns bob's ear (he starts talking).
    fn consult_bob(&mut self) -> (Ear, Sender) {
        self.alice
            .ok("POST", &self.path("consult"), Some(r#"{"agent": "bob"}"#));
        let ringing = self.alice_feed.consult("ringing");
        assert_eq!(ringing["party"], "bob", "{ringing}");

        // spec: CALL-CONSULT-2 — no conference before the consultee answered.
        let (status, body) = self.alice.post(&self.path("merge"), None);
        assert_eq!(status, 409, "merge before bob answered: {body}");
        let invite = self.bob_phone.rings();
        let offer = sdp_rtp(&invite.body);
        let (lo, hi) = self.sw.rtp_ports();
        assert!(
            (lo..=hi).contains(&offer.port()) && offer != self.customer_media && offer != self.alice_media,
            "bob is offered a new switch port: {offer}, the customer's {}, alice's {}",
            self.customer_media,
            self.alice_media
        );
        let bob_offer = self.bob_feed.wait("consult_offer", |v| v["type"] == "consult_offer");
        assert_eq!(bob_offer["from"], "alice", "{bob_offer}");
        let bob_media = self.bob_phone.answer(&invite);
        recv_request(&mut self.bob_phone.ua, Method::ACK);
        let connected = self.alice_feed.consult("connected");
        assert_eq!(connected["party"], "bob", "{connected}");
        let ear = Ear::new("bob", &self.bob_phone.rtp.0, bob_media, &VOICES);
        let talk = Sender::spawn(
            &self.bob_phone.rtp.0,
            bob_media,
            Stream::pcmu(0xb0b0),
            pcmu_tone(BOB_HZ, TONE_DBFS),
        );
        (ear, talk)
    }

    /// The consult is up: alice and bob talk, the customer hears music
    /// (CALL-HOLD-2).
    fn assert_consulting(&mut self, bob_ear: &mut Ear) {
        self.alice_ear
            .second_from_now("consulting", |p| says(p, BOB_HZ))
            .has("bob", BOB_HZ)
            .lacks("the customer", CUSTOMER_HZ)
            .lacks("herself", ALICE_HZ);
        bob_ear
            .second_from_now("consulting", |p| says(p, ALICE_HZ))
            .has("alice", ALICE_HZ)
            .lacks("the customer", CUSTOMER_HZ)
            .lacks("himself", BOB_HZ);
        self.customer_ear
            .second_from_now("consulting", |p| silent_at(p, ALICE_HZ) && silent_at(p, BOB_HZ))
            .music()
            .lacks("alice", ALICE_HZ)
            .lacks("bob", BOB_HZ);
    }

    /// Toggle, toggle back, merge: the three talk together.
    fn merge(&mut self, bob_ear: &mut Ear) {
        self.alice_does("merge");
        self.alice_feed.consult("merged");
        self.alice_ear
            .second_from_now("conference", |p| says(p, BOB_HZ) && says(p, CUSTOMER_HZ))
            .has("the customer", CUSTOMER_HZ)
            .has("bob", BOB_HZ)
            .lacks("herself", ALICE_HZ);
        bob_ear
            .second_from_now("conference", |p| says(p, ALICE_HZ) && says(p, CUSTOMER_HZ))
            .has("the customer", CUSTOMER_HZ)
            .has("alice", ALICE_HZ)
            .lacks("himself", BOB_HZ);
        self.customer_ear
            .second_from_now("conference", |p| says(p, ALICE_HZ) && says(p, BOB_HZ))
            .has("alice", ALICE_HZ)
            .has("bob", BOB_HZ)
            .lacks("itself", CUSTOMER_HZ);
    }
}

// ---------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------

/// spec: CALL-CONSULT-1, CALL-HOLD-2, CALL-CONSULT-2, CALL-CONSULT-4,
/// CALL-CONF-1 — alice consults bob from her desktop: bob's phone rings
/// with an offer from a new switch port and answers; alice and bob hear
/// each other and the customer hears hold music and neither of them.
/// Toggle: alice is back with the customer, bob hears music. Merge: each
/// of the three hears the two others and not itself. Bob leaves from his
/// desktop: his phone gets BYE, alice and the customer hear each other on
/// the relay again, each with one unbroken RTP stream throughout. Alice's
/// stream carried the consult's progress and, after every change, her
/// controls: no `merge` until bob answered, `merge` after.
#[test]
fn call_consult_4_consult_toggle_merge_and_the_consultee_leaves() {
    let mut s = Scene::start();
    let (mut bob_ear, bob_talk) = s.consult_bob();
    s.assert_consulting(&mut bob_ear);

    // spec: CALL-CONSULT-4 — toggle: alice is back with the customer.
    s.alice_does("toggle");
    s.alice_ear
        .second_from_now("toggled", |p| says(p, CUSTOMER_HZ))
        .has("the customer", CUSTOMER_HZ)
        .lacks("bob", BOB_HZ);
    s.customer_ear
        .second_from_now("toggled", |p| says(p, ALICE_HZ))
        .has("alice", ALICE_HZ)
        .lacks("bob", BOB_HZ);
    bob_ear
        .second_from_now("toggled", |p| silent_at(p, ALICE_HZ))
        .music()
        .lacks("alice", ALICE_HZ)
        .lacks("himself", BOB_HZ);
    // And back to bob, the customer held again.
    s.alice_does("toggle");
    s.assert_consulting(&mut bob_ear);

    s.merge(&mut bob_ear);

    // spec: CALL-CONSULT-4 — bob leaves; the customer call goes on.
    Desk::new(s.sw.api_addr(), BOB).ok("POST", &s.path("leave"), None);
    s.bob_phone.hung_up();
    s.alice_feed.consult("ended");
    s.alice_ear
        .second_from_now("bob left", |p| says(p, CUSTOMER_HZ) && silent_at(p, BOB_HZ))
        .has("the customer", CUSTOMER_HZ)
        .lacks("bob", BOB_HZ)
        .lacks("herself", ALICE_HZ);
    s.customer_ear
        .second_from_now("bob left", |p| says(p, ALICE_HZ) && silent_at(p, BOB_HZ))
        .has("alice", ALICE_HZ)
        .lacks("bob", BOB_HZ)
        .lacks("itself", CUSTOMER_HZ);
    assert!(
        s.sw.wait_for_log("conference over: back to the relay", EVENT),
        "the call goes back to the relay once two parties remain"
    );
    drop(bob_talk);
    s.alice_ear.assert_one_stream();
    s.customer_ear.assert_one_stream();

    // spec: CALL-CONSULT-2 — alice's controls after every change: before
    // bob answered toggle and end_consult but no merge; merge once he did.
    let seen = &s.alice_feed.seen;
    let at = |state: &str| {
        seen.iter()
            .position(|v| v["type"] == "consult" && v["state"] == state)
            .unwrap_or_else(|| panic!("a consult {state} event on alice's stream: {seen:#?}"))
    };
    let (ringing, connected, merged) = (at("ringing"), at("connected"), at("merged"));
    assert!(ringing < connected && connected < merged, "{seen:#?}");
    let controls = |range: std::ops::Range<usize>| -> Vec<Vec<String>> {
        seen[range]
            .iter()
            .filter(|v| v["type"] == "controls" && v["interaction"] == s.uid.as_str())
            .map(enabled)
            .collect()
    };
    let before = controls(ringing..connected);
    assert!(!before.is_empty(), "controls while bob's phone rang: {seen:#?}");
    for c in &before {
        assert!(
            c.iter().any(|x| x == "toggle") && c.iter().all(|x| x != "merge"),
            "while the consult rings: toggle, no merge: {c:?}"
        );
    }
    let after = controls(connected..merged);
    assert!(
        after.first().is_some_and(|c| c.iter().any(|x| x == "merge")),
        "merge enabled once bob answered: {after:?}"
    );
}

/// spec: CALL-CONF-4 — the customer hangs up during the conference: alice
/// and bob stay connected and hear each other, alice's stream says the
/// customer left (with the wrap-up reasons); alice then hangs up and the
/// call ends (bob's phone gets BYE).
#[test]
fn call_conf_4_the_customer_hangs_up_and_the_agents_talk_on() {
    let mut s = Scene::start();
    let (mut bob_ear, _bob_talk) = s.consult_bob();
    s.assert_consulting(&mut bob_ear);
    s.merge(&mut bob_ear);

    s.customer.hang_up();
    let left = s.alice_feed.wait("customer_left", |v| v["type"] == "customer_left");
    assert_eq!(left["interaction"], s.uid.as_str(), "{left}");
    assert!(
        left["reasons"].as_array().is_some_and(|r| !r.is_empty()),
        "the wrap-up prompt: {left}"
    );
    s.alice_ear
        .second_from_now("customer left", |p| says(p, BOB_HZ))
        .has("bob", BOB_HZ)
        .lacks("the customer", CUSTOMER_HZ)
        .lacks("herself", ALICE_HZ);
    bob_ear
        .second_from_now("customer left", |p| says(p, ALICE_HZ))
        .has("alice", ALICE_HZ)
        .lacks("the customer", CUSTOMER_HZ)
        .lacks("himself", BOB_HZ);
    // CALL-CONF-4: no party can be added any more.
    let (status, body) = s.alice.post(&s.path("consult"), Some(r#"{"agent": "carol"}"#));
    assert_eq!(status, 409, "consult after the customer left: {body}");

    // CALL-CONF-3: alice hangs up, one party would remain: the call ends,
    // alice (who got the wrap-up prompt) wraps up, bob is free again.
    s.alice_phone.hang_up();
    s.bob_phone.hung_up();
    let ended = s.alice_feed.wait("ended", |v| v["type"] == "ended");
    assert_eq!(ended["interaction"], s.uid.as_str(), "{ended}");
    s.alice_feed.wait("wrap_up", |v| v["type"] == "wrap_up");
    s.bob_feed.state("Available");
    assert!(
        !s.bob_feed.seen.iter().any(|v| v["type"] == "primary_changed"),
        "no hand-over to bob as the call ends: {:#?}",
        s.bob_feed.seen
    );
}

/// spec: CALL-CONSULT-3 — alice consults bob, whose phone answers 486
/// Busy Here: alice's stream gets a `consult` event in state `failed` with
/// its reason, and bob is `Idle` with reason RONA in the API's view of him.
/// The customer stays on hold (music) until alice resumes it from her
/// desktop, which her controls offer (CALL-HOLD-1).
#[test]
fn call_consult_3_a_consulted_agent_who_does_not_answer_goes_idle_rona() {
    let mut s = Scene::start();
    s.alice.ok("POST", &s.path("consult"), Some(r#"{"agent": "bob"}"#));
    s.alice_feed.consult("ringing");
    let invite = s.bob_phone.rings();
    s.bob_phone.reject(&invite, StatusCode::BUSY_HERE);
    let failed = s.alice_feed.consult("failed");
    assert_eq!(
        (failed["party"].as_str(), failed["reason"].as_str()),
        (Some("bob"), Some("busy")),
        "{failed}"
    );
    let idle = s.bob_feed.state("Idle");
    assert_eq!(idle["reason"], "RONA", "{idle}");
    let me = Desk::new(s.sw.api_addr(), BOB).ok("GET", "/agent/me", None);
    assert_eq!(
        (me["state"].as_str(), me["reason"].as_str()),
        (Some("Idle"), Some("RONA")),
        "{me}"
    );
    // The customer stays held until alice resumes (CALL-HOLD-1): her
    // desktop is told and offers Resume, not End.
    let held = s.alice_feed.wait("hold", |v| v["type"] == "hold");
    assert_eq!(held["held"], true, "{held}");
    let controls = s.alice_feed.wait("controls after the failed consult", |v| {
        v["type"] == "controls" && enabled(v).iter().all(|c| c != "toggle")
    });
    assert_eq!(enabled(&controls), ["resume"], "{controls}");
    s.customer_ear
        .second_from_now("consult failed", |p| silent_at(p, ALICE_HZ))
        .music()
        .lacks("alice", ALICE_HZ);
    s.alice_does("resume");
    let controls = s.alice_feed.wait("controls after resume", |v| {
        v["type"] == "controls" && enabled(v).iter().any(|c| c == "consult")
    });
    assert_eq!(enabled(&controls), ["hold", "end", "consult"], "{controls}");
    s.customer_ear
        .second_from_now("resumed", |p| says(p, ALICE_HZ))
        .has("alice", ALICE_HZ)
        .lacks("itself", CUSTOMER_HZ);
}
