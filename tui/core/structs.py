"""Records: the engine's data classes, at a fraction of what :mod:`dataclasses` costs a command line.

``@record`` (``frozen``, ``eq``, ``kw_only``), :func:`field` (``default``, ``default_factory``),
:func:`fields`, :func:`replace` and :func:`asdict` behave as their namesakes of :mod:`dataclasses` do for the
options the package uses; type checkers read ``@record`` as a dataclass (``dataclass_transform``).

Why not :mod:`dataclasses`: importing it loads :mod:`inspect` (with ``ast``, ``dis`` and ``tokenize``), and
each decorated class compiles four to six methods from source text, whether an instance is ever made or
not. The engine has some thirty such classes on the path of ``execdeck run``; measured with callgrind, they
cost that command more instructions than Python's own start and the run together. Here a class gets shared
generic methods for ``repr``, ``==``, ``hash`` and frozenness, and a generic ``__init__``; its own
``__init__`` is compiled from source (fast to call, as a dataclass's) only once a few instances were made.

Semantics kept from :mod:`dataclasses`: fields are the class's annotated attributes in order, after those of
record base classes (a redefined field keeps its place); positional fields come before keyword-only ones
in ``__init__``; a method the class body defines itself (``__init__``, ``__repr__``, ``__eq__``,
``__hash__``) is never replaced; ``eq`` without ``frozen`` makes instances unhashable, ``frozen`` with
``eq`` hashes the fields, ``eq=False`` keeps identity; assigning to or deleting an attribute of a frozen
instance raises :class:`FrozenInstanceError` (an ``AttributeError``); ``__post_init__`` is called when
present. Not supported (not used): ``order``, ``slots``, ``init=False`` fields, ``InitVar``, ``ClassVar``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, dataclass_transform, overload

T = TypeVar("T")
C = TypeVar("C", bound=type)


class _Missing:
    """The sentinel of "no default" (a class, so that its repr says so in a compiled signature)."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class FrozenInstanceError(AttributeError):
    """An attribute of a frozen record was assigned or deleted."""


class Field:
    """One field of a record: its name, its default or default factory, and whether it is keyword-only."""

    __slots__ = ("default", "default_factory", "kw_only", "name")

    def __init__(self, default: Any = MISSING, default_factory: Any = MISSING) -> None:
        self.name = ""
        self.default = default
        self.default_factory = default_factory
        self.kw_only = False

    def __repr__(self) -> str:
        return f"Field(name={self.name!r}, default={self.default!r}, default_factory={self.default_factory!r})"


@overload
def field(*, default: T) -> T: ...
@overload
def field(*, default_factory: Callable[[], T]) -> T: ...
def field(*, default: Any = MISSING, default_factory: Any = MISSING) -> Any:
    """A field's default given as ``default=`` or made per instance by ``default_factory()``."""
    if default is not MISSING and default_factory is not MISSING:
        raise ValueError("cannot specify both default and default_factory")
    return Field(default, default_factory)


_FIELDS = "__record_fields__"


@overload
def record(cls: C, /) -> C: ...
@overload
def record(*, frozen: bool = False, eq: bool = True, kw_only: bool = False) -> Callable[[C], C]: ...
@dataclass_transform(field_specifiers=(field, Field))
def record(cls: Any = None, /, *, frozen: bool = False, eq: bool = True, kw_only: bool = False) -> Any:
    """Make ``cls`` a record (see the module's docstring): as ``@record`` or ``@record(frozen=True, ...)``."""

    def wrap(target: C) -> C:
        return _process(target, frozen=frozen, eq=eq, kw_only=kw_only)

    return wrap if cls is None else wrap(cls)


def is_record(value: Any) -> bool:
    """Whether ``value`` is a record class or an instance of one."""
    return hasattr(value, _FIELDS)


def fields(value: Any) -> tuple[Field, ...]:
    """The fields of a record class or instance, in ``__init__``'s declaration order.

    Raises:
        TypeError: ``value`` is not a record.
    """
    try:
        found: tuple[Field, ...] = getattr(value, _FIELDS)
    except AttributeError:
        raise TypeError(f"{value!r} is not a record") from None
    return found


def replace(obj: T, /, **changes: Any) -> T:
    """A new record of ``obj``'s class with ``obj``'s field values, ``changes`` applied."""
    values = {f.name: getattr(obj, f.name) for f in fields(obj)}
    unknown = set(changes) - set(values)
    if unknown:
        raise TypeError(f"{type(obj).__qualname__} has no field {sorted(unknown)[0]!r}")
    values.update(changes)
    made: T = type(obj)(**values)
    return made


def asdict(obj: Any) -> dict[str, Any]:
    """The fields as a dict, records inside converted too (lists, tuples and dicts copied), as
    :func:`dataclasses.asdict` does."""
    return {f.name: _plain(getattr(obj, f.name)) for f in fields(obj)}


def _plain(value: Any) -> Any:
    if hasattr(type(value), _FIELDS):
        return asdict(value)
    if isinstance(value, tuple) and hasattr(value, "_fields"):  # a named tuple keeps its class
        return type(value)(*[_plain(v) for v in value])
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    if isinstance(value, dict):
        return type(value)((_plain(k), _plain(v)) for k, v in value.items())
    return value


# ---- the making of a record class ---------------------------------------------------------------------


def _process(cls: C, *, frozen: bool, eq: bool, kw_only: bool) -> C:
    own = cls.__dict__
    by_name: dict[str, Field] = {}
    for base in reversed(cls.__mro__[1:]):
        for inherited in base.__dict__.get(_FIELDS, ()):
            by_name[inherited.name] = inherited
    for name in own.get("__annotations__", {}):
        default = own.get(name, MISSING)
        made = default if isinstance(default, Field) else Field(default)
        made.name = name
        made.kw_only = kw_only
        if isinstance(default, Field):
            # As dataclasses: a plain default stays a class attribute, a factory's field has none.
            if made.default is MISSING:
                delattr(cls, name)
            else:
                setattr(cls, name, made.default)
        by_name[name] = made
    all_fields = tuple(by_name.values())
    setattr(cls, _FIELDS, all_fields)
    names = tuple(f.name for f in all_fields)

    if "__init__" not in own:
        _put(cls, "__init__", _lazy_init(cls, frozen))
    if "__repr__" not in own:
        _put(cls, "__repr__", _make_repr(names))
    if eq and "__eq__" not in own:
        _put(cls, "__eq__", _make_eq(names))
    # As dataclasses: eq and frozen hash the fields, eq alone makes instances unhashable, unless the class
    # body defines __hash__ itself (its own __eq__ setting __hash__ to None implicitly does not count).
    own_hash = own.get("__hash__", MISSING)
    explicit_hash = not (own_hash is MISSING or (own_hash is None and "__eq__" in own))
    if eq and not explicit_hash:
        _put(cls, "__hash__", _make_hash(names) if frozen else None)
    if frozen:
        _put(cls, "__setattr__", _make_frozen_setattr(cls, frozenset(names)))
        _put(cls, "__delattr__", _make_frozen_delattr(cls, frozenset(names)))
    return cls


def _put(cls: type, name: str, value: Any) -> None:
    # setattr with the name as a value: type checkers forbid assigning methods of a class, which is the point here.
    setattr(cls, name, value)


#: Instances made through the generic ``__init__`` before a class's own is compiled (see :func:`_lazy_init`).
COMPILE_AFTER = 8


def _lazy_init(cls: type, frozen: bool) -> Callable[..., None]:
    # The first instances go through a generic __init__ (no compiling: most classes make one or two instances
    # in a command line's life, and a compile cost more than a hundred generic calls); the class's own is
    # compiled once it is clearly in use, and installed on `cls` (not on type(self): a subclass that is no
    # record inherits this one). Threads racing here each compile one; either is right.
    generic = _generic_init(cls, frozen)
    made = 0

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        nonlocal made
        made += 1
        if made == COMPILE_AFTER:
            _put(cls, "__init__", _compile_init(cls, frozen))
        generic(self, *args, **kwargs)

    __init__.__qualname__ = f"{cls.__qualname__}.__init__"
    return __init__


def _generic_init(cls: type, frozen: bool) -> Callable[..., None]:
    """An ``__init__`` for any record class: what :func:`_compile_init` writes out, as a loop over the fields."""
    all_fields: tuple[Field, ...] = getattr(cls, _FIELDS)
    positional = tuple(f.name for f in all_fields if not f.kw_only)
    names = frozenset(f.name for f in all_fields)
    post_init = hasattr(cls, "__post_init__")
    assign: Callable[[Any, str, Any], None] = object.__setattr__ if frozen else setattr
    where = f"{cls.__qualname__}.__init__()"

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        if len(args) > len(positional):
            raise TypeError(f"{where} takes {len(positional) + 1} positional arguments but {len(args) + 1} were given")
        values = dict(zip(positional, args, strict=False))
        for name, value in kwargs.items():
            if name in values:
                raise TypeError(f"{where} got multiple values for argument {name!r}")
            if name not in names:
                raise TypeError(f"{where} got an unexpected keyword argument {name!r}")
            values[name] = value
        for f in all_fields:
            name = f.name
            if name in values:
                value = values[name]
            elif f.default_factory is not MISSING:
                value = f.default_factory()
            elif f.default is not MISSING:
                value = f.default
            else:
                raise TypeError(f"{where} missing 1 required argument: {name!r}")
            assign(self, name, value)
        if post_init:
            self.__post_init__()

    return __init__


def _compile_init(cls: type, frozen: bool) -> Callable[..., None]:
    all_fields: tuple[Field, ...] = getattr(cls, _FIELDS)
    scope: dict[str, Any] = {"MISSING": MISSING, "_set": object.__setattr__}
    positional: list[str] = []
    keyword: list[str] = []
    body: list[str] = []
    for index, f in enumerate(all_fields):
        name = f.name
        param = name
        if f.default_factory is not MISSING:
            scope[f"_factory{index}"] = f.default_factory
            param = f"{name}=MISSING"
            value = f"_factory{index}() if {name} is MISSING else {name}"
        else:
            if f.default is not MISSING:
                scope[f"_default{index}"] = f.default
                param = f"{name}=_default{index}"
            value = name
        (keyword if f.kw_only else positional).append(param)
        body.append(f"_set(self, {name!r}, {value})" if frozen else f"self.{name} = {value}")
    if hasattr(cls, "__post_init__"):
        body.append("self.__post_init__()")
    params = ["self", *positional]
    if keyword:
        params += ["*", *keyword]
    source = f"def __init__({', '.join(params)}):\n    " + "\n    ".join(body or ["pass"]) + "\n"
    exec(source, scope)
    init: Callable[..., None] = scope["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    return init


def _make_repr(names: tuple[str, ...]) -> Callable[[Any], str]:
    def __repr__(self: Any) -> str:
        inside = ", ".join(f"{name}={getattr(self, name)!r}" for name in names)
        return f"{type(self).__qualname__}({inside})"

    return __repr__


def _make_eq(names: tuple[str, ...]) -> Callable[[Any, object], Any]:
    def __eq__(self: Any, other: object) -> Any:
        if other.__class__ is not self.__class__:
            return NotImplemented
        # Tuples, as dataclasses compare: an identical value is equal to itself (a NaN too).
        return tuple(getattr(self, name) for name in names) == tuple(getattr(other, name) for name in names)

    return __eq__


def _make_hash(names: tuple[str, ...]) -> Callable[[Any], int]:
    def __hash__(self: Any) -> int:
        return hash(tuple(getattr(self, name) for name in names))

    return __hash__


# super() called with a class held in a variable (which type checkers do not follow).
_super: Any = super


def _make_frozen_setattr(cls: type, names: frozenset[str]) -> Callable[[Any, str, Any], None]:
    def __setattr__(self: Any, name: str, value: Any) -> None:
        if type(self) is cls or name in names:
            raise FrozenInstanceError(f"cannot assign to field {name!r}")
        _super(cls, self).__setattr__(name, value)

    return __setattr__


def _make_frozen_delattr(cls: type, names: frozenset[str]) -> Callable[[Any, str], None]:
    def __delattr__(self: Any, name: str) -> None:
        if type(self) is cls or name in names:
            raise FrozenInstanceError(f"cannot delete field {name!r}")
        _super(cls, self).__delattr__(name)

    return __delattr__
