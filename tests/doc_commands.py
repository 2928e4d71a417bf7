"""The shell commands the documentation shows, read out of README.md and docs/**/*.md, so that the
tests run exactly what a user reads (tests/test_documented_commands.py).

Every fenced block names its language. A block in bash, sh, shell or console holds commands: one
per line, a trailing backslash continues a line, `#` starts a comment. Every command either runs in
the test suite or is marked as not runnable here, with the reason. Markers are HTML comments on the
lines directly above the block's opening fence (they do not show on the rendered page):

    <!-- not-run: REASON -->    no command of the block runs here; REASON says why (a GPU, a
                                cluster, ImageNet, hours of compute)
    <!-- smoke: ARGS -->        the block runs at smoke scale: ARGS is appended to each of its
                                commands but `cd`, `.`, `source`, `export` (for example `--configfile config/smoke.yaml`, or
                                `ARGS="--configfile config/smoke.yaml"` after a make target)
    <!-- clean-results -->      the test deletes the checkout's results/ before the block, so the
                                block starts from a checkout that has not run yet

A single command is left out with a trailing comment `# not run here: REASON`.

A block runs as one bash script (`set -e`) in the checkout's root, so a `cd` or `. .venv/bin/activate`
holds for the rest of the block, as it would for a user typing the lines in order; each block
starts in a new shell. Blocks run in reading order: README.md, then the pages in mkdocs.yml's nav.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SHELL_LANGUAGES = frozenset({"bash", "sh", "shell", "console"})
SHELL_STATE = frozenset({"cd", ".", "source", "export", "unset", "set"})
MARKERS = frozenset({"not-run", "smoke", "clean-results"})
FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`\s]*)")
MARKER = re.compile(r"^\s*<!--\s*(?P<name>[a-z-]+)\s*(?::\s*(?P<value>.*?))?\s*-->\s*$")
NOT_RUN_HERE = re.compile(r"#\s*not run here:\s*(?P<reason>\S.*)$", re.IGNORECASE)
# A command that starts the workflow (or asks it for a report): it must say how it runs at smoke scale.
WORKFLOW = re.compile(r"(^|[\s/;&|(])snakemake(\s|$)|(^|[\s;&|(])make\s+(reproduce|resume)\b")


class DocError(ValueError):
    """A documentation block the tests cannot classify; the message says where and how to fix it."""


@dataclass(frozen=True)
class Command:
    text: str           # as written, continuation lines joined with "\\\n"
    line: int           # 1-based line of its first physical line
    not_run: str | None  # the reason of a trailing `# not run here: REASON`

    @property
    def changes_shell(self) -> bool:
        """A `cd`, `. activate`, `export`: it sets up the shell for the commands after it."""
        return self.text.split(maxsplit=1)[0] in SHELL_STATE

    def with_args(self, args: str) -> str:
        """The command with `args` appended after its last word (before any trailing comment)."""
        if self.changes_shell:
            return self.text
        last_lines, _, last = self.text.rpartition("\n")
        code = strip_comment(last).rstrip()
        return f"{last_lines}\n{code} {args}" if last_lines else f"{code} {args}"


@dataclass(frozen=True)
class Block:
    path: str            # relative to the repository root
    line: int            # 1-based line of the opening fence
    language: str
    commands: tuple[Command, ...]
    not_run: str | None = None
    smoke: str | None = None
    clean_results: bool = False

    @property
    def id(self) -> str:
        return f"{self.path}:{self.line}"

    @property
    def runnable(self) -> tuple[Command, ...]:
        return () if self.not_run else tuple(c for c in self.commands if c.not_run is None)

    def command_lines(self) -> list[str]:
        """The commands this block runs, at smoke scale where the block says how."""
        return [c.with_args(self.smoke) if self.smoke else c.text for c in self.runnable]

    def script(self) -> str:
        """A bash script that runs the block's commands in order and appends, for each, a
        `start|end<TAB>index<TAB>epoch seconds` line to the file named by $DOC_TIMES."""
        lines = ["set -eo pipefail",
                 '__doc_time() { printf "%s\\t%s\\t%s\\n" "$1" "$2" "$EPOCHREALTIME" >> "$DOC_TIMES"; }']
        for index, command in enumerate(self.command_lines()):
            lines += [f"__doc_time start {index}", command, f"__doc_time end {index}"]
        return "\n".join(lines) + "\n"


def strip_comment(line: str) -> str:
    """`line` without a trailing shell comment (a `#` outside quotes that starts a word)."""
    quote = None
    for i, char in enumerate(line):
        if quote:
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i]
    return line


def _markers(lines: list[str], fence_index: int, where: str) -> dict[str, str]:
    found: dict[str, str] = {}
    index = fence_index - 1
    while index >= 0 and (match := MARKER.match(lines[index])):
        found[match["name"]] = (match["value"] or "").strip()
        index -= 1
    return found


def _commands(body: list[tuple[int, str]]) -> tuple[Command, ...]:
    commands: list[Command] = []
    pending: list[str] = []
    start = 0
    for number, raw in body:
        if not pending:
            if not raw.strip() or raw.lstrip().startswith("#"):
                continue
            start = number
        pending.append(raw.rstrip())
        if strip_comment(raw).rstrip().endswith("\\"):
            continue
        text = "\n".join(pending)
        reason = NOT_RUN_HERE.search(pending[-1])
        commands.append(Command(text=text, line=start, not_run=reason["reason"].strip() if reason else None))
        pending = []
    if pending:
        raise DocError(f"line {start}: a command ends with a backslash and no next line")
    return tuple(commands)


def parse_markdown(path: Path, root: Path = ROOT) -> list[Block]:
    """Every fenced block of `path` that holds shell commands; a fence without a language, an
    unknown marker or a not-run marker without a reason is a DocError."""
    relative = path.relative_to(root).as_posix()
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        match = FENCE.match(lines[index])
        if not match:
            index += 1
            continue
        where = f"{relative}:{index + 1}"
        fence, indent, language = match["fence"], len(match["indent"]), match["info"].lower()
        end = index + 1
        while end < len(lines) and not re.match(rf"^\s*{re.escape(fence[0])}{{{len(fence)},}}\s*$", lines[end]):
            end += 1
        if end == len(lines):
            raise DocError(f"{where}: the fenced block is never closed")
        if not language:
            raise DocError(f"{where}: a fenced block without a language; name it (```bash for commands, "
                           "```text, ```yaml, ```python for the rest) so the command tests can tell")
        markers = _markers(lines, index, where)
        if language in SHELL_LANGUAGES:
            unknown = sorted(set(markers) - MARKERS)
            if unknown:
                raise DocError(f"{where}: unknown marker <!-- {unknown[0]} --> above a shell block; "
                               f"use one of {sorted(MARKERS)}")
            body = [(number + 1, line[indent:] if not line[:indent].strip() else line.lstrip())
                    for number, line in enumerate(lines[index + 1:end], start=index + 1)]
            try:
                commands = _commands(body)
            except DocError as exc:
                raise DocError(f"{relative}: {exc}") from None
            if "not-run" in markers and not markers["not-run"]:
                raise DocError(f"{where}: <!-- not-run: REASON --> needs a reason")
            if "smoke" in markers and not markers["smoke"]:
                raise DocError(f"{where}: <!-- smoke: ARGS --> needs the arguments to append")
            block = Block(path=relative, line=index + 1, language=language, commands=commands,
                          not_run=markers.get("not-run") or None, smoke=markers.get("smoke") or None,
                          clean_results="clean-results" in markers)
            for command in block.runnable:
                if block.smoke is None and WORKFLOW.search(strip_comment(command.text.replace("\\\n", " "))):
                    raise DocError(f"{relative}:{command.line}: `{command.text}` runs the workflow: say how it "
                                   "runs at smoke scale (<!-- smoke: --configfile config/smoke.yaml --> above "
                                   "the block) or mark it <!-- not-run: REASON -->")
            blocks.append(block)
        elif set(markers) & MARKERS:
            raise DocError(f"{where}: command markers above a {language} block; they apply to shell blocks only")
        index = end + 1
    return blocks


def documentation_files(root: Path = ROOT) -> list[Path]:
    """README.md, then the pages in mkdocs.yml's nav order, then any page the nav leaves out."""
    config = yaml.safe_load((root / "mkdocs.yml").read_text(encoding="utf-8"))
    docs = root / config.get("docs_dir", "docs")
    ordered: list[Path] = [root / "README.md"]

    def walk(entry: object) -> None:
        if isinstance(entry, str):
            if entry.endswith(".md"):
                ordered.append(docs / entry)
        elif isinstance(entry, dict):
            for value in entry.values():
                walk(value)
        elif isinstance(entry, list):
            for value in entry:
                walk(value)

    walk(config.get("nav", []))
    rest = sorted(p for p in docs.rglob("*.md") if p not in ordered and not any(part.startswith("_") for part in p.relative_to(docs).parts))
    return ordered + rest


def documented_blocks(root: Path = ROOT) -> list[Block]:
    return [block for path in documentation_files(root) for block in parse_markdown(path, root)]
