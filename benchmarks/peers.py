"""One measurement of one tool, run in its own process: `python peers.py TASK TOOL OPTIONS_JSON`.

Prints one JSON line. The peers get the same network as deepfit's default (3 hidden layers of
256 ReLU units; 64-512-512-10 for throughput), standardised inputs, and the settings their users
start from: Adam at 1e-3 with the tool's own default batch size (scikit-learn's MLPClassifier with
all of its defaults). Timings are of training only: imports and data generation are excluded,
the first torch.optim call's one-off import is included (users pay it), and evaluations made to
find the time to a target accuracy are excluded from the clock.
"""

from __future__ import annotations

import json
import os
import sys
import time
import warnings

import numpy as np

os.environ.setdefault("KERAS_BACKEND", "torch")
warnings.filterwarnings("ignore")
TARGET_DIGITS = 0.97
LETTERS_EPOCHS = 30  # for the loops that have no default number of epochs


# ------------------------------------------------------------------------------ data
def digits():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    return train_test_split(X.astype(np.float32), y, test_size=0.2, random_state=0, stratify=y)


def letters():
    from sklearn.datasets import make_classification
    from sklearn.model_selection import train_test_split

    X, y = make_classification(20_000, 16, n_informative=12, n_redundant=2, n_classes=26, n_clusters_per_class=2,
                               class_sep=1.5, random_state=0)
    return train_test_split(X.astype(np.float32), y, test_size=0.2, random_state=0, stratify=y)


def throughput_data():
    from sklearn.datasets import make_classification

    X, y = make_classification(200_000, 64, n_informative=32, n_classes=10, random_state=0)
    return X.astype(np.float32), y


def standardise(X_train, *others):
    mean, std = X_train.mean(axis=0), X_train.std(axis=0) + 1e-6
    return [((X - mean) / std).astype(np.float32) for X in (X_train, *others)]


def torch_network(n_inputs, n_outputs, hidden=(256, 256, 256)):
    import torch

    layers, width = [], n_inputs
    for units in hidden:
        layers += [torch.nn.Linear(width, units), torch.nn.ReLU()]
        width = units
    return torch.nn.Sequential(*layers, torch.nn.Linear(width, n_outputs))


def keras_network(n_inputs, n_outputs, hidden=(256, 256, 256)):
    import keras

    layers = [keras.Input((n_inputs,))] + [keras.layers.Dense(u, activation="relu") for u in hidden]
    model = keras.Sequential(layers + [keras.layers.Dense(n_outputs, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


class Clock:
    """Training seconds, with evaluation pauses left out."""

    def __init__(self):
        self.total, self.started = 0.0, None

    def start(self):
        self.started = time.perf_counter()

    def stop(self):
        if self.started is not None:
            self.total += time.perf_counter() - self.started
            self.started = None


# --------------------------------------------------------------- epoch-by-epoch trainers
def epochs_of(tool, X_train, y_train, n_classes, epochs, batch_size=None, hidden=(256, 256, 256)):
    """Yield after every epoch a predict function; the caller times and evaluates."""
    if tool == "deepfit":
        raise ValueError("deepfit is driven by its own callback")
    if tool == "sklearn_mlp":
        from sklearn.neural_network import MLPClassifier

        model = MLPClassifier(hidden_layer_sizes=hidden, random_state=0,
                              **({"batch_size": batch_size} if batch_size else {}))
        classes = np.arange(n_classes)
        for _ in range(epochs):
            model.partial_fit(X_train, y_train, classes=classes)
            yield model.predict
        return
    if tool in ("torch_dataloader", "torch_slicing"):
        import torch

        torch.manual_seed(0)
        network = torch_network(X_train.shape[1], n_classes, hidden)
        optimizer = torch.optim.Adam(network.parameters(), lr=1e-3)
        x, y = torch.from_numpy(X_train), torch.from_numpy(y_train).long()
        batch_size = batch_size or 64
        loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=batch_size,
                                             shuffle=True)
        for _ in range(epochs):
            network.train()
            if tool == "torch_dataloader":
                batches = loader
            else:
                order = torch.randperm(len(y))
                batches = ((x[order[i:i + batch_size]], y[order[i:i + batch_size]]) for i in range(0, len(y), batch_size))
            for xb, yb in batches:
                optimizer.zero_grad()
                torch.nn.functional.cross_entropy(network(xb), yb).backward()
                optimizer.step()

            def predict(X, network=network):
                with torch.inference_mode():
                    return network.eval()(torch.from_numpy(X)).argmax(1).numpy()
            yield predict
        return
    if tool == "skorch":
        import torch
        from skorch import NeuralNetClassifier

        torch.manual_seed(0)
        net = NeuralNetClassifier(torch_network(X_train.shape[1], n_classes, hidden), criterion=torch.nn.CrossEntropyLoss,
                                  optimizer=torch.optim.Adam, lr=1e-3, max_epochs=1, train_split=None, verbose=0,
                                  **({"batch_size": batch_size} if batch_size else {}))
        net.initialize()
        for _ in range(epochs):
            net.partial_fit(X_train, y_train.astype(np.int64))
            yield net.predict
        return
    if tool == "keras":
        import keras

        keras.utils.set_random_seed(0)
        model = keras_network(X_train.shape[1], n_classes, hidden)
        for _ in range(epochs):
            model.fit(X_train, y_train, epochs=1, verbose=0, **({"batch_size": batch_size} if batch_size else {}))
            yield lambda X: model.predict(X, verbose=0, batch_size=4096).argmax(1)
        return
    raise ValueError(f"unknown tool {tool}")


def deepfit_trajectory(X_train, y_train, X_test, y_test, target=None, **params):
    """Fit deepfit with a callback that scores the test set after every epoch (off the clock)."""
    from deepfit import DeepClassifier
    from deepfit.training.callbacks import Callback

    clock = Clock()
    trajectory = []

    class Scorer(Callback):
        def on_epoch_begin(self, state):
            clock.start()

        def on_epoch_end(self, state):
            clock.stop()
            accuracy = float((model.classes_[_argmax(state.module, X_test)] == y_test).mean())
            trajectory.append([round(clock.total, 4), accuracy])
            if target is not None and accuracy >= target:
                state.stop = True

    def _argmax(module, X):
        import torch

        encoded = torch.from_numpy(model.encoder_.transform(X))
        training = module.training
        module.eval()  # an ensemble answers with its members' mean only in eval mode
        with torch.inference_mode():
            result = module(encoded).argmax(1).numpy()
        module.train(training)
        return result

    model = DeepClassifier(random_state=0, **params)
    model.fit(X_train, y_train, callbacks=[Scorer()])
    return model, trajectory


# ----------------------------------------------------------------------------- tasks
def task_digits(tool, options):
    X_train, X_test, y_train, y_test = digits()
    if tool == "deepfit":
        _, trajectory = deepfit_trajectory(X_train, y_train, X_test, y_test, target=TARGET_DIGITS)
        seconds, accuracy = trajectory[-1]
        return {"seconds_to_target": seconds if accuracy >= TARGET_DIGITS else None, "epochs": len(trajectory),
                "accuracy": accuracy}
    clock = Clock()
    clock.start()
    if tool != "sklearn_mlp":
        X_train, X_test = standardise(X_train, X_test)
    else:
        from sklearn.preprocessing import StandardScaler

        scaler = StandardScaler().fit(X_train)
        X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    accuracy, epochs = 0.0, 0
    for predict in epochs_of(tool, X_train, y_train, 10, epochs=200):
        clock.stop()
        epochs += 1
        accuracy = float((predict(X_test) == y_test).mean())
        if accuracy >= TARGET_DIGITS:
            break
        clock.start()
    return {"seconds_to_target": clock.total if accuracy >= TARGET_DIGITS else None, "epochs": epochs,
            "accuracy": accuracy}


def task_letters(tool, options):
    X_train, X_test, y_train, y_test = letters()
    if tool == "deepfit":
        started = time.perf_counter()
        model, trajectory = deepfit_trajectory(X_train, y_train, X_test, y_test)
        return {"seconds": trajectory[-1][0], "accuracy": float(model.score(X_test, y_test)),
                "epochs": len(trajectory), "trajectory": trajectory,
                "wall_seconds_with_scoring": time.perf_counter() - started}
    if tool == "sklearn_mlp":
        from sklearn.neural_network import MLPClassifier
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        started = time.perf_counter()
        model = make_pipeline(StandardScaler(), MLPClassifier(random_state=0)).fit(X_train, y_train)
        return {"seconds": time.perf_counter() - started, "accuracy": float(model.score(X_test, y_test)),
                "epochs": int(model[-1].n_iter_)}
    started = time.perf_counter()
    X_train, X_test = standardise(X_train, X_test)
    predict = None
    for predict in epochs_of(tool, X_train, y_train, 26, epochs=LETTERS_EPOCHS):  # noqa: B007 (the last one is kept)
        pass
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "accuracy": float((predict(X_test) == y_test).mean()), "epochs": LETTERS_EPOCHS}


def task_throughput(tool, options):
    batch_size = options["batch_size"]
    X, y = throughput_data()
    epochs = 3
    hidden = (512, 512)
    parameters = 64 * 512 + 512 + 512 * 512 + 512 + 512 * 10 + 10
    times = []
    if tool == "deepfit":
        from deepfit import DeepClassifier
        from deepfit.training.callbacks import Callback

        class EpochTimer(Callback):
            def on_epoch_begin(self, state):
                self.started = time.perf_counter()

            def on_epoch_end(self, state):
                times.append(time.perf_counter() - self.started)

        # The same plain network and arithmetic as the peers: one MLP, no embeddings, no held-out rows, float32.
        DeepClassifier(hidden_layers=2, width=512, batch_size=batch_size, max_epochs=epochs, learning_rate=1e-3,
                       ensemble_size=1, numeric_embedding="none", early_stopping=False, precision="float32",
                       random_state=0).fit(X, y, callbacks=[EpochTimer()])
    else:
        X = standardise(X)[0]
        started = time.perf_counter()
        for _ in epochs_of(tool, X, y, 10, epochs=epochs, batch_size=batch_size, hidden=hidden):
            times.append(time.perf_counter() - started)
            started = time.perf_counter()
    steady = times[1:]  # the first epoch warms caches and allocators
    rate = len(y) / (sum(steady) / len(steady))
    peak = task_peak("torch", {})["gflops"]  # this process's own moment of the shared machine
    return {"samples_per_second": rate, "flops_per_sample": 6 * parameters, "epochs_timed": len(steady),
            "matmul_peak_gflops": peak, "share_of_peak": rate * 6 * parameters / 1e9 / peak}


def task_latency(tool, options):
    X_train, X_test, y_train, y_test = digits()
    rows = np.tile(X_test, (28, 1))[:10_000]
    one = X_test[:1]
    if tool == "deepfit":
        from deepfit import DeepClassifier

        model = DeepClassifier(max_epochs=5, random_state=0).fit(X_train, y_train)
        predict_one = predict_many = model.predict_proba
    elif tool == "torch_raw":
        import torch

        network = torch_network(64, 10).eval()

        def predict_one(X):
            with torch.inference_mode():
                return torch.softmax(network(torch.from_numpy(X)), 1).numpy()
        predict_many = predict_one
    elif tool == "sklearn_mlp":
        from sklearn.neural_network import MLPClassifier

        model = MLPClassifier(hidden_layer_sizes=(256, 256, 256), max_iter=5, random_state=0).fit(X_train, y_train)
        predict_one = predict_many = model.predict_proba
    elif tool == "skorch":
        import torch
        from skorch import NeuralNetClassifier

        model = NeuralNetClassifier(torch_network(64, 10), criterion=torch.nn.CrossEntropyLoss, max_epochs=2,
                                    train_split=None, verbose=0).fit(X_train, y_train.astype(np.int64))
        predict_one = predict_many = model.predict_proba
    elif tool == "keras":
        model = keras_network(64, 10)
        model.fit(X_train, y_train, epochs=2, verbose=0)
        predict_one = lambda X: model(X, training=False)  # noqa: E731  (the fast path Keras documents)
        predict_many = lambda X: model.predict(X, verbose=0)  # noqa: E731
    else:
        raise ValueError(tool)
    for _ in range(50):
        predict_one(one)
    medians = []  # 5 rounds; the steadiest one counts, as a shared machine's load comes and goes
    for _ in range(5):
        samples = []
        for _ in range(400):
            started = time.perf_counter()
            predict_one(one)
            samples.append(time.perf_counter() - started)
        medians.append(float(np.median(samples)))
    predict_many(rows)
    started = time.perf_counter()
    for _ in range(5):
        predict_many(rows)
    return {"one_row_microseconds": min(medians) * 1e6,
            "rows_per_second_10k": 5 * len(rows) / (time.perf_counter() - started)}


def task_peak(tool, options):
    import torch

    a = torch.randn(2048, 2048)
    best = 0.0
    for _ in range(3):
        a @ a
    for _ in range(10):
        started = time.perf_counter()
        a @ a
        best = max(best, 2 * 2048 ** 3 / (time.perf_counter() - started) / 1e9)
    return {"gflops": best}


if __name__ == "__main__":
    task, tool, options = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
    if tool in ("skorch", "keras"):
        import importlib.util

        if importlib.util.find_spec(tool) is None:
            print(f"{tool} is not installed (make benchmark-env)", file=sys.stderr)
            sys.exit(3)
    result = globals()[f"task_{task}"](tool, options)
    print(json.dumps({"tool": tool, **result}))
