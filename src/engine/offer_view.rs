//! What a desktop is shown of a ringing offer (OFFER-1..3, OFFER-6) and
//! what kind of work an interaction is (a customer's call, a callback the
//! switch places, a voicemail work item): the views `engine/queue.rs`
//! sends with its `offer` events.

use super::desk::{OfferView, ShownVariable};
use super::queue::unix_ms_of;
use super::Engine;
use crate::acd::{InteractionId, OfferId};
use crate::ids::CallRef;

impl Engine {
    /// What kind of work interaction `interaction` (carried by `call`) is:
    /// `callback`, `voicemail` or `voice`.
    pub(crate) fn channel_of(&self, interaction: InteractionId, call: CallRef) -> &'static str {
        if self.placing.by_call.contains_key(&call) {
            "callback"
        } else if self.is_voicemail_item(interaction) {
            "voicemail"
        } else {
            "voice"
        }
    }

    /// The desktop's view of a ringing offer (OFFER-1..3).
    pub(crate) fn offer_view(&self, interaction: InteractionId, offer: OfferId) -> Option<OfferView> {
        let qc = self.queues.calls.get(&interaction)?;
        let live = qc.offers.iter().find(|o| o.offer == offer)?;
        let o = self.acd.offer(offer)?;
        let info = self.acd.interaction(interaction)?;
        let q = self.cfg.acd().queue(info.queue)?;
        let now = self.last_now?;
        // OFFER-3: the caller's number masked wherever it shows, variables included.
        let mask = |name: &str, value: &str| {
            if q.mask_caller_number && name == crate::acd::CALLER_NUMBER {
                crate::acd::mask_number(value)
            } else {
                value.to_owned()
            }
        };
        let callback = self
            .placing
            .by_call
            .get(&qc.call)
            .and_then(|(_, cb)| self.callbacks.get(cb))
            .map(|cb| {
                Box::new(super::desk::CallbackOffer {
                    label: "Callback",
                    id: cb.id.clone(),
                    kind: cb.kind.as_str(),
                    number: mask(crate::acd::CALLER_NUMBER, &cb.number),
                    name: cb.name.clone(),
                    reason: cb.reason.clone(),
                    attempts: cb.attempts,
                })
            });
        let voicemail = self.voicemail_of(interaction).map(|m| {
            let mut v = self.voicemail_view_for_agents(m);
            v.caller_number = mask(crate::acd::CALLER_NUMBER, &v.caller_number);
            Box::new(v)
        });
        let channel = self.channel_of(interaction, qc.call);
        Some(OfferView {
            offer: offer.0,
            interaction: qc.uid.clone(),
            queue: q.name.clone(),
            channel,
            callback,
            voicemail,
            caller: mask(crate::acd::CALLER_NUMBER, &info.customer.caller_number),
            dnis: info.customer.dnis.clone(),
            variables: o
                .variables
                .iter()
                .map(|v| ShownVariable {
                    name: v.name.clone(),
                    value: mask(&v.name, &v.value),
                })
                .collect(),
            auto_answer: live.auto_answer,
            offered_ms: unix_ms_of(now, o.offered_at),
            rona_ms: unix_ms_of(now, o.deadline),
        })
    }
}
