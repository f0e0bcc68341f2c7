"""The local CodeBuild runner, with real subprocesses: env, session, limits, timeout, cancel."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from hadron.proton.codebuild import (
    DEFAULT_PATH,
    INPUTS_FILE,
    Build,
    BuildResult,
    BuildSpec,
    run_build,
)

ARN = "arn:aws:proton:us-east-1:123456789012:environment/env1"
INPUTS = json.dumps({"environment": {"name": "env1", "inputs": {"size": 3}}})


def spec(*commands: str, **kw: Any) -> BuildSpec:
    return BuildSpec(commands=commands, resource_arn=ARN, inputs_json=INPUTS, **kw)


def run(tmp_path: Path, build_spec: BuildSpec) -> tuple[BuildResult, str]:
    log = tmp_path / "logs" / "build.log"
    result = run_build(build_spec, tmp_path / "work", log)
    return result, log.read_text()


def test_echo_success_and_log(tmp_path: Path) -> None:
    result, log = run(tmp_path, spec("echo hello", "echo world >&2"))
    assert result.succeeded and result.exit_status == 0
    assert not result.timed_out and not result.cancelled and not result.truncated
    assert "[Container] Running command echo hello\nhello\n" in log
    assert "world\n" in log  # stderr is merged
    assert "hello" in result.log_tail
    assert "[Hadron] Build finished with exit status 0" in log
    assert result.duration < 5


def test_clean_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HADRON_SECRET_LEAK", "x")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    result, _ = run(
        tmp_path,
        spec(
            "env > env.txt",
            bin_dir=str(bin_dir),
            extra_env=MappingProxyType({"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE"}),
        ),
    )
    assert result.succeeded
    env = dict(
        line.split("=", 1)
        for line in (tmp_path / "work" / "env.txt").read_text().splitlines()
        if "=" in line
    )
    assert env["PATH"] == f"{bin_dir}:{DEFAULT_PATH}"
    assert env["HOME"] == str(tmp_path / "work")
    assert env["RESOURCE_ARN"] == ARN
    assert env["AWS_ACCESS_KEY_ID"] == "AKIDEXAMPLE"
    assert "HADRON_SECRET_LEAK" not in env
    # Only what we set, plus what sh itself maintains.
    assert set(env) - {"PATH", "HOME", "RESOURCE_ARN", "AWS_ACCESS_KEY_ID"} <= {
        "PWD",
        "OLDPWD",
        "SHLVL",
        "_",
    }


def test_bin_dir_comes_first(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    tool = bin_dir / "mytool"
    tool.write_text("#!/bin/sh\necho from-bin-dir\n")
    tool.chmod(0o755)
    result, log = run(tmp_path, spec("mytool", bin_dir=str(bin_dir)))
    assert result.succeeded
    assert "from-bin-dir" in log


def test_one_shell_session(tmp_path: Path) -> None:
    result, log = run(
        tmp_path, spec("mkdir sub", "cd sub", "export X=kept", 'echo "$X in $(basename "$PWD")"')
    )
    assert result.succeeded
    assert "kept in sub" in log


def test_first_failure_stops_the_build(tmp_path: Path) -> None:
    result, log = run(tmp_path, spec("echo before", "sh -c 'exit 3'", "echo never"))
    assert result.exit_status == 3 and not result.succeeded
    assert "never" not in log
    assert "[Container] Command did not exit successfully sh -c 'exit 3' exit status 3" in log
    # A command may end the session itself, as in any shell.
    result2, log2 = run(tmp_path / "b", spec("exit 4", "echo never"))
    assert result2.exit_status == 4
    assert "never" not in log2


def test_files_inputs_and_outputs(tmp_path: Path) -> None:
    script = (
        b'#!/bin/sh\npython3 -c "import json;'
        b"print(json.load(open('proton-inputs.json'))['environment']['inputs']['size'])\"\n"
    )
    result, log = run(
        tmp_path,
        spec(
            "./scripts/show.sh",
            "cat data/x.txt",
            'printf \'%s\' \'[{"key": "k", "valueString": "v"}]\' > proton-outputs.json',
            files=MappingProxyType({"scripts/show.sh": script, "data/x.txt": b"payload\n"}),
            executable=frozenset({"scripts/show.sh"}),
        ),
    )
    assert result.succeeded, log
    assert "\n3\n" in log and "payload" in log
    assert json.loads((tmp_path / "work" / INPUTS_FILE).read_text()) == json.loads(INPUTS)
    assert result.outputs_file == '[{"key": "k", "valueString": "v"}]'
    mode = (tmp_path / "work" / "data" / "x.txt").stat().st_mode & 0o777
    assert mode == 0o600


def test_no_outputs_file(tmp_path: Path) -> None:
    result, _ = run(tmp_path, spec("true"))
    assert result.outputs_file is None


def test_big_output_keeps_head_and_tail(tmp_path: Path) -> None:
    result, log = run(
        tmp_path,
        spec(
            "i=0; while [ $i -lt 20000 ]; do echo line-$i; i=$((i+1)); done",
            tail_limit=1000,
            log_limit=5000,
        ),
    )
    assert result.succeeded
    assert result.truncated
    assert result.output_bytes > 100_000
    assert len(result.log_tail.encode()) == 1000
    assert result.log_tail.endswith("line-19999\n")
    assert log.startswith("[Container] Running command")
    assert "line-0\n" in log and "line-19999\n" in log
    assert "bytes of output omitted" in log
    assert len(log) < 5000 + 1000 + 200
    assert "line-10000\n" not in log


def test_timeout_kills_the_build(tmp_path: Path) -> None:
    started = time.monotonic()
    result, log = run(tmp_path, spec("echo start", "sleep 30", "echo never", timeout=0.5))
    assert time.monotonic() - started < 4
    assert result.timed_out and not result.cancelled and not result.succeeded
    assert result.exit_status is None
    assert "start" in log
    assert "Build timed out after 0.5 seconds" in log


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (not yet reaped by init) counts as gone.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _wait_gone(pid: int) -> bool:
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return False


def test_cancel_from_another_thread_kills_the_process_group(tmp_path: Path) -> None:
    build = Build(
        spec("sleep 30 & echo $! > bg.pid; sleep 30"), tmp_path / "work", tmp_path / "log"
    )
    results: list[BuildResult] = []
    thread = threading.Thread(target=lambda: results.append(build.run()))
    started = time.monotonic()
    thread.start()
    pid_file = tmp_path / "work" / "bg.pid"
    while not (pid_file.exists() and pid_file.read_text().strip()):
        assert time.monotonic() - started < 3
        time.sleep(0.02)
    build.cancel()
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert time.monotonic() - started < 4
    (result,) = results
    assert result.cancelled and not result.timed_out and result.exit_status is None
    assert "Build cancelled" in (tmp_path / "log").read_text()
    assert _wait_gone(int(pid_file.read_text()))


def test_cancel_event_with_run_build(tmp_path: Path) -> None:
    event = threading.Event()
    timer = threading.Timer(0.3, event.set)
    timer.start()
    started = time.monotonic()
    result = run_build(spec("sleep 30"), tmp_path / "w", tmp_path / "l", cancel=event)
    timer.join()
    assert result.cancelled
    assert time.monotonic() - started < 4


def test_cancel_before_start(tmp_path: Path) -> None:
    build = Build(spec("echo ran > ran.txt"), tmp_path / "work", tmp_path / "log")
    build.cancel()
    result = build.run()
    assert result.cancelled and result.exit_status is None
    assert not (tmp_path / "work" / "ran.txt").exists()


def test_leftover_background_processes_are_killed(tmp_path: Path) -> None:
    started = time.monotonic()
    result, _ = run(tmp_path, spec("sleep 30 > /dev/null 2>&1 & echo $! > bg.pid", "echo done"))
    assert result.succeeded
    assert time.monotonic() - started < 4
    assert _wait_gone(int((tmp_path / "work" / "bg.pid").read_text()))


def test_sigterm_ignoring_build_is_killed_after_grace(tmp_path: Path) -> None:
    started = time.monotonic()
    result, _ = run(tmp_path, spec("trap '' TERM; sleep 30", timeout=0.3, kill_grace=0.3))
    assert result.timed_out
    assert time.monotonic() - started < 4


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"files": {"/etc/x": b""}}, "must be relative"),
        ({"files": {"../x": b""}}, "must be relative"),
        ({"files": {"a//b": b""}}, "must be relative"),
        ({"files": {INPUTS_FILE: b""}}, "must not contain proton-inputs.json"),
        ({"executable": frozenset({"nope"})}, "executable names files"),
        ({"extra_env": {"PATH": "/x"}}, "must not set PATH"),
        ({"extra_env": {"A=B": "x"}}, "invalid environment variable"),
        ({"timeout": 0}, "must be positive"),
    ],
)
def test_bad_specs(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        spec("true", **kwargs)


def test_work_dir_must_be_fresh(tmp_path: Path) -> None:
    (tmp_path / "work").mkdir()
    with pytest.raises(FileExistsError):
        run_build(spec("true"), tmp_path / "work", tmp_path / "log")


def test_hadron_environment_bin_gives_python3_and_aws_cli(tmp_path: Path) -> None:
    # As in CodeBuild images, python3 and the AWS CLI are on the commands' PATH when the caller
    # passes Hadron's own environment's bin/ (the AWS CLI is a Hadron dependency).
    bin_dir = Path(sys.executable).parent
    result, log = run(
        tmp_path,
        spec(
            'python3 -c "import sys; print(sys.prefix)"',
            "aws --version",
            bin_dir=str(bin_dir),
            timeout=60,
        ),
    )
    assert result.succeeded, log
    assert str(bin_dir.parent) in log
    assert "aws-cli/" in log
