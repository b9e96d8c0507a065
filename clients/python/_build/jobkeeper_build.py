"""An in-tree PEP 517 / PEP 660 build backend for the jobkeeper package, standard library only.

Why in-tree: the package must install where PyPI cannot be reached and setuptools comes without ``wheel``
(``pip install ./clients/python``, with or without ``--no-build-isolation``, and ``pip install -e``). A backend
that needs nothing but the standard library installs the same everywhere. It reads the ``[project]`` table of
pyproject.toml (PEP 621), takes the version from ``src/jobkeeper/_version.py``, and writes:

- a wheel (``py3-none-any``): the package files, and ``<name>-<version>.dist-info`` with METADATA (core metadata
  2.1), WHEEL, top_level.txt and RECORD (a sha256 and size per file);
- an editable wheel (PEP 660): a ``.pth`` file that puts the source directory on ``sys.path``;
- an sdist (``.tar.gz``) with PKG-INFO and the files listed in ``[tool.jobkeeper-build] sdist-include``.

Files are written in a fixed order with fixed timestamps (``SOURCE_DATE_EPOCH`` when set), so a build is
reproducible.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import tarfile
import time
import zipfile
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

ROOT = Path(__file__).resolve().parent.parent
WHEEL_TAG = "py3-none-any"
_EPOCH_1980 = 315532800  # the earliest time a zip file can hold


# ------------------------------------------------------------------------------------------------ PEP 517 hooks


def get_requires_for_build_wheel(config_settings: Optional[Dict[str, Any]] = None) -> List[str]:
    return []


def get_requires_for_build_sdist(config_settings: Optional[Dict[str, Any]] = None) -> List[str]:
    return []


def get_requires_for_build_editable(config_settings: Optional[Dict[str, Any]] = None) -> List[str]:
    return []


def prepare_metadata_for_build_wheel(metadata_directory: str, config_settings: Optional[Dict[str, Any]] = None) -> str:
    project = Project.load()
    target = Path(metadata_directory) / project.dist_info
    target.mkdir(parents=True, exist_ok=True)
    for name, data in project.dist_info_files():
        (target / name).write_bytes(data)
    return project.dist_info


def prepare_metadata_for_build_editable(metadata_directory: str, config_settings: Optional[Dict[str, Any]] = None) -> str:
    return prepare_metadata_for_build_wheel(metadata_directory, config_settings)


def build_wheel(wheel_directory: str, config_settings: Optional[Dict[str, Any]] = None,
                metadata_directory: Optional[str] = None) -> str:
    project = Project.load()
    files = [(f"{project.import_name}/{path}", data) for path, data in project.package_files()]
    return project.write_wheel(Path(wheel_directory), files)


def build_editable(wheel_directory: str, config_settings: Optional[Dict[str, Any]] = None,
                   metadata_directory: Optional[str] = None) -> str:
    project = Project.load()
    source = str(project.package_dir.parent.resolve())
    files = [(f"__editable__.{project.normalized}.pth", (source + "\n").encode("utf-8"))]
    return project.write_wheel(Path(wheel_directory), files)


def build_sdist(sdist_directory: str, config_settings: Optional[Dict[str, Any]] = None) -> str:
    project = Project.load()
    base = f"{project.normalized}-{project.version}"
    name = f"{base}.tar.gz"
    target = Path(sdist_directory)
    target.mkdir(parents=True, exist_ok=True)
    stamp = _timestamp()
    with tarfile.open(target / name, "w:gz", format=tarfile.PAX_FORMAT) as archive:
        entries = [("PKG-INFO", project.metadata())] + [(path, (ROOT / path).read_bytes()) for path in project.sdist_files()]
        for path, data in entries:
            info = tarfile.TarInfo(f"{base}/{path}")
            info.size = len(data)
            info.mtime = stamp
            info.mode = 0o644
            info.uname = info.gname = ""
            archive.addfile(info, io.BytesIO(data))
    return name


# ------------------------------------------------------------------------------------------------ the project


class Project:
    """What pyproject.toml says, and the files it names."""

    def __init__(self, pyproject: Dict[str, Any]) -> None:
        self.project: Dict[str, Any] = pyproject["project"]
        self.tool: Dict[str, Any] = pyproject.get("tool", {}).get("jobkeeper-build", {})
        self.name: str = self.project["name"]
        self.normalized = re.sub(r"[-_.]+", "_", self.name).lower()
        self.import_name = self.normalized
        self.package_dir = ROOT / self.tool.get("package-dir", f"src/{self.import_name}")
        self.version = self.project.get("version") or _read_version(ROOT / self.tool["version-file"])
        self.dist_info = f"{self.normalized}-{self.version}.dist-info"

    @classmethod
    def load(cls) -> "Project":
        return cls(load_toml((ROOT / "pyproject.toml").read_text(encoding="utf-8")))

    def metadata(self) -> bytes:
        """Core metadata 2.1 (METADATA in the wheel, PKG-INFO in the sdist)."""
        p = self.project
        lines = ["Metadata-Version: 2.1", f"Name: {self.name}", f"Version: {self.version}"]
        if p.get("description"):
            lines.append(f"Summary: {p['description']}")
        if p.get("keywords"):
            lines.append(f"Keywords: {','.join(p['keywords'])}")
        for person in p.get("authors", []):
            if "name" in person and "email" in person:
                lines.append(f"Author-email: {person['name']} <{person['email']}>")
            elif "email" in person:
                lines.append(f"Author-email: {person['email']}")
            elif "name" in person:
                lines.append(f"Author: {person['name']}")
        license_ = p.get("license")
        if isinstance(license_, dict) and license_.get("text"):
            lines.append(f"License: {license_['text']}")
        for classifier in p.get("classifiers", []):
            lines.append(f"Classifier: {classifier}")
        for label, url in p.get("urls", {}).items():
            lines.append(f"Project-URL: {label}, {url}")
        if p.get("requires-python"):
            lines.append(f"Requires-Python: {p['requires-python']}")
        for requirement in p.get("dependencies", []):
            lines.append(f"Requires-Dist: {requirement}")
        description = ""
        readme = p.get("readme")
        if readme:
            path = readme if isinstance(readme, str) else readme.get("file")
            content_type = "text/markdown" if str(path).lower().endswith(".md") else "text/plain"
            if isinstance(readme, dict) and readme.get("content-type"):
                content_type = readme["content-type"]
            lines.append(f"Description-Content-Type: {content_type}")
            description = (ROOT / path).read_text(encoding="utf-8")
        return ("\n".join(lines) + "\n\n" + description).encode("utf-8")

    def dist_info_files(self) -> List[Tuple[str, bytes]]:
        wheel = f"Wheel-Version: 1.0\nGenerator: jobkeeper_build\nRoot-Is-Purelib: true\nTag: {WHEEL_TAG}\n"
        return [("METADATA", self.metadata()), ("WHEEL", wheel.encode("ascii")),
                ("top_level.txt", f"{self.import_name}\n".encode("ascii"))]

    def package_files(self) -> Iterator[Tuple[str, bytes]]:
        for path in _walk(self.package_dir):
            yield path.relative_to(self.package_dir).as_posix(), path.read_bytes()

    def sdist_files(self) -> List[str]:
        names: List[str] = []
        for entry in self.tool.get("sdist-include", ["pyproject.toml"]):
            path = ROOT / entry
            if path.is_dir():
                names.extend(p.relative_to(ROOT).as_posix() for p in _walk(path))
            elif path.is_file():
                names.append(entry)
        return sorted(set(names))

    def write_wheel(self, directory: Path, files: List[Tuple[str, bytes]]) -> str:
        name = f"{self.normalized}-{self.version}-{WHEEL_TAG}.whl"
        directory.mkdir(parents=True, exist_ok=True)
        entries = sorted(files) + [(f"{self.dist_info}/{n}", d) for n, d in self.dist_info_files()]
        record = [f"{path},sha256={_digest(data)},{len(data)}" for path, data in entries]
        record.append(f"{self.dist_info}/RECORD,,")
        entries.append((f"{self.dist_info}/RECORD", ("\n".join(record) + "\n").encode("utf-8")))
        stamp = time.gmtime(max(_timestamp(), _EPOCH_1980))[:6]
        with zipfile.ZipFile(directory / name, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for path, data in entries:
                info = zipfile.ZipInfo(path, date_time=stamp)
                info.external_attr = 0o644 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, data)
        return name


def _walk(directory: Path) -> List[Path]:
    found = []
    for root, dirs, names in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__" and not d.startswith(".") and not d.endswith(".egg-info"))
        for name in sorted(names):
            if not name.endswith((".pyc", ".pyo")) and not name.startswith("."):
                found.append(Path(root) / name)
    return found


def _digest(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode("ascii")


def _timestamp() -> int:
    value = os.environ.get("SOURCE_DATE_EPOCH")
    return int(value) if value and value.isdigit() else _EPOCH_1980


def _read_version(path: Path) -> str:
    match = re.search(r"""^__version__\s*=\s*["']([^"']+)["']""", path.read_text(encoding="utf-8"), re.M)
    if match is None:
        raise ValueError(f"no __version__ in {path}")
    return match.group(1)


# ------------------------------------------------------------------------------------------------ TOML


def load_toml(text: str) -> Dict[str, Any]:
    """pyproject.toml as a dict: ``tomllib`` on Python 3.11+, else the subset of TOML this project's file uses."""
    try:
        import tomllib
    except ImportError:
        return _MiniToml(text).parse()
    return tomllib.loads(text)


class _MiniToml:
    """Tables, dotted table names, bare or quoted keys, strings, booleans, numbers, (multi-line) arrays and inline
    tables, with comments: enough for a pyproject.toml on Python 3.9 and 3.10, which lack ``tomllib``."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def parse(self) -> Dict[str, Any]:
        root: Dict[str, Any] = {}
        table = root
        while True:
            self._skip(newlines=True)
            if self.pos >= len(self.text):
                return root
            if self.text[self.pos] == "[":
                self.pos += 1
                names = self._dotted_key("]")
                self.pos += 1
                table = root
                for name in names:
                    table = table.setdefault(name, {})
            else:
                names = self._dotted_key("=")
                self.pos += 1
                target = table
                for name in names[:-1]:
                    target = target.setdefault(name, {})
                target[names[-1]] = self._value()
            self._skip(newlines=False)
            if self.pos < len(self.text) and self.text[self.pos] not in "\r\n":
                raise ValueError(f"pyproject.toml: unexpected text at offset {self.pos}")

    def _skip(self, newlines: bool) -> None:
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char in " \t" or (newlines and char in "\r\n"):
                self.pos += 1
            elif char == "#":
                while self.pos < len(self.text) and self.text[self.pos] not in "\r\n":
                    self.pos += 1
            else:
                return

    def _dotted_key(self, end: str) -> List[str]:
        names = []
        while True:
            self._skip(newlines=False)
            char = self.text[self.pos]
            if char in "\"'":
                names.append(self._string())
            else:
                match = re.compile(r"[A-Za-z0-9_-]+").match(self.text, self.pos)
                if match is None:
                    raise ValueError(f"pyproject.toml: a key expected at offset {self.pos}")
                names.append(match.group())
                self.pos = match.end()
            self._skip(newlines=False)
            if self.text[self.pos] == ".":
                self.pos += 1
                continue
            if self.text[self.pos] != end:
                raise ValueError(f"pyproject.toml: '{end}' expected at offset {self.pos}")
            return names

    def _value(self) -> Any:
        self._skip(newlines=False)
        char = self.text[self.pos]
        if char in "\"'":
            return self._string()
        if char == "[":
            self.pos += 1
            items = []
            while True:
                self._skip(newlines=True)
                if self.text[self.pos] == "]":
                    self.pos += 1
                    return items
                items.append(self._value())
                self._skip(newlines=True)
                if self.text[self.pos] == ",":
                    self.pos += 1
        if char == "{":
            self.pos += 1
            table: Dict[str, Any] = {}
            while True:
                self._skip(newlines=False)
                if self.text[self.pos] == "}":
                    self.pos += 1
                    return table
                names = self._dotted_key("=")
                self.pos += 1
                target = table
                for name in names[:-1]:
                    target = target.setdefault(name, {})
                target[names[-1]] = self._value()
                self._skip(newlines=False)
                if self.text[self.pos] == ",":
                    self.pos += 1
        match = re.compile(r"true|false|[+-]?[0-9][0-9_]*(\.[0-9_]+)?").match(self.text, self.pos)
        if match is None:
            raise ValueError(f"pyproject.toml: a value expected at offset {self.pos}")
        self.pos = match.end()
        word = match.group().replace("_", "")
        if word in ("true", "false"):
            return word == "true"
        return float(word) if "." in word else int(word)

    def _string(self) -> str:
        quote = self.text[self.pos]
        if self.text.startswith(quote * 3, self.pos):
            raise ValueError("pyproject.toml: multi-line strings are not supported on this Python")
        self.pos += 1
        out = []
        escapes = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "b": "\b", "f": "\f"}
        while True:
            char = self.text[self.pos]
            self.pos += 1
            if char == quote:
                return "".join(out)
            if char == "\\" and quote == '"':
                code = self.text[self.pos]
                self.pos += 1
                if code in "uU":
                    size = 4 if code == "u" else 8
                    out.append(chr(int(self.text[self.pos:self.pos + size], 16)))
                    self.pos += size
                else:
                    out.append(escapes[code])
            elif char in "\r\n":
                raise ValueError("pyproject.toml: a string runs past the end of its line")
            else:
                out.append(char)
