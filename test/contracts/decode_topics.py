#!/usr/bin/env python3
"""Reads Nightshift topics as a consumer written in Python would, and decodes every record.

The proof that Nightshift's schema contracts serve consumers not written in TypeScript:
this uses nothing of Nightshift's, only the Confluent client for Python (confluent-kafka,
librdkafka underneath) and its schema-registry Avro deserializer, pointed at the
registry's Confluent-compatible API.

For each topic given, it consumes every partition from the beginning up to the end
offsets read when it starts (isolation.level=read_committed, so the end is the last
stable offset: records of aborted or still-open transactions are not delivered), and:

- deserializes every non-null value with ``AvroDeserializer`` (the writer's schema,
  fetched by the id in the Confluent wire format: magic byte 0, 4-byte schema id);
- decodes keys as UTF-8 strings (Nightshift's keys are strings);
- counts null values apart: ``barriers`` (keys starting with NUL + ``barrier/``, which
  Nightshift's own readers append and skip) and other ``tombstones`` (deletes in
  compacted topics), neither of which has anything to decode;
- checks that every schema id seen is a version of the topic's expected subject
  (``<topic>-value``, TopicNameStrategy) and reports the schemas' full names.

Topics without an Avro contract (``--json-topic``) have their values parsed as UTF-8 JSON
instead, so they can be read by the same run.

Prints a JSON report on stdout (per topic: records, tombstones, barriers, decoded,
failures, schema ids and names, a sample decoded record) and exits 1 when any record
could not be decoded, a schema is not under its subject, or a partition's end was not
reached in time; 2 on bad arguments or when Kafka or the registry cannot be used at all.

With ``--records-out FILE``, also writes every decoded record as one JSON line
({topic, partition, offset, key, schemaId, value}), for a caller that compares them with
its own decoding. Values are made JSON-safe the same way in both: bytes become
{"$bytes": <base64>}, timestamp-millis (decoded by fastavro as an aware datetime) becomes
its integer milliseconds again, a non-finite double becomes {"$double": "NaN" | ...}.

Example::

    python decode_topics.py --bootstrap 127.0.0.1:9092 \\
        --registry http://127.0.0.1:8081/apis/ccompat/v7 \\
        --topic alerts.raw --topic actions.outcomes=actions.outcomes-value \\
        --json-topic nightshift.control
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import math
import sys
import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Dict, List, Optional, Tuple

try:
    import confluent_kafka
    import fastavro
    from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition
    from confluent_kafka.schema_registry import SchemaRegistryClient
    from confluent_kafka.schema_registry.avro import AvroDeserializer
    from confluent_kafka.schema_registry.error import SchemaRegistryError
    from confluent_kafka.serialization import MessageField, SerializationContext
except ImportError as missing:  # pragma: no cover - depends on the environment
    sys.stderr.write(
        f"decode_topics.py: {missing}; install test/contracts/requirements.txt "
        "(pip install -r test/contracts/requirements.txt)\n"
    )
    sys.exit(2)

#: Key prefix of Nightshift's read barriers (src/kafka/topic-reader.ts BARRIER_KEY_PREFIX).
BARRIER_KEY_PREFIX = b"\x00barrier/"
#: Wire-format header: magic byte 0 and a big-endian 4-byte schema id.
MAGIC_BYTE = 0
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
ONE_MS = dt.timedelta(milliseconds=1)
#: Failures listed per topic in the report (all are counted).
MAX_LISTED_FAILURES = 20

EXIT_OK = 0
EXIT_FAILURES = 1
EXIT_UNUSABLE = 2


class Unusable(Exception):
    """Kafka or the registry cannot be used at all (nothing was decoded)."""


def json_safe(value: Any) -> Any:
    """The decoded value in plain JSON, with the conventions in the module doc."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"$bytes": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            return {"$double": "NaN"}
        if math.isinf(value):
            return {"$double": "Infinity" if value > 0 else "-Infinity"}
        return value
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=dt.timezone.utc)
        # Integer arithmetic on timedeltas: exact, unlike timestamp() * 1000.
        return (aware - EPOCH) // ONE_MS
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (Decimal, uuid.UUID)):
        return str(value)
    return repr(value)


def schema_full_name(schema_str: str) -> str:
    """`namespace.name` of a registered schema (its type for an unnamed one)."""
    parsed = json.loads(schema_str)
    if isinstance(parsed, dict):
        name = parsed.get("name")
        namespace = parsed.get("namespace")
        if isinstance(name, str):
            return name if "." in name or not namespace else f"{namespace}.{name}"
        return str(parsed.get("type"))
    if isinstance(parsed, list):
        return "union"
    return str(parsed)


@dataclass
class TopicSpec:
    """A topic to read: Avro through the registry under `subject`, or JSON (`subject` None)."""

    name: str
    subject: Optional[str]

    @property
    def format(self) -> str:
        return "json" if self.subject is None else "avro"


@dataclass
class TopicReport:
    """What reading one topic found; serialised as the report's entry for it."""

    spec: TopicSpec
    partitions: int = 0
    end_offsets: Dict[int, Tuple[int, int]] = field(default_factory=dict)
    records: int = 0
    tombstones: int = 0
    barriers: int = 0
    decoded: int = 0
    failure_count: int = 0
    failures: List[Dict[str, Any]] = field(default_factory=list)
    schema_ids: Dict[int, int] = field(default_factory=dict)
    schema_names: Dict[str, int] = field(default_factory=dict)
    subject_schema_ids: Optional[List[int]] = None
    sample: Optional[Dict[str, Any]] = None

    def fail(self, error: str, partition: Optional[int] = None, offset: Optional[int] = None, key: Optional[str] = None) -> None:
        self.failure_count += 1
        if len(self.failures) < MAX_LISTED_FAILURES:
            entry: Dict[str, Any] = {"error": error}
            if partition is not None:
                entry["partition"] = partition
            if offset is not None:
                entry["offset"] = offset
            if key is not None:
                entry["key"] = key
            self.failures.append(entry)

    def as_json(self) -> Dict[str, Any]:
        return {
            "format": self.spec.format,
            "subject": self.spec.subject,
            "partitions": self.partitions,
            "endOffsets": {str(p): {"low": lo, "high": hi} for p, (lo, hi) in sorted(self.end_offsets.items())},
            "records": self.records,
            "tombstones": self.tombstones,
            "barriers": self.barriers,
            "decoded": self.decoded,
            "failureCount": self.failure_count,
            "failures": self.failures,
            "schemaIds": {str(k): v for k, v in sorted(self.schema_ids.items())},
            "schemaNames": dict(sorted(self.schema_names.items())),
            "subjectSchemaIds": self.subject_schema_ids,
            "sample": self.sample,
        }


class Decoder:
    """Decodes values of the topics, through the registry for Avro ones."""

    def __init__(self, registry_url: str) -> None:
        self.registry = SchemaRegistryClient({"url": registry_url})
        # No reader schema: the writer's schema (from the registry, by id) decodes.
        self.avro = AvroDeserializer(self.registry)
        self.names: Dict[int, str] = {}

    def schema_name(self, schema_id: int) -> str:
        name = self.names.get(schema_id)
        if name is None:
            name = self.names[schema_id] = schema_full_name(self.registry.get_schema(schema_id).schema_str)
        return name

    def subject_ids(self, subject: str) -> List[int]:
        """Schema ids of every version registered under `subject`."""
        return sorted({self.registry.get_version(subject, v).schema_id for v in self.registry.get_versions(subject)})

    def decode(self, spec: TopicSpec, value: bytes, headers: Any) -> Tuple[Any, Optional[int]]:
        """The decoded value and its schema id (None for JSON topics); raises on anything undecodable."""
        if spec.subject is None:
            return json.loads(value.decode("utf-8")), None
        if len(value) < 5 or value[0] != MAGIC_BYTE:
            raise ValueError(f"not in the Confluent wire format (first byte {value[:1].hex() or 'none'}, {len(value)} bytes)")
        schema_id = int.from_bytes(value[1:5], "big", signed=True)
        ctx = SerializationContext(spec.name, MessageField.VALUE, headers)
        return self.avro(value, ctx), schema_id


def parse_topic(arg: str) -> TopicSpec:
    name, sep, subject = arg.partition("=")
    if not name:
        raise argparse.ArgumentTypeError(f"empty topic name in {arg!r}")
    return TopicSpec(name, subject if sep else f"{name}-value")


def parse_args(argv: List[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bootstrap", required=True, help="Kafka bootstrap servers, host:port[,host:port]")
    parser.add_argument("--registry", required=True, help="schema registry URL (Confluent API), e.g. http://127.0.0.1:8081/apis/ccompat/v7")
    parser.add_argument(
        "--topic", action="append", default=[], type=parse_topic, metavar="TOPIC[=SUBJECT]",
        help="an Avro topic and its value subject (default <topic>-value); repeatable",
    )
    parser.add_argument("--json-topic", action="append", default=[], metavar="TOPIC", help="a topic whose values are JSON, not Avro; repeatable")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to reach every partition's end offset (default 60)")
    parser.add_argument("--records-out", metavar="FILE", help="also write every decoded record as a JSON line to FILE")
    args = parser.parse_args(argv)
    args.specs = list(args.topic) + [TopicSpec(name, None) for name in args.json_topic]
    if not args.specs:
        parser.error("give at least one --topic or --json-topic")
    names = [s.name for s in args.specs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        parser.error(f"topic(s) given twice: {', '.join(duplicates)}")
    return args


def end_offsets(consumer: Consumer, reports: Dict[str, TopicReport], timeout: float) -> Dict[Tuple[str, int], int]:
    """Fills partitions and (low, high) per partition; returns the partitions with records to read and their end."""
    metadata = consumer.list_topics(timeout=timeout)
    targets: Dict[Tuple[str, int], int] = {}
    for name, report in reports.items():
        topic = metadata.topics.get(name)
        if topic is None or topic.error is not None:
            reason = topic.error.str() if topic is not None and topic.error is not None else "not in the cluster's metadata"
            report.fail(f"topic {name} cannot be read: {reason}")
            continue
        report.partitions = len(topic.partitions)
        for partition in sorted(topic.partitions):
            # With isolation.level=read_committed librdkafka asks for the last stable offset.
            low, high = consumer.get_watermark_offsets(TopicPartition(name, partition), timeout=timeout, cached=False)
            report.end_offsets[partition] = (low, high)
            if high > low:
                targets[(name, partition)] = high
    return targets


def read_all(args: argparse.Namespace) -> Tuple[Dict[str, TopicReport], List[Dict[str, Any]]]:
    reports = {spec.name: TopicReport(spec) for spec in args.specs}
    specs = {spec.name: spec for spec in args.specs}
    decoder = Decoder(args.registry)
    decoded_records: List[Dict[str, Any]] = []

    # The registry first: an unreachable registry is one clear error, not a failure per record.
    for spec in args.specs:
        if spec.subject is None:
            continue
        try:
            reports[spec.name].subject_schema_ids = decoder.subject_ids(spec.subject)
        except SchemaRegistryError as err:
            if err.http_status_code == 404:
                reports[spec.name].fail(f"subject {spec.subject} is not registered: {err}")
            else:
                raise Unusable(f"schema registry at {args.registry}: GET /subjects/{spec.subject}/versions failed: {err}") from err
        except Exception as err:  # noqa: BLE001 - connection errors come from the HTTP client
            raise Unusable(f"schema registry at {args.registry} cannot be used: {type(err).__name__}: {err}") from err

    consumer = Consumer(
        {
            "bootstrap.servers": args.bootstrap,
            # A throwaway group that commits nothing: partitions are assigned, never subscribed.
            "group.id": f"nightshift-contracts-py-{uuid.uuid4()}",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
            "enable.partition.eof": True,
            "auto.offset.reset": "earliest",
            "client.id": "nightshift-contracts-py",
        }
    )
    try:
        try:
            targets = end_offsets(consumer, reports, min(args.timeout, 30.0))
        except KafkaException as err:
            raise Unusable(f"Kafka at {args.bootstrap} cannot be used: {err}") from err
        pending = dict(targets)
        if pending:
            consumer.assign([TopicPartition(t, p, confluent_kafka.OFFSET_BEGINNING) for (t, p) in pending])
        deadline = time.monotonic() + args.timeout
        while pending and time.monotonic() < deadline:
            for msg in consumer.consume(num_messages=500, timeout=0.5):
                topic, partition, offset = msg.topic(), msg.partition(), msg.offset()
                end = pending.get((topic, partition))
                err = msg.error()
                if err is not None:
                    if err.code() == KafkaError._PARTITION_EOF:
                        # The end of what read_committed may see; reaching the start's end finishes the
                        # partition even when its last offsets are transaction markers (never delivered).
                        if end is not None and offset >= end:
                            del pending[(topic, partition)]
                        continue
                    raise Unusable(f"consuming {topic} [{partition}] failed: {err.str()}")
                if end is None:
                    continue  # partition already finished
                if offset >= end:
                    del pending[(topic, partition)]  # written after the start: not ours to read
                    continue
                if offset == end - 1:
                    del pending[(topic, partition)]
                record = handle(decoder, specs[topic], reports[topic], msg)
                if record is not None:
                    decoded_records.append(record)
        for (topic, partition), end in sorted(pending.items()):
            position = consumer.position([TopicPartition(topic, partition)])[0].offset
            reports[topic].fail(
                f"did not reach end offset {end} within {args.timeout:g} s (position {position}); "
                "an open transaction holds back the last stable offset, or the broker is slow",
                partition=partition,
            )
    finally:
        consumer.close()

    for report in reports.values():
        if report.subject_schema_ids is None:
            continue
        foreign = sorted(set(report.schema_ids) - set(report.subject_schema_ids))
        if foreign:
            report.fail(f"schema id(s) {foreign} are not versions of subject {report.spec.subject} (its ids: {report.subject_schema_ids})")
    return reports, decoded_records


def handle(decoder: Decoder, spec: TopicSpec, report: TopicReport, msg: Any) -> Optional[Dict[str, Any]]:
    """Counts and decodes one delivered record; returns it decoded, or None."""
    partition, offset = msg.partition(), msg.offset()
    report.records += 1
    raw_key: Optional[bytes] = msg.key()
    value: Optional[bytes] = msg.value()
    if value is None:
        if raw_key is not None and raw_key.startswith(BARRIER_KEY_PREFIX):
            report.barriers += 1
        else:
            report.tombstones += 1
        return None
    try:
        key = None if raw_key is None else raw_key.decode("utf-8")
    except UnicodeDecodeError as err:
        report.fail(f"key is not UTF-8: {err}", partition, offset, raw_key.hex() if raw_key else None)
        return None
    try:
        decoded, schema_id = decoder.decode(spec, value, msg.headers())
        if schema_id is not None:
            name = decoder.schema_name(schema_id)
            report.schema_ids[schema_id] = report.schema_ids.get(schema_id, 0) + 1
            report.schema_names[name] = report.schema_names.get(name, 0) + 1
    except Exception as err:  # noqa: BLE001 - every decoding error is a finding, reported per record
        report.fail(f"{type(err).__name__}: {err}", partition, offset, key)
        return None
    report.decoded += 1
    record = {"topic": spec.name, "partition": partition, "offset": offset, "key": key, "schemaId": schema_id, "value": json_safe(decoded)}
    if report.sample is None:
        report.sample = record
    return record


def main(argv: List[str]) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    try:
        reports, records = read_all(args)
    except Unusable as err:
        sys.stderr.write(f"decode_topics.py: {err}\n")
        return EXIT_UNUSABLE
    if args.records_out:
        with open(args.records_out, "w", encoding="utf-8") as out:
            for record in records:
                out.write(json.dumps(record, ensure_ascii=True, allow_nan=False) + "\n")
    ok = all(r.failure_count == 0 for r in reports.values())
    report = {
        "ok": ok,
        "client": {
            "python": sys.version.split()[0],
            "confluentKafka": confluent_kafka.__version__,
            "librdkafka": confluent_kafka.libversion()[0],
            "fastavro": fastavro.__version__,
        },
        "seconds": round(time.monotonic() - started, 3),
        "topics": {name: r.as_json() for name, r in reports.items()},
    }
    sys.stdout.write(json.dumps(report, ensure_ascii=True, allow_nan=False, indent=2) + "\n")
    return EXIT_OK if ok else EXIT_FAILURES


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
