"""The training pipeline on tf.data service workers: the same batches as the local pipeline.

A dispatcher and two workers run in this process (`local_service`). The records are the ramps
of `test_pipeline`, so a segment's samples tell which clip and which offset it came from.
"""

import os
import subprocess
import sys

import numpy as np
import pytest

from keras_samplecnn.data import pipeline
from keras_samplecnn.data import service as service_module
from keras_samplecnn.data.service import local_service
from tests.ramp_data import LENGTHS, SEGMENT, write_dataset


@pytest.fixture(scope="module")
def service():
    with local_service(num_workers=2, allow_open_port=True) as running:
        yield running


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    folder = tmp_path_factory.mktemp("service_data")
    write_dataset(str(folder), files=3)
    return str(folder)


def _batches(dataset):
    return [(audio.tobytes(), labels.tobytes()) for audio, labels in dataset.as_numpy_iterator()]


def _rows(dataset):
    rows = []
    for audio, labels in dataset.as_numpy_iterator():
        rows.extend((a.tobytes(), b.tobytes()) for a, b in zip(audio, labels))
    return sorted(rows)


@pytest.mark.parametrize("crops", [1, 3])
def test_random_crops_are_the_local_batches(records, service, crops):
    settings = dict(
        segment_length=SEGMENT, batch_size=4, crops_per_clip=crops, shuffle_buffer=8, seed=7, repeat=False,
        deterministic=True,
        num_labels=len(LENGTHS),
    )
    local = _batches(pipeline.train_dataset(records, **settings))
    # The workers agree on the stream of records even when the caller allows any order.
    remote = _batches(pipeline.train_dataset(records, service=service.target, **{**settings, "deterministic": False}))
    assert len(local) == len(LENGTHS) // 4 * crops
    # Each batch, crops and labels alike, is one the local pipeline made; only the order differs.
    assert sorted(remote) == sorted(local)


def test_every_segment_is_the_local_segments(records, service):
    settings = dict(
        segment_length=SEGMENT, batch_size=5, crops_per_clip="all", shuffle_buffer=8, seed=3, repeat=False,
        drop_remainder=False, clips_per_parse=2, num_labels=len(LENGTHS), deterministic=True,
    )
    local = _rows(pipeline.train_dataset(records, **settings))
    remote = _rows(pipeline.train_dataset(records, service=service.target, **{**settings, "deterministic": False}))
    assert len(local) == sum(max(1, n // SEGMENT) for n in LENGTHS)
    assert remote == local


def test_another_seed_gives_other_crops(records, service):
    # Guards the test above against a pipeline that ignores the seed on the workers.
    settings = dict(segment_length=SEGMENT, batch_size=4, shuffle_buffer=8, repeat=False, num_labels=len(LENGTHS))
    first = _batches(pipeline.train_dataset(records, service=service.target, seed=1, **settings))
    second = _batches(pipeline.train_dataset(records, service=service.target, seed=2, **settings))
    assert sorted(first) != sorted(second)


def test_without_seed_the_workers_still_agree(records, service):
    # No seed: the client draws one for every worker, so no segment is made twice.
    settings = dict(
        segment_length=SEGMENT, batch_size=1, crops_per_clip=1, shuffle_buffer=8, repeat=False,
        num_labels=len(LENGTHS),
    )
    remote = _batches(pipeline.train_dataset(records, service=service.target, **settings))
    clips = sorted(int(np.frombuffer(labels, np.float32).argmax()) for _, labels in remote)
    assert clips == list(range(len(LENGTHS)))


def test_training_reads_its_batches_from_the_service(service, tmp_path, monkeypatch, tiny_mtat):
    from keras_samplecnn.data import service as service_lib
    from keras_samplecnn.training.trainer import train
    from tests.training.test_training import make_config, read_log

    targets = []
    real_distribute = service_lib.distribute

    def distribute(dataset, target, job_name=None):
        targets.append(target)
        return real_distribute(dataset, target, job_name)

    monkeypatch.setattr(service_lib, "distribute", distribute)
    data = tiny_mtat
    config = make_config(data, str(tmp_path / "run"), max_epochs=4)
    config.data.service = service.target
    train(config)
    assert targets == [service.target]
    losses = [float(row["loss"]) for row in read_log(config.output.dir)]
    assert len(losses) == 4 and losses[-1] < losses[0], losses


def test_command_line_servers_in_other_processes(records):
    # `samplecnn data-service` as on separate hosts: a dispatcher and two workers, each its own process.
    from keras_samplecnn.data.service import _free_port

    command = [os.path.join(os.path.dirname(sys.executable), "samplecnn"), "data-service"]
    port, worker_ports = _free_port(), [_free_port(), _free_port()]
    workers = [f"localhost:{p}" for p in worker_ports]
    roles = [["dispatcher", "--port", str(port), *(f"--worker={w}" for w in workers)]] + [
        ["worker", "--port", str(p), "--dispatcher", f"localhost:{port}", "--address", w]
        for p, w in zip(worker_ports, workers)
    ]
    roles = [role + ["--allow-open-port"] for role in roles]
    servers = [subprocess.Popen(command + role, stdout=subprocess.PIPE, text=True) for role in roles]
    try:
        for server in servers:  # each prints one line once it serves
            assert server.stdout.readline().strip()
        settings = dict(segment_length=SEGMENT, batch_size=4, crops_per_clip=2, shuffle_buffer=8, seed=11,
                        repeat=False, num_labels=len(LENGTHS))  # fmt: skip
        local = _batches(pipeline.train_dataset(records, deterministic=True, **settings))
        remote = _batches(pipeline.train_dataset(records, service=f"grpc://localhost:{port}", **settings))
        assert sorted(remote) == sorted(local)
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=30)


WILDCARD = {"00000000", "0" * 32}  # 0.0.0.0 and [::] as /proc/net/tcp{,6} write them


def _listeners():
    """`{(address in hex, port)}` of the listening TCP sockets (IPv4 and IPv6), from /proc/net."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if os.path.exists(table):
            with open(table) as f:
                for line in f.read().splitlines()[1:]:
                    fields = line.split()
                    address, port = fields[1].rsplit(":", 1)
                    if fields[3] == "0A":  # TCP_LISTEN
                        found.add((address, int(port, 16)))
    return found


@pytest.mark.skipif(not os.path.exists("/proc/net/tcp"), reason="reads the listening sockets from /proc/net")
def test_no_port_opens_without_consent(capsys):
    from keras_samplecnn.cli import main

    port = service_module._free_port()
    with pytest.raises(service_module.OpenPortError, match="every network interface"):
        service_module.start_dispatcher(port, ["localhost:1"])
    with pytest.raises(service_module.OpenPortError, match="no authentication"):
        service_module.start_worker(f"localhost:{port}", port)
    with pytest.raises(service_module.OpenPortError):
        with local_service(1):
            pass
    capsys.readouterr()
    assert main(["data-service", "dispatcher", "--port", str(port), "--worker", "localhost:1"]) == 2
    assert main(["data-service", "worker", "--port", str(port), "--dispatcher", "localhost:1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all("--allow-open-port" in line for line in err)
    assert port not in {listening for _, listening in _listeners()}


@pytest.mark.skipif(not os.path.exists("/proc/net/tcp"), reason="reads the listening sockets from /proc/net")
def test_the_consented_server_really_listens_on_every_interface():
    # What the refusal warns about: TensorFlow's server binds the wildcard address, not loopback.
    port = service_module._free_port()
    server = service_module.start_dispatcher(port, ["localhost:1"], allow_open_port=True)
    try:
        assert any((address, port) in _listeners() for address in WILDCARD)
    finally:
        server._stop()
