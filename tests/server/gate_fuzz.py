"""What the gate fuzzers share: the pools of names they draw from, what an answer may not
expose to its caller, which writes they leave out, and the server's own account of
unexpected errors.

The pools mix the real names and ids of ``gate_world`` with tricky and random strings, so
most requests name something that exists (and a good share something the caller must not
see), and the rest probe the edges of validation.

An answer *exposes* a marker (``gate_world.MARKERS``) that its caller must not see when the
marker appears in it anywhere: its status line aside, in its headers or body, as it is,
percent-decoded, or inside a base64 token (GraphQL ids are base64 of ``Kind:entity/...``).
Whatever the caller sent itself is taken out first: an error that repeats the name the
caller asked for tells it nothing it did not know.

Writes that could *rightly* show a marker to another user are not generated: a user who
may see a marker can legitimately publish it (alice may log ``zzhidden-x`` into ``vision``,
which bob reads; carol may make bob a member of ``other``). So a write whose inputs carry a
marker its caller may publish (in a name, or as the id of a marked version) is not sent;
writes that carry markers the caller may *not* see are sent, and must be refused or leave
nothing visible. Bob, a viewer only, can publish nothing: all his writes are sent.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import logging
import os
import re
import threading
import zlib
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import unquote

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from cairn.server.errors import classify

from .gate_world import MARKERS, VISIBLE, World

ANONYMOUS = "anonymous"
# The callers of the fuzzers: the world's users, and one with no valid key.
CALLERS = ("alice", "bob", "carol", "dave", ANONYMOUS)
# How many callers send each generated request (the first of a drawn order).
CALLERS_PER_REQUEST = 3
# The markers a caller may publish to others by a write of its own: what it sees and
# holds a writing role on (bob is a viewer of vision, nothing more).
PUBLISHABLE: dict[str, set[str]] = {
    "alice": {"zzprivate", "zzhidden", "zzlocked"},
    "bob": set(),
    "carol": {"zzcarol"},
    "dave": {"zzlocked"},
    ANONYMOUS: set(),
}
# Entities whose membership carries what they hold, granted by their admin: carol may
# make anyone a member of ``other`` (and so a reader of zzcarol's names).
GRANTS: dict[tuple[str, str], str] = {("carol", "other"): "zzcarol"}

# A deeper local hunt: ``CAIRN_FUZZ_SCALE=10`` runs ten times the examples, and
# ``CAIRN_FUZZ_SEED=n`` other ones (CI runs the defaults: the same examples every time).
SCALE = float(os.environ.get("CAIRN_FUZZ_SCALE", "1"))
SEED = os.environ.get("CAIRN_FUZZ_SEED", "")


def scaled(examples: int) -> int:
    return max(1, round(examples * SCALE))


def seed_of(name: str) -> int:
    """The fixed seed of one fuzzing loop (so that CI draws the same examples each run)."""
    return zlib.crc32(f"{SEED}{name}".encode())


SETTINGS = settings(
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)

ENTITIES = ["vision", "zzhidden", "other", "acme", "alice", "bob", "carol", "dave", "root"]
PROJECTS = [
    "p",
    "zzprivate-proj",
    "zzhidden-proj",
    "q",
    "wandb-registry-open",
    "wandb-registry-zzlocked",
    "wandb-registry-model",
]
COLLECTIONS = ["shared", "zzprivate-coll", "zzhidden-coll", "zzcarol-coll", "open-coll"]
COLLECTIONS += ["zzlocked-coll"]
ALIASES = ["latest", "production", "v0", "v1", "zzprivate-alias"]
RUNS = ["r1", "zzprivate-run", "zzhidden-run", "zzcarol-run"]
REGISTRIES = ["open", "zzlocked", "model", "dataset"]
USER_NAMES = ["alice", "bob", "carol", "dave", "root"]
ROLES = ["viewer", "member", "admin"]
VISIBILITIES = ["organization", "restricted"]
TYPES = ["dataset", "model"]
FILES = ["shared.txt", "zzprivate-file.txt", "zzhidden-file.txt", "zzcarol-file.txt"]
# Spellings that have broken peers: traversal, encodings, NUL, empties, long and odd text.
TRICKY = [
    "",
    " ",
    ".",
    "..",
    "../zzhidden",
    "vision/../zzhidden",
    "%2e%2e",
    "a/b",
    "a\\b",
    "\x00",
    "a\x00b",
    "vision\x00",
    "shared\x00:v0",
    "-1",
    "0",
    "9" * 30,
    "x" * 300,
    "\u00e9\u0301",
    "\U0001f4a5",
    "\ud800",
    "VISION",
    "Vision",
    "null",
    "true",
    "{}",
    "[]",
    "' OR 1=1 --",
]


def callers_of(data: st.DataObject) -> list[str]:
    """The callers that send one request, in a drawn order."""
    return list(data.draw(st.permutations(CALLERS), "callers")[:CALLERS_PER_REQUEST])


# JSON texts for the fields and arguments that carry JSON as a string: ordinary ones...
JSON_STRINGS = [
    "{}",
    '{"state": "COMMITTED"}',
    '{"name": "shared"}',
    '{"name": "zzprivate-coll"}',
    '{"$or": [{"name": "open-coll"}]}',
    '{"a": {"b": {"c": [1, 2, {"d": null}]}}}',
    "[]",
    "null",
    "not json",
    '{"_wandb": {"value": 1}, "lr": {"value": 0.1, "desc": null}}',
]
# ... and hostile ones: deeper than ``json.loads`` can recurse, NUL, a lone surrogate.
HOSTILE_JSON = [
    "[" * 100_000 + "]" * 100_000,
    '{"version": 1, "storagePolicy": "wandb-storage-policy-v1", "contents": {"a": '
    + "[" * 5000
    + "]" * 5000
    + "}}",
    '{"a": ' * 200 + "1" + "}" * 200,
    '{"a\\u0000": "\\u0000"}',
    '{"a": "\\ud800"}',
]


def json_text() -> st.SearchStrategy[str]:
    """A JSON text: ordinary, hostile or random, a third each."""
    return st.one_of(st.sampled_from(JSON_STRINGS), st.sampled_from(HOSTILE_JSON), RANDOM_TEXT)


def b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8", "surrogatepass")).decode()


def no_marker(text: str) -> bool:
    return not any(m in text for m in MARKERS)


RANDOM_TEXT = st.text(max_size=24).filter(no_marker)


def pick(pool: list[str]) -> st.SearchStrategy[str]:
    """A name of ``pool`` (in its order: the first is the simplest) three times in five,
    else a tricky or a random string."""
    named = st.sampled_from(list(dict.fromkeys(pool)))
    return st.one_of(named, named, named, st.sampled_from(TRICKY), RANDOM_TEXT)


class Pools:
    """The names and ids of one world, by the kind of thing they name."""

    def __init__(self, world: World) -> None:
        self.world = world
        marked = [world.v1["id"], world.private["id"], world.hidden["id"]]
        marked.append(world.carol_version["id"])
        self.version_ids = marked + marked
        # Versions the fuzzers may create, and ids next to the world's.
        self.version_ids += [b64(f"Artifact:{n}") for n in range(1, 9)]
        self.version_ids += [b64("Artifact:0"), b64("Artifact:-1"), b64("Artifact:x")]
        # The markers a version id carries: what the version's names hold.
        self.object_markers = {
            world.private["id"]: "zzprivate",
            world.hidden["id"]: "zzhidden",
            world.carol_version["id"]: "zzcarol",
        }
        self.digests = [v["digest"] for v in (world.v1, world.private, world.hidden)]
        self.digests.append(world.carol_version["digest"])
        self.by_kind: dict[str, list[str]] = {
            "entity": ENTITIES,
            "project": PROJECTS,
            "collection": COLLECTIONS,
            "selector": ALIASES,
            "alias": ALIASES,
            "run": RUNS,
            "version": self.version_ids,
            "registry": REGISTRIES,
            "user": USER_NAMES,
            "key": list(world.key_ids.values()),
            "role": ROLES,
            "visibility": VISIBILITIES,
            "type": TYPES,
            "organization": ["acme"],
            "digest": self.digests,
            "algorithm": ["md5", "MD5", "xxh128", "sha256"],
            "file": FILES,
        }

        # Coherent places of the world: the names of one collection (and a version, a run,
        # a registry in it), so that requests reach what exists, and not only 404.
        v1, private, hidden, carols = (
            v["id"] for v in (world.v1, world.private, world.hidden, world.carol_version)
        )
        self.places: list[dict[str, str]] = [
            place("vision", "p", "shared", "v0", "r1", v1),
            place(
                "vision",
                "zzprivate-proj",
                "zzprivate-coll",
                "zzprivate-alias",
                "zzprivate-run",
                private,
            ),
            place("zzhidden", "zzhidden-proj", "zzhidden-coll", "latest", "zzhidden-run", hidden),
            place("other", "q", "zzcarol-coll", "v0", "zzcarol-run", carols),
            {
                **place("acme", "wandb-registry-open", "open-coll", "production", "r1", v1),
                "name": "open",
            },
            {
                **place("acme", "wandb-registry-zzlocked", "zzlocked-coll", "production", "r1", v1),
                "name": "zzlocked",
            },
        ]

    def strategy(self, kind: str) -> st.SearchStrategy[str]:
        if kind == "json":
            return json_text()
        return pick(self.by_kind[kind])

    def carried(self, strings: Iterable[str]) -> set[str]:
        """The markers the inputs ``strings`` carry: in their text (plain, or in base64)
        or as the id of a marked version."""
        found: set[str] = set()
        for text in strings:
            for form in (text, *decoded_forms(text)):
                found.update(m for m in MARKERS if m in form)
            if text in self.object_markers:
                found.add(self.object_markers[text])
        return found

    def may_publish(self, caller: str, strings: Iterable[str]) -> bool:
        """Whether a write by ``caller`` with these inputs could rightly show a marker to
        another user (so the fuzzers leave it out)."""
        return bool(self.carried(strings) & PUBLISHABLE[caller])


def place(
    entity: str, project: str, collection: str, selector: str, run: str, version: str
) -> dict[str, str]:
    return {
        "entity": entity,
        "project": project,
        "collection": collection,
        "selector": selector,
        "run_id": run,
        "version_id": version,
    }


def strings_of(value: Any) -> Iterator[str]:
    """Every string in a JSON-like value, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from strings_of(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from strings_of(item)


_B64 = (re.compile(r"[A-Za-z0-9+/_-]{8,}={0,2}"), re.compile(r"[A-Za-z0-9+_-]{8,}={0,2}"))


def decoded_forms(text: str) -> list[str]:
    """``text`` percent-decoded, and each base64 token in it decoded (standard and URL-safe
    alphabets), as text."""
    forms = [unquote(text)]
    for token in {t for pattern in _B64 for t in pattern.findall(text)}:
        padded = token + "=" * (-len(token.rstrip("=")) % 4)
        for decode in (base64.b64decode, base64.urlsafe_b64decode):
            with contextlib.suppress(binascii.Error, ValueError):
                forms.append(decode(padded.encode()).decode("utf-8", "ignore"))
    return forms


_TOKEN = re.compile(r"[^A-Za-z0-9_.\-]+")


def echoes(sent: Iterable[str]) -> list[str]:
    """What of the caller's own inputs an answer may repeat: every input (and its decoded
    forms) holding a marker, and each name-like token of it that does; longest first."""
    found: set[str] = set()
    for text in sent:
        for form in (text, *decoded_forms(text)):
            if no_marker(form):
                continue
            found.add(form)
            found.update(t for t in _TOKEN.split(form) if not no_marker(t))
    return sorted(found, key=len, reverse=True)


def forbidden_to(caller: str) -> list[str]:
    return [m for m in MARKERS if caller == ANONYMOUS or m not in VISIBLE[caller]]


def exposed(caller: str, text: str, sent: Iterable[str] = ()) -> list[str]:
    """The markers ``caller`` may not see that ``text`` shows it, beyond what it sent."""
    repeated = echoes(sent)

    def clean(s: str) -> str:
        for echo in repeated:
            s = s.replace(echo, "")
        return s

    plain = clean(text)
    views = [plain, *(clean(form) for form in decoded_forms(plain))]
    return sorted({m for m in forbidden_to(caller) for v in views if m in v})


def answer_text(response: Any) -> str:
    """A response's headers and body, as one searchable string."""
    headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
    return f"{headers}\n\n{response.text}"


def printable(text: str) -> str:
    """``text`` with lone surrogates escaped: a report holding one cannot travel between
    pytest-xdist's processes (the whole run then ends in INTERNALERROR)."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


class ServerErrors(logging.Handler):
    """The errors the in-process server logs (the 500 handler logs every traceback), with
    lone surrogates escaped."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[str] = []
        self.lock_ = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        text = self.format(record) if record.exc_info else record.getMessage()
        with self.lock_:
            self.records.append(printable(f"{record.name}: {text}"))

    def take(self) -> list[str]:
        with self.lock_:
            taken, self.records = self.records, []
        return taken


@contextlib.contextmanager
def server_errors() -> Iterator[ServerErrors]:
    """Collect the server's errors while fuzzing, and keep its logs out of pytest's
    capture: thousands of expected refusals, whose messages repeat the fuzzer's inputs
    (lone surrogates too, which pytest-xdist cannot send in a report)."""
    handler = ServerErrors()
    handler.setFormatter(logging.Formatter("%(message)s"))
    cairn = logging.getLogger("cairn")
    uvicorn = logging.getLogger("uvicorn.error")  # its "Exception in ASGI application"
    saved = cairn.propagate, uvicorn.level
    cairn.addHandler(handler)
    cairn.propagate = False
    uvicorn.setLevel(logging.CRITICAL)
    try:
        yield handler
    finally:
        cairn.removeHandler(handler)
        cairn.propagate, _ = saved
        uvicorn.setLevel(saved[1])


def internal(error: BaseException | None) -> bool:
    """Whether a resolver's exception is one the REST API would answer with 500."""
    if error is None:
        return False
    return not isinstance(error, Exception) or classify(error)[0] == 500
