"""Relative links and anchors of README.md and docs/*.md, checked the way GitHub renders them.

    python scripts/doc_links.py   # print every broken link; exit 1 if there is one

A link is broken when its file (or directory) does not exist, or when it names an anchor that the
Markdown file it points at does not have. A file's anchors are its headings' slugs, as GitHub makes
them (markup dropped, lowercased, punctuation removed, spaces to hyphens, a repeated slug numbered
``-1``, ``-2``...), and the explicit ``<a id="...">`` / ``<a name="...">`` anchors. Links inside code
(fenced blocks and code spans) are not links and are not checked. Every page under docs/ must also be
linked from the README, and a repository path a page names in a code span (`components/...`,
`vpclambda_runtime/...`) must exist, so a moved module cannot leave the pages behind; the measured
record between the bench markers is left as it was measured.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

ROOT = Path(__file__).resolve().parent.parent
FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.M | re.S)
CODE_SPAN = re.compile(r"(`+)(?!`).+?(?<!`)\1(?!`)", re.S)
HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$", re.M)
HTML_ANCHOR = re.compile(r"""<a\s+(?:[^>]*?\s)?(?:id|name)\s*=\s*["']([^"']+)["']""", re.I)
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+[\"'][^)]*[\"'])?\s*\)")
HTML_HREF = re.compile(r"""<a\s+(?:[^>]*?\s)?href\s*=\s*["']([^"']+)["']""", re.I)
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)
TOP_LEVEL = ("bench/", "components/", "docs/", "examples/", "handler/", "provider/", "scripts/", "tests/",
             "vpclambda_runtime/")
"""The repository's folders: a code span starting with one of them names a path of the repository."""
CODE_PATH = re.compile(r"`(?:" + "|".join(map(re.escape, TOP_LEVEL)) + r")[^`\s<>*]*`")
BENCH_RECORD = re.compile(r"<!-- bench:start -->.*?<!-- bench:end -->", re.S)


def pages(root: Path = ROOT) -> list[Path]:
    """The pages whose links are checked: README.md and every docs/*.md."""
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


def without_code(text: str) -> str:
    """``text`` with fenced code blocks and code spans blanked (lines kept, for line numbers)."""
    def blank(match: re.Match[str]) -> str:
        return re.sub(r"[^\n]", " ", match.group(0))
    return CODE_SPAN.sub(blank, FENCE.sub(blank, text))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading's text."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)    # a link: its text
    text = re.sub(r"<[^>]+>", "", text)                             # inline HTML
    text = re.sub(r"(\*+|`+)", "", text)                            # emphasis, code spans
    text = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return text.replace(" ", "-")


def anchors(text: str) -> set[str]:
    """Every anchor a Markdown page has: its headings' slugs and its explicit HTML anchors."""
    found: set[str] = set()
    seen: dict[str, int] = {}
    prose = without_code(text)
    for match in HEADING.finditer(prose):
        # The heading's own text, code spans included: blanking keeps every offset.
        base = slug(text[match.start(1):match.end(1)])
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    found.update(HTML_ANCHOR.findall(prose))
    return found


def links(text: str) -> Iterator[tuple[int, str]]:
    """(line number, target) of every Markdown and HTML link outside code."""
    prose = without_code(text)
    for pattern in (LINK, HTML_HREF):
        for match in pattern.finditer(prose):
            yield prose.count("\n", 0, match.start()) + 1, match.group(1)


def named_paths(text: str) -> Iterator[tuple[int, str]]:
    """(line number, path) of every repository path named in a code span, outside the bench record."""
    text = BENCH_RECORD.sub(lambda match: re.sub(r"[^\n]", " ", match.group(0)), text)
    for match in CODE_PATH.finditer(text):
        yield text.count("\n", 0, match.start()) + 1, match.group(0).strip("`")


def broken_links(root: Path = ROOT) -> list[str]:
    """Every relative link or anchor of the README and docs/*.md that leads nowhere, every path
    they name that does not exist, and every docs page the README does not link to; one message
    each, naming the page and the line."""
    problems = []
    cache: dict[Path, set[str]] = {}
    readme_targets: set[Path] = set()
    for page in pages(root):
        text = page.read_text()
        name = page.relative_to(root).as_posix()
        for line, path in named_paths(text):
            if not (root / path).exists():
                problems.append(f"{name}:{line}: names `{path}`, which does not exist")
        for line, target in links(text):
            if not target or EXTERNAL.match(target):
                continue
            path_part, _, anchor = target.partition("#")
            destination = (page.parent / unquote(path_part)).resolve() if path_part else page.resolve()
            if page.name == "README.md" and page.parent == root:
                readme_targets.add(destination)
            if not destination.exists():
                problems.append(f"{name}:{line}: {target}: no such file")
                continue
            if not anchor:
                continue
            if destination.suffix != ".md" or not destination.is_file():
                problems.append(f"{name}:{line}: {target}: an anchor into something that is not a Markdown page")
                continue
            if destination not in cache:
                cache[destination] = anchors(destination.read_text())
            if unquote(anchor) not in cache[destination]:
                problems.append(f"{name}:{line}: {target}: {destination.name} has no anchor #{anchor}")
    for page in sorted((root / "docs").glob("*.md")):
        if page.resolve() not in readme_targets:
            problems.append(f"README.md: does not link to {page.relative_to(root).as_posix()}")
    return problems


def main() -> int:
    problems = broken_links()
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
