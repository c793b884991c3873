//! The flow runner in virtual time: menus, retries, barge-in, collection,
//! business hours across DST and holidays, queue tests, CALL-XFER-4.

use std::time::{Duration, Instant};

use super::*;
use crate::config::entry::Mailbox;
use crate::config::{embedded_sources, load_from_sources, Config};

/// The embedded configuration with `entrypoints.toml` replaced.
fn config(entry: &str) -> Config {
    let files: Vec<(&str, &str)> = embedded_sources()
        .iter()
        .map(|&(n, t)| {
            if n.ends_with("entrypoints.toml") {
                (n, entry)
            } else {
                (n, t)
            }
        })
        .collect();
    load_from_sources(&files).unwrap_or_else(|e| panic!("{e}"))
}

struct Facts {
    logged_in: usize,
    available: usize,
    wait: Duration,
}

impl QueueFacts for Facts {
    fn agents_logged_in(&self, _: QueueId) -> usize {
        self.logged_in
    }
    fn agents_available(&self, _: QueueId) -> usize {
        self.available
    }
    fn expected_wait(&self, _: QueueId) -> Duration {
        self.wait
    }
}

const FACTS: Facts = Facts {
    logged_in: 2,
    available: 1,
    wait: Duration::from_secs(60),
};

/// A caller's run in virtual time.
struct Walk {
    cfg: Config,
    run: FlowRun,
    now: Now,
    /// Every action so far.
    seen: Vec<FlowAction>,
}

impl Walk {
    fn start(cfg: Config, flow: &str, at_utc: &str, vars: &[(&str, &str)]) -> Walk {
        let unix_ms = at_utc.parse::<jiff::Timestamp>().unwrap().as_millisecond() as u64;
        let now = Now {
            mono: Instant::now(),
            unix_ms,
        };
        let id = cfg.entry_points().by_name(flow).unwrap();
        let vars = vars.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect();
        let run = FlowRun::start(cfg.entry_points(), id, vars, now, &FACTS);
        let mut w = Walk {
            cfg,
            run,
            now,
            seen: Vec::new(),
        };
        w.drain();
        w
    }

    fn drain(&mut self) {
        while let Some(a) = self.run.poll_action() {
            self.seen.push(a);
        }
    }

    /// Jumps to the run's next deadline and handles it.
    fn next_deadline(&mut self) -> Duration {
        let at = self.run.poll_timeout().expect("a deadline");
        let d = at - self.now.mono;
        self.now = self.now.plus(d);
        self.run.handle_timeout(self.cfg.entry_points(), self.now, &FACTS);
        self.drain();
        d
    }

    /// Lets `d` pass, handling each deadline at its own moment.
    fn advance(&mut self, d: Duration) {
        let end = self.now.mono + d;
        while let Some(t) = self.run.poll_timeout().filter(|t| *t <= end) {
            self.now = self.now.plus(t - self.now.mono);
            self.run.handle_timeout(self.cfg.entry_points(), self.now, &FACTS);
        }
        self.now = self.now.plus(end - self.now.mono);
        self.drain();
    }

    fn key(&mut self, k: char) {
        self.run.handle_key(self.cfg.entry_points(), k, self.now, &FACTS);
        self.drain();
    }

    /// The names of the prompts played so far.
    fn played(&self) -> Vec<&str> {
        self.seen
            .iter()
            .filter_map(|a| match a {
                FlowAction::Play(p) => Some(p.name.as_str()),
                _ => None,
            })
            .collect()
    }

    fn exit(&self) -> Option<&Exit> {
        self.seen.iter().find_map(|a| match a {
            FlowAction::Leave(e) => Some(e),
            _ => None,
        })
    }

    fn prompt(&self, name: &str) -> Duration {
        self.seen
            .iter()
            .find_map(|a| match a {
                FlowAction::Play(p) if p.name == name => Some(p.duration()),
                _ => None,
            })
            .expect("played")
    }
}

fn queue(cfg: &Config, name: &str) -> QueueId {
    cfg.acd().queue_by_name(name).unwrap().id
}

const DEMO: &str = include_str!("../../sip-profiles/entrypoints.toml");
/// Monday 2026-12-07, 10:00 in London (GMT).
const MONDAY_OPEN: &str = "2026-12-07T10:00:00Z";

#[test]
fn a_key_during_the_menu_cuts_it_short_and_leads_to_its_queue() {
    let mut w = Walk::start(config(DEMO), "main", MONDAY_OPEN, &[]);
    assert_eq!(w.played(), ["welcome"]);
    assert!(w.exit().is_none());
    w.advance(Duration::from_secs(1));
    w.key('2');
    let sales = queue(&w.cfg, "sales");
    assert_eq!(
        w.seen[w.seen.len() - 2..],
        [
            FlowAction::StopPrompt,
            FlowAction::Leave(Exit::Queue {
                queue: sales,
                priority: 0,
                min_skill: 0
            })
        ]
    );
    assert!(w.run.is_done());
    assert_eq!(w.run.poll_timeout(), None);
    assert_eq!(w.run.path(), ["main/hours", "main/menu", "main/sales"]);
}

#[test]
fn no_entry_replays_the_menu_then_goes_to_no_input_target() {
    let mut w = Walk::start(config(DEMO), "main", MONDAY_OPEN, &[]);
    let welcome = w.prompt("welcome");
    // The prompt plays whole, then 5 s for the first key.
    assert_eq!(w.next_deadline(), welcome);
    assert_eq!(w.next_deadline(), KeyWait::DEFAULT_FIRST);
    assert_eq!(w.played(), ["welcome", "no-input"]);
    let no_input = w.prompt("no-input");
    assert_eq!(w.next_deadline(), no_input);
    assert_eq!(w.played(), ["welcome", "no-input", "welcome"]);
    w.advance(welcome + KeyWait::DEFAULT_FIRST);
    w.advance(no_input + welcome + KeyWait::DEFAULT_FIRST);
    // Two retries (three attempts), then `otherwise` (= no_input): support.
    assert_eq!(w.played(), ["welcome", "no-input", "welcome", "no-input", "welcome"]);
    let support = queue(&w.cfg, "support");
    assert_eq!(
        w.exit(),
        Some(&Exit::Queue {
            queue: support,
            priority: 0,
            min_skill: 0
        })
    );
}

#[test]
fn wrong_keys_play_invalid_and_a_key_during_it_starts_the_next_attempt() {
    let mut w = Walk::start(config(DEMO), "main", MONDAY_OPEN, &[]);
    w.key('9');
    assert_eq!(w.played(), ["welcome", "invalid"]);
    // A key during the `invalid` prompt cuts it and counts.
    w.advance(Duration::from_millis(300));
    w.key('0');
    let support = queue(&w.cfg, "support");
    assert!(matches!(
        w.exit(),
        Some(Exit::Voicemail { mailbox: Mailbox::Queue(q), prompt }) if *q == support && prompt.name == "leave-message"
    ));
    let stops = w.seen.iter().filter(|a| **a == FlowAction::StopPrompt).count();
    assert_eq!(stops, 2, "{:?}", w.seen);
}

#[test]
fn three_wrong_entries_go_to_otherwise() {
    let mut w = Walk::start(config(DEMO), "main", MONDAY_OPEN, &[]);
    for _ in 0..3 {
        w.key('7');
    }
    assert_eq!(w.played(), ["welcome", "invalid", "invalid"]);
    let support = queue(&w.cfg, "support");
    assert_eq!(
        w.exit(),
        Some(&Exit::Queue {
            queue: support,
            priority: 0,
            min_skill: 0
        })
    );
}

#[test]
fn closed_hours_and_holidays_lead_to_their_messages_then_voicemail() {
    // Monday 18:30 London: closed.
    let mut w = Walk::start(config(DEMO), "main", "2026-12-07T18:30:00Z", &[]);
    assert_eq!(w.played(), ["closed"]);
    w.key('1'); // a `play` step ignores keys
    assert!(w.exit().is_none());
    w.next_deadline();
    assert!(matches!(w.exit(), Some(Exit::Voicemail { .. })));
    // Christmas day, in office hours: the holiday message.
    let w = Walk::start(config(DEMO), "main", "2026-12-25T10:00:00Z", &[]);
    assert_eq!(w.played(), ["holiday"]);
    // Saturday 12:59 London: open (09:00-13:00); 13:00 closed.
    let w = Walk::start(config(DEMO), "main", "2026-12-12T12:59:00Z", &[]);
    assert_eq!(w.played(), ["welcome"]);
    let w = Walk::start(config(DEMO), "main", "2026-12-12T13:00:00Z", &[]);
    assert_eq!(w.played(), ["closed"]);
}

#[test]
fn business_hours_follow_the_local_clock_across_dst() {
    // London opens at 08:00 local: 08:00Z in winter, 07:00Z in summer.
    // Friday 2027-03-26 (GMT) 07:30Z is 07:30 local: closed.
    let w = Walk::start(config(DEMO), "main", "2027-03-26T07:30:00Z", &[]);
    assert_eq!(w.played(), ["closed"]);
    // Monday 2027-03-29 (BST since the 28th) 07:30Z is 08:30 local: open.
    let w = Walk::start(config(DEMO), "main", "2027-03-29T07:30:00Z", &[]);
    assert_eq!(w.played(), ["welcome"]);
    // Friday 2027-10-29 (BST) 16:30Z is 17:30 local: open; Monday
    // 2027-11-01 (GMT again) 17:30Z is 17:30 local: open, 18:00Z closed.
    let w = Walk::start(config(DEMO), "main", "2027-10-29T16:30:00Z", &[]);
    assert_eq!(w.played(), ["welcome"]);
    let w = Walk::start(config(DEMO), "main", "2027-10-29T17:00:00Z", &[]);
    assert_eq!(w.played(), ["closed"]);
    let w = Walk::start(config(DEMO), "main", "2027-11-01T17:30:00Z", &[]);
    assert_eq!(w.played(), ["welcome"]);
}

const MULTI: &str = r#"
[[entry_point]]
name = "main"
variables = ["account"]
[[entry_point.step]]
name = "menu"
kind = "menu"
prompt = "welcome"
choices = { "1" = "one", "12" = "twelve", "3" = "account" }
otherwise = "bye"
[[entry_point.step]]
name = "one"
kind = "queue"
queue = "support"
[[entry_point.step]]
name = "twelve"
kind = "queue"
queue = "sales"
priority = 7
[[entry_point.step]]
name = "account"
kind = "collect"
prompt = "enter-account"
variable = "account"
min_digits = 4
max_digits = 6
next = "tier"
otherwise = "bye"
[[entry_point.step]]
name = "tier"
kind = "set"
values = { customer_tier = "gold" }
next = "other"
[[entry_point.step]]
name = "other"
kind = "entry_point"
entry_point = "second"
[[entry_point.step]]
name = "bye"
kind = "hangup"
prompt = "goodbye"

[[entry_point]]
name = "second"
variables = ["account", "open_tickets"]
[[entry_point.step]]
name = "busy"
kind = "queue_state"
queue = "support"
test = "no_agents_available"
then = "gone"
otherwise = "check-wait"
[[entry_point.step]]
name = "check-wait"
kind = "queue_state"
queue = "support"
test = "expected_wait_over"
wait_s = 30
then = "gone"
otherwise = "support"
[[entry_point.step]]
name = "support"
kind = "queue"
queue = "support"
[[entry_point.step]]
name = "gone"
kind = "hangup"
"#;

#[test]
fn multi_key_choices_wait_for_the_next_key_or_its_time() {
    let mut w = Walk::start(config(MULTI), "main", MONDAY_OPEN, &[]);
    w.key('1');
    assert!(w.exit().is_none(), "`1` could still become `12`");
    assert_eq!(w.next_deadline(), KeyWait::DEFAULT_BETWEEN);
    let support = queue(&w.cfg, "support");
    assert_eq!(
        w.exit(),
        Some(&Exit::Queue {
            queue: support,
            priority: 0,
            min_skill: 0
        })
    );

    let mut w = Walk::start(config(MULTI), "main", MONDAY_OPEN, &[]);
    w.key('1');
    w.advance(Duration::from_secs(2));
    w.key('2');
    let sales = queue(&w.cfg, "sales");
    assert_eq!(
        w.exit(),
        Some(&Exit::Queue {
            queue: sales,
            priority: 7,
            min_skill: 0
        })
    );
}

#[test]
fn collected_keys_go_into_the_variable_and_variables_carry_over_by_declaration() {
    let mut w = Walk::start(
        config(MULTI),
        "main",
        MONDAY_OPEN,
        &[("caller_number", "+442071234567"), ("card_last4", "1234")],
    );
    // `card_last4` is not declared by `main`: dropped (CALL-XFER-4).
    assert_eq!(w.run.variable("card_last4"), None);
    assert_eq!(w.run.variable("caller_number"), Some("+442071234567"));
    w.key('3');
    assert_eq!(w.played(), ["welcome", "enter-account"]);
    // Too short (min 4): wrong entry, asked again.
    for k in "12#".chars() {
        w.key(k);
    }
    assert_eq!(w.played(), ["welcome", "enter-account", "invalid"]);
    for k in "987654".chars() {
        w.key(k);
    }
    // Six keys (max): complete without `#`. `tier` sets customer_tier,
    // then `second` keeps `account` (declared) and drops customer_tier.
    assert_eq!(w.run.variable("account"), Some("987654"));
    assert_eq!(w.run.variable("customer_tier"), None);
    assert_eq!(w.run.variable("caller_number"), Some("+442071234567"));
    assert!(w.seen.contains(&FlowAction::Entered {
        flow: w.cfg.entry_points().by_name("second").unwrap()
    }));
    // FACTS: 1 available, 60 s expected wait > 30 s: hang up.
    assert_eq!(w.exit(), Some(&Exit::Hangup { reason: "flow_hangup" }));
    assert_eq!(
        w.run.path(),
        [
            "main/menu",
            "main/account",
            "main/tier",
            "main/other",
            "second/busy",
            "second/check-wait",
            "second/gone"
        ]
    );
}

#[test]
fn the_goodbye_plays_whole_before_the_hang_up() {
    let mut w = Walk::start(config(MULTI), "main", MONDAY_OPEN, &[]);
    for _ in 0..3 {
        w.key('9');
    }
    assert_eq!(w.played().last(), Some(&"goodbye"));
    assert!(w.exit().is_none());
    let goodbye = w.prompt("goodbye");
    assert_eq!(w.next_deadline(), goodbye);
    assert_eq!(w.exit(), Some(&Exit::Hangup { reason: "flow_hangup" }));
}

#[test]
fn keys_after_the_caller_left_change_nothing() {
    let mut w = Walk::start(config(DEMO), "main", MONDAY_OPEN, &[]);
    w.key('1');
    let n = w.seen.len();
    w.key('2');
    w.advance(Duration::from_secs(60));
    assert_eq!(w.seen.len(), n);
}

const ROUTING: &str = r#"
[[entry_point]]
name = "main"
[[entry_point.step]]
name = "hello"
kind = "play"
prompt = "welcome"
next = "tier"
[[entry_point.step]]
name = "tier"
kind = "branch"
variable = "customer_tier"
cases = { gold = "vip" }
otherwise = "busy"
[[entry_point.step]]
name = "busy"
kind = "queue_state"
queue = "support"
test = "no_agents_available"
then = "desk"
otherwise = "support"
[[entry_point.step]]
name = "support"
kind = "queue"
queue = "support"
[[entry_point.step]]
name = "vip"
kind = "entry_point"
entry_point = "vip"
[[entry_point.step]]
name = "desk"
kind = "user"
user = "1000"

[[entry_point]]
name = "vip"
variables = ["customer_tier"]
[[entry_point.step]]
name = "sales"
kind = "queue"
queue = "sales"
priority = 9
"#;

#[test]
fn a_consult_follows_the_routing_steps_and_skips_prompts() {
    let cfg = config(ROUTING);
    let e = cfg.entry_points();
    let main = e.by_name("main").unwrap();
    let now = Now {
        mono: Instant::now(),
        unix_ms: 1_800_000_000_000,
    };
    let none = Facts {
        logged_in: 1,
        available: 0,
        wait: Duration::from_secs(10),
    };
    assert_eq!(
        route_without_keys(e, main, Vec::new(), now, &FACTS),
        Ok(Exit::Queue {
            queue: queue(&cfg, "support"),
            priority: 0,
            min_skill: 0
        })
    );
    assert_eq!(
        route_without_keys(e, main, Vec::new(), now, &none),
        Ok(Exit::User {
            extension: "1000".into()
        })
    );
    // CALL-XFER-4: the value reaches the second flow, which declares it.
    assert_eq!(
        route_without_keys(e, main, vec![("customer_tier".into(), "gold".into())], now, &FACTS),
        Ok(Exit::Queue {
            queue: queue(&cfg, "sales"),
            priority: 9,
            min_skill: 0
        })
    );
    // The demo flow asks for keys; closed, it leads to voicemail.
    let demo = config(DEMO);
    let at = |s: &str| Now {
        mono: Instant::now(),
        unix_ms: s.parse::<jiff::Timestamp>().unwrap().as_millisecond() as u64,
    };
    let main = demo.entry_points().by_name("main").unwrap();
    assert_eq!(
        route_without_keys(demo.entry_points(), main, Vec::new(), at(MONDAY_OPEN), &FACTS),
        Err(Unroutable::NeedsKeys)
    );
    assert_eq!(
        route_without_keys(
            demo.entry_points(),
            main,
            Vec::new(),
            at("2026-12-07T20:00:00Z"),
            &FACTS
        ),
        Err(Unroutable::NoParty)
    );
}
