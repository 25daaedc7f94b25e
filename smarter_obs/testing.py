"""Test helpers for services that call ``init_tracing`` (registered as a pytest plugin)."""
