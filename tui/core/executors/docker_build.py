"""A local build of a Docker entry's image, from a recipe the entry carries: the ``build`` capability.

Where no registry answers (a machine without internet), the image an entry names cannot be pulled. An
entry may then say how to make it here instead (its ``build`` field)::

    build:
      files: {busybox: /bin/busybox}        # what this machine gives, by its name in the build context
      needs: install busybox-static         # said when a file is missing or the build fails
      dockerfile: |
        FROM scratch
        COPY busybox /bin/busybox
        RUN ["/bin/busybox", "--install", "-s", "/bin"]

The console offers it only when asked and only after a pull failed; :func:`build_image` sends the
Dockerfile and the files to the daemon as the build context and tags the result with the entry's
``image``, so the entry runs unchanged. The image carries the label :data:`LOCAL_BUILD_LABEL`, so its
status says it was built here rather than fetched.

This module stays light (the kind's field table imports it); the Docker SDK is imported only by the build.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Callable, Mapping
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from tui.core.entries.fields import (
    INVALID,
    Check,
    describe,
    did_you_mean,
    is_mapping,
    is_null,
    string_field,
    string_map,
)
from tui.core.entries.models import frozen_map
from tui.core.errors import internal
from tui.core.structs import field, record

if TYPE_CHECKING:
    from yaml.nodes import Node

    from tui.core.executors.base import PullProgress, Scope

#: The label on an image built from a recipe; its value names the files it was built from.
LOCAL_BUILD_LABEL = "execdeck.built-here"
#: A build step may take this long before the daemon's answer counts as lost.
BUILD_TIMEOUT = 600
# Compiled (and cached by `re`) on first use: this module loads with every docker entry, builds are rare.
_STEP = r"^Step (\d+)/(\d+) : (.*)$"


@record(frozen=True)
class BuildRecipe:
    """How to build an entry's image here: the Dockerfile's text, and the files of this machine that go
    into the build context, by their name there (paths absolute). ``needs`` says, for people, what the
    recipe needs from the machine (``install busybox-static``)."""

    dockerfile: str
    files: Mapping[str, str] = field(default_factory=frozen_map)
    needs: str = ""

    def __str__(self) -> str:
        """One line for the console's settings: ``Dockerfile, busybox ← /bin/busybox``."""
        return ", ".join(["Dockerfile", *(f"{name} ← {path}" for name, path in self.files.items())])

    def missing(self) -> str:
        """What this machine lacks for the build, for people; ``""`` when it has everything."""
        absent = [path for path in self.files.values() if not os.path.isfile(path)]
        if not absent:
            return ""
        text = f"{', '.join(absent)} {'is' if len(absent) == 1 else 'are'} missing"
        return f"{text}: {self.needs}" if self.needs else text

    def source(self) -> str:
        """What the build uses, for people: the files, or the Dockerfile alone."""
        return ", ".join(self.files.values()) or "its Dockerfile alone"


_RECIPE_KEYS = ("dockerfile", "files", "needs")


def recipe_field(check: Check, name: str, node: Node) -> Any:
    """The checker of the ``build`` field: a mapping with a ``dockerfile`` (required), ``files`` (build
    context name → path, relative to the entry file's folder) and ``needs``."""
    if not is_mapping(node):
        check.error(node, name, f"must be a mapping (dockerfile, files, needs), not {describe(node)}")
        return INVALID
    pairs = check.pairs(node, name)
    for key, (key_node, _) in pairs.items():
        if key not in _RECIPE_KEYS:
            check.warn(key_node, name, f"unknown key '{key}' in build (ignored)", did_you_mean(key, _RECIPE_KEYS))
    values: dict[str, Any] = {}
    for key in _RECIPE_KEYS:
        pair = pairs.get(key)
        if pair is None or is_null(pair[1]):
            continue
        value = (string_map(check, name, pair[1], what="the file") if key == "files"
                 else string_field(check, name, pair[1]))
        if value is INVALID:
            return INVALID
        values[key] = value
    if not str(values.get("dockerfile", "")).strip():
        check.error(pairs["dockerfile"][1] if "dockerfile" in pairs else node, name,
                    "needs a dockerfile: the Dockerfile's text", 'e.g. dockerfile: "FROM scratch\\nCOPY app /app"')
        return INVALID
    files: dict[str, str] = {}
    for context_name, path in values.get("files", {}).items():
        parts = PurePosixPath(context_name).parts
        if not parts or context_name.startswith("/") or ".." in parts:
            check.error(pairs["files"][1], name, f'"{context_name}" must be a name inside the build context',
                        "a relative path without '..', e.g. busybox")
            return INVALID
        # Absolute, but symbolic links kept: the path people wrote is the one to show them.
        files[context_name] = os.path.normpath(os.path.join(os.path.abspath(check.path.parent),
                                                            os.path.expanduser(path)))
    return BuildRecipe(values["dockerfile"], frozen_map(files), values.get("needs", ""))


def _context(recipe: BuildRecipe) -> io.BytesIO:
    """The build context: the Dockerfile and the recipe's files (their modes kept), as a tar."""
    import tarfile  # here: it loads shutil, bz2 and lzma, which a command line that runs nothing pays for

    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tar:
        dockerfile = recipe.dockerfile.encode()
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(dockerfile)
        tar.addfile(info, io.BytesIO(dockerfile))
        for name, path in recipe.files.items():
            tar.add(path, arcname=name, recursive=False)
    data.seek(0)
    return data


def build_image(image: str, recipe: BuildRecipe, host: str, scope: Scope,
                on_progress: Callable[[PullProgress], None]) -> None:
    """Build ``image`` from ``recipe`` on the daemon ``host`` (an entry's ``host``: empty for the default),
    reporting each step; blocks until the build ended (run it on a worker).

    Raises:
        ExecError: ``cannot build "<image>" here: <what is missing>``, ``cannot reach the Docker daemon at
        <host>``, or ``build of "<image>" on <host> failed: <the daemon's reason>; the recipe says: <needs>``.
    """
    import docker.errors

    from tui.core.executors.base import PullProgress
    from tui.core.executors.docker_client import daemon_message, host_for, is_transport_error, unreachable

    absent = recipe.missing()
    if absent:
        raise internal(f'cannot build "{image}" here: {absent}', image=image)
    daemon = host_for(scope, host)
    client = daemon.sdk()

    def failed(reason: str) -> Exception:
        needs = f"; the recipe says: {recipe.needs}" if recipe.needs else ""
        return internal(f'build of "{image}" on {daemon.url} failed: {reason.strip()}{needs}', image=image,
                        host=daemon.url)

    step, steps = 0, 0
    try:
        events = client.build(fileobj=_context(recipe), custom_context=True, tag=image, rm=True, forcerm=True,
                              decode=True, timeout=BUILD_TIMEOUT,
                              labels={LOCAL_BUILD_LABEL: recipe.source()})
        for event in events:
            if "error" in event or "errorDetail" in event:
                raise failed(str(event.get("error") or event.get("errorDetail")))
            line = str(event.get("stream", "")).strip()
            found = re.match(_STEP, line)
            if found:
                step, steps = int(found.group(1)), int(found.group(2))
                on_progress(PullProgress(f"step {step}/{steps}: {found.group(3)}", step - 1, steps))
    except docker.errors.APIError as err:
        raise failed(daemon_message(err)) from err
    except Exception as err:
        if is_transport_error(err):
            raise unreachable(daemon.url, str(err)) from err
        raise
    on_progress(PullProgress(f"built {image}", steps, steps, done=True))
