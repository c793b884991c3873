//! `acd.toml`: the embedded demo contact center, the optional file, and
//! every error class located at its `file:line:col`.

use std::path::PathBuf;
use std::time::Duration;

use super::*;
use crate::acd::{AcceptMode, Acd, AgentId, OverflowTarget, QueueId, Strategy};
use crate::config::defaults::LOADTEST;

/// A dial plan with no queue rules, so `acd.toml` may be left out.
const PLAN_NO_QUEUES: &str = "[[context.internal]]\nmatch = { prefix = \"\" }\naction = \"user\"\n\
                              [[context.external]]\nmatch = { prefix = \"\" }\naction = \"user\"\n";

/// The errors of loading the default files with `acd.toml` replaced, as
/// `file:line:col: message` with the `sip-profiles/` prefix removed.
fn acd_errors(acd: &str) -> Vec<String> {
    errors(&[("acd.toml", Some(acd))])
        .iter()
        .map(|e| e.to_string().trim_start_matches("sip-profiles/").to_owned())
        .collect()
}

/// Asserts that `got` are exactly the errors that start with `want`, in order.
fn assert_errors(got: &[String], want: &[&str]) {
    assert_eq!(got.len(), want.len(), "{got:#?}");
    for (g, w) in got.iter().zip(want) {
        assert!(g.starts_with(w), "expected {w:?}, got {g:?}\nall: {got:#?}");
    }
}

// ------------------------------------------------------------ the default

#[test]
fn embedded_demo_contact_center_loads() {
    let c = load_embedded().unwrap_or_else(|e| panic!("{e}"));
    let acd = c.acd();
    assert_eq!(acd.idle_reasons, ["Lunch", "Meeting", "Training"]);
    assert_eq!(acd.teams.len(), 2);

    let support = acd.queue_by_name("support").unwrap();
    assert_eq!((support.id, support.number.as_str()), (QueueId(0), "5000"));
    assert_eq!(support.strategy, Strategy::LongestIdle);
    assert_eq!(support.accept, AcceptMode::Manual);
    assert_eq!(support.rona_timeout, Duration::from_secs(15));
    assert_eq!(support.wrap_up, Duration::from_secs(60));
    assert_eq!(support.announce_every, Some(Duration::from_secs(30)));
    assert_eq!(support.max_wait, Some(Duration::from_secs(300)));
    assert_eq!(support.overflow, Some(OverflowTarget::Queue(QueueId(1))));
    let names: Vec<&str> = support.offer_variables.iter().map(OfferVar::name).collect();
    assert_eq!(names, ["caller_number", "dnis", "account", "customer_tier"]);
    assert_eq!(support.offer_variables[1], OfferVar::Builtin(BuiltinVar::Dnis));

    let sales = acd.queue(QueueId(1)).unwrap();
    assert_eq!(sales.name, "sales");
    assert_eq!(
        (sales.strategy, sales.accept),
        (Strategy::SkillsBased, AcceptMode::Auto)
    );
    assert_eq!((sales.priority, sales.mask_caller_number), (5, true));
    assert_eq!((sales.max_wait, sales.overflow.as_ref()), (None, None));
    assert_eq!(sales.announce_every, None);
    assert!(acd.queue(QueueId(2)).is_none());

    let alice = acd.agent_by_login("alice").unwrap();
    assert_eq!(alice.id, AgentId(0));
    assert_eq!((alice.team.as_str(), alice.extension.as_str()), ("support", "1001"));
    assert_eq!(alice.skills, [(QueueId(0), 5), (QueueId(1), 2)]);
    assert_eq!(acd.agent(AgentId(2)).unwrap().login, "carol");
    assert_eq!(acd.agent_by_extension("1002").unwrap().login, "bob");
    assert!(acd.agent_by_extension("1000").is_none());
    assert!(!format!("{alice:?}").contains("demo-token"));
    assert_eq!(acd.supervisor_by_login("sam").unwrap().teams, ["support", "sales"]);

    let tier = acd.variable("customer_tier").unwrap();
    assert_eq!(
        (tier.var_type, tier.default.as_deref()),
        (VarType::String, Some("standard"))
    );
    let account = acd.variable("account").unwrap();
    assert_eq!(account.source, Some(VarSource::Header("X-Account".into())));
    assert!(account.editable && !account.secure);
    assert_eq!(acd.variable("open_tickets").unwrap().default.as_deref(), Some("0"));
    assert!(acd.variable("card_last4").unwrap().secure);

    // The ACD core accepts what the config builds.
    let core = acd.core_config();
    assert_eq!(core.queues[0].wrap_up_reasons, support.wrap_up_reasons);
    assert_eq!(core.queues[0].offer_variables, names);
    assert_eq!(core.agents[2].queues, [(QueueId(0), 3), (QueueId(1), 9)]);
    assert_eq!(core.idle_reasons, acd.idle_reasons);
    Acd::new(core).unwrap();
}

#[test]
fn acd_toml_is_optional_and_loadtest_has_none() {
    let c = load(&[("acd.toml", None), ("dialplan.toml", Some(PLAN_NO_QUEUES))]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.acd(), &AcdSettings::default());
    assert!(Acd::new(c.acd().core_config()).is_ok());
    let c = load_from_sources(&LOADTEST).unwrap_or_else(|e| panic!("{e}"));
    assert!(c.acd().queues.is_empty() && c.acd().agents.is_empty());
}

#[test]
fn dial_plan_queue_action_must_name_an_acd_queue() {
    // Without acd.toml, the default dial plan's queue rules point nowhere.
    let errs: Vec<String> = errors(&[("acd.toml", None)]).iter().map(ToString::to_string).collect();
    assert_errors(
        &errs,
        &[
            "sip-profiles/dialplan.toml:51:9: unknown queue `support` (not a [[queue]] of acd.toml)",
            "sip-profiles/dialplan.toml:57:9: unknown queue `sales`",
            "sip-profiles/dialplan.toml:92:9: unknown queue `support`",
            "sip-profiles/dialplan.toml:98:9: unknown queue `sales`",
        ],
    );
    let plan = PLAN_NO_QUEUES.replace(
        "action = \"user\"\n[[context.external]]",
        "action = \"queue\"\nqueue = \"nope\"\n[[context.external]]",
    );
    one_error(
        &[("dialplan.toml", Some(&plan))],
        "dialplan.toml:4:9",
        ErrorKind::UnknownReference,
        "unknown queue `nope`",
    );
}

#[test]
fn demo_tokens_alone_block_non_loopback_listen() {
    let dir = "[[user]]\nextension = \"1001\"\npassword = \"correct horse\"\n";
    let acd = format!(
        "{ACD_NO_AGENTS}[[team]]\nname = \"t\"\n[[agent]]\nid = \"a\"\nname = \"A\"\nteam = \"t\"\n\
         extension = \"1001\"\nskills = {{ support = 1 }}\ntoken = \"demo-0123456789abcdef\"\n"
    );
    let p =
        "name = \"internal\"\nlisten = [\"0.0.0.0:5070\"]\nauth = \"digest\"\nrealm = \"r\"\ncontext = \"internal\"\n";
    let edits = [
        ("internal.toml", Some(p)),
        ("directory.toml", Some(dir)),
        ("acd.toml", Some(acd.as_str())),
    ];
    let c = load(&edits).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.demo_passwords_in_use(), ["agent a"]);
    let e = c.check_bind_safety().unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unsafe);
    assert!(
        e.to_string().contains("demo passwords or tokens are in use (agent a)"),
        "{e}"
    );
}

#[test]
fn env_tokens_are_resolved() {
    let acd = format!(
        "{ACD_NO_AGENTS}[[team]]\nname = \"t\"\n[[supervisor]]\nid = \"s\"\nname = \"S\"\nteams = [\"t\"]\n\
         token = \"env:SB_TOKEN_S\"\n"
    );
    let edits = [("acd.toml", Some(acd.as_str()))];
    let c = load_env(&edits, &[("SB_TOKEN_S", "a-long-enough-secret")]).unwrap_or_else(|e| panic!("{e}"));
    assert!(c.acd().supervisors[0].token.matches("a-long-enough-secret"));
    let e = load_env(&edits, &[("SB_TOKEN_S", "short")]).unwrap_err();
    assert_eq!(e.len(), 1, "{e}");
    assert_eq!(
        e.0[0].to_string(),
        "sip-profiles/acd.toml:19:9: token has 5 characters; at least 16 are needed"
    );
    let e = load_env(&edits, &[]).unwrap_err();
    assert_eq!(e.0[0].kind, ErrorKind::UnknownReference);
    assert!(
        e.0[0]
            .to_string()
            .contains("environment variable `SB_TOKEN_S` is not set"),
        "{e}"
    );
}

// ------------------------------------------------------------ error classes

/// Base file for the error tests: two queues, one team, one agent; each
/// test edits one part. Line numbers are those of this text.
const BASE: &str = r#"idle_reasons = ["Lunch"]

[[variable]]
name = "account"
type = "string"

[[variable]]
name = "pin"
type = "string"
secure = true

[[team]]
name = "support"

[[queue]]
name = "support"
number = "5000"
wrap_up_reasons = ["Done"]
offer_variables = ["caller_number", "dnis", "account"]

[[queue]]
name = "sales"
number = "5001"
wrap_up_reasons = ["Done"]
offer_variables = ["caller_number", "dnis", "queue"]

[[agent]]
id = "alice"
name = "Alice"
team = "support"
extension = "1001"
skills = { support = 5 }
token = "0123456789abcdef-alice"
"#;

#[test]
fn base_file_loads() {
    let c = load(&[("acd.toml", Some(BASE))]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.acd().queues.len(), 2);
    assert!(c.demo_passwords_in_use().iter().all(|d| !d.starts_with("agent")));
}

#[test]
fn duplicates_are_located() {
    let acd = format!(
        r#"{BASE}
[[variable]]
name = "account"
type = "integer"

[[team]]
name = "support"

[[queue]]
name = "support"
number = "5001"
wrap_up_reasons = ["Done", "Done"]
offer_variables = ["caller_number", "dnis", "dnis"]

[[agent]]
id = "alice"
name = "Alice Again"
team = "support"
extension = "1001"
skills = {{ support = 5 }}
token = "0123456789abcdef-alice"

[[supervisor]]
id = "sam"
name = "Sam"
teams = ["support", "support"]
token = "0123456789abcdef-sam"

[[supervisor]]
id = "sam"
name = "Sam Again"
teams = ["support"]
token = "0123456789abcdef-sam2"
"#
    );
    assert_errors(
        &acd_errors(&acd),
        &[
            "acd.toml:36:8: duplicate variable `account` (first defined at line 4)",
            "acd.toml:40:8: duplicate team `support` (first defined at line 13)",
            "acd.toml:43:8: duplicate queue name `support` (first defined at line 16)",
            "acd.toml:44:10: duplicate queue number `5001` (first defined at line 23)",
            "acd.toml:45:28: duplicate wrap-up reason `Done`",
            "acd.toml:46:45: duplicate offer variable `dnis`",
            "acd.toml:49:6: duplicate agent id `alice` (first defined at line 28)",
            "acd.toml:52:13: duplicate agent extension `1001` (first defined at line 31)",
            "acd.toml:54:9: token already used by agent `alice`; each token must be unique",
            "acd.toml:59:21: duplicate team `support`",
            "acd.toml:63:6: duplicate supervisor id `sam` (first defined at line 57)",
        ],
    );
}

#[test]
fn unknown_references_are_located() {
    let acd = BASE
        .replace("team = \"support\"\nextension", "team = \"billing\"\nextension")
        .replace("extension = \"1001\"", "extension = \"1999\"")
        .replace("skills = { support = 5 }", "skills = { support = 5, vip = 2 }")
        .replace("\"dnis\", \"account\"]", "\"dnis\", \"acount\"]");
    let acd = format!(
        "{acd}\n[[supervisor]]\nid = \"sam\"\nname = \"Sam\"\nteams = [\"support\", \"billing\"]\n\
         token = \"0123456789abcdef-sam\"\n"
    );
    assert_errors(
        &acd_errors(&acd),
        &[
            "acd.toml:19:45: unknown variable `acount` (not a [[variable]] nor a built-in",
            "acd.toml:30:8: unknown team `billing` (not a [[team]] of acd.toml)",
            "acd.toml:31:13: unknown user `1999` (not in directory.toml)",
            "acd.toml:32:25: unknown queue `vip` (not a [[queue]] of acd.toml)",
            "acd.toml:38:21: unknown team `billing`",
        ],
    );
    assert!(errors(&[("acd.toml", Some(&acd))])
        .iter()
        .all(|e| e.kind == ErrorKind::UnknownReference));
}

#[test]
fn overflow_rules() {
    let with = |extra: &str| BASE.replace("number = \"5001\"\n", &format!("number = \"5001\"\n{extra}"));
    // Self-overflow, overflow to an unknown queue, and each without the other.
    let e = acd_errors(&with("max_wait_s = 60\noverflow = { queue = \"sales\" }\n"));
    assert_errors(&e, &["acd.toml:25:22: queue `sales` overflows to itself"]);
    let e = acd_errors(&with("max_wait_s = 60\noverflow = { queue = \"nope\" }\n"));
    assert_errors(
        &e,
        &["acd.toml:25:22: unknown queue `nope` (not a [[queue]] of acd.toml)"],
    );
    let e = acd_errors(&with("max_wait_s = 60\n"));
    assert_errors(&e, &["acd.toml:24:14: `max_wait_s` needs `overflow"]);
    let e = acd_errors(&with("overflow = { queue = \"support\" }\n"));
    assert_errors(&e, &["acd.toml:24:12: `overflow` needs `max_wait_s`"]);
    let e = acd_errors(&with("max_wait_s = 60\noverflow = { target = \"sip:x@y\" }\n"));
    assert_errors(&e, &["acd.toml:25:23: overflow target `sip:x@y` must be a number"]);
    let e = acd_errors(&with("max_wait_s = 60\noverflow = { voicemail = \"1\" }\n"));
    assert_errors(&e, &["acd.toml:25:14: unknown variant `voicemail`"]);

    // A target must be routed by some dial-plan rule: 1001 is, 12 is not.
    let plan = "[[context.internal]]\nmatch = { regex = \"^100[0-9]$\" }\naction = \"user\"\n\
                [[context.external]]\nmatch = { exact = \"5000\" }\naction = \"queue\"\nqueue = \"support\"\n";
    let acd = with("max_wait_s = 60\noverflow = { target = \"1001\" }\n");
    let c = load(&[("acd.toml", Some(&acd)), ("dialplan.toml", Some(plan))]).unwrap_or_else(|e| panic!("{e}"));
    let sales = c.acd().queue_by_name("sales").unwrap();
    assert_eq!(sales.overflow, Some(OverflowTarget::External("1001".into())));
    assert_eq!(sales.max_wait, Some(Duration::from_secs(60)));
    let acd = with("max_wait_s = 60\noverflow = { target = \"12\" }\n");
    one_error(
        &[("acd.toml", Some(&acd)), ("dialplan.toml", Some(plan))],
        "acd.toml:25:23",
        ErrorKind::UnknownReference,
        "overflow target `12` matches no rule of any dial-plan context",
    );
}

#[test]
fn out_of_range_numbers_are_located() {
    let acd = BASE
        .replace(
            "number = \"5000\"\n",
            "number = \"5000\"\nrona_timeout_s = 0\nwrap_up_s = 3601\npriority = 256\nannounce_every_s = 5\n",
        )
        .replace(
            "number = \"5001\"\n",
            "number = \"50a1\"\nmax_wait_s = 0\noverflow = { queue = \"support\" }\nrona_timeout_s = 301\n",
        )
        .replace("skills = { support = 5 }", "skills = { support = 11, sales = 0 }");
    assert_errors(
        &acd_errors(&acd),
        &[
            "acd.toml:18:18: rona_timeout_s must be within 1..=300",
            "acd.toml:19:13: wrap_up_s must be within 0..=3600",
            "acd.toml:20:12: priority must be within 0..=255",
            "acd.toml:21:20: announce_every_s must be 0 (off) or within 10..=600",
            "acd.toml:27:10: queue number `50a1` must be 1 to 32 digits",
            "acd.toml:28:14: max_wait_s must be within 1..=86400",
            "acd.toml:30:18: rona_timeout_s must be within 1..=300",
            "acd.toml:39:22: skill level must be within 1..=10",
            "acd.toml:39:34: skill level must be within 1..=10",
        ],
    );
    let ok = BASE.replace(
        "number = \"5000\"\n",
        "number = \"5000\"\nannounce_every_s = 0\nwrap_up_s = 0\n",
    );
    let c = load(&[("acd.toml", Some(&ok))]).unwrap_or_else(|e| panic!("{e}"));
    let q = c.acd().queue(QueueId(0)).unwrap();
    assert_eq!((q.announce_every, q.wrap_up), (None, Duration::ZERO));
}

#[test]
fn offer_variables_three_to_six_never_secure() {
    let set = |list: &str| BASE.replace("[\"caller_number\", \"dnis\", \"account\"]", list);
    let e = acd_errors(&set("[\"caller_number\", \"dnis\"]"));
    assert_errors(
        &e,
        &["acd.toml:19:19: offer_variables lists 2 variables; an offer shows 3 to 6 (OFFER-2)"],
    );
    let seven = "[\"caller_number\", \"caller_name\", \"dnis\", \"queue\", \"account\", \"a\", \"b\"]";
    let e = acd_errors(&set(seven));
    assert_errors(
        &e,
        &[
            "acd.toml:19:19: offer_variables lists 7 variables",
            "acd.toml:19:80: unknown variable `a`",
            "acd.toml:19:85: unknown variable `b`",
        ],
    );
    let e = acd_errors(&set("[\"caller_number\", \"pin\", \"dnis\"]"));
    assert_errors(
        &e,
        &["acd.toml:19:37: variable `pin` is secure and is never shown in an offer (OFFER-2)"],
    );
    let c = load(&[(
        "acd.toml",
        Some(&set(
            "[\"queue\", \"dnis\", \"caller_name\", \"account\", \"caller_number\"]",
        )),
    )])
    .unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<&str> = c.acd().queues[0].offer_variables.iter().map(OfferVar::name).collect();
    assert_eq!(names, ["queue", "dnis", "caller_name", "account", "caller_number"]);
}

// spec: CALL-XFER-4
#[test]
fn flow_variables_name_defined_variables_only() {
    let set = |list: &str| {
        BASE.replace(
            "offer_variables = [\"caller_number\", \"dnis\", \"queue\"]\n",
            &format!("offer_variables = [\"caller_number\", \"dnis\", \"queue\"]\nflow_variables = {list}\n"),
        )
    };
    let e = acd_errors(&set("[\"account\", \"dnis\", \"nope\", \"account\"]"));
    assert_errors(
        &e,
        &[
            "acd.toml:26:30: `dnis` is built in",
            "acd.toml:26:38: unknown variable `nope`",
            "acd.toml:26:46: duplicate flow variable",
        ],
    );
    let c = load(&[("acd.toml", Some(&set("[\"pin\"]")))]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        c.acd().queues[1].flow_variables.as_deref(),
        Some(&["pin".to_string()][..])
    );
    assert_eq!(c.acd().queues[0].flow_variables, None, "default: every variable");
}

#[test]
fn variable_defaults_must_fit_their_type() {
    let vars = r#"
[[variable]]
name = "n"
type = "integer"
default = "12x"

[[variable]]
name = "when"
type = "datetime"
default = "2024-02-30T10:00:00Z"

[[variable]]
name = "flag"
type = "boolean"
default = 1

[[variable]]
name = "note"
type = "string"
default = "LONG"

[[variable]]
name = "local"
type = "datetime"
default = 2024-05-01T10:00:00

[[variable]]
name = "1st"
type = "string"
source = "header:"

[[variable]]
name = "dnis"
type = "colour"
"#
    .replace("LONG", &"x".repeat(257));
    assert_errors(
        &acd_errors(&format!("{BASE}{vars}")),
        &[
            "acd.toml:38:11: default of integer variable `n`: value is not a valid integer",
            "acd.toml:43:11: default of datetime variable `when`: value is not a valid datetime: expected an ISO 8601 date-time with offset",
            "acd.toml:48:11: default of boolean variable `flag` must be a boolean (or a string holding one), not a TOML integer",
            "acd.toml:53:11: default of string variable `note`: value has 257 characters; at most 256",
            "acd.toml:58:11: default of datetime variable `local`: value is not a valid datetime",
            "acd.toml:61:8: variable name `1st` must be 1 to 64 of [A-Za-z0-9_], not starting with a digit",
            "acd.toml:63:10: unknown variable source `header:`",
            "acd.toml:67:8: unknown variant `colour`",
        ],
    );
    let ok = r#"
[[variable]]
name = "since"
type = "datetime"
default = 2024-05-01T10:00:00+02:00
source = "dialled"

[[variable]]
name = "vip"
type = "boolean"
default = "true"
"#;
    let c = load(&[("acd.toml", Some(&format!("{BASE}{ok}")))]).unwrap_or_else(|e| panic!("{e}"));
    let since = c.acd().variable("since").unwrap();
    assert_eq!(since.default.as_deref(), Some("2024-05-01T10:00:00+02:00"));
    assert_eq!(
        (since.var_type, since.source.clone()),
        (VarType::DateTime, Some(VarSource::Dialled))
    );
    assert_eq!(c.acd().variable("vip").unwrap().default.as_deref(), Some("true"));
}

#[test]
fn built_in_names_reasons_music_and_logins() {
    let acd = BASE
        .replace(
            "idle_reasons = [\"Lunch\"]",
            "idle_reasons = [\"Lunch\", \"RONA\", \" \"]",
        )
        .replace("name = \"account\"", "name = \"dnis\"")
        .replace(
            "\"dnis\", \"account\"]",
            "\"dnis\", \"queue\"]\nmusic = \"../secret.wav\"",
        )
        .replace("number = \"5001\"\n", "number = \"5001\"\nmusic = \"hold.mp3\"\n")
        .replace("id = \"alice\"", "id = \"Alice\"")
        .replace("token = \"0123456789abcdef-alice\"", "token = \"short\"")
        .replace(
            "wrap_up_reasons = [\"Done\"]\noffer_variables = [\"caller_number\", \"dnis\", \"queue\"]\n\n[[agent]]",
            "wrap_up_reasons = []\noffer_variables = [\"caller_number\", \"dnis\", \"queue\"]\n\n[[agent]]",
        );
    assert_errors(
        &acd_errors(&acd),
        &[
            "acd.toml:1:26: idle reason `RONA` is built in (OFFER-4) and may not be configured",
            "acd.toml:1:34: idle reason ` ` must be 1 to 64 characters",
            "acd.toml:4:8: variable `dnis` is built in; choose another name",
            "acd.toml:20:9: music `../secret.wav` must be a relative *.wav file name under media/ without `..`",
            "acd.toml:25:9: music `hold.mp3` must be",
            "acd.toml:26:19: wrap_up_reasons must list at least one reason (WRAP-1)",
            "acd.toml:30:6: agent id `Alice` must be 1 to 32 of [a-z0-9._-]",
            "acd.toml:35:9: token has 5 characters; at least 16 are needed",
        ],
    );
    let music = BASE.replace("number = \"5001\"\n", "number = \"5001\"\nmusic = \"moh/jazz.wav\"\n");
    let c = load(&[("acd.toml", Some(&music))]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.acd().queues[1].music, Some(PathBuf::from("moh/jazz.wav")));
}

#[test]
fn schema_and_syntax_errors_do_not_cascade() {
    // An unknown key, a bad strategy, a missing field: reported where they
    // are; the agent's references to the broken queue are not checked.
    let acd = format!("colour = \"red\"\n{BASE}")
        .replace("number = \"5000\"\n", "number = \"5000\"\nstrategy = \"random\"\n")
        .replace("name = \"sales\"\nnumber = \"5001\"\n", "name = \"sales\"\n")
        .replace(
            "skills = { support = 5 }",
            "skills = { support = 5, sales = 1, gone = 2 }",
        );
    let errs = acd_errors(&acd);
    assert_errors(
        &errs,
        &[
            "acd.toml:1:1: unknown key `colour`, expected one of `idle_reasons`",
            "acd.toml:19:12: unknown variant `random`",
            "acd.toml:23:1: missing field `number`",
        ],
    );
    let e = errors(&[("acd.toml", Some("[[queue]\nname = 1\n"))]);
    assert!(!e.is_empty() && e.iter().all(|e| e.kind == ErrorKind::Syntax), "{e:#?}");
    assert!(e[0].to_string().starts_with("sip-profiles/acd.toml:1:"), "{e:#?}");
}
