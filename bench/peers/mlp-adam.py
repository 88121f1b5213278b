"""Peer of Telos.Benchmarks.MlpAdamStep: one Adam step (forward, MSE loss, backward, update) on a
64-256-256-8 ReLU MLP, batch 1024, one thread; prints {"value": median ms/step, "unit": "ms/step"}
over 201 steps after 20 warm-up steps, like the Telos side.

What makes it fast, and like for like (torch.profiler, then an alternating in-process A/B of the
variants in process CPU time, 25 rounds of 11 steps, load average 25 on 2 cores):
- One thread for torch and for OpenBLAS (OPENBLAS_NUM_THREADS=1 before torch is imported):
  torch.set_num_threads does not govern Debian's OpenBLAS, which otherwise ran its GEMMs on two
  threads, while the Telos side runs LibTorch's MKL on one.
- ReLU(inplace=True) (no activation copies; 12.3 vs 14.3 ms median, the one change above the noise),
  zero_grad(set_to_none=True) and Adam(foreach=True) (each within the noise alone: 13.3 and 14.4 vs
  14.3 ms; all together 12.2 ms). fused=True is CUDA-only in torch 1.13; torch.compile does not
  exist in 1.13.
What remains is the work itself (torch.profiler, 30 steps, this version): ~58 % GEMMs (aten::mm and
addmm: Debian's OpenBLAS, where Telos' LibTorch has MKL), 18 % ReLU backward (threshold_backward),
8 % copies, ~9 % the Adam step.
"""
import json
import os
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402

torch.set_num_threads(1)
torch.manual_seed(0)
model = torch.nn.Sequential(
    torch.nn.Linear(64, 256), torch.nn.ReLU(inplace=True),
    torch.nn.Linear(256, 256), torch.nn.ReLU(inplace=True),
    torch.nn.Linear(256, 8))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, foreach=True)
x = torch.randn(1024, 64)
y = torch.randn(1024, 8)


def step():
    optimizer.zero_grad(set_to_none=True)
    loss = torch.nn.functional.mse_loss(model(x), y)
    loss.backward()
    optimizer.step()


for _ in range(20):
    step()
times = []
for _ in range(201):
    start = time.perf_counter()
    step()
    times.append((time.perf_counter() - start) * 1000.0)
times.sort()
print(json.dumps({"value": times[len(times) // 2], "unit": "ms/step"}))
