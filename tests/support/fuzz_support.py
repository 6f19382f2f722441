"""Inputs for fuzzing the decoders, mappers and the HTTP layer: random OTLP messages built from
the protobuf descriptors (any field, any depth up to a limit, hostile values), their JSON forms,
and byte-level mutations of valid bodies.

``FUZZ_EXAMPLES_SCALE`` multiplies every fuzz test's cases and ``FUZZ_RANDOM=1`` draws new ones
on each run (``make fuzz``); CI runs the same derandomized cases every time.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import zlib
from typing import Any

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.json_format import MessageToDict
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from support.signal_samples import REQUEST_TYPES, full_requests

FD = FieldDescriptor
SCALE = float(os.environ.get("FUZZ_EXAMPLES_SCALE", "1"))
MAX_DEPTH = 6

HOSTILE_TEXT = ["", "service.name", "../../etc", "a/b\\c", "\x00", "é" * 40, "💥", "x" * 300]
HOSTILE_UINT = [0, 1, 2**63 - 1, 2**63, 2**64 - 1]
HOSTILE_INT = [0, -1, -(2**63), 2**63 - 1]
HOSTILE_DOUBLE = [0.0, -0.0, float("nan"), float("inf"), float("-inf"), 1e308, 5e-324]
INT_RANGES = {
    FD.TYPE_UINT64: (0, 2**64 - 1), FD.TYPE_FIXED64: (0, 2**64 - 1),
    FD.TYPE_UINT32: (0, 2**32 - 1), FD.TYPE_FIXED32: (0, 2**32 - 1),
    FD.TYPE_INT32: (-(2**31), 2**31 - 1), FD.TYPE_SINT32: (-(2**31), 2**31 - 1),
    FD.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
}  # fmt: skip


def fuzz_settings(examples: int) -> settings:
    """Derandomized unless FUZZ_RANDOM=1, no deadline, no example database."""
    return settings(
        max_examples=max(1, int(examples * SCALE)),
        deadline=None,
        derandomize=os.environ.get("FUZZ_RANDOM") != "1",
        database=None,
        suppress_health_check=list(HealthCheck),
    )


def _text(rnd: random.Random) -> str:
    if rnd.random() < 0.3:
        return rnd.choice(HOSTILE_TEXT)
    chars = []
    for _ in range(rnd.randrange(12)):
        code = rnd.choice((rnd.randrange(0x20, 0x7F), rnd.randrange(0x80, 0xD800)))
        chars.append(chr(code))
    return "".join(chars)


def _scalar(rnd: random.Random, field: Any) -> Any:
    kind = field.type
    if kind == FD.TYPE_STRING:
        return _text(rnd)
    if kind == FD.TYPE_BYTES:
        return rnd.choice([b"\x01" * 16, b"\x02" * 8, rnd.randbytes(rnd.randrange(20))])
    if kind == FD.TYPE_BOOL:
        return rnd.random() < 0.5
    if kind == FD.TYPE_DOUBLE:
        return rnd.choice([*HOSTILE_DOUBLE, rnd.uniform(-1e6, 1e6)])
    if kind == FD.TYPE_FLOAT:
        return rnd.choice([0.0, 1.5, float("nan"), float("inf")])
    if kind == FD.TYPE_ENUM:
        return rnd.randrange(-3, 30)
    if kind in INT_RANGES:
        return rnd.randint(*INT_RANGES[kind])
    if kind in (FD.TYPE_UINT64, FD.TYPE_FIXED64):
        return rnd.choice([*HOSTILE_UINT, rnd.randrange(2**64)])
    return rnd.choice([*HOSTILE_INT, rnd.randrange(-(2**63), 2**63)])


def fill(rnd: random.Random, message: Any, depth: int = 0) -> Any:
    """Set a random selection of ``message``'s fields, recursively."""
    for field in message.DESCRIPTOR.fields:
        if rnd.random() < 0.3:
            continue
        is_message = field.type == FD.TYPE_MESSAGE
        if is_message and depth >= MAX_DEPTH:
            continue
        if field.is_repeated:
            target = getattr(message, field.name)
            for _ in range(rnd.randrange(4 if depth < 3 else 2)):
                if is_message:
                    fill(rnd, target.add(), depth + 1)
                else:
                    target.append(_scalar(rnd, field))
        elif is_message:
            fill(rnd, getattr(message, field.name), depth + 1)
        else:
            setattr(message, field.name, _scalar(rnd, field))
    return message


def otlp_requests(signal: str) -> st.SearchStrategy[Any]:
    """Random requests of ``signal`` (one drawn ``Random`` drives each: fast, deterministic)."""
    return st.builds(
        lambda rnd: fill(rnd, REQUEST_TYPES[signal]()), st.randoms(use_true_random=True)
    )


def mutate(rnd: random.Random, seed: bytes) -> bytes:
    """A valid body with a few bytes flipped, inserted, deleted, or cut short."""
    data = bytearray(seed)
    for _ in range(rnd.randint(1, 4)):
        if not data:
            break
        at = rnd.randrange(len(data))
        action = rnd.choice(["flip", "insert", "delete", "cut"])
        if action == "flip":
            data[at] ^= 1 << rnd.randrange(8)
        elif action == "insert":
            data[at:at] = rnd.randbytes(rnd.randint(1, 8))
        elif action == "delete":
            del data[at : at + rnd.randint(1, 8)]
        else:
            del data[at:]
    return bytes(data)


def mutated(seed: bytes) -> st.SearchStrategy[bytes]:
    return st.builds(lambda rnd: mutate(rnd, seed), st.randoms(use_true_random=True))


def seeds() -> dict[str, bytes]:
    return {signal: request.SerializeToString() for signal, request in full_requests().items()}


def as_json(request: Any) -> bytes:
    return json.dumps(MessageToDict(request)).encode()


JSON_LEAF = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False),
    st.sampled_from(HOSTILE_TEXT),
    st.text(max_size=10),
)
#: Arbitrary JSON whose keys look like OTLP's, so the decoders get past the top level.
JSON_KEYS = st.sampled_from(
    ["resourceLogs", "resourceSpans", "resourceMetrics", "resource", "attributes", "scopeLogs",
     "scopeSpans", "scopeMetrics", "logRecords", "spans", "metrics", "key", "value",
     "stringValue", "intValue", "kvlistValue", "arrayValue", "values", "body", "traceId",
     "spanId", "timeUnixNano", "name", "gauge", "sum", "dataPoints", "asDouble", "events",
     "links", "histogram", "bucketCounts", "kind", "severityNumber"]
)  # fmt: skip
JSON_TREES = st.recursive(
    JSON_LEAF,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(JSON_KEYS, inner, max_size=4)
    ),
    max_leaves=25,
)


def encoded(body: bytes, encoding: str) -> bytes:
    if encoding in ("gzip", "x-gzip"):
        return gzip.compress(body, mtime=0)
    if encoding == "deflate":
        return zlib.compress(body)
    return body
