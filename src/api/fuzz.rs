//! Fuzzing entry point of the HTTP API's request bodies (DESIGN.md
//! convention 8): one input is decoded as every JSON body the agent,
//! supervisor and call routes accept (login, state, wrap-up and its
//! extension, the call-associated data PUT, hold, consult, transfer,
//! forced state, monitor, assign, supervisor transfer), exactly as their
//! extractors decode it ([`super::extract::parse_json`], blank bodies per
//! [`super::extract::JsonBody`] / [`super::extract::OptionalJsonBody`]),
//! and each decoded body goes through the checks its handler runs before
//! the engine sees it. A data PUT's values are then saved into a small
//! configured [`InteractionData`] (CAD-1..3, the engine's own check).
//!
//! Invariants checked besides "never panics": `parse_json` accepts exactly
//! what `serde_json` accepts; every refusal is a 400 `bad_request` with a
//! message and, when it names a field, a non-empty one; a save is all or
//! nothing (CAD-3) and keeps secure values out of the agent's view.

use super::error::ApiError;
use super::extract::{is_blank, parse_json};
use crate::acd::{InteractionData, VarType, VariableSpec};
use crate::config::validate_value;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;

/// Runs `data` through every request body of the API (see the module docs).
pub fn bodies(data: &[u8]) {
    super::desk::fuzz_bodies(data);
    super::calls::fuzz_bodies(data);
    super::consult::fuzz_bodies(data);
    super::supervisor::fuzz_bodies(data);
}

/// A refusal before the engine is a 400 naming what is wrong.
pub(super) fn check_refusal(e: &ApiError) {
    assert_eq!(e.status().as_u16(), 400, "{e:?}");
    assert_eq!(e.kind(), "bad_request");
    assert!(!e.to_string().is_empty(), "{e:?}");
    if let ApiError::BadRequest { field: Some(f), .. } = e {
        assert!(!f.is_empty(), "{e:?}");
    }
}

/// Decodes as `JsonBody<T>` does (a blank body is refused).
pub(super) fn required<T: DeserializeOwned>(body: &[u8]) -> Option<T> {
    if is_blank(body) {
        return None;
    }
    decode(body)
}

/// Decodes as `OptionalJsonBody<T>` does: `Some(None)` for a blank body,
/// `None` when refused.
pub(super) fn optional<T: DeserializeOwned>(body: &[u8]) -> Option<Option<T>> {
    if is_blank(body) {
        return Some(None);
    }
    decode(body).map(Some)
}

fn decode<T: DeserializeOwned>(body: &[u8]) -> Option<T> {
    let plain = serde_json::from_slice::<T>(body).is_ok();
    match parse_json::<T>(body) {
        Ok(v) => {
            assert!(plain, "parse_json accepted a body serde_json refuses");
            Some(v)
        }
        Err(e) => {
            assert!(!plain, "parse_json refused a body serde_json accepts: {e:?}");
            check_refusal(&e);
            None
        }
    }
}

/// The variables of the test interaction: one per type, a secure one, a
/// read-only one.
fn specs() -> Vec<VariableSpec> {
    let spec = |name: &str, ty, editable, secure| VariableSpec {
        name: name.into(),
        ty,
        editable,
        secure,
    };
    vec![
        spec("account", VarType::String, true, false),
        spec("count", VarType::Integer, true, false),
        spec("vip", VarType::Boolean, true, false),
        spec("callback", VarType::DateTime, true, false),
        spec("pin", VarType::String, true, true),
        spec("queue", VarType::String, false, false),
    ]
}

/// A data PUT (CAD-1..3): its values checked like configured defaults, then
/// saved on `version` into an interaction whose `count` another agent saved
/// at version 1.
pub(super) fn save_data(version: u64, values: &BTreeMap<String, String>) {
    for value in values.values() {
        for ty in [VarType::String, VarType::Integer, VarType::Boolean, VarType::DateTime] {
            let fits = value.chars().count() <= crate::acd::MAX_VALUE_CHARS && ty.check(value).is_ok();
            assert_eq!(validate_value(ty, value).is_ok(), fits, "{ty} {value:?}");
        }
    }
    let initial = [("queue", "sales"), ("pin", "1234")];
    let Ok(mut data) = InteractionData::new(specs(), &initial) else {
        panic!("the test interaction's variables are valid");
    };
    if data.save(0, &[("count", "7")]).is_err() {
        panic!("a first save of a valid value must succeed");
    }
    let before = data.clone();
    let changes: Vec<(&str, &str)> = values.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    match data.save(version, &changes) {
        Ok(v) if changes.is_empty() => assert_eq!((v, &data), (before.version(), &before)),
        Ok(v) => {
            assert_eq!(v, before.version() + 1, "a save moves the version by one");
            for (name, value) in &changes {
                assert_eq!(data.value(name), Some(*value), "saved value not kept");
            }
        }
        Err(_) => assert_eq!(data, before, "a refused save changed something (CAD-3: all or nothing)"),
    }
    let view = data.view_for_agent(true);
    assert_eq!(view.version, data.version());
    for v in &view.variables {
        if v.secure {
            assert_eq!(v.value, None, "secure variable {} reached the agent's view", v.name);
        } else if v.name != crate::acd::CALLER_NUMBER {
            assert_eq!(
                v.value.as_deref(),
                data.value(&v.name),
                "view of {} differs from the saved value",
                v.name
            );
        }
    }
}
