//! A seeded random simulation with 10,000 agents in 200 queues of every
//! strategy: arrivals, answers, declines, failed legs, RONA, abandons, ends,
//! wrap-ups, state changes and logouts in virtual time. Checked from the
//! actions alone: an agent never has two offers at once; an interaction has
//! at most one offer at once (ring-all: one per agent), is connected at most
//! once, and is never lost (every arrival is still in the ACD or ended,
//! abandoned or overflowed out); plus the core's own invariants.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};
use switchboard::acd::{
    Acd, AcdAction, AcdConfig, AcdError, AcdEvent, AgentConfig, AgentId, AgentState, IdleReason, InteractionId,
    InteractionState, OfferId, Outcome, OverflowTarget, QueueConfig, QueueId, RequestedState, Strategy,
};

const AGENTS: u32 = 10_000;
const QUEUES: u32 = 200;
const STEPS: usize = 40_000;

fn config(rng: &mut StdRng) -> AcdConfig {
    let strategies = [
        Strategy::LongestIdle,
        Strategy::RoundRobin,
        Strategy::RingAll,
        Strategy::FewestCalls,
        Strategy::SkillsBased,
    ];
    let queues = (0..QUEUES)
        .map(|q| {
            let mut c = QueueConfig::new(QueueId(q), strategies[q as usize % strategies.len()]);
            c.wrap_up = Duration::from_secs(20);
            c.wrap_up_reasons = vec!["Done".into()];
            if q % 7 == 0 {
                c.max_wait = Some(Duration::from_secs(40));
                c.overflow = Some(if q % 2 == 0 {
                    OverflowTarget::Queue(QueueId(q + 1))
                } else {
                    OverflowTarget::External("voicemail".into())
                });
            }
            c
        })
        .collect();
    let agents = (0..AGENTS)
        .map(|n| {
            let k = rng.random_range(1..=3);
            let mut qs: Vec<(QueueId, u8)> = Vec::new();
            while qs.len() < k {
                let q = QueueId(rng.random_range(0..QUEUES));
                if !qs.iter().any(|(x, _)| *x == q) {
                    qs.push((q, rng.random_range(1..=10)));
                }
            }
            AgentConfig {
                id: AgentId(n),
                queues: qs,
            }
        })
        .collect();
    AcdConfig {
        queues,
        agents,
        idle_reasons: vec!["Lunch".into()],
    }
}

/// What the simulation learned from the actions.
#[derive(Default)]
struct Model {
    offers: HashMap<OfferId, (AgentId, InteractionId)>,
    agent_offer: HashMap<AgentId, OfferId>,
    inter_offers: HashMap<InteractionId, HashSet<AgentId>>,
    offer_list: Vec<OfferId>,
    connected: HashSet<InteractionId>,
    connected_list: Vec<InteractionId>,
    wrapping: Vec<AgentId>,
    /// Agents set `Idle(RONA)`: the desktop asks them to go `Available` again.
    rona_agents: Vec<AgentId>,
    /// Interactions that left the ACD (`InteractionClosed`), and how many per outcome.
    gone: HashSet<InteractionId>,
    closed: HashMap<Outcome, usize>,
    rings: usize,
    ronas: usize,
    overflows: usize,
}

impl Model {
    fn drop_offer(&mut self, offer: OfferId) {
        if let Some((agent, inter)) = self.offers.remove(&offer) {
            self.agent_offer.remove(&agent);
            if let Some(s) = self.inter_offers.get_mut(&inter) {
                s.remove(&agent);
            }
        }
    }

    fn apply(&mut self, act: AcdAction, ring_all: &HashSet<QueueId>) {
        match act {
            AcdAction::RingAgent {
                offer,
                agent,
                interaction,
                queue,
                ..
            } => {
                self.rings += 1;
                assert!(self.offers.insert(offer, (agent, interaction)).is_none());
                let prev = self.agent_offer.insert(agent, offer);
                assert!(prev.is_none(), "{agent} has two offers: {prev:?} and {offer}");
                let set = self.inter_offers.entry(interaction).or_default();
                set.insert(agent);
                assert!(
                    set.len() == 1 || ring_all.contains(&queue),
                    "{interaction} offered to {set:?} at once"
                );
                assert!(!self.connected.contains(&interaction));
                self.offer_list.push(offer);
            }
            AcdAction::CancelRing { offer, .. } => self.drop_offer(offer),
            AcdAction::OfferTimedOut { offer, agent, .. } => {
                self.ronas += 1;
                self.rona_agents.push(agent);
                self.drop_offer(offer);
            }
            AcdAction::Connect { offer, interaction, .. } => {
                self.drop_offer(offer);
                assert!(self.connected.insert(interaction), "{interaction} connected twice");
                self.connected_list.push(interaction);
            }
            AcdAction::WrapUpStarted { agent, .. } => self.wrapping.push(agent),
            AcdAction::Overflow { .. } => self.overflows += 1,
            AcdAction::InteractionClosed {
                interaction, outcome, ..
            } => {
                assert!(self.gone.insert(interaction), "{interaction} closed twice");
                *self.closed.entry(outcome).or_default() += 1;
            }
            AcdAction::AgentStateChanged { .. } | AcdAction::WrapUpEnded { .. } => {}
            AcdAction::RingConsult { .. }
            | AcdAction::ConsultFailed { .. }
            | AcdAction::PrimaryChanged { .. }
            | AcdAction::HandedOver { .. } => {
                panic!("no consults or transfers in this simulation")
            }
        }
    }
}

/// Removes and returns a random element (order does not matter).
fn pick<T: Copy>(rng: &mut StdRng, v: &mut Vec<T>) -> Option<T> {
    if v.is_empty() {
        return None;
    }
    let i = rng.random_range(0..v.len());
    Some(v.swap_remove(i))
}

#[test]
fn ten_thousand_agents_nothing_lost_nothing_offered_twice() {
    let mut rng = StdRng::seed_from_u64(0x05ee_dacd);
    let cfg = config(&mut rng);
    let ring_all: HashSet<QueueId> = cfg
        .queues
        .iter()
        .filter(|q| q.strategy == Strategy::RingAll)
        .map(|q| q.id)
        .collect();
    let mut acd = Acd::new(cfg).unwrap();
    let mut m = Model::default();
    let mut now = Instant::now();
    let lunch = RequestedState::Idle(IdleReason::Named("Lunch".into()));
    let run = |acd: &mut Acd, m: &mut Model, now: Instant, e: AcdEvent| {
        let r = acd.handle(now, e);
        while let Some(act) = acd.poll_action() {
            m.apply(act, &ring_all);
        }
        r
    };
    for n in 0..AGENTS {
        let state = if n % 10 == 0 {
            lunch.clone()
        } else {
            RequestedState::Available
        };
        run(
            &mut acd,
            &mut m,
            now,
            AcdEvent::AgentLogin {
                agent: AgentId(n),
                state,
            },
        )
        .unwrap();
    }
    let mut arrived = 0u64;
    let mut abandoned = 0usize;
    let mut ended = 0usize;
    for step in 0..STEPS {
        now += Duration::from_millis(rng.random_range(0..60));
        // Fire the deadlines up to now, each at its time.
        while let Some(t) = acd.poll_timeout().filter(|t| *t <= now) {
            run(&mut acd, &mut m, t, AcdEvent::Timeout).unwrap();
        }
        let roll = rng.random_range(0..100);
        match roll {
            0..30 => {
                arrived += 1;
                let e = AcdEvent::InteractionArrived {
                    id: InteractionId(arrived),
                    queue: QueueId(rng.random_range(0..QUEUES)),
                    priority: rng.random_range(0..4),
                    customer: Default::default(),
                };
                run(&mut acd, &mut m, now, e).unwrap();
            }
            30..64 => {
                // Offers that ended are dropped from the list as they come up.
                let mut live = None;
                while let Some(offer) = pick(&mut rng, &mut m.offer_list) {
                    if m.offers.contains_key(&offer) {
                        live = Some(offer);
                        break;
                    }
                }
                if let Some(offer) = live {
                    {
                        let e = match rng.random_range(0..20) {
                            0..2 => Some(AcdEvent::OfferDeclined { offer }),
                            2 => Some(AcdEvent::PhoneLegFailed { offer }),
                            3..6 => None, // let it ring (RONA, or an answer later)
                            _ => Some(AcdEvent::PhoneAnswered { offer }),
                        };
                        if let Some(e) = e {
                            run(&mut acd, &mut m, now, e).unwrap();
                        }
                        if m.offers.contains_key(&offer) {
                            m.offer_list.push(offer);
                        }
                    }
                }
            }
            64..78 => {
                if let Some(id) = pick(&mut rng, &mut m.connected_list) {
                    if matches!(acd.interaction_state(id), Some(InteractionState::Connected { .. })) {
                        run(&mut acd, &mut m, now, AcdEvent::InteractionEnded { id }).unwrap();
                        // It stays in the ACD through its wrap-up.
                        assert!(matches!(
                            acd.interaction_state(id),
                            Some(InteractionState::WrapUp { .. })
                        ));
                        ended += 1;
                    }
                }
            }
            78..86 => {
                if let Some(agent) = pick(&mut rng, &mut m.wrapping) {
                    if matches!(acd.agent_state(agent), Some(AgentState::WrapUp { .. })) {
                        let e = AcdEvent::WrapUpSubmitted {
                            agent,
                            reasons: vec!["Done".into()],
                            notes: String::new(),
                        };
                        run(&mut acd, &mut m, now, e).unwrap();
                    }
                }
            }
            86..89 => {
                if arrived > 0 {
                    let id = InteractionId(rng.random_range(1..=arrived));
                    let before = acd.interaction_state(id).cloned();
                    let r = run(&mut acd, &mut m, now, AcdEvent::InteractionAbandoned { id });
                    match (r, before) {
                        // A caller gone during wrap-up changes nothing.
                        (Ok(()), Some(InteractionState::WrapUp { .. })) => assert!(!m.gone.contains(&id)),
                        (Ok(()), Some(InteractionState::Connected { .. })) => ended += 1,
                        (Ok(()), Some(_)) => {
                            assert!(m.gone.contains(&id), "{id} abandoned but not closed");
                            abandoned += 1;
                        }
                        (r, before) => {
                            assert_eq!(r, Err(AcdError::UnknownInteraction(id)), "{id} was {before:?}");
                            assert!(m.gone.contains(&id));
                        }
                    }
                }
            }
            89..98 => {
                // Mostly the RONA prompt answered "Available"; else anyone asking for anything.
                let rona = match rng.random_range(0..4) {
                    0 => None,
                    _ => pick(&mut rng, &mut m.rona_agents),
                };
                let agent = rona.unwrap_or_else(|| AgentId(rng.random_range(0..AGENTS)));
                let state = if rona.is_none() && rng.random_range(0..4) == 0 {
                    lunch.clone()
                } else {
                    RequestedState::Available
                };
                let r = run(&mut acd, &mut m, now, AcdEvent::AgentSetState { agent, state });
                if let Err(e) = r {
                    assert_eq!(e, AcdError::NotLoggedIn(agent));
                }
            }
            _ => {
                let agent = AgentId(rng.random_range(0..AGENTS));
                let before = acd.agent_state(agent).cloned();
                let e = if before == Some(AgentState::LoggedOut) {
                    AcdEvent::AgentLogin {
                        agent,
                        state: RequestedState::Available,
                    }
                } else {
                    AcdEvent::AgentLogout { agent }
                };
                match (run(&mut acd, &mut m, now, e), before) {
                    (Ok(()), _) => {}
                    (Err(AcdError::LogoutWhileRinging(_)), Some(AgentState::Reserved { .. })) => {}
                    (Err(AcdError::LogoutWhileEngaged { .. }), Some(AgentState::Busy { .. })) => {}
                    (Err(AcdError::LogoutWhileEngaged { .. }), Some(AgentState::WrapUp { .. })) => {}
                    (r, s) => panic!("logout/login of {agent} in {s:?}: {r:?}"),
                }
            }
        }
        if step % 10_000 == 0 {
            acd.check_invariants().unwrap();
        }
    }
    acd.check_invariants().unwrap();
    // Nothing lost: every arrival is still held, or it ended, was abandoned or overflowed out.
    for n in 1..=arrived {
        let id = InteractionId(n);
        assert!(
            m.gone.contains(&id) != acd.interaction_state(id).is_some(),
            "{id} lost or held after it left"
        );
    }
    assert_eq!(acd.interaction_count() as u64, arrived - m.gone.len() as u64);
    eprintln!(
        "{arrived} arrivals, {} rings, {} RONA, {} overflows, {abandoned} abandoned, {} connected, {ended} ended, {} held",
        m.rings, m.ronas,
        m.overflows,
        m.connected.len(),
        acd.interaction_count()
    );
    // The run did exercise the machine.
    assert!(
        arrived > 10_000 && m.rings > 10_000,
        "{arrived} arrivals, {} rings",
        m.rings
    );
    assert!(m.ronas > 100 && m.overflows > 10 && abandoned > 100 && ended > 1_000);
    // Every close is accounted for: answered ones after wrap-up, abandoned, overflowed out.
    assert_eq!(m.closed.get(&Outcome::Abandoned).copied().unwrap_or(0), abandoned);
    assert!(m.closed.get(&Outcome::Answered).copied().unwrap_or(0) > 1_000);
    assert!(m.closed.get(&Outcome::Overflowed).copied().unwrap_or(0) > 0);
}
