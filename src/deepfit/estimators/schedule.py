"""What an "auto" schedule is for DeepClassifier: batches, epochs and peak learning rate, from a kind's
`TrainingDefaults` (chosen on the development suite; `deepfit.data.kinds`) and the size of the data.

The epochs come from a count of optimizer steps, not a count of passes: a small table is seen hundreds
of times, a large one a few dozen, and both take about the same number of steps. Plain table networks
take fewer, larger batches in the same epochs (`batch_growth`), at a rate larger by the square root of
the growth.
"""

from __future__ import annotations

import math

from deepfit.training.loop import auto_batch_size

TRANSFER_LEARNING_RATE = 2e-3  # a transferred network, fine-tuned whatever its kind


def batches(defaults, n_rows: int, plain: bool) -> tuple[int, int]:
    """(the batch the epochs are counted in, the batch trained with): about `steps_per_epoch` steps an
    epoch; for a plain network grown `batch_growth` times, up to `grown_batch_limit` rows.

    >>> from deepfit.data.kinds import TABLE
    >>> batches(TABLE.defaults, 300, plain=True), batches(TABLE.defaults, 20_000, plain=True)
    ((32, 32), (512, 512))
    >>> batches(TABLE.defaults, 3_000, plain=True), batches(TABLE.defaults, 3_000, plain=False)
    ((64, 128), (64, 64))
    """
    counted = auto_batch_size(n_rows, defaults.steps_per_epoch, defaults.smallest_batch)
    growth = defaults.batch_growth if plain else 1
    grown = auto_batch_size(n_rows, defaults.steps_per_epoch / growth, defaults.smallest_batch)
    return counted, max(counted, min(defaults.grown_batch_limit, grown))


def epochs(defaults, n_rows: int, batch_size: int, first_stage_area: float = 0.0) -> int:
    """Enough epochs for the kind's optimizer steps (tables 3,000, pictures and sound 1,200, texts 400),
    within its fewest and most epochs (10 to 200, 300 or 50; texts 3 to 30); pictures also within a
    budget of pixels through the first stage (`first_stage_area` pixels a picture), so a small set is
    seen hundreds of times and 1,000 pictures fit in seconds.

    >>> from deepfit.data.kinds import TABLE, PICTURES
    >>> epochs(TABLE.defaults, 300, 32), epochs(TABLE.defaults, 20_000, 512)
    (200, 75)
    >>> epochs(PICTURES.defaults, 5_000, 64, first_stage_area=28 * 28)
    10
    """
    count = defaults.steps / math.ceil(n_rows / batch_size)
    if defaults.pixel_passes and first_stage_area:
        count = min(count, defaults.pixel_passes / (n_rows * first_stage_area))
    return int(min(defaults.max_epochs, max(defaults.min_epochs, round(count))))


def learning_rate(defaults, n_rows: int, *, plain: bool, transfer: bool = False, whole_schedule: bool = False,
                  batch_growth: float = 1.0) -> float:
    """The kind's peak rate; a larger one for a plain network on tables of `large_rate_from` training
    rows or more, or trained again on every row (`whole_schedule`), where it was measured (the residual
    deep networks keep the smaller one); times the square root of the batches' growth (fewer, larger
    steps take larger ones). A transferred network is fine-tuned gently, whatever its kind.

    >>> from deepfit.data.kinds import TABLE
    >>> learning_rate(TABLE.defaults, 300, plain=True), learning_rate(TABLE.defaults, 3_000, plain=True)
    (0.002, 0.004)
    >>> round(learning_rate(TABLE.defaults, 3_000, plain=True, batch_growth=2), 5)
    0.00566
    """
    if transfer:
        return TRANSFER_LEARNING_RATE
    rate = defaults.learning_rate
    if defaults.large_learning_rate and plain and (whole_schedule or n_rows >= defaults.large_rate_from):
        rate = defaults.large_learning_rate
    return rate * math.sqrt(batch_growth)
