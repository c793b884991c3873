//! `switchboard check` for entry points (issue 14 item 1): the flows as a
//! graph of steps (a step's successors in its flow; an `entry_point` step
//! leads to that entry point's first step), and three mistakes found in
//! it, each reported at the step's `file:line:col`:
//!
//! - **unreachable step**: no path from its entry point's first step;
//! - **loop without exit**: steps from which no path ever leaves the flows
//!   (reaches a queue, user, number, voicemail or hang-up); a caller who
//!   gets there goes round for ever;
//! - **loop that never waits**: a cycle of steps none of which plays a
//!   prompt or reads a key (hours, branches, queue tests, sets, entry
//!   points): it would spin without the caller or the clock moving it on.
//!
//! Missing prompts are found when the steps load (`entry_load.rs`).

use std::collections::HashSet;

use super::entry::{EntryPoints, Flow, FlowId, StepKind, StepRef};
use super::error::{ErrorKind, Sink};

/// A step of some flow.
type Node = (usize, usize);

fn edges(flows: &[Flow], (f, s): Node) -> Vec<Node> {
    let Some(step) = flows.get(f).and_then(|fl| fl.steps.get(s)) else {
        return Vec::new();
    };
    match &step.kind {
        StepKind::EntryPoint { flow: FlowId(t) } => vec![(*t, Flow::FIRST.0)],
        k => k.successors().into_iter().map(|StepRef(n)| (f, n)).collect(),
    }
}

/// Reports every unreachable step, loop without exit and loop that never waits.
pub(super) fn check(entry: &EntryPoints, sink: &mut Sink<'_>) {
    let flows = &entry.flows;
    let nodes: Vec<Node> = flows
        .iter()
        .enumerate()
        .flat_map(|(f, fl)| (0..fl.steps.len()).map(move |s| (f, s)))
        .collect();
    // Unreachable: within its own flow, from its first step.
    for (f, fl) in flows.iter().enumerate() {
        let mut seen = HashSet::from([0usize]);
        let mut todo = vec![0usize];
        while let Some(s) = todo.pop() {
            for (tf, ts) in edges(flows, (f, s)) {
                if tf == f && seen.insert(ts) {
                    todo.push(ts);
                }
            }
        }
        for (s, step) in fl.steps.iter().enumerate() {
            if !seen.contains(&s) {
                sink.push_at(
                    &step.origin,
                    ErrorKind::InvalidValue,
                    format!(
                        "step `{}` of entry point `{}` is never reached from its first step `{}`",
                        step.name, fl.name, fl.steps[0].name
                    ),
                );
            }
        }
    }
    // Loops without exit: nodes from which no exit is reachable (a fixed
    // point of "has a successor that exits").
    let mut exits: HashSet<Node> = nodes
        .iter()
        .copied()
        .filter(|&(f, s)| flows[f].steps[s].kind.is_exit())
        .collect();
    loop {
        let before = exits.len();
        for &n in &nodes {
            if !exits.contains(&n) && edges(flows, n).iter().any(|m| exits.contains(m)) {
                exits.insert(n);
            }
        }
        if exits.len() == before {
            break;
        }
    }
    let trapped: Vec<Node> = nodes.iter().copied().filter(|n| !exits.contains(n)).collect();
    for scc in cycles(flows, &trapped) {
        let (f, s) = scc[0];
        sink.push_at(
            &flows[f].steps[s].origin,
            ErrorKind::InvalidValue,
            format!(
                "loop without exit: {} never reach a queue, user, number, voicemail or hangup",
                names(flows, &scc)
            ),
        );
    }
    // Steps leading into such a loop (not on it) are reported too, once each.
    let on_loops: HashSet<Node> = cycles(flows, &trapped).into_iter().flatten().collect();
    for &(f, s) in trapped.iter().filter(|n| !on_loops.contains(n)) {
        let step = &flows[f].steps[s];
        sink.push_at(
            &step.origin,
            ErrorKind::InvalidValue,
            format!(
                "step `{}` of entry point `{}` only leads into a loop without exit",
                step.name, flows[f].name
            ),
        );
    }
    // Loops that never wait: cycles among the steps that do not wait.
    let instant: Vec<Node> = nodes
        .iter()
        .copied()
        .filter(|&(f, s)| !flows[f].steps[s].kind.waits())
        .collect();
    for scc in cycles(flows, &instant) {
        let (f, s) = scc[0];
        sink.push_at(
            &flows[f].steps[s].origin,
            ErrorKind::InvalidValue,
            format!(
                "loop that never waits for the caller: {} (put a prompt or a menu on it)",
                names(flows, &scc)
            ),
        );
    }
}

fn names(flows: &[Flow], scc: &[Node]) -> String {
    let mut out: Vec<String> = scc
        .iter()
        .map(|&(f, s)| format!("`{}` ({})", flows[f].steps[s].name, flows[f].name))
        .collect();
    let first = out[0].clone();
    out.push(first);
    out.join(" → ")
}

/// The cycles of the subgraph on `within` (strongly connected components
/// with an edge inside: more than one step, or a step leading to itself),
/// each in a path order from its first step in file order.
fn cycles(flows: &[Flow], within: &[Node]) -> Vec<Vec<Node>> {
    let set: HashSet<Node> = within.iter().copied().collect();
    let succ = |n: Node| -> Vec<Node> { edges(flows, n).into_iter().filter(|m| set.contains(m)).collect() };
    let reach = |from: Node| -> HashSet<Node> {
        let mut seen = HashSet::new();
        let mut todo = succ(from);
        while let Some(n) = todo.pop() {
            if seen.insert(n) {
                todo.extend(succ(n));
            }
        }
        seen
    };
    // Small graphs (a flow has tens of steps): pairwise reachability is enough.
    let reaches: Vec<(Node, HashSet<Node>)> = within.iter().map(|&n| (n, reach(n))).collect();
    let mut done: HashSet<Node> = HashSet::new();
    let mut out = Vec::new();
    for (n, r) in &reaches {
        if done.contains(n) || !r.contains(n) {
            continue;
        }
        let mut comp: Vec<Node> = reaches
            .iter()
            .filter(|(m, rm)| r.contains(m) && rm.contains(n))
            .map(|(m, _)| *m)
            .collect();
        comp.sort();
        // Path order: follow successors inside the component from its first.
        let mut ordered = vec![comp[0]];
        let mut at = comp[0];
        while ordered.len() < comp.len() {
            let Some(next) = succ(at).into_iter().find(|m| comp.contains(m) && !ordered.contains(m)) else {
                break;
            };
            ordered.push(next);
            at = next;
        }
        for m in &comp {
            if !ordered.contains(m) {
                ordered.push(*m);
            }
        }
        done.extend(comp.iter().copied());
        out.push(ordered);
    }
    out
}
