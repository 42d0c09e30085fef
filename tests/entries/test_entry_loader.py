"""The entry-file loader, as specified in spec/executors.md section 1 (rows E25 and E26 of section 8).

Each failure mode has its own fixture file in ``fixtures/``; the file name says what is wrong in it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tui.core.entries import LoadResult, Location, Problem, find_entry_files, load_entries
from tui.core.entries import loader as loader_module
from tui.core.entries.parse import MAX_DEPTH
from tui.core.executors.docker import DockerSpec
from tui.core.executors.native import NativeSpec

FIXTURES = Path(__file__).parent / "fixtures"


def load(name: str) -> LoadResult:
    return load_entries([FIXTURES / name])


def only_problem(result: LoadResult) -> Problem:
    assert len(result.problems) == 1, [p.format() for p in result.problems]
    return result.problems[0]


# ---- a good file ----------------------------------------------------------------------------------


def test_a_good_file_loads_every_entry_without_problems() -> None:
    result = load("good.yaml")
    assert result.problems == ()
    assert [e.id for e in result.entries] == ["good:shell", "good:box"]
    assert result.files == (FIXTURES / "good.yaml",)


def test_a_native_entry_carries_its_fields_and_defaults() -> None:
    shell = load("good.yaml").get("good:shell")
    assert shell is not None
    assert shell.namespace == "good" and shell.name == "shell" and shell.kind == "exec.native"
    assert shell.spec == NativeSpec(
        default_work_dir="/srv/app",
        default_env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
        command_whitelist=("git status", "git diff"),
    )
    assert shell.whitelist == ("git status", "git diff")


def test_a_docker_entry_carries_every_field_of_section_1_2() -> None:
    box = load("good.yaml").get("good:box")
    assert box is not None and isinstance(box.spec, DockerSpec)
    spec = box.spec
    assert spec.image == "busybox:latest"
    assert spec.host == "unix:///var/run/docker.sock"
    assert spec.default_work_dir == "/work"
    assert dict(spec.default_env) == {"A": "1"}
    assert spec.command_whitelist == ("id",)
    assert spec.network_mode == "none"
    assert spec.volumes == ("/srv/data:/data:ro", "/srv/cache:/cache")
    assert spec.user == "1000:1000"
    assert (spec.memory_limit, spec.cpu_quota, spec.pids_limit) == (67108864, 50000, 64)
    assert spec.auto_remove and spec.read_only_rootfs and spec.no_new_privileges
    assert spec.cap_drop == ("ALL",) and spec.cap_add == ("NET_BIND_SERVICE",)
    assert dict(spec.tmpfs) == {"/tmp": "rw,size=16m"}
    assert spec.init is False


def test_docker_init_defaults_to_true() -> None:
    box = load("volume_bad_mode.yaml").get("app:box")
    assert box is not None and isinstance(box.spec, DockerSpec)
    assert box.spec.init is True


def test_an_entry_knows_its_line_and_its_own_yaml_text() -> None:
    box = load("good.yaml").get("good:box")
    assert box is not None
    assert box.location.path == FIXTURES / "good.yaml"
    assert box.location.line == 12
    lines = box.source.splitlines()
    assert lines[0] == "name: box"
    assert lines[1] == "kind: exec.docker"
    assert lines[-1] == "init: false"
    assert "shell" not in box.source


def test_loaded_entries_are_frozen() -> None:
    shell = load("good.yaml").get("good:shell")
    assert shell is not None and shell.spec is not None
    with pytest.raises(TypeError):
        shell.spec.default_env["PATH"] = "/tmp"  # type: ignore[index]
    with pytest.raises(TypeError):
        shell.meta["team"] = "x"  # type: ignore[index]


# ---- section 1 rules ------------------------------------------------------------------------------


def test_file_meta_is_merged_into_each_entry_and_the_entry_keys_win() -> None:
    result = load("meta_merge.yaml")
    shell, plain = result.get("app:shell"), result.get("app:plain")
    assert shell is not None and plain is not None
    assert dict(shell.meta) == {"team": "ops", "comment": "from the entry"}
    assert dict(plain.meta) == {"team": "ops", "comment": "from the file"}


def test_fields_under_data_win_over_fields_beside_name_and_kind() -> None:
    result = load("data_precedence.yaml")
    assert result.problems == ()
    shell = result.get("app:shell")
    assert shell is not None and isinstance(shell.spec, NativeSpec)
    assert shell.spec.default_work_dir == "/under-data"
    assert shell.spec.command_whitelist == ("beside",)


def test_kinds_other_than_executors_are_kept_as_not_an_executor() -> None:
    result = load("non_executor.yaml")
    settings = result.get("app:settings")
    assert settings is not None
    assert settings.spec is None and not settings.is_executor
    assert settings.kind == "registry.config"
    assert result.executors == ()
    assert not [p for p in result.problems if p.entry_id == "app:settings"]


def test_a_kind_close_to_an_executor_kind_gets_a_did_you_mean_warning() -> None:
    result = load("non_executor.yaml")
    problem = only_problem(result)
    assert problem.severity == "warning"
    assert (problem.entry_id, problem.field, problem.location.line) == ("app:typo", "kind", 7)
    assert problem.hint == "did you mean 'exec.native'?"


def test_merge_keys_are_applied_to_entries() -> None:
    result = load("merge_keys.yaml")
    assert result.errors == ()
    one, two = result.get("merged:one"), result.get("merged:two")
    assert one is not None and two is not None
    assert one.kind == two.kind == "exec.native"
    assert isinstance(one.spec, NativeSpec) and dict(one.spec.default_env) == {"LANG": "C.UTF-8"}
    assert one.whitelist == ("id",) and two.whitelist == ()


def test_a_key_written_twice_is_a_warning_and_the_last_one_is_used() -> None:
    result = load("duplicate_key.yaml")
    problem = only_problem(result)
    assert (problem.severity, problem.field, problem.location.line) == ("warning", "default_work_dir", 6)
    shell = result.get("app:shell")
    assert shell is not None and isinstance(shell.spec, NativeSpec)
    assert shell.spec.default_work_dir == "/second"


# ---- every problem names file, line, entry id and field --------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "line", "entry_id", "field", "words"),
    [
        ("env_not_string.yaml", 7, "app:web", "default_env", "PORT must be a string"),
        ("volume_one_part.yaml", 6, "app:box", "volumes", '"/data" must have two parts'),
        ("docker_no_image.yaml", 3, "app:nothing", "image", "is required"),
        ("env_key_not_string.yaml", 5, "app:shell", "default_env", "keys must be strings"),
        ("tmpfs_wrong.yaml", 6, "app:box", "tmpfs", "/tmp must be a string"),
        ("yaml_tag.yaml", 5, "app:shell", "default_work_dir", "must be a string"),
        ("entries_not_list.yaml", 3, "", "entries", "must be a list"),
        ("bad_namespace.yaml", 1, "", "namespace", "must not contain ':'"),
    ],
)
def test_a_problem_names_the_file_line_entry_and_field(
    fixture: str, line: int, entry_id: str, field: str, words: str
) -> None:
    result = load(fixture)
    problem = result.errors[0]
    assert problem.location.path == FIXTURES / fixture
    assert (problem.location.line, problem.entry_id, problem.field) == (line, entry_id, field)
    assert words in problem.message
    assert problem.format().startswith(f"{FIXTURES / fixture}:{line}: ")


def test_e26_an_unquoted_number_in_default_env_fails_the_entry_and_says_quote_it() -> None:
    result = load("env_not_string.yaml")
    assert result.entries == ()
    problem = only_problem(result)
    assert problem.severity == "error"
    assert "must be a string" in problem.message and "PORT" in problem.message
    assert problem.hint == 'quote it: "8080"'


def test_e25_a_volume_with_one_part_is_a_problem_naming_the_entry_and_the_field() -> None:
    result = load("volume_one_part.yaml")
    assert result.entries == ()
    problem = only_problem(result)
    assert (problem.entry_id, problem.field, problem.severity) == ("app:box", "volumes", "error")
    assert "app:box.volumes" in problem.format()


def test_a_volume_whose_third_part_is_not_exactly_ro_loads_with_a_warning() -> None:
    result = load("volume_bad_mode.yaml")
    assert result.get("app:box") is not None
    problem = only_problem(result)
    assert problem.severity == "warning" and "read-write" in problem.message


def test_an_unknown_field_is_a_warning_with_a_did_you_mean_hint_and_the_entry_still_loads() -> None:
    result = load("unknown_field.yaml")
    assert result.get("typo:box") is not None and result.get("typo:shell") is not None
    typo = result.problems[0]
    assert (typo.severity, typo.entry_id, typo.field, typo.location.line) == (
        "warning",
        "typo:box",
        "memory_limt",
        6,
    )
    assert typo.hint == "did you mean 'memory_limit'?"


def test_a_docker_field_on_a_native_entry_says_which_kind_it_belongs_to() -> None:
    problem = load("unknown_field.yaml").problems[1]
    assert (problem.severity, problem.entry_id, problem.field) == ("warning", "typo:shell", "image")
    assert problem.hint == "'image' is a field of exec.docker only"


def test_integer_fields_must_be_integers_not_strings_or_booleans() -> None:
    result = load("int_fields_wrong.yaml")
    assert result.entries == ()
    by_field = {p.field: p for p in result.problems}
    assert set(by_field) == {"memory_limit", "cpu_quota", "pids_limit"}
    assert by_field["memory_limit"].hint == "write the size in bytes: 67108864"
    assert "not a boolean" in by_field["cpu_quota"].message
    assert by_field["pids_limit"].hint == "remove the quotes"


def test_boolean_fields_must_be_booleans() -> None:
    result = load("bool_fields_wrong.yaml")
    assert result.entries == ()
    assert [p.field for p in result.problems] == ["auto_remove", "read_only_rootfs", "init"]
    assert all("true or false" in p.message for p in result.problems)


def test_list_fields_must_be_lists_of_strings() -> None:
    result = load("list_fields_wrong.yaml")
    assert result.entries == ()
    whitelist, cap_drop = result.problems
    assert (whitelist.entry_id, whitelist.field) == ("app:shell", "command_whitelist")
    assert whitelist.hint == 'write a list: ["ls -la"]'
    assert (cap_drop.entry_id, cap_drop.field, cap_drop.hint) == ("app:box", "cap_drop", 'quote it: "7"')


def test_docker_image_is_required_and_not_blank() -> None:
    result = load("docker_no_image.yaml")
    assert result.entries == ()
    assert [(p.entry_id, p.field) for p in result.problems] == [
        ("app:nothing", "image"),
        ("app:blank", "image"),
    ]


def test_every_entry_needs_a_non_empty_name_and_kind() -> None:
    result = load("missing_name_kind.yaml")
    assert result.entries == ()
    assert [(p.entry_id, p.field, p.location.line) for p in result.problems] == [
        ("entries[0]", "name", 3),
        ("app:nokind", "kind", 4),
        ("entries[2]", "name", 5),
    ]


def test_an_entry_that_is_not_a_mapping_fails_alone() -> None:
    result = load("entry_not_mapping.yaml")
    assert [e.id for e in result.entries] == ["app:fine"]
    problem = only_problem(result)
    assert (problem.entry_id, problem.location.line) == ("entries[0]", 3)


def test_a_file_without_namespace_is_a_problem_and_its_entries_are_still_checked() -> None:
    result = load("no_namespace.yaml")
    assert result.entries == ()
    missing, env = result.problems
    assert (missing.field, missing.severity) == ("namespace", "error")
    assert "no namespace" in missing.message
    assert (env.entry_id, env.field) == ("?:shell", "default_env")


# ---- hostile and faulty files ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "line", "words"),
    [
        ("malformed.yaml", 5, "invalid YAML"),
        ("two_documents.yaml", 3, "single document"),
        ("not_mapping.yaml", 1, "must be a mapping"),
        ("empty.yaml", 1, "empty"),
        ("only_comments.yaml", 1, "empty"),
        ("not_utf8.yaml", 1, "not a UTF-8 text file"),
        ("binary.yaml", 3, "not a YAML text"),
        ("alias_bomb.yaml", 1, "alias bomb"),
        ("recursive_alias.yaml", 5, "recursive alias"),
    ],
)
def test_a_broken_file_is_one_clear_problem_never_an_exception(fixture: str, line: int, words: str) -> None:
    result = load(fixture)
    assert result.entries == ()
    problem = only_problem(result)
    assert problem.severity == "error"
    assert problem.location == Location(FIXTURES / fixture, line)
    assert words in problem.message


def test_a_file_over_the_size_limit_is_refused_unread(tmp_path: Path) -> None:
    huge = tmp_path / "huge.yaml"
    huge.write_bytes(b"namespace: big\n" + b"#" * loader_module.MAX_FILE_BYTES)
    problem = only_problem(load_entries([huge]))
    assert "too big" in problem.message and problem.location.path == huge


def test_a_file_over_the_old_one_mib_cap_loads(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    padding = "# " + "x" * 78 + "\n"
    big.write_text((FIXTURES / "good.yaml").read_text() + padding * (2 * 1024 * 1024 // len(padding)))
    result = load_entries([big])
    assert result.problems == () and [e.id for e in result.entries] == ["good:shell", "good:box"]


def test_yaml_nested_too_deeply_is_a_problem(tmp_path: Path) -> None:
    deep = tmp_path / "deep.yaml"
    deep.write_text("namespace: deep\nentries: " + "[" * 50_000 + "]" * 50_000 + "\n")
    problem = only_problem(load_entries([deep]))
    assert "nested too deeply" in problem.message
    assert problem.location == Location(deep, 2)


@pytest.mark.parametrize(
    ("shape", "levels"),
    [
        # One line of block sequences, each inside the one before: what crashed the C loader, and just over the bound.
        ("block sequences on one line", 50_000),
        ("block sequences on one line", MAX_DEPTH + 1),
        ("indented mappings", MAX_DEPTH + 1),
        ("flow mappings", MAX_DEPTH + 1),
    ],
)
def test_a_document_nested_deeper_than_the_bound_is_one_clear_problem(tmp_path: Path, shape: str,
                                                                       levels: int) -> None:
    deep = tmp_path / "deep.yaml"
    margin = " " * 8  # under `m:`
    if shape == "block sequences on one line":
        body = margin + "- " * levels + "x"
    elif shape == "indented mappings":
        body = "".join(f"{margin}{'  ' * i}k{i}:\n" for i in range(levels)) + margin + "  " * levels + "x"
    else:
        body = margin + "{a: " * levels + "x" + "}" * levels
    # The file's mapping is level 1, so the body's levels start at 2: the bound is passed inside it.
    deep.write_text(f"namespace: deep\nentries:\n  - name: x\n    kind: note\n    meta:\n      m:\n{body}\n")
    problem = only_problem(load_entries([deep]))
    assert problem.severity == "error" and "nested too deeply" in problem.message
    assert problem.location.path == deep and problem.location.line >= 7


def test_a_document_nested_as_deep_as_the_bound_loads(tmp_path: Path) -> None:
    # file mapping, entries, the entry, meta, m: four levels, then the rest of the bound in flow lists.
    inner = MAX_DEPTH - 4
    deep = tmp_path / "deep.yaml"
    deep.write_text("namespace: deep\nentries:\n  - name: x\n    kind: note\n    meta:\n"
                    f"      m: {'[' * inner}1{']' * inner}\n")
    result = load_entries([deep])
    assert result.problems == ()
    entry = result.get("deep:x")
    assert entry is not None
    value = entry.meta["m"]
    for _ in range(inner - 1):
        value = value[0]
    assert value == [1]


def test_many_shallow_flow_collections_load_and_keep_their_lines(tmp_path: Path) -> None:
    # More brackets than the depth bound, none deeper than two: the exact count must let them through.
    many = tmp_path / "many.yaml"
    lines = ["namespace: many", "entries:"]
    for i in range(MAX_DEPTH):
        lines.append(f"  - {{name: n{i}, kind: exec.native, command_whitelist: [echo {i}], default_env: {{A: b}}}}")
    many.write_text("\n".join(lines) + "\n")
    result = load_entries([many])
    assert result.problems == ()
    assert len(result.entries) == MAX_DEPTH
    last, count = result.entries[-1], MAX_DEPTH
    assert last.location.line == 2 + count and last.whitelist == (f"echo {count - 1}",)


def test_a_character_yaml_refuses_is_reported_on_its_line_after_other_scripts(tmp_path: Path) -> None:
    # The C reader counts UTF-8 bytes: the line must still be the right one after multi-byte characters.
    odd = tmp_path / "odd.yaml"
    odd.write_text("namespace: été\nmeta: {note: 日本語}\nentries:\n  - name: \x07\n")
    problem = only_problem(load_entries([odd]))
    assert problem.location == Location(odd, 4)
    assert "U+0007" in problem.message


def test_a_good_file_still_loads_beside_broken_ones() -> None:
    result = load("mixed")
    assert [e.id for e in result.entries] == ["good:shell", "partly:fine"]
    assert [(p.location.path.name, p.location.line) for p in result.problems] == [
        ("2_broken.yaml", 2),
        ("3_partly.yaml", 6),
    ]
    assert result.problems[1].entry_id == "partly:bad"


def test_problems_of_every_file_are_reported_at_once() -> None:
    result = load_entries([FIXTURES / "env_not_string.yaml", FIXTURES / "volume_one_part.yaml"])
    assert [p.location.path.name for p in result.problems] == ["env_not_string.yaml", "volume_one_part.yaml"]


def test_a_duplicate_id_is_an_error_naming_both_files_and_lines() -> None:
    result = load("duplicates")
    assert [e.id for e in result.entries] == ["app:shell", "app:other"]
    first = result.get("app:shell")
    assert first is not None and first.kind == "exec.native"
    problem = only_problem(result)
    assert (problem.entry_id, problem.severity) == ("app:shell", "error")
    assert problem.location == Location(FIXTURES / "duplicates" / "b.yaml", 6)
    assert f"{FIXTURES / 'duplicates' / 'a.yaml'}:3" in problem.message
    assert f"{FIXTURES / 'duplicates' / 'b.yaml'}:6" in problem.message


def test_a_file_named_twice_is_loaded_once_and_not_reported_as_duplicates() -> None:
    result = load_entries([FIXTURES / "good.yaml", FIXTURES / "good.yaml"])
    assert result.problems == () and len(result.entries) == 2


# ---- finding files --------------------------------------------------------------------------------


def test_find_entry_files_searches_folders_recursively_in_a_stable_order(tmp_path: Path) -> None:
    for name in ["b.yml", "a.yaml", "notes.txt", "sub/c.yaml", ".hidden/d.yaml", "sub/.e.yaml"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("namespace: x\n")
    files, problems = find_entry_files([tmp_path])
    assert problems == []
    assert files == [tmp_path / "a.yaml", tmp_path / "b.yml", tmp_path / "sub" / "c.yaml"]


def test_a_named_file_is_read_whatever_its_suffix(tmp_path: Path) -> None:
    named = tmp_path / "entries.txt"
    named.write_text("namespace: x\n")
    assert find_entry_files([named]) == ([named], [])


def test_a_missing_path_is_a_problem_and_the_other_paths_still_count(tmp_path: Path) -> None:
    files, problems = find_entry_files([tmp_path / "nope", FIXTURES / "good.yaml"])
    assert files == [FIXTURES / "good.yaml"]
    assert [(p.location.path, p.message, p.severity) for p in problems] == [
        (tmp_path / "nope", "no such file or folder", "error")
    ]


def test_a_folder_without_entry_files_is_a_warning(tmp_path: Path) -> None:
    files, problems = find_entry_files([tmp_path])
    assert files == []
    assert [p.severity for p in problems] == ["warning"]


def test_a_symlink_loop_between_folders_is_walked_once(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("namespace: x\n")
    (tmp_path / "loop").symlink_to(tmp_path)
    files, problems = find_entry_files([tmp_path])
    assert files == [tmp_path / "a.yaml"] and problems == []


@pytest.mark.parametrize("fixture", sorted(p.name for p in FIXTURES.glob("*.yaml")), ids=str)
def test_every_problem_of_every_fixture_names_a_file_and_a_line(fixture: str) -> None:
    for problem in load(fixture).problems:
        assert problem.location.path == FIXTURES / fixture
        assert problem.location.line >= 1, problem.format()
        assert problem.severity in ("error", "warning")


# ---- a docker entry's build recipe ------------------------------------------------------------------


def test_a_build_recipe_loads_with_its_files_made_absolute_from_the_entry_files_folder() -> None:
    box = load("build_recipe.yaml").get("app:box")
    assert box is not None and isinstance(box.spec, DockerSpec) and box.spec.build is not None
    recipe = box.spec.build
    assert recipe.dockerfile == "FROM scratch\nCOPY busybox /bin/busybox\n"
    assert dict(recipe.files) == {"bin/tool": str(FIXTURES / "tools" / "tool"), "busybox": "/bin/busybox"}
    assert recipe.needs == "install busybox-static"
    assert recipe.missing() == f"{FIXTURES / 'tools' / 'tool'} is missing: install busybox-static"
    assert str(recipe) == f"Dockerfile, bin/tool ← {FIXTURES / 'tools' / 'tool'}, busybox ← /bin/busybox"


def test_a_bad_build_recipe_is_a_problem_of_its_entry_and_a_misspelt_key_a_warning() -> None:
    result = load("build_recipe_wrong.yaml")
    assert [p.format().removeprefix(f"{FIXTURES / 'build_recipe_wrong.yaml'}:") for p in result.problems] == [
        "7: app:no_dockerfile.build: needs a dockerfile: the Dockerfile's text "
        '(e.g. dockerfile: "FROM scratch\\nCOPY app /app")',
        '13: app:outside.build: "../busybox" must be a name inside the build context '
        "(a relative path without '..', e.g. busybox)",
        "17: app:not_a_map.build: must be a mapping (dockerfile, files, needs), not a string",
        "23: app:misspelt.build: unknown key 'need' in build (ignored) (did you mean 'needs'?)",
    ]
    assert [e.id for e in result.executors] == ["app:misspelt"]
