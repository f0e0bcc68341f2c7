"""A real Hadron server in a subprocess, on a free loopback port, for black-box tests."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import botocore.session
from botocore.config import Config

_BANNER = re.compile(r"listening on https://(\S+):(\d+) \(account (\d{12})")


def clean_env() -> dict[str, str]:
    """The environment without any AWS_* variables a developer or CI may have set."""
    return {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}


def run_admin(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``hadron admin ARGS --data-dir DATA_DIR`` in a clean environment."""
    return subprocess.run(
        [sys.executable, "-m", "hadron", "admin", *args, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_env(),
    )


@dataclass
class Server:
    data_dir: Path
    args: Sequence[str] = ()
    proc: subprocess.Popen[str] | None = None
    port: int = 0
    account_id: str = ""
    output: list[str] = field(default_factory=list)

    @property
    def endpoint(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def ca(self) -> Path:
        return self.data_dir / "tls" / "ca.pem"

    @property
    def aws_env(self) -> dict[str, str]:
        env = clean_env()
        env["AWS_CONFIG_FILE"] = str(self.data_dir / "aws" / "config")
        env["AWS_SHARED_CREDENTIALS_FILE"] = str(self.data_dir / "aws" / "credentials")
        return env

    def start(self, timeout: float = 30.0) -> Server:
        cmd = [sys.executable, "-m", "hadron", "serve", "--data-dir", str(self.data_dir)]
        if "--port" not in self.args:
            cmd += ["--port", "0"]
        if "--dns-port" not in self.args:
            cmd += ["--dns-port", "0"]
        cmd += list(self.args)
        self.output = []
        self.proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=clean_env(),
        )
        found = threading.Event()

        def pump() -> None:
            assert self.proc is not None and self.proc.stdout is not None
            for line in self.proc.stdout:
                self.output.append(line)
                match = _BANNER.search(line)
                if match:
                    self.port = int(match.group(2))
                    self.account_id = match.group(3)
                    found.set()

        threading.Thread(target=pump, daemon=True).start()
        deadline = time.monotonic() + timeout
        while not found.wait(0.05):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("hadron did not start:\n" + "".join(self.output))
        return self

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        code = self.proc.returncode
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self.proc = None
        return code

    def session(self) -> boto3.Session:
        """A boto3 session configured only through the generated AWS files."""
        core = botocore.session.Session()
        core.set_config_variable("config_file", str(self.data_dir / "aws" / "config"))
        core.set_config_variable("credentials_file", str(self.data_dir / "aws" / "credentials"))
        return boto3.Session(botocore_session=core)

    def client(self, service: str, **kwargs: Any) -> Any:
        config = Config(retries={"max_attempts": 1, "mode": "standard"})
        return self.session().client(service, config=config, **kwargs)

    def client_with(self, service: str, creds: dict[str, Any]) -> Any:
        """A client signing with ``creds`` (STS ``Credentials`` or an ``AccessKey``)."""
        return boto3.Session(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds.get("SessionToken"),
            region_name="us-east-1",
        ).client(
            service,
            endpoint_url=self.endpoint,
            verify=str(self.ca),
            config=Config(retries={"max_attempts": 1, "mode": "standard"}),
        )

    def credentials(self) -> tuple[str, str]:
        text = (self.data_dir / "aws" / "credentials").read_text()
        akid = re.search(r"aws_access_key_id = (\S+)", text)
        secret = re.search(r"aws_secret_access_key = (\S+)", text)
        assert akid and secret
        return akid.group(1), secret.group(1)
