"""Every shell command that README.md and docs/ show runs here, as written, in a checkout made the way
a user makes it (tests/user_checkout.py: a fresh clone + `bash scripts/setup.sh`, no test extras),
or is marked as not runnable here with the reason (tests/doc_commands.py says how). The commands are
read out of the documents, so a changed command is tested as changed."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest

from doc_commands import Block, DocError, documented_blocks, parse_markdown
from user_checkout import record_time

BLOCKS = documented_blocks()
RUNNABLE: list[Block] = []
for _block in BLOCKS:
    if _block.runnable and all(_block.script() != b.script() or _block.clean_results for b in RUNNABLE):
        RUNNABLE.append(_block)  # a block repeated word for word (and not starting clean) runs once
BLOCK_LIMIT_S = 900
def test_the_documents_show_commands_that_run_and_say_why_the_others_do_not():
    runnable = [c for b in BLOCKS for c in b.runnable]
    skipped = [(b, c) for b in BLOCKS for c in b.commands if c not in b.runnable]
    assert runnable, "no documented command runs: the command tests would test nothing"
    for block, command in skipped:
        reason = block.not_run or command.not_run
        assert reason and len(reason.split()) >= 2, f"{block.id}: `{command.text}` is not run and says no reason"


@pytest.mark.parametrize("block", RUNNABLE, ids=[b.id for b in RUNNABLE])
def test_documented_block_runs_in_a_users_checkout(block: Block, user_checkout, tmp_path, capsys):
    """The block's commands, at smoke scale where it says how, in the clone's root with a user's
    environment; prints each command's wall time."""
    if block.clean_results:
        shutil.rmtree(user_checkout.path / "results", ignore_errors=True)
    script = tmp_path / "block.sh"
    script.write_text(block.script())
    times = tmp_path / "times.tsv"
    env = {**user_checkout.env, "DOC_TIMES": str(times)}
    start = time.perf_counter()
    done = subprocess.run(["bash", str(script)], cwd=user_checkout.path, env=env, capture_output=True, text=True,
                          timeout=BLOCK_LIMIT_S)
    total = time.perf_counter() - start
    commands = block.command_lines()
    marks: dict[tuple[str, int], float] = {}
    for line in times.read_text().splitlines() if times.exists() else []:
        kind, index, stamp = line.split("\t")
        marks[kind, int(index)] = float(stamp)
    with capsys.disabled():
        print(f"\n{block.id} ({total:.1f} s):")
        for index, command in enumerate(commands):
            if ("end", index) in marks:
                seconds = marks["end", index] - marks["start", index]
                print(f"  {seconds:7.1f} s  {command}")
                if not block.runnable[index].changes_shell:
                    record_time(block.id, command, seconds, "passed")
            elif ("start", index) in marks:
                print(f"   failed    {command}")
                record_time(block.id, command, None, "failed")
    failed = next((c for i, c in enumerate(commands) if ("start", i) in marks and ("end", i) not in marks), None)
    assert done.returncode == 0, (f"{block.id}: `{failed}` failed (exit {done.returncode}) in a user's checkout "
                                  f"({user_checkout.path}):\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}")


# --- the reader of the documents, on documents with known answers --------------------------------

def parse(tmp_path: Path, text: str) -> list[Block]:
    page = tmp_path / "page.md"
    page.write_text(text)
    return parse_markdown(page, tmp_path)


def test_markers_say_how_a_block_runs(tmp_path):
    blocks = parse(tmp_path, "\n".join([
        "Intro.", "",
        "<!-- smoke: --configfile config/smoke.yaml -->",
        "```bash",
        ". .venv/bin/activate",
        "snakemake --cores 2   # the default run",
        "python -m harness costs --space nats-tss \\",
        "    --dataset cifar10",
        "snakemake --profile profiles/gpu   # not run here: needs a GPU",
        "```", "",
        "<!-- not-run: needs a SLURM cluster -->",
        "```shell",
        "snakemake --profile profiles/slurm",
        "```", "",
        "<!-- clean-results -->",
        "<!-- smoke: ARGS=\"--configfile config/smoke.yaml\" -->",
        "```sh",
        "make reproduce",
        "```",
        "```yaml",
        "seeds: [0]",
        "```",
    ]))
    assert [b.line for b in blocks] == [4, 13, 19]
    first, second, third = blocks
    assert first.command_lines() == [
        ". .venv/bin/activate",
        "snakemake --cores 2 --configfile config/smoke.yaml",
        "python -m harness costs --space nats-tss \\\n    --dataset cifar10 --configfile config/smoke.yaml",
    ]
    assert first.commands[3].not_run == "needs a GPU" and first.commands[2].line == 7
    assert second.not_run == "needs a SLURM cluster" and second.runnable == ()
    assert third.clean_results and third.command_lines() == ['make reproduce ARGS="--configfile config/smoke.yaml"']


def test_a_script_times_each_command(tmp_path):
    (block,) = parse(tmp_path, "```bash\necho one\ncd /\necho 'a # b'  # comment\n```\n")
    times = tmp_path / "times.tsv"
    done = subprocess.run(["bash", "-c", block.script()], env={"DOC_TIMES": str(times), "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout == "one\na # b\n"
    assert [line.split("\t")[:2] for line in times.read_text().splitlines()] == [
        ["start", "0"], ["end", "0"], ["start", "1"], ["end", "1"], ["start", "2"], ["end", "2"]]


@pytest.mark.parametrize("text, message", [
    ("```\nls\n```\n", "without a language"),
    ("<!-- not-run: -->\n```bash\nls\n```\n", "needs a reason"),
    ("<!-- skip -->\n```bash\nls\n```\n", "unknown marker"),
    ("```bash\nsnakemake --cores 2\n```\n", "runs the workflow"),
    ("```bash\n.venv/bin/snakemake --report report.html\n```\n", "runs the workflow"),
    ("```bash\nmake reproduce CORES=4\n```\n", "runs the workflow"),
    ("```bash\nls \\\n```\n", "ends with a backslash"),
    ("```bash\nls\n", "never closed"),
    ("<!-- smoke: --tiny -->\n```python\nprint()\n```\n", "shell blocks only"),
])
def test_an_unclassified_block_is_an_error_that_says_how_to_fix_it(tmp_path, text, message):
    with pytest.raises(DocError, match=message):
        parse(tmp_path, text)
