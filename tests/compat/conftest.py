"""Starts the built `palisade` binary once per session and points real AWS clients at it.

The binary comes from PALISADE_BINARY (scripts/test builds it). Each session gets a fresh data
directory and an ephemeral port.
"""

import contextlib
import os
import socket
import subprocess
import tempfile
import time
import urllib.request

import boto3
import pytest
from botocore.config import Config

ACCOUNT = "000000000000"
REGION = "us-east-1"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_ready(url: str, process: subprocess.Popen, deadline_s: float = 30.0) -> None:
    # Polls readiness: the process answers or exits; the deadline only bounds a hung start.
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if process.poll() is not None:
            raise RuntimeError(f"palisade exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url + "/_palisade/health", timeout=1) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
    raise RuntimeError("palisade did not become ready")


@contextlib.contextmanager
def serving(data_dir, *options):
    """Runs the built binary on an ephemeral port over `data_dir`, with extra `serve` options;
    yields its URL."""
    binary = os.environ.get("PALISADE_BINARY")
    if not binary:
        pytest.fail("PALISADE_BINARY must name the built palisade binary (scripts/test sets it)")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PALISADE_")}
    process = subprocess.Popen(
        [binary, "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", data_dir, *options],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="session")
def endpoint():
    with tempfile.TemporaryDirectory() as data_dir, serving(data_dir) as url:
        yield url


@pytest.fixture
def aws_env(endpoint):
    """Environment for the AWS CLI, as the README tells users to set it."""
    env = dict(os.environ)
    for key in list(env):
        if key.startswith("AWS_"):
            del env[key]
    env.update(
        AWS_ACCESS_KEY_ID="test",
        AWS_SECRET_ACCESS_KEY="test",
        AWS_DEFAULT_REGION=REGION,
        AWS_ENDPOINT_URL=endpoint,
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
    )
    return env


@pytest.fixture
def client(endpoint):
    """A boto3 client factory; client-side validation off so the server's is what is tested."""

    def make(service, secret="test", access_key="test", region=REGION, **config):
        return boto3.client(
            service,
            endpoint_url=endpoint,
            region_name=region,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret,
            config=Config(
                parameter_validation=False,
                retries={"max_attempts": 1},
                inject_host_prefix=False,
                **config,
            ),
        )

    return make
