"""NumPy peer of Telos's BatchedMaze (bench/peers/run.sh maze-step; Telos side: MazeStepPeer).

Same workload as bench/Telos.Benchmarks/Environments/MazeStepPeer.cs: 1024 environments, 13x13
perfect mazes from randomized Kruskal, cheese uniform over open cells except the start (maze/test),
a pool of 1024 pre-generated levels, step limit 4*13*13, four moves with wall bumps as no-ops,
+10 and termination on the cheese, truncation at the limit, auto-reset to a pool level drawn
uniformly at random. Actions are a pre-drawn table of 64 random rows, cycled. Prints the median
over 7 repeats of 2000 batch steps (after one untimed repeat) of environment steps per second as
{"value", "unit"}. One thread (NumPy's elementwise ops do not use BLAS), like the Telos side.

What makes it fast (each op timed alone with time.process_time, then the whole step A/B):
- Nothing allocated per step: every elementwise op writes into a preallocated buffer (out=), and
  the auto-reset touches only the few finished environments (flatnonzero) instead of np.where over
  all 1024.
- Positions index the whole pool (level * CELLS + cell), as Telos' BatchedMaze does, and the
  transition is tabulated when the pool is made (next position per position and action, 8-byte
  indices), so a step is one multiply-add and one np.take (mode="clip": no bounds-check buffer)
  instead of gather mask, shift, and, gather delta, multiply, add. With Telos' own one-byte move
  masks in the same buffered style the peer ran ~25 M steps per CPU second against ~33 M with the
  table (in-process A/B on a pool of random masks of the same size, 9 alternating repeats each).
- Truncation compares a per-environment deadline with the global step count (no counter to
  decrement), and truncated-and-not-terminated is one np.greater on the two bool arrays.
The per-step rewards, terminated and truncated flags are identical to the old version's over 3000
batch steps (checked by hashing them). What remains is ~10 NumPy calls of ~1-3 us each on 1024
elements: call overhead, not arithmetic, bounds this peer. Tried and not kept: int32 positions
(np.take converts non-intp indices, slower than 8-byte ones); torch.compile is not in Debian's
torch 1.13, and numba (python3-numba) would no longer be a NumPy-vectorized peer.
"""
import json
import time

import numpy as np

SIZE, BATCH, POOL, ROWS, STEPS, REPEATS = 13, 1024, 1024, 64, 2000, 7
CELLS = SIZE * SIZE
START = (SIZE - 1) * SIZE
LIMIT = 4 * CELLS
DELTA = np.array([-SIZE, 1, SIZE, -1], dtype=np.int64)


def kruskal(rng, size=SIZE):
    """A size x size perfect maze (randomized Kruskal, as Telos' MazeLayout): flat bool array, True where open."""
    cells = size * size
    open_ = np.zeros((size, size), dtype=bool)
    open_[::2, ::2] = True
    walls = [(r, c + 1) for r in range(0, size, 2) for c in range(0, size - 2, 2)]
    walls += [(r + 1, c) for r in range(0, size - 2, 2) for c in range(0, size, 2)]
    rng.shuffle(walls)
    parent = list(range(cells))

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for r, c in walls:
        a, b = ((r, c - 1), (r, c + 1)) if r % 2 == 0 else ((r - 1, c), (r + 1, c))
        ra, rb = find(a[0] * size + a[1]), find(b[0] * size + b[1])
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
    # Positions are indices into the whole pool (level * CELLS + cell), as in Telos' BatchedMaze, and
    # the transition is tabulated once when the pool is made: next_position[position * 4 + action]
    # is the neighbour through an open side, or the position itself for a wall bump.
    position_of = np.arange(POOL * CELLS, dtype=np.intp)
    flat_moves = moves.reshape(-1)
    next_position = np.empty((POOL * CELLS, 4), dtype=np.intp)
    for a in range(4):
        next_position[:, a] = position_of + ((flat_moves >> a) & 1) * DELTA[a]
    next_position = next_position.reshape(-1)
    actions = rng.integers(0, 4, size=(ROWS, BATCH)).astype(np.intp)
    level = rng.integers(0, POOL, size=BATCH)
    position = (level * CELLS + START).astype(np.intp)
    goal = (level * CELLS + cheese[level]).astype(np.intp)
    # Truncation: an environment is cut when the global step count reaches its deadline (its reset
    # count + LIMIT), one compare per step instead of a per-environment counter to decrement.
    deadline = np.full(BATCH, LIMIT, dtype=np.int64)
    count = 0
    index = np.empty(BATCH, np.intp)
    rewards = np.empty(BATCH, np.float32)
    terminated = np.empty(BATCH, bool)
    truncated = np.empty(BATCH, bool)
    done = np.empty(BATCH, bool)

    def step(a):
        nonlocal count
        count += 1
        np.multiply(position, 4, out=index)
        np.add(index, a, out=index)
        np.take(next_position, index, out=position, mode="clip")  # indices are in range: no check
        np.equal(position, goal, out=terminated)
        np.less_equal(deadline, count, out=truncated)
        np.greater(truncated, terminated, out=truncated)  # truncated and not terminated
        np.multiply(terminated, np.float32(10.0), out=rewards)
        np.logical_or(terminated, truncated, out=done)
        if done.any():
            # Auto-reset only the finished environments (a few per step) to fresh pool levels.
            idx = np.flatnonzero(done)
            new_level = rng.integers(0, POOL, size=len(idx))
            position[idx] = new_level * CELLS + START
            goal[idx] = new_level * CELLS + cheese[new_level]
            deadline[idx] = count + LIMIT
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
