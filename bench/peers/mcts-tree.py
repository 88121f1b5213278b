"""NumPy batched MCTS peer of Telos' BatchedSearch (workload "mcts-tree"; Telos side: MctsTreeWorkload).

The algorithm is mctx's muzero_policy: PUCT with pb_c_init 1.25, pb_c_base 19652, root Dirichlet
noise fraction 0.25 / alpha 0.3, qtransform_by_parent_and_siblings, 1e-7 tie-break noise, no depth
limit, the action sampled from the root visit counts (temperature 1). The trees are preallocated
struct-of-arrays over all B roots, [B*(N+1), A] per child and [B*(N+1)] per node, with node index =
simulation index + 1 and an UNVISITED sentinel. Like mctx's vmap over the batch, every step works on
all roots at once; the loops over simulations and over depth stay in Python (mctx's are while-loops
compiled by XLA). The trivial model is Telos' SyntheticTreeModel: next = (parent*8 + action + 1) %
1000003, reward = (next % 17)/16 - 0.5, discount 1, uniform prior, value 0. B = 256, N = 64, A = 16.

Prints {"value": simulations per second (B*N / median of 21 search times after 2 warm-up searches),
"unit": "simulations/s"}, like the Telos side (the old port timed 5 searches).

What makes it fast (profiled with cProfile and by timing each phase; bench/peers/run.sh mcts-tree
before and after is in docs/search.md):
- The same caches as Telos' SearchTree: Q = reward + discount * value per child (updated in the
  backup, so selection reads one row instead of recomputing it), the prior softmax stored once when
  a node is expanded (not recomputed at every selection), and sqrt(N) * (pb_c_init + log((N + base
  + 1)/base)) tabulated by node visit count. All float32, like Telos (the old port promoted the policy
  score to float64 by dividing by an int array).
- Flat node ids (root * (N+1) + node) and np.take: a selection gathers one [R, 3, A] block and one
  [R, 2] node row (value, sqrt(N) c(N)), and a (node, action) pair is one flat index, not two fancy
  indices. Q is kept twice, with +inf and -inf for unvisited children, so the min/max over visited
  siblings needs no where(), and max(Q - min, 0) gives unvisited children their 0.
- The descent records its path, and the backup is vectorized over the whole path: a reverse loop of
  a few small ops per level for the discounted returns, then one scatter each for the node values,
  node visits, child visits and cached rows of every node on every root's path (the nodes on one
  path are distinct, so the scatters do not collide), instead of a parent-pointer walk with ~12
  fancy-indexing ops per level.
- Preallocated buffers for the tie-break noise (Generator.random(out=)), the scores and the bounds;
  in-place arithmetic in the selection.
The search returns the same visit counts, root values and actions as the old port with its policy
score in float32 (checked bit for bit on three seeds). Per search, ~1570 selection steps (each over the roots still
descending, ~18 NumPy calls) remain; the two min/max reductions over a 16-wide last axis and the noise draw are half
of a selection. Tried and not kept: a node-minor layout [3, A, nodes] (fast reductions over axis 1,
but the gather along the last axis costs more than it saves); halving reductions (minimum of two
8-wide halves, then 4, 2, 1: slower than one reduce). Not tried: numba (python3-numba 0.56 is
among Debian's packages) would turn the peer into a compiled loop, not the array program mctx is;
JAX is not among Debian's packages, and Debian's torch (1.13) has no torch.compile.
"""
import json
import time

import numpy as np

B, N, A = 256, 64, 16
PB_C_INIT, PB_C_BASE = 1.25, 19652.0
DIRICHLET_FRACTION, DIRICHLET_ALPHA = 0.25, 0.3
UNVISITED = -1
F32 = np.float32
SLOTS = N + 1


def softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def model(embedding, action):
    nxt = (embedding * 8 + action + 1) % 1000003
    reward = (nxt % 17).astype(F32) / F32(16) - F32(0.5)
    discount = np.ones(len(action), F32)
    logits = np.zeros((len(action), A), F32)
    value = np.zeros(len(action), F32)
    return reward, discount, logits, value, nxt


class Tree:
    """B trees of N+1 node slots, flat over roots: node id g = root * (N+1) + node."""

    def __init__(self):
        nodes = B * SLOTS
        # mctx's per-child arrays, with the child's flat id instead of its index within the tree.
        self.children_index = np.full((nodes, A), UNVISITED, np.int64)
        self.children_visits = np.zeros((nodes, A), F32)  # counts, exact in float32 far beyond N
        self.children_q = np.zeros((nodes, A), F32)  # reward + discount * child value
        self.children_rewards = np.zeros((nodes, A), F32)
        self.children_discounts = np.zeros((nodes, A), F32)
        self.children_prior = np.zeros((nodes, A), F32)  # softmax of the prior logits
        # What one selection reads, adjacent per node so that it is one gather: Q with +inf for
        # unvisited children (for the minimum), Q with -inf (for the maximum and the value score), and
        # P / (1 + n). Kept by expansion and backup.
        self.select_rows = np.zeros((nodes, 3, A), F32)
        # Per node: value and sqrt(N) c(N) for its visit count N, adjacent for the same reason.
        self.node_stats = np.zeros((nodes, 2), F32)
        self.node_visits = np.zeros(nodes, np.int32)
        self.raw_values = np.zeros(nodes, F32)
        self.parents = np.full(nodes, -1, np.int32)
        self.action_from_parent = np.full(nodes, -1, np.int32)
        self.embeddings = np.zeros(nodes, np.int64)
        visits = np.arange(N + 2, dtype=F32)
        self.explore = np.sqrt(visits) * (F32(PB_C_INIT) + np.log((visits + F32(PB_C_BASE) + F32(1)) / F32(PB_C_BASE)))
        self.noise = np.empty((B, A), F32)
        self.score = np.empty((B, A), F32)
        self.bound = np.empty((B, 1), F32)
        self.span = np.empty((B, 1), F32)

    @property
    def node_values(self):
        return self.node_stats[:, 0]

    def reset(self):
        self.children_index.fill(UNVISITED)
        for a in (self.children_visits, self.children_q, self.children_rewards, self.children_discounts,
                  self.children_prior, self.node_stats, self.node_visits, self.raw_values):
            a.fill(0)
        self.select_rows[:, 0] = np.inf
        self.select_rows[:, 1] = -np.inf
        self.parents.fill(-1)
        self.action_from_parent.fill(-1)

    def expand(self, g, prior, value):
        """Node statistics of new nodes g: prior probabilities [len(g), A], value, one visit."""
        self.children_prior[g] = prior
        self.select_rows[g, 2] = prior
        self.raw_values[g] = value
        self.node_stats[g, 0] = value
        self.node_visits[g] += 1
        self.node_stats[g, 1] = self.explore[self.node_visits[g]]


def puct_select(tree, rng, g):
    """PUCT over the children of nodes g (flat ids, one per active root): the chosen actions."""
    r = len(g)
    rows = np.take(tree.select_rows, g, axis=0)
    q_low, q_high, prior_over_visits = rows[:, 0], rows[:, 1], rows[:, 2]
    stats = np.take(tree.node_stats, g, axis=0)
    node_value, explore = stats[:, :1], stats[:, 1:]
    # qtransform_by_parent_and_siblings: Q of visited children, min-max normalised with the parent
    # value; unvisited children score 0 (their -inf clipped: every visited Q is >= the minimum).
    low, span = tree.bound[:r], tree.span[:r]
    np.minimum(node_value, q_low.min(axis=-1, keepdims=True), out=low)
    np.maximum(node_value, q_high.max(axis=-1, keepdims=True), out=span)
    span -= low
    np.maximum(span, F32(1e-8), out=span)
    score = tree.score[:r]
    np.subtract(q_high, low, out=score)
    np.maximum(score, F32(0), out=score)
    score /= span
    # + sqrt(N) c(N) P / (1 + n) + 1e-7 U
    prior_over_visits *= explore
    score += prior_over_visits
    noise = rng.random(out=tree.noise[:r], dtype=F32)
    noise *= F32(1e-7)
    score += noise
    return score.argmax(axis=-1)


def search(tree, rng):
    tree.reset()
    batch = np.arange(B)
    base = batch * SLOTS  # flat id of each root's node 0
    # Root: uniform prior, value 0, embedding = root index; Dirichlet noise on the prior.
    probs = softmax(np.zeros((B, A), F32))
    noise = rng.dirichlet(np.full(A, DIRICHLET_ALPHA), size=B).astype(F32)
    root_logits = np.log((1 - F32(DIRICHLET_FRACTION)) * probs + F32(DIRICHLET_FRACTION) * noise)
    tree.expand(base, softmax(root_logits), np.zeros(B, F32))
    tree.embeddings[base] = batch
    flat_index = tree.children_index.reshape(-1)
    flat_rewards = tree.children_rewards.reshape(-1)
    flat_discounts = tree.children_discounts.reshape(-1)
    flat_visits = tree.children_visits.reshape(-1)
    flat_prior = tree.children_prior.reshape(-1)
    flat_q = tree.children_q.reshape(-1)
    select = tree.select_rows.reshape(len(base) * SLOTS, 3 * A)
    for sim in range(N):
        # simulate: descend while the selected child exists, over the still-active roots; record the path.
        path_rows, path_edges = [], []
        leaf_edge = np.empty(B, np.int64)
        rows = batch
        g = base
        while True:
            edge = g * A + puct_select(tree, rng, g)
            path_rows.append(rows)
            path_edges.append(edge)
            nxt = np.take(flat_index, edge)
            cont = nxt != UNVISITED
            active = np.count_nonzero(cont)
            if active < len(rows):
                stop = ~cont
                leaf_edge[rows[stop]] = edge[stop]
                if active == 0:
                    break
                rows, nxt = rows[cont], nxt[cont]
            g = nxt
        parent, action = np.divmod(leaf_edge, A)
        # expand (the new node is sim + 1 in every tree)
        new = base + (sim + 1)
        reward, discount, logits, value, emb = model(tree.embeddings[parent], action)
        flat_index[leaf_edge] = new
        flat_rewards[leaf_edge] = reward
        flat_discounts[leaf_edge] = discount
        tree.expand(new, softmax(logits), value)
        tree.parents[new] = parent - base
        tree.action_from_parent[new] = action
        tree.embeddings[new] = emb
        # backward: discounted returns up each path (reverse over depth), then one scatter per statistic.
        edges = np.concatenate(path_edges)
        nodes = edges // A
        r_path, d_path = flat_rewards[edges], flat_discounts[edges]
        returns = np.empty_like(r_path)
        leaf_value = tree.node_values[new]
        end = len(edges)
        for rows_k in reversed(path_rows):
            start = end - len(rows_k)
            lv = r_path[start:end] + d_path[start:end] * leaf_value[rows_k]
            returns[start:end] = lv
            leaf_value[rows_k] = lv
            end = start
        count = tree.node_visits[nodes]
        values = (tree.node_values[nodes] * count + returns) / (count + 1)
        tree.node_stats[nodes, 0] = values
        tree.node_visits[nodes] = count + 1
        tree.node_stats[nodes, 1] = tree.explore[count + 1]
        visits = flat_visits[edges] + 1
        flat_visits[edges] = visits
        q = r_path + d_path * tree.node_values[flat_index[edges]]
        flat_q[edges] = q
        action_of = edges - nodes * A
        select[nodes, action_of] = q
        select[nodes, A + action_of] = q
        select[nodes, 2 * A + action_of] = flat_prior[edges] / (visits + F32(1))
    # summary: visit distribution and an action sampled from it (temperature 1)
    visits = tree.children_visits[base]
    weights = visits / visits.sum(axis=-1, keepdims=True)
    u = rng.random((B, 1), dtype=F32)
    actions = np.minimum((weights.cumsum(axis=-1) < u).sum(axis=-1), A - 1)
    return actions, weights, tree.node_values[base]


def main():
    tree = Tree()
    rng = np.random.default_rng(0)
    for _ in range(2):
        search(tree, rng)
    times = []
    for _ in range(21):
        start = time.perf_counter()
        search(tree, rng)
        times.append(time.perf_counter() - start)
        assert np.all(tree.children_visits[np.arange(B) * SLOTS].sum(axis=-1) == N)
    median = sorted(times)[len(times) // 2]
    print(json.dumps({"value": B * N / median, "unit": "simulations/s"}))


if __name__ == "__main__":
    main()
