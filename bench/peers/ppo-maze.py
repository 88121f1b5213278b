"""Peer of Telos.Benchmarks.PpoMazePeer (bench/peers/run.sh ppo-maze): recurrent PPO in the form of
CleanRL's ppo_atari_lstm.py, on the same maze, network and settings as experiments/ppo-maze.toml.

Environment (NumPy, vectorized over the 16 environments, as Telos' BatchedMaze): 5x5 perfect mazes from
randomized Kruskal, cheese on the top-right corner (maze/train), mouse starting bottom-left, a pool of
1024 pre-generated levels, auto-reset to a pool level drawn uniformly, step limit 30 (truncation), +10
and termination on the cheese, four moves with wall bumps as no-ops. Observations are [E, 3, 5, 5]
one-hot float32 (walls, mouse, cheese), kept up to date in place: a step rewrites the mouse channel's
two changed cells per environment, a reset copies the level's precomputed start observation.
Network (Telos' LstmActorCritic): two 3x3 convolutions (8 and 16 channels, padding 1) with ReLU, a
linear layer to 64 features with ReLU, an LSTM cell of 64 ticked once per step with its state zeroed
where an episode starts, linear policy (4) and value (1) heads on the hidden state; orthogonal init
(sqrt 2 hidden, 0.01 policy, 1 value, LSTM 1, zero biases).
PPO: 16 environments x 64 steps per rollout, GAE (0.99, 0.95) with truncated steps bootstrapped from
V(final observation) under the state the episode would have continued with, 8 epochs of 4 minibatches
split by environment, the LSTM state recomputed through each 64-step sequence from the rollout's
initial state, per-minibatch advantage normalization, clipped surrogate and value loss (0.2), entropy
0.01, value 0.5, global grad norm 0.5, Adam (eps 1e-5) with the rate 2.5e-3 annealed linearly over the
11 iterations; approx_kl, clipfrac and the losses read back per minibatch as CleanRL does.

Measured: 11 iterations (rollout + GAE + update, everything but building the pool and the network);
the first is a warm-up; prints {"value": median over the other 10 of steps per wall-clock second of
one iteration, "unit": "steps/s"}, like the Telos side.
Threads: one for torch intra-op and inter-op (torch.set_num_threads(1), set_num_interop_threads(1)),
OpenMP and OpenBLAS (environment variables set before torch is imported); the Telos side runs
LibTorch with one intra-op thread (TorchRuntime.EnsureInitialized(threads: 1)).

What makes it fast (written for speed; then torch.profiler over minibatch updates and perf over
the whole run, which put 94 % of an iteration in the update and most of that in LibTorch's own
kernels, dispatcher and autograd engine, and ~11 % in the Python interpreter):
- Nothing is created per step that can be written in place: the environment's observation array is
  shared with a torch tensor (torch.from_numpy), rollout rows are filled with copy_, rewards, flags and
  episode statistics live in NumPy arrays, GAE is a NumPy recursion over T on [E] rows.
- The LSTM's keep masks (1 - start) are computed once per unroll for all T, not per tick; ReLU in
  place; zero_grad(set_to_none=True); Adam(foreach=True); Categorical is replaced by
  softmax/multinomial/log_softmax/gather (no distribution object, no argument validation).
- Truncated environments are bootstrapped in one batched forward per step (Telos runs one per
  truncated environment; either is ~2 % of an iteration).
- The LSTM's input projection is hoisted out of the tick loop: x·W_ihᵀ + b_ih + b_hh for all 64 ticks
  is one addmm, and a tick is addmm(projected[t], keep·h, W_hhᵀ), chunk, three sigmoids, two tanh and
  the cell's mul/add (Telos' fused kernel hoists it too). Measured against nn.LSTMCell per tick
  (PEER_LSTM_UNROLL=cell keeps that form): 847 and 969 vs 740 and 690 steps/cpu-s, alternating, load
  ~15 (bench/peers/README.md).
- Gradient clipping and Adam over one flat buffer (FlatAdam): every parameter is a view into one
  tensor and every gradient a view into another, so the clip is a norm and a mul and Adam seven ops
  in all, instead of clip_grad_norm_'s per-parameter norms and Adam(foreach=True)'s multi-tensor
  kernels (the Telos side fuses both in managed code; update_kernel = "fused"). Checked against
  clip_grad_norm_ + Adam(foreach=True) on this network: the same weights to 5e-8 over five steps.
  PEER_OPTIMIZER=foreach keeps the foreach form.
Tried for the encoder and kept out (bench/peers/README.md, "With the fused encoder"):
torch.backends.mkldnn.enabled = False (conv2 forward and backward 7.4 vs 3.2 ms), the convolutions as
F.unfold + matmul (12.6 vs 3.2 ms), and channels_last (the conv alone 2.2 vs 3.2 ms, but no gain over
whole runs once the layout is converted at each forward; PEER_CHANNELS_LAST keeps that form; the
single-layer timings are bench/peers/probes/encoder-conv.py).
Not tried: torch.jit.script of the unroll. Debian's PyTorch 1.13 cannot fuse on the CPU
(torch._C._jit_can_fuse_on_cpu() is False, built without LLVM), so scripting would remove interpreter
overhead (~11 % of the profile), not LibTorch's per-op cost.
"""
import importlib.util
import json
import math
import os
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

torch.set_num_threads(1)
torch.set_num_interop_threads(1)

SIZE, POOL, LIMIT = 5, 1024, 30
CELLS = SIZE * SIZE
START, CORNER = (SIZE - 1) * SIZE, SIZE - 1
NUM_ENVS, NUM_STEPS, NUM_MINIBATCHES, UPDATE_EPOCHS = 16, 64, 4, 8
WARMUP, TIMED = 1, 10  # ppo-maze-steady.py: 10, 30
LEARNING_RATE, ADAM_EPS = 2.5e-3, 1e-5
GAMMA, GAE_LAMBDA, CLIP_COEF, ENT_COEF, VF_COEF, MAX_GRAD_NORM = 0.99, 0.95, 0.2, 0.01, 0.5, 0.5
CONV_CHANNELS, FEATURES, LSTM_SIZE, ACTIONS = 8, 64, 64, 4
DELTA = np.array([-SIZE, 1, SIZE, -1], dtype=np.intp)
# "hoisted": the LSTM's input projection for all ticks as one GEMM before the tick loop; "cell": nn.LSTMCell per tick.
LSTM_UNROLL = os.environ.get("PEER_LSTM_UNROLL", "hoisted")
# "flat": FlatAdam (every parameter and gradient a view into one buffer, clip and Adam a few ops over it);
# "foreach": clip_grad_norm_ and torch.optim.Adam(foreach=True).
OPTIMIZER = os.environ.get("PEER_OPTIMIZER", "flat")
# "": the encoder in PyTorch's default layout; "input": observations converted to channels_last at each forward;
# "weights": the convolutions' weights too (needs PEER_OPTIMIZER=foreach: FlatAdam's views cannot hold them). Tried, not kept.
CHANNELS_LAST = os.environ.get("PEER_CHANNELS_LAST", "")

# The maze generator is maze-step.py's (randomized Kruskal, as Telos' MazeLayout).
_spec = importlib.util.spec_from_file_location("maze_step", os.path.join(os.path.dirname(os.path.abspath(__file__)), "maze-step.py"))
maze_step = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(maze_step)


class Mazes:
    """NUM_ENVS auto-resetting mazes over a pool of levels; positions index the whole pool (level * CELLS + cell)."""

    def __init__(self, rng):
        self.rng = rng
        next_position = np.empty((POOL * CELLS, 4), dtype=np.intp)
        self.start_obs = np.zeros((POOL, 3, CELLS), dtype=np.float32)
        for j in range(POOL):
            open_ = maze_step.kruskal(rng, SIZE)
            for cell in range(CELLS):
                r, c = divmod(cell, SIZE)
                for a, (dr, dc) in enumerate([(-1, 0), (0, 1), (1, 0), (0, -1)]):
                    nr, nc = r + dr, c + dc
                    ok = open_[cell] and 0 <= nr < SIZE and 0 <= nc < SIZE and open_[nr * SIZE + nc]
                    next_position[j * CELLS + cell, a] = j * CELLS + cell + (DELTA[a] if ok else 0)
            self.start_obs[j, 0] = ~open_
            self.start_obs[j, 1, START] = 1
            self.start_obs[j, 2, CORNER] = 1
        self.next_position = next_position.reshape(-1)
        self.level = rng.integers(0, POOL, size=NUM_ENVS)
        self.base = self.level * CELLS
        self.position = (self.base + START).astype(np.intp)
        self.goal = self.base + CORNER
        self.deadline = np.full(NUM_ENVS, LIMIT, dtype=np.int64)
        self.count = 0
        self.obs = np.ascontiguousarray(self.start_obs[self.level])  # [E, 3, CELLS]
        self.mouse = self.obs[:, 1, :]  # view of the mouse channel
        self.rows = np.arange(NUM_ENVS)
        self.index = np.empty(NUM_ENVS, np.intp)
        self.old = np.empty(NUM_ENVS, np.intp)
        self.rewards = np.empty(NUM_ENVS, np.float32)
        self.terminated = np.empty(NUM_ENVS, bool)
        self.truncated = np.empty(NUM_ENVS, bool)
        self.done = np.empty(NUM_ENVS, bool)
        self.final_obs = np.empty((NUM_ENVS, 3, CELLS), np.float32)

    def step(self, actions):
        """Steps every environment; finished ones are reset. final_obs[i] holds a truncated one's last observation."""
        self.count += 1
        np.copyto(self.old, self.position)
        np.multiply(self.position, 4, out=self.index)
        np.add(self.index, actions, out=self.index)
        np.take(self.next_position, self.index, out=self.position, mode="clip")
        np.equal(self.position, self.goal, out=self.terminated)
        np.less_equal(self.deadline, self.count, out=self.truncated)
        np.greater(self.truncated, self.terminated, out=self.truncated)
        np.multiply(self.terminated, np.float32(10.0), out=self.rewards)
        np.logical_or(self.terminated, self.truncated, out=self.done)
        self.mouse[self.rows, self.old - self.base] = 0
        self.mouse[self.rows, self.position - self.base] = 1
        if self.done.any():
            idx = np.flatnonzero(self.done)
            self.final_obs[idx] = self.obs[idx]
            level = self.rng.integers(0, POOL, size=len(idx))
            self.level[idx] = level
            self.base[idx] = level * CELLS
            self.position[idx] = level * CELLS + START
            self.goal[idx] = level * CELLS + CORNER
            self.deadline[idx] = self.count + LIMIT
            self.obs[idx] = self.start_obs[level]
        return self.rewards, self.terminated, self.truncated


class FlatAdam:
    """clip_grad_norm_ + Adam (PyTorch's update) over all parameters as views into one flat buffer, and
    their gradients as views into another, so that the clip is one norm and one mul and Adam seven ops,
    whatever the number of parameters. Backward accumulates into the gradient views in place
    (zero_grad zeroes the buffer instead of setting the gradients to None)."""

    def __init__(self, params, lr, eps, betas=(0.9, 0.999)):
        self.params = list(params)
        n = sum(p.numel() for p in self.params)
        self.flat, self.grad = torch.zeros(n), torch.zeros(n)
        offset = 0
        for p in self.params:
            k = p.numel()
            self.flat[offset:offset + k].copy_(p.data.view(-1))
            p.data = self.flat[offset:offset + k].view_as(p)
            p.grad = self.grad[offset:offset + k].view_as(p)
            offset += k
        self.exp_avg, self.exp_avg_sq = torch.zeros(n), torch.zeros(n)
        self.lr, self.eps, (self.beta1, self.beta2), self.steps = lr, eps, betas, 0

    def zero_grad(self):
        self.grad.zero_()

    def clip_and_step(self, max_norm):
        norm = torch.linalg.vector_norm(self.grad)
        self.grad.mul_(torch.clamp(max_norm / (norm + 1e-6), max=1.0))
        self.steps += 1
        bias1, bias2 = 1 - self.beta1 ** self.steps, 1 - self.beta2 ** self.steps
        self.exp_avg.mul_(self.beta1).add_(self.grad, alpha=1 - self.beta1)
        self.exp_avg_sq.mul_(self.beta2).addcmul_(self.grad, self.grad, value=1 - self.beta2)
        denom = (self.exp_avg_sq.sqrt() / math.sqrt(bias2)).add_(self.eps)
        self.flat.addcdiv_(self.exp_avg, denom, value=-self.lr / bias1)
        return norm


def orthogonal(layer, gain):
    nn.init.orthogonal_(layer.weight, gain)
    nn.init.zeros_(layer.bias)
    return layer


class LstmActorCritic(nn.Module):
    def __init__(self):
        super().__init__()
        g = np.sqrt(2)
        self.encoder = nn.Sequential(
            orthogonal(nn.Conv2d(3, CONV_CHANNELS, 3, padding=1), g), nn.ReLU(inplace=True),
            orthogonal(nn.Conv2d(CONV_CHANNELS, 2 * CONV_CHANNELS, 3, padding=1), g), nn.ReLU(inplace=True),
            nn.Flatten(), orthogonal(nn.Linear(2 * CONV_CHANNELS * CELLS, FEATURES), g), nn.ReLU(inplace=True))
        self.actor = orthogonal(nn.Linear(LSTM_SIZE, ACTIONS), 0.01)
        self.critic = orthogonal(nn.Linear(LSTM_SIZE, 1), 1.0)
        self.lstm = nn.LSTMCell(FEATURES, LSTM_SIZE)
        nn.init.orthogonal_(self.lstm.weight_ih, 1.0)
        nn.init.orthogonal_(self.lstm.weight_hh, 1.0)
        nn.init.zeros_(self.lstm.bias_ih)
        nn.init.zeros_(self.lstm.bias_hh)

    def unroll(self, obs, state, starts):
        """obs [T, B, 3, S, S], state ([B, H], [B, H]), starts [T, B] -> logits [T, B, A], values [T, B], state."""
        steps, batch = obs.shape[0], obs.shape[1]
        x = obs.reshape(steps * batch, 3, SIZE, SIZE)
        if CHANNELS_LAST:
            x = x.contiguous(memory_format=torch.channels_last)
        features = self.encoder(x).view(steps, batch, -1)
        keep = (1.0 - starts).unsqueeze(-1)
        h, c = state
        outputs = []
        if LSTM_UNROLL == "hoisted":
            # The input projection of every tick (and both biases) in one GEMM; per tick only h·W_hhᵀ and the gates.
            lstm = self.lstm
            projected = torch.addmm(lstm.bias_ih + lstm.bias_hh, features.reshape(steps * batch, -1), lstm.weight_ih.t()).view(steps, batch, -1)
            w_hh_t = lstm.weight_hh.t()
            for t in range(steps):
                i, f, g, o = torch.addmm(projected[t], h * keep[t], w_hh_t).chunk(4, 1)
                c = torch.sigmoid(f) * (c * keep[t]) + torch.sigmoid(i) * torch.tanh(g)
                h = torch.sigmoid(o) * torch.tanh(c)
                outputs.append(h)
        else:
            for t in range(steps):
                h, c = self.lstm(features[t], (h * keep[t], c * keep[t]))
                outputs.append(h)
        out = torch.stack(outputs)
        return self.actor(out), self.critic(out).squeeze(-1), (h, c)


def main(clock=time.perf_counter, unit="steps/s", warmup=WARMUP, timed=TIMED):
    """Trains warmup + timed iterations (the rate anneals over all of them) and prints the median rate of the timed ones."""
    num_iterations = warmup + timed
    rng = np.random.default_rng(1)
    torch.manual_seed(1)
    envs = Mazes(rng)
    agent = LstmActorCritic()
    if CHANNELS_LAST == "weights":
        agent.encoder.to(memory_format=torch.channels_last)
    if OPTIMIZER == "flat":
        optimizer = FlatAdam(agent.parameters(), lr=LEARNING_RATE, eps=ADAM_EPS)
    else:
        optimizer = torch.optim.Adam(agent.parameters(), lr=LEARNING_RATE, eps=ADAM_EPS, foreach=True)
    generator = torch.Generator().manual_seed(2)
    params = list(agent.parameters())

    E, T = NUM_ENVS, NUM_STEPS
    obs_buf = torch.zeros((T, E, 3, SIZE, SIZE))
    starts_buf = torch.zeros((T, E))
    actions_buf = torch.zeros((T, E), dtype=torch.int64)
    logprobs_buf = torch.zeros((T, E))
    values_buf = torch.zeros((T, E))
    rewards = np.zeros((T, E), np.float32)
    truncated_values = np.zeros((T, E), np.float32)
    starts_np = np.zeros((T, E), np.float32)
    next_obs = torch.from_numpy(envs.obs).view(E, 3, SIZE, SIZE)  # shares the environments' array
    next_start = np.ones(E, np.float32)
    state = (torch.zeros(E, LSTM_SIZE), torch.zeros(E, LSTM_SIZE))
    episode_return = np.zeros(E)
    episode_length = np.zeros(E, np.int64)
    envs_per_mb = E // NUM_MINIBATCHES
    rates = []

    for iteration in range(1, num_iterations + 1):
        start_time = clock()
        rate = (1.0 - (iteration - 1.0) / num_iterations) * LEARNING_RATE
        if OPTIMIZER == "flat":
            optimizer.lr = rate
        else:
            for group in optimizer.param_groups:
                group["lr"] = rate
        initial_state = (state[0].clone(), state[1].clone())
        episodes, return_sum = 0, 0.0

        with torch.no_grad():
            for t in range(T):
                obs_buf[t].copy_(next_obs)
                starts_np[t] = next_start
                start_t = torch.from_numpy(next_start)
                starts_buf[t].copy_(start_t)
                logits, value, state = agent.unroll(next_obs.unsqueeze(0), state, start_t.unsqueeze(0))
                logits = logits[0]
                action = torch.multinomial(logits.softmax(-1), 1, True, generator=generator)
                actions_buf[t].copy_(action[:, 0])
                logprobs_buf[t].copy_(logits.log_softmax(-1).gather(1, action)[:, 0])
                values_buf[t].copy_(value[0])
                r, terminated, truncated = envs.step(action.numpy()[:, 0])
                rewards[t] = r
                done = terminated | truncated
                episode_return += r
                episode_length += 1
                if done.any():
                    ended = np.flatnonzero(done)
                    episodes += len(ended)
                    return_sum += episode_return[ended].sum()
                    episode_return[ended] = 0
                    episode_length[ended] = 0
                    cut = np.flatnonzero(truncated)
                    if len(cut):
                        # V(final observation) of every truncated environment, in one forward.
                        idx = torch.from_numpy(cut)
                        final = torch.from_numpy(envs.final_obs[cut]).view(1, len(cut), 3, SIZE, SIZE)
                        _, v, _ = agent.unroll(final, (state[0][idx], state[1][idx]), torch.zeros(1, len(cut)))
                        truncated_values[t] = 0
                        truncated_values[t, cut] = v[0].numpy()
                    else:
                        truncated_values[t] = 0
                else:
                    truncated_values[t] = 0
                next_start = done.astype(np.float32)

            # GAE (NumPy over [E] rows), truncated steps bootstrapped from their final observation.
            _, next_value, _ = agent.unroll(next_obs.unsqueeze(0), state, torch.from_numpy(next_start).unsqueeze(0))
            next_value = next_value[0].numpy()
            values = values_buf.numpy()
            boot = rewards + GAMMA * truncated_values
            advantages = np.zeros((T, E), np.float32)
            last = np.zeros(E, np.float32)
            for t in reversed(range(T)):
                if t == T - 1:
                    non_terminal, next_values = 1.0 - next_start, next_value
                else:
                    non_terminal, next_values = 1.0 - starts_np[t + 1], values[t + 1]
                delta = boot[t] + GAMMA * next_values * non_terminal - values[t]
                last = delta + GAMMA * GAE_LAMBDA * non_terminal * last
                advantages[t] = last
            returns = advantages + values
            adv_buf = torch.from_numpy(advantages)
            ret_buf = torch.from_numpy(returns)

        # Update: minibatches of whole environments, states recomputed from the rollout's initial state.
        env_order = np.arange(E)
        clipfracs = []
        for epoch in range(UPDATE_EPOCHS):
            rng.shuffle(env_order)
            for s in range(0, E, envs_per_mb):
                mb = torch.from_numpy(env_order[s:s + envs_per_mb].copy())
                logits, new_value, _ = agent.unroll(
                    obs_buf.index_select(1, mb), (initial_state[0].index_select(0, mb), initial_state[1].index_select(0, mb)),
                    starts_buf.index_select(1, mb))
                logp_all = logits.log_softmax(-1)
                new_logprob = logp_all.gather(2, actions_buf.index_select(1, mb).unsqueeze(2)).squeeze(2)
                entropy = -(logp_all.exp() * logp_all).sum(-1)
                logratio = new_logprob - logprobs_buf.index_select(1, mb)
                ratio = logratio.exp()
                with torch.no_grad():
                    old_approx_kl = (-logratio).mean().item()
                    approx_kl = ((ratio - 1) - logratio).mean().item()
                    clipfracs.append(((ratio - 1.0).abs() > CLIP_COEF).float().mean().item())
                mb_adv = adv_buf.index_select(1, mb)
                mb_adv = (mb_adv - mb_adv.mean()) / (mb_adv.std() + 1e-8)
                pg_loss = torch.max(-mb_adv * ratio, -mb_adv * torch.clamp(ratio, 1 - CLIP_COEF, 1 + CLIP_COEF)).mean()
                mb_returns = ret_buf.index_select(1, mb)
                mb_values = values_buf.index_select(1, mb)
                v_unclipped = (new_value - mb_returns) ** 2
                v_clipped = mb_values + torch.clamp(new_value - mb_values, -CLIP_COEF, CLIP_COEF)
                v_loss = 0.5 * torch.max(v_unclipped, (v_clipped - mb_returns) ** 2).mean()
                entropy_loss = entropy.mean()
                loss = pg_loss - ENT_COEF * entropy_loss + VF_COEF * v_loss
                if OPTIMIZER == "flat":
                    optimizer.zero_grad()
                    loss.backward()
                    optimizer.clip_and_step(MAX_GRAD_NORM)
                else:
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    nn.utils.clip_grad_norm_(params, MAX_GRAD_NORM)
                    optimizer.step()
                pg, vl, ent = pg_loss.item(), v_loss.item(), entropy_loss.item()
        var = returns.var()
        _ = np.nan if var == 0 else 1 - (returns - values).var() / var  # explained variance, as logged
        _ = (pg, vl, ent, old_approx_kl, approx_kl, np.mean(clipfracs), episodes, return_sum)
        elapsed = clock() - start_time
        if iteration > warmup:
            rates.append(E * T / elapsed)
    print(json.dumps({"value": float(np.median(rates)), "unit": unit}))


if __name__ == "__main__":
    main()
