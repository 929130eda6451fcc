"""botocore's data loader, finding one service's data without listing every service's, and
reading its JSON faster.

Before it loads a service's model (and again for its endpoint rules), botocore's Loader lists
every service it has data for, to check the one asked for is among them: a listdir and a
few stats in each of ~400 folders, twice, ~17 ms of the first client a Lambda container
makes (issue 19). This loader answers that check by looking in the one service's folder, with
the same answer, and lists them all only when the whole list is asked for (an unknown
service's error names them, as botocore's does).

It also reads botocore's JSON into plain dicts, not the OrderedDicts botocore asks for: they
keep the same order (every dict does, since Python 3.7) and parse twice as fast (endpoints.json
23 ms against 11, SSM's model 12 against 7: ~20 ms of a cold start). Everything else, which
data is read and from where, is botocore's own Loader (tests/unit/test_service_data.py
compares the two).
"""

from __future__ import annotations

import gzip
import json
import logging
import os
from collections.abc import Iterator, Sequence
from typing import Any, overload

from botocore.loaders import JSONFileLoader, Loader

log = logging.getLogger("botocore.loaders")

# botocore's extensions, in its order: a plain file first
_READERS = {".json": lambda raw: raw, ".json.gz": gzip.decompress}


class PlainJSONFileLoader(JSONFileLoader):  # type: ignore[misc]  # (botocore is untyped)
    def load_file(self, file_path: str) -> Any:
        """The data in `file_path` + ".json" or ".json.gz", None if neither exists."""
        for extension, decode in _READERS.items():
            full_path = file_path + extension
            if os.path.isfile(full_path):
                with open(full_path, "rb") as file:
                    payload = decode(file.read()).decode("utf-8")
                log.debug("Loading JSON file: %s", full_path)
                return json.loads(payload)
        return None


class ServiceDataLoader(Loader):  # type: ignore[misc]  # (botocore is untyped)
    FILE_LOADER_CLASS = PlainJSONFileLoader

    def list_available_services(self, type_name: str) -> AvailableServices:
        return AvailableServices(self, type_name)

    def has_service(self, service_name: str, type_name: str) -> bool:
        """Whether botocore's listing would include `service_name`: a folder of that name in
        a search path, with `type_name` data in one of its API versions."""
        if not service_name or service_name in (".", "..") or os.sep in service_name:
            return False
        if os.altsep and os.altsep in service_name:
            return False
        for path in self.search_paths:
            folder = os.path.join(path, service_name)
            if not os.path.isdir(folder):
                continue
            for version in os.listdir(folder):
                if self.file_loader.exists(os.path.join(folder, version, type_name)):
                    return True
        return False

    def all_services(self, type_name: str) -> list[str]:
        listed: list[str] = Loader.list_available_services(self, type_name)
        return listed


class AvailableServices(Sequence[str]):
    """botocore's sorted list of services, listed only when more than `in` is asked of it."""

    def __init__(self, loader: ServiceDataLoader, type_name: str) -> None:
        self._loader = loader
        self._type_name = type_name
        self._listed: list[str] | None = None

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._loader.has_service(name, self._type_name)

    def _all(self) -> list[str]:
        if self._listed is None:
            self._listed = self._loader.all_services(self._type_name)
        return self._listed

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> list[str]: ...
    def __getitem__(self, index: int | slice) -> str | list[str]:
        return self._all()[index]

    def __len__(self) -> int:
        return len(self._all())

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __eq__(self, other: Any) -> bool:
        return list(self) == (list(other) if isinstance(other, AvailableServices) else other)

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return repr(self._all())


def create_loader(search_path_string: str | None) -> ServiceDataLoader:
    """What botocore.loaders.create_loader makes of AWS_DATA_PATH (the session's data_path)."""
    if search_path_string is None:
        return ServiceDataLoader()
    paths = [
        os.path.expanduser(os.path.expandvars(p)) for p in search_path_string.split(os.pathsep)
    ]
    return ServiceDataLoader(extra_search_paths=paths)
