//! `entrypoints.toml` (issue 14 item 1): the embedded demo flow, and every
//! mistake `switchboard check` must find, at its `file:line:col`.

use std::time::Duration;

use super::*;
use crate::config::entry::{KeyWait, Mailbox, QueueTest, StepKind, StepRef};
use crate::config::schedule::Openness;

/// The errors of the default files with `entrypoints.toml` replaced.
fn entry_errors(text: &str) -> Vec<String> {
    errors(&[("entrypoints.toml", Some(text))])
        .iter()
        .map(|e| e.to_string().trim_start_matches("sip-profiles/").to_owned())
        .collect()
}

fn assert_errors(got: &[String], want: &[&str]) {
    assert_eq!(got.len(), want.len(), "{got:#?}");
    for (g, w) in got.iter().zip(want) {
        assert!(g.starts_with(w), "expected {w:?}, got {g:?}\nall: {got:#?}");
    }
}

/// A flow `f` of the given steps (TOML text of `[[entry_point.step]]`s).
fn flow(steps: &str) -> String {
    format!("[[entry_point]]\nname = \"main\"\n{steps}\n[[entry_point]]\nname = \"spare\"\n[[entry_point.step]]\nname = \"bye\"\nkind = \"hangup\"\n")
}

#[test]
fn embedded_demo_flow_loads() {
    let c = load_embedded().unwrap_or_else(|e| panic!("{e}"));
    let e = c.entry_points();
    let main = e.flow(e.by_name("main").unwrap()).unwrap();
    let names: Vec<&str> = main.steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        ["hours", "menu", "support", "sales", "closed", "holiday", "voicemail"]
    );
    let StepKind::Menu {
        prompt,
        choices,
        wait,
        otherwise,
        no_input,
    } = &main.steps[1].kind
    else {
        panic!("{:?}", main.steps[1].kind)
    };
    assert_eq!(prompt.name, "welcome");
    assert!(prompt.duration() > Duration::from_secs(1), "{prompt:?}");
    let mut ch: Vec<(&str, usize)> = choices.iter().map(|(k, s)| (k.as_str(), s.0)).collect();
    ch.sort();
    assert_eq!(ch, [("0", 6), ("1", 2), ("2", 3)]);
    assert_eq!(
        (wait.first, wait.between, wait.retries),
        (KeyWait::DEFAULT_FIRST, KeyWait::DEFAULT_BETWEEN, 2)
    );
    assert_eq!(wait.invalid_prompt.as_ref().map(|p| p.name.as_str()), Some("invalid"));
    assert_eq!((*otherwise, *no_input), (StepRef(2), StepRef(2)));
    assert!(matches!(
        main.steps[6].kind,
        StepKind::Voicemail {
            mailbox: Mailbox::Queue(_),
            ..
        }
    ));
    // The office schedule: London hours, Christmas closed.
    let office = &e.schedules[0];
    assert_eq!(office.zone_name, "Europe/London");
    let at = |s: &str| s.parse::<jiff::Timestamp>().unwrap().as_millisecond() as u64;
    assert_eq!(office.state_at(at("2026-12-07T09:00:00Z")), Openness::Open);
    assert_eq!(office.state_at(at("2026-12-07T18:00:00Z")), Openness::Closed);
    assert_eq!(office.state_at(at("2026-12-25T10:00:00Z")), Openness::Holiday);
    // The dial plan leads 5100 there.
    let r = c.dialplan().route("external", "5100").unwrap();
    assert_eq!(r.action, Action::EntryPoint { name: "main".into() });
}

#[test]
fn absent_file_means_no_entry_points_unless_the_dial_plan_names_one() {
    let errs = errors(&[("entrypoints.toml", None)]);
    let shown: Vec<String> = errs.iter().map(ToString::to_string).collect();
    assert_eq!(shown.len(), 2, "{shown:#?}");
    assert!(shown[0].contains("unknown entry point `main`"), "{shown:#?}");
}

#[test]
fn every_step_kind_loads_with_its_fields() {
    let text = flow(
        r#"
[[entry_point.step]]
name = "start"
kind = "set"
values = { customer_tier = "gold", open_tickets = 3 }
next = "check"
[[entry_point.step]]
name = "check"
kind = "queue_state"
queue = "support"
test = "expected_wait_over"
wait_s = 300
then = "account"
otherwise = "tier"
[[entry_point.step]]
name = "tier"
kind = "branch"
variable = "customer_tier"
cases = { gold = "vip" }
otherwise = "account"
[[entry_point.step]]
name = "account"
kind = "collect"
prompt = "enter-account"
variable = "account"
max_digits = 8
min_digits = 4
next = "vip"
otherwise = "out"
[[entry_point.step]]
name = "vip"
kind = "queue"
queue = "sales"
priority = 9
[[entry_point.step]]
name = "out"
kind = "entry_point"
entry_point = "spare"
"#,
    );
    let c = load(&[("entrypoints.toml", Some(&text))]).unwrap_or_else(|e| panic!("{e}"));
    let f = &c.entry_points().flows[0];
    assert!(matches!(&f.steps[0].kind, StepKind::Set { values, .. }
        if values == &[("customer_tier".to_owned(), "gold".to_owned()), ("open_tickets".to_owned(), "3".to_owned())]));
    assert!(
        matches!(f.steps[1].kind, StepKind::QueueState { test: QueueTest::ExpectedWaitOver(w), .. } if w == Duration::from_secs(300))
    );
    assert!(matches!(
        &f.steps[3].kind,
        StepKind::Collect {
            min_digits: 4,
            max_digits: 8,
            terminator: Some('#'),
            ..
        }
    ));
    assert!(matches!(f.steps[4].kind, StepKind::Queue { priority: 9, .. }));
    assert_eq!(f.steps[0].origin.line, 5, "{:?}", f.steps[0].origin);
}

#[test]
fn references_and_fields_are_checked_where_written() {
    let text = flow(
        r#"
[[entry_point.step]]
name = "menu"
kind = "menu"
prompt = "welcome"
choices = { "1" = "nowhere", "12345678X" = "bye2" }
otherwise = "bye2"
queue = "support"
[[entry_point.step]]
name = "bye2"
kind = "hangup"
prompt = "no-such-prompt"
"#,
    );
    assert_errors(
        &entry_errors(&text),
        &[
            "entrypoints.toml:8:19: unknown step `nowhere` (not a step of entry point `main`)",
            "entrypoints.toml:8:44: choice `12345678X` must be 1 to 8 keys",
            "entrypoints.toml:10:9: `queue` does not apply to a `menu` step",
            "entrypoints.toml:14:10: missing prompt `no-such-prompt`: not one of the switch's own (welcome, ",
        ],
    );
}

#[test]
fn values_are_typed_as_cad_1() {
    let text = flow(
        r#"
[[entry_point.step]]
name = "s"
kind = "set"
values = { open_tickets = "many" }
next = "c"
[[entry_point.step]]
name = "c"
kind = "collect"
prompt = "enter-account"
variable = "vip_flag"
max_digits = 4
next = "q"
otherwise = "q"
[[entry_point.step]]
name = "q"
kind = "queue"
queue = "nope"
"#,
    );
    assert_errors(
        &entry_errors(&text),
        &[
            "entrypoints.toml:7:27: `open_tickets`: value is not a valid integer",
            "entrypoints.toml:13:12: unknown variable `vip_flag`",
            "entrypoints.toml:20:9: unknown queue `nope`",
        ],
    );
}

#[test]
fn unreachable_steps_are_found() {
    let text = flow(
        r#"
[[entry_point.step]]
name = "hello"
kind = "play"
prompt = "welcome"
next = "q"
[[entry_point.step]]
name = "orphan"
kind = "play"
prompt = "goodbye"
next = "q"
[[entry_point.step]]
name = "q"
kind = "queue"
queue = "support"
"#,
    );
    assert_errors(
        &entry_errors(&text),
        &["entrypoints.toml:10:8: step `orphan` of entry point `main` is never reached from its first step `hello`"],
    );
}

#[test]
fn loops_without_exit_are_found_across_entry_points() {
    let text = r#"
[[entry_point]]
name = "main"
[[entry_point.step]]
name = "hello"
kind = "play"
prompt = "welcome"
next = "again"
[[entry_point.step]]
name = "again"
kind = "menu"
prompt = "welcome"
choices = { "1" = "hello", "2" = "other" }
otherwise = "hello"
[[entry_point.step]]
name = "other"
kind = "entry_point"
entry_point = "b"

[[entry_point]]
name = "b"
[[entry_point.step]]
name = "back"
kind = "play"
prompt = "goodbye"
next = "home"
[[entry_point.step]]
name = "home"
kind = "entry_point"
entry_point = "main"
"#;
    let got = entry_errors(text);
    assert_eq!(got.len(), 1, "{got:#?}");
    assert!(
        got[0].starts_with("entrypoints.toml:5:8: loop without exit: `hello` (main) → `again` (main)"),
        "{got:#?}"
    );
    assert!(got[0].contains("`back` (b)"), "{got:#?}");
}

#[test]
fn loops_that_never_wait_are_found() {
    let text = flow(
        r#"
[[entry_point.step]]
name = "x"
kind = "branch"
variable = "customer_tier"
cases = { gold = "q" }
otherwise = "y"
[[entry_point.step]]
name = "y"
kind = "set"
values = { open_tickets = 1 }
next = "x"
[[entry_point.step]]
name = "q"
kind = "queue"
queue = "support"
"#,
    );
    assert_errors(
        &entry_errors(&text),
        &["entrypoints.toml:5:8: loop that never waits for the caller: `x` (main) → `y` (main) → `x` (main)"],
    );
}

#[test]
fn schedules_are_checked() {
    let text = r#"
[[schedule]]
name = "s"
zone = "Europe/Atlantis"
monday = ["18:00-08:00", "09:00-10:00", "09:30-11:00"]
holidays = ["13-01"]
closures = [{ from = "2026-12-24T13:00", to = "2026-12-24T12:00" }]
[[schedule]]
name = "t"
zone = "America/New_York"
closures = [{ from = "yesterday", to = "2026-12-24T12:00" }]
[[entry_point]]
name = "main"
[[entry_point.step]]
name = "bye"
kind = "hangup"
"#;
    assert_errors(
        &entry_errors(text),
        &[
            "entrypoints.toml:4:8: `Europe/Atlantis` is not an IANA time zone",
            "entrypoints.toml:5:11: `18:00-08:00` ends before it starts",
            "entrypoints.toml:5:41: `09:30-11:00` overlaps another range of monday",
            "entrypoints.toml:6:13: `13-01` is not a holiday",
            "entrypoints.toml:11:22: `yesterday` is not a local date and time",
        ],
    );
}

#[test]
fn dial_plan_names_entry_points_that_exist() {
    let plan = format!(
        "{}\n[[context.internal]]\nmatch = {{ exact = \"5999\" }}\naction = \"entry_point\"\nentry_point = \"nope\"\n",
        crate::config::defaults::EMBEDDED[5].1
    );
    let errs: Vec<String> = errors(&[("dialplan.toml", Some(&plan))])
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(errs.len(), 1, "{errs:#?}");
    assert!(errs[0].contains("unknown entry point `nope`"), "{errs:#?}");
}

#[test]
fn prompts_in_another_format_are_refused_and_own_prompts_found_in_prompts_dir() {
    let dir = std::env::temp_dir().join(format!("sb-prompts-{}", std::process::id()));
    let conf = dir.join("conf");
    let prompts = dir.join("conf/prompts");
    std::fs::create_dir_all(&prompts).unwrap();
    for (name, text) in EMBEDDED {
        let base = std::path::Path::new(name).file_name().unwrap();
        std::fs::write(conf.join(base), text).unwrap();
    }
    let write_wav = |name: &str, rate: u32, channels: u16| {
        let spec = hound::WavSpec {
            channels,
            sample_rate: rate,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(prompts.join(name), spec).unwrap();
        for i in 0..800 {
            w.write_sample((i % 100) as i16).unwrap();
        }
        w.finalize().unwrap();
    };
    write_wav("welcome.wav", 48000, 2);
    write_wav("mine.wav", 8000, 1);
    let text = std::fs::read_to_string(conf.join("entrypoints.toml"))
        .unwrap()
        .replace("prompt = \"closed\"", "prompt = \"mine\"");
    std::fs::write(
        conf.join("entrypoints.toml"),
        format!("prompts_dir = \"prompts\"\n{text}"),
    )
    .unwrap();
    let errs = match load_dir(&conf) {
        Ok(_) => panic!("a 48 kHz stereo prompt loaded"),
        Err(e) => e.0,
    };
    assert_eq!(errs.len(), 1, "{errs:#?}");
    let shown = errs[0].to_string();
    assert!(
        shown.contains("entrypoints.toml:") && shown.contains("prompt `welcome`"),
        "{shown}"
    );
    assert!(shown.contains("8000 Hz mono 16-bit"), "{shown}");
    write_wav("welcome.wav", 8000, 1);
    let c = load_dir(&conf).unwrap_or_else(|e| panic!("{e}"));
    let main = &c.entry_points().flows[0];
    let StepKind::Play { prompt, .. } = &main.steps[4].kind else {
        panic!()
    };
    assert_eq!((prompt.name.as_str(), prompt.samples.len()), ("mine", 800));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A queue step's `min_skill`: 1..=10, and some agent of the queue must
/// have it (else nobody could ever take the caller).
#[test]
fn a_queue_steps_skill_level_is_checked() {
    let text = flow(
        r#"
[[entry_point.step]]
name = "q"
kind = "queue"
queue = "support"
min_skill = 11
"#,
    );
    assert_errors(
        &entry_errors(&text),
        &["entrypoints.toml:8:13: min_skill must be within 1..=10"],
    );
    // support: alice 5, bob 7, carol 3: nobody has 8.
    let text = text.replace("min_skill = 11", "min_skill = 8");
    assert_errors(
        &entry_errors(&text),
        &["entrypoints.toml:8:13: no agent serves this queue with a skill of 8 or more"],
    );
    let text = text.replace("min_skill = 8", "min_skill = 7");
    let c = load(&[("entrypoints.toml", Some(text.as_str()))]).unwrap_or_else(|e| panic!("{e}"));
    let e = c.entry_points();
    let main = e.flow(e.by_name("main").expect("main")).expect("flow");
    assert!(
        matches!(main.steps[0].kind, StepKind::Queue { min_skill: 7, .. }),
        "{:?}",
        main.steps[0].kind
    );
}
