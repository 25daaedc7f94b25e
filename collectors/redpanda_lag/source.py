"""Read partition metadata, watermarks, consumer groups and committed offsets through the Kafka API.

Everything goes through one confluent-kafka ``AdminClient`` (Redpanda speaks the same protocol). Admin calls
are asynchronous; the reader issues them together (one OffsetFetch per group, all in flight at once) and
waits once, so a cycle over many groups costs about one round trip per call kind.

Brokers differ in what they implement (librdkafka's mock cluster has no ListGroups/DescribeGroups): the
reader reports "unsupported" as ``None`` instead of failing, and always passes explicit partitions to
OffsetFetch (without them some brokers silently return nothing).

Errors: the cluster unreachable/timing out → :class:`SourceUnavailableError` naming the bootstrap servers;
rejected credentials → :class:`SourceAuthError`. A failure confined to one group or partition is returned
with the result, never raised, so one bad group cannot stop the others.
"""

from __future__ import annotations

import concurrent.futures
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from smarter_obs.collectors.redpanda_lag.config import is_secret_property
from smarter_obs.errors import ConfigError, SourceAuthError, SourceError, SourceUnavailableError
from smarter_obs.redact import redact_text

log = logging.getLogger(__name__)
_librdkafka_log = logging.getLogger("smarter_obs.collectors.redpanda_lag.librdkafka")

TopicPartitionKey = tuple[str, int]

# librdkafka error names that mean the credential or TLS setup is wrong, not the network.
_AUTH_ERRORS = {
    "_AUTHENTICATION",
    "SASL_AUTHENTICATION_FAILED",
    "_SSL",
    "TOPIC_AUTHORIZATION_FAILED",
    "GROUP_AUTHORIZATION_FAILED",
    "CLUSTER_AUTHORIZATION_FAILED",
}
_UNSUPPORTED = {"_UNSUPPORTED_FEATURE", "UNSUPPORTED_VERSION", "_NOT_IMPLEMENTED"}


@dataclass(frozen=True, slots=True)
class PartitionMeta:
    """One partition from cluster metadata. ``leader`` is -1 when the partition has no leader."""

    topic: str
    partition: int
    leader: int
    replicas: tuple[int, ...]
    isr: tuple[int, ...]


@dataclass(slots=True)
class GroupInfo:
    """What DescribeGroups says about a group. ``assignments`` maps a partition to (client id, host)."""

    state: str
    members: int
    coordinator: int | None = None
    assignments: dict[TopicPartitionKey, tuple[str, str]] = field(default_factory=dict)


class _QuietLogger:
    """librdkafka's own log lines (one per failed connect, many per outage) go to DEBUG; the collector logs
    outages itself, once."""

    def log(self, level: int, message: str, *args: Any) -> None:
        _librdkafka_log.debug(message, *args)


def _error_name(exc: BaseException) -> str:
    err = exc.args[0] if getattr(exc, "args", None) else None
    name = getattr(err, "name", None)
    return name() if callable(name) else ""


def _describe(exc: BaseException) -> str:
    err = exc.args[0] if getattr(exc, "args", None) else None
    text = err.str() if hasattr(err, "str") else str(exc)
    name = _error_name(exc)
    return f"{name}: {text}" if name else text


class KafkaSource:
    """A reader for one Kafka/Redpanda cluster.

    ``properties`` are extra librdkafka settings (``security.protocol``, ``sasl.mechanism``,
    ``sasl.username``, ``ssl.ca.location``, …). ``timeout`` bounds every request in seconds.
    """

    def __init__(
        self, bootstrap: str, *, properties: Mapping[str, str] | None = None, timeout: float = 10.0
    ) -> None:
        from confluent_kafka import KafkaException
        from confluent_kafka.admin import AdminClient

        # What the driver raises for a failed request or future (ValueError/TypeError: a request it refused).
        self._errors: tuple[type[BaseException], ...] = (
            KafkaException,
            concurrent.futures.CancelledError,
            ValueError,
            TypeError,
        )
        self.bootstrap = bootstrap
        self.timeout = timeout
        config: dict[str, Any] = {
            "socket.connection.setup.timeout.ms": max(int(timeout * 1000), 1000),
            "socket.timeout.ms": max(int(timeout * 1000), 10),
            "reconnect.backoff.max.ms": 2000,
            **(properties or {}),
            "bootstrap.servers": bootstrap,
            "logger": _QuietLogger(),
            "error_cb": self._on_error,
        }
        self._auth_error: str | None = None
        try:
            self._admin = AdminClient(config)
        except KafkaException as exc:  # an unknown property or an invalid value: librdkafka names it
            secrets = [value for key, value in (properties or {}).items() if is_secret_property(key)]
            message = redact_text(_describe(exc), secrets=secrets)
            raise ConfigError(
                f"the Kafka client settings were rejected ({message}); fix that -X/--kafka-property "
                "or SMARTER_OBS_KAFKA_<NAME> setting",
                setting="--kafka-property",
            ) from None

    def _on_error(self, err: Any) -> None:
        """librdkafka's client-level errors (delivered by poll): remember authentication/TLS failures, which
        otherwise surface only as a generic transport timeout."""
        if err.name() in _AUTH_ERRORS:
            self._auth_error = f"{err.name()}: {err.str()}"

    # -- errors ---------------------------------------------------------------------------------------------

    def _fail(self, action: str, exc: BaseException) -> SourceError:
        name = _error_name(exc)
        self._admin.poll(0)  # runs error_cb: an authentication failure explains a transport timeout
        auth_error, self._auth_error = self._auth_error, None
        if name in _AUTH_ERRORS or auth_error:
            return SourceAuthError(
                f"authentication/TLS with Kafka bootstrap servers {self.bootstrap} failed while {action} "
                f"({auth_error or _describe(exc)}); check security.protocol, sasl.mechanism, sasl.username/"
                "sasl.password (SMARTER_OBS_KAFKA_SASL_USERNAME/_PASSWORD[_FILE]) and ssl.* settings",
                source="kafka",
            )
        return SourceUnavailableError(
            f"cannot reach Kafka bootstrap servers {self.bootstrap} while {action} within {self.timeout:g}s "
            f"({_describe(exc)})",
            source="kafka",
        )

    def drain_logs(self) -> None:
        """Deliver queued librdkafka log lines (to DEBUG) so the queue does not grow during an outage."""
        self._admin.poll(0)

    # -- metadata and offsets -----------------------------------------------------------------------------

    def partitions(self, select_topic: Callable[[str], bool]) -> list[PartitionMeta]:
        """Partitions of the topics ``select_topic`` accepts, sorted. Raises SourceUnavailableError."""
        try:
            metadata = self._admin.list_topics(timeout=self.timeout)
        except self._errors as exc:
            raise self._fail("reading cluster metadata", exc) from None
        out: list[PartitionMeta] = []
        for name, topic in metadata.topics.items():
            if topic.error is not None or not select_topic(name):
                continue
            for p in topic.partitions.values():
                out.append(PartitionMeta(name, p.id, p.leader, tuple(p.replicas), tuple(p.isrs)))
        out.sort(key=lambda m: (m.topic, m.partition))
        return out

    def watermarks(
        self, partitions: Iterable[TopicPartitionKey]
    ) -> tuple[dict[TopicPartitionKey, tuple[int, int]], dict[TopicPartitionKey, str]]:
        """``(log start, log end)`` per partition, plus the error of each partition that could not be read."""
        from confluent_kafka import TopicPartition
        from confluent_kafka.admin import OffsetSpec

        keys = list(partitions)
        if not keys:
            return {}, {}
        opts = {"request_timeout": self.timeout}
        try:
            earliest = self._admin.list_offsets(
                {TopicPartition(t, p): OffsetSpec.earliest() for t, p in keys}, **opts
            )
            latest = self._admin.list_offsets(
                {TopicPartition(t, p): OffsetSpec.latest() for t, p in keys}, **opts
            )
        except self._errors as exc:
            raise self._fail("listing partition offsets", exc) from None
        starts = _offsets(earliest, self.timeout, self._errors)
        ends = _offsets(latest, self.timeout, self._errors)
        result: dict[TopicPartitionKey, tuple[int, int]] = {}
        errors: dict[TopicPartitionKey, str] = {}
        for key in keys:
            start, end = starts.get(key), ends.get(key)
            if isinstance(start, int) and isinstance(end, int) and start >= 0 and end >= 0:
                result[key] = (start, end)
            else:
                problem = next((v for v in (end, start) if isinstance(v, str)), None)
                errors[key] = problem or f"invalid offsets start={start} end={end}"
        return result, errors

    def list_groups(self) -> list[str] | None:
        """Group ids the cluster knows, or None when the broker cannot list groups (no ListGroups)."""
        try:
            result = self._admin.list_consumer_groups(request_timeout=self.timeout).result(self.timeout + 5)
        except concurrent.futures.TimeoutError:
            raise SourceUnavailableError(
                f"consumer groups not listed by {self.bootstrap} within {self.timeout:g}s", source="kafka"
            ) from None
        except self._errors as exc:
            if _error_name(exc) in _UNSUPPORTED:
                return None
            raise self._fail("listing consumer groups", exc) from None
        errors = list(result.errors or [])
        if (
            not result.valid
            and errors
            and all(getattr(e, "name", lambda: "")() in _UNSUPPORTED for e in errors)
        ):
            return None
        for err in errors:
            log.debug("listing consumer groups: one broker answered %s", err)
        return sorted(g.group_id for g in result.valid)

    def describe_groups(self, groups: list[str]) -> dict[str, GroupInfo | None]:
        """State, member count and assignments per group; None for a group the broker cannot describe."""
        if not groups:
            return {}
        try:
            futures = self._admin.describe_consumer_groups(groups, request_timeout=self.timeout)
        except self._errors as exc:
            if _error_name(exc) in _UNSUPPORTED:
                return dict.fromkeys(groups)
            raise self._fail("describing consumer groups", exc) from None
        concurrent.futures.wait(list(futures.values()), timeout=self.timeout + 5)
        out: dict[str, GroupInfo | None] = {}
        for group, future in futures.items():
            try:
                desc = future.result(0)
            except concurrent.futures.TimeoutError:
                log.debug("describing group %s: no answer within %gs", group, self.timeout)
                out[group] = None
                continue
            except self._errors as exc:
                if _error_name(exc) not in _UNSUPPORTED:
                    log.debug("describing group %s failed: %s", group, _describe(exc))
                out[group] = None
                continue
            assignments: dict[TopicPartitionKey, tuple[str, str]] = {}
            for member in desc.members or []:
                assignment = getattr(member, "assignment", None)
                for tp in getattr(assignment, "topic_partitions", None) or []:
                    assignments[(tp.topic, tp.partition)] = (member.client_id or "", member.host or "")
            state = getattr(desc.state, "name", str(desc.state))
            coordinator = getattr(desc.coordinator, "id", None)
            out[group] = GroupInfo(
                state=state, members=len(desc.members or []), coordinator=coordinator, assignments=assignments
            )
        return out

    def committed_offsets(
        self, groups: list[str], partitions: list[TopicPartitionKey]
    ) -> dict[str, dict[TopicPartitionKey, int | None] | SourceError]:
        """Committed offset per partition (None = no commit) for each group, or that group's error.

        One OffsetFetch per group (the API takes one group per request), all in flight at once, each with
        the explicit partition list.
        """
        from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition

        if not groups:
            return {}
        if not partitions:  # nothing to ask about (an empty request would mean "all" or fail, per broker)
            return {group: {} for group in groups}
        tps = [TopicPartition(t, p) for t, p in partitions]
        futures: dict[str, concurrent.futures.Future] = {}
        out: dict[str, dict[TopicPartitionKey, int | None] | SourceError] = {}
        for group in groups:
            try:
                request = [ConsumerGroupTopicPartitions(group, tps)]
                futures[group] = next(
                    iter(
                        self._admin.list_consumer_group_offsets(
                            request, request_timeout=self.timeout
                        ).values()
                    )
                )
            except self._errors as exc:
                out[group] = self._fail(f"fetching committed offsets of group {group!r}", exc)
        concurrent.futures.wait(list(futures.values()), timeout=self.timeout + 5)
        for group, future in futures.items():
            try:
                result = future.result(0)
            except concurrent.futures.TimeoutError:
                out[group] = SourceUnavailableError(
                    f"committed offsets of group {group!r} not returned by {self.bootstrap} within "
                    f"{self.timeout:g}s",
                    source="kafka",
                )
                continue
            except self._errors as exc:
                out[group] = self._fail(f"fetching committed offsets of group {group!r}", exc)
                continue
            offsets: dict[TopicPartitionKey, int | None] = {}
            for tp in result.topic_partitions:
                if tp.error is not None:
                    continue  # an errored partition is reported as "not read", not as "no commit"
                # librdkafka marks "no committed offset" with OFFSET_INVALID (-1001)
                offsets[(tp.topic, tp.partition)] = tp.offset if tp.offset >= 0 else None
            out[group] = offsets
        return out


def _offsets(
    futures: Mapping[Any, concurrent.futures.Future], timeout: float, errors: tuple[type[BaseException], ...]
) -> dict[TopicPartitionKey, int | str]:
    """Offset (or error text) per partition from ``list_offsets`` futures."""
    concurrent.futures.wait(list(futures.values()), timeout=timeout + 5)
    out: dict[TopicPartitionKey, int | str] = {}
    for tp, future in futures.items():
        key = (tp.topic, tp.partition)
        try:
            out[key] = future.result(0).offset
        except concurrent.futures.TimeoutError:
            out[key] = f"no answer within {timeout:g}s"
        except errors as exc:
            out[key] = _describe(exc)
    return out
