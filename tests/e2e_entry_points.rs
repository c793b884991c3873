//! End-to-end: entry points on the real switch (issue 14 item 1). A
//! customer calls the main number (5100) through the trusted trunk on the
//! external profile, hears the flow's prompts in early media and walks its
//! menu with keys: RFC 4733 telephone-events (SIPp playing its own
//! captures) or SIP INFO (the test's UA). The agents' phones are the
//! test's UAs registered with digest on the internal profile; their
//! desktops are driven over HTTP and watched on their event streams.
//!
//! The flows are written by each test into a copy of the default config
//! (`entrypoints.toml`), with schedules that are always open or always
//! closed, so the tests do not depend on the day they run.

mod common;

use bytes::Bytes;
use common::caller::{assert_callers_tone, recv_where, Caller};
use common::desk::*;
use common::media::{ack_2xx, rtp_rtcp_sockets, AudioSdp};
use common::ua::{self, Ua};
use common::*;
use serde_json::Value;
use std::net::UdpSocket;
use std::time::Duration;
use switchboard::sip::msg::{HeaderName, Message, Method, StatusCode};

/// How long a desktop event or a SIP message may take to arrive.
const EVENT: Duration = Duration::from_secs(15);
/// Bound of one SIPp run.
const T: Duration = Duration::from_secs(45);

/// Every day open all day.
const ALWAYS_OPEN: &str = r#"
[[schedule]]
name = "office"
zone = "Europe/London"
monday = ["00:00-24:00"]
tuesday = ["00:00-24:00"]
wednesday = ["00:00-24:00"]
thursday = ["00:00-24:00"]
friday = ["00:00-24:00"]
saturday = ["00:00-24:00"]
sunday = ["00:00-24:00"]
"#;

/// The demo flow with an always-open schedule, plus `3` to key an account.
fn menu_flow() -> String {
    format!(
        r#"{ALWAYS_OPEN}
[[entry_point]]
name = "main"

[[entry_point.step]]
name = "hours"
kind = "hours"
schedule = "office"
open = "menu"
closed = "closed"

[[entry_point.step]]
name = "menu"
kind = "menu"
prompt = "welcome"
choices = {{ "1" = "support", "2" = "sales", "3" = "account" }}
otherwise = "support"

[[entry_point.step]]
name = "account"
kind = "collect"
prompt = "enter-account"
variable = "account"
max_digits = 8
min_digits = 4
next = "gold"
otherwise = "support"

[[entry_point.step]]
name = "gold"
kind = "set"
values = {{ customer_tier = "gold" }}
next = "support"

[[entry_point.step]]
name = "support"
kind = "queue"
queue = "support"

[[entry_point.step]]
name = "sales"
kind = "queue"
queue = "sales"

[[entry_point.step]]
name = "closed"
kind = "hangup"
prompt = "goodbye"
"#
    )
}

fn start(entry: &str) -> (Switch, ConfigDir) {
    let cfg = ConfigDir::from_default();
    cfg.write("entrypoints.toml", entry);
    let sw = Switch::builder().config(cfg.path()).start();
    (sw, cfg)
}

/// An agent's phone: registered, answers what rings.
struct Phone {
    ua: Ua,
    ext: &'static str,
    rtp: (UdpSocket, UdpSocket),
}

impl Phone {
    fn register(sw: &Switch, ext: &'static str) -> Phone {
        let mut ua = Ua::udp(sw.internal_addr());
        assert_eq!(ua.register(ext, &format!("demo-{ext}")), StatusCode::OK);
        Phone {
            ua,
            ext,
            rtp: rtp_rtcp_sockets(),
        }
    }

    /// The next INVITE from the switch.
    fn rings(&mut self) -> Message {
        recv_where(&mut self.ua, "the agent's phone ringing", EVENT, |m| {
            m.method() == Some(&Method::INVITE)
        })
    }

    /// Answers `invite` with 200 and SDP.
    fn answer(&mut self, invite: &Message) {
        let mut ok = Message::response_to(invite, StatusCode::OK, None, Some("agent"));
        ok.headers
            .push(HeaderName::Contact, format!("<{}>", self.ua.contact_uri(self.ext)));
        ok.headers.push(HeaderName::ContentType, "application/sdp");
        let port = self.rtp.0.local_addr().expect("addr").port();
        ok.body = Bytes::from(AudioSdp::pcmu().body("phone", 1, port, "sendrecv"));
        self.ua.send(&ok);
    }

    /// Answers the switch's BYE.
    fn hung_up(&mut self) {
        let bye = recv_where(&mut self.ua, "the switch's BYE", EVENT, |m| {
            m.method() == Some(&Method::BYE)
        });
        self.ua.reply(&bye, StatusCode::OK, None);
    }
}

/// The agent logs in `Available` and returns its event stream.
fn available(api: std::net::SocketAddr, token: &str) -> Stream {
    let mut ws = ws_connect(api, "/agent/events", WsAuth::Header(token)).expect("agent stream");
    Desk::new(api, token).ok("POST", "/agent/login", Some(r#"{"state": "available"}"#));
    ws_wait_for(&mut ws, EVENT, |e| {
        e["type"] == "agent_state" && e["state"] == "Available"
    })
    .expect("available");
    ws
}

fn variable<'a>(offer: &'a Value, name: &str) -> Option<&'a str> {
    offer["variables"]
        .as_array()?
        .iter()
        .find(|v| v["name"] == name)
        .and_then(|v| v["value"].as_str())
}

/// Issue 14 item 1 — a SIPp caller hears the menu in early media, presses
/// 2 with an RFC 4733 event part-way through the welcome prompt, and is
/// queued in `sales` (not `support`, where the menu's other choices and
/// its time-out lead): carol, the sales agent, gets the offer (DNIS 5100,
/// the number the caller dialled) and her phone rings; the caller is
/// answered only by her phone's answer (answer supervision).
#[test]
fn sipp_caller_walks_the_menu_with_rfc4733_keys_into_sales() {
    require_sipp();
    let (sw, _cfg) = start(&menu_flow());
    let api = sw.api_addr();
    let mut carol_ws = available(api, CAROL);
    let mut phone = Phone::register(&sw, "1003");
    let caller = Sipp::new("uac_entry_menu.xml")
        .remote(sw.external_addr())
        .service("5100")
        .pause_ms(1500)
        .spawn(T);
    let offer = ws_wait_for(&mut carol_ws, EVENT, |e| e["type"] == "offer").expect("carol's offer");
    assert_eq!(offer["queue"], "sales", "{offer}");
    assert_eq!(variable(&offer, "dnis"), Some("5100"), "{offer}");
    let invite = phone.rings();
    phone.answer(&invite);
    let result = caller.wait();
    result.assert_success();
    phone.hung_up();
    assert!(
        sw.wait_for_log("call left its entry point", EVENT),
        "the switch logs the caller's way out of the flow"
    );
    let log = sw.log();
    assert!(log.contains("main/hours → main/menu → main/sales"), "{log}");
}

/// Issue 14 item 1, CAD-1 — SIP INFO keys walk the menu (`3`), an account
/// number is collected (`4711#`) and a `set` step marks the caller gold;
/// alice's support offer carries both values, set by the flow.
#[test]
fn sip_info_keys_collect_an_account_that_reaches_the_agents_offer() {
    let (sw, _cfg) = start(&menu_flow());
    let api = sw.api_addr();
    let mut alice_ws = available(api, ALICE);
    let mut phone = Phone::register(&sw, "1001");
    let mut caller = Caller::call_to(&sw, "15550188", "5100");
    caller.hears_the_switch();
    for k in ['3', '4', '7', '1', '1', '#'] {
        caller.info_key(k);
    }
    let offer = ws_wait_for(&mut alice_ws, EVENT, |e| e["type"] == "offer").expect("alice's offer");
    assert_eq!(offer["queue"], "support", "{offer}");
    assert_eq!(variable(&offer, "account"), Some("4711"), "{offer}");
    assert_eq!(variable(&offer, "customer_tier"), Some("gold"), "{offer}");
    let invite = phone.rings();
    phone.answer(&invite);
    let ok = recv_where(&mut caller.ua, "the caller's 200", EVENT, |m| ua::code(m) == 200);
    ack_2xx(&mut caller.ua, &caller.invite, &ok);
    drop(caller);
    let _ = phone;
}

/// Issue 14 item 1 — outside business hours the flow says goodbye (a
/// prompt in early media) and hangs up: the caller gets 480 with the
/// reason, never a 200.
#[test]
fn closed_hours_say_goodbye_and_hang_up_unanswered() {
    let closed = menu_flow().replace("[\"00:00-24:00\"]", "[]");
    let (sw, _cfg) = start(&closed);
    let mut caller = Caller::call_to(&sw, "15550188", "5100");
    caller.hears_the_switch();
    let fin = recv_where(&mut caller.ua, "the final answer", Duration::from_secs(30), |m| {
        m.status().is_some_and(|s| s.is_final())
    });
    assert_eq!(ua::code(&fin), 480, "{}", ua::text(&fin));
    assert_eq!(ua::reason(&fin), "Entry Point Hung Up");
}

/// Issue 14 item 5 — outside business hours the caller hears the closed
/// message and is answered by the support queue's voicemail: greeting,
/// tone, then what the caller says is recorded, until `#` (SIP INFO in the
/// confirmed dialog); the switch says the message is saved and hangs up.
/// The WAV in the recordings directory is 8 kHz mono and holds the
/// caller's tone (440 Hz), not the switch's prompts.
#[test]
fn closed_hours_lead_to_a_voicemail_recorded_until_pound() {
    let flow = r#"[[schedule]]
name = "never"
zone = "Europe/London"

[[entry_point]]
name = "main"

[[entry_point.step]]
name = "hours"
kind = "hours"
schedule = "never"
open = "support"
closed = "closed"

[[entry_point.step]]
name = "closed"
kind = "play"
prompt = "closed"
next = "voicemail"

[[entry_point.step]]
name = "voicemail"
kind = "voicemail"
queue = "support"

[[entry_point.step]]
name = "support"
kind = "queue"
queue = "support"
"#;
    let (sw, _cfg) = start(flow);
    let mut caller = Caller::call_to(&sw, "15550188", "5100");
    caller.hears_the_switch();
    caller.leaves_a_message(&sw);
    assert!(sw.wait_for_log("voicemail left", EVENT));
    // The file is completed (renamed from `.wav.part`) off the media thread.
    let dir = sw.data_dir().join("recordings");
    let find = || {
        std::fs::read_dir(&dir).ok()?.flatten().map(|e| e.path()).find(|p| {
            let n = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            n.starts_with("voicemail-") && n.ends_with(".wav")
        })
    };
    assert!(
        wait_until(EVENT, || find().is_some()),
        "a voicemail WAV in {}",
        dir.display()
    );
    let wav = find().expect("the WAV");
    assert_callers_tone(&std::fs::read(&wav).expect("the WAV"));
}

/// Issue 14 item 1 — admins edit menus while calls run: an edit that
/// `switchboard check` refuses is refused on reload (SIGHUP), a good one is
/// taken and the next caller walks the edited flow (`2` now leads to
/// support).
#[test]
fn a_reload_changes_the_flow_for_the_next_callers() {
    let (sw, cfg) = start(&menu_flow());
    let api = sw.api_addr();
    let mut alice_ws = available(api, ALICE);
    let mut phone = Phone::register(&sw, "1001");
    // An edit that leaves `sales` unreachable is refused (switchboard
    // check's rules hold on reload); the running flows stay.
    cfg.patch("entrypoints.toml", "\"2\" = \"sales\"", "\"2\" = \"support\"");
    sw.reload();
    assert!(
        sw.wait_for_log("is never reached from its first step", EVENT),
        "the reload is refused: {}",
        sw.log()
    );
    cfg.patch(
        "entrypoints.toml",
        "\"2\" = \"support\"",
        "\"2\" = \"support\", \"4\" = \"sales\"",
    );
    sw.reload();
    assert!(
        sw.wait_for_log("configuration reloaded", EVENT),
        "the reload is taken: {}",
        sw.log()
    );
    let mut caller = Caller::call_to(&sw, "15550188", "5100");
    caller.info_key('2');
    let offer = ws_wait_for(&mut alice_ws, EVENT, |e| e["type"] == "offer").expect("alice's offer");
    assert_eq!(offer["queue"], "support", "{offer}");
    let invite = phone.rings();
    phone.answer(&invite);
    let ok = recv_where(&mut caller.ua, "the caller's 200", EVENT, |m| ua::code(m) == 200);
    ack_2xx(&mut caller.ua, &caller.invite, &ok);
}

/// A customer calls support (5000) from `from`; alice's phone answers:
/// the customer (answered) and the interaction's uid.
fn talking_with_alice(sw: &Switch, alice_ws: &mut Stream, alice_phone: &mut Phone, from: &str) -> (Caller, String) {
    let mut caller = Caller::call_to(sw, from, "5000");
    let offer = ws_wait_for(alice_ws, EVENT, |e| e["type"] == "offer").expect("alice's offer");
    let uid = offer["interaction"].as_str().expect("uid").to_owned();
    let ring = alice_phone.rings();
    alice_phone.answer(&ring);
    let ok = recv_where(&mut caller.ua, "the customer's 200", EVENT, |m| ua::code(m) == 200);
    ack_2xx(&mut caller.ua, &caller.invite, &ok);
    caller.dialog = ok;
    (caller, uid)
}

/// CALL-XFER-4, CALL-XFER-3, CALL-XFER-5 — alice transfers her customer
/// blind into the `main` entry point: she wraps up, the customer (still
/// answered) hears its menu, keys 2 by SIP INFO and is offered to carol in
/// sales, whose phone rings as the transfer's party; carol's answer
/// connects them.
#[test]
fn a_blind_transfer_into_an_entry_point_runs_its_menu() {
    let (sw, _cfg) = start(&menu_flow());
    let api = sw.api_addr();
    let mut alice_ws = available(api, ALICE);
    let mut carol_ws = available(api, CAROL);
    let mut alice_phone = Phone::register(&sw, "1001");
    let mut carol_phone = Phone::register(&sw, "1003");
    // The customer calls support directly (5000) and alice answers.
    let (mut caller, uid) = talking_with_alice(&sw, &mut alice_ws, &mut alice_phone, "15550199");
    let desk = Desk::new(api, ALICE);
    desk.ok(
        "POST",
        &format!("/agent/interactions/{uid}/transfer"),
        Some(r#"{"entry_point": "main"}"#),
    );
    alice_phone.hung_up();
    ws_wait_for(&mut alice_ws, EVENT, |e| e["type"] == "wrap_up").expect("alice wraps up (CALL-XFER-5)");
    caller.hears_the_switch();
    caller.info_key('2');
    let offer = ws_wait_for(&mut carol_ws, EVENT, |e| e["type"] == "offer").expect("carol's offer");
    assert_eq!(offer["queue"], "sales", "{offer}");
    assert_eq!(
        offer["interaction"].as_str(),
        Some(uid.as_str()),
        "the same interaction"
    );
    let invite = carol_phone.rings();
    carol_phone.answer(&invite);
    ws_wait_for(&mut carol_ws, EVENT, |e| e["type"] == "connected").expect("carol is connected");
}

/// CALL-CONSULT-1, CALL-XFER-4 — a consult to an entry point follows its
/// routing without keys: `route` sends gold customers to sales, so alice's
/// consult rings carol (sales); `main` asks the caller for keys first, so a
/// consult to it is refused with the reason.
#[test]
fn a_consult_to_an_entry_point_follows_its_routing() {
    let flows = format!(
        r#"{}
[[entry_point]]
name = "route"
[[entry_point.step]]
name = "gold"
kind = "set"
values = {{ customer_tier = "gold" }}
next = "tier"
[[entry_point.step]]
name = "tier"
kind = "branch"
variable = "customer_tier"
cases = {{ gold = "sales" }}
otherwise = "support"
[[entry_point.step]]
name = "sales"
kind = "queue"
queue = "sales"
[[entry_point.step]]
name = "support"
kind = "queue"
queue = "support"
"#,
        menu_flow()
    );
    let (sw, _cfg) = start(&flows);
    let api = sw.api_addr();
    let mut alice_ws = available(api, ALICE);
    let _carol_ws = available(api, CAROL);
    let mut alice_phone = Phone::register(&sw, "1001");
    let mut carol_phone = Phone::register(&sw, "1003");
    let (_caller, uid) = talking_with_alice(&sw, &mut alice_ws, &mut alice_phone, "15550166");
    let desk = Desk::new(api, ALICE);
    let path = format!("/agent/interactions/{uid}/consult");
    let (status, body) = desk.post(&path, Some(r#"{"entry_point": "main"}"#));
    assert_eq!(status, 409, "{body}");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("asks the caller for keys")),
        "{body}"
    );
    desk.ok("POST", &path, Some(r#"{"entry_point": "route"}"#));
    let consult = carol_phone.rings();
    assert!(
        ua::header(&consult, "From").is_some_and(|f| f.contains("Consult from alice")),
        "{}",
        ua::text(&consult)
    );
}
