"""`manage.py bank import/export`: native TOML and Moodle GIFT, both ways, all or nothing."""

from pathlib import Path

import pytest
from conftest import TEST_BANK, make_app
from peewee import IntegrityError

from quiz import bank
from quiz.bank import BankFileError, Spec, gift, native, transfer
from quiz.db import close_all, database
from quiz.models import Choice, Question, Quiz
from quiz.quizzes import active_rows

EXT = {"native": "toml", "gift": "gift"}


def cli(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def export(app, fmt: str) -> str:
    result = cli(app, "bank", "export", "--format", fmt)
    assert result.exit_code == 0, result.output
    return result.stdout


def import_text(app, tmp_path: Path, text: str, name: str):
    path = tmp_path / name
    path.write_text(text, "utf-8")
    return cli(app, "bank", "import", str(path))


def snapshot() -> tuple[list, list]:
    """Every current question (fields, choices, active flag) and every quiz."""
    specs = [(s, s.active) for s in transfer.current_specs()]
    return specs, transfer.quiz_tables()


@pytest.fixture
def fresh(tmp_path):
    """make(name, bank): an app on its own new database, seeded from `bank` (None: empty)."""
    empty = tmp_path / "empty-bank"
    empty.mkdir()

    def make(name: str, source: Path | None):
        close_all()
        return make_app(tmp_path / name, BANK=source or empty)

    yield make
    close_all()


@pytest.mark.parametrize("source", [TEST_BANK, bank.BANK_DIR], ids=["test-bank", "shipped"])
@pytest.mark.parametrize("fmt", ["native", "gift"])
def test_round_trip_through_an_empty_database(fresh, tmp_path, source, fmt):
    first = fresh("seeded", source)
    written = export(first, fmt)
    specs, quizzes = snapshot()
    assert len(specs) == Question.select().count() >= 6

    second = fresh("empty", None)
    assert Question.select().count() == 0
    result = import_text(second, tmp_path, written, f"bank.{EXT[fmt]}")
    assert result.exit_code == 0, result.output
    assert f"{len(specs)} created, 0 new versions, 0 unchanged" in result.output
    assert ("Importing questions" in result.output) == (len(specs) > transfer.PROGRESS_FROM)
    assert export(second, fmt) == written  # identical text
    after_specs, after_quizzes = snapshot()
    assert after_specs == specs  # every field, choice (text, correct, order) and flag
    assert after_quizzes == (quizzes if fmt == "native" else [])  # GIFT holds no quizzes


@pytest.mark.parametrize("fmt", ["native", "gift"])
def test_reimport_is_a_no_op_and_a_change_is_version_2(app, tmp_path, fmt):
    written = export(app, fmt)
    before = snapshot()
    ids = [q.id for q in Question.select().order_by(Question.id)]
    result = import_text(app, tmp_path, written, f"same.{EXT[fmt]}")
    assert result.exit_code == 0, result.output
    assert "0 created, 0 new versions, 6 unchanged" in result.output
    assert snapshot() == before
    assert [q.id for q in Question.select().order_by(Question.id)] == ids

    old = Question.get(Question.slug == "t-ordering")
    old_choices = [(c.id, c.text) for c in old.choices.order_by(Choice.position)]
    changed = written.replace("Order the request hooks.", "Order the request hooks, first first.")
    result = import_text(app, tmp_path, changed, f"changed.{EXT[fmt]}")
    assert "0 created, 1 new version, 5 unchanged" in result.output, result.output
    v1, v2 = Question.select().where(Question.slug == "t-ordering").order_by(Question.version)
    assert (v1.id, v1.version, v1.current) == (old.id, 1, False)
    assert (v2.version, v2.current, v2.prompt) == (2, True, "Order the request hooks, first first.")
    assert [(c.id, c.text) for c in v1.choices.order_by(Choice.position)] == old_choices
    assert [c.text for c in v2.choices.order_by(Choice.position)] == [t for _, t in old_choices]
    assert v2.id in [r.id for r in active_rows()] and v1.id not in [r.id for r in active_rows()]
    again = import_text(app, tmp_path, changed, f"changed.{EXT[fmt]}")
    assert "0 created, 0 new versions, 6 unchanged" in again.output


def test_the_active_flag_travels_without_a_new_version(app, tmp_path):
    Question.update(active=False).where(Question.slug == "t-text").execute()
    written = export(app, "native")
    assert written.count("active = false") == 1
    Question.update(active=True).where(Question.slug == "t-text").execute()
    result = import_text(app, tmp_path, written, "flags.toml")
    assert "6 unchanged (1 switched on or off)" in result.output
    q = Question.get(Question.slug == "t-text")
    assert (q.version, q.active) == (1, False)
    assert "t-text" not in {r.slug for r in active_rows()}


def test_export_writes_a_file_with_the_quizzes(app, tmp_path):
    out = tmp_path / "out.toml"
    result = cli(app, "bank", "export", "--format", "native", "--output", str(out))
    assert result.exit_code == 0 and result.stdout == ""
    text = out.read_text()
    assert text.count("[[topics]]") == 1 and text.count("[[topics.questions]]") == 6
    assert text.count("[[quizzes]]") == Quiz.select().count() == 4


SINGLE = """[[questions]]
slug = "t-new"
level = "junior"
kind = "single"
prompt = "A new and valid question."
choices = [{ text = "a", correct = true }, { text = "b" }]
"""
NATIVE_BAD = {
    "syntax": ('topic = "basics"\n' + SINGLE.replace('valid question."', "unclosed"), 6, "TOML"),
    "kind": (
        'topic = "basics"\n' + SINGLE + SINGLE.replace("t-new", "t-x").replace("single", "essay"),
        8,
        "unknown kind 'essay'",
    ),
    "duplicate": ('topic = "basics"\n' + SINGLE + "\n" + SINGLE, 9, "duplicate slug 't-new'"),
}
GIFT_NEW = """// quiz: slug = "t-new"
// quiz: topic = "basics"
// quiz: level = "junior"
::t-new::A new and valid question.{=a ~b}
"""
GIFT_BAD = {
    "syntax": (GIFT_NEW + '\n// quiz: level = "mid"\n::t-y::An { unclosed brace\n', 7, "braces"),
    "kind": (GIFT_NEW + '\n// quiz: kind = "essay"\n::t-z::Q{=a ~b}\n', 6, "unknown kind"),
    "duplicate": (GIFT_NEW + "\n" + GIFT_NEW, 9, "duplicate slug 't-new'"),
}


@pytest.mark.parametrize(
    "fmt, case",
    [("native", c) for c in NATIVE_BAD] + [("gift", c) for c in GIFT_BAD],
)
def test_a_bad_file_names_the_line_and_imports_nothing(app, tmp_path, fmt, case):
    text, line, message = (NATIVE_BAD if fmt == "native" else GIFT_BAD)[case]
    before = snapshot()
    result = import_text(app, tmp_path, text, f"bad.{EXT[fmt]}")
    assert result.exit_code == 1
    assert f"bad.{EXT[fmt]}:{line}: " in result.output and message in result.output, result.output
    assert "Nothing was imported" in result.output
    assert snapshot() == before and Question.get_or_none(Question.slug == "t-new") is None


def test_the_valid_half_of_those_files_does_import(app, tmp_path):
    assert "1 created" in import_text(app, tmp_path, 'topic = "b"\n' + SINGLE, "ok.toml").output
    changed = GIFT_NEW.replace("valid question", "valid question, changed")
    assert "1 new version," in import_text(app, tmp_path, changed, "ok.gift").output


def spec(kind: str, choices, **extra) -> Spec:
    values = dict(slug=f"x-{kind.replace('_', '-')}", topic="x", level="mid", kind=kind)
    values.update(prompt="Say *why*: `a == b`?", explanation="Because.", points=2)
    values.update(reference="https://flask.palletsprojects.com/en/stable/", active=True)
    return Spec(choices=tuple(choices), **(values | extra))


NASTY = "~ = # { } : \\ \\n \\{ // -> ## [x] %50% ` ```\n\n  indented\n// not a comment"
TRICKY = [
    spec("single", [("a", True), ("b", False)], prompt="See:\n\n```python\nx = 1\n```", code="y"),
    spec("single", [(NASTY.replace("\n", " "), True), ("[markdown] no", False), ("%5% x", False)]),
    spec("multiple", [("a", True), ("b", False), ("c", True), ("d", True)], prompt=NASTY),
    spec("true_false", [("True", False), ("False", True)], explanation=NASTY),
    spec("text", [("SECRET_KEY", True), ("a=b", True), ("%1% x", True), ("a -> b", True)]),
    spec("ordering", [("a -> b", False), ("-\\> c", False), ("x\\->", False), ("[y]", False)]),
    spec(
        "code_output",
        [("{'a': 1}\n  b", True), ("  lead", False), ("x", False)],
        code='x = "```"\nprint({"a": 1})\n\n    # ``` `` `\n',
    ),
]


@pytest.mark.parametrize("item", TRICKY, ids=[s.kind for s in TRICKY])
def test_gift_and_native_keep_every_character(item):
    item = item.normalised()
    written = gift.dump([item])
    (back,) = gift.parse(written)
    assert (back, back.active) == (item, True)
    (again,) = native.parse(native.dump([item], [], str.title)).specs
    assert (again, again.active) == (item, True)
    assert transfer.check([back]) == []


def test_gift_mapping_follows_moodle():
    text = gift.dump(TRICKY[2:])
    assert "\t~%33.33333%a\n\t~%-33.33333%b\n" in text  # right 100/k %, wrong -100/k %
    assert "{\n\tF\n" in text  # true/false
    assert "\t=SECRET_KEY\n\t=a\\=b\n" in text  # short answer, = escaped
    assert "\t=a -\\> b -> 1\n" in text  # ordering as matching to positions
    assert '// quiz: kind = "ordering"' in text and "// quiz: code = true" in text
    assert "\t=[plain]\\{'a'\\: 1\\}\\n  b\n" in text  # code output: plain text, escaped
    for block in text.split("\n\n")[1:]:  # Moodle trims lines and splits on blank lines
        lines = block.splitlines()
        assert all(line.startswith("// quiz:") for line in lines if line.startswith("//"))


def test_a_moodle_file_imports_with_a_level():
    moodle = """// Written in Moodle.
$CATEGORY: $course$/top/Grant Tomb

::Grant's tomb::Who's buried in Grant's tomb?{~Grant ~Jefferson =no one#Right.}

::Born::Grant was born in 1822.{TRUE}

::Short::Who's buried here?{=no one =%100%nobody}
"""
    with pytest.raises(BankFileError) as error:
        gift.parse(moodle, "moodle.txt")
    assert 'moodle.txt:4: question "Grant\'s tomb" lacks level' in str(error.value)
    with_levels = moodle.replace("::", '// quiz: level = "junior"\n::', 1)
    with_levels = with_levels.replace("\n::Born", '\n// quiz: level = "mid"\n::Born')
    with_levels = with_levels.replace("\n::Short", '\n// quiz: level = "mid"\n::Short')
    tomb, born, short = gift.parse(with_levels)
    assert (tomb.slug, tomb.topic, tomb.kind) == ("grant-s-tomb", "grant-tomb", "single")
    assert tomb.choices == (("Grant", False), ("Jefferson", False), ("no one", True))
    assert (born.kind, born.choices) == ("true_false", (("True", True), ("False", False)))
    assert (short.kind, short.choices) == ("text", (("no one", True), ("nobody", True)))


@pytest.mark.parametrize(
    "answers, message",
    [
        ("{}", "essay"),
        ("{#1822:5}", "numerical"),
        ("{=Canada -> Ottawa =Italy -> Rome}", "only as ordering"),
        ("{=a ~%50%b ~c}", "partial credit"),
    ],
)
def test_gift_questions_we_cannot_ask_are_refused(answers, message):
    text = f'// quiz: level = "mid"\n// quiz: topic = "t"\n::q::Q?{answers}\n'
    with pytest.raises(BankFileError, match=message):
        gift.parse(text)


def test_the_format_is_detected():
    assert transfer.detect(Path("a.gift"), "") == "gift"
    assert transfer.detect(Path("a.txt"), 'topic = "x"') == "gift"
    assert transfer.detect(Path("a.toml"), "::x::{T}") == "native"
    assert transfer.detect(Path("bank"), "\n# comment\ntopic = 'x'") == "native"
    assert transfer.detect(Path("bank"), "\n// comment\n::x::Q{T}") == "gift"
    assert transfer.detect(Path("bank"), "Is it?{T}") == "gift"


def test_checks_refuse_what_the_app_cannot_score():
    bad = [
        spec("single", [("a", True), ("b", True)]),
        spec("multiple", [("a", True), ("b", False)]),
        spec("true_false", [("Yes", True), ("No", False)]),
        spec("code_output", [("a", True), ("b", False)]),
        spec("ordering", [("a", True), ("b", False)]),
        spec("text", []),
        spec("single", [("a", True), ("a", False)]),
        spec("single", [("a", True), ("b", False)], reference="javascript:alert(1)"),
        spec("single", [("a", True), ("b", False)], slug="Not A Slug"),
        spec("single", [("a", True), ("b", False)], level="guru"),
    ]
    assert all(transfer.problems(s) for s in bad), [transfer.problems(s) for s in bad]
    assert transfer.problems(spec("single", [("a", True), ("b", False)])) == []


def test_a_bank_folder_imports_like_seed(app, tmp_path):
    result = cli(app, "bank", "import", str(TEST_BANK))
    assert "0 created, 0 new versions, 6 unchanged; quizzes: 0 created, 0 updated" in result.output


def test_the_schema_allows_one_current_version_and_unique_version_numbers(app):
    q = Question.get(Question.slug == "t-text")
    fields = {name: getattr(q, name) for name in bank.FIELDS}
    with pytest.raises(IntegrityError), database.atomic():
        Question.create(slug="t-text", version=2, current=True, **fields)
    with pytest.raises(IntegrityError), database.atomic():
        Question.create(slug="t-text", version=1, current=False, **fields)
    Question.create(slug="t-text", version=2, current=False, **fields)  # history is fine
