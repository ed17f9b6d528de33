"""The loop's parts: optimizers against torch.optim, callbacks with a fake state, the loop itself."""

import math
from types import SimpleNamespace

import pytest
import torch

from deepfit.errors import InvalidInputError
from deepfit.training.callbacks import EarlyStopping, StopWhenPerfect, WarmupCosineSchedule
from deepfit.training.devices import resolve_device
from deepfit.training.loop import LoopSettings, TensorData, train
from deepfit.training.optimizers import SGD, AdamW


def _twin_networks():
    torch.manual_seed(0)
    first = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.ReLU(), torch.nn.Linear(7, 3))
    second = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.ReLU(), torch.nn.Linear(7, 3))
    second.load_state_dict(first.state_dict())
    return first, second


def _run(network, optimizer, steps=25):
    generator = torch.Generator().manual_seed(1)
    for _ in range(steps):
        x, y = torch.randn(16, 5, generator=generator), torch.randint(0, 3, (16,), generator=generator)
        torch.nn.functional.cross_entropy(network(x), y).backward()
        optimizer.step()
        optimizer.zero_grad()
    return torch.cat([p.detach().flatten() for p in network.parameters()])


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "foreach"])
def test_adamw_matches_torch_optim_step_for_step(fused):
    ours_net, theirs_net = _twin_networks()
    ours = AdamW(ours_net.parameters(), lr=0.01, weight_decay=0.05)
    ours.fused = fused
    theirs = torch.optim.AdamW(theirs_net.parameters(), lr=0.01, weight_decay=0.05)
    assert torch.allclose(_run(ours_net, ours), _run(theirs_net, theirs), atol=1e-6)


def test_sgd_matches_torch_optim():
    ours_net, theirs_net = _twin_networks()
    assert torch.allclose(_run(ours_net, SGD(ours_net.parameters(), lr=0.1)),
                          _run(theirs_net, torch.optim.SGD(theirs_net.parameters(), lr=0.1)), atol=1e-6)


def test_adamw_state_round_trips():
    net, twin = _twin_networks()
    optimizer = AdamW(net.parameters(), lr=0.01)
    _run(net, optimizer, steps=3)
    restored = AdamW(twin.parameters(), lr=0.5)
    twin.load_state_dict(net.state_dict())
    restored.load_state_dict(optimizer.state_dict())
    assert torch.equal(_run(net, optimizer, 4), _run(twin, restored, 4))


def _state(**values):
    defaults = dict(module=torch.nn.Linear(2, 2), val_loss=None, epoch=0, stop=False, stop_reason="",
                    train_loss=1.0, step=0, total_steps=100, optimizer=SimpleNamespace(lr=0.0))
    return SimpleNamespace(**{**defaults, **values})


def test_early_stopping_waits_patience_epochs_then_restores_best_weights():
    state = _state()
    stopper = EarlyStopping(patience=2)
    for epoch, loss in enumerate([1.0, 0.5, 0.7, 0.6], start=1):
        state.epoch, state.val_loss = epoch, loss
        if epoch == 2:
            best = {k: v.clone() for k, v in state.module.state_dict().items()}
        else:
            with torch.no_grad():
                state.module.weight.add_(1.0)
        stopper.on_epoch_end(state)
    assert state.stop and stopper.best_epoch == 2
    stopper.on_train_end(state)
    assert torch.equal(state.module.weight, best["weight"])


def test_early_stopping_ignores_epochs_without_validation():
    state = _state()
    stopper = EarlyStopping(patience=1)
    for _ in range(5):
        stopper.on_epoch_end(state)
    assert not state.stop


def test_stop_when_perfect_needs_zero_training_error():
    state = _state(train_loss=0.25)
    StopWhenPerfect().on_epoch_end(state)
    assert not state.stop
    state.train_loss = 0.0
    StopWhenPerfect().on_epoch_end(state)
    assert state.stop


def test_warmup_then_cosine_schedule():
    schedule = WarmupCosineSchedule(peak_lr=1.0, warmup_fraction=0.1, final_fraction=0.0)
    rates = [schedule.learning_rate(step, 100) for step in range(100)]
    assert rates[0] == pytest.approx(0.1) and rates[9] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(rates[9:], rates[10:]))  # never rises after the warm-up
    assert rates[55] == pytest.approx(0.5)  # half-way through the cosine
    assert rates[40] == pytest.approx(0.5 * (1 + math.cos(math.pi * 30 / 90)))
    state = _state(step=9)
    schedule.on_batch_begin(state)
    assert state.optimizer.lr == pytest.approx(1.0)


def test_loop_learns_and_records_history_and_reaches_callbacks():
    torch.manual_seed(0)
    x = torch.randn(256, 2)
    y = (x[:, 0] * x[:, 1] > 0).long()  # XOR-like: needs a hidden layer
    network = torch.nn.Sequential(torch.nn.Linear(2, 32), torch.nn.ReLU(), torch.nn.Linear(32, 2))
    seen = []

    class Recorder(WarmupCosineSchedule):
        def on_epoch_end(self, state):
            seen.append(state.epoch)

    state = train(network, TensorData(x, y, x, y), LoopSettings(max_epochs=60, batch_size=32, learning_rate=0.02),
                  [Recorder(0.02)])
    assert seen == list(range(1, 61))
    assert len(state.history) == 60 and state.history[-1]["val_accuracy"] > 0.9
    assert state.history[-1]["train_loss"] < state.history[0]["train_loss"]


def test_device_names_are_checked():
    assert resolve_device("cpu").type == "cpu"
    with pytest.raises(InvalidInputError, match="not a device name"):
        resolve_device("gpu-please")
    if not torch.cuda.is_available():
        with pytest.raises(InvalidInputError, match="no usable CUDA GPU"):
            resolve_device("cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_training_with_mixed_precision():
    from sklearn.datasets import load_digits

    from deepfit import DeepClassifier

    X, y = load_digits(return_X_y=True)
    model = DeepClassifier(device="cuda", random_state=0, max_epochs=20).fit(X, y)
    assert model.device_.type == "cuda" and model.score(X, y) > 0.95
