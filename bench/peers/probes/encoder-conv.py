"""The peer encoder's convolutions under the options a PyTorch engineer would try (bench/peers/README.md,
"With the fused encoder"): oneDNN on and off, the convolution as F.unfold + matmul, and channels_last.
Each line is one layer's forward and backward (a square-mean loss) on ppo-maze's minibatch shapes
([256, 3, 5, 5] into conv1, [256, 8, 5, 5] into conv2, [256, 400] into the linear layer), in process CPU
milliseconds, median of 30 repetitions of 50 calls, one thread.

    /usr/bin/python3 bench/peers/probes/encoder-conv.py
"""
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import statistics  # noqa: E402
import time  # noqa: E402

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

torch.set_num_threads(1)
torch.manual_seed(0)
conv1 = torch.nn.Conv2d(3, 8, 3, padding=1)
conv2 = torch.nn.Conv2d(8, 16, 3, padding=1)
linear = torch.nn.Linear(400, 64)
x0 = (torch.rand(256, 3, 5, 5) > 0.7).float()
x1 = torch.rand(256, 8, 5, 5, requires_grad=True)
x2 = torch.rand(256, 400, requires_grad=True)


def timed(name, step):
    samples = []
    for _ in range(30):
        start = time.process_time()
        for _ in range(50):
            step()
        samples.append((time.process_time() - start) / 50 * 1000)
    print(f"{name}: {statistics.median(samples):.3f} ms")


def unfolded(conv, x, channels_out):
    conv.zero_grad()
    columns = F.unfold(x, 3, padding=1)
    out = torch.matmul(conv.weight.view(channels_out, -1), columns).add_(conv.bias.view(1, channels_out, 1))
    out.square().mean().backward()


for enabled in (True, False):
    torch.backends.mkldnn.enabled = enabled
    print(f"mkldnn enabled: {enabled}")
    timed("  conv1", lambda: (conv1.zero_grad(), conv1(x0).square().mean().backward()))
    timed("  conv2", lambda: (conv2.zero_grad(), conv2(x1).square().mean().backward()))
    timed("  linear", lambda: (linear.zero_grad(), linear(x2).square().mean().backward()))
torch.backends.mkldnn.enabled = True
timed("conv1 as unfold + matmul", lambda: unfolded(conv1, x0, 8))
timed("conv2 as unfold + matmul", lambda: unfolded(conv2, x1, 16))
x1_last = x1.detach().to(memory_format=torch.channels_last).requires_grad_()
conv2_last = torch.nn.Conv2d(8, 16, 3, padding=1).to(memory_format=torch.channels_last)
timed("conv2 in channels_last", lambda: (conv2_last.zero_grad(), conv2_last(x1_last).square().mean().backward()))
