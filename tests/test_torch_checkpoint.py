"""read_state_dict: torch.save checkpoints read as data (never unpickled), and safetensors files."""

from __future__ import annotations

import builtins
import os
import pickle
import struct
import zipfile

import pytest
import torch
from safetensors.torch import save_file

from deepfit.data.torch_checkpoint import read_state_dict
from deepfit.errors import ModelFileError


def _state_dict() -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 3, 3), torch.nn.BatchNorm2d(3), torch.nn.Flatten(),
                                torch.nn.Linear(12, 2))
    model(torch.randn(4, 1, 4, 4))  # train mode: running stats and num_batches_tracked move
    state = dict(model.state_dict())
    base = torch.arange(10, dtype=torch.float32)
    state.update({
        "half": torch.randn(5).half(),
        "bfloat": torch.randn(3).bfloat16(),
        "long": torch.tensor([1, -2, 2**40]),
        "flags": torch.tensor([True, False]),
        "transposed": torch.arange(12.0).reshape(3, 4).t(),
        "shared_head": base[:4],
        "shared_tail": base[3:],
        "strided": torch.arange(20.0)[::3],
        "scalar": torch.tensor(2.5, dtype=torch.float64),
        "empty": torch.zeros(0, 4),
    })
    return state


def _assert_same(got: dict[str, torch.Tensor], expected: dict[str, torch.Tensor]) -> None:
    assert list(got) == list(expected)
    for name, tensor in expected.items():
        assert got[name].dtype == tensor.dtype, name
        assert got[name].shape == tensor.shape, name
        assert torch.equal(got[name], tensor), name


@pytest.fixture
def no_unpickling(monkeypatch):
    """Any call to an unpickler or torch.load fails the test."""
    def refuse(*args, **kwargs):
        raise AssertionError("the reader unpickled something")
    for name in ("load", "loads", "Unpickler"):
        monkeypatch.setattr(pickle, name, refuse)
    monkeypatch.setattr(torch, "load", refuse)


def test_round_trip_of_a_real_state_dict(tmp_path, no_unpickling):
    expected = _state_dict()
    path = tmp_path / "model.pth"
    torch.save(expected, path)
    got = read_state_dict(path)
    _assert_same(got, expected)
    assert got["1.num_batches_tracked"].dtype == torch.int64 and got["1.num_batches_tracked"].item() == 1
    got["shared_head"][3] = -1.0  # each tensor owns its memory: views of one storage come apart
    assert got["shared_tail"][0].item() == 3.0


def test_the_plain_module_state_dict_as_saved(tmp_path, no_unpickling):
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    path = tmp_path / "plain.pt"
    torch.save(model.state_dict(), path)  # an OrderedDict with _metadata set by BUILD
    _assert_same(read_state_dict(str(path)), dict(model.state_dict()))


@pytest.mark.parametrize("protocol", [3, 4, 5])
def test_other_pickle_protocols(tmp_path, protocol):
    expected = _state_dict()
    path = tmp_path / f"protocol{protocol}.pth"
    torch.save(expected, path, pickle_protocol=protocol)  # FRAME, MEMOIZE, STACK_GLOBAL from protocol 4
    _assert_same(read_state_dict(path), expected)


@pytest.mark.parametrize("key", ["state_dict", "model"])
def test_a_training_checkpoint_wrapper(tmp_path, key):
    expected = _state_dict()
    path = tmp_path / "checkpoint.pth"
    torch.save({key: expected, "epoch": 7, "best": 0.25, "tags": ["a", None]}, path)
    _assert_same(read_state_dict(path), expected)


def test_parameters_are_read_as_tensors(tmp_path):
    layer = torch.nn.Linear(2, 3)
    path = tmp_path / "params.pth"
    torch.save(dict(layer.named_parameters()), path)
    _assert_same(read_state_dict(path), {name: p.detach() for name, p in layer.named_parameters()})


def test_safetensors_file_gives_the_same_dict(tmp_path):
    expected = {name: tensor.contiguous() for name, tensor in _state_dict().items() if "shared" not in name}
    path = tmp_path / "model.safetensors"
    save_file(expected, path)
    got = read_state_dict(path)
    assert sorted(got) == sorted(expected)
    _assert_same({name: got[name] for name in expected}, expected)


class _Payload:
    def __init__(self, function, argument):
        self.function, self.argument = function, argument

    def __reduce__(self):
        return self.function, (self.argument,)


def _payloads(marker):
    command = f"touch {marker}"
    return [_Payload(os.system, command), _Payload(builtins.exec, f"open({str(marker)!r}, 'w').close()"),
            {"weight": _Payload(os.system, command)}]


def _zip(path, records: dict[str, bytes]):
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in records.items():
            archive.writestr(name, data)
    return path


@pytest.mark.parametrize("protocol", [2, 4])
@pytest.mark.parametrize("inside_zip", [False, True])
def test_a_planted_payload_is_refused_and_never_runs(tmp_path, protocol, inside_zip):
    marker = tmp_path / "pwned"
    for number, payload in enumerate(_payloads(marker)):
        data = pickle.dumps(payload, protocol=protocol)
        path = tmp_path / f"evil{number}.pth"
        if inside_zip:
            _zip(path, {"archive/data.pkl": data, "archive/version": b"3\n", "archive/byteorder": b"little"})
        else:
            path.write_bytes(data)
        with pytest.raises(ModelFileError, match=f"evil{number}.pth"):
            read_state_dict(path)
        assert not marker.exists()


@pytest.mark.parametrize("content", [b"", b"hello, this is a text file\n", "cut"])
def test_damaged_or_foreign_files_are_refused_with_their_name(tmp_path, content):
    path = tmp_path / "broken.pth"
    if content == "cut":
        torch.save(_state_dict(), path)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    else:
        path.write_bytes(content)
    with pytest.raises(ModelFileError, match="broken.pth") as caught:
        read_state_dict(path)
    assert "\n" not in str(caught.value)


def test_a_missing_file_is_refused(tmp_path):
    with pytest.raises(ModelFileError, match="nothing.pth"):
        read_state_dict(tmp_path / "nothing.pth")


def test_a_damaged_safetensors_file_is_refused(tmp_path):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json")
    with pytest.raises(ModelFileError, match="bad.safetensors"):
        read_state_dict(path)


def _unicode(text: str) -> bytes:
    data = text.encode()
    return b"X" + struct.pack("<I", len(data)) + data


def _int(value: int) -> bytes:
    return pickle.dumps(value, protocol=2)[2:-1]  # the one opcode that pushes `value`


def _tensor_pickle(numel: int, offset: int, size: tuple, stride: tuple, storage: str = "FloatStorage") -> bytes:
    """data.pkl of {'w': tensor}, as torch.save writes it, with the numbers chosen by the test."""
    ints = lambda values: b"(" + b"".join(map(_int, values)) + b"t"  # noqa: E731
    return (b"\x80\x02}" + _unicode("w") + b"ctorch._utils\n_rebuild_tensor_v2\n(("
            + _unicode("storage") + f"ctorch\n{storage}\n".encode() + _unicode("0") + _unicode("cpu")
            + _int(numel) + b"tQ" + _int(offset) + ints(size) + ints(stride)
            + b"\x89ccollections\nOrderedDict\n)RtRs.")


def _checkpoint(path, pickle_bytes: bytes, storage: bytes | None, byteorder: bytes = b"little"):
    records = {"archive/data.pkl": pickle_bytes, "archive/byteorder": byteorder}
    if storage is not None:
        records["archive/data/0"] = storage
    return _zip(path, records)


def test_the_hand_written_checkpoint_reads(tmp_path):
    values = torch.arange(6, dtype=torch.float32)
    path = _checkpoint(tmp_path / "ok.pth", _tensor_pickle(6, 1, (2, 2), (1, 2)), values.numpy().tobytes())
    assert torch.equal(read_state_dict(path)["w"], values.as_strided((2, 2), (1, 2), 1))


@pytest.mark.parametrize(("case", "pickle_bytes", "storage", "byteorder", "message"), [
    ("missing", _tensor_pickle(6, 0, (6,), (1,)), None, b"little", "missing"),
    ("short", _tensor_pickle(6, 0, (6,), (1,)), bytes(20), b"little", "not the 24 declared"),
    ("past_end", _tensor_pickle(6, 2, (5,), (1,)), bytes(24), b"little", "past the end"),
    ("stride_past_end", _tensor_pickle(6, 0, (2, 3), (3, 2)), bytes(24), b"little", "past the end"),
    ("huge", _tensor_pickle(2**31, 0, (2**31,), (1,)), bytes(24), b"little", "GiB"),
    ("huge_view", _tensor_pickle(1, 0, (2**31, 2**31), (0, 0)), bytes(4), b"little", "GiB"),
    ("negative", _tensor_pickle(6, -1, (2,), (1,)), bytes(24), b"little", "unreadable"),
    ("unknown_storage", _tensor_pickle(6, 0, (6,), (1,), "EvilStorage"), bytes(24), b"little", "allowlist"),
    ("big_endian", _tensor_pickle(6, 0, (6,), (1,)), bytes(24), b"big", "endian"),
])
def test_unsound_checkpoints_are_refused(tmp_path, case, pickle_bytes, storage, byteorder, message):
    path = _checkpoint(tmp_path / f"{case}.pth", pickle_bytes, storage, byteorder)
    with pytest.raises(ModelFileError, match=message) as caught:
        read_state_dict(path)
    assert f"{case}.pth" in str(caught.value) and "torch.save(model.state_dict(), path)" in str(caught.value)


@pytest.mark.parametrize("saved", [[torch.ones(2)], {"a": 1}, {"w": torch.ones(2), "step": 3}, torch.ones(3)])
def test_objects_that_are_not_state_dicts_are_refused(tmp_path, saved):
    path = tmp_path / "other.pth"
    torch.save(saved, path)
    with pytest.raises(ModelFileError, match="other.pth"):
        read_state_dict(path)


def test_the_legacy_format_is_refused(tmp_path):
    path = tmp_path / "legacy.pth"
    torch.save({"w": torch.ones(2)}, path, _use_new_zipfile_serialization=False)
    with pytest.raises(ModelFileError, match="legacy"):
        read_state_dict(path)


@pytest.mark.parametrize("pickle_bytes", [
    b"", b"\x80\x02}}.", b"\x80\x02}]Ns.", b"\x80\x02}(X\x01\x00\x00\x00au.", b"\x80\x02}(\x85.",
    b"\x80\x02(dp0\n.", b"\x80\x02h\x07.", b"\x80\x02ccollections\nOrderedDict\nK\x01\x85R.",
])
def test_malformed_data_pkl_is_refused(tmp_path, pickle_bytes):
    path = _zip(tmp_path / "malformed.pth", {"archive/data.pkl": pickle_bytes})
    with pytest.raises(ModelFileError, match="malformed.pth"):
        read_state_dict(path)
