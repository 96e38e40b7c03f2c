"""Chosen files out of an npm package, served as our own static files.

STATICFILES_DIRS maps whole folders. @mediapipe/tasks-vision ships 40 MB, of which a page needs the ES module and
one WebAssembly build with its loader (SIMD, and the no-SIMD one for older browsers); its CommonJS and classic
builds name source maps the package does not contain, which collectstatic's hashing refuses. So only the files
listed in settings.STATIC_PACKAGE_FILES are found, collected and served, each under its package's prefix.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles.finders import BaseFinder
from django.core.checks import Error
from django.core.files.storage import FileSystemStorage


class PackageFilesFinder(BaseFinder):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # prefix -> (the package's folder, its files we serve, relative to that folder)
        self.packages: dict[str, tuple[Path, tuple[str, ...]]] = {
            prefix: (Path(folder), tuple(files))
            for prefix, (folder, files) in getattr(settings, "STATIC_PACKAGE_FILES", {}).items()
        }

    def check(self, **kwargs) -> list[Error]:
        return [
            Error(f"STATIC_PACKAGE_FILES: {prefix}/{name} is not a file name inside its package.", id="smartsession.E001")
            for prefix, (_, files) in self.packages.items()
            for name in files
            if Path(name).is_absolute() or ".." in Path(name).parts
        ]

    def find(self, path: str, find_all: bool = False, **kwargs):
        find_all = find_all or kwargs.get("all", False)  # Django 5.2 still passes the older name sometimes
        found = []
        for prefix, (folder, files) in self.packages.items():
            name = path.removeprefix(f"{prefix}/") if path.startswith(f"{prefix}/") else None
            if name in files and (folder / name).is_file():
                match = str(folder / name)
                if not find_all:
                    return match
                found.append(match)
        return found  # [] when not found, as Django's own finders answer

    def list(self, ignore_patterns):
        for prefix, (folder, files) in self.packages.items():
            if not folder.is_dir():
                continue  # not installed (no Node.js at set-up): the page says the mode cannot load
            storage = FileSystemStorage(location=folder)
            storage.prefix = prefix
            for name in files:
                if (folder / name).is_file():
                    yield name, storage
