"""Generated sections of the markdown reports (``docs/benchmarks.md``, ``docs/results.md``).

A script owns the lines between ``<!-- BEGIN name -->`` and ``<!-- END name -->`` of a file and
rewrites only those, so the hand-written text around them and the other scripts' sections
survive every rerun.
"""

from __future__ import annotations

import platform
from pathlib import Path


def markers(name: str) -> tuple[str, str]:
    """The opening and closing comment of section ``name``."""
    return f"<!-- BEGIN {name} -->", f"<!-- END {name} -->"


def write_section(path: str | Path, name: str, body: str, *, title: str = "# Benchmarks") -> None:
    """Put ``body`` between the markers of ``name`` in ``path``.

    An existing section is replaced in place; a file without it gets the section appended; a
    missing file is created with ``title`` as its first line.
    """
    path = Path(path)
    begin, end = markers(name)
    text = path.read_text() if path.is_file() else title + "\n"
    block = f"{begin}\n{body.strip(chr(10))}\n{end}\n"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        tail = rest.split(end, 1)[1].lstrip("\n")
        text = head + block + ("\n" + tail if tail else "")
    else:
        text = text.rstrip("\n") + "\n\n" + block
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def cpu_name() -> str:
    """The CPU model as the kernel reports it (for the header of a measured table)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def portable_path(path: str | Path) -> str:
    """``path`` relative to the repository root when it lies inside it (so reports and
    recorded commands read the same on every machine), else unchanged."""
    root = Path(__file__).resolve().parents[1]
    try:
        return Path(path).resolve().relative_to(root).as_posix()
    except ValueError:
        return str(path)
