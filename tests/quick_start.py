"""The README's quick start as data: the files it shows (each code block whose first line names a
file: `# Pulumi.yaml`, `-- seed.sql`) and the commands of its `sh` block, for the tests that check
and run it (a consumer's project made from exactly what the README says)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCK = re.compile(r"^```(?P<lang>\w*)\n(?P<body>.*?)^```$", re.M | re.S)
FILE_HEADER = re.compile(r"^(?:#|--) (?P<name>[\w./-]+)(?: \(.*\))?$")


@dataclass(frozen=True)
class QuickStart:
    files: dict[str, str]
    """Relative path -> content, the header line left out."""
    commands: list[str]
    """The lines of the `sh` block, comments after `#` dropped."""


def section(readme: str) -> str:
    return readme[readme.index("<!-- quick-start:start"):readme.index("<!-- quick-start:end -->")]


def quick_start(readme: str | None = None) -> QuickStart:
    text = section(readme if readme is not None else README.read_text())
    files: dict[str, str] = {}
    commands: list[str] = []
    for block in BLOCK.finditer(text):
        first, _, rest = block["body"].partition("\n")
        header = FILE_HEADER.match(first)
        if block["lang"] == "sh":
            commands += [line.split("  #", 1)[0].strip() for line in block["body"].splitlines() if line.strip()]
        elif header:
            files[header["name"]] = rest
    return QuickStart(files, commands)


def write(start: QuickStart, directory: Path) -> None:
    for name, content in start.files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
