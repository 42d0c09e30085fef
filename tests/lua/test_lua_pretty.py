"""Pretty-printing of REPL results: sorted keys, compact arrays, limits, cycles, quoted strings."""

from __future__ import annotations

import pytest

from tui.lua.pretty import PrettyOptions, format_number, quote
from tui.lua.repl import ReplEngine


def show(text: str, options: PrettyOptions | None = None) -> str:
    values = ReplEngine(pretty_options=options).evaluate(text).values
    assert len(values) == 1, values
    return values[0]


def test_an_array_is_compact() -> None:
    assert show("{1, 2, 3}") == "{1, 2, 3}"


def test_an_empty_table_is_two_braces() -> None:
    assert show("{}") == "{}"


def test_keys_are_sorted_numbers_first_then_strings_then_the_rest() -> None:
    assert show("{b = 1, a = 2, [3] = 'x', [1.5] = 0, [true] = 1}") == (
        '{[1.5] = 0, [3] = "x", a = 2, b = 1, [true] = 1}'
    )


def test_a_mixed_table_lists_its_array_part_first() -> None:
    assert show("{10, 20, n = 2, [5] = 'five'}") == '{10, 20, [5] = "five", n = 2}'


def test_keys_that_are_not_identifiers_are_bracketed_and_quoted() -> None:
    assert show("{['a b'] = 1, ['end'] = 2, ok = 3}") == '{["a b"] = 1, ["end"] = 2, ok = 3}'


def test_nested_tables_are_indented_when_they_do_not_fit_on_a_line() -> None:
    text = "{name = 'server-one', config = {host = 'localhost', port = 8080, tags = {'a', 'b'}}, on = true}"
    assert show(text) == (
        "{\n"
        '  config = {host = "localhost", port = 8080, tags = {"a", "b"}},\n'
        '  name = "server-one",\n'
        "  on = true,\n"
        "}"
    )


def test_depth_beyond_the_limit_is_elided() -> None:
    assert show("{a = {b = {c = {d = {e = 1}}}}}") == "{a = {b = {c = {d = {...}}}}}"
    assert show("{a = {b = {c = 1}}}", PrettyOptions(max_depth=2)) == "{a = {b = {...}}}"


def test_items_beyond_the_limit_are_counted() -> None:
    rendered = show("(function() local t = {} for i = 1, 500 do t[i] = i end return t end)()")
    assert rendered.startswith("{1, 2, 3,")
    assert rendered.endswith("50, ... (450 more)}")


def test_a_cycle_is_marked() -> None:
    assert show("(function() local t = {name = 'me'} t.self = t return t end)()") == (
        '{name = "me", self = <cycle>}'
    )


def test_a_table_seen_twice_without_a_cycle_is_printed_twice() -> None:
    assert show("(function() local s = {1} return {a = s, b = s} end)()") == "{a = {1}, b = {1}}"


def test_functions_threads_and_numbers_look_as_in_lua() -> None:
    assert show("{print, coroutine.create(print), 1.0, 0.1, 1/0, -1/0, 2^63, 7 // 2}") == (
        "{<function>, <thread>, 1.0, 0.1, inf, -inf, 9.2233720368548e+18, 3}"
    )


def test_a_table_with_a_metatable_is_shown_raw_without_running_metamethods() -> None:
    text = "setmetatable({x = 1}, {__index = function() while true do end end, __pairs = error})"
    assert show(text) == "{x = 1}"


@pytest.mark.parametrize(
    ("raw", "literal"),
    [
        (b"plain", '"plain"'),
        (b'say "hi"\\', r'"say \"hi\"\\"'),
        (b"tab\there\nnew\r", r'"tab\there\nnew\r"'),
        (b"\x00\x01\x7f", r'"\0\1\127"'),
        (b"\x001", r'"\0001"'),
        (b"caf\xc3\xa9", '"café"'),
        (b"bad \xff\xfe", r'"bad \255\254"'),
    ],
)
def test_a_string_is_quoted_with_lua_escapes(raw: bytes, literal: str) -> None:
    assert quote(raw) == literal


def test_a_quoted_string_round_trips_through_lua() -> None:
    engine = ReplEngine()
    original = b"mix \x00\x01 \"q\" \\ \n\t \xff caf\xc3\xa9 9"
    literal = quote(original)
    assert engine.sandbox.run_chunk("return " + literal) == (original,)


def test_a_very_long_string_is_cut_with_a_count() -> None:
    assert quote(b"x" * 30, max_length=10) == '"xxxxxxxxxx"... (20 more bytes)'


def test_string_results_are_quoted() -> None:
    assert show("'a\\nb'") == '"a\\nb"'


def test_numbers_are_formatted_like_lua_tostring() -> None:
    assert [format_number(v) for v in (3, -0.5, 1e100, 100.0, float("nan"))] == [
        "3", "-0.5", "1e+100", "100.0", "nan"
    ]
