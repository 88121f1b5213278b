"""NumPy batched MCTS peer of Telos' BatchedSearch (workload "mcts-tree").

A line-by-line NumPy port of mctx's muzero_policy (PUCT with pb_c_init 1.25, pb_c_base 19652,
root Dirichlet noise fraction 0.25 / alpha 0.3, qtransform_by_parent_and_siblings, 1e-7 tie-break
noise, the action sampled from the visit counts) over a preallocated struct-of-arrays tree
[B, N+1, A] with node index = simulation index + 1 and an UNVISITED sentinel. Like mctx's
vmapped while-loops it is vectorized over the batch B; the loops over simulations and depth stay
in Python. The trivial model is Telos' SyntheticTreeModel: next = (parent*8 + action + 1) % 1000003,
reward = (next % 17)/16 - 0.5, discount 1, uniform prior, value 0.

Prints {"value": simulations per second (B*N / median search time), "unit": "simulations/s"}.
"""
import json
import time

import numpy as np

B, N, A = 256, 64, 16
PB_C_INIT, PB_C_BASE = 1.25, 19652.0
DIRICHLET_FRACTION, DIRICHLET_ALPHA = 0.25, 0.3
UNVISITED = -1
F32 = np.float32


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
    def __init__(self):
        shape = (B, N + 1, A)
        self.children_index = np.full(shape, UNVISITED, np.int32)
        self.children_visits = np.zeros(shape, np.int32)
        self.children_values = np.zeros(shape, F32)
        self.children_rewards = np.zeros(shape, F32)
        self.children_discounts = np.zeros(shape, F32)
        self.children_prior_logits = np.zeros(shape, F32)
        self.node_visits = np.zeros((B, N + 1), np.int32)
        self.node_values = np.zeros((B, N + 1), F32)
        self.raw_values = np.zeros((B, N + 1), F32)
        self.parents = np.full((B, N + 1), -1, np.int32)
        self.action_from_parent = np.full((B, N + 1), -1, np.int32)
        self.embeddings = np.zeros((B, N + 1), np.int64)

    def reset(self):
        self.children_index.fill(UNVISITED)
        for a in (self.children_visits, self.children_values, self.children_rewards, self.children_discounts,
                  self.children_prior_logits, self.node_visits, self.node_values, self.raw_values):
            a.fill(0)
        self.parents.fill(-1)
        self.action_from_parent.fill(-1)


def puct_select(tree, rng, rows, node):
    visits = tree.children_visits[rows, node]
    node_visit = tree.node_visits[rows, node].astype(F32)
    pb_c = F32(PB_C_INIT) + np.log((node_visit + F32(PB_C_BASE) + F32(1)) / F32(PB_C_BASE))
    prior = softmax(tree.children_prior_logits[rows, node])
    policy_score = (np.sqrt(node_visit) * pb_c)[:, None] * prior / (visits + 1)
    # qtransform_by_parent_and_siblings
    q = tree.children_rewards[rows, node] + tree.children_discounts[rows, node] * tree.children_values[rows, node]
    node_value = tree.node_values[rows, node]
    visited = visits > 0
    safe_q = np.where(visited, q, node_value[:, None])
    min_value = np.minimum(node_value, safe_q.min(axis=-1))
    max_value = np.maximum(node_value, safe_q.max(axis=-1))
    completed = np.where(visited, q, min_value[:, None])
    value_score = (completed - min_value[:, None]) / np.maximum(max_value - min_value, F32(1e-8))[:, None]
    noise = F32(1e-7) * rng.random((len(rows), A), dtype=F32)
    return np.argmax(value_score + policy_score + noise, axis=-1)


def search(tree, rng):
    tree.reset()
    batch = np.arange(B)
    # Root: uniform prior, value 0, embedding = root index; Dirichlet noise on the prior.
    probs = softmax(np.zeros((B, A), F32))
    noise = rng.dirichlet(np.full(A, DIRICHLET_ALPHA), size=B).astype(F32)
    root_logits = np.log((1 - F32(DIRICHLET_FRACTION)) * probs + F32(DIRICHLET_FRACTION) * noise)
    tree.children_prior_logits[:, 0] = root_logits
    tree.node_visits[:, 0] = 1
    tree.embeddings[:, 0] = batch
    for sim in range(N):
        # simulate: descend while the selected child exists (vectorized over the still-active roots).
        parent = np.zeros(B, np.int64)
        action = np.zeros(B, np.int64)
        node = np.zeros(B, np.int64)
        rows = batch
        while len(rows):
            a = puct_select(tree, rng, rows, node[rows])
            parent[rows] = node[rows]
            action[rows] = a
            nxt = tree.children_index[rows, node[rows], a]
            cont = nxt != UNVISITED
            node[rows[cont]] = nxt[cont]
            rows = rows[cont]
        # expand
        next_index = tree.children_index[batch, parent, action]
        next_index = np.where(next_index == UNVISITED, sim + 1, next_index)
        reward, discount, logits, value, emb = model(tree.embeddings[batch, parent], action)
        tree.children_index[batch, parent, action] = next_index
        tree.children_rewards[batch, parent, action] = reward
        tree.children_discounts[batch, parent, action] = discount
        tree.children_prior_logits[batch, next_index] = logits
        tree.raw_values[batch, next_index] = value
        tree.node_values[batch, next_index] = value
        tree.node_visits[batch, next_index] += 1
        tree.parents[batch, next_index] = parent
        tree.action_from_parent[batch, next_index] = action
        tree.embeddings[batch, next_index] = emb
        # backward
        index = next_index.astype(np.int64)
        leaf_value = tree.node_values[batch, index]
        rows = batch
        while len(rows):
            idx = index[rows]
            p = tree.parents[rows, idx]
            act = tree.action_from_parent[rows, idx]
            count = tree.node_visits[rows, p]
            lv = tree.children_rewards[rows, p, act] + tree.children_discounts[rows, p, act] * leaf_value[rows]
            leaf_value[rows] = lv
            tree.node_values[rows, p] = (tree.node_values[rows, p] * count + lv) / (count + 1)
            tree.node_visits[rows, p] = count + 1
            tree.children_values[rows, p, act] = tree.node_values[rows, idx]
            tree.children_visits[rows, p, act] += 1
            index[rows] = p
            rows = rows[p != 0]
    # summary: visit distribution and an action sampled from it (temperature 1)
    visits = tree.children_visits[:, 0].astype(F32)
    weights = visits / visits.sum(axis=-1, keepdims=True)
    u = rng.random((B, 1), dtype=F32)
    actions = np.minimum((weights.cumsum(axis=-1) < u).sum(axis=-1), A - 1)
    return actions, weights, tree.node_values[:, 0]


def main():
    tree = Tree()
    rng = np.random.default_rng(0)
    for _ in range(2):
        search(tree, rng)
    times = []
    for _ in range(5):
        start = time.perf_counter()
        _, weights, _ = search(tree, rng)
        times.append(time.perf_counter() - start)
        assert np.all(tree.children_visits[:, 0].sum(axis=-1) == N)
    median = sorted(times)[len(times) // 2]
    print(json.dumps({"value": B * N / median, "unit": "simulations/s"}))


if __name__ == "__main__":
    main()
