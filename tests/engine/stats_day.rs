//! Issue 13 item 3: the contact-center statistics of a scripted half hour,
//! in virtual time: the engine runs the calls, its records go into a real
//! (in-memory) store exactly as the driver writes them, and the store's
//! rows folded per 15 minutes and per day give exactly the figures the
//! script implies (definitions in `switchboard::records::stats`).
//!
//! The script, on queue `support` (threshold 20 s, RONA 15 s) with alice
//! the only agent:
//! - 0 s alice logs in. 60 s call 1: rings 4 s, answered (wait 4 s, in
//!   threshold), talk 120 s, the customer hangs up, wrap-up 10 s.
//! - 600 s call 2: rings alice 15 s, RONA (alice `Idle(RONA)`), waits 10 s
//!   more until alice is Available again, rings 3 s, answered (wait 28 s,
//!   over the threshold), talk 60 s, wrap-up 5 s.
//! - 950 s alice goes Idle (Lunch). 1000 s call 3 hangs up after 3 s (a
//!   short abandon). 1100 s call 4 hangs up after 40 s.

use crate::queue::{answer_offer, contact_center, desk, login, ring, ALICE};
use crate::sim::*;
use std::time::Duration;
use switchboard::engine::desk::{DeskCommand, DeskState};
use switchboard::records::stats::{agent_report, queue_report, Interval, Window};
use switchboard::store::{AcdRecord, Store};

/// Virtual time to `at` seconds after `t0` (never backwards); what the
/// phones were sent before is read.
fn to(h: &mut Harness, t0: u64, at: u64) {
    let target = t0 + at * 1000;
    let now = h.unix_ms();
    assert!(
        now <= target,
        "the script is behind: at {at} s it is already {} ms",
        now - t0
    );
    h.advance(Duration::from_millis(target - now));
    h.clear_wire();
}

/// A customer calls 5000 and hangs up `after` seconds later, unanswered.
fn abandoned_call(h: &mut Harness, customer: &mut Ua, after: u64) {
    let out = h.place_call(customer, "5000");
    h.advance(Duration::from_secs(after));
    let cancel = customer.cancel(&out);
    h.send(customer, &cancel.text());
}

/// The customer hangs up the connected call `dlg`; alice wraps up `wrap` s later.
fn hang_up_and_wrap(h: &mut Harness, customer: &mut Ua, dlg: &mut Dlg, alice: &Ua, wrap: u64) {
    let bye = customer.in_dialog(dlg, "BYE").text();
    h.send(customer, &bye);
    h.expect_request(alice.addr, "BYE");
    h.advance(Duration::from_secs(wrap));
    desk(
        h,
        ALICE,
        DeskCommand::WrapUp {
            reasons: vec!["Resolved".into()],
            notes: String::new(),
        },
    )
    .expect("wrap-up");
}

/// The records the engine emitted, written by a store as the driver does.
fn store_of(h: &Harness) -> Store {
    let mut store = Store::open_in_memory().expect("store");
    for r in &h.acd {
        match r {
            AcdRecord::AgentAudit(a) => {
                store.insert_agent_audit(a).expect("audit");
            }
            AcdRecord::Interaction(i) => store.update_interaction(i).expect("interaction"),
            AcdRecord::LegCdr(l) => {
                store.insert_leg_cdr(l).expect("leg");
            }
            AcdRecord::Callback(c) => store.save_callback(c).expect("callback"),
            AcdRecord::Voicemail(v) => store.save_voicemail(v).expect("voicemail"),
        }
    }
    store
}

#[test]
fn a_scripted_half_hour_gives_exact_queue_and_agent_figures() {
    let (mut h, mut customer, alice, _bob) = contact_center();
    let t0 = h.unix_ms();
    login(&mut h, ALICE);

    // Call 1: answered in 4 s, talk 120 s, wrap-up 10 s.
    to(&mut h, t0, 60);
    let out = h.place_call(&mut customer, "5000");
    let invite = h.expect_request(alice.addr, "INVITE");
    ring(&mut h, &alice, &invite, "a1");
    h.advance(Duration::from_secs(4));
    let mut dlg = answer_offer(&mut h, &mut customer, &out, &alice, &invite);
    h.advance(Duration::from_secs(120));
    hang_up_and_wrap(&mut h, &mut customer, &mut dlg, &alice, 10);

    // Call 2: RONA after 15 s, Available again 10 s later, answered 3 s after.
    to(&mut h, t0, 600);
    let out = h.place_call(&mut customer, "5000");
    let invite = h.expect_request(alice.addr, "INVITE");
    ring(&mut h, &alice, &invite, "a2");
    h.advance(Duration::from_secs(15));
    h.expect_request(alice.addr, "CANCEL");
    h.advance(Duration::from_secs(10));
    desk(
        &mut h,
        ALICE,
        DeskCommand::SetState {
            state: DeskState::Available,
        },
    )
    .expect("available");
    let invite = h.expect_request(alice.addr, "INVITE");
    ring(&mut h, &alice, &invite, "a3");
    h.advance(Duration::from_secs(3));
    let mut dlg = answer_offer(&mut h, &mut customer, &out, &alice, &invite);
    h.advance(Duration::from_secs(60));
    hang_up_and_wrap(&mut h, &mut customer, &mut dlg, &alice, 5);

    // Lunch; two callers give up, one within 5 s.
    to(&mut h, t0, 950);
    desk(
        &mut h,
        ALICE,
        DeskCommand::SetState {
            state: DeskState::Idle("Lunch".into()),
        },
    )
    .expect("lunch");
    to(&mut h, t0, 1000);
    abandoned_call(&mut h, &mut customer, 3);
    to(&mut h, t0, 1100);
    abandoned_call(&mut h, &mut customer, 40);
    to(&mut h, t0, 1800);

    let store = store_of(&h);
    let quarters = Window {
        from_ms: t0,
        to_ms: t0 + 1_800_000,
        interval: Interval::Quarter,
        now_ms: h.unix_ms(),
    };
    let (interactions, audit) = store.stats_rows(quarters.from_ms, quarters.to_ms).expect("rows");
    assert_eq!(interactions.len(), 4, "{interactions:?}");
    let queues = vec![("support".to_owned(), 20), ("sales".to_owned(), 20)];
    let report = queue_report(&interactions, &queues, &quarters);
    let series = report.queues.as_ref().expect("queues");
    assert_eq!(
        series.iter().map(|s| s.queue.as_str()).collect::<Vec<_>>(),
        ["support", "sales"]
    );
    let support = &series[0].intervals;
    assert_eq!(support.len(), 2);

    let q1 = &support[0].figures;
    assert_eq!((q1.offered, q1.answered, q1.abandoned), (2, 2, 0));
    assert_eq!(q1.answered_in_threshold, 1, "4 s in, 28 s out of 20 s");
    assert_eq!(q1.service_level, Some(0.5));
    assert_eq!(q1.asa_s, Some(16.0), "(4 + 28) / 2");
    assert_eq!(q1.aht_s, Some(97.5), "(120 + 10 + 60 + 5) / 2");
    assert_eq!((q1.handled, q1.ronas, q1.transfers), (2, 1, 0));
    assert_eq!(q1.longest_wait_s, 28.0);

    let q2 = &support[1].figures;
    assert_eq!(
        (q2.offered, q2.answered, q2.abandoned, q2.abandoned_short),
        (2, 0, 2, 1)
    );
    assert_eq!(q2.service_level, Some(0.0), "0 of (2 - 1 short)");
    assert_eq!((q2.asa_s, q2.aht_s), (None, None));
    assert_eq!(q2.longest_wait_s, 40.0);
    assert!(
        series[1].intervals.iter().all(|i| i.figures.offered == 0),
        "sales saw nothing"
    );

    // The day: the same calls in one interval.
    let day = Window {
        interval: Interval::Day,
        to_ms: t0 + 86_400_000,
        ..quarters
    };
    let (interactions, audit_day) = store.stats_rows(day.from_ms, day.to_ms).expect("rows");
    let d = &queue_report(&interactions, &queues, &day).queues.expect("queues")[0].intervals[0].figures;
    assert_eq!((d.offered, d.answered, d.abandoned, d.abandoned_short), (4, 2, 2, 1));
    assert_eq!(d.service_level, Some(1.0 / 3.0), "1 in threshold of (4 - 1 short)");
    assert_eq!((d.asa_s, d.aht_s, d.longest_wait_s), (Some(16.0), Some(97.5), 40.0));

    // Alice, first quarter: Available 60 + 406 + 207, Reserved 4 + 15 + 3,
    // Busy 120 + 60, WrapUp 10 + 5, Idle (RONA) 10.
    let agents = agent_report(
        &audit,
        &interactions,
        &["alice".to_owned(), "bob".to_owned()],
        &quarters,
    );
    let series = agents.agents.as_ref().expect("agents");
    let alice = &series[0].intervals;
    let a1 = &alice[0].figures;
    let s = |k: &str| a1.state_s.get(k).copied().unwrap_or(0.0);
    assert_eq!(
        (s("Available"), s("Reserved"), s("Busy"), s("WrapUp"), s("Idle")),
        (673.0, 22.0, 180.0, 15.0, 10.0)
    );
    assert_eq!(a1.staffed_s, 900.0);
    assert_eq!(a1.occupancy, Some(195.0 / 890.0));
    assert_eq!((a1.handled, a1.aht_s, a1.ronas), (2, Some(97.5), 1));
    // Second quarter: Available 50 s, then lunch.
    let a2 = &alice[1].figures;
    assert_eq!(
        (a2.state_s.get("Available"), a2.state_s.get("Idle")),
        (Some(&50.0), Some(&850.0))
    );
    assert_eq!((a2.occupancy, a2.handled), (Some(0.0), 0));
    assert!(
        series[1].intervals.iter().all(|i| i.figures.staffed_s == 0.0),
        "bob never logged in"
    );
    // Over the day, the same as over the two quarters (the state lasts
    // until now, the end of the script).
    let day_agents = agent_report(&audit_day, &interactions, &["alice".to_owned()], &day);
    let ad = &day_agents.agents.expect("agents")[0].intervals[0].figures;
    assert_eq!((ad.staffed_s, ad.handled, ad.ronas), (1800.0, 2, 1));
}
