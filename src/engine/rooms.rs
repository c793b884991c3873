//! Meet-me rooms, the engine's part (issue 9: the dial plan's `conference`
//! action, CALL-CONF-1): which calls sit in which room, and which media
//! session carries a room.
//!
//! A room exists while anyone is in it. Its first caller makes it: the
//! room gets a media number from the call counter (so it never meets a
//! call's number among the media sessions), and every caller's media is a
//! party of that one session, so the room is mixed on one worker. A caller
//! whose room already holds `max_parties` callers gets 486 "Conference
//! Full"; the rooms need anchored media (`[media] anchor = true`), else
//! 503. Each caller's call is an ordinary call (the call core answers it,
//! `call/room.rs`): its CDR has the route `conference:<room>`.
//!
//! The engine routes a room caller's media commands to the room's
//! session: a re-negotiated address becomes that party's update there, its
//! phone's hold its mode there, the call's end (and its release) its
//! leaving the room; the last to leave closes the room. Rooms are not
//! recorded (a choice: a meet-me room has no customer to record for; the
//! route's `record` does not apply) and keys pressed in a room are read
//! only for its PIN.

use super::{Engine, Now};
use crate::call::media::{MediaCommand, MediaLeg};
use crate::call::{Call, CallEvent};
use crate::ids::CallRef;
use crate::sip::msg::{HeaderName, Message, StatusCode};
use crate::sip::transaction::{Destination, TxId};
use std::collections::HashMap;

/// One room with someone in it.
#[derive(Clone, Debug)]
pub(crate) struct Room {
    /// The room's media session number.
    pub media: u64,
    /// The calls in it, in arrival order.
    pub seats: Vec<CallRef>,
}

/// The rooms in use and where each room caller sits.
#[derive(Clone, Debug, Default)]
pub(crate) struct Rooms {
    by_name: HashMap<String, Room>,
    /// Room caller → the room's media session.
    seats: HashMap<CallRef, u64>,
    /// Room media session → the room's name.
    by_media: HashMap<u64, String>,
}

impl Rooms {
    /// Whether call `id` is a meet-me room caller.
    pub(crate) fn has(&self, id: CallRef) -> bool {
        self.seats.contains_key(&id)
    }

    /// How many callers are in room `name`.
    pub(crate) fn occupancy(&self, name: &str) -> usize {
        self.by_name.get(name).map_or(0, |r| r.seats.len())
    }
}

/// What the dial plan's `conference` action asked for this INVITE.
pub(crate) struct RoomRoute {
    /// The room.
    pub room: String,
    /// Its PIN, if any.
    pub pin: Option<String>,
    /// Its size.
    pub max_parties: usize,
    /// Remove background noise from what the caller says.
    pub denoise: bool,
}

impl Engine {
    /// A caller for meet-me room `route.room`: refused when the room is
    /// full or media is not anchored, else answered by the switch (the
    /// call `call`, made by `on_invite` and not yet answered).
    pub(crate) fn enter_room(
        &mut self,
        now: Now,
        tx: TxId,
        req: &Message,
        src: Destination,
        call: Call,
        route: RoomRoute,
    ) {
        let id = call.id;
        let tag = String::from_utf8_lossy(&call.a.tag).into_owned();
        let refuse = |e: &mut Engine, code: StatusCode, reason: &str, warning: Option<String>| {
            let mut resp = Message::response_to(req, code, Some(reason), Some(&tag));
            if let Some(w) = warning {
                resp.headers.push(HeaderName::Warning, w);
            }
            e.respond(now, tx, resp);
        };
        if !self.cfg.media().anchor {
            return refuse(
                self,
                StatusCode::SERVICE_UNAVAILABLE,
                "Conferences Need Anchored Media",
                None,
            );
        }
        if self.rooms.occupancy(&route.room) >= route.max_parties {
            tracing::info!(room = %route.room, max = route.max_parties, caller = %call.caller, "conference full");
            return refuse(self, StatusCode::BUSY_HERE, "Conference Full", None);
        }
        let media = match self.rooms.by_name.get(&route.room) {
            Some(r) => r.media,
            None => {
                let m = self.next_call;
                self.next_call += 1;
                m
            }
        };
        self.calls.insert(id, Box::new(call));
        self.links.txs.insert(tx, crate::call::TxOwner::Call(id));
        let answered = self.with_call(now, id, |c, ctx| {
            c.answer_room(ctx, src.local, &route.room, media, route.pin.clone(), route.denoise)
        });
        match answered {
            Some(Ok(())) => {
                self.stats.calls_started += 1;
                let room = self.rooms.by_name.entry(route.room.clone()).or_insert_with(|| Room {
                    media,
                    seats: Vec::new(),
                });
                room.seats.push(id);
                self.rooms.seats.insert(id, media);
                self.rooms.by_media.insert(media, route.room.clone());
                tracing::info!(call = %id, room = %route.room, callers = room.seats.len(), "meet-me room");
            }
            Some(Err(refusal)) => {
                self.calls.remove(&id);
                self.links.txs.remove(&tx);
                refuse(self, refusal.code, &refusal.reason, refusal.warning);
            }
            None => {}
        }
    }

    /// A call's media command, for the session that carries the call's
    /// media: unchanged for an ordinary call; for a room caller, its part
    /// of the room's session (`None`: nothing to tell it).
    pub(crate) fn room_media(&mut self, cmd: MediaCommand) -> Option<MediaCommand> {
        let call = match &cmd {
            MediaCommand::Update { call, .. }
            | MediaCommand::Hold { call, .. }
            | MediaCommand::Record { call, .. }
            | MediaCommand::Close { call } => *call,
            _ => return Some(cmd),
        };
        let Some(&room) = self.rooms.seats.get(&CallRef(call)) else {
            return Some(cmd);
        };
        let party = MediaLeg::Party(call as usize);
        match cmd {
            MediaCommand::Update {
                leg: MediaLeg::A,
                remote,
                remote_rtcp,
                srtp,
                webrtc,
                ..
            } => Some(MediaCommand::Update {
                call: room,
                leg: party,
                remote,
                remote_rtcp,
                srtp,
                webrtc,
            }),
            // Leaving is done at the call's end (`leave_room`).
            _ => None,
        }
    }

    /// What a room caller's call told the engine: its phone's hold moves
    /// its mode on the room's bridge, its end takes it out of the room.
    /// False when `id` is not a room caller.
    pub(crate) fn room_call_event(&mut self, now: Now, id: CallRef, ev: &CallEvent) -> bool {
        if !self.rooms.seats.contains_key(&id) {
            return false;
        }
        match ev {
            CallEvent::HoldChanged { held } => {
                let held = *held;
                let cmd = self.with_call(now, id, |c, _| c.room_hold(held)).flatten();
                if let Some(cmd) = cmd {
                    self.out.push_back(super::Output::Media(cmd));
                }
            }
            CallEvent::Ended { .. } => self.leave_room(id),
            _ => return false,
        }
        true
    }

    /// Call `id` leaves its room; the last caller out closes the room.
    fn leave_room(&mut self, id: CallRef) {
        let Some(media) = self.rooms.seats.remove(&id) else {
            return;
        };
        self.out.push_back(super::Output::Media(MediaCommand::PartyLeave {
            call: media,
            leg: MediaLeg::Party(id.0 as usize),
        }));
        let Some(name) = self.rooms.by_media.get(&media).cloned() else {
            return;
        };
        let empty = match self.rooms.by_name.get_mut(&name) {
            Some(room) => {
                room.seats.retain(|s| *s != id);
                tracing::info!(call = %id, room = %name, callers = room.seats.len(), "left the meet-me room");
                room.seats.is_empty()
            }
            None => true,
        };
        if empty {
            self.rooms.by_name.remove(&name);
            self.rooms.by_media.remove(&media);
            self.out
                .push_back(super::Output::Media(MediaCommand::Close { call: media }));
            tracing::info!(room = %name, "meet-me room closed");
        }
    }

    /// A key pressed on a bridged leg of media session `session`: a room
    /// caller's PIN.
    pub(crate) fn on_digit(&mut self, now: Now, session: u64, leg: MediaLeg, digit: char) {
        // A caller hearing an entry point's prompts (RFC 4733 on its leg).
        if leg == MediaLeg::A
            && (self.flow_key(now, CallRef(session), digit)
                || self.courtesy_key(now, CallRef(session), digit)
                || self.voicemail_key(now, CallRef(session), digit))
        {
            return;
        }
        let MediaLeg::Party(p) = leg else { return };
        let id = CallRef(p as u64);
        if self.rooms.seats.get(&id) != Some(&session) {
            return;
        }
        self.with_call(now, id, |c, ctx| c.room_digit(ctx, digit));
    }
}
