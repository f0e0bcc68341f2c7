"""Run a CodeBuild-provisioning manifest's commands locally, the way a CodeBuild build would.

Layer: edge (process and file I/O). Knows nothing of the store, the server or Proton resources:
the caller passes the commands, the files, the input document, the environment and the limits,
and gets back a frozen :class:`BuildResult`. Implements proton.md §6.2.

Behaviour (our choices where AWS is silent, see the README):

* **Working directory**: a fresh directory (it must not exist yet) holding the given bundle files
  (paths relative to it; no absolute paths, no ``..``) and ``proton-inputs.json``. The commands run
  in it. ``HOME`` points at it too.
* **One shell session**, like a CodeBuild buildspec phase (version 0.2): the commands run in order
  in a single ``/bin/sh -c`` script, so ``cd`` and ``export`` carry over to later commands; the
  first command that exits non-zero ends the build with its exit status and later commands do not
  run. Each command is announced in the log as ``[Container] Running command <text>``.
* **Clean environment**: only ``PATH`` (the given bin directory first, then
  ``/usr/local/bin:/usr/bin:/bin``), ``HOME``, ``RESOURCE_ARN`` and the caller's extra variables
  (for example temporary credentials and ``AWS_CONFIG_FILE``). Nothing leaks from the server's
  environment. stdin is ``/dev/null``; stderr is merged into stdout.
* **Limits**: a wall-clock ``timeout``; the log file keeps the first ``log_limit`` bytes and,
  after a truncation marker, the last ``tail_limit`` bytes; the result carries that tail.
* **Stopping**: the build runs in its own session/process group. Timeout and :meth:`Build.cancel`
  (from any thread) send SIGTERM to the whole group, then SIGKILL after ``kill_grace`` seconds.
  When the shell ends, whatever it left running in its group is killed (a CodeBuild container
  ends with its build). Processes that leave the group (``setsid``) are out of reach.
* **Outputs**: if the commands leave ``proton-outputs.json`` in the working directory, its text is
  returned in :attr:`BuildResult.outputs_file` (AWS's docs say Proton reads this file; UNCONFIRMED).
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from types import MappingProxyType
from typing import IO

__all__ = [
    "DEFAULT_PATH",
    "INPUTS_FILE",
    "OUTPUTS_FILE",
    "Build",
    "BuildResult",
    "BuildSpec",
    "run_build",
]

INPUTS_FILE = "proton-inputs.json"
OUTPUTS_FILE = "proton-outputs.json"
DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"
_RESERVED_ENV = frozenset({"PATH", "HOME", "RESOURCE_ARN"})
_MAX_OUTPUTS_FILE = 1_000_000
_POLL = 0.05


@dataclass(frozen=True, slots=True)
class BuildSpec:
    """Everything one build needs; validated on construction."""

    commands: tuple[str, ...]
    resource_arn: str
    inputs_json: str
    files: Mapping[str, bytes] = field(default_factory=lambda: MappingProxyType({}))
    executable: frozenset[str] = frozenset()
    bin_dir: str | None = None
    extra_env: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    timeout: float = 3600.0
    tail_limit: int = 64 * 1024
    log_limit: int = 10 * 1024 * 1024
    kill_grace: float = 2.0

    def __post_init__(self) -> None:
        for path in (*self.files, *self.executable):
            _relative(path)
        if INPUTS_FILE in self.files:
            raise ValueError(f"files must not contain {INPUTS_FILE}; pass inputs_json")
        if not self.executable <= set(self.files):
            raise ValueError("executable names files that are not given")
        clash = _RESERVED_ENV & set(self.extra_env)
        if clash:
            raise ValueError(f"extra_env must not set {', '.join(sorted(clash))}")
        for key, value in self.extra_env.items():
            if not key or "=" in key or "\0" in key or "\0" in value:
                raise ValueError(f"invalid environment variable {key!r}")
        if any("\0" in c for c in self.commands):
            raise ValueError("commands must not contain NUL characters")
        if self.timeout <= 0 or self.tail_limit <= 0 or self.log_limit < 0 or self.kill_grace < 0:
            raise ValueError("timeout and tail_limit must be positive, limits not negative")


@dataclass(frozen=True, slots=True)
class BuildResult:
    """How a build ended. ``exit_status`` is None when it was stopped before exiting by itself."""

    exit_status: int | None
    timed_out: bool
    cancelled: bool
    log_tail: str
    output_bytes: int
    duration: float
    outputs_file: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.exit_status == 0 and not self.timed_out and not self.cancelled

    @property
    def truncated(self) -> bool:
        """The output was longer than the kept tail."""
        return self.output_bytes > len(self.log_tail.encode("utf-8", "replace"))


def _relative(name: str) -> PurePosixPath:
    parts = name.split("/")
    if "\0" in name or any(part in ("", ".", "..") for part in parts):
        raise ValueError(f"file path {name!r} must be relative and stay inside the work dir")
    return PurePosixPath(*parts)


def _script(commands: tuple[str, ...]) -> str:
    """One sh session: announce, run, stop at the first failure with its status."""
    lines = []
    for command in commands:
        note = shlex.quote(f"[Container] Running command {command}")
        lines.append(f"printf '%s\\n' {note}")
        lines.append(command)
        failed = shlex.quote(
            f"[Container] Command did not exit successfully {command} exit status "
        )
        lines.append('__hadron_rc=$?; if [ "$__hadron_rc" -ne 0 ]; then')
        lines.append(f'  printf \'%s%s\\n\' {failed} "$__hadron_rc"; exit "$__hadron_rc"; fi')
    lines.append("exit 0")
    return "\n".join(lines) + "\n"


class _Output:
    """Collects the merged output: head into the log file, a bounded tail in memory."""

    def __init__(self, log: IO[bytes], log_limit: int, tail_limit: int) -> None:
        self._log = log
        self._log_limit = log_limit
        self._tail_limit = tail_limit
        self.head_written = 0
        self.total = 0
        self.tail = bytearray()

    def feed(self, chunk: bytes) -> None:
        room = self._log_limit - self.head_written
        if room > 0:
            self._log.write(chunk[:room])
            self._log.flush()
            self.head_written += min(room, len(chunk))
        self.total += len(chunk)
        self.tail += chunk
        if len(self.tail) > self._tail_limit:
            del self.tail[: len(self.tail) - self._tail_limit]

    def finish(self, trailer: str) -> None:
        """Write what the head did not hold: a marker and the unwritten part of the tail."""
        tail_start = self.total - len(self.tail)
        start = max(tail_start, self.head_written)
        if start > self.head_written:
            omitted = start - self.head_written
            self._log.write(f"\n[Hadron] ... {omitted} bytes of output omitted ...\n".encode())
        self._log.write(bytes(self.tail[start - tail_start :]))
        if trailer:
            self._log.write(trailer.encode())
        self._log.flush()


class Build:
    """One build. :meth:`run` blocks; :meth:`cancel` may be called from any other thread."""

    def __init__(self, spec: BuildSpec, work_dir: Path, log_path: Path) -> None:
        self.spec = spec
        self.work_dir = work_dir
        self.log_path = log_path
        self._cancel = threading.Event()
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None

    def cancel(self) -> None:
        """Stop the build (now, or as soon as it starts)."""
        self._cancel.set()
        with self._lock:
            if self._proc is not None:
                _signal_group(self._proc, signal.SIGTERM)

    def _prepare(self) -> dict[str, str]:
        self.work_dir.parent.mkdir(parents=True, exist_ok=True)
        self.work_dir.mkdir(mode=0o700, exist_ok=False)
        for name, content in self.spec.files.items():
            target = self.work_dir / _relative(name)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
            target.chmod(0o700 if name in self.spec.executable else 0o600)
        (self.work_dir / INPUTS_FILE).write_text(self.spec.inputs_json, encoding="utf-8")
        path = DEFAULT_PATH if self.spec.bin_dir is None else f"{self.spec.bin_dir}:{DEFAULT_PATH}"
        env = {"PATH": path, "HOME": str(self.work_dir), "RESOURCE_ARN": self.spec.resource_arn}
        env.update(self.spec.extra_env)
        return env

    def run(self) -> BuildResult:
        """Prepare the work dir, run the commands, and report. Raises only for caller errors
        (bad paths, existing work dir) and I/O failures before the build starts."""
        env = self._prepare()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        with self.log_path.open("wb") as log:
            output = _Output(log, self.spec.log_limit, self.spec.tail_limit)
            status, timed_out = self._execute(env, output, started)
            cancelled = self._cancel.is_set() and not timed_out
            if timed_out:
                trailer = f"\n[Hadron] Build timed out after {self.spec.timeout:g} seconds\n"
            elif cancelled:
                trailer = "\n[Hadron] Build cancelled\n"
            else:
                trailer = f"\n[Hadron] Build finished with exit status {status}\n"
            output.finish(trailer)
        duration = time.monotonic() - started
        return BuildResult(
            exit_status=None if (timed_out or cancelled) else status,
            timed_out=timed_out,
            cancelled=cancelled,
            log_tail=bytes(output.tail).decode("utf-8", "replace"),
            output_bytes=output.total,
            duration=duration,
            outputs_file=self._outputs_file(),
        )

    def _execute(self, env: dict[str, str], output: _Output, started: float) -> tuple[int, bool]:
        with self._lock:
            if self._cancel.is_set():
                return -1, False
            proc = subprocess.Popen(  # noqa: S603 - fixed argv; the script is the manifest's
                ["/bin/sh", "-c", _script(self.spec.commands)],
                cwd=self.work_dir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
            )
            self._proc = proc
        assert proc.stdout is not None  # noqa: S101 - stdout=PIPE
        reader = threading.Thread(target=_pump, args=(proc.stdout, output), daemon=True)
        reader.start()
        timed_out = False
        stop_at: float | None = None
        while True:
            try:
                status = proc.wait(timeout=_POLL)
                break
            except subprocess.TimeoutExpired:
                pass
            now = time.monotonic()
            if stop_at is None and (self._cancel.is_set() or now - started > self.spec.timeout):
                timed_out = not self._cancel.is_set()
                _signal_group(proc, signal.SIGTERM)
                stop_at = now + self.spec.kill_grace
            elif stop_at is not None and now >= stop_at:
                _signal_group(proc, signal.SIGKILL)
        # The shell is gone. Like a CodeBuild container at the end of a build, nothing it started
        # outlives it: kill what is left in its process group.
        _signal_group(proc, signal.SIGKILL)
        reader.join(timeout=max(self.spec.kill_grace, 1.0))
        if reader.is_alive():  # a process outside the group still holds the pipe
            proc.stdout.close()
            reader.join(timeout=1.0)
        proc.stdout.close()
        return status, timed_out

    def _outputs_file(self) -> str | None:
        path = self.work_dir / OUTPUTS_FILE
        try:
            if not path.is_file() or path.is_symlink():
                return None
            if path.stat().st_size > _MAX_OUTPUTS_FILE:
                return None
            return path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None


def _pump(stream: IO[bytes], output: _Output) -> None:
    # os.read returns what is there (no waiting for a full buffer), so the tail stays current.
    try:
        while chunk := os.read(stream.fileno(), 65536):
            output.feed(chunk)
    except (OSError, ValueError):  # closed under us after a timeout
        return


def _signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def run_build(
    spec: BuildSpec, work_dir: Path, log_path: Path, cancel: threading.Event | None = None
) -> BuildResult:
    """Run ``spec`` to completion; setting ``cancel`` (from another thread) stops it."""
    build = Build(spec, work_dir, log_path)
    if cancel is None:
        return build.run()
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            if cancel.wait(_POLL):
                build.cancel()
                return

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        return build.run()
    finally:
        done.set()
        watcher.join()
