//! The dependency graph between transactions, and the cycle searches over it.
//!
//! Nodes are transaction ids; every edge has a kind (ww, wr, rw) and says which key and values
//! made it. Searches are restricted to a set of edge kinds, so "a cycle of ww edges only" (G0)
//! or "a cycle with exactly one rw edge" (G-single) are both a strongly connected component
//! computation plus a breadth-first search for the shortest way back. Invariants: edges are
//! deduplicated by (from, to, kind); no self-edges.

use std::collections::{HashSet, VecDeque};
use std::fmt;

use super::history::Key;

/// Why one transaction must come before another.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EdgeKind {
    /// Write-write: `to` overwrote (or appended after) what `from` wrote.
    Ww,
    /// Write-read: `to` read what `from` wrote.
    Wr,
    /// Read-write (anti-dependency): `to` wrote the version after the one `from` read.
    Rw,
    /// Real time: `from` was acknowledged before `to` began (only when asked for).
    Realtime,
}

impl EdgeKind {
    /// A bit for [`KindSet`].
    pub const fn bit(self) -> u8 {
        match self {
            EdgeKind::Ww => 1,
            EdgeKind::Wr => 2,
            EdgeKind::Rw => 4,
            EdgeKind::Realtime => 8,
        }
    }
}

impl fmt::Display for EdgeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EdgeKind::Ww => "ww",
            EdgeKind::Wr => "wr",
            EdgeKind::Rw => "rw",
            EdgeKind::Realtime => "rt",
        })
    }
}

/// A set of edge kinds, as bits.
pub type KindSet = u8;
pub const WW: KindSet = EdgeKind::Ww.bit();
pub const WW_WR: KindSet = EdgeKind::Ww.bit() | EdgeKind::Wr.bit();
pub const ALL: KindSet = WW_WR | EdgeKind::Rw.bit() | EdgeKind::Realtime.bit();
pub const REALTIME: KindSet = EdgeKind::Realtime.bit();

/// One dependency.
#[derive(Clone, Debug)]
pub struct Edge {
    pub from: usize,
    pub to: usize,
    pub kind: EdgeKind,
    pub key: Key,
    /// A read of an absent row in a range read (a predicate read): its rw edges make G2
    /// rather than G2-item.
    pub predicate: bool,
    /// What was observed, in words ("T3 read key 4 = [1 2]; T7 appended 3 after 2").
    pub detail: String,
}

/// The graph.
#[derive(Default)]
pub struct Graph {
    pub edges: Vec<Edge>,
    out: Vec<Vec<usize>>,
    seen: HashSet<(usize, usize, EdgeKind)>,
}

impl Graph {
    pub fn new(nodes: usize) -> Graph {
        Graph { edges: Vec::new(), out: vec![Vec::new(); nodes], seen: HashSet::new() }
    }

    pub fn nodes(&self) -> usize {
        self.out.len()
    }

    /// Adds an edge unless it is a self-edge or one of the same kind already joins the pair.
    pub fn add(&mut self, edge: Edge) {
        if edge.from == edge.to || !self.seen.insert((edge.from, edge.to, edge.kind)) {
            return;
        }
        self.out[edge.from].push(self.edges.len());
        self.edges.push(edge);
    }

    /// Strongly connected components using only edges of `kinds`: a component id per node
    /// (Tarjan's algorithm, iterative so deep histories cannot overflow the stack).
    pub fn components(&self, kinds: KindSet) -> Vec<usize> {
        let n = self.nodes();
        let mut index = vec![usize::MAX; n];
        let mut low = vec![0; n];
        let mut on_stack = vec![false; n];
        let mut component = vec![usize::MAX; n];
        let mut stack = Vec::new();
        let mut next_index = 0;
        let mut next_component = 0;
        for root in 0..n {
            if index[root] != usize::MAX {
                continue;
            }
            // (node, position in its out list)
            let mut frames: Vec<(usize, usize)> = vec![(root, 0)];
            index[root] = next_index;
            low[root] = next_index;
            next_index += 1;
            stack.push(root);
            on_stack[root] = true;
            while let Some(&mut (v, ref mut pos)) = frames.last_mut() {
                if let Some(&e) = self.out[v].get(*pos) {
                    *pos += 1;
                    let edge = &self.edges[e];
                    if edge.kind.bit() & kinds == 0 {
                        continue;
                    }
                    let w = edge.to;
                    if index[w] == usize::MAX {
                        index[w] = next_index;
                        low[w] = next_index;
                        next_index += 1;
                        stack.push(w);
                        on_stack[w] = true;
                        frames.push((w, 0));
                    } else if on_stack[w] {
                        low[v] = low[v].min(index[w]);
                    }
                } else {
                    frames.pop();
                    if let Some(&(parent, _)) = frames.last() {
                        low[parent] = low[parent].min(low[v]);
                    }
                    if low[v] == index[v] {
                        while let Some(w) = stack.pop() {
                            on_stack[w] = false;
                            component[w] = next_component;
                            if w == v {
                                break;
                            }
                        }
                        next_component += 1;
                    }
                }
            }
        }
        component
    }

    /// The shortest path from `from` to `to` over edges of `kinds` whose both ends are in
    /// component `within` of `components`, as edge indices; `budget` counts visited edges and
    /// the search gives up (None) when it runs out.
    pub fn shortest_path(
        &self,
        from: usize,
        to: usize,
        kinds: KindSet,
        components: &[usize],
        budget: &mut u64,
    ) -> Option<Vec<usize>> {
        let within = components[from];
        if components[to] != within {
            return None;
        }
        let mut via: std::collections::HashMap<usize, usize> = std::collections::HashMap::new();
        let mut queue = VecDeque::from([from]);
        let mut visited = HashSet::from([from]);
        while let Some(v) = queue.pop_front() {
            if v == to {
                let mut path = Vec::new();
                let mut at = to;
                while at != from {
                    let e = via[&at];
                    path.push(e);
                    at = self.edges[e].from;
                }
                path.reverse();
                return Some(path);
            }
            for &e in &self.out[v] {
                if *budget == 0 {
                    return None;
                }
                *budget -= 1;
                let edge = &self.edges[e];
                if edge.kind.bit() & kinds == 0 || components[edge.to] != within {
                    continue;
                }
                if visited.insert(edge.to) {
                    via.insert(edge.to, e);
                    queue.push_back(edge.to);
                }
            }
        }
        None
    }

    /// Edges of `kind` whose ends share a component.
    pub fn edges_within(&self, kind: EdgeKind, components: &[usize]) -> Vec<usize> {
        (0..self.edges.len())
            .filter(|&e| {
                let edge = &self.edges[e];
                edge.kind == kind && components[edge.from] == components[edge.to]
            })
            .collect()
    }
}

/// Component ids that hold more than one node.
pub fn nontrivial(components: &[usize]) -> HashSet<usize> {
    let mut size = std::collections::HashMap::new();
    for &c in components {
        *size.entry(c).or_insert(0usize) += 1;
    }
    size.into_iter().filter(|&(_, n)| n > 1).map(|(c, _)| c).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edge(from: usize, to: usize, kind: EdgeKind) -> Edge {
        Edge { from, to, kind, key: 0, predicate: false, detail: String::new() }
    }

    #[test]
    fn components_and_paths_respect_edge_kinds() {
        let mut g = Graph::new(4);
        g.add(edge(0, 1, EdgeKind::Ww));
        g.add(edge(1, 0, EdgeKind::Rw));
        g.add(edge(1, 2, EdgeKind::Wr));
        g.add(edge(2, 1, EdgeKind::Ww));
        g.add(edge(2, 2, EdgeKind::Ww)); // self-edge ignored
        g.add(edge(0, 1, EdgeKind::Ww)); // duplicate ignored
        assert_eq!(g.edges.len(), 4);
        let all = g.components(ALL);
        assert_eq!(all[0], all[1]);
        assert_eq!(all[1], all[2]);
        assert_ne!(all[3], all[0]);
        let ww = g.components(WW);
        assert!(nontrivial(&ww).is_empty());
        let wwwr = g.components(WW_WR);
        assert_eq!(wwwr[1], wwwr[2]);
        assert_ne!(wwwr[0], wwwr[1]);
        let mut budget = 100;
        let path = g.shortest_path(0, 2, ALL, &all, &mut budget).unwrap();
        assert_eq!(path.len(), 2);
        assert!(g.shortest_path(0, 2, WW, &all, &mut budget).is_none());
        let mut empty = 0;
        assert!(g.shortest_path(0, 2, ALL, &all, &mut empty).is_none());
    }

    #[test]
    fn tarjan_handles_a_long_chain_without_recursion() {
        let n = 200_000;
        let mut g = Graph::new(n);
        for i in 0..n - 1 {
            g.add(edge(i, i + 1, EdgeKind::Ww));
        }
        g.add(edge(n - 1, 0, EdgeKind::Rw));
        let c = g.components(ALL);
        assert!(c.iter().all(|&x| x == c[0]));
        let c = g.components(WW);
        assert_eq!(nontrivial(&c).len(), 0);
    }
}
