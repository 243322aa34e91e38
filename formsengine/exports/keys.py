"""Pseudonymisation keys: one secret per research project, kept in a file outside the
database.

A pseudonym is ``HMAC-SHA256(key, person reference)``. The same key gives the same pseudonym
for a person in every export of the project, so files from successive exports can be linked;
a different project's key gives unrelated pseudonyms. Without the key, a pseudonym cannot be
traced back to a person or recomputed from a guessed reference.

The key file is JSON (``project``, ``key`` in hex, ``created``) written with permissions
0600. The key id printed in manifests is a hash of the key, which names the key without
revealing it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from ..errors import FormsEngineError

KEY_BYTES = 32
PSEUDONYM_HEX = 32  # 128 bits of the HMAC: collisions are not a practical concern


class KeyFileError(FormsEngineError):
    """A key file that cannot be created or used."""


@dataclass(frozen=True)
class ProjectKey:
    project: str
    key: bytes

    @property
    def key_id(self) -> str:
        digest = hashlib.sha256(b"formsengine-key-id\x00" + self.key).hexdigest()
        return f"hmac-sha256:{digest[:16]}"

    def pseudonym(self, ref: str) -> str:
        mac = hmac.new(self.key, ref.encode("utf-8"), hashlib.sha256).hexdigest()
        return mac[:PSEUDONYM_HEX]


def create_key_file(path: Path, project: str) -> ProjectKey:
    """Write a new random key for ``project`` to ``path`` (mode 0600). Never overwrites."""
    _check_project(project)
    key = ProjectKey(project, secrets.token_bytes(KEY_BYTES))
    body = json.dumps({
        "project": project,
        "key": key.key.hex(),
        "created": dt.datetime.now(dt.UTC).date().isoformat(),
        "note": "Pseudonymisation key for formsengine research exports. Keep it outside "
                "the database and outside every export folder; anyone holding it can link "
                "pseudonyms back to the people they came from by trying references.",
    }, indent=2) + "\n"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise KeyFileError(f"key file {path} already exists; a project keeps its key "
                        "(choose another file name to create a new one)") from None
    except OSError as exc:
        raise KeyFileError(f"cannot create key file {path}: {exc.strerror}") from None
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(body)
    os.chmod(path, 0o600)  # in case the umask or the file system widened it
    return key


def load_key_file(path: Path, project: str) -> ProjectKey:
    """Read and check a key file: it must belong to ``project`` and be private to its owner."""
    _check_project(project)
    try:
        info = path.stat()
    except OSError as exc:
        raise KeyFileError(f"cannot read key file {path}: {exc.strerror}; create one with "
                        f"'formsengine export keygen --project {project} --key-file FILE'"
                        ) from None
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(f"key file {path} can be read by other users (mode "
                        f"{stat.S_IMODE(info.st_mode):o}); restrict it with: chmod 600 {path}")
    if info.st_size > 10_000:
        raise KeyFileError(f"key file {path} is not a formsengine key file (too large)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        key = bytes.fromhex(data["key"])
        owner = data["project"]
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise KeyFileError(f"key file {path} is not a formsengine key file") from None
    if len(key) < KEY_BYTES:
        raise KeyFileError(f"key file {path}: the key is too short")
    if owner != project:
        raise KeyFileError(f"key file {path} belongs to project {owner!r}, not {project!r}: "
                        "each project has its own key")
    return ProjectKey(project, key)


def _check_project(project: str) -> None:
    if not project or len(project) > 100 or not all(c.isalnum() or c in "-_." for c in project):
        raise KeyFileError("project names use letters, digits, '-', '_' and '.' (at most 100)")
