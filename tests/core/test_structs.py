"""The engine's records (tui.core.structs) behave as the dataclasses they replace, for what the package uses."""

from __future__ import annotations

import dataclasses
import math
import pickle
import subprocess
import sys
from collections.abc import Mapping
from typing import Any

import pytest

from tui.core import structs
from tui.core.structs import FrozenInstanceError, field, record


@record(frozen=True)
class Point:
    x: int
    y: int = 0
    tags: tuple[str, ...] = ()


@record(frozen=True, kw_only=True)
class Base:
    a: str = ""
    meta: Mapping[str, Any] = field(default_factory=dict)


@record(frozen=True, kw_only=True)
class Child(Base):
    b: int
    a: str = "override"

    def __post_init__(self) -> None:
        if self.b < 0:
            raise ValueError("b must not be negative")


@record
class Mutable:
    items: list[int] = field(default_factory=list)
    count: int = 0


@record(eq=False)
class Identity:
    name: str


@dataclasses.dataclass(frozen=True)
class DPoint:
    x: int
    y: int = 0
    tags: tuple[str, ...] = ()


@pytest.mark.parametrize("make", [Point, DPoint])
def test_a_frozen_record_behaves_as_a_frozen_dataclass(make: Any) -> None:
    p = make(1, tags=("t",))
    assert (p.x, p.y, p.tags) == (1, 0, ("t",))
    assert p == make(1, 0, ("t",)) and p != make(2)
    assert hash(p) == hash(make(1, 0, ("t",)))
    assert repr(p).endswith("Point(x=1, y=0, tags=('t',))")
    with pytest.raises(AttributeError, match="cannot assign to field 'x'"):
        p.x = 2
    with pytest.raises(AttributeError, match="cannot delete field 'y'"):
        del p.y
    with pytest.raises(TypeError):
        make()  # x is required
    with pytest.raises(TypeError):
        make(1, 2, (), 4)


def test_inherited_fields_keep_their_place_and_keyword_only_is_enforced() -> None:
    c = Child(b=2)
    assert [f.name for f in structs.fields(Child)] == ["a", "meta", "b"]
    assert (c.a, dict(c.meta), c.b) == ("override", {}, 2)
    assert Base().a == ""
    with pytest.raises(TypeError):
        Child(1)  # type: ignore[misc]
    with pytest.raises(ValueError, match="negative"):
        Child(b=-1)
    with pytest.raises(FrozenInstanceError):
        c.b = 3
    assert isinstance(FrozenInstanceError("x"), AttributeError)


def test_a_default_factory_gives_each_instance_its_own_value() -> None:
    one, two = Mutable(), Mutable()
    one.items.append(1)
    assert two.items == [] and one.items == [1]
    one.count = 5  # not frozen
    assert one == Mutable([1], 5)
    with pytest.raises(TypeError):
        hash(one)  # eq without frozen: unhashable, as a dataclass
    assert not hasattr(Mutable, "items")  # a factory's field has no class attribute, as in dataclasses
    assert Point.y == 0  # a plain default stays one


def test_eq_false_keeps_identity() -> None:
    a, b = Identity("n"), Identity("n")
    assert a != b and a == a
    assert len({a, b}) == 2


def test_replace_asdict_and_fields() -> None:
    c = Child(b=1, meta={"k": [Point(1)]})
    d = structs.replace(c, b=5)
    assert (d.b, d.a) == (5, "override") and c.b == 1
    with pytest.raises(TypeError, match="no field 'nope'"):
        structs.replace(c, nope=1)
    assert structs.asdict(c) == {"a": "override", "meta": {"k": [{"x": 1, "y": 0, "tags": ()}]}, "b": 1}
    assert structs.is_record(c) and structs.is_record(Child) and not structs.is_record(DPoint(1))
    with pytest.raises(TypeError, match="not a record"):
        structs.fields(DPoint(1))


def test_nan_fields_compare_as_dataclasses_do() -> None:
    nan = math.nan
    assert Point(nan) == Point(nan)  # type: ignore[arg-type]  # the same object: tuples compare it by identity first


def test_a_record_pickles() -> None:
    c = Child(b=3, meta={"x": 1})
    back = pickle.loads(pickle.dumps(c))
    assert back == c and back is not c


def test_the_command_line_path_does_not_load_dataclasses() -> None:
    # The point of the module: `execdeck run` must not pay for dataclasses (and the inspect module it loads).
    code = ("import sys, tui.cli, tui.cli.run, tui.core.engine, tui.core.records; "
            "print(sorted({'dataclasses', 'inspect'} & set(sys.modules)))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "[]", done.stdout


def test_the_generic_init_and_the_compiled_one_agree() -> None:
    # The first instances of a class go through a generic __init__, later ones through a compiled one.
    @record(frozen=True, kw_only=True)
    class Late(Base):
        b: int
        items: list[int] = field(default_factory=list)

    made = []
    for turn in range(structs.COMPILE_AFTER * 2):
        first = Late(b=turn)
        assert (first.a, dict(first.meta), first.b, first.items) == ("", {}, turn, [])
        second = Late(a="x", b=1, items=[turn], meta={"k": 1})
        assert (second.a, second.b, second.items, dict(second.meta)) == ("x", 1, [turn], {"k": 1})
        made.append(first)
        errors = []
        for call in (lambda: Late(), lambda: Late(1), lambda: Late(b=1, c=2)):  # type: ignore[call-arg,misc]
            with pytest.raises(TypeError) as caught:
                call()
            errors.append(caught.type)
        assert errors == [TypeError] * 3
    assert made[0].items is not made[1].items  # a fresh default per instance, both ways
    assert Late.__init__.__qualname__.endswith("Late.__init__")
