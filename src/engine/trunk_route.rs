//! Which trunk of a dial-plan `trunks = [..]` list a call tries first, and
//! in what order it fails over (issue 10 item 5; the failover itself is
//! the call's, `call/failover.rs`).
//!
//! - Trunks the OPTIONS keepalive marked down (engine/trunk_health.rs) are
//!   skipped. When every trunk of the list is down they are all tried, in
//!   order: the keepalive may be wrong (a carrier that drops OPTIONS but
//!   takes calls), and a late failure beats a certain one.
//! - Ordered lists keep their order.
//! - Weighted lists pick the first trunk by smooth weighted round robin
//!   (the nginx algorithm: each pick adds every candidate's weight to its
//!   current weight, takes the highest, and subtracts the total from it),
//!   deterministic and evenly spread (weights 3 and 1 give a a b a, a a b a
//!   ...); the other candidates follow in the listed order.

use super::Engine;
use crate::call::RingTarget;
use crate::config::{Route, TrunkGroup};
use crate::sip::msg::{Host, StatusCode, Uri};
use crate::sip::transaction::{Destination, TransportKind};

/// A route's label (`trunk:<name>`) and its targets in the order to try.
pub(crate) type Targets = (String, Vec<RingTarget>);

impl Engine {
    /// The trunks of `group` that routing may use, with their weights (1
    /// for an ordered list), in the listed order.
    fn trunk_candidates(&self, group: &TrunkGroup) -> Vec<(String, u32)> {
        let all: Vec<(String, u32)> = match group {
            TrunkGroup::Ordered(names) => names.iter().map(|n| (n.clone(), 1)).collect(),
            TrunkGroup::Weighted(w) => w.clone(),
        };
        let up: Vec<(String, u32)> = all.iter().filter(|(n, _)| self.trunk_up(n)).cloned().collect();
        if up.is_empty() {
            all
        } else {
            up
        }
    }

    /// The order in which a call tries `group`'s trunks (a weighted list's
    /// round robin advances).
    pub(crate) fn trunk_order(&mut self, group: &TrunkGroup) -> Vec<String> {
        let cands = self.trunk_candidates(group);
        let mut names: Vec<String> = cands.iter().map(|(n, _)| n.clone()).collect();
        if let TrunkGroup::Weighted(_) = group {
            let key: Vec<String> = group.names().into_iter().map(str::to_owned).collect();
            let current = self.trunks.wrr.entry(key).or_default();
            let total: i64 = cands.iter().map(|(_, w)| i64::from(*w)).sum();
            let mut best: Option<(usize, i64)> = None;
            for (i, (n, w)) in cands.iter().enumerate() {
                let c = current.entry(n.clone()).or_insert(0);
                *c += i64::from(*w);
                if best.is_none_or(|(_, b)| *c > b) {
                    best = Some((i, *c));
                }
            }
            if let Some((i, _)) = best {
                if let Some(c) = current.get_mut(&cands[i].0) {
                    *c -= total;
                }
                let first = names.remove(i);
                names.insert(0, first);
            }
        }
        names
    }

    /// Without advancing a weighted list's round robin (for callers holding
    /// `&self`): the first usable trunk, the heaviest of a weighted list.
    pub(crate) fn trunk_preferred(&self, group: &TrunkGroup) -> Option<String> {
        let cands = self.trunk_candidates(group);
        let mut best: Option<&(String, u32)> = None;
        for c in &cands {
            if best.is_none_or(|b| c.1 > b.1) {
                best = Some(c);
            }
        }
        best.map(|b| b.0.clone())
    }

    /// Where requests to `trunk` go: its address over its transport, from
    /// its profile's first address of that transport (the TLS listener for
    /// `transport = "tls"`); `None` when the profile has no such socket.
    pub(crate) fn trunk_destination(&self, trunk: &crate::config::Trunk) -> Option<Destination> {
        let profile = self.cfg.profile(&trunk.profile)?;
        let (transport, local) = match trunk.transport {
            crate::config::Transport::Udp => (TransportKind::Udp, profile.listen.first().copied()?),
            crate::config::Transport::Tcp => (TransportKind::Tcp, profile.listen.first().copied()?),
            crate::config::Transport::Tls => (TransportKind::Tls, profile.tls.as_ref()?.listen.first().copied()?),
            // Trunks have no WebSocket transport (the config refuses it).
            crate::config::Transport::Ws | crate::config::Transport::Wss => return None,
        };
        Some(Destination {
            addr: trunk.address,
            transport,
            local,
        })
    }

    /// Where a call to `number` through trunk `name` goes.
    pub(crate) fn trunk_target(&self, name: &str, number: &str) -> Result<RingTarget, (StatusCode, String)> {
        let Some(trunk) = self.cfg.trunk(name) else {
            return Err((StatusCode::SERVICE_UNAVAILABLE, "Trunk Not Configured".into()));
        };
        let Some(dest) = self.trunk_destination(trunk) else {
            return Err((StatusCode::SERVICE_UNAVAILABLE, "Trunk Profile Has No Socket".into()));
        };
        let uri = Uri::sip(
            Some(number),
            Host::from_ip(trunk.address.ip()),
            Some(trunk.address.port()),
        );
        Ok(RingTarget {
            uri,
            dest,
            trunk: Some(trunk.name.clone()),
        })
    }

    /// A trunk list route's targets in failover order (a weighted list's
    /// round robin advances), with the call's route label; `None` for any
    /// other route.
    pub(crate) fn trunk_list_targets(&mut self, route: &Route) -> Option<Result<Targets, (StatusCode, String)>> {
        let crate::config::Action::Trunks { group } = &route.action else {
            return None;
        };
        let targets: Vec<RingTarget> = self
            .trunk_order(group)
            .iter()
            .filter_map(|name| self.trunk_target(name, &route.target).ok())
            .collect();
        Some(match targets.first().and_then(|t| t.trunk.clone()) {
            Some(n) => Ok((format!("trunk:{n}"), targets)),
            None => Err((StatusCode::SERVICE_UNAVAILABLE, "No Trunk Usable".into())),
        })
    }
}
