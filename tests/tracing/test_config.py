"""The OTEL_* environment contract: argument > per-signal variable > generic variable > default."""

from __future__ import annotations

import logging

import pytest

from smarter_obs.tracing._config import ExporterSpec, resolve_config


def attrs(config) -> dict:
    return dict(config.resource_attributes)


def test_defaults_export_nowhere_with_spec_sampler_and_batch_values() -> None:
    config = resolve_config(environ={})
    assert config.exporters == ()
    assert (config.sampler, config.sampler_arg) == ("parentbased_always_on", None)
    assert config.propagators is None
    assert (
        config.batch.schedule_delay_ms,
        config.batch.max_queue_size,
        config.batch.max_export_batch_size,
    ) == (
        5000,
        2048,
        512,
    )
    assert attrs(config)["service.namespace"] == "smarteros"
    assert attrs(config)["service.name"].startswith("unknown_service")


def test_service_name_precedence_argument_over_env_over_resource_attributes() -> None:
    env = {"OTEL_RESOURCE_ATTRIBUTES": "service.name=from-attrs,team=core", "OTEL_SERVICE_NAME": "from-env"}
    assert attrs(resolve_config(environ=env))["service.name"] == "from-env"
    assert attrs(resolve_config("from-arg", environ=env))["service.name"] == "from-arg"
    only_attrs = {"OTEL_RESOURCE_ATTRIBUTES": "service.name=from-attrs"}
    assert attrs(resolve_config(environ=only_attrs))["service.name"] == "from-attrs"
    assert attrs(resolve_config(environ=env))["team"] == "core"


def test_resource_attributes_are_percent_decoded_and_legacy_environment_is_mapped() -> None:
    env = {
        "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=staging,owner=ana%20maria,service.namespace=other"
    }
    config = resolve_config(service_version="1.2.3", environ=env)
    assert attrs(config)["deployment.environment.name"] == "staging"
    assert attrs(config)["owner"] == "ana maria"
    assert attrs(config)["service.namespace"] == "other"
    assert attrs(config)["service.version"] == "1.2.3"
    explicit = resolve_config(environment="prod", resource_attributes={"team": "x"}, environ=env)
    assert attrs(explicit)["deployment.environment.name"] == "prod"
    assert attrs(explicit)["team"] == "x"


def test_bare_otlp_uses_the_spec_default_http_protobuf_and_appends_the_traces_path() -> None:
    config = resolve_config(
        environ={"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318/"}
    )
    (spec,) = config.exporters
    assert (spec.name, spec.protocol, spec.endpoint) == ("otlp", "http/protobuf", "http://c:4318/v1/traces")


def test_signal_specific_variables_win_over_generic_ones() -> None:
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://generic:4318",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://traces:9999/custom",
        "OTEL_EXPORTER_OTLP_HEADERS": "a=generic",
        "OTEL_EXPORTER_OTLP_TRACES_HEADERS": "Authorization=Basic%20abc,x-b=2",
        "OTEL_EXPORTER_OTLP_TIMEOUT": "3",
        "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT": "2",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf",
    }
    (spec,) = resolve_config(environ=env).exporters
    assert spec.endpoint == "http://traces:9999/custom"  # the per-signal endpoint is used as-is
    assert dict(spec.headers) == {"authorization": "Basic abc", "x-b": "2"}
    assert spec.timeout == 2.0
    assert spec.protocol == "http/protobuf"


def test_an_endpoint_alone_selects_otlp_and_arguments_beat_the_environment() -> None:
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://env:4318", "OTEL_EXPORTER_OTLP_HEADERS": "k=env"}
    (spec,) = resolve_config(environ=env).exporters
    assert spec.endpoint == "http://env:4318/v1/traces"
    (spec,) = resolve_config(endpoint="arg:4318", headers={"K": "arg"}, environ=env).exporters
    assert (spec.endpoint, dict(spec.headers)) == ("http://arg:4318/v1/traces", {"k": "arg"})
    (spec,) = resolve_config(endpoint="http://arg:4318/v1/traces", environ=env).exporters
    assert spec.endpoint == "http://arg:4318/v1/traces"
    # exporter= beats OTEL_TRACES_EXPORTER.
    config = resolve_config(exporter="console", environ={**env, "OTEL_TRACES_EXPORTER": "otlp"})
    assert config.exporters == (ExporterSpec(name="console"),)


def test_grpc_protocol_uses_the_grpc_port_and_endpoint_as_is() -> None:
    (spec,) = resolve_config(
        environ={"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}
    ).exporters
    assert (spec.protocol, spec.endpoint) == ("grpc", "http://localhost:4317")
    (spec,) = resolve_config(exporter="otlp_proto_grpc", endpoint="collector:4317", environ={}).exporters
    assert (spec.protocol, spec.endpoint) == ("grpc", "http://collector:4317")


def test_comma_lists_none_and_clickhouse_endpoint() -> None:
    config = resolve_config(environ={"OTEL_TRACES_EXPORTER": "console, none ,otlp"})
    assert [s.name for s in config.exporters] == ["console", "otlp"]
    assert resolve_config(environ={"OTEL_TRACES_EXPORTER": "none"}).exporters == ()
    (spec,) = resolve_config(exporter="clickhouse", endpoint="chdb:///tmp/x", environ={}).exporters
    assert (spec.name, spec.endpoint) == ("clickhouse", "chdb:///tmp/x")


def test_unknown_exporter_warns_once_with_a_suggestion_and_is_skipped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="smarter_obs.tracing")
    for _ in range(3):
        config = resolve_config(environ={"OTEL_TRACES_EXPORTER": "consol,otlp"})
    assert [s.name for s in config.exporters] == ["otlp"]
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 1
    assert "'consol'" in messages[0] and "OTEL_TRACES_EXPORTER" in messages[0] and "'console'" in messages[0]


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.25"}, ("traceidratio", 0.25)),
        ({"OTEL_TRACES_SAMPLER": "parentbased_traceidratio"}, ("parentbased_traceidratio", 1.0)),
        ({"OTEL_TRACES_SAMPLER": "always_off"}, ("always_off", None)),
        ({"OTEL_TRACES_SAMPLER": "jaeger_remote"}, ("parentbased_always_on", None)),
        ({"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "lots"}, ("traceidratio", 1.0)),
        ({"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "1.5"}, ("traceidratio", 1.0)),
    ],
)
def test_sampler_values_and_fallbacks(env: dict, expected: tuple) -> None:
    config = resolve_config(environ=env)
    assert (config.sampler, config.sampler_arg) == expected


def test_sample_ratio_argument_beats_the_environment(caplog: pytest.LogCaptureFixture) -> None:
    config = resolve_config(sample_ratio=0.1, environ={"OTEL_TRACES_SAMPLER": "always_off"})
    assert (config.sampler, config.sampler_arg) == ("parentbased_traceidratio", 0.1)
    caplog.set_level(logging.WARNING, logger="smarter_obs.tracing")
    assert resolve_config(sample_ratio=7, environ={}).sampler_arg == 1.0
    assert "sample_ratio=7" in caplog.text


def test_bad_bsp_values_fall_back_and_batch_is_capped_by_queue(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="smarter_obs.tracing")
    env = {
        "OTEL_BSP_SCHEDULE_DELAY": "soon",
        "OTEL_BSP_MAX_QUEUE_SIZE": "100",
        "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "500",
    }
    batch = resolve_config(environ=env).batch
    assert (batch.schedule_delay_ms, batch.max_queue_size, batch.max_export_batch_size) == (5000, 100, 100)
    assert "OTEL_BSP_SCHEDULE_DELAY='soon'" in caplog.text


def test_timeout_in_milliseconds_is_understood_and_disabled_flag_parsed() -> None:
    (spec,) = resolve_config(
        environ={"OTEL_EXPORTER_OTLP_ENDPOINT": "h:1", "OTEL_EXPORTER_OTLP_TIMEOUT": "2500"}
    ).exporters
    assert spec.timeout == 2.5
    assert resolve_config(environ={"OTEL_SDK_DISABLED": "TRUE"}).disabled is True
    assert resolve_config(environ={"OTEL_SDK_DISABLED": "yes please"}).disabled is False


def test_malformed_headers_never_leak_their_value(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="smarter_obs.tracing")
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": "h:1", "OTEL_EXPORTER_OTLP_HEADERS": "Bearer-s3cr3t-token,ok=1"}
    (spec,) = resolve_config(environ=env).exporters
    assert dict(spec.headers) == {"ok": "1"}
    assert "OTEL_EXPORTER_OTLP_HEADERS" in caplog.text and "s3cr3t" not in caplog.text
    assert "ok" not in repr(spec) and "s3cr3t" not in repr(resolve_config(environ=env))
    with_password = resolve_config(
        exporter="clickhouse", endpoint="https://writer:s3cr3t@ch:8443", environ={}
    )
    assert "s3cr3t" not in repr(with_password) and "https://writer:***@ch:8443" in repr(with_password)


def test_equal_inputs_give_equal_configs_and_differences_are_named() -> None:
    a = resolve_config("svc", environ={"OTEL_TRACES_EXPORTER": "console"})
    b = resolve_config("svc", exporter="console", environ={})
    assert a == b
    c = resolve_config("svc", exporter="otlp", environ={})
    assert a.differences(c) == ["exporters"]
    assert resolve_config(environ={"OTEL_PROPAGATORS": "tracecontext, baggage,tracecontext"}).propagators == (
        "tracecontext",
        "baggage",
    )
