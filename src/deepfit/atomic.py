"""Writes that never leave half a file: a temporary file in the same folder, flushed to disk, then
renamed over the target. Every file deepfit writes (models, checkpoints, reports, predictions) goes
through here; it needs nothing heavier than the standard library, so the command line starts quickly."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from deepfit.errors import OutputError


def write_atomically(path, payload: bytes) -> Path:
    """Write bytes to `path` through a temporary file and a rename; on failure leave `path` as it was."""
    with open_atomically(path, "wb") as handle:
        try:
            handle.write(payload)
        except OSError as error:
            raise OutputError(f"{path}: writing failed ({error.strerror}); any earlier file there is "
                              "unchanged. Free some space or choose another folder.") from None
    return Path(path)


@contextlib.contextmanager
def replaced_atomically(path):
    """A temporary path beside `path` for a writer that wants a file name (an exporter); it becomes
    `path` (fsync, rename) only when the block ends without an error, and is removed otherwise."""
    path = Path(path)
    with open_atomically(path, "wb") as handle:
        yield Path(handle.temporary_path)


@contextlib.contextmanager
def open_atomically(path, mode: str = "w", **kwargs):
    """A file to stream into that appears at `path` only when the block ends without an error (fsync,
    rename); otherwise it is removed and any earlier file at `path` is left as it was."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.chmod(temporary, 0o666 & ~_umask())
    except OSError as error:
        raise OutputError(f"{path}: cannot write here ({error.strerror}). Choose another output "
                          "folder or check its permissions.") from None
    handle = os.fdopen(descriptor, mode, **kwargs)
    handle.temporary_path = temporary
    try:
        try:
            yield handle  # an error of the caller's (reading its input, say) passes through as it is
        except BaseException:
            handle.close()
            raise
        try:
            handle.flush()
            os.fsync(handle.fileno())
            handle.close()
            os.replace(temporary, path)
            _sync_folder(path.parent)
        except OSError as error:
            raise OutputError(f"{path}: writing failed ({error.strerror}); any earlier file there is "
                              "unchanged. Free some space or choose another folder.") from None
    except BaseException:
        if not handle.closed:
            handle.close()
        Path(temporary).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _sync_folder(folder: Path) -> None:
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return  # some systems cannot open folders; the rename is still atomic
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
