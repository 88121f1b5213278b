"""Peer of Telos.Benchmarks.MlpAdamStep: one Adam step on a 64-256-256-8 ReLU MLP, batch 1024,
one intra-op thread; prints {"value": median ms/step, "unit": "ms/step"}."""
import json
import time

import torch

torch.set_num_threads(1)
torch.manual_seed(0)
model = torch.nn.Sequential(
    torch.nn.Linear(64, 256), torch.nn.ReLU(),
    torch.nn.Linear(256, 256), torch.nn.ReLU(),
    torch.nn.Linear(256, 8))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
x = torch.randn(1024, 64)
y = torch.randn(1024, 8)


def step():
    optimizer.zero_grad()
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
