"""Black-box: the AWS SDK for JavaScript v3 (``@aws-sdk/client-proton``) as a second,
independent Proton client against a real ``hadron serve`` (tests/js/proton_scenario.mjs)."""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from hadron import cli
from tests.e2e.server import Server, clean_env
from tests.proton.bundles import example_bundle

JS_DIR = Path(__file__).resolve().parents[1] / "js"


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_javascript_sdk_registers_a_version_and_links_a_repository(
    server: Server, tmp_path: Path
) -> None:
    suffix = uuid.uuid4().hex[:8]
    bundle = tmp_path / "env.tar.gz"
    bundle.write_bytes(example_bundle("environment-template"))
    key = f"js/{suffix}.tar.gz"
    url = f"s3://templates/{key}"
    assert cli.main(["bundle", "put", str(bundle), url, "--data-dir", str(server.data_dir)]) == 0
    akid, secret = server.credentials()
    env = clean_env() | {
        "AWS_REGION": "us-east-1",
        "HADRON_ENDPOINT": server.endpoint,
        "AWS_ACCESS_KEY_ID": akid,
        "AWS_SECRET_ACCESS_KEY": secret,
        "NODE_EXTRA_CA_CERTS": str(server.ca),
    }
    template, repository = f"js-env-{suffix}", f"js-{suffix}/templates"
    connection = f"arn:aws:codestar-connections:us-east-1:{server.account_id}:connection/{suffix}"
    args = [template, "templates", key, repository, connection]
    out = subprocess.run(
        ["node", str(JS_DIR / "proton_scenario.mjs"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    seen = json.loads(out.stdout)
    arn = f"arn:aws:proton:us-east-1:{server.account_id}"
    assert seen == {
        "createdStatus": "REGISTRATION_IN_PROGRESS",
        "waiterState": "SUCCESS",
        "versions": [
            {
                "major": "1",
                "minor": "0",
                "status": "PUBLISHED",
                "arn": f"{arn}:environment-template/{template}:1.0",
            }
        ],
        "recommendedVersion": "1.0",
        "repositoryArn": f"{arn}:repository/github:{repository}",
        "readBack": True,
        "listed": True,
        "duplicate": {
            "name": "ConflictException",
            "status": 409,
            "message": f"The GITHUB repository {repository} is already linked with different "
            "parameters.",
        },
        "gone": {
            "name": "ResourceNotFoundException",
            "status": 404,
            "message": f"The GITHUB repository {repository} was not found.",
        },
    }
