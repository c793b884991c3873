//! What /proc says about the switch (and the generator itself) over a load
//! test's hold: CPU time (`/proc/<pid>/stat` utime + stime, per thread too),
//! context switches, resident memory, and the datagrams the kernel dropped
//! because a UDP socket's receive buffer was full (`/proc/net/udp`).

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

/// CPU time of a task from /proc, in clock ticks.
#[derive(Clone, Copy, Default)]
pub struct Ticks {
    /// utime.
    pub user: u64,
    /// stime.
    pub system: u64,
}

/// The command name and CPU ticks (utime, stime) of a /proc stat file.
pub fn stat_ticks(path: &str) -> Option<(String, Ticks)> {
    let s = std::fs::read_to_string(path).ok()?;
    let open = s.find('(')?;
    let close = s.rfind(')')?;
    let name = s[open + 1..close].to_string();
    // Fields after the command: state is field 3; utime 14, stime 15.
    let f: Vec<&str> = s[close + 2..].split_whitespace().collect();
    Some((
        name,
        Ticks {
            user: f.get(11)?.parse().ok()?,
            system: f.get(12)?.parse().ok()?,
        },
    ))
}

/// Per-thread CPU ticks of a process, keyed by thread id.
pub fn thread_ticks(pid: u32) -> HashMap<u32, (String, Ticks)> {
    let mut out = HashMap::new();
    if let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for e in dir.flatten() {
            let Some(tid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            if let Some(v) = stat_ticks(&format!("/proc/{pid}/task/{tid}/stat")) {
                out.insert(tid, v);
            }
        }
    }
    out
}

/// Context switches (voluntary, involuntary) summed over a process's threads.
pub fn context_switches(pid: u32) -> (u64, u64) {
    let mut total = (0, 0);
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return total;
    };
    for e in dir.flatten() {
        let Ok(text) = std::fs::read_to_string(e.path().join("status")) else {
            continue;
        };
        for line in text.lines() {
            let value = |l: &str| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0)
            };
            if line.starts_with("voluntary_ctxt_switches:") {
                total.0 += value(line);
            } else if line.starts_with("nonvoluntary_ctxt_switches:") {
                total.1 += value(line);
            }
        }
    }
    total
}

/// The whole machine's CPU time from the first line of /proc/stat, in
/// clock ticks summed over the cores.
#[derive(Clone, Copy, Default)]
pub struct MachineTicks {
    /// user + nice + system + irq + softirq (steal apart).
    pub busy: u64,
    /// Of which in soft interrupts (on loopback: much of UDP delivery).
    pub softirq: u64,
    /// Taken by the hypervisor for other guests.
    pub steal: u64,
    /// idle + iowait.
    pub idle: u64,
}

/// Reads [`MachineTicks`] now.
pub fn machine_ticks() -> Option<MachineTicks> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    let line = text.lines().next()?.strip_prefix("cpu ")?;
    let f: Vec<u64> = line.split_whitespace().filter_map(|v| v.parse().ok()).collect();
    let at = |i: usize| f.get(i).copied().unwrap_or(0);
    Some(MachineTicks {
        busy: at(0) + at(1) + at(2) + at(5) + at(6),
        softirq: at(6),
        steal: at(7),
        idle: at(3) + at(4),
    })
}

/// Resident memory of a process, in KiB (VmRSS).
pub fn rss_kib(pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = text.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Datagrams the kernel dropped because a socket's receive buffer was full,
/// per local UDP port (`drops`, the last column of /proc/net/udp{,6}).
pub fn udp_drops() -> HashMap<u16, u64> {
    let mut out: HashMap<u16, u64> = HashMap::new();
    for file in ["/proc/net/udp", "/proc/net/udp6"] {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            let (Some(local), Some(drops)) = (f.get(1), f.last()) else {
                continue;
            };
            let port = local.rsplit(':').next().and_then(|p| u16::from_str_radix(p, 16).ok());
            if let (Some(port), Ok(d)) = (port, drops.parse::<u64>()) {
                *out.entry(port).or_default() += d;
            }
        }
    }
    out
}

/// Drops on `ports` between two [`udp_drops`] readings.
pub fn drops_between(a: &HashMap<u16, u64>, b: &HashMap<u16, u64>, ports: impl IntoIterator<Item = u16>) -> u64 {
    ports
        .into_iter()
        .map(|p| {
            b.get(&p)
                .copied()
                .unwrap_or(0)
                .saturating_sub(a.get(&p).copied().unwrap_or(0))
        })
        .sum()
}

/// CPU used over the hold.
#[derive(Clone, Copy)]
pub struct CpuUse {
    /// Share of one core (user + system).
    pub percent: f64,
    /// Of which in the kernel (system time).
    pub system_percent: f64,
    /// CPU seconds.
    pub seconds: f64,
}

impl CpuUse {
    /// The CPU used between two readings `wall_s` seconds apart.
    pub fn between(a: Ticks, b: Ticks, hz: f64, wall_s: f64) -> CpuUse {
        let user = b.user.saturating_sub(a.user) as f64 / hz;
        let system = b.system.saturating_sub(a.system) as f64 / hz;
        CpuUse {
            percent: 100.0 * (user + system) / wall_s,
            system_percent: 100.0 * system / wall_s,
            seconds: user + system,
        }
    }
}

/// The switch's and this process's counters at one moment (the start or
/// the end of the hold).
pub struct Snapshot {
    at: Instant,
    switch: Option<Ticks>,
    switch_threads: HashMap<u32, (String, Ticks)>,
    switch_ctx: Option<(u64, u64)>,
    own: Option<Ticks>,
    machine: Option<MachineTicks>,
}

impl Snapshot {
    /// Reads the counters now (the switch's only with its pid).
    pub fn take(switch_pid: Option<u32>) -> Snapshot {
        Snapshot {
            at: Instant::now(),
            switch: switch_pid
                .and_then(|p| stat_ticks(&format!("/proc/{p}/stat")))
                .map(|(_, t)| t),
            switch_threads: switch_pid.map(thread_ticks).unwrap_or_default(),
            switch_ctx: switch_pid.map(context_switches),
            own: stat_ticks("/proc/self/stat").map(|(_, t)| t),
            machine: machine_ticks(),
        }
    }
}

/// What the hold cost the switch and the generator, between two snapshots.
pub struct HoldCost {
    /// Wall time between the snapshots.
    pub wall_s: f64,
    /// The switch's CPU.
    pub switch: Option<CpuUse>,
    /// The switch's CPU by thread name (threads of one name summed), % of a
    /// core, busiest first.
    pub switch_threads: Vec<(String, f64)>,
    /// The switch's context switches per second (voluntary, involuntary).
    pub switch_ctx_per_s: Option<(f64, f64)>,
    /// This process's CPU.
    pub own: Option<CpuUse>,
    /// The whole machine, % of one core (so up to 100 x cores): busy, of
    /// which soft interrupts, stolen by the hypervisor, and all the ticks
    /// counted (busy, idle and stolen: 100 x cores when the guest's ticks
    /// all ran).
    pub machine: Option<(f64, f64, f64, f64)>,
}

impl HoldCost {
    /// The cost between `a` and `b`, with `hz` clock ticks a second.
    pub fn between(a: &Snapshot, b: &Snapshot, hz: f64) -> HoldCost {
        let wall_s = b.at.duration_since(a.at).as_secs_f64().max(f64::MIN_POSITIVE);
        let cpu = |x: Option<Ticks>, y: Option<Ticks>| Some(CpuUse::between(x?, y?, hz, wall_s));
        let mut by_name: BTreeMap<String, u64> = BTreeMap::new();
        for (tid, (name, t1)) in &b.switch_threads {
            let t0 = a.switch_threads.get(tid).map(|(_, t)| t.user + t.system).unwrap_or(0);
            *by_name.entry(name.clone()).or_default() += (t1.user + t1.system).saturating_sub(t0);
        }
        let mut switch_threads: Vec<(String, f64)> = by_name
            .into_iter()
            .map(|(name, t)| (name, 100.0 * t as f64 / hz / wall_s))
            .filter(|(_, p)| *p > 0.0)
            .collect();
        switch_threads.sort_by(|x, y| y.1.total_cmp(&x.1));
        let switch_ctx_per_s = match (a.switch_ctx, b.switch_ctx) {
            (Some(x), Some(y)) => Some((
                y.0.saturating_sub(x.0) as f64 / wall_s,
                y.1.saturating_sub(x.1) as f64 / wall_s,
            )),
            _ => None,
        };
        let machine = match (a.machine, b.machine) {
            (Some(x), Some(y)) => {
                let pct = |t1: u64, t0: u64| 100.0 * t1.saturating_sub(t0) as f64 / hz / wall_s;
                let all = |t: MachineTicks| t.busy + t.steal + t.idle;
                Some((
                    pct(y.busy, x.busy),
                    pct(y.softirq, x.softirq),
                    pct(y.steal, x.steal),
                    pct(all(y), all(x)),
                ))
            }
            _ => None,
        };
        HoldCost {
            wall_s,
            machine,
            switch: cpu(a.switch, b.switch),
            switch_threads,
            switch_ctx_per_s,
            own: cpu(a.own, b.own),
        }
    }

    /// Prints the switch's CPU (per `unit`, e.g. "call" or "party", of
    /// `live` `units`), its context switches and the generator's CPU.
    pub fn print(&self, live: usize, unit: &str, units: &str) {
        if let Some(c) = self.switch {
            let threads: Vec<String> = self
                .switch_threads
                .iter()
                .map(|(name, pct)| format!("{name} {pct:.1}%"))
                .collect();
            println!(
                "switch CPU over the hold: {:.1}% of a core ({:.1}% user, {:.1}% system) for {live} {units} \
                 ({:.4}% per {unit}); by thread: {}",
                c.percent,
                c.percent - c.system_percent,
                c.system_percent,
                c.percent / live.max(1) as f64,
                threads.join(", ")
            );
        }
        if let Some((v, i)) = self.switch_ctx_per_s {
            println!("switch context switches over the hold: {v:.0}/s voluntary (sleeps), {i:.0}/s involuntary");
        }
        if let Some(c) = self.own {
            println!(
                "generator CPU over the hold: {:.1}% of a core ({:.1}% system)",
                c.percent, c.system_percent
            );
        }
        if let Some((busy, softirq, steal, all)) = self.machine {
            let ours = self.switch.map_or(0.0, |c| c.percent) + self.own.map_or(0.0, |c| c.percent);
            let cores = 100.0 * std::thread::available_parallelism().map_or(1.0, |n| n.get() as f64);
            // /proc/stat is tick-sampled: when the guest's ticks did not all
            // run (a busy host), its busy figure undercounts and the share
            // of other processes cannot be told.
            let others = if (all - cores).abs() <= 0.05 * cores {
                format!("{:.1}% beyond the switch and the generator", (busy - ours).max(0.0))
            } else {
                "other processes' share unknown".to_string()
            };
            println!(
                "machine over the hold (/proc/stat, tick-sampled, rough): {busy:.1}% of a core busy in all ({softirq:.1}% in soft \
                 interrupts), {others}; {steal:.1}% stolen by the hypervisor; ticks counted for {all:.0}% \
                 of {cores:.0}%"
            );
        }
    }
}
