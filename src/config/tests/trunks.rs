//! Trunk keepalive settings and dial-plan trunk lists (issue 10 item 5):
//! what loads, and each mistake at its `file:line:col`.

use super::*;
use std::time::Duration;

const TWO_TRUNKS: &str = r#"[[trunk]]
name = "a"
address = "127.0.0.1:5090"
inbound_from = ["127.0.0.1"]
context = "external"
options_interval_s = 10
down_after = 4

[[trunk]]
name = "b"
address = "127.0.0.1:5092"
options_interval_s = 5
up_after = 1
failover_timeout_ms = 1500

[[trunk]]
name = "c"
address = "127.0.0.1:5094"
"#;

/// A dial plan whose `internal` context sends `9…` to `rule` (one line
/// of TOML: the trunk fields).
fn dialplan(rule: &str) -> String {
    format!(
        "[[context.internal]]\nmatch = {{ prefix = \"9\" }}\naction = \"trunk\"\n{rule}\n\n\
         [[context.external]]\nmatch = {{ prefix = \"\" }}\naction = \"reject\"\ncode = 404\n"
    )
}

fn with_rule(rule: &str) -> Result<Config, ConfigErrors> {
    let dp = dialplan(rule);
    load(&[
        ("trunks.toml", Some(TWO_TRUNKS)),
        ("dialplan.toml", Some(&dp)),
        ("acd.toml", Some(ACD_NO_AGENTS)),
    ])
}

fn rule_error(rule: &str, where_: &str, kind: ErrorKind, needle: &str) {
    let dp = dialplan(rule);
    one_error(
        &[
            ("trunks.toml", Some(TWO_TRUNKS)),
            ("dialplan.toml", Some(&dp)),
            ("acd.toml", Some(ACD_NO_AGENTS)),
        ],
        where_,
        kind,
        needle,
    );
}

#[test]
fn keepalive_settings_load_with_defaults() {
    let c = with_rule("trunk = \"a\"").unwrap_or_else(|e| panic!("{e}"));
    let a = c.trunk("a").unwrap().keepalive.unwrap();
    assert_eq!(a.interval, Duration::from_secs(10));
    assert_eq!((a.down_after.get(), a.up_after.get()), (4, Keepalive::DEFAULT_UP_AFTER));
    let b = c.trunk("b").unwrap();
    let kb = b.keepalive.unwrap();
    assert_eq!(
        (kb.down_after.get(), kb.up_after.get()),
        (Keepalive::DEFAULT_DOWN_AFTER, 1)
    );
    assert_eq!(b.failover_timeout, Duration::from_millis(1500));
    let cc = c.trunk("c").unwrap();
    assert_eq!(cc.keepalive, None, "no options_interval_s: no keepalive");
    assert_eq!(cc.failover_timeout, Trunk::DEFAULT_FAILOVER_TIMEOUT);
}

#[test]
fn ordered_and_weighted_trunk_lists_load() {
    let c = with_rule("trunks = [\"b\", \"a\"]").unwrap_or_else(|e| panic!("{e}"));
    let r = c.dialplan().route("internal", "9555").unwrap();
    assert_eq!(
        r.action,
        Action::Trunks {
            group: TrunkGroup::Ordered(vec!["b".into(), "a".into()])
        }
    );
    let c = with_rule("trunks = [{ name = \"a\", weight = 3 }, { name = \"c\", weight = 1 }]")
        .unwrap_or_else(|e| panic!("{e}"));
    let r = c.dialplan().route("internal", "9555").unwrap();
    assert_eq!(
        r.action,
        Action::Trunks {
            group: TrunkGroup::Weighted(vec![("a".into(), 3), ("c".into(), 1)])
        }
    );
}

#[test]
fn unknown_trunk_in_a_list_is_located() {
    rule_error(
        "trunks = [\"a\", \"nope\"]",
        "dialplan.toml:4:16",
        ErrorKind::UnknownReference,
        "unknown trunk `nope`",
    );
    rule_error(
        "trunks = [{ name = \"zz\", weight = 2 }]",
        "dialplan.toml:4:11",
        ErrorKind::UnknownReference,
        "unknown trunk `zz`",
    );
}

#[test]
fn trunk_list_mistakes_are_located() {
    rule_error(
        "trunks = [\"a\", { name = \"b\", weight = 2 }]",
        "dialplan.toml:4:10",
        ErrorKind::InvalidValue,
        "mixes names",
    );
    rule_error(
        "trunks = [{ name = \"a\", weight = 0 }]",
        "dialplan.toml:4:11",
        ErrorKind::InvalidValue,
        "weight must be an integer 1..=1000",
    );
    rule_error(
        "trunks = [{ name = \"a\" }]",
        "dialplan.toml:4:11",
        ErrorKind::Schema,
        "needs `weight = N`",
    );
    rule_error(
        "trunks = [{ name = \"a\", weight = 1, cost = 2 }]",
        "dialplan.toml:4:11",
        ErrorKind::Schema,
        "unknown key `cost`",
    );
    rule_error(
        "trunks = [\"a\", \"a\"]",
        "dialplan.toml:4:16",
        ErrorKind::Duplicate,
        "listed twice",
    );
    rule_error(
        "trunks = []",
        "dialplan.toml:4:10",
        ErrorKind::InvalidValue,
        "lists no trunk",
    );
    rule_error(
        "trunks = [42]",
        "dialplan.toml:4:11",
        ErrorKind::InvalidValue,
        "a trunk name or",
    );
    rule_error(
        "trunk = \"a\"\ntrunks = [\"b\"]",
        "dialplan.toml:4:9",
        ErrorKind::Schema,
        "not both",
    );
    rule_error("", "dialplan.toml:3:10", ErrorKind::Schema, "`trunks = [..]`");
}

#[test]
fn trunks_do_not_apply_to_other_actions() {
    let dp = "[[context.internal]]\nmatch = { prefix = \"9\" }\naction = \"user\"\ntrunks = [\"a\"]\n\n\
              [[context.external]]\nmatch = { prefix = \"\" }\naction = \"reject\"\ncode = 404\n";
    one_error(
        &[
            ("trunks.toml", Some(TWO_TRUNKS)),
            ("dialplan.toml", Some(dp)),
            ("acd.toml", Some(ACD_NO_AGENTS)),
        ],
        "dialplan.toml:4:10",
        ErrorKind::Schema,
        "`trunks` does not apply to action `user`",
    );
}

#[test]
fn keepalive_mistakes_are_located() {
    let t = "[[trunk]]\nname = \"a\"\naddress = \"127.0.0.1:5090\"\ndown_after = 2\n";
    let dp = dialplan("trunk = \"a\"");
    one_error(
        &[
            ("trunks.toml", Some(t)),
            ("dialplan.toml", Some(&dp)),
            ("acd.toml", Some(ACD_NO_AGENTS)),
        ],
        "trunks.toml:4:14",
        ErrorKind::Schema,
        "`down_after` needs `options_interval_s`",
    );
    let t = "[[trunk]]\nname = \"a\"\naddress = \"127.0.0.1:5090\"\noptions_interval_s = 0\n";
    one_error(
        &[
            ("trunks.toml", Some(t)),
            ("dialplan.toml", Some(&dp)),
            ("acd.toml", Some(ACD_NO_AGENTS)),
        ],
        "trunks.toml:4:22",
        ErrorKind::InvalidValue,
        "options_interval_s must be greater than 0",
    );
    let t = "[[trunk]]\nname = \"a\"\naddress = \"127.0.0.1:5090\"\noptions_interval_s = 5\nup_after = 0\n";
    one_error(
        &[
            ("trunks.toml", Some(t)),
            ("dialplan.toml", Some(&dp)),
            ("acd.toml", Some(ACD_NO_AGENTS)),
        ],
        "trunks.toml:5:12",
        ErrorKind::InvalidValue,
        "up_after must be greater than 0",
    );
}
