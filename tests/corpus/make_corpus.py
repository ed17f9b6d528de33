"""Writes the corpus of bad inputs in this folder (run it again to regenerate them; they are committed).

    .venv/bin/python tests/corpus/make_corpus.py

Every file is something a user might really hand deepfit by mistake, or an attacker on purpose:
truncated, empty, mislabelled, huge-dimension pictures and sound; broken tables; model files that
are pickles, torch archives, truncated or tampered. `requests.json` lists the bad HTTP requests.
"""

from __future__ import annotations

import io
import json
import pickle
import struct
import wave
import zlib
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
MARKER = "/tmp/deepfit-corpus-pwned"  # a payload that ran would create this file


class Payload:
    def __reduce__(self):
        return (open, (MARKER, "w"))


def png(width: int, height: int, pixels: bytes | None = None) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = pixels if pixels is not None else b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def wav(frames: int = 800, rate: int = 8000, channels: int = 1) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes((np.sin(np.arange(frames * channels) / 5) * 8000).astype("<i2").tobytes())
    return buffer.getvalue()


def pictures() -> dict[str, bytes]:
    good = png(16, 16)
    noisy = np.random.default_rng(0).integers(0, 256, (64, 65), dtype=np.uint8)
    noisy[:, 0] = 0  # each row's filter byte: none
    detailed = png(64, 64, pixels=noisy.tobytes())  # its pixel data does not compress: cutting it loses rows
    jpeg_start = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    return {
        "truncated.png": detailed[:len(detailed) // 2],
        "empty.png": b"",
        "text_named.jpg": b"these are my notes, not a photo\n",
        "html_named.png": b"<!doctype html><html><body>404 not found</body></html>",
        "pdf_named.png": b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n",
        "huge_dimensions.png": png(200_000, 200_000, pixels=b""),   # 40 gigapixels declared in 70 bytes
        "bad_crc.png": good[:29] + b"\x00\x00\x00\x00" + good[33:],
        "truncated.jpg": jpeg_start + b"\xff\xdb\x00\x43\x00" + b"\x01" * 10,
        "header_only.bmp": b"BM" + struct.pack("<IHHI", 70, 0, 0, 54),
        "garbage.webp": b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x00" * 8,
        "zero_size.gif": b"GIF89a\x00\x00\x00\x00\x00\x00\x00;",
        "random_bytes.tiff": np.random.default_rng(1).integers(0, 256, 300, dtype=np.uint8).tobytes(),
    }


def sounds() -> dict[str, bytes]:
    good = wav()
    zero_channels = bytearray(good)
    zero_channels[22:24] = b"\x00\x00"
    huge_rate = bytearray(good)
    huge_rate[24:28] = struct.pack("<I", 4_000_000_000)
    return {
        "truncated.wav": good[:30],
        "empty.wav": b"",
        "text_named.wav": b"RIFF? no, a shopping list\n",
        "zero_channels.wav": bytes(zero_channels),
        "huge_rate.wav": bytes(huge_rate),
        "no_frames.wav": wav(frames=0),
        "flac_header_only.flac": b"fLaC\x00\x00\x00\x22" + b"\x00" * 10,
        "garbage.ogg": b"OggS" + b"\x00" * 40,
        "garbage.mp3": b"ID3\x03\x00\x00\x00\x00\x00\x0a" + b"\x00" * 20,
        "truncated.aiff": b"FORM\x00\x00\x10\x00AIFFCOMM",
    }


def tables() -> dict[str, bytes]:
    rows = "a,b,label\n1,2,x\n3,4,y\n5,6,x\n7,8,y\n"
    return {
        "wrong_delimiter.csv": b"a,b,label\n1\t2\tx\n3\t4\ty\n",   # a comma header over tab-separated rows
        "ragged.csv": b"a,b,label\n1,2,x\n3,4,5,y\n5,6,x\n",
        "not_utf8.csv": "a,b,label\n1,2,caf\u00e9\n3,4,na\u00efve\n".encode("latin-1"),
        "nan_label.csv": b"a,b,label\n1,2,x\n3,4,\n5,6,y\n",
        "infinity.csv": b"a,b,label\n1,inf,x\n3,4,y\n5,6,x\n7,8,y\n",
        "one_class.csv": b"a,b,label\n1,2,x\n3,4,x\n5,6,x\n",
        "empty.csv": b"",
        "header_only.csv": b"a,b,label\n",
        "duplicate_header.csv": b"a,a,label\n1,2,x\n3,4,y\n",
        "unnamed_column.csv": b"a,,label\n1,2,x\n3,4,y\n",
        "binary_named.csv": bytes(range(256)) * 4,
        "unbalanced_quotes.csv": b'a,b,label\n1,"2,x\n3,4,y\n',
        "no_label_column.csv": b"a,b,c\n1,2,3\n4,5,6\n",
        "text_in_numbers.csv": (rows + "".join(f"{i},{i + 1},{'xy'[i % 2]}\n" for i in range(9, 90, 2))
                                + "91,ninety-two,x\n").encode(),
    }


def model_files() -> dict[str, bytes]:
    import torch

    buffer = io.BytesIO()
    torch.save({"weights": torch.zeros(2), "payload": Payload()}, buffer)
    header = json.dumps({"__metadata__": {"deepfit": json.dumps({"format_version": 1})}}).encode()
    safetensors_no_deepfit = struct.pack("<Q", len(b"{}")) + b"{}"
    return {
        "pickle.deepfit": pickle.dumps(Payload()),
        "torch_save.deepfit": buffer.getvalue(),
        "empty.deepfit": b"",
        "text.deepfit": b"a model, honest\n",
        "truncated_header.deepfit": struct.pack("<Q", 5000) + b'{"__metadata__": {',
        "header_longer_than_file.deepfit": struct.pack("<Q", 2**40) + b"{}",
        "invalid_json.deepfit": struct.pack("<Q", 12) + b"{not json!!}",
        "wrong_version.deepfit": struct.pack("<Q", len(header)) + header,
        "plain_safetensors.deepfit": safetensors_no_deepfit,
        "pickle_named.pth.deepfit": pickle.dumps({"state_dict": Payload()}),
    }


REQUESTS = [
    {"name": "malformed JSON", "content": '{"rows": [', "status": 400},
    {"name": "not an object", "content": "[1, 2, 3]", "status": 422},
    {"name": "rows is text", "content": '{"rows": "all of them"}', "status": 422},
    {"name": "no rows", "content": '{"rows": []}', "status": 422},
    {"name": "missing column", "content": '{"rows": [{"a": 1}]}', "status": 422},
    {"name": "text for a number", "content": '{"rows": [{"a": "one", "b": 2}]}', "status": 422},
    {"name": "infinity", "content": '{"rows": [{"a": Infinity, "b": 2}]}', "status": 422},
    {"name": "NaN literal", "content": '{"rows": [{"a": NaN, "b": 2}]}', "status": 422},
    {"name": "empty body", "content": "", "status": 422},
    {"name": "deeply nested", "content": '{"rows": ' + "[" * 5000 + "]" * 5000 + "}", "status": 400},
    {"name": "oversized body", "content_repeat": ["{\"rows\": [", 200_000], "status": 413},
    {"name": "form instead of JSON", "content": "a=1&b=2", "content_type": "application/x-www-form-urlencoded",
     "status": 422},
]


def main() -> None:
    for folder, files in [("pictures", pictures()), ("sounds", sounds()), ("tables", tables()),
                          ("models", model_files())]:
        (HERE / folder).mkdir(exist_ok=True)
        for name, payload in files.items():
            (HERE / folder / name).write_bytes(payload)
    (HERE / "requests.json").write_text(json.dumps(REQUESTS, indent=1) + "\n")
    print(sum(len(list((HERE / f).iterdir())) for f in ("pictures", "sounds", "tables", "models")) + len(REQUESTS),
          "bad inputs written")


if __name__ == "__main__":
    main()
