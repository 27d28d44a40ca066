"""The binary's admin commands: backup while serving, restore into a fresh data directory."""

import os
import shutil
import subprocess
import tempfile

import boto3
import pytest
from botocore.config import Config

from conftest import ACCOUNT, REGION, _free_port, _wait_ready


def _serve(binary, data_dir):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PALISADE_")}
    process = subprocess.Popen(
        [binary, "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", data_dir],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    _wait_ready(url, process)
    return process, url


def _sts(url):
    return boto3.client(
        "sts",
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1}),
    )


def test_backup_while_serving_then_restore():
    binary = os.environ["PALISADE_BINARY"]
    with tempfile.TemporaryDirectory() as work:
        data = os.path.join(work, "data")
        backup = os.path.join(work, "backup.db")
        process, url = _serve(binary, data)
        try:
            assert _sts(url).get_caller_identity()["Account"] == ACCOUNT
            subprocess.run(
                [binary, "backup", "--data-dir", data, "--to", backup],
                check=True, capture_output=True, timeout=60,
            )
        finally:
            process.terminate()
            process.wait(timeout=30)
        assert os.path.getsize(backup) > 0

        restored = os.path.join(work, "restored")
        os.makedirs(restored, mode=0o700)
        # The root key is not in the backup: the operator keeps it apart and brings it along.
        shutil.copy2(os.path.join(data, "root.key"), os.path.join(restored, "root.key"))
        subprocess.run(
            [binary, "restore", "--data-dir", restored, "--from", backup],
            check=True, capture_output=True, timeout=60,
        )
        # Restoring over an existing store needs --force.
        again = subprocess.run(
            [binary, "restore", "--data-dir", restored, "--from", backup],
            capture_output=True, timeout=60,
        )
        assert again.returncode != 0

        process, url = _serve(binary, restored)
        try:
            assert _sts(url).get_caller_identity()["Account"] == ACCOUNT
        finally:
            process.terminate()
            process.wait(timeout=30)


def test_refuses_public_address_without_credentials():
    binary = os.environ["PALISADE_BINARY"]
    with tempfile.TemporaryDirectory() as data:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PALISADE_")}
        result = subprocess.run(
            [binary, "serve", "--listen", "0.0.0.0:0", "--data-dir", data],
            env=env, capture_output=True, text=True, timeout=60,
        )
        assert result.returncode != 0
        assert "refusing to listen on 0.0.0.0:0 without root credentials" in result.stderr
