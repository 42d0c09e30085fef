"""The kind and Executor interfaces: what a kind of executor declares, and the handle on one entry.

A kind (``exec.native``, ``exec.docker``, the next one) is one module that builds one :class:`Kind` and
joins the table of :mod:`tui.core.executors.registry`. The kind carries everything about it: its entry
fields with their help, its spec class, how a command becomes an argv, what its handle is called, its
backend, and what else it can do (each optional capability has a plain name: :data:`STATUS_PROBE`,
:data:`STATUS_WATCH`, :data:`PULL`, :data:`BUILD`, :data:`PRUNE`, :data:`ORPHAN_SWEEP`). The console and
the command line ask the kind; they never name one, so a new kind lights up without an edit there.

A kind never sees the engine: its backend and its capabilities get a :class:`Scope`, the narrow part of
the engine they may use (its instance id, shared resources, clean-ups at its end).

:class:`Executor` is the handle ``exec.get(id)`` returns, the same class for every kind: ``exec`` runs
every pre-check of a process (released, empty command, whitelist, loader variables, time limit) in one
place, then asks the kind for a backend.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar

from tui.core.command import check_whitelist, is_loader_variable
from tui.core.entries.fields import Field
from tui.core.entries.models import Entry, ExecutorSpec
from tui.core.errors import invalid
from tui.core.process import Process, ProcessBackend, RunSpec
from tui.core.structs import record

S = TypeVar("S", bound=ExecutorSpec)
T = TypeVar("T")

#: The plain names of the optional capabilities, as :attr:`Kind.capabilities` lists them.
STATUS_PROBE = "status probe"
STATUS_WATCH = "status watch"
PULL = "pull"
BUILD = "build"
PRUNE = "prune"
ORPHAN_SWEEP = "orphan sweep"


class Scope:
    """What an engine lends the executors and kinds it serves, instead of itself. Thread-safe.

    ``instance_id`` names the engine's instance (a kind labels what it makes with it, so that what a
    crashed instance left can be found); :meth:`resource` shares one thing per key between every run of
    the engine (one Docker client per daemon); :meth:`add_cleanup` registers what to do at the end.
    ``long_lived`` says the engine serves many runs over time (the console, a Lua script), so a kind may
    keep things ready ahead for them (containers started ahead); a one-shot engine (``execdeck run``)
    would only pay for them.
    """

    def __init__(self, instance_id: str, *, long_lived: bool = False) -> None:
        self.instance_id = instance_id
        self.long_lived = long_lived
        self._resources: dict[str, Any] = {}
        self._resource_lock = threading.RLock()
        self._lock = threading.Lock()
        self._cleanups: list[Callable[[], None]] = []

    def resource(self, key: str, factory: Callable[[], T]) -> T:
        """The resource under ``key``, made once by ``factory``.

        The factory runs under a lock of its own, not the one of :meth:`add_cleanup`, so it may register
        a clean-up without deadlocking.
        """
        with self._resource_lock:
            if key not in self._resources:
                self._resources[key] = factory()
            found: T = self._resources[key]
            return found

    def add_cleanup(self, cleanup: Callable[[], None]) -> None:
        """Run ``cleanup`` when the engine shuts down, after its processes ended (newest first)."""
        with self._lock:
            self._cleanups.append(cleanup)

    def close(self) -> None:
        """Run the clean-ups registered so far, newest first; one that raises does not stop the others."""
        with self._lock:
            cleanups, self._cleanups = self._cleanups[::-1], []
        for cleanup in cleanups:
            with contextlib.suppress(Exception):
                cleanup()


@record(frozen=True)
class ExecutorStatus:
    """Whether an executor can run now: what ``execdeck list`` and the console show.

    ``short`` is a word or two for lists (``image missing``); empty, lists say ``ready`` or
    ``unavailable``. ``remedy`` names a capability of the kind that may make the executor ready
    (:data:`PULL`): the console offers it. ``engine`` names what serves the executor, for people
    (``Podman 4.3.1 (API 1.41)``); empty when unknown or when the kind has no such thing.
    """

    ready: bool
    text: str
    short: str = ""
    remedy: str = ""
    engine: str = ""

    @property
    def summary(self) -> str:
        """The word or two for lists."""
        return self.short or ("ready" if self.ready else "unavailable")


@record(frozen=True)
class PullProgress:
    """One step of a pull, summed over all its parts (``total`` grows as parts announce their sizes).

    ``current`` of ``total`` is a fraction for a progress bar, in whatever unit the source reports
    (bytes, or parts done when it reports no sizes). ``status`` is the latest line from where the pull
    comes from (``Downloading``, ``Pull complete``); ``done`` is True on the last event, once the thing
    pulled is present.
    """

    status: str
    current: int = 0
    total: int = 0
    done: bool = False


@record(frozen=True)
class Pull(Generic[S]):
    """The capability :data:`PULL`: fetch what an executor needs before it can run (a Docker image), only
    ever when asked.

    ``target(spec)`` names what would be pulled, for people (the image). ``run(spec, scope, on_progress)``
    pulls, blocking until done (call it on a worker), calling ``on_progress`` on its own thread for every
    step and once with ``done`` set; it raises :class:`~tui.core.errors.ExecError` with a message for people.
    """

    target: Callable[[S], str]
    run: Callable[[S, Scope, Callable[[PullProgress], None]], None]


StatusListener = Callable[[ExecutorStatus], None]
"""Hears an executor's status: called on a thread of the kind's, never the caller's."""


@record(frozen=True)
class StatusWatch(Generic[S]):
    """The capability :data:`STATUS_WATCH`: follow an executor's status as the world changes (a daemon that
    comes and goes, an image pulled or removed elsewhere), without the caller polling.

    ``subscribe(spec, scope, on_status)`` returns at once, never contacting anything on the calling
    thread, and returns the function that ends the subscription (idempotent). ``on_status`` is called on a
    thread of the kind's: with the first status as soon as it is known, then each time it changes (never
    twice in a row with an equal status), until the subscription ends or the scope closes. The kind shares
    whatever watches the world between the subscriptions that look at the same place (one watcher per
    Docker daemon, whatever the number of entries on it), never floods a place that does not answer, and
    ends all of it when the scope closes (no thread or connection outlives it).
    """

    subscribe: Callable[[S, Scope, StatusListener], Callable[[], None]]


@record(frozen=True)
class Build(Generic[S]):
    """The capability :data:`BUILD`: make what an executor needs (a Docker image) here, from what this
    machine has, only ever when asked: the console offers it when fetching it failed (no registry answers).

    ``offered(spec)``: whether this entry says how to build (a Docker entry's ``build`` recipe).
    ``source(spec)``: what the build would use, for people (``/bin/busybox``). ``missing(spec)``: what this
    machine lacks for it, for people, or ``""`` when the build can run (``/bin/busybox is missing: install
    busybox-static``). ``run(spec, scope, on_progress)`` builds, blocking (call it on a worker), reporting
    progress as :attr:`Pull.run` does (``current``/``total`` count steps), then once with ``done`` set;
    it raises :class:`~tui.core.errors.ExecError` with a message for people.
    """

    offered: Callable[[S], bool]
    source: Callable[[S], str]
    missing: Callable[[S], str]
    run: Callable[[S, Scope, Callable[[PullProgress], None]], None]


@record(frozen=True)
class Leftover:
    """One thing a kind left behind that prune or the orphan sweep found: ``id`` for the kind, ``text`` one
    line for people, ``owner`` the instance that made it when the kind knows (a served console's keeper
    ends only its own console's)."""

    id: str
    text: str
    owner: str = ""


@record(frozen=True, kw_only=True)
class Upkeep(Generic[S]):
    """What :class:`Prune` and :class:`OrphanSweep` share: where to look, and what is found there.

    ``places(specs)`` lists, without repeats, the places the kind looks at for its entries' ``specs``
    (daemon URLs), never contacting them; ``noun`` names what is found (``container(s)``)."""

    places: Callable[[Sequence[S]], list[str]]
    noun: str


@record(frozen=True, kw_only=True)
class Prune(Upkeep[S]):
    """The capability :data:`PRUNE`: remove what ended runs left (exited containers).

    ``remove(place, scope, dry_run, timeout)`` removes them at one place (with ``dry_run``: lists what
    would go) and returns them; raises :class:`~tui.core.errors.ExecError` when the place does not answer
    within about ``timeout`` seconds. ``title`` and ``help`` name the action in menus.
    """

    remove: Callable[[str, Scope, bool, float], list[Leftover]]
    title: str
    help: str


@record(frozen=True, kw_only=True)
class OrphanSweep(Upkeep[S]):
    """The capability :data:`ORPHAN_SWEEP`: find what still runs for instances that are gone (crashed),
    and end it when the operator agrees.

    ``find(place, scope, timeout)`` and ``kill(place, scope, orphans)`` raise
    :class:`~tui.core.errors.ExecError` when the place does not answer; ``kill`` returns what it ended.
    ``title`` heads the question put to the operator.
    """

    find: Callable[[str, Scope, float], list[Leftover]]
    kill: Callable[[str, Scope, list[Leftover]], list[Leftover]]
    title: str


@record(eq=False, kw_only=True)
class Kind(Generic[S]):
    """Everything about one kind of executor. A kind's module builds one and registers it.

    * ``name`` is what entries write as ``kind:`` (``exec.native``); ``label`` the short word the console's
      lists, run headers and run records show (``native``). Both are unique in the registry.
    * ``fields`` is the table of the kind's entry fields; validation builds ``spec_class`` from it.
    * ``tokenize(command)`` turns a command string into argv (no shell, ever; an empty list is "no
      command"). The rules of :mod:`tui.core.command` are the ones to choose from.
    * ``handle_label`` names what a run's handle is (``pid``, ``container``).
    * ``backend(spec, run, scope)`` makes the :class:`ProcessBackend` of one run. It must not block or
      contact a daemon (``start()`` does that); it may settle ``run.work_dir`` (cleaned, defaulted).
    * The optional capabilities, ``None`` when the kind has no such thing: ``probe(spec, scope, timeout)``
      (:data:`STATUS_PROBE`, at most about ``timeout`` seconds; without it an executor is always
      ready), ``watch`` (:data:`STATUS_WATCH`; without it the console probes once), ``pull``, ``build``,
      ``prune``, ``orphans`` (:data:`ORPHAN_SWEEP`).
    """

    name: str
    label: str
    fields: tuple[Field, ...]
    spec_class: type[S]
    tokenize: Callable[[str], list[str]]
    handle_label: str
    backend: Callable[[S, RunSpec, Scope], ProcessBackend]
    probe: Callable[[S, Scope, float], ExecutorStatus] | None = None
    watch: StatusWatch[S] | None = None
    pull: Pull[S] | None = None
    build: Build[S] | None = None
    prune: Prune[S] | None = None
    orphans: OrphanSweep[S] | None = None

    @property
    def capabilities(self) -> frozenset[str]:
        """The plain names of the optional capabilities this kind has."""
        present = {STATUS_PROBE: self.probe, STATUS_WATCH: self.watch, PULL: self.pull, BUILD: self.build,
                   PRUNE: self.prune, ORPHAN_SWEEP: self.orphans}
        return frozenset(name for name, capability in present.items() if capability is not None)

    def describe_handle(self, handle: str) -> str:
        """``pid 4242``, ``container 0123456789ab``; empty while there is no handle yet."""
        return f"{self.handle_label} {handle}" if handle else ""

    def field(self, name: str) -> Field | None:
        """The field called ``name``, or ``None``."""
        return next((f for f in self.fields if f.name == name), None)

    def reference_table(self) -> str:
        """The kind's fields as the README's Markdown table (a test keeps the README equal to it)."""
        rows = ["| field | type | default | meaning |", "|---|---|---|---|"]
        rows += [f"| `{f.name}` | {f.type} | {f.default} | {f.help} |" for f in self.fields]
        return "\n".join(rows)


class Executor:
    """A handle on one executor entry (what ``exec.get`` returns). Thread-safe; ``release`` is idempotent.

    ``on_create`` hears of every process it creates, before the process can start (the engine tracks
    them); ``check_run(command, meta)`` raises when the actor may not run ``command`` (the ``exec.run``
    check); ``buffer_cap`` bounds each stream's buffer; ``source`` is where runs come from by default.
    """

    def __init__(self, entry: Entry, kind: Kind[Any], scope: Scope, *, on_create: Callable[[Process], None],
                 check_run: Callable[[str, Mapping[str, Any]], None], buffer_cap: int, source: str) -> None:
        assert entry.spec is not None
        self.entry = entry
        self.kind = kind
        self.scope = scope
        self._on_create = on_create
        self._check_run = check_run
        self._buffer_cap = buffer_cap
        self._source = source
        self._released = threading.Event()

    @property
    def id(self) -> str:
        return self.entry.id

    @property
    def spec(self) -> ExecutorSpec:
        assert self.entry.spec is not None
        return self.entry.spec

    @property
    def released(self) -> bool:
        return self._released.is_set()

    def release(self) -> bool:
        """Release the handle; later ``exec`` calls fail. Always ``True``, however often it is called."""
        self._released.set()
        return True

    def exec(self, command: str, *, work_dir: str | None = None, env: Mapping[str, str] | None = None,
             timeout: float | None = None, source: str = "api") -> Process:
        """Create an unstarted process for ``command``.

        The ``exec.run`` check comes before every other one (the reference's order).

        Raises:
            ExecError: invalid ``permission denied: execute command``, ``executor is released``,
            ``command is required``, ``command not allowed: <cmd>``, or a refused loader variable in ``env``.
        """
        self._check_run(command, self.entry.meta)
        if self.released:
            raise invalid("executor is released", id=self.id)
        if command == "":
            raise invalid("command is required")
        check_whitelist(command, self.spec.command_whitelist)
        env = dict(env or {})
        if self.spec.command_whitelist:
            for name in env:
                if is_loader_variable(name):
                    raise invalid(
                        f"env {name} is not allowed on an executor with a command whitelist: "
                        "it would change how the allowed program loads",
                        variable=name, command=command,
                    )
        if timeout is not None and timeout <= 0:
            raise invalid("timeout must be a positive number of seconds")
        run = RunSpec(
            executor_id=self.id, kind=self.kind.label, command=command, argv=tuple(self.kind.tokenize(command)),
            work_dir=work_dir or "", env=env, timeout=timeout, source=source or self._source,
        )
        backend = self.kind.backend(self.spec, run, self.scope)
        process = Process(run, backend, buffer_cap=self._buffer_cap, describe_handle=self.kind.describe_handle)
        self._on_create(process)
        return process

    def probe(self, timeout: float = 2.0) -> ExecutorStatus:
        """Whether the executor can run now. Blocks at most about ``timeout`` seconds."""
        if self.kind.probe is None:
            return ExecutorStatus(True, "ready")
        return self.kind.probe(self.spec, self.scope, timeout)

    def watch(self, on_status: StatusListener, timeout: float = 2.0) -> Callable[[], None]:
        """Follow the executor's status: ``on_status`` hears it on another thread once it is known, then at
        every change, until the returned function is called (idempotent) or the scope closes.

        A kind with a :class:`StatusWatch` follows the world; for any other kind this is one probe (at
        most about ``timeout`` seconds) on a short-lived thread of its own. Never blocks.
        """
        if self.kind.watch is not None:
            return self.kind.watch.subscribe(self.spec, self.scope, on_status)
        ended = threading.Event()

        def once() -> None:
            try:
                status = self.probe(timeout)
            except Exception as err:  # noqa: BLE001 - a failed probe is a status, not a crash
                status = ExecutorStatus(False, f"cannot probe: {err}")
            if not ended.is_set():
                on_status(status)

        threading.Thread(target=once, name=f"probe {self.id}", daemon=True).start()
        return ended.set
