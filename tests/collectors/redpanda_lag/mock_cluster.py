"""librdkafka's mock cluster for the tests: the package's own (the demo runs on it too)."""

from smarter_obs.demo.kafka_cluster import MockCluster

__all__ = ["MockCluster"]
