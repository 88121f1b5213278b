"""PyTorch twin of Telos.Benchmarks.LearnedOptimizers.L2LMetaStepWorkload: one L2L meta-step.

128 random 10-d quadratics ||W theta - y||^2 side by side; a coordinatewise 2-layer LSTM (20 units,
shared weights) with log/sign preprocessing (p = 10); unroll 20: theta_{t+1} = theta_t + m(grad_t)
in the graph, grad_t detached (no second derivatives); meta-loss sum_t mean f(theta_t); backward;
Adam step. A fresh problem batch each meta-step (horizon = unroll). One thread, median of 51 after 10 warm-up.
Prints {"value": ms per meta-step, "unit": "ms/meta-step"}.
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


class CoordinatewiseLstm(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.cells = torch.nn.ModuleList([torch.nn.LSTMCell(2, H), torch.nn.LSTMCell(H, H)])
        self.head = torch.nn.Linear(H, 1)

    def forward(self, grad, state):
        g = grad.detach().reshape(-1, 1)
        threshold = math.exp(-PP)
        mag = g.abs()
        large = mag >= threshold
        x = torch.cat([torch.where(large, mag.clamp_min(threshold).log() / PP, torch.full_like(g, -1.0)),
                       torch.where(large, g.sign(), g * math.exp(PP))], 1)
        new_state = []
        for cell, (h, c) in zip(self.cells, state):
            h, c = cell(x, (h, c))
            new_state.append((h, c))
            x = h
        return self.head(x).squeeze(1), new_state


net = CoordinatewiseLstm()
opt = torch.optim.Adam(net.parameters(), lr=0.003)


def loss_fn(w, y, theta):
    return (torch.bmm(w, theta.unsqueeze(2)).squeeze(2) - y).square().sum(1)


def meta_step():
    w = torch.randn(P, N, N)
    y = torch.randn(P, N)
    theta = torch.randn(P, N).requires_grad_(True)
    grad = torch.autograd.grad(loss_fn(w, y, theta).sum(), theta)[0].detach()
    theta = theta.detach()
    state = [(torch.zeros(P * N, H), torch.zeros(P * N, H)) for _ in range(2)]
    meta_loss = torch.zeros(())
    for t in range(UNROLL):
        update, state = net(grad, state)
        theta = theta + update.view(P, N)
        loss = loss_fn(w, y, theta)
        meta_loss = meta_loss + loss.mean()
        if t + 1 < UNROLL:
            grad = torch.autograd.grad(loss.sum(), theta, retain_graph=True)[0].detach()
    opt.zero_grad()
    meta_loss.backward()
    opt.step()
    return meta_loss.item()


for _ in range(10):
    meta_step()
times = []
for _ in range(51):
    start = time.perf_counter()
    meta_step()
    times.append((time.perf_counter() - start) * 1000)
times.sort()
print(json.dumps({"value": times[len(times) // 2], "unit": "ms/meta-step"}))
