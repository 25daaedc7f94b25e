"""The OpenTelemetry resource: configured service attributes + host/process facts + a per-process instance id.

Configured attributes (arguments, ``OTEL_RESOURCE_ATTRIBUTES``, ``OTEL_SERVICE_NAME``) win over detected
ones. ``service.instance.id`` is a fresh UUIDv4 per process — also in a forked child — unless the user set
one explicitly, which is then kept as given.
"""

from __future__ import annotations

import os
import platform
import socket
import sys
import uuid
from typing import TYPE_CHECKING, Any

from opentelemetry.sdk.resources import Resource

if TYPE_CHECKING:
    from smarter_obs.tracing._config import TracingConfig


class HashedResource(Resource):
    """A ``Resource`` that computes its hash once.

    The OTLP exporters group every exported span by its resource, and ``Resource.__hash__`` serializes all
    the attributes to JSON each time: with the ~20 attributes here that was ~3 µs per span, more than a
    bare SDK resource costs. The attributes are immutable, so the hash is too. ``merge`` (the SDK calls it
    after a fork) keeps the class.
    """

    def __hash__(self) -> int:
        cached = self.__dict__.get("_smarter_obs_hash")
        if cached is None:
            cached = self.__dict__["_smarter_obs_hash"] = super().__hash__()
        return cached

    def merge(self, other: Resource) -> Resource:
        merged = super().merge(other)
        return merged if merged is self else HashedResource(merged.attributes, merged.schema_url)


def instance_id(config: TracingConfig) -> str:
    """The ``service.instance.id`` the user configured, else a fresh UUIDv4 (called again after fork)."""
    value = dict(config.resource_attributes).get("service.instance.id")
    return str(uuid.uuid4()) if value is None else str(value)


def process_attributes() -> dict[str, Any]:
    """Attributes that change with the process (re-read after fork)."""
    attrs: dict[str, Any] = {"process.pid": os.getpid()}
    if hasattr(os, "getppid"):
        attrs["process.parent_pid"] = os.getppid()
    return attrs


def detected_attributes() -> dict[str, Any]:
    """Host, OS, runtime and SDK facts (cheap: no network, no subprocess)."""
    from opentelemetry.sdk.version import __version__ as sdk_version

    executable = sys.executable or ""
    attrs: dict[str, Any] = {
        "telemetry.sdk.language": "python",
        "telemetry.sdk.name": "opentelemetry",
        "telemetry.sdk.version": sdk_version,
        "telemetry.distro.name": "smarter-obs",
        "host.name": socket.gethostname(),
        "host.arch": platform.machine(),
        "os.type": platform.system().lower(),
        "process.runtime.name": sys.implementation.name,
        "process.runtime.version": platform.python_version(),
        "process.executable.name": os.path.basename(executable),
        "process.executable.path": executable,
        "process.command": sys.orig_argv[0] if getattr(sys, "orig_argv", None) else "",
    }
    from smarter_obs import __version__

    attrs["telemetry.distro.version"] = __version__
    attrs.update(process_attributes())
    return attrs


def build_resource(config: TracingConfig) -> Resource:
    attrs = detected_attributes()
    attrs["service.instance.id"] = instance_id(config)
    attrs.update({k: list(v) if isinstance(v, tuple) else v for k, v in config.resource_attributes})
    return HashedResource(attrs)
