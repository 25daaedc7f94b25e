"""An OTLP sender in its own process: the real opentelemetry-exporter-otlp-proto-http exporter.

``python -m tests.collectors.spans.sender ENDPOINT SEED COUNT [gzip|none]`` emits seeded spans, flushes, and
prints the rows they must become (JSON) on stdout, plus the exporter's results.
"""

from __future__ import annotations

import json
import sys
from typing import ClassVar

from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from smarter_obs.collectors.spans.rows import from_sdk_spans
from tests.clickhouse.spanfactory import emit, provider


class Recording(OTLPSpanExporter):
    results: ClassVar[list[str]] = []

    def export(self, spans):
        result = super().export(spans)
        self.results.append(result.name)
        return result


def main(endpoint: str, seed: int, count: int, compression: str) -> None:
    memory = InMemorySpanExporter()
    exporter = Recording(
        endpoint=endpoint,
        timeout=10,
        compression=Compression.Gzip if compression == "gzip" else Compression.NoCompression,
    )
    tp = provider(seed, "mcp-tools", memory)
    tp.add_span_processor(BatchSpanProcessor(exporter, max_export_batch_size=512, schedule_delay_millis=50))
    emit(tp, seed, count)
    tp.force_flush(20_000)
    tp.shutdown()
    rows = from_sdk_spans(memory.get_finished_spans()).rows()
    json.dump({"rows": rows, "results": Recording.results}, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] if len(sys.argv) > 4 else "none")
