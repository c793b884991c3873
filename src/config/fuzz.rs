//! Fuzzing entry point of the configuration loader (DESIGN.md convention 8):
//! admin-edited TOML (the `sip-profiles/` files) through the whole load —
//! syntax, schema, values, cross-file references — into the typed
//! [`Config`], or into `file:line:col` errors.
//!
//! The input is a selector octet and a file's text: the text replaces the
//! embedded default file the selector picks (`switchboard.toml`,
//! `internal.toml`, `external.toml`, `directory.toml`, `trunks.toml`,
//! `dialplan.toml`, `acd.toml`, `entrypoints.toml`, in that order, selector
//! modulo 8) under the fake name `fuzz/<file>`, the others stay the embedded defaults, so
//! cross-file checks run against a realistic set. `env:VAR` secrets resolve
//! from a fixed map, never the process environment.
//!
//! Invariants checked besides "never panics": a failed load reports at least
//! one error, sorted and without duplicates, each inside its file (line and
//! column within the text) and displayed as `file:line:col: message`; a
//! loaded config keeps its promises (every reference resolves, the ACD core
//! accepts its configuration, variable defaults fit their types), its
//! dial plan routes any number without panicking, and every entry point's
//! steps lead to steps that exist and its flow runs (keys and time-outs)
//! without panicking.

use super::{embedded_sources, load_from_sources_with_env, validate_value, Action, Config, ConfigErrors};

/// Queue facts for fuzzing the flows: nobody logged in, a long wait.
struct NoAgents;

impl crate::flow::QueueFacts for NoAgents {
    fn agents_logged_in(&self, _: crate::acd::QueueId) -> usize {
        0
    }
    fn agents_available(&self, _: crate::acd::QueueId) -> usize {
        0
    }
    fn expected_wait(&self, _: crate::acd::QueueId) -> std::time::Duration {
        std::time::Duration::from_secs(600)
    }
}

/// Every step leads to a step of its flow, every `entry_point` step to a
/// flow; each flow runs from its start with keys from `text` and its
/// time-outs without panicking, every deadline ahead of the time it is set.
fn check_entry_points(config: &Config, text: &str) {
    let entry = config.entry_points();
    for f in &entry.flows {
        assert!(!f.steps.is_empty(), "entry point {} has no step", f.name);
        for s in &f.steps {
            for n in s.kind.successors() {
                assert!(n.0 < f.steps.len(), "step {} leads nowhere", s.name);
            }
            if let super::StepKind::EntryPoint { flow } = &s.kind {
                assert!(entry.flow(*flow).is_some(), "step {} names a missing flow", s.name);
            }
        }
    }
    let keys: Vec<char> = text
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '*' || *c == '#')
        .take(32)
        .collect();
    let start = std::time::Instant::now();
    for i in 0..entry.flows.len() {
        let mut now = crate::time::Now {
            mono: start,
            unix_ms: 1_800_000_000_000,
        };
        let mut run = crate::flow::FlowRun::start(entry, super::FlowId(i), Vec::new(), now, &NoAgents);
        for (n, k) in keys.iter().enumerate() {
            if n % 3 == 2 {
                if let Some(t) = run.poll_timeout() {
                    now = now.plus(t.saturating_duration_since(now.mono));
                    run.handle_timeout(entry, now, &NoAgents);
                }
            }
            run.handle_key(entry, *k, now, &NoAgents);
            while run.poll_action().is_some() {}
        }
        // Time alone moves it on (a menu looping on no entry may go on for ever).
        for _ in 0..200 {
            let Some(t) = run.poll_timeout() else { break };
            assert!(
                t > now.mono || run.is_done(),
                "entry point {} is due in the past",
                entry.flows[i].name
            );
            now = now.plus(t.saturating_duration_since(now.mono));
            run.handle_timeout(entry, now, &NoAgents);
            while run.poll_action().is_some() {}
        }
    }
}

/// The secrets `env:VAR` may name while fuzzing.
fn env(name: &str) -> Option<String> {
    name.starts_with("SB_").then(|| format!("secret-{name}"))
}

/// Loads the embedded defaults with one file replaced (see the module docs).
pub fn toml(data: &[u8]) {
    let Some((&selector, text)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(text);
    let embedded = embedded_sources();
    let k = usize::from(selector) % embedded.len();
    let base = embedded[k].0.rsplit('/').next().unwrap_or(embedded[k].0);
    let fake = format!("fuzz/{base}");
    let mut sources: Vec<(&str, &str)> = embedded.to_vec();
    sources[k] = (&fake, &text);
    match load_from_sources_with_env(&sources, &env) {
        Ok(config) => check_config(&config, &text),
        Err(errors) => check_errors(&errors, &sources),
    }
}

/// The errors of a failed load point into their files.
fn check_errors(errors: &ConfigErrors, sources: &[(&str, &str)]) {
    assert!(!errors.is_empty(), "a failed load must say why");
    let list = errors.errors();
    for pair in list.windows(2) {
        let key = |e: &super::ConfigError| (e.file.clone(), e.line, e.column);
        assert!(key(&pair[0]) <= key(&pair[1]), "errors are not sorted");
        assert_ne!(pair[0], pair[1], "duplicate error");
    }
    for e in list {
        assert!(!e.file.is_empty() && !e.message.is_empty(), "{e:?}");
        assert_eq!(
            e.to_string(),
            format!("{}:{}:{}: {}", e.file, e.line, e.column, e.message)
        );
        let Some((_, text)) = sources.iter().find(|(name, _)| *name == e.file) else {
            continue; // a missing file, named after the others' directory
        };
        if e.line == 0 {
            assert_eq!(e.column, 0, "a whole-file error has no column: {e}");
            continue;
        }
        let lines: Vec<&str> = text.split('\n').collect();
        assert!(e.line <= lines.len(), "{e}: the file has {} lines", lines.len());
        let width = lines[e.line - 1].chars().count();
        assert!(
            e.column >= 1 && e.column <= width + 1,
            "{e}: line {} has {width} characters",
            e.line
        );
    }
}

/// A loaded config keeps the promises of validation.
fn check_config(config: &Config, text: &str) {
    let plan = config.dialplan();
    for p in config.profiles() {
        assert!(
            plan.context(&p.context).is_some(),
            "profile {} names a missing context",
            p.name
        );
    }
    for t in config.trunks() {
        assert!(
            config.profile(&t.profile).is_some(),
            "trunk {} names a missing profile",
            t.name
        );
        if let Some(i) = &t.inbound {
            assert!(
                plan.context(&i.context).is_some(),
                "trunk {} names a missing context",
                t.name
            );
        }
    }
    let acd = config.acd();
    for v in &acd.variables {
        if let Some(d) = &v.default {
            assert!(
                validate_value(v.var_type, d).is_ok(),
                "variable {} has a bad default",
                v.name
            );
        }
    }
    match crate::acd::Acd::new(acd.core_config()) {
        Ok(core) => assert_eq!(core.check_invariants(), Ok(())),
        Err(e) => panic!("the ACD core refused a validated acd.toml: {e}"),
    }
    check_entry_points(config, text);
    let _ = config.check_bind_safety();
    let _ = config.demo_passwords_in_use();
    let _ = config.sip().limits();
    // Route some numbers, one of them taken from the input's tail.
    let tail: String = text
        .chars()
        .rev()
        .take(24)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let dialled = ["1001", "", "+15551234567", "5000", "0", tail.trim()];
    let names: Vec<&str> = plan.context_names().collect();
    for ctx in &names {
        let rules = plan.context(ctx).map_or(0, <[_]>::len);
        for d in dialled {
            let Some(route) = plan.route(ctx, d) else {
                continue;
            };
            assert!(route.rule_index < rules);
            match &route.action {
                Action::User { user: Some(u) } => {
                    assert!(config.user(u).is_some(), "route to unknown user {u}");
                }
                Action::Trunk { name } => {
                    assert!(config.trunk(name).is_some(), "route to unknown trunk {name}");
                }
                Action::Trunks { group } => {
                    for n in group.names() {
                        assert!(config.trunk(n).is_some(), "route to unknown trunk {n}");
                    }
                }
                Action::Queue { name } => {
                    assert!(acd.queue_by_name(name).is_some(), "route to unknown queue {name}");
                }
                _ => {}
            }
        }
    }
}
