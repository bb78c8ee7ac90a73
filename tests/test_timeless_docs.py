"""Docs, docstrings and comments describe the product and the reasons for its design, never the history
of its making: no work-session numbers, no roles, no dated prose. The check covers README.md and every
text file under docs/ (except the generated docs/reference/), sciml/ and examples/; CHANGELOG.md keeps
its history.

Only clear markers count, so the test has no false positives on legitimate text:

- the word "session(s)" (an API name such as ``ort.InferenceSession`` or ``requests.Session()`` is not prose);
- "work period";
- an ISO calendar date without a time of day (a machine-written timestamp such as the
  ``created: 2026-12-04T16:13:13+00:00`` metadata of a generated benchmark page or JSON is provenance,
  not prose);
- "issue 7" / "issue #5" / "the issue's" (a pointer into the tracker's history instead of the reason itself);
- a role: "the lead('s)" (not "the lead time/dimension/axis"), "(lead, ...)", "engineer", "reviewer",
  "maintainer";
- "we reran" / "we re-ran", and "today's" default/preset/code/run.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TEXT_SUFFIXES = {".md", ".py", ".yml", ".yaml", ".json", ".txt", ".rst", ".toml", ".cfg", ".ini", ".sh"}
SKIP_DIRS = {"__pycache__", ".ipynb_checkpoints"}

MARKERS = [
    ("session", re.compile(r"(?<![.\w])sessions?\b(?!\()", re.I)),
    ("work period", re.compile(r"\bwork[- ]periods?\b", re.I)),
    ("dated prose", re.compile(r"(?<![\"'])\b(?:19|20)\d\d-[01]\d-[0-3]\d\b(?![T ]\d\d:\d\d|[\"'])")),
    ("issue number", re.compile(r"\bissues? #?\d+\b|\bthe issue's\b", re.I)),
    ("role", re.compile(r"\bthe lead(?:'s)?\b(?!\s*-?\s*(?:time|times|dim|dims|dimension|dimensions|axis|axes|index|shape))"
                        r"|\(lead\b|\bengineers?\b|\breviewers?\b|\bmaintainers?\b", re.I)),
    ("rerun diary", re.compile(r"\bwe re-?ran\b|\btoday's (?:default|preset|code|run|version|hour)\b", re.I)),
]

def checked_files() -> list[Path]:
    """README.md and the text files under docs/ (not the generated docs/reference/), sciml/ and examples/."""
    files = [ROOT / "README.md"]
    for top in ("docs", "sciml", "examples"):
        for path in sorted((ROOT / top).rglob("*")):
            rel = path.relative_to(ROOT)
            if (path.is_file() and path.suffix in TEXT_SUFFIXES and path.name != "CHANGELOG.md"
                    and not SKIP_DIRS & set(rel.parts) and rel.parts[:2] != ("docs", "reference")):
                files.append(path)
    return files


def narration(path: Path) -> list[str]:
    """``path:line: [marker] text`` for every narration marker in the file."""
    hits = []
    for n, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        for name, pattern in MARKERS:
            m = pattern.search(line)
            if m:
                hits.append(f"{path.relative_to(ROOT)}:{n}: [{name}] ...{line[max(0, m.start() - 40):m.end() + 40]}...")
    return hits


@pytest.mark.parametrize("line, expected", [
    ("Status: accepted (session 5)", "session"),
    ("Sessions 3-7 tuned the preset.", "session"),
    ("the work period ended", "work period"),
    ("# GPU rows: one NVIDIA H100 (2026-11-27)", "dated prose"),
    ("Status: accepted (issue #5)", "issue number"),
    ("see issue 7", "issue number"),
    ("the issue's 10x target is met", "issue number"),
    ("(this session, 2026-11-27T04:20Z)", "session"),
    ("measured on 2026-11-27 on one H100", "dated prose"),
    ("seed 1 (lead, later the same day)", "role"),
    ("until the lead's rerun it used the smooth seed", "role"),
    ("a reviewer asked for it", "role"),
    ("We reran it at 16 epochs.", "rerun diary"),
    ("twice today's hour", "rerun diary"),
    ("today's default NS preset", "rerun diary"),
])
def test_the_markers_catch_narration(line, expected):
    assert [name for name, pattern in MARKERS if pattern.search(line)] == [expected]


@pytest.mark.parametrize("line", [
    "- created: 2026-12-04T16:13:13+00:00",  # generated benchmark metadata
    '"created": "2026-11-27T04:20:57+00:00",',
    "sess = ort.InferenceSession(path)",
    "with requests.Session() as s:",
    'times = xr.date_range("2015-01-01", periods=86, freq="YS")',  # a date as data, not prose
    "Prithvi's lead/input time conditioning; the lead time is an input, as is the lead-time embedding",
    "*lead, ny, nx = shape",
    "the U-Net leads by 1.3-1.4x at 468 steps",
    "a rerun replaces it; `sciml train` resumes from last.pt",
    "the years 1850-2100 of the SSP scenarios",
    "an issue with the mesh: see the error message",
    "two phases: l1 steps, then proximal matching",
])
def test_legitimate_text_is_not_flagged(line):
    assert [name for name, pattern in MARKERS if pattern.search(line)] == []


def test_the_check_covers_the_docs_the_package_and_the_examples():
    rels = {p.relative_to(ROOT).as_posix() for p in checked_files()}
    assert {"README.md", "docs/index.md", "docs/adr/0053-lpn-keep-architecture-and-admm.md",
            "sciml/__init__.py", "docs/benchmarks/dcdm.json"} <= rels
    assert not any(r.startswith("docs/reference/") or r.endswith("CHANGELOG.md") for r in rels)


def test_docs_and_code_do_not_narrate_their_history():
    hits = [h for path in checked_files() for h in narration(path)]
    assert not hits, "narration of the product's history (say what it does and why):\n" + "\n".join(hits)


def test_adr_file_names_carry_no_session_numbers():
    names = [p.name for p in (ROOT / "docs" / "adr").glob("*.md")]
    assert names and not [n for n in names if re.search(r"session|period|round-?\d", n, re.I)]
