"""Generated markdown sections: rewritten in place, the text around them kept."""

from __future__ import annotations

from pathlib import Path

from diano.reporting import cpu_name, markers, write_section


def test_write_section_creates_replaces_and_appends(tmp_path: Path) -> None:
    doc = tmp_path / "docs" / "bench.md"
    write_section(doc, "a", "## A\n\nfirst\n")
    begin, end = markers("a")
    assert doc.read_text() == f"# Benchmarks\n\n{begin}\n## A\n\nfirst\n{end}\n"

    # text around the section and another script's section survive a rewrite
    doc.write_text(
        doc.read_text().replace("# Benchmarks\n", "# Benchmarks\n\nIntro.\n") + "\nOutro.\n"
    )
    write_section(doc, "b", "## B")
    write_section(doc, "a", "## A\n\nsecond")
    text = doc.read_text()
    assert text.startswith("# Benchmarks\n\nIntro.\n\n")
    assert "first" not in text and f"{begin}\n## A\n\nsecond\n{end}\n" in text
    assert "Outro." in text and text.index("Outro.") < text.index(markers("b")[0])
    assert text.count(begin) == text.count(end) == 1
    assert text.endswith(f"{markers('b')[0]}\n## B\n{markers('b')[1]}\n")

    write_section(tmp_path / "results.md", "evaluate", "x", title="# Results")
    assert (tmp_path / "results.md").read_text().startswith("# Results\n\n<!-- BEGIN evaluate -->")


def test_cpu_name_is_a_non_empty_string() -> None:
    assert isinstance(cpu_name(), str) and cpu_name()
