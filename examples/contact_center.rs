//! A contact-center day in virtual time, driving only the sans-IO ACD core
//! (`switchboard::acd`): no SIP, no sockets, no clock but one base `Instant`.
//!
//! What it models (all random draws from one seeded RNG, so a seed replays
//! the same day):
//! - Callers arrive as a Poisson process (`--calls-per-hour`) for `--hours`,
//!   each with a patience drawn from an exponential law (mean `--patience-s`):
//!   a caller still waiting or ringing when it runs out hangs up (abandon).
//! - Agents all log in `Available` at the start. An offer rings the agent's
//!   phone (manual accept, RONA timeout 15 s); an attentive agent answers
//!   after 1 to 5 s. A share of agents (`--rona-share`) is distracted: each
//!   offer to one of them rings out with probability 1/2 (RONA, OFFER-4), the
//!   ACD sets it `Idle(RONA)` and re-offers the call, and the agent clicks
//!   `Available` again after an exponential 60 s on average.
//! - Talk time is Erlang-2 ("exponential-ish", no crowd of 1-second calls)
//!   with mean `--aht-s`. Wrap-up lasts at most `--wrap-s` (the queue's
//!   wrap-up time, WRAP-2); agents submit after an exponential 10 s on
//!   average, or let it time out.
//! - `--two-queues`: a sales queue (longest idle) takes 60% of the calls, a
//!   support queue (skills based) 40%; 40% of the agents serve sales only,
//!   30% support only and 30% both, with random skill levels.
//!
//! The loop always jumps to the next deadline: the earlier of the ACD's
//! `poll_timeout()` and the next simulation event (arrival, answer, hang-up,
//! wrap-up submit, back to `Available`). Every `--check-every` steps it runs
//! `Acd::check_invariants()`; at the end it checks that every call was
//! answered or abandoned and that the ACD holds nothing.
//!
//! Report: calls offered, answered, abandoned, RONAs; service level (the
//! share of *offered* calls answered within `--sl-threshold-s`, abandoned
//! calls counting as misses); average speed of answer over answered calls;
//! occupancy (busy + wrap-up time over logged-in time, from
//! `Acd::agent_stats`, measured at the end of the arrival window); the
//! longest wait of an answered and of an abandoned caller.
//!
//! Run: `cargo run --release --example contact_center -- --agents 50 --calls-per-hour 600 --hours 8`.
//! Sample output (defaults, release build; the wall time varies):
//!
//! ```text
//! 50 agents (4 distracted), 600 calls/h for 8 h, talk 240 s, wrap-up <= 30 s, patience 120 s, seed 1
//! [all queues]
//!   offered                4729
//!   answered               4504  (95.2%)
//!   abandoned               225  (4.8%)
//!   service level         91.8%  answered within 20 s, of offered
//!   avg speed of answer     4.9 s
//!   longest wait          58.8 s  answered; 50.0 s abandoned
//!   offers rung            4887
//!   RONAs                   212
//!   wrap-ups               4504  (4272 submitted, 232 timed out)
//!   occupancy             78.2%  busy + wrap-up over 400h00m00s logged in
//!   invariants               12  checks, all held
//!   virtual time       8h09m09s  in 0.012 s wall, 23518 steps
//! ```

use clap::Parser;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::time::{Duration, Instant};
use switchboard::acd::{
    Acd, AcdAction, AcdConfig, AcdEvent, AgentConfig, AgentId, AgentState, IdleReason, InteractionId, OfferId,
    QueueConfig, QueueId, RequestedState, Strategy,
};

/// Command-line options.
#[derive(Parser, Debug)]
#[command(about = "Simulates a contact-center day on the ACD core in virtual time")]
struct Opts {
    /// Agents logged in for the whole day.
    #[arg(long, default_value_t = 50)]
    agents: u32,
    /// Mean call arrival rate (Poisson).
    #[arg(long, default_value_t = 600.0)]
    calls_per_hour: f64,
    /// Length of the arrival window.
    #[arg(long, default_value_t = 8.0)]
    hours: f64,
    /// Mean talk time in seconds (Erlang-2).
    #[arg(long, default_value_t = 240.0)]
    aht_s: f64,
    /// Share of distracted agents who let half their offers ring out (0..=1).
    #[arg(long, default_value_t = 0.1)]
    rona_share: f64,
    /// RNG seed: the same seed replays the same day.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Service-level threshold in seconds.
    #[arg(long, default_value_t = 20.0)]
    sl_threshold_s: f64,
    /// Mean caller patience in seconds (exponential) before abandoning.
    #[arg(long, default_value_t = 120.0)]
    patience_s: f64,
    /// The queues' wrap-up time in seconds (WRAP-2).
    #[arg(long, default_value_t = 30)]
    wrap_s: u64,
    /// Two queues (sales, support) with skills instead of one.
    #[arg(long)]
    two_queues: bool,
    /// Run `Acd::check_invariants()` every this many steps.
    #[arg(long, default_value_t = 2000)]
    check_every: u64,
}

const SALES: QueueId = QueueId(1);
const SUPPORT: QueueId = QueueId(2);
/// Chance that a distracted agent lets an offer ring out.
const MISS_CHANCE: f64 = 0.5;
/// Mean time a RONA'd agent takes to click `Available` again.
const BACK_MEAN_S: f64 = 60.0;
/// Mean time to submit wrap-up (else it times out).
const SUBMIT_MEAN_S: f64 = 10.0;
const WRAP_REASON: &str = "Done";

/// A simulation event, scheduled at an instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Sim {
    /// The next caller arrives.
    Arrival,
    /// The caller's patience ran out.
    Patience(InteractionId),
    /// The agent's phone answers the offer.
    Answer(OfferId),
    /// The connected call ends.
    HangUp(InteractionId),
    /// The agent submits wrap-up for the interaction.
    Submit(AgentId, InteractionId),
    /// The RONA'd agent goes `Available` again.
    BackAvailable(AgentId),
    /// The arrival window ends: read the agents' stats.
    Snapshot,
}

/// One caller as the simulation sees it.
struct Call {
    queue: QueueId,
    arrived: Instant,
    connected: bool,
}

#[derive(Default)]
struct QueueReport {
    offered: u64,
    answered: u64,
    abandoned: u64,
    within_sl: u64,
    wait_total: Duration,
    longest_answered: Duration,
    longest_abandoned: Duration,
}

#[derive(Default)]
struct Report {
    queues: Vec<(QueueId, &'static str, QueueReport)>,
    rings: u64,
    ronas: u64,
    submitted: u64,
    timed_out: u64,
    occupancy: f64,
    logged_in: Duration,
    invariant_checks: u64,
}

impl Report {
    fn queue(&mut self, q: QueueId) -> &mut QueueReport {
        match self.queues.iter().position(|(id, _, _)| *id == q) {
            Some(i) => &mut self.queues[i].2,
            None => panic!("unknown queue {q}"),
        }
    }
}

struct World {
    o: Opts,
    rng: StdRng,
    acd: Acd,
    base: Instant,
    now: Instant,
    end_of_arrivals: Instant,
    agenda: BinaryHeap<Reverse<(Instant, u64, Sim)>>,
    seq: u64,
    next_call: u64,
    calls: HashMap<InteractionId, Call>,
    live_offers: HashSet<OfferId>,
    distracted: HashSet<AgentId>,
    report: Report,
}

/// An exponential draw with this mean.
fn exp(rng: &mut StdRng, mean: f64) -> f64 {
    let u: f64 = rng.random();
    -mean * (1.0 - u).ln()
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s.max(0.0))
}

impl World {
    fn new(o: Opts) -> World {
        let mut rng = StdRng::seed_from_u64(o.seed);
        let queue = |id, strategy| {
            let mut q = QueueConfig::new(id, strategy);
            q.wrap_up = Duration::from_secs(o.wrap_s);
            q.wrap_up_reasons = vec![WRAP_REASON.into()];
            q
        };
        let (queues, names) = if o.two_queues {
            (
                vec![
                    queue(SALES, Strategy::LongestIdle),
                    queue(SUPPORT, Strategy::SkillsBased),
                ],
                vec![(SALES, "sales"), (SUPPORT, "support")],
            )
        } else {
            (vec![queue(SALES, Strategy::LongestIdle)], vec![(SALES, "main")])
        };
        let agents = (0..o.agents)
            .map(|n| {
                let skill = |rng: &mut StdRng| rng.random_range(1..=10u8);
                let queues = if !o.two_queues {
                    vec![(SALES, 5)]
                } else {
                    match rng.random_range(0..10) {
                        0..4 => vec![(SALES, skill(&mut rng))],
                        4..7 => vec![(SUPPORT, skill(&mut rng))],
                        _ => vec![(SALES, skill(&mut rng)), (SUPPORT, skill(&mut rng))],
                    }
                };
                AgentConfig { id: AgentId(n), queues }
            })
            .collect();
        let cfg = AcdConfig {
            queues,
            agents,
            ..Default::default()
        };
        let acd = Acd::new(cfg).expect("valid ACD config");
        let distracted = (0..o.agents)
            .filter(|_| rng.random_bool(o.rona_share))
            .map(AgentId)
            .collect();
        let base = Instant::now();
        let end_of_arrivals = base + secs(o.hours * 3600.0);
        let report = Report {
            queues: names.into_iter().map(|(q, n)| (q, n, QueueReport::default())).collect(),
            ..Default::default()
        };
        World {
            o,
            rng,
            acd,
            base,
            now: base,
            end_of_arrivals,
            agenda: BinaryHeap::new(),
            seq: 0,
            next_call: 1,
            calls: HashMap::new(),
            live_offers: HashSet::new(),
            distracted,
            report,
        }
    }

    fn at(&mut self, t: Instant, e: Sim) {
        self.seq += 1;
        self.agenda.push(Reverse((t, self.seq, e)));
    }

    fn after(&mut self, d: Duration, e: Sim) {
        self.at(self.now + d, e);
    }

    /// Hands `e` to the ACD at the current time and reacts to what it does.
    fn acd(&mut self, e: AcdEvent) {
        if let Err(err) = self.acd.handle(self.now, e.clone()) {
            panic!("ACD refused {e:?} at {:?}: {err}", self.now - self.base);
        }
        self.drain();
    }

    fn drain(&mut self) {
        while let Some(act) = self.acd.poll_action() {
            self.react(act);
        }
    }

    fn react(&mut self, act: AcdAction) {
        match act {
            AcdAction::RingAgent { offer, agent, .. } => {
                self.report.rings += 1;
                self.live_offers.insert(offer);
                let misses = self.distracted.contains(&agent) && self.rng.random_bool(MISS_CHANCE);
                if !misses {
                    let ring = secs(self.rng.random_range(1.0..5.0));
                    self.after(ring, Sim::Answer(offer));
                }
            }
            AcdAction::CancelRing { offer, .. } => {
                self.live_offers.remove(&offer);
            }
            AcdAction::OfferTimedOut { offer, agent, .. } => {
                self.live_offers.remove(&offer);
                self.report.ronas += 1;
                let back = secs(exp(&mut self.rng, BACK_MEAN_S));
                self.after(back, Sim::BackAvailable(agent));
            }
            AcdAction::Connect { offer, interaction, .. } => {
                self.live_offers.remove(&offer);
                let Some(call) = self.calls.get_mut(&interaction) else {
                    panic!("{interaction} connected but unknown");
                };
                assert!(!call.connected, "{interaction} connected twice");
                call.connected = true;
                let wait = self.now - call.arrived;
                let within = wait <= secs(self.o.sl_threshold_s);
                let q = call.queue;
                let r = self.report.queue(q);
                r.answered += 1;
                r.within_sl += u64::from(within);
                r.wait_total += wait;
                r.longest_answered = r.longest_answered.max(wait);
                let half = self.o.aht_s / 2.0;
                let talk = exp(&mut self.rng, half) + exp(&mut self.rng, half);
                self.after(secs(talk), Sim::HangUp(interaction));
            }
            AcdAction::WrapUpStarted {
                agent,
                interaction,
                deadline,
            } => {
                let submit = self.now + secs(exp(&mut self.rng, SUBMIT_MEAN_S));
                if submit < deadline {
                    self.at(submit, Sim::Submit(agent, interaction));
                }
            }
            AcdAction::WrapUpEnded { timed_out, .. } => {
                if timed_out {
                    self.report.timed_out += 1;
                } else {
                    self.report.submitted += 1;
                }
            }
            AcdAction::AgentStateChanged { .. }
            | AcdAction::Overflow { .. }
            | AcdAction::InteractionClosed { .. }
            | AcdAction::RingConsult { .. }
            | AcdAction::ConsultFailed { .. }
            | AcdAction::PrimaryChanged { .. }
            | AcdAction::HandedOver { .. } => {}
        }
    }

    fn arrive(&mut self) {
        let id = InteractionId(self.next_call);
        self.next_call += 1;
        let queue = if self.o.two_queues && self.rng.random_bool(0.4) {
            SUPPORT
        } else {
            SALES
        };
        self.calls.insert(
            id,
            Call {
                queue,
                arrived: self.now,
                connected: false,
            },
        );
        self.report.queue(queue).offered += 1;
        let patience = secs(exp(&mut self.rng, self.o.patience_s));
        self.after(patience, Sim::Patience(id));
        self.acd(AcdEvent::InteractionArrived {
            id,
            queue,
            priority: 0,
            customer: Default::default(),
        });
    }

    fn schedule_next_arrival(&mut self) {
        let gap = secs(exp(&mut self.rng, 3600.0 / self.o.calls_per_hour));
        if self.now + gap < self.end_of_arrivals {
            self.after(gap, Sim::Arrival);
        }
    }

    fn run_event(&mut self, e: Sim) {
        match e {
            Sim::Arrival => {
                self.arrive();
                self.schedule_next_arrival();
            }
            Sim::Patience(id) => {
                // Stale once connected (or gone): the caller is talking.
                let Some(call) = self.calls.get(&id).filter(|c| !c.connected) else {
                    return;
                };
                let (queue, waited) = (call.queue, self.now - call.arrived);
                self.calls.remove(&id);
                let r = self.report.queue(queue);
                r.abandoned += 1;
                r.longest_abandoned = r.longest_abandoned.max(waited);
                self.acd(AcdEvent::InteractionAbandoned { id });
            }
            Sim::Answer(offer) => {
                if self.live_offers.contains(&offer) {
                    self.acd(AcdEvent::PhoneAnswered { offer });
                }
            }
            Sim::HangUp(id) => {
                self.calls.remove(&id);
                self.acd(AcdEvent::InteractionEnded { id });
            }
            Sim::Submit(agent, interaction) => {
                let wrapping = matches!(
                    self.acd.agent_state(agent),
                    Some(AgentState::WrapUp { interaction: i, .. }) if *i == interaction
                );
                if wrapping {
                    self.acd(AcdEvent::WrapUpSubmitted {
                        agent,
                        reasons: vec![WRAP_REASON.into()],
                        notes: String::new(),
                    });
                }
            }
            Sim::BackAvailable(agent) => {
                if self.acd.agent_state(agent) == Some(&AgentState::Idle(IdleReason::Rona)) {
                    self.acd(AcdEvent::AgentSetState {
                        agent,
                        state: RequestedState::Available,
                    });
                }
            }
            Sim::Snapshot => {
                let (mut handling, mut logged_in) = (Duration::ZERO, Duration::ZERO);
                for n in 0..self.o.agents {
                    if let Some(s) = self.acd.agent_stats(AgentId(n), self.now) {
                        handling += s.handling;
                        logged_in += s.available + s.idle + s.reserved + s.handling;
                    }
                }
                self.report.logged_in = logged_in;
                self.report.occupancy = handling.as_secs_f64() / logged_in.as_secs_f64().max(f64::MIN_POSITIVE);
            }
        }
    }

    fn check(&mut self) {
        if let Err(e) = self.acd.check_invariants() {
            panic!("ACD invariant broken at {:?}: {e}", self.now - self.base);
        }
        self.report.invariant_checks += 1;
    }

    /// Runs the day to the end; returns the number of steps.
    fn run(&mut self) -> u64 {
        for n in 0..self.o.agents {
            self.acd(AcdEvent::AgentLogin {
                agent: AgentId(n),
                state: RequestedState::Available,
            });
        }
        self.at(self.end_of_arrivals, Sim::Snapshot);
        self.schedule_next_arrival();
        let mut steps = 0u64;
        loop {
            let next_sim = self.agenda.peek().map(|Reverse((t, _, _))| *t);
            let next_acd = self.acd.poll_timeout();
            match (next_sim, next_acd) {
                (None, None) => break,
                (Some(s), a) if a.is_none_or(|a| s <= a) => {
                    let Some(Reverse((t, _, e))) = self.agenda.pop() else {
                        break;
                    };
                    self.now = t;
                    self.run_event(e);
                }
                (_, Some(a)) => {
                    self.now = a;
                    self.acd(AcdEvent::Timeout);
                }
                (Some(_), None) => unreachable!("matched above"),
            }
            steps += 1;
            if steps % self.o.check_every.max(1) == 0 {
                self.check();
            }
        }
        self.check();
        assert!(self.calls.is_empty(), "{} calls never finished", self.calls.len());
        assert_eq!(self.acd.interaction_count(), 0, "the ACD still holds interactions");
        assert!(self.live_offers.is_empty(), "offers still ringing");
        for (_, name, q) in &self.report.queues {
            assert_eq!(q.offered, q.answered + q.abandoned, "{name}: calls lost");
        }
        steps
    }
}

fn pct(n: u64, of: u64) -> f64 {
    if of == 0 {
        0.0
    } else {
        100.0 * n as f64 / of as f64
    }
}

fn hms(d: Duration) -> String {
    let s = d.as_secs();
    format!("{}h{:02}m{:02}s", s / 3600, s / 60 % 60, s % 60)
}

fn print_queue(name: &str, q: &QueueReport, sl: f64) {
    let asa = if q.answered == 0 {
        0.0
    } else {
        q.wait_total.as_secs_f64() / q.answered as f64
    };
    println!("[{name}]");
    println!("  offered            {:>8}", q.offered);
    println!(
        "  answered           {:>8}  ({:.1}%)",
        q.answered,
        pct(q.answered, q.offered)
    );
    println!(
        "  abandoned          {:>8}  ({:.1}%)",
        q.abandoned,
        pct(q.abandoned, q.offered)
    );
    println!(
        "  service level      {:>7.1}%  answered within {sl} s, of offered",
        pct(q.within_sl, q.offered)
    );
    println!("  avg speed of answer {asa:>7.1} s");
    println!(
        "  longest wait       {:>7.1} s  answered; {:.1} s abandoned",
        q.longest_answered.as_secs_f64(),
        q.longest_abandoned.as_secs_f64()
    );
}

fn main() {
    let o = Opts::parse();
    if !(0.0..=1.0).contains(&o.rona_share) {
        eprintln!("--rona-share must be within 0..=1");
        std::process::exit(2);
    }
    if o.agents == 0 || o.calls_per_hour <= 0.0 || o.hours <= 0.0 || o.aht_s <= 0.0 || o.patience_s <= 0.0 {
        eprintln!("--agents, --calls-per-hour, --hours, --aht-s and --patience-s must be positive");
        std::process::exit(2);
    }
    let wall = Instant::now();
    let mut w = World::new(o);
    let o = &w.o;
    println!(
        "{} agents ({} distracted), {} calls/h for {} h, talk {} s, wrap-up <= {} s, patience {} s, seed {}{}",
        o.agents,
        w.distracted.len(),
        o.calls_per_hour,
        o.hours,
        o.aht_s,
        o.wrap_s,
        o.patience_s,
        o.seed,
        if o.two_queues { ", two queues" } else { "" }
    );
    let steps = w.run();
    let wall = wall.elapsed();
    let sl = w.o.sl_threshold_s;
    let r = &w.report;
    let mut all = QueueReport::default();
    for (_, name, q) in &r.queues {
        if r.queues.len() > 1 {
            print_queue(name, q, sl);
        }
        all.offered += q.offered;
        all.answered += q.answered;
        all.abandoned += q.abandoned;
        all.within_sl += q.within_sl;
        all.wait_total += q.wait_total;
        all.longest_answered = all.longest_answered.max(q.longest_answered);
        all.longest_abandoned = all.longest_abandoned.max(q.longest_abandoned);
    }
    print_queue("all queues", &all, sl);
    println!("  offers rung        {:>8}", r.rings);
    println!("  RONAs              {:>8}", r.ronas);
    println!(
        "  wrap-ups           {:>8}  ({} submitted, {} timed out)",
        r.submitted + r.timed_out,
        r.submitted,
        r.timed_out
    );
    println!(
        "  occupancy          {:>7.1}%  busy + wrap-up over {} logged in",
        100.0 * r.occupancy,
        hms(r.logged_in)
    );
    println!("  invariants         {:>8}  checks, all held", r.invariant_checks);
    println!(
        "  virtual time   {:>12}  in {:.3} s wall, {steps} steps",
        hms(w.now - w.base),
        wall.as_secs_f64()
    );
}
