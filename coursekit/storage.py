"""Saving and loading files safely: atomic writes, SHA-256 checks, clear errors for broken files.

Every file coursekit writes (checkpoints, cached tensors, trained helper models) goes through
`atomic_save`, so an interrupted write never leaves a half-written file where a good one was.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import torch


class CheckpointError(RuntimeError):
    """A saved file is unreadable or belongs to another run. The message says which file and what to do."""


def atomic_save(obj, path: str | os.PathLike) -> Path:
    """torch.save `obj` to `path` via a temporary file and a rename (atomic on one file system).

    A crash or Ctrl-C during the write leaves the previous file at `path` untouched.
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"path: {path} is a folder; give the file to write, e.g. {path / 'file.pt'}")
    if path.is_symlink() and not path.exists():
        raise FileNotFoundError(f"path: {path} is a symbolic link to nothing (dangling, or a link loop): remove it")
    tmp = path.with_name(path.name + ".tmp")
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def file_digest(path: str | os.PathLike, algorithm: str = "sha256") -> str:
    """The hex digest of a file's bytes (sha256, md5, ... anything hashlib knows)."""
    if not isinstance(algorithm, str) or algorithm.lower() not in hashlib.algorithms_available:
        raise ValueError(f"algorithm must be a hash name hashlib knows, such as 'sha256' or 'md5', got {algorithm!r}")
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def sha256(path: str | os.PathLike) -> str:
    """The SHA-256 of a file's bytes, as 64 hex digits."""
    return file_digest(path, "sha256")


def load(path: str | os.PathLike, map_location: str | torch.device = "cpu", what: str = "file") -> dict:
    """torch.load with weights_only=True; a truncated, empty or foreign file raises CheckpointError naming it."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{what} {path} does not exist")
    if path.stat().st_size == 0:
        raise CheckpointError(f"{what} {path} is empty (0 bytes): it was never fully written; delete it")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # torch raises RuntimeError, EOFError, UnpicklingError, zipfile errors ...
        raise CheckpointError(f"{what} {path} is truncated or not a coursekit file ({type(err).__name__} while "
                              f"reading its {path.stat().st_size:,} bytes): delete it") from err
