"""librdkafka's mock Kafka cluster, driven through ctypes on the confluent-kafka wheel's own librdkafka.

The in-process ``test.mock.num.brokers`` cluster cannot create topics with exact partition counts, set the
controller id or take brokers down; the C mock API can. Its brokers speak the real Kafka protocol on
127.0.0.1, so other processes (``smarter-obs serve``'s lag collector, the CLI under test) can connect to
:attr:`MockCluster.bootstrap` too. The demo's cluster and the tests' both come from here; the cluster lives
until :meth:`close` (or the owning process exits).
"""

from __future__ import annotations

import ctypes
import glob
import os
import threading
from typing import Self


def _load_librdkafka() -> ctypes.CDLL:
    import confluent_kafka  # the wheel's .so is only guaranteed to be loadable after the package is

    libs = os.path.join(os.path.dirname(os.path.dirname(confluent_kafka.__file__)), "confluent_kafka.libs")
    candidates = sorted(glob.glob(os.path.join(libs, "librdkafka*.so*")))
    if not candidates:
        raise RuntimeError(
            f"no librdkafka shared object in {libs}; is confluent-kafka installed from a wheel?"
        )
    lib = ctypes.CDLL(candidates[0])
    vp, cp, ci, ci32 = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_int32
    lib.rd_kafka_conf_new.restype = vp
    lib.rd_kafka_conf_set.argtypes = [vp, cp, cp, cp, ctypes.c_size_t]
    lib.rd_kafka_conf_set.restype = ci
    lib.rd_kafka_new.argtypes = [ci, vp, cp, ctypes.c_size_t]
    lib.rd_kafka_new.restype = vp
    lib.rd_kafka_destroy.argtypes = [vp]
    lib.rd_kafka_mock_cluster_new.argtypes = [vp, ci]
    lib.rd_kafka_mock_cluster_new.restype = vp
    lib.rd_kafka_mock_cluster_destroy.argtypes = [vp]
    lib.rd_kafka_mock_cluster_bootstraps.argtypes = [vp]
    lib.rd_kafka_mock_cluster_bootstraps.restype = cp
    lib.rd_kafka_mock_topic_create.argtypes = [vp, cp, ci, ci]
    lib.rd_kafka_mock_topic_create.restype = ci
    lib.rd_kafka_mock_set_controller_id.argtypes = [vp, ci32]
    lib.rd_kafka_mock_set_controller_id.restype = ci
    lib.rd_kafka_mock_broker_set_down.argtypes = [vp, ci32]
    lib.rd_kafka_mock_broker_set_down.restype = ci
    lib.rd_kafka_mock_broker_set_up.argtypes = [vp, ci32]
    lib.rd_kafka_mock_broker_set_up.restype = ci
    lib.rd_kafka_mock_broker_set_rtt.argtypes = [vp, ci32, ci]
    lib.rd_kafka_mock_broker_set_rtt.restype = ci
    lib.rd_kafka_mock_partition_set_leader.argtypes = [vp, cp, ci32, ci32]
    lib.rd_kafka_mock_partition_set_leader.restype = ci
    lib.rd_kafka_mock_coordinator_set.argtypes = [vp, cp, cp, ci32]
    lib.rd_kafka_mock_coordinator_set.restype = ci
    lib.rd_kafka_mock_topic_delete.argtypes = [vp, cp]
    lib.rd_kafka_mock_topic_delete.restype = ci
    lib.rd_kafka_mock_partition_delete_records.argtypes = [vp, cp, ci32, ctypes.c_int64]
    lib.rd_kafka_mock_partition_delete_records.restype = ci
    lib.rd_kafka_mock_group_initial_rebalance_delay_ms.argtypes = [vp, ci32]
    lib.rd_kafka_mock_group_initial_rebalance_delay_ms.restype = None
    lib.rd_kafka_err2str.argtypes = [ci]
    lib.rd_kafka_err2str.restype = cp
    return lib


_LIB: ctypes.CDLL | None = None
_LIB_LOCK = threading.Lock()


def _lib() -> ctypes.CDLL:
    global _LIB
    with _LIB_LOCK:
        if _LIB is None:
            _LIB = _load_librdkafka()
        return _LIB


class MockCluster:
    """``brokers`` mock brokers (ids 1..N) with controller id 1, so admin metadata calls work."""

    def __init__(self, brokers: int = 3) -> None:
        lib = _lib()
        self._lib = lib
        self.broker_ids = list(range(1, brokers + 1))
        errstr = ctypes.create_string_buffer(512)
        conf = lib.rd_kafka_conf_new()
        # Quiet: the owning handle is never used for produce; it only hosts the mock broker threads.
        lib.rd_kafka_conf_set(conf, b"log_level", b"0", errstr, len(errstr))
        self._rk = lib.rd_kafka_new(0, conf, errstr, len(errstr))
        if not self._rk:
            raise RuntimeError(f"rd_kafka_new failed: {errstr.value.decode()}")
        self._mc = lib.rd_kafka_mock_cluster_new(self._rk, brokers)
        if not self._mc:
            lib.rd_kafka_destroy(self._rk)
            raise RuntimeError("rd_kafka_mock_cluster_new failed")
        self.bootstrap: str = lib.rd_kafka_mock_cluster_bootstraps(self._mc).decode()
        self._check(lib.rd_kafka_mock_set_controller_id(self._mc, 1), "set_controller_id")
        # Consumer groups join at once instead of after the broker's default 3 s initial rebalance delay.
        lib.rd_kafka_mock_group_initial_rebalance_delay_ms(self._mc, 0)

    def _check(self, err: int, what: str) -> None:
        if err:
            raise RuntimeError(f"mock {what} failed: {self._lib.rd_kafka_err2str(err).decode()}")

    def create_topic(self, name: str, partitions: int, replication_factor: int = 1) -> None:
        """A topic with exactly ``partitions`` partitions (auto-created topics always get 4)."""
        self._check(
            self._lib.rd_kafka_mock_topic_create(self._mc, name.encode(), partitions, replication_factor),
            f"topic_create {name}",
        )

    def delete_topic(self, name: str) -> None:
        self._check(self._lib.rd_kafka_mock_topic_delete(self._mc, name.encode()), f"topic_delete {name}")

    def delete_records(self, topic: str, partition: int, before_offset: int) -> None:
        """Move the partition's log start offset to ``before_offset`` (what retention does)."""
        self._check(
            self._lib.rd_kafka_mock_partition_delete_records(
                self._mc, topic.encode(), partition, before_offset
            ),
            "partition_delete_records",
        )

    def set_leader(self, topic: str, partition: int, broker_id: int) -> None:
        self._check(
            self._lib.rd_kafka_mock_partition_set_leader(self._mc, topic.encode(), partition, broker_id),
            "partition_set_leader",
        )

    def set_coordinator(self, group: str, broker_id: int) -> None:
        self._check(
            self._lib.rd_kafka_mock_coordinator_set(self._mc, b"group", group.encode(), broker_id),
            "coordinator_set",
        )

    def broker_down(self, broker_id: int = -1) -> None:
        """Close the broker's connections and refuse new ones; ``-1`` = every broker."""
        self._check(self._lib.rd_kafka_mock_broker_set_down(self._mc, broker_id), "broker_set_down")

    def broker_up(self, broker_id: int = -1) -> None:
        self._check(self._lib.rd_kafka_mock_broker_set_up(self._mc, broker_id), "broker_set_up")

    def set_rtt(self, broker_id: int, rtt_ms: int) -> None:
        """Delay every response of the broker by ``rtt_ms`` (a slow broker)."""
        self._check(self._lib.rd_kafka_mock_broker_set_rtt(self._mc, broker_id, rtt_ms), "broker_set_rtt")

    def close(self) -> None:
        if self._mc:
            self._lib.rd_kafka_mock_cluster_destroy(self._mc)
            self._mc = None
        if self._rk:
            self._lib.rd_kafka_destroy(self._rk)
            self._rk = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
