"""Group/topic selection and Kafka client properties."""

from __future__ import annotations

import pytest

from smarter_obs.collectors.redpanda_lag.config import (
    GroupSelector,
    TopicSelector,
    kafka_properties,
    redact_properties,
    validate_bootstrap,
)
from smarter_obs.errors import ConfigError


def test_plain_values_are_names_and_regexes_filter_discovered_groups() -> None:
    sel = GroupSelector.parse(["n8n.worker", "shopify-.*", "chatwoot"])
    assert sel.names == ("n8n.worker", "chatwoot")
    # names are collected even when the broker cannot list groups (discovered is None)
    assert sel.select(None) == ["chatwoot", "n8n.worker"]
    assert sel.select(["shopify-sync", "shopify", "x-shopify-sync", "n8nXworker"]) == [
        "chatwoot",
        "n8n.worker",
        "shopify-sync",
    ]


def test_no_group_option_means_every_discovered_group() -> None:
    assert GroupSelector.parse([]).select(["a", "b"]) == ["a", "b"]
    assert GroupSelector.parse([]).select(None) == []


def test_topics_default_to_non_internal_and_patterns_match_whole_names() -> None:
    default = TopicSelector.parse([])
    assert default("shopify.orders") and not default("__consumer_offsets") and not default("_schemas")
    sel = TopicSelector.parse([r"shopify\..*", "n8n.events"])
    assert sel("shopify.orders") and sel("n8n.events")
    assert not sel("n8nXevents") and not sel("old.shopify.orders")


def test_kafka_properties_from_env_files_and_options(tmp_path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("s3cret\n")
    env = {
        "SMARTER_OBS_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "SMARTER_OBS_KAFKA_SASL_MECHANISM": "SCRAM-SHA-256",
        "SMARTER_OBS_KAFKA_SASL_USERNAME": "obs",
        "SMARTER_OBS_KAFKA_SASL_PASSWORD_FILE": str(secret),
        "SMARTER_OBS_KAFKA_BOOTSTRAP": "ignored:9092",
        "SMARTER_OBS_KAFKA_SSL_CA_LOCATION": "",
    }
    props = kafka_properties(["ssl.ca.location=/etc/ca.pem", "sasl.mechanism=PLAIN"], env)
    assert props == {
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "PLAIN",
        "sasl.username": "obs",
        "sasl.password": "s3cret",
        "ssl.ca.location": "/etc/ca.pem",
    }
    assert redact_properties(props)["sasl.password"] == "***"


def test_kafka_property_errors_name_the_setting(tmp_path) -> None:
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        kafka_properties(["security.protocol"], {})
    with pytest.raises(ConfigError, match="bootstrap.servers.*--bootstrap"):
        kafka_properties(["bootstrap.servers=x:1"], {})
    with pytest.raises(ConfigError, match="SMARTER_OBS_KAFKA_SASL_PASSWORD_FILE"):
        kafka_properties([], {"SMARTER_OBS_KAFKA_SASL_PASSWORD_FILE": str(tmp_path / "missing")})


def test_bootstrap_validation() -> None:
    assert validate_bootstrap(" a:9092, b:9093 ") == "a:9092,b:9093"
    for bad in ("", "a", "a:x", ":9092", "a:70000"):
        with pytest.raises(ConfigError):
            validate_bootstrap(bad)


def test_empty_secret_file_is_named(tmp_path) -> None:
    empty = tmp_path / "pw"
    empty.write_text("\n")
    with pytest.raises(ConfigError, match=f"SMARTER_OBS_KAFKA_SASL_PASSWORD_FILE: {empty} is empty"):
        kafka_properties([], {"SMARTER_OBS_KAFKA_SASL_PASSWORD_FILE": str(empty)})
