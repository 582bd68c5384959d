"""Downloads that never hang, never cache a wrong file, and fail with one clear message.

Every file coursekit fetches itself goes through `download_file`:

1. it streams to `<name>.part` with a timeout (`TIMEOUT_S` seconds without a byte from the server)
   and a deadline for the whole download (`DEADLINE_S`: a server trickling one byte a second
   never trips the timeout),
2. checks the size the server announced (a cut connection is "truncated", not a broken file later),
3. checks the checksum from `CHECKSUMS` when the file has one (as d2l's DATA_HUB does),
4. runs the caller's `check` (e.g. "does it decode as an image?"),

and only then renames the file into place. A failure at any step leaves nothing behind and
raises a `DataError` that names the URL. Data sets downloaded by torchvision (MNIST,
Flowers-102, which check their own MD5s) run inside `torchvision_download`, which gives them
the same timeout, refuses early when the target folder is not writable, and removes the
folders a failed download created.
"""
from __future__ import annotations

import http.client
import os
import shutil
import socket
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from tqdm.auto import tqdm

from .checks import DataError, check_folder, check_positive
from .storage import file_digest

TIMEOUT_S = 30.0  # seconds a server may stay silent before a download gives up (tests lower it)
DEADLINE_S = 1800.0  # seconds a whole download may take (17flowers.tgz, 58 MB, needs ~33 kB/s to make it)

# url -> "algorithm:hex digest" of the exact bytes served there. Downloads of these URLs are
# refused when the bytes differ. Only digests established from published sources are listed:
#  - chelsea.png: scikit-image's data registry (skimage/data/_registry.py), SHA-256;
#  - grace_hopper.jpg: computed from the file in the matplotlib 3.11.2 wheel, SHA-256;
#  - 17flowers.tgz: the MD5 published with the data set's loaders (torchvision, TFDS); no
#    SHA-256 of it is published, so its MD5 is checked.
# The five paintings' full-size originals (pinned by commit, so they cannot change) have no
# published digest; they are still checked to decode as images before they are cached.
CHECKSUMS = {
    "https://raw.githubusercontent.com/scikit-image/scikit-image/v0.26.0/skimage/data/chelsea.png":
        "sha256:596aa1e7cb875eb79f437e310381d26b338a81c2da23439704a73c4651e8c4bb",
    "https://raw.githubusercontent.com/matplotlib/matplotlib/v3.11.2/lib/matplotlib/mpl-data/sample_data/grace_hopper.jpg":
        "sha256:a8ca6d734765703b09728ab47fe59f473d93ae3967fc24c7c0288c3c7adb7130",
    "https://www.robots.ox.ac.uk/~vgg/data/flowers/17/17flowers.tgz": "md5:b59a65d8d1a99cd66944d474e1289eab",
}
_USER_AGENT = "coursekit (https://github.com/generative-image-course)"


def download_file(url: str, dest: str | os.PathLike, *, check: Callable[[Path], object] | None = None,
                  what: str = "the file", deadline_s: float | None = None) -> Path:
    """Download `url` to `dest` (skipped when `dest` is a file already) and return `dest`.

    `dest`'s folder must exist and be writable; `dest` must not be a folder or a dangling link.
    `check(path)` may raise DataError when the bytes are not `what` (e.g. not an image); the
    error is re-raised naming the URL and nothing is kept. Timeouts (`TIMEOUT_S` of silence),
    a download slower than `deadline_s` in all (default `DEADLINE_S`), refused connections,
    truncation and checksum mismatches all raise DataError naming the URL, and leave no `.part` file.
    """
    if not isinstance(url, str) or not url:
        raise TypeError(f"url must be an address (str), got {url!r}")
    deadline_s = check_positive(DEADLINE_S if deadline_s is None else deadline_s, "deadline_s")
    if check is not None and not callable(check):
        raise TypeError(f"check must be a function check(path) or None, got {type(check).__name__}")
    dest = _destination(dest)
    if dest.is_file():
        return dest
    part = dest.with_name(dest.name + ".part")
    try:
        size, content_type = _stream(url, part, deadline_s)
        _verify(url, part, size, content_type, check, what)
        os.replace(part, dest)
    finally:
        part.unlink(missing_ok=True)
    return dest


def _destination(dest) -> Path:
    """`dest` as a Path whose folder exists and is writable, and which is no folder or dangling link itself."""
    if isinstance(dest, bool) or not isinstance(dest, (str, os.PathLike)) or str(dest) == "":
        raise TypeError(f"dest must be a file path (str or pathlib.Path), got {dest!r}")
    dest = Path(dest).expanduser()
    check_folder(dest.parent, "dest's folder", writable=True)
    if dest.is_symlink() and not dest.exists():
        raise FileNotFoundError(f"dest: {dest} is a symbolic link to nothing (a dangling link, or a link loop); "
                                "remove it or pass another path")
    if dest.is_dir():
        raise IsADirectoryError(f"dest: {dest} is a folder; pass the path of the file to write, e.g. {dest / 'file'}")
    return dest


def _stream(url: str, part: Path, deadline_s: float) -> tuple[int, str]:
    """Copy the response body to `part`; returns (bytes received, content type).

    Reads whatever has arrived (read1), so the deadline is checked however slowly bytes come:
    it is overshot by at most one read's `TIMEOUT_S`.
    """
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    stop = time.monotonic() + deadline_s
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response, open(part, "wb") as f:
            announced = int(response.headers.get("Content-Length") or 0)
            content_type = response.headers.get_content_type()
            got = 0
            with tqdm(total=announced or None, unit="B", unit_scale=True, leave=False,
                      desc=f"downloading {Path(url).name}", disable=announced < 2**20) as bar:
                while chunk := response.read1(1 << 16):
                    f.write(chunk)
                    got += len(chunk)
                    bar.update(len(chunk))
                    if time.monotonic() > stop and got != announced:
                        raise _too_slow(url, deadline_s, got, announced)
    except http.client.IncompleteRead as err:  # a chunked transfer cut short
        raise DataError(f"the download of {url} is truncated: the connection closed early ({err!r}). "
                        "Retry; nothing was kept.") from err
    except _TIMEOUTS as err:  # connected, then silence
        raise _no_answer(url) from err
    except urllib.error.URLError as err:
        if isinstance(err.reason, _TIMEOUTS):  # no connection within the timeout
            raise _no_answer(url) from err
        raise DataError(f"could not download {url} ({err}). Check the address and your internet "
                        "connection, or download the file yourself and pass its path.") from err
    except (OSError, http.client.HTTPException) as err:  # a dropped connection, or the local folder
        raise DataError(f"could not download {url} to {part} ({type(err).__name__}: {err}). "
                        "Retry, or download the file yourself and pass its path.") from err
    if announced and got != announced:
        raise DataError(f"the download of {url} is truncated: the server announced {announced:,} bytes, "
                        f"{got:,} arrived. Retry; nothing was kept.")
    return got, content_type


_TIMEOUTS = (TimeoutError, socket.timeout)  # the same class from Python 3.10 on


def _too_slow(url: str, deadline_s: float, got: int, announced: int) -> DataError:
    of = f" of {announced:,}" if announced else ""
    return DataError(f"the download of {url} did not finish within {deadline_s:g} s: {got:,}{of} bytes arrived, "
                     "too slowly to wait for. Nothing was kept; retry later or on a faster connection, or "
                     "download the file yourself and pass its path.")


def _no_answer(url: str) -> DataError:
    return DataError(f"no answer from {url} within {TIMEOUT_S:g} s. Check your internet connection and retry "
                     "later, or download the file yourself and pass its path.")


def _verify(url: str, part: Path, size: int, content_type: str, check, what: str) -> None:
    """Checksum (when known) and the caller's content check, each failure naming the URL."""
    expected = CHECKSUMS.get(url)
    if expected:
        algorithm, digest = expected.split(":")
        actual = file_digest(part, algorithm)
        if actual != digest:
            raise DataError(f"{url} sent {size:,} bytes ({content_type}) whose {algorithm} is {actual}, not the "
                            f"expected {digest}: a changed or broken file. Nothing was kept; retry later, "
                            "or download it by hand and check it.")
    if check is not None:
        try:
            check(part)
        except DataError as err:
            raise DataError(f"{url} did not send {what}: it sent {size:,} bytes of {content_type} ({err}). "
                            "Nothing was cached. Open the address in a browser to see what it serves "
                            "(a login or error page?), or download the file yourself and pass its path.") from err


def socket_timeout(seconds: float):
    """Give every socket opened inside the block a `seconds` timeout, then restore the old default.

    torchvision's download helpers call urlopen without a timeout; this is how they get one.
    `seconds` is checked at the call, before the `with` block.
    """
    return _socket_timeout(check_positive(seconds, "seconds"))


@contextmanager
def _socket_timeout(seconds: float) -> Iterator[None]:
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


def writable_folder(folder: str | os.PathLike, what: str, by_hand: str):
    """Create `folder` for a download of `what` (now, at the call); in the `with` block that
    follows, any failure removes what was created.

    Raises DataError at once when the folder cannot be written (a read-only data folder, a path
    through a file), saying so instead of blaming the internet connection. `by_hand` says what
    to fetch manually.
    """
    if isinstance(folder, bool) or not isinstance(folder, (str, os.PathLike)) or str(folder) == "":
        raise TypeError(f"folder must be a path (str or pathlib.Path), got {folder!r}")
    folder = Path(folder).expanduser()
    created = _first_missing(folder)
    blocked = next((p for p in [folder, *folder.parents] if p.exists() and not p.is_dir()), None)
    try:
        if blocked is not None:
            raise NotADirectoryError(f"{blocked} is a file, not a folder")
        folder.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()  # can we write here? (chmod alone does not tell root)
    except OSError as err:
        _remove(created)
        raise DataError(f"{what} is not in {folder} and cannot be downloaded there: the folder is not writable "
                        f"({err.strerror or err}). Set COURSEKIT_DATA (or root=) to a folder you can write to, "
                        f"or download {by_hand} by hand into {folder}.") from err
    return _remove_on_failure(folder, created)


@contextmanager
def _remove_on_failure(folder: Path, created: Path | None) -> Iterator[Path]:
    try:
        yield folder
    except BaseException:
        _remove(created)
        raise


def _first_missing(folder: Path) -> Path | None:
    """The topmost folder on the way to `folder` that does not exist yet (None if it exists)."""
    missing = None
    for p in [folder, *folder.parents]:
        if p.exists():
            break
        missing = p
    return missing


def _remove(created: Path | None) -> None:
    if created is not None:
        shutil.rmtree(created, ignore_errors=True)


def torchvision_download(make: Callable[[], object], what: str, root: Path, folder: Path,
                         download: bool = True):
    """Run a torchvision data set constructor, turning its failures into one clear DataError.

    With `download`, `folder` (where torchvision writes) must be writable; sockets get
    `TIMEOUT_S`; folders the failed call created are removed again.
    """
    if not callable(make):
        raise TypeError(f"make must be a function that builds the data set, got {type(make).__name__}")
    if not download:
        try:
            return make()
        except (RuntimeError, OSError, ValueError) as err:
            raise DataError(f"{what} not found or incomplete under {root} ({err}). Call the loader with "
                            "download=True (needs internet), or set COURSEKIT_DATA to a folder that has it.") from err
    try:
        with writable_folder(folder, what, f"the {what} files"), socket_timeout(TIMEOUT_S):
            return make()
    except (RuntimeError, OSError, ValueError) as err:  # URLError and timeouts are OSErrors
        if isinstance(err, DataError):
            raise
        raise DataError(f"could not get {what} into {root} ({type(err).__name__}: {err}). "
                        "Check your internet connection and retry; offline, set COURSEKIT_DATA to a "
                        "folder that already holds the data set (see data/README.md).") from err


def missing(what: str, root: Path, detail: str = ""):
    """Raise the DataError for a data set that is not on disk and may not be downloaded."""
    raise DataError(f"{what} not found: expected {detail or root}. Call the loader with download=True "
                    f"(needs internet), or set COURSEKIT_DATA to a folder that already has it.")
