"""The default table network: robust scaling with a smooth clip, the ensemble inside one network, label
smoothing and keeping the best epoch by validation accuracy; saved, loaded and exported like the rest."""

import json

import numpy as np
import pandas as pd
import pytest
import torch

import deepfit
from deepfit import DeepClassifier
from deepfit.data.encoder import TableEncoder
from deepfit.estimators.refit import ACCURACY_ROWS, Refit, RefitPhases, StillImproving, loss_floor
from deepfit.modelfile import read_model, write_model
from deepfit.models import build, parameter_count
from deepfit.models.ensemble import EnsembleMLP
from deepfit.training.loop import LoopSettings, TensorData, loss_for


def test_robust_scaling_keeps_the_bulk_of_a_column_apart_from_one_huge_outlier():
    values = np.r_[np.linspace(0, 1, 99), 1e9][:, None]
    standard = TableEncoder.fit(values, scaling="standard").transform(values)[:99, 0]
    robust = TableEncoder.fit(values, scaling="robust").transform(values)[:, 0]
    assert np.ptp(standard) < 1e-6  # the outlier squeezes 99 rows into a sliver: the network cannot tell them apart
    assert np.ptp(robust[:99]) > 1.5 and np.all(np.diff(robust[:99]) > 0)  # order and spread kept
    assert 2.9 < robust[99] <= 3.0  # the outlier bent back to the clip's radius, not dropped


def test_robust_encoder_round_trips_and_agrees_on_arrays_and_frames():
    rng = np.random.default_rng(0)
    values = rng.standard_cauchy((50, 3))
    values[4, 2] = np.nan
    encoder = TableEncoder.fit(values, scaling="robust")
    restored = TableEncoder.from_dict(json.loads(json.dumps(encoder.to_dict())))
    assert np.array_equal(restored.transform(values), encoder.transform(values))
    frame = pd.DataFrame(values, columns=["a", "b", "c"]).assign(kind=["x", "y"] * 25)
    mixed = TableEncoder.fit(frame, scaling="robust").transform(frame)  # per-column path (a text column)
    assert np.allclose(mixed[:, :4], encoder.transform(values), atol=1e-6)


def test_an_encoder_from_before_the_clip_still_loads_as_standard_scaling():
    values = np.random.default_rng(1).normal(size=(30, 2))
    saved = TableEncoder.fit(values).to_dict()
    for column in saved["columns"]:
        column.pop("clip")  # what model files written before robust scaling hold
    assert np.array_equal(TableEncoder.from_dict(saved).transform(values), TableEncoder.fit(values).transform(values))


def test_the_ensemble_answers_with_the_mean_of_its_members_probabilities():
    torch.manual_seed(0)
    net = EnsembleMLP(n_inputs=5, n_outputs=3, hidden_layers=2, width=16, members=4)
    inputs = torch.randn(7, 5)
    members = net.train().member_scores(inputs)
    assert members.shape == (7, 4, 3)
    mean_probability = torch.softmax(members, dim=-1).mean(dim=1)
    answer = torch.softmax(net.eval()(inputs), dim=1)
    assert torch.allclose(answer, mean_probability, atol=1e-6)
    assert len({tuple(row) for row in net.body[0].scales.sign().tolist()}) > 1  # members start from other views


def test_each_member_is_the_shared_layers_on_its_own_view_of_each_row_with_its_own_head():
    torch.manual_seed(1)
    net = EnsembleMLP(n_inputs=5, n_outputs=3, hidden_layers=2, width=16, members=4).train()
    with torch.no_grad():
        net.body[0].scales.normal_()  # learned views, not only signs
        inputs = torch.randn(7, 5)
        scores = net.member_scores(inputs)
        shared = net.body[1:]
        for member in range(4):
            hidden = shared(inputs * net.body[0].scales[member])
            alone = hidden @ net.head.weight[member] + net.head.bias[member]
            assert torch.allclose(scores[:, member], alone, atol=1e-5)
        features = net.features(inputs)
    views = [shared(inputs * net.body[0].scales[member]) for member in range(4)]
    assert torch.allclose(features, torch.stack(views).mean(dim=0), atol=1e-5)


def test_the_ensemble_architecture_is_counted_and_built_from_data():
    architecture = {"name": "ensemble_mlp", "n_inputs": 6, "n_outputs": 2, "members": 8, "hidden_layers": 3,
                    "width": 32, "dropout": 0.0}
    module = build(architecture)
    assert parameter_count(architecture) == sum(t.numel() for t in module.state_dict().values())
    with pytest.raises(ValueError, match="implausible"):
        parameter_count({**architecture, "members": 10**6})


def test_each_member_has_its_own_label_smoothed_loss():
    scores, y = torch.randn(5, 3, 4), torch.tensor([0, 1, 2, 3, 0])
    loss = loss_for(LoopSettings(label_smoothing=0.1))(scores, y)
    per_member = [torch.nn.functional.cross_entropy(scores[:, m], y, label_smoothing=0.1) for m in range(3)]
    assert torch.allclose(loss, torch.stack(per_member).mean(), atol=1e-6)


def test_every_table_holds_rows_out_and_a_training_set_of_1500_rows_or_more_learns_at_a_higher_rate():
    from sklearn.datasets import make_classification

    X, y = make_classification(600, 10, n_informative=4, flip_y=0.2, random_state=0)
    small = DeepClassifier(random_state=0).fit(X, y)
    assert small.architecture_["name"] == "ensemble_mlp" and small.architecture_["members"] == 8
    assert small.architecture_["numeric_embedding"] == 10  # every number also as periodic embeddings
    assert small.training_summary_["n_validation"] == 60
    assert "has not improved" in small.training_summary_["stop_reason"]
    assert max(row["learning_rate"] for row in small.history_) == pytest.approx(2e-3, rel=0.05)
    X, y = make_classification(2000, 10, n_informative=4, random_state=0)
    large = DeepClassifier(max_epochs=3, random_state=0).fit(X, y)  # 1,800 rows kept: the higher rate
    assert large.training_summary_["n_validation"] == 200 and large.training_summary_["epochs"] == 3
    # 4e-3 x sqrt(2) at the peak (batches of 64 for the schedule's 32); the first epoch ends a third of the
    # way down the cosine
    assert max(row["learning_rate"] for row in large.history_) > 3e-3
    deep = DeepClassifier(hidden_layers=5, max_epochs=2, random_state=0).fit(X, y)
    assert deep.architecture_["name"] == "mlp"  # residual depth: one network on the plain inputs, as the guide draws it
    assert max(row["learning_rate"] for row in deep.history_) < 2e-3  # the higher rate was measured on 1-3 layers


def test_a_table_takes_twice_the_rows_a_step_for_the_same_epochs_as_fifty_steps_an_epoch():
    from sklearn.datasets import make_classification

    X, y = make_classification(1800, 10, n_informative=4, random_state=0)
    model = DeepClassifier(hidden_layers=1, width=32, early_stopping=False, random_state=0).fit(X[:1600], y[:1600])
    # 50 steps an epoch would be batches of 32 and 60 epochs (3,000 steps); a step of 64 rows costs little
    # more, so the same 60 epochs take 1,500 steps
    assert model.training_summary_["batch_size"] == 64 and model.training_summary_["epochs"] == 60
    peak = max(row["learning_rate"] for row in model.history_)  # half the steps, each sqrt(2) times longer
    assert peak == pytest.approx(4e-3 * 2 ** 0.5, rel=0.05)
    assert model.score(X[1600:], y[1600:]) > 0.85
    picky = DeepClassifier(hidden_layers=1, width=32, batch_size=16, max_epochs=1, random_state=0).fit(X, y)
    assert picky.training_summary_["batch_size"] == 16  # a batch size given is used as given


def clean_rule_table(rows: int, seed: int = 0):
    """A small table whose class is a rule of its columns (no noise): car evaluation's kind of table."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, 4))
    return X, np.where(X[:, 0] + X[:, 1] > 0, "yes", "no")


def test_a_small_clean_table_is_trained_again_on_every_row_and_a_noisy_one_keeps_its_early_stop(tmp_path):
    from sklearn.datasets import make_classification

    X, y = clean_rule_table(800)
    clean = DeepClassifier(random_state=0, width=64).fit(X, y)
    summary = clean.training_summary_
    refit = summary["refit"]  # the held-out loss still fell late in the schedule: the rows are worth more
    first_schedule = 3000 // 23  # 720 rows kept: 23 batches of 32 an epoch
    assert refit["best_epoch"] == refit["first_epochs"] >= 0.25 * first_schedule  # decided there, not trained on
    assert refit["n_train"] == 800 and refit["learning_rate"] == 4e-3 and refit["epochs"] == 3000 // 25
    assert summary["n_validation"] == 80 and summary["epochs"] == refit["first_epochs"] + refit["epochs"]
    assert len(clean.history_) == summary["epochs"] and "val_loss" not in clean.history_[-1]
    X_test, y_test = clean_rule_table(2000, seed=1)
    assert clean.score(X_test, y_test) > 0.97
    page = deepfit.evaluate(clean, X_test, y_test).write_report(tmp_path / "report.html").read_text()
    assert "on all 800 rows, whose weights are kept" in page and "The weights kept are those of epoch" not in page
    X, y = make_classification(400, 10, n_informative=4, flip_y=0.3, random_state=0)
    noisy = DeepClassifier(random_state=0, width=64).fit(X, y)
    assert "refit" not in noisy.training_summary_ and "val_loss" in noisy.history_[-1]
    told = DeepClassifier(random_state=0, width=64, max_epochs=60).fit(*clean_rule_table(800))
    assert "refit" not in told.training_summary_  # epochs the user set are kept to


def test_a_small_table_whose_held_out_rows_are_all_learned_stops_there_and_keeps_its_network():
    def separated(rows, seed):  # two classes far apart (banknote authentication's kind of table)
        rng = np.random.default_rng(seed)
        X = rng.normal(size=(rows, 4))
        X[:, 0] += np.where(X[:, 1] > 0, 4.0, -4.0)
        return X, np.where(X[:, 1] > 0, "forged", "genuine")

    model = DeepClassifier(random_state=0, width=64).fit(*separated(800, 0))
    summary = model.training_summary_
    assert "refit" not in summary and "reached its floor" in summary["stop_reason"], summary
    assert summary["val_loss"] <= loss_floor(2, 0.1) + 1e-3 and summary["val_accuracy"] == 1.0
    assert summary["epochs"] < 0.25 * (3000 // 23)  # stopped long before the schedule's quarter
    assert model.score(*separated(2000, 1)) > 0.995


def test_every_ingredient_can_be_switched_off(blobs):
    X, y = blobs
    plain = DeepClassifier(max_epochs=3, ensemble_size=1, early_stopping=False, label_smoothing=0.0,
                           numeric_scaling="standard", numeric_embedding="none", precision="float32",
                           random_state=0).fit(X, y)
    assert plain.architecture_["name"] == "mlp" and plain.training_summary_["n_validation"] == 0
    assert plain.training_summary_["precision"] == "float32"
    assert all(column.clip == 0 for column in plain.encoder_.columns)


def test_an_ensemble_model_file_round_trips_and_an_old_one_still_loads(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"size": rng.lognormal(size=200), "colour": rng.choice(["red", "blue"], 200)})
    labels = (frame["size"] > 1).astype(int) + 2 * (frame["colour"] == "red")
    model = DeepClassifier(max_epochs=4, random_state=0).fit(frame, labels)
    loaded = deepfit.load(model.save(tmp_path / "m.deepfit"))
    assert np.array_equal(loaded.predict_proba(frame), model.predict_proba(frame))
    # A file written before this change: a plain MLP, columns without a clip, no new parameters.
    old = DeepClassifier(max_epochs=4, ensemble_size=1, numeric_scaling="standard", random_state=0).fit(frame, labels)
    header, tensors = read_model(old.save(tmp_path / "old.deepfit"))
    for name in ("label_smoothing", "ensemble_size", "numeric_scaling"):
        header["params"].pop(name)
    header["params"].update(early_stopping=False, patience=15)
    for column in header["encoder"]["columns"]:
        column.pop("clip", None)
    write_model(tmp_path / "old.deepfit", header, tensors)
    reloaded = deepfit.load(tmp_path / "old.deepfit")
    assert np.allclose(reloaded.predict_proba(frame), old.predict_proba(frame), atol=1e-6)


def test_periodic_embeddings_give_each_number_as_cosines_beside_the_inputs():
    from deepfit.models.embeddings import PeriodicEmbeddings

    torch.manual_seed(0)
    layer = PeriodicEmbeddings(numeric=2, inputs=3, frequencies=5, dims=4)
    inputs = torch.randn(6, 3)
    out = layer(inputs)
    assert out.shape == (6, 3 + 2 * 4) and torch.equal(out[:, :3], inputs)
    by_hand = torch.cos(2 * np.pi * (inputs[:, 1, None] * layer.frequency[1] + layer.phase[1])) @ layer.mix[1]
    assert torch.allclose(out[:, 3 + 4:], by_hand + layer.bias[1], atol=1e-5)


@pytest.mark.parametrize("embedding", ["none", "periodic"])
def test_onnx_export_scales_clips_and_pools_the_members_inside_the_file(tmp_path, embedding):
    import onnxruntime

    from deepfit.export import export_model

    rng = np.random.default_rng(0)
    X = rng.lognormal(size=(300, 4))
    y = (X[:, 0] > X[:, 1]).astype(int)
    model = DeepClassifier(max_epochs=5, numeric_embedding=embedding, random_state=0).fit(X, y)
    X_test = rng.lognormal(size=(50, 4))
    X_test[0, 0], X_test[1, 2], X_test[2, 3] = 1e30, -1e12, np.nan  # far out on both sides, and a gap
    result = export_model(model, tmp_path / "m.onnx")
    session = onnxruntime.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    produced = session.run(["probabilities"], {"features": X_test.astype(np.float32)})[0]
    assert np.abs(produced - model.predict_proba(X_test)).max() <= 1e-5 and result.max_difference <= 1e-5


def held_out_history(accuracies):
    """A first phase whose held-out loss is best at epoch 2 and then levels off, while its accuracy goes as given."""
    return [{"epoch": epoch, "val_loss": 0.9 if epoch == 2 else 1.0, "val_accuracy": accuracy}
            for epoch, accuracy in enumerate(accuracies, start=1)]


@pytest.mark.parametrize("held_out_rows, trained_again", [(ACCURACY_ROWS, True), (ACCURACY_ROWS - 1, False)])
def test_a_rising_held_out_accuracy_past_a_quarter_of_the_schedule_trains_again_only_on_enough_held_out_rows(
        held_out_rows, trained_again):
    # wine quality's kind of table: the loss levels off early, the accuracy goes on rising
    rising = [0.50, 0.55, 0.54, 0.56, 0.55, 0.57]
    data = TensorData(torch.zeros(10, 2), torch.zeros(10), torch.zeros(held_out_rows, 2), torch.zeros(held_out_rows))
    settings = LoopSettings(max_epochs=16)  # a quarter of it: epoch 4
    plan = RefitPhases(None, data, settings, Refit(settings, dict, after=0.25), lambda phase, held_out: [])
    plan.finished(0, type("State", (), {"history": held_out_history(rising)})())
    assert plan.refitting is trained_again
    if trained_again:
        assert plan.summary()["refit"]["reason"].startswith("the held-out accuracy was still rising at epoch 6 of 16")


@pytest.mark.parametrize("last_loss, last_accuracy, trained_again", [
    (0.2022, 1.0, False),  # banknote's kind: every held-out row right, 0.004 above the floor
    (0.2022, 0.99, True),  # one held-out row of a hundred wrong
    (0.2100, 1.0, True),  # all right, but not yet as confident as the smoothed targets ask
])
def test_a_first_phase_that_learned_every_held_out_row_is_kept_rather_than_trained_again(
        last_loss, last_accuracy, trained_again):
    losses = [0.30, 0.25, 0.22, 0.21, 0.205, last_loss]  # still falling past a quarter of the schedule
    history = [{"epoch": epoch, "val_loss": loss, "val_accuracy": 1.0} for epoch, loss in enumerate(losses, start=1)]
    history[-1]["val_accuracy"] = last_accuracy
    data = TensorData(torch.zeros(10, 2), torch.zeros(10), torch.zeros(100, 2), torch.zeros(100))
    settings = LoopSettings(max_epochs=16)
    plan = RefitPhases(None, data, settings, Refit(settings, dict, after=0.25, floor=loss_floor(2, 0.1)),
                       lambda phase, held_out: [])
    state = type("State", (), {"history": history, "stop_reason": "the held-out loss was still falling at epoch 6 of "
                               "16: trained again on every row"})()
    plan.finished(0, state)
    assert plan.refitting is trained_again and ("refit" in plan.summary()) is trained_again
    assert trained_again or plan.phase(1, restored=False) is None  # nothing more to train
    kept = "every held-out row is learned at epoch 6" in state.stop_reason and "not trained again" in state.stop_reason
    assert kept is not trained_again, state.stop_reason


def test_the_first_phase_stops_at_the_first_new_best_accuracy_past_a_quarter_of_the_schedule():
    def stopped_at(callback, accuracies):
        state = type("State", (), {"stop": False, "stop_reason": "", "max_epochs": 16})()
        for row in held_out_history(accuracies):
            state.history = [*getattr(state, "history", []), row]
            state.epoch, state.val_loss, state.val_accuracy = row["epoch"], row["val_loss"], row["val_accuracy"]
            callback.on_epoch_end(state)
            if state.stop:
                return state.epoch, state.stop_reason
        return None

    rising = [0.50, 0.55, 0.54, 0.56, 0.55, 0.57]
    epoch, reason = stopped_at(StillImproving(4, accuracy=True), rising)
    assert epoch == 4 and reason.startswith("the held-out accuracy was still rising at epoch 4")
    assert stopped_at(StillImproving(4, accuracy=False), rising) is None  # the loss alone has not improved since 2
    assert stopped_at(StillImproving(4, accuracy=True), [0.5, 0.6, 0.6, 0.6, 0.6]) is None  # a tie is no new best


def test_a_large_noisy_table_keeps_its_early_stopped_network_as_accurate_as_the_whole_schedule_in_fewer_epochs():
    from sklearn.datasets import make_classification

    # credit scoring's and telecom churn's kind of table: thousands of rows, much of the label noise
    X, y = make_classification(4000, 10, n_informative=4, flip_y=0.3, random_state=0)
    early = DeepClassifier(random_state=0, width=64).fit(X[:2500], y[:2500])
    summary = early.training_summary_
    assert summary["n_validation"] == 250 and "refit" not in summary and "has not improved" in summary["stop_reason"]
    whole = DeepClassifier(random_state=0, width=64, early_stopping=False).fit(X[:2500], y[:2500])
    assert whole.training_summary_["n_validation"] == 0 and summary["epochs"] < whole.training_summary_["epochs"] / 2
    assert early.score(X[2500:], y[2500:]) >= whole.score(X[2500:], y[2500:]) - 0.01
