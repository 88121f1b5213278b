"""NumPy peer of Telos's BatchedMaze (bench/peers/run.sh maze-step).

Same workload as bench/Telos.Benchmarks/Environments/MazeStepPeer.cs: 1024 environments, 13x13
perfect mazes from randomized Kruskal, cheese uniform over open cells except the start (maze/test),
a pool of 1024 pre-generated levels, step limit 4*13*13, four moves with wall bumps as no-ops,
+10 and termination on the cheese, truncation at the limit, auto-reset to a pool level drawn
uniformly at random. Actions are a pre-drawn table of 64 random rows, cycled. Prints the median
over 7 repeats of 2000 batch steps of environment steps per second as {"value", "unit"}.
"""
import json
import time

import numpy as np

SIZE, BATCH, POOL, ROWS, STEPS, REPEATS = 13, 1024, 1024, 64, 2000, 7
CELLS = SIZE * SIZE
START = (SIZE - 1) * SIZE
LIMIT = 4 * CELLS
DELTA = np.array([-SIZE, 1, SIZE, -1], dtype=np.int64)


def kruskal(rng):
    open_ = np.zeros((SIZE, SIZE), dtype=bool)
    open_[::2, ::2] = True
    walls = [(r, c + 1) for r in range(0, SIZE, 2) for c in range(0, SIZE - 2, 2)]
    walls += [(r + 1, c) for r in range(0, SIZE - 2, 2) for c in range(0, SIZE, 2)]
    rng.shuffle(walls)
    parent = list(range(CELLS))

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for r, c in walls:
        a, b = ((r, c - 1), (r, c + 1)) if r % 2 == 0 else ((r - 1, c), (r + 1, c))
        ra, rb = find(a[0] * SIZE + a[1]), find(b[0] * SIZE + b[1])
        if ra != rb:
            parent[ra] = rb
            open_[r, c] = True
    return open_.reshape(-1)


def move_masks(open_):
    masks = np.zeros(CELLS, dtype=np.int64)
    for cell in np.flatnonzero(open_):
        r, c = divmod(int(cell), SIZE)
        for a, (dr, dc) in enumerate([(-1, 0), (0, 1), (1, 0), (0, -1)]):
            nr, nc = r + dr, c + dc
            if 0 <= nr < SIZE and 0 <= nc < SIZE and open_[nr * SIZE + nc]:
                masks[cell] |= 1 << a
    return masks


def main(clock=time.perf_counter, unit="steps/s"):
    rng = np.random.default_rng(0)
    moves = np.zeros((POOL, CELLS), dtype=np.int64)
    cheese = np.zeros(POOL, dtype=np.int64)
    for j in range(POOL):
        open_ = kruskal(rng)
        moves[j] = move_masks(open_)
        candidates = np.flatnonzero(open_)
        candidates = candidates[candidates != START]
        cheese[j] = rng.choice(candidates)
    flat_moves = moves.reshape(-1)
    actions = rng.integers(0, 4, size=(ROWS, BATCH))
    level = rng.integers(0, POOL, size=BATCH)
    cell = np.full(BATCH, START, dtype=np.int64)
    steps = np.zeros(BATCH, dtype=np.int64)

    def step(a):
        nonlocal cell, steps
        m = flat_moves[level * CELLS + cell]
        nxt = cell + ((m >> a) & 1) * DELTA[a]
        steps = steps + 1
        terminated = nxt == cheese[level]
        truncated = ~terminated & (steps >= LIMIT)
        rewards = np.where(terminated, 10.0, 0.0).astype(np.float32)
        done = terminated | truncated
        cell = np.where(done, START, nxt)
        steps = np.where(done, 0, steps)
        n_done = int(done.sum())
        if n_done:
            level[done] = rng.integers(0, POOL, size=n_done)
        return rewards, terminated, truncated

    rates = []
    for r in range(REPEATS + 1):
        start = clock()
        for t in range(STEPS):
            step(actions[t % ROWS])
        elapsed = clock() - start
        if r > 0:
            rates.append(STEPS * BATCH / elapsed)
    print(json.dumps({"value": float(np.median(rates)), "unit": unit}))


if __name__ == "__main__":
    main()
