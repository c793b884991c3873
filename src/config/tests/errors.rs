//! Every error class reports the right `file:line:col`, and all at once.

use super::*;

// ------------------------------------------------------------ error classes

#[test]
fn toml_syntax_error_is_located() {
    one_error(
        &[(
            "directory.toml",
            Some("[[user]]\nextension = \"1000\npassword = \"x\"\n"),
        )],
        "directory.toml:2:18",
        ErrorKind::Syntax,
        "invalid basic string",
    );
}

#[test]
fn unknown_field_is_located() {
    let dir = "[[user]]\nextension = \"1000\"\npasword = \"x\"\n";
    one_error(
        &[("directory.toml", Some(dir))],
        "directory.toml:3:1",
        ErrorKind::Schema,
        "unknown field `pasword`",
    );
}

#[test]
fn unknown_top_level_key_and_section() {
    let errs = errors(&[(
        "switchboard.toml",
        Some("profiles = [\"internal.toml\", \"external.toml\"]\n[sipp]\nt1_ms = 5\n"),
    )]);
    assert_eq!(errs.len(), 1, "{errs:#?}");
    assert_eq!(
        errs[0].to_string().split(": ").next(),
        Some("sip-profiles/switchboard.toml:2:2")
    );
}

#[test]
fn bad_enum_value_is_located() {
    let p = "name = \"internal\"\nlisten = [\"127.0.0.1:5060\"]\ntransports = [\"udp\", \"sctp\"]\nauth = \"digest\"\nrealm = \"r\"\ncontext = \"internal\"\n";
    one_error(
        &[("internal.toml", Some(p))],
        "internal.toml:3:22",
        ErrorKind::Schema,
        "unknown variant `sctp`",
    );
    let p =
        "name = \"internal\"\nlisten = [\"127.0.0.1:5060\"]\nauth = \"basic\"\nrealm = \"r\"\ncontext = \"internal\"\n";
    one_error(
        &[("internal.toml", Some(p))],
        "internal.toml:3:8",
        ErrorKind::Schema,
        "basic",
    );
}

#[test]
fn missing_field_points_at_table() {
    let dir = "[[user]]\nextension = \"1000\"\n";
    one_error(
        &[("directory.toml", Some(dir))],
        "directory.toml:1:1",
        ErrorKind::Schema,
        "missing field `password`",
    );
}

#[test]
fn unknown_trunk_in_dialplan() {
    let dp = "[[context.internal]]\nmatch = { prefix = \"9\" }\naction = \"trunk\"\ntrunk = \"nosuch\"\n\n[[context.external]]\nmatch = { prefix = \"\" }\naction = \"user\"\n";
    one_error(
        &[("dialplan.toml", Some(dp))],
        "dialplan.toml:4:9",
        ErrorKind::UnknownReference,
        "unknown trunk `nosuch`",
    );
}

#[test]
fn unknown_action_bad_regex_bad_code_and_unknown_user() {
    let dp = r#"[[context.internal]]
match = { exact = "1" }
action = "voicemail"

[[context.internal]]
match = { regex = "^(12" }
action = "user"

[[context.internal]]
match = { exact = "3" }
action = "reject"
code = 200

[[context.internal]]
match = { exact = "4" }
action = "user"
user = "4444"

[[context.external]]
match = { prefix = "" }
action = "user"
"#;
    let errs = errors(&[("dialplan.toml", Some(dp))]);
    let shown: Vec<String> = errs.iter().map(ToString::to_string).collect();
    assert_eq!(errs.len(), 4, "{shown:#?}");
    assert!(
        shown[0].starts_with("sip-profiles/dialplan.toml:3:10: unknown variant `voicemail`"),
        "{}",
        shown[0]
    );
    assert_eq!(errs[0].kind, ErrorKind::Schema);
    assert!(
        shown[1].starts_with("sip-profiles/dialplan.toml:6:9: bad regex `^(12`"),
        "{}",
        shown[1]
    );
    assert_eq!(errs[1].kind, ErrorKind::InvalidValue);
    assert!(
        shown[2].starts_with("sip-profiles/dialplan.toml:12:8: reject code 200 is outside 400..=699"),
        "{}",
        shown[2]
    );
    assert!(
        shown[3].starts_with("sip-profiles/dialplan.toml:17:8: unknown user `4444`"),
        "{}",
        shown[3]
    );
    assert_eq!(errs[3].kind, ErrorKind::UnknownReference);
}

#[test]
fn reject_code_700_and_399_are_errors() {
    for code in ["399", "700"] {
        let dp = format!("[[context.internal]]\nmatch = {{ exact = \"3\" }}\naction = \"reject\"\ncode = {code}\n[[context.external]]\nmatch = {{ exact = \"3\" }}\naction = \"reject\"\ncode = 699\n");
        one_error(
            &[("dialplan.toml", Some(&dp))],
            "dialplan.toml:4:8",
            ErrorKind::InvalidValue,
            "outside 400..=699",
        );
    }
}

#[test]
fn action_fields_must_fit_the_action() {
    let dp = "[[context.internal]]\nmatch = { exact = \"1\" }\naction = \"user\"\ntrunk = \"demo\"\n[[context.external]]\nmatch = { exact = \"1\" }\naction = \"trunk\"\n";
    let errs = errors(&[("dialplan.toml", Some(dp))]);
    let shown: Vec<String> = errs.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        vec![
            "sip-profiles/dialplan.toml:4:9: `trunk` does not apply to action `user`".to_owned(),
            "sip-profiles/dialplan.toml:7:10: action `trunk` needs `trunk = \"..\"` or `trunks = [..]`".to_owned(),
        ]
    );
}

#[test]
fn replace_needs_regex_and_existing_groups() {
    let dp = "[[context.internal]]\nmatch = { prefix = \"9\" }\nreplace = \"$1\"\naction = \"user\"\n[[context.external]]\nmatch = { regex = \"^9(\\\\d+)$\" }\nreplace = \"$2\"\naction = \"user\"\n";
    let errs = errors(&[("dialplan.toml", Some(dp))]);
    let shown: Vec<String> = errs.iter().map(ToString::to_string).collect();
    assert_eq!(errs.len(), 2, "{shown:#?}");
    assert!(
        shown[0].starts_with("sip-profiles/dialplan.toml:3:11: `replace` needs a regex match"),
        "{}",
        shown[0]
    );
    assert!(
        shown[1].starts_with("sip-profiles/dialplan.toml:7:11: replace `$2` refers to group `2`"),
        "{}",
        shown[1]
    );
}

#[test]
fn duplicate_extension_is_located() {
    let dir = "[[user]]\nextension = \"1000\"\npassword = \"a\"\n\n[[user]]\nextension = \"1000\"\npassword = \"b\"\n";
    one_error(
        &[("directory.toml", Some(dir)), ("acd.toml", Some(ACD_NO_AGENTS))],
        "directory.toml:6:13",
        ErrorKind::Duplicate,
        "duplicate extension `1000` (first defined at line 2)",
    );
}

#[test]
fn bad_listen_address_is_located() {
    let p = "name = \"internal\"\nlisten = [\"127.0.0.1:5060\", \"localhost\"]\nauth = \"digest\"\nrealm = \"r\"\ncontext = \"internal\"\n";
    one_error(
        &[("internal.toml", Some(p))],
        "internal.toml:2:29",
        ErrorKind::InvalidValue,
        "`localhost` is not an IP:port",
    );
}

#[test]
fn overlapping_listen_between_profiles() {
    let p = "name = \"external\"\nlisten = [\"0.0.0.0:5060\"]\nauth = \"trusted-trunks\"\ncontext = \"external\"\n";
    one_error(
        &[("external.toml", Some(p))],
        "external.toml:2:11",
        ErrorKind::Duplicate,
        "0.0.0.0:5060 overlaps 127.0.0.1:5060 of profile `internal`",
    );
}

#[test]
fn duplicate_profile_name() {
    let p = "name = \"internal\"\nlisten = [\"127.0.0.1:5080\"]\nauth = \"trusted-trunks\"\ncontext = \"external\"\n";
    one_error(
        &[("external.toml", Some(p))],
        "external.toml:1:8",
        ErrorKind::Duplicate,
        "duplicate profile name `internal`",
    );
}

#[test]
fn empty_rtp_range_and_other_switchboard_values() {
    let sb =
        "[media]\nrtp_ports = \"20000-10000\"\n[sip]\nt1_ms = 0\n[registrar]\nmin_expires = 600\nmax_expires = 300\n";
    let errs = errors(&[("switchboard.toml", Some(sb))]);
    let shown: Vec<String> = errs.iter().map(ToString::to_string).collect();
    assert_eq!(errs.len(), 3, "{shown:#?}");
    assert!(
        shown[0].starts_with("sip-profiles/switchboard.toml:2:13: RTP port range 20000-10000 is empty"),
        "{}",
        shown[0]
    );
    assert!(
        shown[1].starts_with("sip-profiles/switchboard.toml:4:9: t1_ms must be greater than 0"),
        "{}",
        shown[1]
    );
    assert!(
        shown[2].starts_with("sip-profiles/switchboard.toml:7:15: registrar needs"),
        "{}",
        shown[2]
    );
    assert!(errs.iter().all(|e| e.kind == ErrorKind::InvalidValue));
}

#[test]
fn trunk_errors() {
    let t = r#"[[trunk]]
name = "a"
address = "carrier.example:5060"
inbound_from = ["10.0.0.0/33"]
context = "nowhere"

[[trunk]]
name = "b"
address = "127.0.0.1:5090"
transport = "sctp"

[[trunk]]
name = "c"
address = "127.0.0.1:5091"
register = true
username = "u"
"#;
    let errs = errors(&[("trunks.toml", Some(t))]);
    let shown: Vec<String> = errs.iter().map(ToString::to_string).collect();
    let trunk_errs: Vec<&String> = shown
        .iter()
        .filter(|s| s.starts_with("sip-profiles/trunks.toml"))
        .collect();
    assert_eq!(trunk_errs.len(), 5, "{shown:#?}");
    assert!(trunk_errs[0].starts_with("sip-profiles/trunks.toml:3:11: trunk address `carrier.example:5060`"));
    assert!(
        trunk_errs[1].starts_with("sip-profiles/trunks.toml:4:17: `10.0.0.0/33`")
            || trunk_errs[1].contains("exceeds 32"),
        "{}",
        trunk_errs[1]
    );
    assert!(
        trunk_errs[2].starts_with("sip-profiles/trunks.toml:10:13: unknown variant `sctp`"),
        "{}",
        trunk_errs[2]
    );
    assert!(
        trunk_errs[3].starts_with("sip-profiles/trunks.toml:15:12: `register = true` needs"),
        "{}",
        trunk_errs[3]
    );
    assert!(
        trunk_errs[4].starts_with("sip-profiles/trunks.toml:16:12: `username` needs `password`"),
        "{}",
        trunk_errs[4]
    );
    // Trunk `b` failed to parse, so the dial plan's references to trunks are
    // not checked: no cascade of "unknown trunk" errors.
    assert_eq!(shown.len(), 5, "{shown:#?}");
}

#[test]
fn unknown_context_references() {
    let t = TRUNKS.replace("context = \"external\"", "context = \"ext\"");
    one_error(
        &[("trunks.toml", Some(&t))],
        "trunks.toml:6:11",
        ErrorKind::UnknownReference,
        "unknown context `ext`",
    );
    let p =
        "name = \"internal\"\nlisten = [\"127.0.0.1:5060\"]\nauth = \"digest\"\nrealm = \"r\"\ncontext = \"phones\"\n";
    one_error(
        &[("internal.toml", Some(p))],
        "internal.toml:5:11",
        ErrorKind::UnknownReference,
        "unknown context `phones`",
    );
}

#[test]
fn digest_needs_realm_and_trusted_refuses_it() {
    let p = "name = \"internal\"\nlisten = [\"127.0.0.1:5060\"]\nauth = \"digest\"\ncontext = \"internal\"\n";
    one_error(
        &[("internal.toml", Some(p))],
        "internal.toml:3:8",
        ErrorKind::Schema,
        "needs a non-empty `realm`",
    );
    let p = "name = \"external\"\nlisten = [\"127.0.0.1:5080\"]\nauth = \"trusted-trunks\"\nrealm = \"x\"\ncontext = \"external\"\n";
    one_error(
        &[("external.toml", Some(p))],
        "external.toml:4:9",
        ErrorKind::Schema,
        "`realm` applies only",
    );
}

#[test]
fn missing_file_is_reported() {
    one_error(
        &[("trunks.toml", None)],
        "trunks.toml:0:0",
        ErrorKind::Io,
        "required file is missing",
    );
    // Trunks that parsed are still checked when the dial plan is gone.
    let e = load(&[("dialplan.toml", None)]).unwrap_err();
    assert_eq!(e.len(), 1, "{e}");
}

#[test]
fn many_errors_across_files_reported_at_once() {
    let dir = "[[user]]\nextension = \"1000\"\npassword = \"a\"\nfoo = 1\n[[user]]\nextension = \"10 01\"\npassword = \"b\"\n[[user]]\nextension = \"1002\"\npassword = \"\"\n";
    let p = "name = \"internal\"\nlisten = [\"127.0.0.1:99999\"]\nauth = \"digest\"\nrealm = \"r\"\ncontext = \"internal\"\n";
    let sb = "[media]\nrtp_ports = \"x\"\n";
    let e = load(&[
        ("directory.toml", Some(dir)),
        ("internal.toml", Some(p)),
        ("switchboard.toml", Some(sb)),
    ])
    .unwrap_err();
    let shown = e.to_string();
    let lines: Vec<&str> = shown.lines().collect();
    assert_eq!(lines.len(), 5, "{shown}");
    assert!(
        lines[0].starts_with("sip-profiles/directory.toml:4:1: unknown field `foo`"),
        "{shown}"
    );
    assert!(
        lines[1].starts_with("sip-profiles/directory.toml:6:13: extension `10 01`"),
        "{shown}"
    );
    assert!(
        lines[2].starts_with("sip-profiles/directory.toml:10:12: password is empty"),
        "{shown}"
    );
    assert!(
        lines[3].starts_with("sip-profiles/internal.toml:2:11: listen address `127.0.0.1:99999`"),
        "{shown}"
    );
    assert!(
        lines[4].starts_with("sip-profiles/switchboard.toml:2:13: RTP port range `x`"),
        "{shown}"
    );
}

#[test]
fn syntax_errors_in_several_files_all_reported() {
    let e = load(&[("trunks.toml", Some("[[trunk]\n")), ("dialplan.toml", Some("a = \n"))]).unwrap_err();
    let files: Vec<&str> = e.0.iter().map(|e| e.file.as_str()).collect();
    assert!(files.contains(&"sip-profiles/trunks.toml"), "{e}");
    assert!(files.contains(&"sip-profiles/dialplan.toml"), "{e}");
    assert!(
        e.0.iter()
            .all(|e| e.kind == ErrorKind::Syntax && e.line >= 1 && e.column >= 1),
        "{e}"
    );
}

#[test]
fn unrelated_toml_files_are_ignored() {
    let mut files = sources(&[]);
    files.push(("sip-profiles/conference.toml".into(), "this is [not toml".into()));
    let refs: Vec<(&str, &str)> = files.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
    assert!(load_from_sources(&refs).is_ok());
}

#[test]
fn conference_pin_and_size_are_checked() {
    let plan = "[[context.internal]]\nmatch = { exact = \"7000\" }\naction = \"conference\"\npin = \"12a4\"\nmax_parties = 9\n\n[[context.internal]]\nmatch = { exact = \"7001\" }\naction = \"conference\"\npin = \"\"\n\n\n[[context.external]]\nmatch = { prefix = \"\" }\naction = \"reject\"\ncode = 404\n";
    let errs = errors(&[("dialplan.toml", Some(plan))]);
    let shown: Vec<String> = errs.iter().map(ToString::to_string).collect();
    assert_eq!(shown.len(), 3, "{shown:#?}");
    assert!(
        shown[0].starts_with("sip-profiles/dialplan.toml:4:7: conference pin must be 1 to 16 digits 0-9"),
        "{shown:#?}"
    );
    assert!(
        shown[1].starts_with("sip-profiles/dialplan.toml:5:15: max_parties must be 2 to 8"),
        "{shown:#?}"
    );
    assert!(
        shown[2].starts_with("sip-profiles/dialplan.toml:10:7: conference pin"),
        "{shown:#?}"
    );
}

#[test]
fn conference_fields_on_other_actions_are_errors() {
    let plan = "[[context.internal]]\nmatch = { exact = \"7000\" }\naction = \"user\"\npin = \"1234\"\n\n\n[[context.external]]\nmatch = { prefix = \"\" }\naction = \"reject\"\ncode = 404\n";
    let errs = errors(&[("dialplan.toml", Some(plan))]);
    assert_eq!(errs.len(), 1, "{errs:#?}");
    assert!(errs[0]
        .to_string()
        .starts_with("sip-profiles/dialplan.toml:4:7: `pin` does not apply to action `user`"));
}

// ------------------------------------------------------------ session timers (RFC 4028)

const PROFILES: &str = "profiles = [\"internal.toml\", \"external.toml\"]\n";

#[test]
fn session_timers_default_on_and_zero_turns_them_off() {
    let cfg = load(&[]).expect("embedded");
    let st = cfg.sip().session_timers.expect("on by default");
    assert_eq!((st.session_expires_s, st.min_se_s), (1800, 90));
    let off = format!("{PROFILES}[sip]\nsession_expires_s = 0\n");
    let cfg = load(&[("switchboard.toml", Some(&off))]).expect("valid");
    assert_eq!(cfg.sip().session_timers, None);
}

#[test]
fn min_se_below_90_is_refused_unless_lab_config() {
    let low = format!("{PROFILES}[sip]\nmin_se_s = 30\n");
    one_error(
        &[("switchboard.toml", Some(&low))],
        "switchboard.toml:3:12",
        ErrorKind::InvalidValue,
        "RFC 4028",
    );
    let lab = format!("{PROFILES}[sip]\nmin_se_s = 2\nsession_expires_s = 4\nlab_short_session_timers = true\n");
    let cfg = load(&[("switchboard.toml", Some(&lab))]).expect("a lab config");
    let st = cfg.sip().session_timers.expect("on");
    assert_eq!((st.session_expires_s, st.min_se_s), (4, 2));
    let below = format!("{PROFILES}[sip]\nmin_se_s = 120\nsession_expires_s = 100\n");
    one_error(
        &[("switchboard.toml", Some(&below))],
        "switchboard.toml:4:21",
        ErrorKind::InvalidValue,
        "session_expires_s must be 0 (off) or within min_se_s",
    );
}
