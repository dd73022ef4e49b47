"""Files a package's templates name (protocol documents, result and FCS files).

Each file is stored once per load in the default storage under
``workspaces/<workspace_id>/files/``; the loader records it in ImmPort's file_info
table. ``StoredFiles.discard()`` deletes what a failed load had stored.
"""

import uuid
from dataclasses import dataclass, field
from pathlib import Path

from django.core.files import File
from django.core.files.storage import default_storage


@dataclass
class StoredFiles:
    root: Path
    workspace_id: int
    # package path (lower-cased base name) -> the file in the package
    present: dict[str, Path] = field(default_factory=dict)
    # package path -> (storage name, size)
    stored: dict[Path, tuple[str, int]] = field(default_factory=dict)

    @classmethod
    def scan(cls, root: Path, workspace_id: int) -> "StoredFiles":
        files = cls(root, workspace_id)
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            files.present.setdefault(path.name.lower(), path)
        return files

    def find(self, name: str) -> Path | None:
        """The package's file that a template cell names (by base name, any case)."""
        return self.present.get(name.replace("\\", "/").rsplit("/", 1)[-1].strip().lower())

    def store(self, path: Path) -> tuple[str, int]:
        """Store ``path`` (once per load); its storage name and size in bytes."""
        if path not in self.stored:
            target = f"workspaces/{self.workspace_id}/files/{uuid.uuid4().hex[:16]}/{path.name}"
            with path.open("rb") as handle:
                name = default_storage.save(target, File(handle, name=path.name))
            self.stored[path] = (name, path.stat().st_size)
        return self.stored[path]

    def discard(self) -> None:
        for name, _ in self.stored.values():
            default_storage.delete(name)
        self.stored.clear()
