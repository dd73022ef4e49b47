"""``immunoport upload``: send a package to a server over HTTP, resumably, with an API token.

The command talks to any immunoport server (not to the local database): it creates the
package, uploads each file through the tus server with a progress bar, submits the
package and prints its status page. An interrupted upload resumes when the same command
is run again with ``--package`` (the id it printed), from the last byte the server kept.
"""

import argparse
import hashlib
import io
import os
import time
from pathlib import Path

import requests
from django.core.management.base import BaseCommand, CommandError
from tusclient import client as tus
from tusclient.exceptions import TusCommunicationError, TusUploadFailed
from tusclient.fingerprint.fingerprint import Fingerprint
from tusclient.storage.filestorage import FileStorage

CHUNK = 8 * 1024 * 1024
FINAL = {"invalid", "valid", "loaded", "failed"}


class PackageFingerprint(Fingerprint):
    """One stored upload URL per package and path: the same file sent to another package
    is a new upload, never a finished one reused."""

    def __init__(self, package_id: str, relative_path: str) -> None:
        super().__init__()
        self.prefix = f"{package_id}:{relative_path}:"

    def get_fingerprint(self, fs) -> str:
        return self.prefix + super().get_fingerprint(fs)


class _KeptOpen(io.BufferedReader):
    """A file tuspy may "close" after fingerprinting it; the command closes it for real."""

    def close(self) -> None:
        pass

    def really_close(self) -> None:
        super().close()


def sha256_of(stream) -> str:
    """The SHA-256 of a seekable stream, read in 1 MiB pieces; the stream is rewound."""
    digest = hashlib.sha256()
    stream.seek(0)
    for piece in iter(lambda: stream.read(1 << 20), b""):
        digest.update(piece)
    stream.seek(0)
    return digest.hexdigest()


def files_of(paths: list[Path]) -> list[tuple[Path, str]]:
    """Each file to send and its path inside the package; a folder keeps its structure."""
    found = []
    for path in paths:
        if path.is_dir():
            for item in sorted(path.rglob("*")):
                if item.is_file() and not item.name.startswith("."):
                    found.append((item, item.relative_to(path).as_posix()))
        elif path.is_file():
            found.append((path, path.name))
        else:
            raise CommandError(f"{path}: no such file or folder")
    if not found:
        raise CommandError("No files to upload.")
    return found


def resume_file() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    folder = base / "immunoport"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / "uploads.json"


class Command(BaseCommand):
    help = (
        "Upload a package (files, a folder or one ZIP) to a workspace on an immunoport "
        "server, resumably, then submit it to be validated and loaded (or only validated)."
    )

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", type=Path, metavar="PATH")
        parser.add_argument("--workspace", required=True, type=int, help="the workspace's number")
        parser.add_argument("--name", help="the package's name (default: the first PATH's name)")
        parser.add_argument("--notes", default="", help="upload notes")
        parser.add_argument(
            "--validate-only", action="store_true", help="validate the package, load nothing"
        )
        parser.add_argument(
            "--package", help="continue this package (the id an interrupted upload printed)"
        )
        parser.add_argument(
            "--token",
            default=os.environ.get("IMMUNOPORT_TOKEN", ""),
            help="a workspace-write API token (default: $IMMUNOPORT_TOKEN)",
        )
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="the server")
        parser.add_argument(
            "--wait", action="store_true", help="wait for the job and exit 1 unless it succeeds"
        )
        parser.add_argument("--chunk-size", type=int, default=CHUNK, help=argparse.SUPPRESS)

    def handle(self, *args, paths, workspace, name, notes, validate_only, package, token, url,
               wait, chunk_size, **options):  # fmt: skip
        if not token:
            raise CommandError("Give a workspace-write API token: --token or IMMUNOPORT_TOKEN.")
        files = files_of(paths)
        self.session = requests.Session()
        self.session.headers.update(
            {"Authorization": f"bearer {token}", "Accept": "application/json"}
        )
        base = url.rstrip("/")
        packages_url = f"{base}/workspaces/{workspace}/packages/"
        if package:
            created = self.call("GET", f"{packages_url}{package}/status.json")
            if created["state"] != "open":
                raise CommandError(f"Package {package} was already submitted.")
        else:
            created = self.call(
                "POST",
                packages_url,
                data={
                    "name": name or paths[0].name,
                    "notes": notes,
                    "mode": "validate" if validate_only else "load",
                },
            )
            self.stdout.write(
                f"Package {created['id']} created; if the upload stops, run the same "
                f"command with --package {created['id']} to continue."
            )
        uploads = tus.TusClient(created["upload_url"], headers={"Authorization": f"bearer {token}"})
        storage = FileStorage(str(resume_file()))
        try:
            for path, relative in files:
                stream = _KeptOpen(io.FileIO(path, "rb"))
                try:
                    self.send(uploads, storage, created["id"], stream, relative, chunk_size)
                finally:
                    stream.really_close()
        finally:
            storage._db.close()
        submitted = self.call("POST", created["submit_url"])
        self.stdout.write(
            f"Submitted: {submitted['state_label']}. Status: {submitted['status_url']}"
        )
        if wait:
            self.wait(submitted)

    def call(self, method: str, url: str, **kwargs) -> dict:
        try:
            response = self.session.request(method, url, timeout=60, **kwargs)
        except requests.RequestException as error:
            raise CommandError(f"{url}: {error}") from error
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code >= 400:
            reason = body.get("error") or response.reason
            fields = body.get("fields")
            raise CommandError(
                f"{method} {url}: {response.status_code} {reason}"
                + (f" {fields}" if fields else "")
            )
        return body

    def send(self, uploads, storage, package_id: str, stream, relative: str, chunk: int):
        metadata = {
            "package": package_id,
            "relativePath": relative,
            "filename": Path(relative).name,
            # the server checks the whole file against this when the last chunk is in
            "sha256": sha256_of(stream),
        }
        options = {
            "file_stream": stream,
            "chunk_size": chunk,
            "metadata": metadata,
            "upload_checksum": True,  # each chunk carries its checksum, checked on arrival
            "retries": 5,
            "retry_delay": 3,
            "store_url": True,
            "url_storage": storage,
            "fingerprinter": PackageFingerprint(package_id, relative),
        }
        try:
            uploader = uploads.uploader(**options)
        except TusCommunicationError:  # the stored upload expired or was removed: start anew
            stream.seek(0)
            storage.remove_item(options["fingerprinter"].get_fingerprint(stream))
            uploader = uploads.uploader(**options)
        size = uploader.get_file_size()
        try:
            if not uploader.url:
                uploader.set_url(uploader.create_url())
                uploader.offset = 0
            self.bar(relative, uploader.offset, size)
            while uploader.offset < size:
                uploader.upload_chunk()
                self.bar(relative, uploader.offset, size)
        except (TusCommunicationError, TusUploadFailed) as error:
            content = getattr(error, "response_content", b"") or b""
            detail = content.decode(errors="replace") if isinstance(content, bytes) else content
            raise CommandError(
                f"{relative}: the upload stopped: {error} {detail}".strip()
            ) from None
        if size == 0:
            self.bar(relative, 0, 0)
        self.stderr.write("")

    def bar(self, label: str, done: int, total: int) -> None:
        share = done / total if total else 1.0
        filled = int(30 * share)
        line = f"\r[{'#' * filled}{'.' * (30 - filled)}] {share:4.0%} {done:,}/{total:,} {label}"
        self.stderr.write(line, ending="")
        self.stderr.flush()

    def wait(self, submitted: dict) -> None:
        status = submitted
        while status["state"] not in FINAL:
            time.sleep(2)
            status = self.call("GET", submitted["status_json_url"])
        outcome = status["state_label"] + (f": {status['error']}" if status["error"] else "")
        if status["state"] not in ("loaded", "valid"):
            raise CommandError(outcome, returncode=1)
        self.stdout.write(outcome)
