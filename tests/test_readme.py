"""The README's commands and links, kept honest.

Every command line of the README's ```bash blocks is checked against what it names: an `lstmops`
command and its options (read from the CLI itself), a Makefile target, a script that exists, or a
program on an explicit allow-list; one that needs the virtualenv must use `.venv/bin/...` or follow
`source .venv/bin/activate` in its block, since a user runs it in a plain shell. Every relative link
of the README and docs/ points to a file that exists, and every CLI command is named in the README.

The README section "The registry after `make run`" lists commands that work once `make run` left
champions, and a rollback that works once a second version of a model won the gate. Here the store
holds that state built from tiny pyfuncs (tests/fixtures/toy_pyfunc_model.py) instead of trained
networks, and each `lstmops registry ...` / `lstmops score ...` line of the section runs through the CLI.
"""

from __future__ import annotations

import enum
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import mlflow
import pandas as pd
import pytest
import typer
from mlflow import MlflowClient
from typer.testing import CliRunner

from lstmops.cli.main import app
from lstmops.config import load_params
from lstmops.tracking.store import ensure_experiment

ROOT = Path(__file__).resolve().parents[1]
TOY_MODEL = Path(__file__).parent / "fixtures" / "toy_pyfunc_model.py"
SECTION = "### The registry after `make run`"
VENV_ACTIVATE = ".venv/bin/activate"
# Programs a README command may start with besides `lstmops`, `make` and `python SCRIPT`: shell
# built-ins and the tools a user has (git, sed) or that `make run` installs into .venv (mlflow, prefect, dvc).
ALLOWED_PROGRAMS = {"cd", "source", ".", "git", "sed", "mlflow", "prefect", "dvc"}
# On PATH only inside the activated virtualenv: bare, they need `source .venv/bin/activate` first.
VENV_PROGRAMS = {"lstmops", "python", "mlflow", "prefect", "dvc", "pytest", "ruff"}
SHELL_SEPARATORS = {";", "&&", "||", "|", "&"}
REDIRECTIONS = {">", ">>", "<", ">&", "<<"}
ENV_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


def bash_blocks(text: str) -> list[str]:
    return re.findall(r"```bash\n(.*?)```", text, flags=re.DOTALL)


def command_lines(block: str) -> list[str]:
    """The block's command lines: continuation lines joined, blank and comment-only lines left out."""
    joined = re.sub(r"\\\n\s*", " ", block)
    return [line.strip() for line in joined.splitlines() if line.strip() and not line.strip().startswith("#")]


def simple_commands(line: str) -> list[list[str]]:
    """A command line split at `;`, `&&`, `||`, `|`, `&` into argv lists, comments and redirections cut."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    commands, argv, tokens = [], [], list(lexer)
    while tokens:
        token = tokens.pop(0)
        if token in SHELL_SEPARATORS:
            commands.append(argv)
            argv = []
        elif token in REDIRECTIONS:
            tokens[:1] = []  # the redirection's target
        else:
            argv.append(token)
    return [argv for argv in commands + [argv] if argv]


def makefile_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    heads = re.findall(r"^([A-Za-z0-9_.-][A-Za-z0-9_. -]*?)\s*:(?!=)", text, flags=re.MULTILINE)
    return {target for head in heads for target in head.split()}


def choices_of(param) -> list[str] | None:
    """The values an argument accepts when it is a choice (Typer declares those with an Enum)."""
    annotation = getattr(getattr(param, "type_descriptor", None), "annotation", None)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return [str(member.value) for member in annotation]
    return getattr(getattr(param, "type", None), "choices", None)


def lstmops_problems(argv: list[str]) -> list[str]:
    """What is wrong with `lstmops ...` (argv[0] is the program): unknown commands or options, missing
    required options, the wrong number of arguments or a value outside an argument's choices."""
    command = typer.main.get_command(app)
    path, tokens = ["lstmops"], list(argv[1:])

    def option(name: str):
        return next((p for p in command.params if name in (*p.opts, *p.secondary_opts)), None)

    def takes_value(param) -> bool:
        return not (getattr(param, "is_flag", False) or getattr(param, "count", False))

    while hasattr(command, "commands"):  # a group: its own options, then a subcommand
        if not tokens:
            return [f"`{' '.join(path)}` names no subcommand (it has: {', '.join(sorted(command.commands))})"]
        token = tokens.pop(0)
        if token.startswith("-"):
            param = option(token.split("=", 1)[0])
            if param is None and token != "--help":
                return [f"`{' '.join(path)}` has no option {token}"]
            if param is not None and takes_value(param) and "=" not in token and tokens:
                tokens.pop(0)
            continue
        if token not in command.commands:
            return [f"`{' '.join(path)}` has no command {token!r} (it has: {', '.join(sorted(command.commands))})"]
        command = command.commands[token]
        path.append(token)

    problems, positional, given = [], [], set()
    while tokens:
        token = tokens.pop(0)
        if token.startswith("-") and token != "-":
            name = token.split("=", 1)[0]
            if name == "--help":
                return []
            param = option(name)
            if param is None:
                problems.append(f"`{' '.join(path)}` has no option {name}")
                continue
            given.add(param.name)
            if takes_value(param) and "=" not in token and tokens:
                tokens.pop(0)
        else:
            positional.append(token)
    arguments = [p for p in command.params if p.param_type_name == "argument"]
    required = [p for p in arguments if p.required]
    if len(positional) < len(required) or (
        all(p.nargs >= 0 for p in arguments) and len(positional) > sum(p.nargs for p in arguments)
    ):
        names = " ".join(p.name.upper() for p in arguments) or "no arguments"
        problems.append(f"`{' '.join(path)}` takes {names}, given {positional}")
    for param, value in zip(arguments, positional):
        choices = choices_of(param)
        if choices and value not in choices:
            problems.append(f"`{' '.join(path)}`: {value!r} is not one of {list(choices)}")
    for param in command.params:
        if param.param_type_name == "option" and param.required and param.name not in given:
            problems.append(f"`{' '.join(path)}` needs {param.opts[0]}")
    return problems


def command_problems(argv: list[str], activated: bool) -> list[str]:
    """What is wrong with one simple command as a user would type it in a plain shell at the repository root."""
    while argv and ENV_ASSIGNMENT.match(argv[0]):
        argv = argv[1:]
    if not argv:
        return []
    program, arguments = argv[0], argv[1:]
    if program.startswith(".venv/bin/"):
        program = program.removeprefix(".venv/bin/")
        if program not in VENV_PROGRAMS:
            return [f"{argv[0]}: not a program the virtualenv installs ({', '.join(sorted(VENV_PROGRAMS))})"]
    elif program in VENV_PROGRAMS and not activated:
        return [f"{program}: not on PATH in a plain shell: `source {VENV_ACTIVATE}` first or call .venv/bin/{program}"]
    if program == "lstmops":
        return lstmops_problems(argv)
    if program == "make":
        targets = [arg for arg in arguments if not arg.startswith("-") and "=" not in arg]
        missing = [target for target in targets if target not in makefile_targets()]
        return [f"make: the Makefile has no target {target!r}" for target in missing]
    if program == "python":
        if arguments[:2] == ["-m", "pytest"]:
            return []
        if not arguments or arguments[0].startswith("-"):
            return [f"python: only `python SCRIPT` or `python -m pytest`, not {shlex.join(argv)}"]
        return [] if (ROOT / arguments[0]).is_file() else [f"python: no file {arguments[0]}"]
    if program in ("source", "."):
        return [] if arguments == [VENV_ACTIVATE] else [f"{program}: only {VENV_ACTIVATE}, not {arguments}"]
    if program not in ALLOWED_PROGRAMS:
        allowed = ", ".join(["lstmops", "make", "python SCRIPT", *sorted(ALLOWED_PROGRAMS)])
        return [f"{program}: not a known program (allowed: {allowed})"]
    return []


def block_problems(block: str) -> list[str]:
    """Each problem of a bash block, with the line it is on. `source .venv/bin/activate` holds for the lines after it."""
    problems, activated = [], False
    for line in command_lines(block):
        for argv in simple_commands(line):
            problems += [f"{line}\n    -> {problem}" for problem in command_problems(argv, activated)]
            activated = activated or argv in (["source", VENV_ACTIVATE], [".", VENV_ACTIVATE])
    return problems


def relative_links(markdown: str) -> list[str]:
    """The targets of the file's markdown links and images that point into the repository (anchors cut)."""
    targets = re.findall(r"\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)", markdown)
    return [target.split("#", 1)[0] for target in targets if not re.match(r"^([a-z]+:|#)", target)]


def readme_registry_commands() -> list[list[str]]:
    """Each `lstmops registry|score ...` line of the README section's code blocks, as argv (comments cut)."""
    text = (ROOT / "README.md").read_text()
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    commands = []
    for block in bash_blocks(section):
        for line in command_lines(block):
            argv = shlex.split(line, comments=True)
            if argv[:2] in (["lstmops", "registry"], ["lstmops", "score"]):
                commands.append(argv[1:])
    return commands


def readme_second_champion_route() -> list[str]:
    """The lines of the section's code block that leads to a second champion (the one editing params.yaml)."""
    section = (ROOT / "README.md").read_text().split(SECTION, 1)[1].split("\n## ", 1)[0]
    [block] = [block for block in bash_blocks(section) if "sed " in block]
    return block.splitlines()


def model_named(argv: list[str]) -> str | None:
    """The model a command is about (`registry history NAME`, `score NAME`); None for `registry list`."""
    positional = [arg for arg in argv if not arg.startswith("-")]
    if positional[0] == "score":
        return positional[1]
    return positional[2] if len(positional) > 2 else None


def model_kind_and_series(name: str) -> tuple[str, str]:
    kind, _, series = name.partition("-")
    return kind, series.replace("__", "/")


def log_toy_version(name: str, config: dict) -> str:
    """A run the way a training leaves it (lineage tags naming its data, a pyfunc) registered as a version of `name`."""
    kind, series = model_kind_and_series(name)
    data_kind = "prices" if kind == "forecaster" else "sensors"
    tags = {"kind": kind, "series": series, "data.kind": data_kind, "data.source": "demo"}
    with mlflow.start_run(experiment_id=ensure_experiment(kind), tags=tags):
        mlflow.log_metrics({"mae": 0.1, "mae_persistence": 0.5})
        info = mlflow.pyfunc.log_model(
            name="model", python_model=str(TOY_MODEL), model_config=config, pip_requirements=["mlflow", "pandas"]
        )
    client = MlflowClient()
    if not client.search_registered_models(filter_string=f"name = '{name}'"):
        client.create_registered_model(name, tags={"kind": kind, "series": series, **tags})
    return client.create_model_version(name, info.model_uri, run_id=info.run_id).version


@pytest.fixture
def registry_after_make_run(mlflow_store):
    """Champions for the README's models; the model the README rolls back also has @previous."""
    commands = readme_registry_commands()
    client = MlflowClient()
    names = {model_named(argv) for argv in commands} - {None}
    rolled_back = {argv[2] for argv in commands if argv[:2] == ["registry", "rollback"]}
    for name in names:
        kind, series = model_kind_and_series(name)
        config = {"slope": 1.0} if kind != "autoencoder" else {"threshold": 2.0}
        if client.search_registered_models(filter_string=f"name = '{name}'"):
            continue
        first = log_toy_version(name, config)
        client.set_registered_model_alias(name, "champion", first)
        if name in rolled_back:  # a second version that won the gate: the first is @previous
            client.set_registered_model_alias(name, "previous", first)
            client.set_registered_model_alias(name, "champion", log_toy_version(name, config))
        validated = mlflow_store.root / "data" / "validated"
        if kind == "forecaster":
            frame = pd.DataFrame({"x": [1.0, 2.0, 3.0]})
            path = validated / "prices" / "demo" / f"{series}.parquet"
        else:
            frame = pd.DataFrame({"timestamp": pd.date_range("2024-01-01", periods=4, freq="h"), "x": 1.0})
            frame = frame.assign(value=[0.5, 3.0, 0.1, 0.2])
            path = validated / "sensors" / "demo" / f"{series.replace('/', '__')}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.to_parquet(path)
    return commands


def test_the_readme_shows_registry_examples_and_a_rollback():
    commands = readme_registry_commands()

    assert ["registry", "list"] in commands
    assert any(argv[:2] == ["registry", "rollback"] for argv in commands)
    assert any(argv[0] == "score" for argv in commands)


def test_every_registry_example_of_the_readme_runs_as_written(registry_after_make_run):
    runner = CliRunner()
    for argv in registry_after_make_run:
        result = runner.invoke(app, argv)

        assert result.exit_code == 0, f"lstmops {shlex.join(argv)}:\n{result.output}"
    rolled_back = [argv[2] for argv in registry_after_make_run if argv[:2] == ["registry", "rollback"]]
    assert all(str(MlflowClient().get_registered_model(name).aliases["champion"]) == "1" for name in rolled_back)


def test_the_readmes_newer_data_step_changes_params_and_ingests_the_extra_days(tmp_path, monkeypatch):
    """The route's first two lines, run as written: if the edit stopped matching params.yaml, the retrain
    would see unchanged data and, by design, promote nothing (its training and gate are too slow to run here)."""
    route = readme_second_champion_route()
    [edit] = [line for line in route if line.startswith("sed ")]
    [ingest] = [shlex.split(line, comments=True) for line in route if line.startswith("lstmops ingest")]
    shutil.copy(ROOT / "params.yaml", tmp_path / "params.yaml")
    monkeypatch.chdir(tmp_path)

    subprocess.run(["bash", "-c", edit], check=True, timeout=30, cwd=tmp_path)
    result = CliRunner().invoke(app, ingest[1:])

    newer = tmp_path / ingest[ingest.index("--params") + 1]
    days_before, days_after = (load_params(path).prices.demo.n_days for path in (tmp_path / "params.yaml", newer))
    assert days_after > days_before
    assert result.exit_code == 0, result.output
    assert result.output.count(f" {days_after} rows ") == len(load_params(newer).prices.tickers)


def test_every_command_of_the_readme_is_one_a_user_can_run_as_written():
    problems = [problem for block in bash_blocks((ROOT / "README.md").read_text()) for problem in block_problems(block)]

    assert not problems, "README command lines that would fail:\n" + "\n".join(problems)


@pytest.mark.parametrize(
    ("block", "complaint"),
    [
        ("source .venv/bin/activate\nlstmops registry lst\n", "has no command 'lst'"),
        ("source .venv/bin/activate\nlstmops train forecaster --epoch 2\n", "has no option --epoch"),
        ("source .venv/bin/activate\nlstmops train forcaster\n", "is not one of"),
        ("source .venv/bin/activate\nlstmops registry rollback\n", "takes MODEL"),
        ("source .venv/bin/activate\nlstmops benchmark nab --root NAB \\\n    --groups a\n", "needs --out"),
        ("lstmops registry list\n", "not on PATH in a plain shell"),
        ("mlflow ui --backend-store-uri sqlite:///mlruns/mlflow.db\n", "not on PATH in a plain shell"),
        ("make runn\n", "no target 'runn'"),
        (".venv/bin/python bench/no_such_benchmark.py\n", "no file bench/no_such_benchmark.py"),
        ("curl http://127.0.0.1:5000  # a comment\n", "curl: not a known program"),
        ("make run && wget http://example.com > page.html\n", "wget: not a known program"),
    ],
)
def test_the_command_check_catches_a_wrong_line(block, complaint):
    problems = block_problems(block)

    assert any(complaint in problem for problem in problems), problems


def test_the_command_check_accepts_what_a_user_can_run():
    block = """source .venv/bin/activate
MLFLOW_TRACKING_URI=http://127.0.0.1:5000 lstmops --verbose registry review seq2seq-demo__machine_a --version 2
lstmops train seq2seq --no-register --set train.epochs=2 --series=demo/machine_a   # a comment
git clone --depth 1 https://github.com/numenta/NAB ../NAB
"""

    assert block_problems(block) == []
    assert block_problems("make run VERBOSE=1\n.venv/bin/lstmops registry list\n") == []


def test_every_cli_command_is_in_the_readme():
    text = (ROOT / "README.md").read_text()

    def leaves(command, path):
        if not hasattr(command, "commands"):
            return [" ".join(path)]
        shown = {name: sub for name, sub in command.commands.items() if not sub.hidden}  # old names kept as aliases
        return [leaf for name, sub in shown.items() for leaf in leaves(sub, [*path, name])]

    missing = [path for path in leaves(typer.main.get_command(app), ["lstmops"]) if not re.search(rf"{path}\b", text)]

    assert not missing, f"commands the README does not mention: {missing}"


@pytest.mark.parametrize("page", ["README.md", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md"))])
def test_every_relative_link_points_to_a_file_that_exists(page):
    path = ROOT / page
    broken = [target for target in relative_links(path.read_text()) if not (path.parent / target).exists()]

    assert not broken, f"{page} links to missing files: {broken}"
