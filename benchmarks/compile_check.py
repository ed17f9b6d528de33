"""Does `torch.compile` pay for deepfit's CNN on this CPU? Compile time against the time it saves a step.

    .venv/bin/python benchmarks/compile_check.py       # deepfit's own environment: no peers involved

For two picture sizes the suite trains (6,500 letters at 28x28, batch 128; Yale faces at 60x80, batch 16),
it builds the CNN `DeepClassifier()` builds, then times training steps as the fit runs them (channels-last,
precision "auto", AdamW): eagerly, then under `torch.compile` (its first two steps, which compile, timed
apart; with an empty compile cache, as a user's first fit meets it: TORCHINDUCTOR_CACHE_DIR set to a new
folder unless given). It prints the compile seconds, both step times, and how many steps a fit would need before the
compile paid for itself, beside the steps the defaults actually take. Run it alone on the machine.
"""

from __future__ import annotations

import os
import tempfile
import time

os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", tempfile.mkdtemp())  # cold, as a user's first fit (before torch)

import numpy as np  # noqa: E402
import torch  # noqa: E402

from deepfit import DeepClassifier  # noqa: E402
from deepfit.training.devices import autocast, training_precision  # noqa: E402
from deepfit.training.optimizers import AdamW  # noqa: E402

CASES = [  # (name, height, width, classes, batch, steps the defaults take on the suite's set)
    ("6,500 letters, 28x28", 28, 28, 26, 128, 410),
    ("Yale faces, 60x80", 60, 80, 15, 16, 1197),
]
TIMED_STEPS = 30


def network(height: int, width: int, classes: int) -> torch.nn.Module:
    """The CNN DeepClassifier builds for pictures of this size (fitted for one epoch on noise)."""
    pictures = np.random.default_rng(0).integers(0, 255, (classes * 3, height, width), dtype=np.uint8)
    model = DeepClassifier(random_state=0, max_epochs=1).fit(pictures, np.repeat(np.arange(classes), 3))
    return model.module_.train()


def step_seconds(module, batch, targets, optimizer, precision: str, steps: int) -> list[float]:
    seconds = []
    for _ in range(steps):
        started = time.perf_counter()
        with autocast(torch.device("cpu"), precision):
            loss = torch.nn.functional.cross_entropy(module(batch), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        seconds.append(time.perf_counter() - started)
    return seconds


def check(name: str, height: int, width: int, classes: int, batch_size: int, default_steps: int) -> None:
    torch.manual_seed(0)
    module = network(height, width, classes)
    batch = (torch.rand(batch_size, 1, height, width) * 255).contiguous(memory_format=torch.channels_last)
    targets = torch.randint(0, classes, (batch_size,))
    optimizer = AdamW(list(module.parameters()), lr=1e-3, weight_decay=1e-4)
    precision = training_precision(torch.device("cpu"), "auto")
    eager = step_seconds(module, batch, targets, optimizer, precision, TIMED_STEPS + 5)[5:]
    compiled_module = torch.compile(module)
    first = step_seconds(compiled_module, batch, targets, optimizer, precision, 2)
    compiled = step_seconds(compiled_module, batch, targets, optimizer, precision, TIMED_STEPS + 5)[5:]
    eager_ms, compiled_ms = 1000 * float(np.median(eager)), 1000 * float(np.median(compiled))
    compile_s = sum(first) - 2 * compiled_ms / 1000
    saved_ms = eager_ms - compiled_ms
    breakeven = f"pays for itself after {compile_s / (saved_ms / 1000):,.0f} steps" if saved_ms > 0 \
        else "never pays (no step is faster)"
    print(f"{name} ({precision}): compile {compile_s:.1f} s; a step {eager_ms:.1f} ms eager, {compiled_ms:.1f} ms "
          f"compiled; {breakeven}; the defaults take {default_steps} steps", flush=True)


def main() -> None:
    for case in CASES:
        check(*case)


if __name__ == "__main__":
    main()
