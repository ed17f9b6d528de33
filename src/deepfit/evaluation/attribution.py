"""Which parts of an example weighed most in the model's answer, by occlusion: each part (a word of a
text) is hidden in turn, and its weight is how much the probability of the class in question falls
without it. A positive weight pushed towards that class, a negative one away from it. It asks the
model only for probabilities, so it holds for any network, and it is exact for what it measures: the
answer the model gives without the part.

>>> # weights = occlusion(model, kind, ["free cash now"], [spam_index])[0]   # [((0, 4), 0.31), ...]
"""

from __future__ import annotations

import numpy as np

MAX_PARTS = 200   # parts of one example weighed (a text's first 200 words): the rest weigh 0


def occlusion(model, kind, examples: list, classes: list[int], max_parts: int = MAX_PARTS) -> list[list]:
    """For each example, [((start, end), weight), ...] for its first `max_parts` parts, the weight the
    fall in the probability of class index `classes[i]` when the part is hidden. The kind names its
    parts (`Kind.parts_named`). Every hidden copy of every example goes through the model in one batch."""
    if not examples:
        return []
    spans = [kind.parts(example)[:max_parts] for example in examples]
    spans = [own if len(own) > 1 else [] for own in spans]  # a one-word text hidden would be no text
    variants = [kind.hide(example, span) for example, own in zip(examples, spans) for span in own]
    probabilities = np.asarray(model.predict_proba(kind.join([list(examples), variants])), dtype=float)
    whole, hidden = probabilities[:len(examples)], probabilities[len(examples):]
    weighed, start = [], 0
    for i, own in enumerate(spans):
        drop = whole[i, classes[i]] - hidden[start:start + len(own), classes[i]]
        weighed.append([(span, float(weight)) for span, weight in zip(own, drop)])
        start += len(own)
    return weighed


def heaviest(example: str, weights: list, n: int = 5) -> list[tuple[str, float]]:
    """The `n` parts whose weights are largest in size, as (the part's text, weight), heaviest first."""
    order = sorted(weights, key=lambda item: -abs(item[1]))[:n]
    return [(example[start:end], round(weight, 4)) for (start, end), weight in order]
