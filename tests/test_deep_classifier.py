"""DeepClassifier on tables: accuracy without tuning, depth, mixed columns, reproducibility."""

import numpy as np
import pandas as pd
import pytest
from conftest import mixed_table
from sklearn.datasets import load_breast_cancer, load_wine, make_classification
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from deepfit import DeepClassifier


@pytest.mark.slow
def test_digits_reach_097_with_defaults(digits_split):
    X_train, X_test, y_train, y_test = digits_split
    assert DeepClassifier(random_state=0).fit(X_train, y_train).score(X_test, y_test) >= 0.97


@pytest.mark.slow
@pytest.mark.parametrize("loader", [load_wine, load_breast_cancer], ids=["wine", "breast_cancer"])
def test_small_real_tables_match_scikit_learns_mlp(loader):
    X, y = loader(return_X_y=True)
    ours, theirs = [], []
    for seed in range(3):
        X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=seed, stratify=y)
        ours.append(DeepClassifier(random_state=seed).fit(X_train, y_train).score(X_test, y_test))
        reference = make_pipeline(StandardScaler(), MLPClassifier(max_iter=500, random_state=seed))
        theirs.append(reference.fit(X_train, y_train).score(X_test, y_test))
    assert np.mean(ours) >= np.mean(theirs) - 0.01


@pytest.mark.slow
def test_150_hidden_layers_train_on_the_digits(digits_split):
    X_train, X_test, y_train, y_test = digits_split
    deep = DeepClassifier(hidden_layers=150, width=64, max_epochs=20, batch_size=64, learning_rate=1e-3,
                          random_state=0).fit(X_train, y_train)
    assert deep.module_.residual
    assert deep.score(X_test, y_test) >= 0.95


def test_no_hidden_layer_is_a_linear_model(blobs):
    X, y = blobs
    model = DeepClassifier(hidden_layers=0, max_epochs=50, random_state=0).fit(X, y)
    assert [type(m).__name__ for m in model.module_.modules()].count("Linear") == 1
    assert model.score(X, y) > 0.9


def test_dataframe_with_categories_and_missing_values():
    frame = mixed_table(400)
    train, test = frame.iloc[:300], frame.iloc[300:]
    model = DeepClassifier(random_state=0).fit(train.drop(columns="label"), train["label"])
    # The label is an XOR of a number and a category: a linear model cannot, a network must.
    assert model.score(test.drop(columns="label"), test["label"]) > 0.85


def test_unseen_category_and_missing_value_at_predict_time():
    frame = mixed_table(200)
    model = DeepClassifier(max_epochs=10, random_state=0).fit(frame.drop(columns="label"), frame["label"])
    new = pd.DataFrame({"size": [12.0, np.nan], "colour": ["purple", None], "weight": [np.nan, 40.0]})
    probabilities = model.predict_proba(new)
    assert probabilities.shape == (2, 2) and np.allclose(probabilities.sum(axis=1), 1)


def test_dataframe_columns_are_matched_by_name_and_missing_ones_named():
    frame = mixed_table(100)
    features = frame.drop(columns="label")
    model = DeepClassifier(max_epochs=5, random_state=0).fit(features, frame["label"])
    with pytest.raises(ValueError, match="weight"):
        model.predict(features.drop(columns="weight"))


def test_same_random_state_same_predictions_different_state_different_weights(blobs):
    X, y = blobs
    first = DeepClassifier(max_epochs=10, random_state=1).fit(X, y).predict_proba(X)
    again = DeepClassifier(max_epochs=10, random_state=1).fit(X, y).predict_proba(X)
    other = DeepClassifier(max_epochs=10, random_state=2).fit(X, y).predict_proba(X)
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)


def test_early_stopping_stops_and_restores_the_best_epoch():
    X, y = make_classification(600, 20, n_informative=4, flip_y=0.3, random_state=0)
    model = DeepClassifier(early_stopping=True, patience=5, max_epochs=200, random_state=0).fit(X, y)
    summary = model.training_summary_
    assert summary["epochs"] < 200 and "has not improved for 5 epochs" in summary["stop_reason"]
    assert summary["best_epoch"] == summary["epochs"] - 5
    assert summary["n_validation"] == 60


def test_one_class_is_refused_with_a_fix():
    with pytest.raises(ValueError, match="only one class.*at least two"):
        DeepClassifier().fit(np.zeros((10, 2)), np.ones(10))


def test_infinite_value_is_refused_naming_the_column():
    frame = pd.DataFrame({"a": [1.0, np.inf, 2.0, 3.0], "b": [1, 2, 3, 4]})
    with pytest.raises(ValueError, match=r"column 'a', row 2 is infinite"):
        DeepClassifier().fit(frame, [0, 1, 0, 1])


def test_verbose_shows_a_progress_bar_and_quiet_is_silent(blobs, capsys):
    X, y = blobs
    DeepClassifier(max_epochs=3, random_state=0).fit(X, y)
    assert capsys.readouterr().err == ""
    DeepClassifier(max_epochs=3, random_state=0, verbose=True).fit(X, y)
    assert "3/3" in capsys.readouterr().err
