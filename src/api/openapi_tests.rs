//! Keeps `openapi.yaml` true to the code: the routes served, the views
//! and the events must be exactly those documented.

use super::{routes, OPENAPI_YAML};
use serde::Serialize;
use std::collections::BTreeSet;

/// The OpenAPI document names exactly the routes served, with their
/// methods, so it cannot drift from the router.
#[test]
fn openapi_lists_every_route() {
    let doc: serde_yaml::Value = serde_yaml::from_str(OPENAPI_YAML).expect("openapi.yaml parses");
    assert_eq!(doc["openapi"].as_str().map(|v| v.starts_with("3.1")), Some(true));
    let paths = doc["paths"].as_mapping().expect("paths");
    let mut documented = BTreeSet::new();
    for (path, item) in paths {
        let path = path.as_str().expect("a path");
        for (method, _) in item.as_mapping().expect("a path item") {
            let method = method.as_str().expect("a key");
            if ["get", "put", "post", "delete", "patch", "head", "options"].contains(&method) {
                documented.insert((method.to_string(), path.to_string()));
            }
        }
    }
    let served: BTreeSet<(String, String)> = routes()
        .into_iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    let undocumented: Vec<_> = served.difference(&documented).collect();
    let unserved: Vec<_> = documented.difference(&served).collect();
    assert!(
        undocumented.is_empty(),
        "routes missing from openapi.yaml: {undocumented:?}"
    );
    assert!(
        unserved.is_empty(),
        "openapi.yaml names routes not served: {unserved:?}"
    );
}

/// The documented properties of schema `name` (following `allOf`).
fn properties(doc: &serde_yaml::Value, name: &str) -> BTreeSet<String> {
    let schema = &doc["components"]["schemas"][name];
    assert!(!schema.is_null(), "no schema {name}");
    let mut out = BTreeSet::new();
    if let Some(parts) = schema["allOf"].as_sequence() {
        for part in parts {
            match part["$ref"].as_str() {
                Some(r) => out.extend(properties(doc, r.rsplit('/').next().expect("a name"))),
                None => out.extend(part["properties"].as_mapping().expect("properties").keys().map(key)),
            }
        }
    } else {
        out.extend(schema["properties"].as_mapping().expect("properties").keys().map(key));
    }
    out
}

fn key(k: &serde_yaml::Value) -> String {
    k.as_str().expect("a string key").to_string()
}

/// The keys `value` serializes to.
fn keys(value: impl Serialize) -> BTreeSet<String> {
    let v = serde_json::to_value(value).expect("serializes");
    v.as_object().expect("an object").keys().cloned().collect()
}

/// Every view and event serializes to exactly the properties its schema
/// documents, and every event `type` is in the discriminator mapping.
#[test]
fn openapi_schemas_match_views_and_events() {
    use crate::engine::desk::*;
    let doc: serde_yaml::Value = serde_yaml::from_str(OPENAPI_YAML).expect("openapi.yaml parses");
    let offer = OfferView {
        offer: 1,
        interaction: "i".into(),
        queue: "support".into(),
        channel: "callback",
        callback: Some(Box::new(CallbackOffer {
            label: "Callback",
            id: "cb-1".into(),
            kind: "web",
            number: "+33 1 23 45 67 89".into(),
            name: "Zoé".into(),
            reason: String::new(),
            attempts: 0,
        })),
        voicemail: None,
        caller: "****1234".into(),
        dnis: "5000".into(),
        variables: vec![],
        auto_answer: false,
        offered_ms: 1,
        rona_ms: 2,
    };
    let interaction = InteractionView {
        interaction: "i".into(),
        queue: "support".into(),
        channel: "voice",
        state: "connected",
        caller: "1001".into(),
        dnis: "5000".into(),
        agent: None,
        assigned_to: None,
        arrived_ms: 1,
        durations: PhaseDurations::default(),
        call: 1,
        controls: vec!["hold"],
        recording: None,
        monitor: Some(MonitorView {
            supervisor: "sam".into(),
            extension: "1009".into(),
            mode: "listen",
            answered: true,
        }),
    };
    assert_eq!(keys(interaction.monitor.as_ref()), properties(&doc, "MonitorView"));
    let agent = AgentView {
        agent: "alice".into(),
        name: "Alice".into(),
        team: "support".into(),
        extension: "1001".into(),
        state: "Available",
        reason: None,
        pending: None,
        since_ms: 1,
        offers: vec![],
        interaction: None,
        wrap_up_deadline_ms: None,
        idle_reasons: vec!["Lunch".into()],
        wrap_up_reasons: vec![],
    };
    let variable = DataVariable {
        name: "account".into(),
        ty: "string",
        value: None,
        editable: true,
        secure: false,
    };
    let data = DataView {
        interaction: "i".into(),
        version: 1,
        variables: vec![],
    };
    assert_eq!(keys(&offer), properties(&doc, "OfferView"));
    assert_eq!(keys(offer.callback.as_ref()), properties(&doc, "CallbackOffer"));
    assert_eq!(keys(&interaction), properties(&doc, "InteractionView"));
    assert_eq!(keys(&agent), properties(&doc, "AgentView"));
    assert_eq!(keys(PhaseDurations::default()), properties(&doc, "PhaseDurations"));
    assert_eq!(keys(&variable), properties(&doc, "DataVariable"));
    assert_eq!(keys(&data), properties(&doc, "DataView"));
    let a = || "alice".to_string();
    let i = || "i".to_string();
    let events = [
        DeskEvent::AgentState {
            agent: a(),
            state: "Idle",
            reason: None,
            pending: None,
            at_ms: 1,
        },
        DeskEvent::Offer { agent: a(), offer },
        DeskEvent::OfferCancelled {
            agent: a(),
            offer: 1,
            interaction: i(),
            reason: "declined",
        },
        DeskEvent::Rona {
            agent: a(),
            offer: 1,
            interaction: i(),
        },
        DeskEvent::Connected {
            agent: a(),
            interaction,
        },
        DeskEvent::Hold {
            agent: a(),
            interaction: i(),
            held: true,
        },
        DeskEvent::Ended {
            agent: a(),
            interaction: i(),
            by: "customer",
        },
        DeskEvent::WrapUp {
            agent: a(),
            interaction: i(),
            reasons: vec![],
            deadline_ms: None,
        },
        DeskEvent::WrapUpEnded {
            agent: a(),
            interaction: i(),
            timed_out: false,
        },
        DeskEvent::DataSaved {
            agent: a(),
            interaction: i(),
            version: 2,
            changed: vec![],
        },
        DeskEvent::Consult {
            agent: a(),
            interaction: i(),
            party: "bob".into(),
            state: "failed",
            reason: Some("busy".into()),
        },
        DeskEvent::ConsultOffer {
            agent: a(),
            interaction: i(),
            from: "carol".into(),
            variables: vec![],
        },
        DeskEvent::CustomerLeft {
            agent: a(),
            interaction: i(),
            reasons: vec![],
        },
        DeskEvent::Transferred {
            agent: a(),
            interaction: i(),
            to: "support".into(),
            kind: "queue",
        },
        DeskEvent::PrimaryChanged {
            agent: a(),
            interaction: i(),
            from: "carol".into(),
        },
        DeskEvent::Controls {
            agent: a(),
            interaction: i(),
            enabled: vec!["hold"],
        },
        DeskEvent::ClosedBySupervisor {
            agent: a(),
            interaction: i(),
            supervisor: "sam".into(),
        },
        DeskEvent::Supervisor {
            agent: a(),
            interaction: i(),
            supervisor: "sam".into(),
            mode: "barge",
        },
        DeskEvent::Assigned {
            agent: a(),
            interaction: i(),
            supervisor: "sam".into(),
            delivery: "when_free",
        },
        DeskEvent::Queue {
            queue: "support".into(),
            waiting: 1,
            oldest_waiting_since: Some(1),
            longest_wait_s: 3,
            agents: [("Available".to_owned(), 1)].into_iter().collect(),
        },
        DeskEvent::QueueStats {
            queue: "support".into(),
            today: Box::new(crate::records::stats::QueueFigures::empty(20)),
        },
        DeskEvent::AgentStats {
            agent: a(),
            today: Box::default(),
        },
        DeskEvent::Voicemail {
            agent: a(),
            message: voicemail_view(),
        },
        DeskEvent::VoicemailDone {
            agent: a(),
            id: "voicemail-1-2".into(),
            queue: Some("support".into()),
            user: None,
            by: a(),
            at_ms: 1,
        },
        DeskEvent::Callback {
            agent: a(),
            interaction: i(),
            callback: "cb-1".into(),
            number: "+33123456789".into(),
            state: "held",
            reason: Some("concurrent_call_limit"),
        },
    ];
    assert_eq!(
        keys(crate::records::stats::AgentFigures::default()),
        properties(&doc, "AgentFigures")
    );
    assert_eq!(
        keys(crate::records::stats::QueueFigures::empty(20)),
        properties(&doc, "QueueFigures")
    );
    let assigned = AssignView {
        interaction: i(),
        agent: Some(a()),
        queue: None,
        delivery: "when_free",
        capacity_exceeded_by: 1,
        presence_overridden: false,
    };
    assert_eq!(keys(&assigned), properties(&doc, "AssignView"));
    let targets = ConsultTargetsView {
        agents: vec![ConsultAgentView {
            agent: a(),
            name: "Alice".into(),
            state: "Idle",
            reason: Some("Lunch".into()),
        }],
        queues: vec![],
        entry_points: vec![],
    };
    assert_eq!(keys(&targets), properties(&doc, "ConsultTargetsView"));
    assert_eq!(keys(&targets.agents[0]), properties(&doc, "ConsultAgentView"));
    let mapping = doc["components"]["schemas"]["DeskEvent"]["discriminator"]["mapping"]
        .as_mapping()
        .expect("a discriminator mapping");
    assert_eq!(mapping.len(), events.len());
    for ev in events {
        let v = serde_json::to_value(&ev).expect("serializes");
        let ty = v["type"].as_str().expect("a type tag");
        let schema = mapping
            .get(ty)
            .and_then(|r| r.as_str())
            .unwrap_or_else(|| panic!("event type {ty} not documented"));
        let name = schema.rsplit('/').next().expect("a name");
        assert_eq!(keys(&ev), properties(&doc, name), "{ty}");
    }
}

/// Every `$ref` in the document points at a defined component.
#[test]
fn openapi_refs_resolve() {
    let doc: serde_yaml::Value = serde_yaml::from_str(OPENAPI_YAML).expect("openapi.yaml parses");
    fn walk(v: &serde_yaml::Value, refs: &mut Vec<String>) {
        match v {
            serde_yaml::Value::Mapping(m) => {
                for (k, v) in m {
                    if k.as_str() == Some("$ref") {
                        refs.extend(v.as_str().map(String::from));
                    }
                    walk(v, refs);
                }
            }
            serde_yaml::Value::Sequence(s) => s.iter().for_each(|v| walk(v, refs)),
            _ => {}
        }
    }
    let mut refs = Vec::new();
    walk(&doc, &mut refs);
    assert!(!refs.is_empty());
    for r in refs {
        let parts: Vec<&str> = r.trim_start_matches("#/").split('/').collect();
        assert_eq!(parts.len(), 3, "{r}");
        assert!(!doc[parts[0]][parts[1]][parts[2]].is_null(), "{r} does not resolve");
    }
}

/// spec: CB-2..CB-5 — the callback view and its window are documented
/// field for field.
#[test]
fn openapi_callback_schemas_match_the_view() {
    use crate::engine::CallbackView;
    let doc: serde_yaml::Value = serde_yaml::from_str(OPENAPI_YAML).expect("openapi.yaml parses");
    let view = CallbackView {
        id: "cb-1".into(),
        kind: "scheduled",
        state: "pending",
        number: "+33 1 23 45 67".into(),
        name: "Zoé".into(),
        queue: "support".into(),
        zone: "Europe/Paris".into(),
        window: crate::engine::WindowView {
            start: "2027-03-28T10:00:00+02:00".into(),
            end: "2027-03-28T11:00:00+02:00".into(),
            start_ms: 0,
            end_ms: 0,
        },
        reason: String::new(),
        agent: None,
        priority: 0,
        attempts: 0,
        created_ms: 0,
        updated_ms: 0,
    };
    assert_eq!(keys(&view), properties(&doc, "CallbackView"));
    assert_eq!(keys(&view.window), properties(&doc, "CallbackWindow"));
}

fn voicemail_view() -> crate::engine::VoicemailView {
    crate::engine::VoicemailView {
        id: "voicemail-1-2".into(),
        queue: Some("support".into()),
        user: None,
        caller_number: "****4567".into(),
        caller_name: "Ann".into(),
        dnis: "5100".into(),
        start: "2026-12-07T14:00:00Z".into(),
        start_ms: 1,
        duration_ms: 2,
        state: crate::records::VoicemailState::New,
        heard_by: None,
        heard_ms: None,
        done_by: None,
        done_ms: None,
        audio_url: "/voicemails/voicemail-1-2/audio".into(),
    }
}

/// Issue 14 item 5 — a voicemail message serializes to exactly the
/// documented properties, and the states are the documented ones.
#[test]
fn openapi_voicemail_schemas_match_the_view() {
    use crate::records::VoicemailState;
    let doc: serde_yaml::Value = serde_yaml::from_str(OPENAPI_YAML).expect("openapi.yaml parses");
    assert_eq!(keys(voicemail_view()), properties(&doc, "VoicemailView"));
    let states: Vec<String> = doc["components"]["schemas"]["VoicemailState"]["enum"]
        .as_sequence()
        .expect("an enum")
        .iter()
        .map(key)
        .collect();
    let ours: Vec<String> = [VoicemailState::New, VoicemailState::Heard, VoicemailState::Done]
        .iter()
        .map(|s| {
            serde_json::to_value(s)
                .expect("serializes")
                .as_str()
                .expect("a string")
                .to_string()
        })
        .collect();
    assert_eq!(states, ours);
}
