//! A queue's voicemail message as an ACD work item (issue 14 item 5), in
//! virtual time: it waits in its queue, is offered to one agent (no phone
//! rings; the offer carries the message and its audio URL), accepted from
//! the desktop, ended with End (the message done by that agent, wrap-up
//! follows); one marked done from the list leaves the queue.

use crate::queue::{desk, login, ALICE, BOB};
use crate::sim::*;
use switchboard::engine::desk::{DeskCommand, DeskEvent};
use switchboard::engine::{Requester, VoicemailCommand};
use switchboard::records::{VoicemailRecord, VoicemailState};

fn message(id: &str) -> VoicemailRecord {
    VoicemailRecord {
        id: id.into(),
        file: format!("{id}.wav"),
        queue: Some("support".into()),
        user: None,
        caller_number: "+442071234567".into(),
        caller_name: "Ann Caller".into(),
        dnis: "5100".into(),
        start_ms: 1_699_999_000_000,
        duration_ms: 4200,
        state: VoicemailState::New,
        heard: None,
        done: None,
    }
}

/// A switch with alice's phone registered and `messages` stored, started.
fn switch(messages: Vec<VoicemailRecord>) -> (Harness, Ua) {
    let mut h = Harness::new();
    let mut alice = Ua::phone("1001", "192.0.2.21");
    h.register(&mut alice, 3600);
    h.engine.load_voicemails(messages);
    let now = h.now();
    h.engine.start(now);
    h.input_drain();
    (h, alice)
}

/// issue 14 item 5 — the message is offered to alice as a work item with
/// its audio, her phone does not ring; accepted, handled and ended, the
/// message is done by alice and she wraps up.
#[test]
fn a_queue_message_is_offered_handled_and_ended_as_a_work_item() {
    let (mut h, alice) = switch(vec![message("voicemail-1-7")]);
    login(&mut h, ALICE);
    let offer = offers(&h).pop().expect("an offer");
    assert_eq!(offer.channel, "voicemail");
    let vm = offer.voicemail.as_ref().expect("the message");
    assert_eq!(
        (vm.id.as_str(), vm.audio_url.as_str()),
        ("voicemail-1-7", "/voicemails/voicemail-1-7/audio")
    );
    assert_eq!((offer.caller.as_str(), offer.dnis.as_str()), ("+442071234567", "5100"));
    h.assert_silent(alice.addr);
    desk(&mut h, ALICE, DeskCommand::Accept { offer: offer.offer }).expect("accepted");
    assert!(h
        .desk
        .iter()
        .any(|e| matches!(e, DeskEvent::Connected { interaction, .. } if interaction.channel == "voicemail")));
    assert!(h
        .desk
        .iter()
        .any(|e| matches!(e, DeskEvent::Controls { enabled, .. } if enabled == &vec!["end"])));
    desk(
        &mut h,
        ALICE,
        DeskCommand::End {
            interaction: offer.interaction.clone(),
        },
    )
    .expect("ended");
    assert!(
        h.desk.iter().any(|e| matches!(e, DeskEvent::WrapUp { .. })),
        "wrap-up follows"
    );
    let done = h.voicemails.last().expect("stored");
    assert_eq!(done.state, VoicemailState::Done);
    assert_eq!(done.done.as_ref().map(|d| d.1.as_str()), Some("alice"));
    h.assert_silent(alice.addr);
}

/// issue 14 item 5 — a message marked done from the list before anyone
/// took it leaves the queue: nobody is offered it.
#[test]
fn a_message_done_from_the_list_leaves_the_queue() {
    let (mut h, _alice) = switch(vec![message("voicemail-1-8")]);
    let now = h.now();
    h.engine
        .voicemail_request(
            now,
            &Requester::Supervisor("sam".into()),
            VoicemailCommand::Done {
                id: "voicemail-1-8".into(),
            },
        )
        .expect("done");
    h.input_drain();
    login(&mut h, ALICE);
    login(&mut h, BOB);
    assert!(offers(&h).is_empty(), "{:?}", offers(&h));
}
