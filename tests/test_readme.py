"""The README's set-up commands are what CI runs, so a user meets what CI met."""

import re

from .conftest import REPO


def _setup_commands() -> list[str]:
    readme = (REPO / "README.md").read_text()
    section = readme.split("## Set up and run", 1)[1].split("\n## ", 1)[0]
    return [line for block in re.findall(r"```sh\n(.*?)```", section, re.S) for line in block.splitlines() if line]


def test_ci_runs_the_readmes_two_commands_in_order():
    commands = _setup_commands()
    assert len(commands) == 2 and "inteleq-rt demo" in commands[0] and commands[1] == "bash tests/run.sh"
    script = (REPO / ".ci" / "run").read_text().splitlines()
    run = [line for line in script if line and not line.startswith(("#", "set ", "cd "))]
    assert run == commands
