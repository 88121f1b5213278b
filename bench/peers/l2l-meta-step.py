"""PyTorch twin of Telos.Benchmarks.LearnedOptimizers.L2LMetaStepWorkload: one L2L meta-step.

128 random 10-d quadratics ||W theta - y||^2 side by side; a coordinatewise 2-layer LSTM (20 units,
shared weights) with log/sign preprocessing (p = 10); unroll 20: theta_{t+1} = theta_t + m(grad_t)
in the graph, grad_t detached (no second derivatives); meta-loss sum_t mean f(theta_t); backward;
Adam step. A fresh problem batch each meta-step (horizon = unroll). One thread (torch and OpenBLAS),
like the Telos side; median of 51 after 10 warm-up. Prints {"value": ms per meta-step, "unit": "ms/meta-step"}.

What makes it fast (torch.profiler, then alternating in-process A/B of whole meta-steps in process
CPU time, because the shared machine's wall clock is noisy):
- The LSTM step in the layout Telos' CoordinatewiseLstm.Step uses: hidden-major state [H, coordinates],
  one addmm per cell with [W_ih W_hh] and b_ih + b_hh built once per meta-step (not two linears and
  an add per step), one sigmoid over all four gates with tanh(z) = 2 sigmoid(2z) - 1 (candidate rows
  doubled in the fused weights; tanh costs ~3x sigmoid in this build), contiguous [H, N] gate blocks,
  and bias gradients that are row sums. The parameters stay torch's LSTMCells and a Linear; the step
  agrees with the LSTMCell stack to 2e-7 (updates, states and every parameter gradient).
- Log/sign preprocessing without where(): log(max(|g|, e^-p))/p and clamp(e^p g, -1, 1) equal the
  paper's two cases, written with out= into one preallocated [2, coordinates] input.
- Adam(foreach=True) and zero_grad(set_to_none=True). fused=True is CUDA-only in torch 1.13.
Measured: the old LSTMCell version 103.6 ms vs this one 95.7 ms of CPU per meta-step (medians of 8
alternating rounds, load average 28 on 2 cores); in run.sh, 86.9 vs 66.3 ms wall in adjacent
invocations at load 5-6 (bench/peers/README.md). What remains is mostly OpenBLAS's small GEMMs
([80, 40] x [40, 1280] and the two backward products, ~170 us each, 120 per meta-step) and autograd.
Tried and not kept: TorchScript with the CPU fuser for the gate arithmetic (Debian's torch has no
LLVM backend: "LLVM Backend not found"). A scripted function without the fuser was not timed: it
runs the same aten kernels, one by one.
Not available: torch.compile (Debian's torch is 1.13). torch.inference_mode does not apply: every op
in the meta-step is differentiated.
"""
import json
import math
import os
import time

# One thread everywhere, like Telos (TorchRuntime fixes LibTorch's intra-op threads to 1): Debian's
# torch uses OpenBLAS, whose own thread pool torch.set_num_threads does not govern.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402

torch.set_num_threads(1)
torch.manual_seed(0)
P, N, H, UNROLL, PP = 128, 10, 20, 20, 10.0
COORDS = P * N
THRESHOLD, SCALE = math.exp(-PP), math.exp(PP)


class CoordinatewiseLstm(torch.nn.Module):
    """The paper's 2-layer coordinatewise LSTM; parameters are torch's own LSTMCells and a Linear."""

    def __init__(self):
        super().__init__()
        self.cells = torch.nn.ModuleList([torch.nn.LSTMCell(2, H), torch.nn.LSTMCell(H, H)])
        self.head = torch.nn.Linear(H, 1)
        self.inputs = torch.empty(2, COORDS)
        # Gate order i, f, g, o; the candidate rows are doubled so that one sigmoid gives all four
        # gates: tanh(z) = 2 sigmoid(2z) - 1.
        self.register_buffer("gate_scale", torch.ones(4 * H, 1), persistent=False)
        self.gate_scale[2 * H:3 * H] = 2.0

    def step_weights(self):
        """[W_ih W_hh] and b_ih + b_hh per cell, candidate rows doubled: built once per unroll."""
        return [(torch.cat([c.weight_ih, c.weight_hh], 1) * self.gate_scale,
                 (c.bias_ih + c.bias_hh).unsqueeze(1) * self.gate_scale) for c in self.cells]

    def preprocess(self, grad):
        """Log/sign preprocessing (p = PP) into a preallocated hidden-major [2, coordinates] input."""
        g = grad.reshape(1, -1)
        x = self.inputs
        torch.abs(g, out=x[:1])
        torch.clamp_min(x[:1], THRESHOLD, out=x[:1])
        torch.log(x[:1], out=x[:1])
        x[:1].div_(PP)  # = -1 below the threshold: log(max(|g|, e^-p)) / p
        torch.mul(g, SCALE, out=x[1:])
        x[1:].clamp_(-1.0, 1.0)  # sign(g) above the threshold, e^p g below it
        return x

    def forward(self, grad, state, weights):
        x = self.preprocess(grad)
        new_state = []
        for (w, b), (h, c) in zip(weights, state):
            s = torch.addmm(b, w, torch.cat([x, h], 0)).sigmoid()
            i, f, g, o = s.split(H, 0)
            c = torch.addcmul(f * c, i, 2.0 * g - 1.0)
            h = o * c.tanh()
            new_state.append((h, c))
            x = h
        return torch.addmm(self.head.bias.unsqueeze(1), self.head.weight, x).squeeze(0), new_state


net = CoordinatewiseLstm()
opt = torch.optim.Adam(net.parameters(), lr=0.003, foreach=True)


def loss_fn(w, y, theta):
    return (torch.bmm(w, theta.unsqueeze(2)).squeeze(2) - y).square().sum(1)


def meta_step():
    w = torch.randn(P, N, N)
    y = torch.randn(P, N)
    theta = torch.randn(P, N).requires_grad_(True)
    grad = torch.autograd.grad(loss_fn(w, y, theta).sum(), theta)[0]
    theta = theta.detach()
    state = [(torch.zeros(H, COORDS), torch.zeros(H, COORDS)) for _ in range(2)]
    weights = net.step_weights()
    meta_loss = 0.0
    for t in range(UNROLL):
        update, state = net(grad, state, weights)
        theta = theta + update.view(P, N)
        loss = loss_fn(w, y, theta)
        meta_loss = meta_loss + loss.mean()
        if t + 1 < UNROLL:
            grad = torch.autograd.grad(loss.sum(), theta, retain_graph=True)[0]
    opt.zero_grad(set_to_none=True)
    meta_loss.backward()
    opt.step()
    return meta_loss.item()


def main():
    for _ in range(10):
        meta_step()
    times = []
    for _ in range(51):
        start = time.perf_counter()
        meta_step()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    print(json.dumps({"value": times[len(times) // 2], "unit": "ms/meta-step"}))


if __name__ == "__main__":
    main()
