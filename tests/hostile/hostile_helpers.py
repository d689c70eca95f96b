"""How the hostile-input tests run the CLI and what they assert of every case (imported by name:
the test folders have no packages)."""
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from lsnet.cli import main


@dataclass
class Outcome:
    code: int
    out: str
    err: str


def lsnet(capsys, *argv) -> Outcome:
    """`lsnet ARGV…` in this process, as a user runs it: exit code, stdout, stderr."""
    capsys.readouterr()
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return Outcome(code, out, err)


def messages(err: str) -> list[str]:
    """The lines of stderr without progress-bar redraws (tqdm's `\r`-separated pieces)."""
    return [line for line in err.splitlines() if line.strip() and "%|" not in line]


def assert_error(outcome: Outcome, *words: str, code: int = 2) -> str:
    """Exit `code`; on stderr exactly one `error: …` line, the last one, with `words` in it (before
    it only the command's progress lines); no traceback, no warning."""
    assert outcome.code == code, (outcome.code, outcome.err)
    assert "Traceback" not in outcome.out + outcome.err, outcome.err
    lines = messages(outcome.err)
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0], outcome.err
    assert not any(line.startswith("warning: ") for line in lines), outcome.err
    for word in words:
        assert word in errors[0], (word, errors[0])
    return errors[0]


def assert_warning(outcome: Outcome, *words: str) -> str:
    """Exit 0 and a `warning: …` line with `words`; no traceback."""
    assert outcome.code == 0, outcome.err
    assert "Traceback" not in outcome.out + outcome.err
    warnings = [line for line in outcome.err.splitlines() if line.startswith("warning: ")]
    matching = [line for line in warnings if all(word in line for word in words)]
    assert matching, outcome.err
    return matching[0]


def fingerprints(*paths: Path) -> dict[Path, str]:
    """SHA-256 of each file (or of every file under a folder), to show inputs byte-identical afterwards."""
    digests = {}
    for path in map(Path, paths):
        for file in ([path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())):
            digests[file] = hashlib.sha256(file.read_bytes()).hexdigest()
    return digests


def assert_nothing_left(folder: Path, *final_names: str) -> None:
    """None of `final_names` in `folder`, and no hidden temporary or lock file left behind."""
    for name in final_names:
        assert not (folder / name).exists(), f"{name} exists under its final name"
    hidden = [p.name for p in Path(folder).rglob(".*") if ".tmp-" in p.name or p.name.endswith(".lock")]
    assert not hidden, hidden


def edit_json(path: Path, change) -> Path:
    """Applies `change(data)` to a JSON file in place."""
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))
    return path
