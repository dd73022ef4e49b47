"""Reading ZIP archives from strangers safely.

Every member name is checked before anything is read: absolute paths, ``..``,
drive letters and symbolic links are refused. Sizes are counted while unpacking,
since the sizes an archive declares can lie, and unpacking stops at a byte budget
and at a compression ratio no real data reaches (a ZIP bomb).
"""

import stat
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

MAX_MEMBERS = 20_000
MAX_UNPACKED_BYTES = 4 * 1024**3
MAX_RATIO = 200  # text compresses 5-20x; hundreds of times means a crafted archive
_CHUNK = 1 << 20
_RATIO_GRACE_BYTES = 1 << 20  # tiny members (a blank line) may compress oddly


class ArchiveError(Exception):
    """The archive is unreadable or refused; the message says why."""


@dataclass
class Budget:
    """Bytes an archive may still unpack to."""

    limit: int
    spent: int = 0

    def spend(self, count: int, label: str) -> None:
        self.spent += count
        if self.spent > self.limit:
            raise ArchiveError(f"{label}: unpacks to more than {self.limit:,} bytes; refused")


@contextmanager
def open_archive(path: Path, *, max_members: int = MAX_MEMBERS) -> Iterator[zipfile.ZipFile]:
    """Open ``path`` as a ZIP, turning every way it can be broken into ArchiveError."""
    try:
        with zipfile.ZipFile(path) as archive:
            if len(archive.infolist()) > max_members:
                raise ArchiveError(f"{path.name}: more than {max_members:,} files in the archive")
            yield archive
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, zlib.error, OSError) as error:
        raise ArchiveError(f"{path.name}: not a readable zip archive ({error})") from None


def member_paths(archive: zipfile.ZipFile, label: str) -> list[tuple[zipfile.ZipInfo, str]]:
    """Every file member with its path inside the archive; refuses escaping names."""
    members = []
    for info in archive.infolist():
        name = info.filename.replace("\\", "/")
        parts = PurePosixPath(name).parts
        escapes = (
            name.startswith("/")
            or not parts
            or ".." in parts
            or ":" in parts[0]
            or stat.S_ISLNK(info.external_attr >> 16)
        )
        if escapes:
            raise ArchiveError(f"{label}: refused, member {info.filename!r} points outside it")
        if not info.is_dir():
            members.append((info, "/".join(p for p in parts if p != ".")))
    return members


def read_member(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: Budget, label: str
) -> Iterator[bytes]:
    """The member's bytes in chunks, stopping at the budget or a bomb-like ratio."""
    unpacked = 0
    try:
        with archive.open(info) as source:
            while chunk := source.read(_CHUNK):
                unpacked += len(chunk)
                budget.spend(len(chunk), label)
                if unpacked > _RATIO_GRACE_BYTES and unpacked > MAX_RATIO * max(
                    info.compress_size, 1
                ):
                    raise ArchiveError(
                        f"{label}: {info.filename} expands more than {MAX_RATIO} times; "
                        "refused as a possible ZIP bomb"
                    )
                yield chunk
    except (zipfile.BadZipFile, EOFError, zlib.error) as error:
        raise ArchiveError(f"{label}: {info.filename} is damaged ({error})") from None


def extract(
    path: Path,
    target: Path,
    *,
    keep: Callable[[str], bool],
    max_bytes: int = MAX_UNPACKED_BYTES,
    max_members: int = MAX_MEMBERS,
) -> list[Path]:
    """Unpack the members whose path ``keep`` accepts into ``target``."""
    written = []
    budget = Budget(max_bytes)
    with open_archive(path, max_members=max_members) as archive:
        for info, name in member_paths(archive, path.name):
            if not keep(name):
                continue
            destination = target.joinpath(*name.split("/"))
            destination.parent.mkdir(parents=True, exist_ok=True)
            with destination.open("wb") as sink:
                for chunk in read_member(archive, info, budget, path.name):
                    sink.write(chunk)
            written.append(destination)
    return written
