"""The training pipeline's preprocessing on tf.data service workers.

A trainer on a GPU host can need more decoding and cropping than its own cores give. The
tf.data service (`tf.data.experimental.service`, TensorFlow's "tf.data service" guide) runs a
dataset's preprocessing on other machines: one dispatcher, any number of workers, and the
trainer reads the finished batches over gRPC. `train_dataset(..., service=ADDRESS)` uses it:

    # on the dispatcher's host: the fixed worker list makes static sharding possible
    samplecnn data-service dispatcher --port 5050 --worker w1:5051 --worker w2:5051 --allow-open-port
    # on each worker host (they must see the TFRecords at the same path as the trainer)
    samplecnn data-service worker --dispatcher d:5050 --port 5051 --address w1:5051 --allow-open-port
    # the trainer's config: data: {service: "grpc://d:5050"}

Same batches as the local pipeline. The service shards the dataset where the pipeline puts a
`shard(SHARD_HINT, SHARD_HINT)` (`ShardingPolicy.HINT`): after the cheap part (reading and
shuffling records, grouping them into batches, and zipping each group with its crop seed),
before the costly part (parsing, cropping, decoding). Every worker runs the cheap part in
full, so it sees the very groups and seeds the local pipeline would, and does the costly part
for every W-th group only. With `crops_per_clip=k` the worker batches are therefore exactly
the local pipeline's batches for the same seed (only the order they arrive in is up to the
service); with `crops_per_clip="all"` every segment of an epoch is the local one (same clip
groups, same offsets), while the segment shuffle, which runs on each worker, mixes them into
other batches. The cost: each worker reads every record (sequential reads, no parsing), which
is cheap beside the parsing and decoding it skips, but grows with the number of workers.

`local_service(num_workers)` starts a dispatcher and workers inside this process: for tests,
and to measure the service's overhead on one machine.

Exposure. TensorFlow's tf.data service servers listen on every network interface (its gRPC
server binds `0.0.0.0:PORT`, and neither `DispatcherConfig` nor `WorkerConfig` takes an address
to bind), speak plaintext gRPC and authenticate nobody: anyone who reaches a dispatcher's or a
worker's port can submit tf.data graphs that run as this user, reading and writing its files.
So nothing here opens such a port unless told to (`allow_open_port=True`, `samplecnn data-service
... --allow-open-port`): run the service only on machines whose firewall keeps its ports to the
trainer and worker hosts.
"""

import contextlib
import dataclasses
import socket

import tensorflow as tf

PROTOCOL = "grpc"
EXPOSURE = (
    "listens on every network interface (TensorFlow binds 0.0.0.0 and takes no address) with "
    "plaintext gRPC and no authentication: anyone who reaches the port can run tf.data graphs as "
    "this user, reading and writing its files; keep the port behind a firewall"
)


class OpenPortError(PermissionError):
    """A tf.data service server asked for without `allow_open_port=True` (see the module docstring)."""


def _check_consent(allow_open_port, what, port):
    if not allow_open_port:
        raise OpenPortError(
            f"refused to start the tf.data service {what} on port {port}: it {EXPOSURE}. Pass "
            "--allow-open-port (allow_open_port=True) where only trusted hosts reach the port"
        )


@dataclasses.dataclass
class LocalService:
    """A dispatcher and its workers running in this process (see `local_service`).

    Args:
        target: the dispatcher's address for `train_dataset(service=...)`, `grpc://host:port`.
        dispatcher: the `tf.data.experimental.service.DispatchServer`.
        workers: the `WorkerServer`s.
    """

    target: str
    dispatcher: object
    workers: list


def start_dispatcher(port, worker_addresses, work_dir=None, allow_open_port=False):
    """Starts a tf.data service dispatcher that knows its workers (needed for static sharding).

    Args:
        port: the port to serve on.
        worker_addresses: `host:port` of every worker, exactly as each worker announces
            itself (`start_worker(address=...)`); the shards are dealt in this order.
        work_dir: optional folder (or bucket URL) where the dispatcher journals its state, so
            that a restarted dispatcher resumes its jobs; None keeps it in memory.
        allow_open_port: must be True: the server listens on every interface, unauthenticated
            (module docstring); otherwise `OpenPortError` is raised and no port is opened.

    Returns:
        The running `DispatchServer`; `.join()` blocks until it stops.
    """
    if not worker_addresses:
        raise ValueError("a dispatcher needs the addresses of its workers (static sharding)")
    _check_consent(allow_open_port, "dispatcher", port)
    config = tf.data.experimental.service.DispatcherConfig(
        port=int(port),
        protocol=PROTOCOL,
        worker_addresses=list(worker_addresses),
        work_dir=work_dir,
        fault_tolerant_mode=bool(work_dir),
    )
    return tf.data.experimental.service.DispatchServer(config)


def start_worker(dispatcher, port, address=None, allow_open_port=False):
    """Starts a tf.data service worker.

    Args:
        dispatcher: the dispatcher's `host:port` (with or without `grpc://`).
        port: the port to serve on.
        address: the `host:port` the dispatcher knows this worker by (one of its
            `worker_addresses`); default `localhost:<port>`.
        allow_open_port: must be True: the server listens on every interface, unauthenticated
            (module docstring); otherwise `OpenPortError` is raised and no port is opened.

    Returns:
        The running `WorkerServer`; `.join()` blocks until it stops.
    """
    _check_consent(allow_open_port, "worker", port)
    config = tf.data.experimental.service.WorkerConfig(
        dispatcher_address=_without_protocol(dispatcher),
        worker_address=address or f"localhost:{int(port)}",
        port=int(port),
        protocol=PROTOCOL,
    )
    return tf.data.experimental.service.WorkerServer(config)


@contextlib.contextmanager
def local_service(num_workers=2, allow_open_port=False):
    """A dispatcher and `num_workers` workers on free local ports, stopped on exit.

    Args:
        num_workers: how many workers.
        allow_open_port: must be True: even here the servers listen on every interface,
            unauthenticated (module docstring), while they run.

    Yields:
        A `LocalService`; pass its `target` to `train_dataset(service=...)`.
    """
    if num_workers < 1:
        raise ValueError(f"num_workers must be >= 1, got {num_workers}")
    _check_consent(allow_open_port, "dispatcher and workers", "free ports")
    ports = [_free_port() for _ in range(num_workers)]
    addresses = [f"localhost:{port}" for port in ports]
    dispatcher = start_dispatcher(_free_port(), addresses, allow_open_port=True)
    workers = [start_worker(dispatcher.target, port, address, allow_open_port=True)
               for port, address in zip(ports, addresses)]  # fmt: skip
    try:
        yield LocalService(dispatcher.target, dispatcher, workers)
    finally:
        for server in workers + [dispatcher]:
            server._stop()  # the public API has no stop; without it the ports stay taken


def shard_here(dataset):
    """Marks where the service deals the elements out to its workers (`ShardingPolicy.HINT`)."""
    hint = tf.data.experimental.SHARD_HINT
    return dataset.shard(hint, hint)


def distribute(dataset, service, job_name=None):
    """Runs `dataset` (which must contain a `shard_here`) on the service's workers.

    Args:
        dataset: the pipeline to run remotely, up to its last transformation.
        service: the dispatcher, `grpc://host:port` or `host:port`.
        job_name: trainers that give the same name share one job (each element goes to one
            of them); None: a job of this trainer's own.

    Returns:
        A dataset that reads the workers' elements.
    """
    return dataset.apply(
        tf.data.experimental.service.distribute(
            processing_mode=tf.data.experimental.service.ShardingPolicy.HINT,
            service=_with_protocol(service),
            job_name=job_name,
        )
    )


def _with_protocol(address):
    return address if "://" in address else f"{PROTOCOL}://{address}"


def _without_protocol(address):
    return address.split("://", 1)[-1]


def _free_port():
    with socket.socket() as probe:
        probe.bind(("localhost", 0))
        return probe.getsockname()[1]
