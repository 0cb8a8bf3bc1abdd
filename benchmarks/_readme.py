"""Write a benchmark's table into benchmarks/README.md, between its own markers."""

from __future__ import annotations

from pathlib import Path

README = Path(__file__).resolve().parent / "README.md"


def write_block(name: str, header: str, table: str) -> None:
    """Replace the block ``<!-- name -->`` ... ``<!-- /name -->`` (or append it)."""
    text = README.read_text() if README.exists() else ""
    begin, end = f"<!-- {name} -->", f"<!-- /{name} -->"
    block = f"{begin}\n{header}\n\n{table}\n{end}"
    if begin in text:
        text = text[: text.index(begin)] + block + text[text.index(end) + len(end) :]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    README.write_text(text)
