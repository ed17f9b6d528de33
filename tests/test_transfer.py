"""Transfer learning: a trained model as the starting point for another, and users' ResNet weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from deepfit import DeepClassifier, load, models
from deepfit.errors import InvalidInputError, ModelFileError


@pytest.fixture(scope="module")
def digits_0_to_4(tmp_path_factory):
    digits = load_digits()
    low = digits.target < 5
    clf = DeepClassifier(random_state=0).fit(digits.images[low], digits.target[low])
    return clf, clf.save(tmp_path_factory.mktemp("source") / "low.deepfit")


def few_high_digits(per_class: int, seed: int = 0):
    digits = load_digits()
    rng = np.random.default_rng(seed)
    train, test = [], []
    for digit in range(5, 10):
        rows = rng.permutation(np.flatnonzero(digits.target == digit))
        train += list(rows[:per_class])
        test += list(rows[per_class:])
    return digits.images[train], digits.target[train], digits.images[test], digits.target[test]


@pytest.mark.slow
def test_a_model_of_digits_0_to_4_learns_5_to_9_from_20_pictures_each(digits_0_to_4):
    source, path = digits_0_to_4
    X, y, X_test, y_test = few_high_digits(per_class=20)
    transferred = DeepClassifier(random_state=0, transfer_from=path).fit(X, y)
    assert list(transferred.classes_) == [5, 6, 7, 8, 9]
    assert transferred.architecture_["stages"] == source.architecture_["stages"]
    # Measured: 0.984. With the small-set picture defaults (issue 17) a network trained from scratch on
    # the same 100 pictures scores 0.991, so transfer no longer beats it on this pair (it did, 0.974
    # against 0.962, with the earlier defaults); see the README's transfer notes.
    assert transferred.score(X_test, y_test) >= 0.97


def test_freeze_trains_only_the_new_head(digits_0_to_4):
    source, _ = digits_0_to_4
    X, y, X_test, y_test = few_high_digits(per_class=20)
    frozen = DeepClassifier(random_state=0, transfer_from=source, freeze=True, max_epochs=20).fit(X, y)
    before, after = source.module_.state_dict(), frozen.module_.state_dict()
    for name, tensor in after.items():
        if not name.startswith("head."):
            assert torch.equal(tensor, before[name]), f"{name} changed although the body was frozen"
    assert frozen.score(X_test, y_test) > 0.3  # five classes: chance is 0.2 (measured 0.40: the head alone)


def test_transfer_keeps_the_source_encoding_and_history_counts_both_phases(digits_0_to_4):
    source, path = digits_0_to_4
    X, y, _, _ = few_high_digits(per_class=5)
    upscaled = np.repeat(np.repeat(X, 2, axis=1), 2, axis=2)  # 16x16: read as the source's 8x8
    clf = DeepClassifier(random_state=0, transfer_from=path, max_epochs=10).fit(upscaled, y)
    assert (clf.encoder_.height, clf.encoder_.width) == (8, 8)
    assert [row["epoch"] for row in clf.history_] == list(range(1, 11))


def test_tables_transfer_too_and_the_kind_of_data_must_match(digits_0_to_4):
    digits = load_digits()
    table_source = DeepClassifier(random_state=0, max_epochs=5).fit(digits.data[digits.target < 5],
                                                                     digits.target[digits.target < 5])
    high = digits.target >= 5
    clf = DeepClassifier(random_state=0, transfer_from=table_source, max_epochs=5).fit(digits.data[high],
                                                                                         digits.target[high])
    assert clf.score(digits.data[high], digits.target[high]) > 0.9
    with pytest.raises(InvalidInputError, match="trained on pictures"):
        DeepClassifier(transfer_from=digits_0_to_4[0]).fit(digits.data[high], digits.target[high])


def test_an_unfitted_source_is_refused_with_the_fix():
    with pytest.raises(InvalidInputError, match="not fitted"):
        DeepClassifier(transfer_from=DeepClassifier()).fit(np.zeros((4, 8, 8)), [0, 1, 0, 1])


@pytest.mark.parametrize("depth", [18, 50])
def test_a_torchvision_layout_resnet_state_dict_is_the_starting_point(tmp_path, depth):
    body = models.build({"name": "resnet", "depth": depth, "n_outputs": 1000}).body
    torchvision_names = {**body.state_dict(), "fc.weight": torch.zeros(1000, body.n_features),
                         "fc.bias": torch.zeros(1000)}
    path = tmp_path / f"resnet{depth}.pth"
    torch.save(torchvision_names, path)
    rng = np.random.default_rng(0)
    X = rng.integers(0, 255, (12, 32, 32), dtype=np.uint8)  # greyscale: converted to colour for ImageNet weights
    y = np.repeat(["cat", "dog"], 6)
    clf = DeepClassifier(transfer_from=path, freeze=True, max_epochs=1, random_state=0).fit(X, y)
    assert clf.architecture_ == {"name": "resnet", "depth": depth, "in_channels": 3, "n_outputs": 2,
                                 "image_size": [32, 32]}
    loaded = clf.module_.body.state_dict()
    for name in ("conv1.weight", "layer1.0.bn1.running_mean", "layer4.1.conv2.weight"):
        assert torch.equal(loaded[name], body.state_dict()[name])
    assert clf.predict(X).shape == (12,)


def test_an_unknown_state_dict_layout_is_a_clear_error(tmp_path):
    path = tmp_path / "vgg.pth"
    torch.save({"features.0.weight": torch.zeros(3, 3), "classifier.weight": torch.zeros(2, 3)}, path)
    with pytest.raises(ModelFileError, match=r"not a torchvision-layout ResNet-18/34/50.*features\.0\.weight"):
        DeepClassifier(transfer_from=path).fit(np.zeros((4, 8, 8)), [0, 1, 0, 1])


def test_a_pickled_payload_posing_as_weights_never_runs(tmp_path):
    import os
    import pickle

    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    path = tmp_path / "resnet18.pth"
    path.write_bytes(pickle.dumps(Payload()))
    with pytest.raises(ModelFileError):
        DeepClassifier(transfer_from=path).fit(np.zeros((4, 8, 8)), [0, 1, 0, 1])
    assert not marker.exists()
    assert load  # the module imports cleanly alongside
