"""Releases of the simulated installations: the version a tenant runs, and its documents.

>>> first = Release.initial()
>>> first.next().file_version
'11.11.0'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

__all__ = ["Release"]

_FILE_VERSION = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?(?:\.(\d+))?")


@dataclass(frozen=True, slots=True)
class Release:
    """A release of the simulated installation software."""

    version_name: str
    file_version: str

    @classmethod
    def initial(cls) -> Release:
        """The release a new sandbox tenant runs."""
        return cls("Release 11.10", "11.10.0")

    @classmethod
    def of(cls, version_name: str | None, file_version: str | None) -> Release:
        """A release from what a tenant declares; missing parts come from the initial one."""
        initial = cls.initial()
        return cls(version_name or initial.version_name, file_version or initial.file_version)

    @property
    def label(self) -> str:
        """The `NetServerLabel` (and the state answer's `Version`), e.g. `Release_11.10`."""
        return self.version_name.replace(" ", "_")

    def next(self) -> Release:
        """The release an upgrade brings: the minor version bumped (`11.10.0` -> `11.11.0`)."""
        match = _FILE_VERSION.match(self.file_version)
        if match is None:
            return Release(f"{self.version_name} (next)", f"{self.file_version}.1")
        major, minor = int(match[1]), int(match[2]) + 1
        return Release(f"Release {major}.{minor}", f"{major}.{minor}.0")

    def document(self, endpoint: str) -> dict[str, str]:
        """The API version document (spec section 2) of an installation at `endpoint`."""
        assembly = ".".join([*self.file_version.split(".")[:2], "0", "0"])
        return {
            "v1": endpoint.rstrip("/") + "/api/v1/",
            "NetServerVersion": self.file_version,
            "NetServerAssembly": assembly,
            "NetServerDate": date(2026, 1, 1).isoformat(),
            "NetServerLabel": self.label,
            "NetServer": f"tenantstatus sandbox {self.version_name} (Build: {self.label})",
            "Services": "Services87",
            "ServicesCurrent": "Services88",
            "Version": "v1",
            "Documentation": "https://docs.superoffice.com/en/api/",
        }
