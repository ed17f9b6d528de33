"""One measurement of one tool on pictures, run in its own process:
`python peers_images.py TASK TOOL OPTIONS_JSON` (compare_images.py drives it). Prints one JSON line.

Every tool trains the same network: deepfit's residual CNN for the picture size
(`cnn_architecture`, built with `deepfit.models.build`), or for Keras the same layers written in
Keras (conv 3x3 without bias -> batch norm -> ReLU stem, one residual block per stage with a 1x1
projection where the shape changes, the second batch norm of each block starting at zero, He-normal
fan-out convolution weights, global average pool, linear head). Every tool augments alike: a random
shift of up to 1/8 of the side (crop of the zero-padded picture) and, where flips make sense, a
random left-right mirror -- deepfit in batches on the device, the DataLoader pipeline per picture in
Python/NumPy (what torchvision's RandomCrop(padding) + RandomHorizontalFlip + ToTensor + Normalize
do), Keras with its RandomTranslation / RandomFlip layers inside the model.

Timings are of training only. Imports and data generation are excluded; building the dataset,
network and optimizer is included (users pay it), and the test-set evaluations made to find the
time to a target accuracy are excluded from the clock. torch keeps its default thread count in
every tool.
"""

from __future__ import annotations

import json
import os
import sys
import time
import warnings

import numpy as np
from peers import Clock  # the table benchmark's: training seconds, evaluation left out

os.environ.setdefault("KERAS_BACKEND", "torch")  # before keras is imported: Keras 3 on PyTorch
warnings.filterwarnings("ignore")

TARGET_DIGITS = 0.985
THROUGHPUT_BATCH = 128
# digits: each peer's usual batch (64 in the PyTorch tutorials; 32, Keras's default)
PEER_BATCH = {"torch_dataloader": 64, "keras": 32}


# ------------------------------------------------------------------------------ data
def random_pictures(n: int):
    """n random 32x32 RGB uint8 pictures and 10 random classes: a throughput test, nothing to learn."""
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8), rng.integers(0, 10, n)


def digit_pictures():
    """scikit-learn's digits as 8x8 pictures (values 0..16), split 80/20, stratified."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    return train_test_split(digits.images.astype(np.float32), digits.target, test_size=0.2, random_state=0,
                            stratify=digits.target)


def channels_last(pictures: np.ndarray) -> np.ndarray:
    return pictures[..., None] if pictures.ndim == 3 else pictures


def pixel_statistics(pictures: np.ndarray, scale: float):
    """Per-channel mean and spread of the training pictures, after dividing by `scale` (ToTensor's /255)."""
    values = channels_last(pictures).astype(np.float64) / scale
    return values.mean(axis=(0, 1, 2)).astype(np.float32), values.std(axis=(0, 1, 2)).astype(np.float32)


def shift_for(side: int) -> int:
    from deepfit.training.augment import shift_for as deepfit_shift

    return deepfit_shift(side, side)  # an eighth of the side, at least one pixel: 4 for 32x32, 1 for 8x8


# --------------------------------------------------------------------------- networks
def architecture(pictures: np.ndarray, n_classes: int) -> dict:
    from deepfit.models.cnn import cnn_architecture

    height, width, channels = channels_last(pictures).shape[1:]
    return cnn_architecture(height, width, channels, n_classes)


def torch_network(arch: dict):
    """deepfit's CNN; its input layer stays the identity (mean 0, spread 1): the Dataset normalises."""
    from deepfit.models import build

    return build(arch)


def keras_augmentation(shift: int, side: int, flip: bool):
    """Keras's own augmentation layers, or none (and why) if they do not run on this backend."""
    import keras

    layers = [keras.layers.RandomTranslation(shift / side, shift / side, fill_mode="constant",
                                             interpolation="nearest")]
    if flip:
        layers.append(keras.layers.RandomFlip("horizontal"))
    try:  # they are backend-agnostic in Keras 3; check on a small batch all the same
        probe = np.zeros((2, side, side, 3), dtype=np.float32)
        for layer in layers:
            probe = layer(probe, training=True)
    except Exception as error:  # noqa: BLE001  (any failure means: measure Keras without augmentation)
        return [], f"none: RandomTranslation/RandomFlip failed on the torch backend ({type(error).__name__}: {error})"
    return layers, "RandomTranslation" + (" + RandomFlip" if flip else "") + " layers"


def keras_network(arch: dict, mean, std, shift: int, flip: bool, learning_rate: float = 1e-3):
    """The layers of deepfit's CNN, in Keras (channels last, Keras's default), compiled with AdamW."""
    import keras
    from keras import layers

    height, width = arch["image_size"]
    he_fan_out = keras.initializers.VarianceScaling(2.0, "fan_out", "untruncated_normal")  # kaiming_normal_

    def conv_bn(x, filters, kernel, stride, zero_gamma=False):
        x = layers.Conv2D(filters, kernel, stride, padding="same", use_bias=False, kernel_initializer=he_fan_out)(x)
        return layers.BatchNormalization(momentum=0.9, epsilon=1e-5,
                                         gamma_initializer="zeros" if zero_gamma else "ones")(x)

    inputs = keras.Input((height, width, arch["in_channels"]))
    augmentation, described = keras_augmentation(shift, min(height, width), flip)
    x = inputs
    for layer in augmentation:  # active in fit only, on raw pixels (zero padding = black, as in the others)
        x = layer(x)
    x = layers.Normalization(mean=mean, variance=np.square(std))(x)
    stages, stride = arch["stages"], arch["stem_stride"]
    x = layers.ReLU()(conv_bn(x, stages[0], 3, 2 if stride > 1 else 1))
    if stride == 4:
        x = layers.MaxPooling2D(3, 2, padding="same")(x)
    channels = stages[0]
    for index, outputs in enumerate(stages):
        for block in range(arch["blocks_per_stage"]):
            step = 2 if index > 0 and block == 0 else 1
            inner = layers.ReLU()(conv_bn(x, outputs, 3, step))
            inner = conv_bn(inner, outputs, 3, 1, zero_gamma=True)
            shortcut = x if step == 1 and channels == outputs else conv_bn(x, outputs, 1, step)
            x = layers.ReLU()(layers.Add()([shortcut, inner]))
            channels = outputs
    x = layers.GlobalAveragePooling2D()(x)
    if arch["dropout"] > 0:
        x = layers.Dropout(arch["dropout"])(x)
    model = keras.Model(inputs, layers.Dense(arch["n_outputs"])(x))
    model.compile(optimizer=keras.optimizers.AdamW(learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model, described


def trainable_parameters(tool: str, model) -> int:
    if tool == "keras":
        return int(sum(np.prod(weight.shape) for weight in model.trainable_weights))
    return int(sum(p.numel() for p in model.parameters() if p.requires_grad))


# ------------------------------------------------------------------- the DataLoader pipeline
def picture_dataset(pictures, labels, mean, std, shift: int, flip: bool, seed: int = 0):
    """What a torchvision user writes, without torchvision: per picture, in Python and NumPy,
    RandomCrop(size, padding=shift) -> RandomHorizontalFlip -> ToTensor (to float, /255 for uint8)
    -> Normalize(mean, std)."""
    import torch

    class PictureDataset(torch.utils.data.Dataset):
        def __init__(self):
            self.pictures = channels_last(pictures)  # kept as they come (uint8 stays uint8)
            self.labels = np.asarray(labels, dtype=np.int64)
            self.scale = 255.0 if self.pictures.dtype == np.uint8 else 1.0
            self.rng = np.random.default_rng(seed)

        def __len__(self):
            return len(self.labels)

        def __getitem__(self, i):
            picture = self.pictures[i]
            height, width = picture.shape[:2]
            if shift:
                padded = np.pad(picture, ((shift, shift), (shift, shift), (0, 0)))
                top, left = self.rng.integers(0, 2 * shift + 1, 2)
                picture = padded[top:top + height, left:left + width]
            if flip and self.rng.random() < 0.5:
                picture = picture[:, ::-1]
            picture = (picture.astype(np.float32) / self.scale - mean) / std
            return torch.from_numpy(np.ascontiguousarray(picture.transpose(2, 0, 1))), self.labels[i]

    return PictureDataset()


# --------------------------------------------------------------- epoch-by-epoch trainers
def epochs_of(tool, X_train, y_train, n_classes, epochs, batch_size, flip, info):
    """Train a peer; yield after every epoch a predict function. The caller times and evaluates.

    `info` receives what the caller reports about the run (parameters, augmentation)."""
    arch = architecture(X_train, n_classes)
    shift = shift_for(min(arch["image_size"]))
    scale = 255.0 if X_train.dtype == np.uint8 else 1.0
    mean, std = pixel_statistics(X_train, scale)
    if tool == "torch_dataloader":
        import torch

        torch.manual_seed(0)
        network = torch_network(arch)
        optimizer = torch.optim.AdamW(network.parameters(), lr=1e-3)
        loader = torch.utils.data.DataLoader(picture_dataset(X_train, y_train, mean, std, shift, flip),
                                             batch_size=batch_size, shuffle=True, num_workers=0)
        info.update(parameters=trainable_parameters(tool, network), batch_size=batch_size,
                    augmentation=f"per picture in the Dataset: crop of the {shift}-pixel padded picture"
                                 + (" + left-right flip" if flip else ""))

        def predict(X):
            test = (channels_last(X).astype(np.float32) / scale - mean) / std
            network.eval()
            with torch.inference_mode():
                return network(torch.from_numpy(np.ascontiguousarray(test.transpose(0, 3, 1, 2)))).argmax(1).numpy()

        for _ in range(epochs):
            network.train()
            for x, y in loader:
                optimizer.zero_grad()
                torch.nn.functional.cross_entropy(network(x), y).backward()
                optimizer.step()
            yield predict
        return
    if tool == "keras":
        import keras

        keras.utils.set_random_seed(0)
        model, described = keras_network(arch, mean, std, shift, flip)
        info.update(parameters=trainable_parameters(tool, model), batch_size=batch_size, augmentation=described,
                    keras_backend=keras.backend.backend())
        X_train = channels_last(X_train)

        def predict(X):
            scores = model(channels_last(X).astype(np.float32), training=False)
            return keras.ops.convert_to_numpy(scores).argmax(1)

        for _ in range(epochs):
            model.fit(X_train, y_train, batch_size=batch_size, epochs=1, verbose=0)
            yield predict
        return
    raise ValueError(f"unknown tool {tool}")


def deepfit_run(X_train, y_train, X_test, y_test, clock: Clock, target=None, epoch_seconds=None, **params):
    """Fit DeepClassifier; after every epoch score the test set off the clock (in eval mode, so batch
    norm uses its running statistics) and stop at `target`. Returns the model, its trajectory
    ([training seconds, test accuracy] per epoch) and the number of epochs deepfit planned."""
    import torch

    from deepfit import DeepClassifier
    from deepfit.training.callbacks import Callback

    trajectory, test, planned = [], {}, {}

    class Scorer(Callback):
        def on_epoch_begin(self, state):
            self.began = time.perf_counter()
            planned["epochs"] = state.max_epochs

        def on_epoch_end(self, state):
            clock.stop()
            if epoch_seconds is not None:
                epoch_seconds.append(time.perf_counter() - self.began)
            if X_test is not None:
                if "x" not in test:
                    test["x"] = torch.as_tensor(model.encoder_.transform(X_test), device=model.device_)
                state.module.eval()
                with torch.inference_mode():
                    predicted = state.module(test["x"]).argmax(1).cpu().numpy()
                state.module.train()
                accuracy = float((model.classes_[predicted] == y_test).mean())
                trajectory.append([round(clock.total, 3), accuracy])
                if target is not None and accuracy >= target:
                    state.stop = True
                    return  # the clock stays stopped: the target is reached
            clock.start()

    model = DeepClassifier(random_state=0, **params)
    clock.start()
    model.fit(X_train, y_train, callbacks=[Scorer()])
    clock.stop()
    return model, trajectory, planned["epochs"]


# ----------------------------------------------------------------------------- tasks
def task_throughput(tool, options):
    """Training pictures/s over `timed_epochs` epochs after one warm-up epoch, batch 128."""
    X, y = random_pictures(options["pictures"])
    epochs = 1 + options["timed_epochs"]
    times, info = [], {}
    if tool == "deepfit":
        model, _, _ = deepfit_run(X, y, None, None, Clock(), epoch_seconds=times, max_epochs=epochs,
                               batch_size=THROUGHPUT_BATCH, augment="shift+flip")
        info.update(parameters=trainable_parameters(tool, model.module_), batch_size=THROUGHPUT_BATCH,
                    augmentation=f"in batches on {model.device_}: {model.augmentation_}")
    else:
        started = time.perf_counter()
        for _ in epochs_of(tool, X, y, 10, epochs, THROUGHPUT_BATCH, flip=True, info=info):
            times.append(time.perf_counter() - started)
            started = time.perf_counter()
    steady = times[1:]  # the first epoch warms caches, allocators and lazy initialisation
    return {"pictures_per_second": len(y) * len(steady) / sum(steady), "pictures": len(y),
            "epochs_timed": len(steady), "epoch_seconds": [round(t, 3) for t in times], **info}


def task_digits(tool, options):
    """Seconds of training until test accuracy >= 0.985 on the 8x8 digits, checked after every epoch."""
    X_train, X_test, y_train, y_test = digit_pictures()
    clock = Clock()
    if tool == "deepfit":  # all defaults: epochs, batch size, learning rate, augmentation
        model, trajectory, planned = deepfit_run(X_train, y_train, X_test, y_test, clock, target=TARGET_DIGITS)
        info = {"parameters": trainable_parameters(tool, model.module_),
                "batch_size": model.training_summary_["batch_size"],
                "augmentation": f"in batches on {model.device_}: {model.augmentation_}",
                "max_epochs": planned}
    else:
        trajectory, info = [], {"max_epochs": options["max_epochs"]}
        clock.start()
        for predict in epochs_of(tool, X_train, y_train, 10, options["max_epochs"], PEER_BATCH[tool], flip=False,
                                 info=info):
            clock.stop()
            accuracy = float((predict(X_test) == y_test).mean())
            trajectory.append([round(clock.total, 3), accuracy])
            if accuracy >= TARGET_DIGITS:
                break
            clock.start()
    seconds, accuracy = trajectory[-1]
    return {"seconds_to_target": seconds if accuracy >= TARGET_DIGITS else None, "epochs": len(trajectory),
            "accuracy": accuracy, "seconds": seconds, "trajectory": trajectory, **info}


if __name__ == "__main__":
    task, tool, options = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
    if tool == "keras":
        import importlib.util

        if importlib.util.find_spec("keras") is None:
            print("keras is not installed (make benchmark-env)", file=sys.stderr)
            sys.exit(3)
    import torch

    load_before = os.getloadavg()[0]
    result = globals()[f"task_{task}"](tool, options)
    print(json.dumps({"tool": tool, **result, "torch_threads": torch.get_num_threads(),
                      "load_before": load_before, "load_after": os.getloadavg()[0]}))
