//! Call-associated data (`switchboard::acd::InteractionData`): types and
//! length (CAD-1, CAD-2), optimistic versioning (CAD-3), revert (CAD-4),
//! secure variables and masking in the desktop and the offer (OFFER-2,
//! OFFER-3).

use switchboard::acd::{mask_number, CadError, InteractionData, VarType, VariableSpec, CALLER_NUMBER, MAX_VALUE_CHARS};

fn spec(name: &str, ty: VarType, editable: bool, secure: bool) -> VariableSpec {
    VariableSpec {
        name: name.into(),
        ty,
        editable,
        secure,
    }
}

/// An interaction with one variable of each type, a read-only one, a secure
/// editable one and the caller's number.
fn data() -> InteractionData {
    InteractionData::new(
        vec![
            spec(CALLER_NUMBER, VarType::String, false, false),
            spec("name", VarType::String, true, false),
            spec("account", VarType::Integer, true, false),
            spec("vip", VarType::Boolean, true, false),
            spec("due", VarType::DateTime, true, false),
            spec("segment", VarType::String, false, false),
            spec("card", VarType::String, true, true),
        ],
        &[
            (CALLER_NUMBER, "+15551234567"),
            ("name", "Ada"),
            ("account", "42"),
            ("segment", "gold"),
            ("card", "4111111111111111"),
        ],
    )
    .expect("valid data")
}

#[test]
fn every_type_accepts_its_values() {
    // spec: CAD-1
    let ok = [
        (VarType::String, ""),
        (VarType::String, "any text, ünïcödé"),
        (VarType::Integer, "0"),
        (VarType::Integer, "-42"),
        (VarType::Integer, "+7"),
        (VarType::Integer, "9223372036854775807"),
        (VarType::Integer, "-9223372036854775808"),
        (VarType::Boolean, "true"),
        (VarType::Boolean, "false"),
        (VarType::DateTime, "2026-11-21T10:00:00Z"),
        (VarType::DateTime, "2026-11-21T11:00:00+01:00"),
        (VarType::DateTime, "2026-11-21T05:00:00.250-05:00"),
        (VarType::DateTime, "2026-11-21t10:00:00z"),
        (VarType::DateTime, "20261121T100000Z"),
        (VarType::DateTime, "2026-11-21T10:00:00+01:00[Europe/Paris]"),
    ];
    for (ty, v) in ok {
        assert_eq!(ty.check(v), Ok(()), "{ty:?} {v:?}");
    }
}

#[test]
fn every_type_refuses_bad_values() {
    // spec: CAD-1
    let bad = [
        (VarType::Integer, ""),
        (VarType::Integer, "4.2"),
        (VarType::Integer, " 42"),
        (VarType::Integer, "42abc"),
        (VarType::Integer, "9223372036854775808"),
        (VarType::Boolean, ""),
        (VarType::Boolean, "True"),
        (VarType::Boolean, "yes"),
        (VarType::Boolean, "1"),
        (VarType::DateTime, ""),
        (VarType::DateTime, "2026-11-21"),
        (VarType::DateTime, "2026-11-21T10:00:00"),
        (VarType::DateTime, "2026-13-01T10:00:00Z"),
        (VarType::DateTime, "2026-02-30T10:00:00Z"),
        (VarType::DateTime, "2026-11-21T24:00:00Z"),
        (VarType::DateTime, "21/11/2026 10:00"),
        (VarType::DateTime, "tomorrow"),
    ];
    for (ty, v) in bad {
        assert!(ty.check(v).is_err(), "{ty:?} accepted {v:?}");
    }
}

#[test]
fn a_bad_value_is_refused_naming_the_variable() {
    // spec: CAD-1
    let mut d = data();
    for (name, value) in [("account", "forty-two"), ("vip", "maybe"), ("due", "next week")] {
        match d.save(0, &[(name, value)]) {
            Err(CadError::Invalid { name: n, reason }) => {
                assert_eq!(n, name);
                assert!(!reason.is_empty());
            }
            other => panic!("{name}={value:?}: {other:?}"),
        }
    }
    assert_eq!(d.version(), 0);
    assert_eq!(d.value("account"), Some("42"));
}

#[test]
fn initial_values_are_checked_too() {
    // spec: CAD-1
    let specs = vec![spec("n", VarType::Integer, false, false)];
    assert!(matches!(
        InteractionData::new(specs.clone(), &[("n", "x")]),
        Err(CadError::Invalid { .. })
    ));
    assert!(matches!(
        InteractionData::new(specs.clone(), &[("m", "1")]),
        Err(CadError::Unknown { .. })
    ));
    assert!(matches!(
        InteractionData::new(vec![specs[0].clone(), specs[0].clone()], &[] as &[(&str, &str)]),
        Err(CadError::DuplicateVariable { .. })
    ));
    // A read-only variable may be set by the flow.
    let d = InteractionData::new(specs, &[("n", "7")]).expect("flow sets read-only values");
    assert_eq!(d.value("n"), Some("7"));
}

#[test]
fn unknown_and_read_only_variables_are_refused() {
    // spec: CAD-1
    let mut d = data();
    assert_eq!(
        d.save(0, &[("nope", "x")]),
        Err(CadError::Unknown { name: "nope".into() })
    );
    assert_eq!(
        d.save(0, &[("segment", "silver")]),
        Err(CadError::NotEditable { name: "segment".into() })
    );
    assert_eq!(d.value("segment"), Some("gold"));
}

#[test]
fn a_value_has_at_most_256_characters() {
    // spec: CAD-2
    let mut d = data();
    let max = "é".repeat(MAX_VALUE_CHARS); // 256 chars, 512 bytes
    assert_eq!(max.chars().count(), 256);
    assert_eq!(d.save(0, &[("name", max.as_str())]), Ok(1));
    assert_eq!(d.value("name"), Some(max.as_str()));
    let over = "a".repeat(257);
    assert_eq!(
        d.save(1, &[("name", over.as_str())]),
        Err(CadError::TooLong {
            name: "name".into(),
            chars: 257
        })
    );
    assert_eq!(d.value("name"), Some(max.as_str()));
    assert!(matches!(
        InteractionData::new(vec![spec("s", VarType::String, false, false)], &[("s", over.as_str())]),
        Err(CadError::TooLong { chars: 257, .. })
    ));
}

#[test]
fn saves_bump_the_version() {
    // spec: CAD-3
    let mut d = data();
    assert_eq!(d.version(), 0);
    assert_eq!(d.save(0, &[("name", "Ada L."), ("vip", "true")]), Ok(1));
    assert_eq!(d.save(1, &[("due", "2026-11-21T10:00:00Z")]), Ok(2));
    assert_eq!(d.version(), 2);
    assert_eq!(d.value("vip"), Some("true"));
    assert_eq!(d.value("due"), Some("2026-11-21T10:00:00Z"));
    // An empty save changes nothing.
    assert_eq!(d.save(2, &[] as &[(&str, &str)]), Ok(2));
    assert!(matches!(
        d.save(3, &[("vip", "false")]),
        Err(CadError::FutureVersion { .. })
    ));
}

#[test]
fn two_agents_edit_concurrently_first_save_wins() {
    // spec: CAD-3
    let mut d = data();
    // Both desktops loaded version 0.
    let base_a = d.view_for_agent(false).version;
    let base_b = d.view_for_agent(false).version;
    assert_eq!(d.save(base_a, &[("name", "Ada Lovelace"), ("vip", "true")]), Ok(1));
    // B changed `name` too: refused, told what A saved; nothing of B applied.
    assert_eq!(
        d.save(base_b, &[("account", "43"), ("name", "A. Byron")]),
        Err(CadError::Conflict {
            current_version: 1,
            overwritten: vec![("name".into(), Some("Ada Lovelace".into()))],
        })
    );
    assert_eq!(d.value("name"), Some("Ada Lovelace"));
    assert_eq!(d.value("account"), Some("42"));
    assert_eq!(d.version(), 1);
    // B re-bases on the version it was told and saves on purpose.
    assert_eq!(d.save(1, &[("account", "43"), ("name", "A. Byron")]), Ok(2));
    assert_eq!(d.value("name"), Some("A. Byron"));
}

#[test]
fn a_stale_save_of_other_variables_applies() {
    // spec: CAD-3
    let mut d = data();
    assert_eq!(d.save(0, &[("name", "Ada Lovelace")]), Ok(1));
    // Based on version 0 but touching only variables nobody saved since.
    assert_eq!(d.save(0, &[("account", "43"), ("vip", "false")]), Ok(2));
    assert_eq!(d.value("name"), Some("Ada Lovelace"));
    assert_eq!(d.value("account"), Some("43"));
    // Still stale for `name` (saved at 1 > base 0), and for `account` now (saved at 2 > base 1).
    let err = d.save(1, &[("account", "44"), ("name", "x")]).unwrap_err();
    assert_eq!(
        err,
        CadError::Conflict {
            current_version: 2,
            overwritten: vec![("account".into(), Some("43".into()))],
        }
    );
}

#[test]
fn saving_the_same_value_is_no_conflict() {
    // spec: CAD-3
    let mut d = data();
    assert_eq!(d.save(0, &[("vip", "true")]), Ok(1));
    assert_eq!(d.save(0, &[("vip", "true"), ("account", "7")]), Ok(2));
}

#[test]
fn a_save_is_all_or_nothing() {
    // spec: CAD-3
    let mut d = data();
    for bad in [
        vec![("name", "Grace"), ("account", "x")],
        vec![("name", "Grace"), ("segment", "x")],
        vec![("name", "Grace"), ("ghost", "x")],
        vec![("name", "Grace"), ("name", "Hopper")],
    ] {
        assert!(d.save(0, &bad).is_err(), "{bad:?}");
        assert_eq!(d.value("name"), Some("Ada"));
        assert_eq!(d.version(), 0);
    }
    assert_eq!(
        d.save(0, &[("vip", "true"), ("vip", "false")]),
        Err(CadError::DuplicateChange { name: "vip".into() })
    );
}

#[test]
fn a_conflict_on_a_secure_variable_withholds_its_value() {
    // spec: CAD-3
    let mut d = data();
    assert_eq!(d.save(0, &[("card", "5555444433332222")]), Ok(1));
    assert_eq!(
        d.save(0, &[("card", "4000000000000002")]),
        Err(CadError::Conflict {
            current_version: 1,
            overwritten: vec![("card".into(), None)],
        })
    );
}

#[test]
fn revert_restores_the_last_saved_values() {
    // spec: CAD-4
    let mut d = data();
    assert_eq!(d.save(0, &[("name", "Ada Lovelace"), ("vip", "true")]), Ok(1));
    let saved = d.view_for_agent(false);
    // The agent edits on the desktop, a save fails: nothing changed in the core.
    assert!(d.save(1, &[("name", "Edited"), ("account", "oops")]).is_err());
    assert_eq!(d.view_for_agent(false), saved);
    let values = d.saved_values();
    assert!(values.contains(&("name", Some("Ada Lovelace"))));
    assert!(values.contains(&("vip", Some("true"))));
    assert!(values.contains(&("due", None)));
    assert!(values.contains(&("account", Some("42"))));
}

#[test]
fn the_agent_view_never_carries_secure_values() {
    // spec: CAD-1
    let d = data();
    let view = d.view_for_agent(false);
    assert_eq!(view.version, 0);
    assert_eq!(view.variables.len(), 7);
    let card = view.variables.iter().find(|v| v.name == "card").expect("card listed");
    assert!(card.secure && card.editable);
    assert_eq!(card.value, None);
    let name = view.variables.iter().find(|v| v.name == "name").expect("name listed");
    assert_eq!((name.ty, name.value.as_deref()), (VarType::String, Some("Ada")));
    let ani = view.variables.iter().find(|v| v.name == CALLER_NUMBER).expect("ani");
    assert_eq!(ani.value.as_deref(), Some("+15551234567"));
    // The core keeps the secure value.
    assert_eq!(d.value("card"), Some("4111111111111111"));
}

#[test]
fn the_agent_view_masks_the_caller_when_protected() {
    // spec: OFFER-3
    let d = data();
    let view = d.view_for_agent(true);
    let ani = view.variables.iter().find(|v| v.name == CALLER_NUMBER).expect("ani");
    assert_eq!(ani.value.as_deref(), Some("+*******4567"));
    assert!(!ani.editable);
}

#[test]
fn the_offer_shows_the_admin_order_without_secure_variables() {
    // spec: OFFER-2
    let d = data();
    let names = ["segment", "card", "name", "due", "ghost", CALLER_NUMBER];
    assert_eq!(
        d.offer_view(&names, false),
        vec![
            ("segment".to_string(), "gold".to_string()),
            ("name".into(), "Ada".into()),
            (CALLER_NUMBER.into(), "+15551234567".into()),
        ]
    );
}

#[test]
fn the_offer_masks_the_caller_number() {
    // spec: OFFER-3
    let d = data();
    assert_eq!(
        d.offer_view(&[CALLER_NUMBER, "name"], true),
        vec![
            (CALLER_NUMBER.to_string(), "+*******4567".to_string()),
            ("name".into(), "Ada".into())
        ]
    );
    // What the ACD core gets for its own offers: secure values blanked, the caller masked.
    let vars = d.acd_variables(true);
    let card = vars.iter().find(|v| v.name == "card").expect("card passed as secure");
    assert!(card.secure && card.value.is_empty());
    let ani = vars.iter().find(|v| v.name == CALLER_NUMBER).expect("ani");
    assert_eq!(ani.value, "+*******4567");
    assert!(vars.iter().all(|v| v.name != "due"), "unset variables are not passed");
}

#[test]
fn mask_number_keeps_the_last_four_digits() {
    // spec: OFFER-3
    assert_eq!(mask_number("+15551234567"), "+*******4567");
    assert_eq!(mask_number("+1 (555) 123-4567"), "+* (***) ***-4567");
    assert_eq!(mask_number("0044 20 7946 0958"), "**** ** **** 0958");
    assert_eq!(mask_number("12345"), "*2345");
    // 4 digits or fewer (an extension): nothing before the last 4, shown as is.
    assert_eq!(mask_number("1234"), "1234");
    assert_eq!(mask_number("123"), "123");
    assert_eq!(mask_number(""), "");
    assert_eq!(mask_number("anonymous"), "anonymous");
    assert_eq!(
        mask_number("sip:+4930123456@example.com"),
        "sip:+******3456@example.com"
    );
}
