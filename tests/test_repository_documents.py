"""The repository explains itself: no tracked file refers to a document outside it, and every citation
`docs/X.md §N` (or `X.md §N` of a document in docs/) names a section heading that exists there."""
import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
# The notes the project was started from live outside the repository; the code cites docs/ instead.
OUTSIDE = re.compile(r"DESIGN\.md|\bDESIGN:|\bspec §|spec/lsnet-reference|TOOLCHAIN\.md|STYLE\.md|DEVELOPERS\.md"
                     r"|\.\./shared|/work/shared")
SECTION = r"§([0-9]+[a-z]?(?:\.[0-9]+)*)"
CITATION = re.compile(rf"\b([\w-]+\.md)((?:\s*(?:,|–|-|and)?\s*{SECTION})+)")
BINARY = {".pt", ".pth", ".onnx", ".png", ".jpg", ".jpeg", ".mp4", ".avi", ".engine", ".so", ".gz"}


def tracked_files() -> list[Path]:
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: the tracked files are unknown")
    return [REPO / name for name in out.decode().split("\0") if name and Path(name).suffix not in BINARY]


def text(path: Path) -> str:
    return path.read_text(errors="replace") if path.is_file() else ""


def sections(document: Path) -> set[str]:
    """Section numbers of the headings `## 2. Title`, `### 2.5 Title`, `## 1b. Title`."""
    return {m.group(1) for m in re.finditer(r"^#{1,6}\s+([0-9]+[a-z]?(?:\.[0-9]+)*)\.?\s", text(document), re.M)}


def test_no_tracked_file_refers_to_a_document_outside_the_repository():
    found = [f"{path.relative_to(REPO)}:{n}: {line.strip()[:100]}"
             for path in tracked_files() if path != Path(__file__)
             for n, line in enumerate(text(path).splitlines(), 1) if OUTSIDE.search(line)]
    assert found == []


def test_every_cited_section_exists_in_its_document():
    known = {doc.name: sections(doc) for doc in DOCS.glob("*.md")}
    cited, missing = 0, []
    for path in tracked_files():
        for n, line in enumerate(text(path).splitlines(), 1):
            for match in CITATION.finditer(line):
                if match.group(1) not in known:
                    continue
                for number in re.findall(SECTION, match.group(2)):
                    cited += 1
                    if number not in known[match.group(1)]:
                        missing.append(f"{path.relative_to(REPO)}:{n}: {match.group(1)} §{number}")
    assert cited > 100 and missing == []


def test_the_readme_links_the_documents():
    readme = text(REPO / "README.md")
    for doc in ("architecture.md", "lsnet-official.md", "toolchain.md"):
        assert f"(docs/{doc})" in readme, doc
