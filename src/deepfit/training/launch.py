"""`deepfit train --devices N`: the same command on N processes of this machine, started the way
``torchrun --standalone --nproc_per_node N`` starts them (PyTorch's elastic launcher, in process)."""

from __future__ import annotations

import logging
import os
import signal
import sys
import tempfile
import uuid
from pathlib import Path

from deepfit.errors import InvalidInputError


def check_processes(processes: int) -> None:
    """Refuse a count this machine cannot run: more processes than GPUs on a CUDA machine."""
    import torch

    if torch.cuda.is_available() and processes > torch.cuda.device_count():
        raise InvalidInputError(f"--devices {processes}: this machine has {torch.cuda.device_count()} CUDA GPU(s); "
                                "ask for at most that many (one process per GPU).")


def run_processes(processes: int, arguments: list[str]) -> int:
    """Run ``deepfit ARGUMENTS`` on `processes` ranks of this machine; the exit code of the run (the
    failing rank's own, or 1 when a rank was killed by a signal), with one line saying what happened."""
    import torch
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.launcher.api import LaunchConfig, elastic_launch

    check_processes(processes)
    if "OMP_NUM_THREADS" not in os.environ and not torch.cuda.is_available():
        os.environ["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // processes))  # the cores, shared out
    for name in ("torch.distributed.elastic", "torch.distributed.launcher"):
        logging.getLogger(name).setLevel(logging.CRITICAL)  # its failure report is a traceback; ours is one line
    config = LaunchConfig(min_nodes=1, max_nodes=1, nproc_per_node=processes, run_id=str(uuid.uuid4()),
                          rdzv_backend="c10d", rdzv_endpoint="localhost:0", max_restarts=0, monitor_interval=0.5,
                          start_method="spawn")
    earlier = os.environ.get("DEEPFIT_LAUNCHER")
    with tempfile.TemporaryDirectory(prefix="deepfit-ranks-") as messages:
        os.environ["DEEPFIT_LAUNCHER"] = messages  # where the ranks leave their error lines
        try:
            elastic_launch(config, entrypoint=sys.executable)("-m", "deepfit", *arguments)
        except ChildFailedError as error:
            return _report(error.failures, Path(messages))
        finally:
            if earlier is None:
                del os.environ["DEEPFIT_LAUNCHER"]
            else:
                os.environ["DEEPFIT_LAUNCHER"] = earlier
    return 0


def _report(failures: dict, messages: Path) -> int:
    """One line for a failed run, and its exit code: the line rank 0 left, or else that of the rank that
    stopped first (not of those that only lost it, exit code 1); a rank killed by a signal is named instead."""
    ordered = sorted(failures.items(), key=lambda item: (item[1].exitcode == 1, item[1].timestamp))
    rank, failure = ordered[0]
    if failure.exitcode < 0:
        name = signal.Signals(-failure.exitcode).name if -failure.exitcode in signal.valid_signals() else "a signal"
        print(f"error: the process of rank {rank} was stopped by {name}, and the others with it. A run with "
              "--resume continues from the last checkpoint.", file=sys.stderr)
        return 1
    for first in (0, rank):  # rank 0 may have said it, yet been stopped as it left
        left = messages / f"{first}.txt"
        if left.exists():
            code, _, line = left.read_text().partition("\n")
            print(line.strip(), file=sys.stderr)
            return int(code)
    print(f"error: the process of rank {rank} stopped with exit code {failure.exitcode}, and the others with it "
          "(rerun with --devices 1, or DEEPFIT_DEBUG=1, to see why).", file=sys.stderr)
    return failure.exitcode


def without_devices(arguments: list[str]) -> list[str]:
    """The command line as each rank runs it: the same, less ``--devices N``.

    >>> without_devices(["train", "data.csv", "--devices", "2", "--seed=3"])
    ['train', 'data.csv', '--seed=3']
    """
    kept, skip = [], False
    for argument in arguments:
        if skip:
            skip = False
        elif argument == "--devices":
            skip = True
        elif not argument.startswith("--devices="):
            kept.append(argument)
    return kept
