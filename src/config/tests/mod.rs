//! Tests of loading, validation errors and routing over the embedded default
//! and load-test configurations and small edits of them.

use std::collections::HashMap;

use super::defaults::EMBEDDED;
use super::*;

/// The embedded files with some replaced (by base name) or removed (`None`).
pub(super) fn sources(edits: &[(&str, Option<&str>)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = EMBEDDED
        .iter()
        .map(|(n, t)| ((*n).to_owned(), (*t).to_owned()))
        .collect();
    // Tests of acd.toml alone keep a minimal entry point (the dial plan's
    // `main`) that names no queue, so their errors are acd.toml's only.
    let edits_acd = edits.iter().any(|(b, _)| *b == "acd.toml");
    let edits_entry = edits.iter().any(|(b, _)| *b == "entrypoints.toml");
    let minimal = [("entrypoints.toml", Some(MINIMAL_ENTRY))];
    let implied: &[(&str, Option<&str>)] = if edits_acd && !edits_entry { &minimal } else { &[] };
    for (base, text) in edits.iter().chain(implied) {
        let name = format!("sip-profiles/{base}");
        out.retain(|(n, _)| *n != name);
        if let Some(t) = text {
            out.push((name, (*t).to_owned()));
        }
    }
    out
}

/// An `entrypoints.toml` with the dial plan's `main` only, hanging up.
pub(super) const MINIMAL_ENTRY: &str =
    "[[entry_point]]\nname = \"main\"\n[[entry_point.step]]\nname = \"bye\"\nkind = \"hangup\"\n";

pub(super) fn load_env(edits: &[(&str, Option<&str>)], env: &[(&str, &str)]) -> Result<Config, ConfigErrors> {
    let files = sources(edits);
    let refs: Vec<(&str, &str)> = files.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
    let env: HashMap<String, String> = env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    load_from_sources_with_env(&refs, &|k| env.get(k).cloned())
}

pub(super) fn load(edits: &[(&str, Option<&str>)]) -> Result<Config, ConfigErrors> {
    load_env(edits, &[])
}

pub(super) fn errors(edits: &[(&str, Option<&str>)]) -> Vec<ConfigError> {
    match load(edits) {
        Ok(_) => panic!("expected errors"),
        Err(e) => e.0,
    }
}

/// Asserts exactly one error, at `where_` ("file:line:col"), of `kind`,
/// whose message contains `needle`.
pub(super) fn one_error(edits: &[(&str, Option<&str>)], where_: &str, kind: ErrorKind, needle: &str) {
    let errs = errors(edits);
    assert_eq!(errs.len(), 1, "expected one error, got {errs:#?}");
    let e = &errs[0];
    let shown = e.to_string();
    assert!(
        shown.starts_with(&format!("sip-profiles/{where_}: ")),
        "wrong place: {shown}"
    );
    assert_eq!(e.kind, kind, "{shown}");
    assert!(shown.contains(needle), "message lacks {needle:?}: {shown}");
}

pub(super) const TRUNKS: &str = r#"
[[trunk]]
name = "demo"
address = "127.0.0.1:5090"
inbound_from = ["127.0.0.1"]
context = "external"
"#;

/// An `acd.toml` with the two queues the default dial plan names and no
/// agents, for tests that replace `directory.toml` (the default agents'
/// extensions would be unknown) or need no demo tokens.
pub(super) const ACD_NO_AGENTS: &str = r#"
[[queue]]
name = "support"
number = "5000"
wrap_up_reasons = ["Done"]
offer_variables = ["caller_number", "dnis", "queue"]

[[queue]]
name = "sales"
number = "5001"
wrap_up_reasons = ["Done"]
offer_variables = ["caller_number", "dnis", "queue"]
"#;

mod acd;
mod api;
mod entry;
mod errors;
mod loading;
mod routing;
mod secrets;
mod tls;
mod trunks;
mod websocket;
