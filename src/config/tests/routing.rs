//! Dial-plan routing: match kinds, rewrites, ordering, placeholders.

use std::time::Duration;

use super::*;

// ---------------------------------------------------------------- dial plan

const PLAN: &str = r#"
default_no_answer_timeout_s = 25

[[context.internal]]
name = "exact operator"
match = { exact = "0" }
action = "user"
user = "1001"
no_answer_timeout_s = 5

[[context.internal]]
name = "9 + national: strip 9, add +1"
match = { prefix = "9" }
strip = 1
prefix = "+1"
action = "trunk"
trunk = "demo"

[[context.internal]]
name = "*5 + ext via regex replace"
match = { regex = "^\\*5(?P<ext>\\d{4})$" }
replace = "${ext}"
action = "user"

[[context.internal]]
name = "4 digits shadowed by the 9 rule for 9xxx"
match = { regex = "^(\\d{4})$" }
replace = "$1"
action = "user"

[[context.internal]]
match = { regex = "^(\\d{3})(\\d{4})$" }
replace = "$1-$2"
strip = 1
prefix = "x"
action = "reject"
code = 486
reason = "Nope"

[[context.internal]]
match = { exact = "7" }
action = "queue"
queue = "support"

[[context.internal]]
match = { exact = "8" }
action = "conference"
conference = "room1"

[[context.internal]]
match = { exact = "6" }
action = "reject"
code = 603

[[context.external]]
match = { prefix = "" }
strip = 99
action = "user"
"#;

fn plan() -> Config {
    load(&[("dialplan.toml", Some(PLAN))]).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn exact_match_with_named_user_and_rule_timeout() {
    let c = plan();
    let r = c.dialplan().route("internal", "0").unwrap();
    assert_eq!(
        r.action,
        Action::User {
            user: Some("1001".into())
        }
    );
    assert_eq!((r.target.as_str(), r.rule_index), ("1001", 0));
    assert_eq!(r.no_answer_timeout, Duration::from_secs(5));
    // "00" is not exact "0".
    assert_eq!(c.dialplan().route("internal", "00"), None);
}

#[test]
fn prefix_strip_and_prepend() {
    let r = plan().dialplan().route("internal", "95551234").unwrap();
    assert_eq!(r.action, Action::Trunk { name: "demo".into() });
    assert_eq!((r.target.as_str(), r.rule_index), ("+15551234", 1));
    assert_eq!(r.no_answer_timeout, Duration::from_secs(25));
}

#[test]
fn regex_replace_with_named_and_numbered_groups() {
    let c = plan();
    let r = c.dialplan().route("internal", "*51003").unwrap();
    assert_eq!((r.target.as_str(), r.rule_index), ("1003", 2));
    // User 1000's own ring time applies when the rule sets none.
    assert_eq!(
        c.dialplan().route("internal", "*51000").unwrap().no_answer_timeout,
        Duration::from_secs(20)
    );
    let r = c.dialplan().route("internal", "1004").unwrap();
    assert_eq!((r.target.as_str(), r.rule_index), ("1004", 3));
    // replace, then strip 1, then prefix "x".
    let r = c.dialplan().route("internal", "5551234").unwrap();
    assert_eq!(r.target, "x55-1234");
    assert_eq!(
        r.action,
        Action::Reject {
            code: crate::sip::msg::StatusCode::BUSY_HERE,
            reason: "Nope".into()
        }
    );
}

#[test]
fn first_match_wins() {
    // "9123" matches both the 9-prefix rule (1) and the 4-digit rule (3).
    let r = plan().dialplan().route("internal", "9123").unwrap();
    assert_eq!((r.rule_index, r.target.as_str()), (1, "+1123"));
}

#[test]
fn placeholders_and_default_reason() {
    let c = plan();
    let dp = c.dialplan();
    assert_eq!(
        dp.route("internal", "7").unwrap().action,
        Action::Queue { name: "support".into() }
    );
    assert_eq!(
        dp.route("internal", "8").unwrap().action,
        Action::Conference {
            room: Some("room1".into()),
            pin: None,
            max_parties: 8
        }
    );
    assert_eq!(
        dp.route("internal", "6").unwrap().action,
        Action::Reject {
            code: crate::sip::msg::StatusCode::DECLINE,
            reason: "Decline".into()
        }
    );
}

#[test]
fn no_match_and_unknown_context_give_none() {
    let c = plan();
    assert_eq!(c.dialplan().route("internal", "12"), None);
    assert_eq!(c.dialplan().route("internal", ""), None);
    assert_eq!(c.dialplan().route("sales", "1000"), None);
    assert_eq!(c.dialplan().context("internal").map(<[Rule]>::len), Some(8));
    assert_eq!(
        c.dialplan().context_names().collect::<Vec<_>>(),
        vec!["external", "internal"]
    );
    assert_eq!(c.dialplan().default_no_answer_timeout(), Duration::from_secs(25));
}

#[test]
fn strip_longer_than_number_empties_it() {
    let r = plan().dialplan().route("external", "12").unwrap();
    assert_eq!(r.target, "");
}

#[test]
fn conference_room_is_the_rewritten_number_unless_named() {
    let plan = "[[context.internal]]\nmatch = { regex = \"^7[0-9]{3}$\" }\naction = \"conference\"\npin = \"2468\"\nmax_parties = 3\n\n\n[[context.external]]\nmatch = { prefix = \"\" }\naction = \"reject\"\ncode = 404\n";
    let c = load(&[("dialplan.toml", Some(plan))]).unwrap_or_else(|e| panic!("{e}"));
    let r = c.dialplan().route("internal", "7042").unwrap();
    assert_eq!(r.target, "7042");
    assert_eq!(
        r.action,
        Action::Conference {
            room: None,
            pin: Some("2468".into()),
            max_parties: 3
        }
    );
}
