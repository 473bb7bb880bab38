"""Moodle GIFT, read and written so that every question survives the round trip.

GIFT as Moodle reads it (question/format/gift): questions are separated by blank lines, every
line is trimmed, lines starting with `//` are comments, `::name::` names a question, `[markdown]`
gives the text format, the answers sit in one `{...}` block and `####` in it starts the general
feedback. `\\~ \\= \\# \\{ \\} \\: \\\\` escape the special characters and `\\n` is a newline, so
each text is written on one line (trimming would otherwise eat the code's indentation).

Our mapping (prompts and explanations are `[markdown]`; the explanation is the general feedback):

    single       {=right ~wrong ~wrong}
    multiple     {~%50%right ~%50%right ~%-50%wrong}: each right choice 100/k %, each wrong one
                 -100/k % (k right choices), which is exactly our scoring: right picks minus
                 wrong picks over k, floored at 0 (Moodle floors at 0 as well)
    true_false   {T} or {F}
    text         {=answer =variant} (short answer, every answer 100 %)
    code_output  {=[plain]output ~[plain]other}: multiple choice with plain-text choices; the
                 question's `code` is appended to the prompt as a final fenced block
                 (```python, fence longer than any backtick run in the code) and the metadata
                 line `code = true` says so, so that the import can split it off again
    ordering     GIFT has no ordering type: a matching question {=first -> 1 =second -> 2 ...}
                 (each item matched to its position; Moodle can ask and score it as such) plus
                 `kind = "ordering"`; a literal "->" in an item (or a short answer, where
                 it would also read as matching) is written "-\\>", which Markdown shows as
                 "->" and our import reads back

What GIFT has no place for travels in comment lines right above the question, one TOML
key/value each, which Moodle ignores: `// quiz: slug = "..."`, topic, level, kind, points,
reference, active and code. The slug is also the question name (`::slug::`), and each topic
starts with `$CATEGORY: topic`. A GIFT file written elsewhere imports when each question has
at least `// quiz: level = ...` and a name or slug; the topic may come from `$CATEGORY`.
Per-answer feedback is dropped; partial credit on single answers and short answers, numerical,
essay, description and free matching questions are refused with their line number.
"""

import re
import tomllib
from collections.abc import Iterable

from ..models import KINDS
from . import BankFileError, Issue, Spec
from .native import string as toml_string

META = "// quiz:"
META_TYPES = {
    "slug": str, "topic": str, "level": str, "kind": str, "points": int, "reference": str,
    "active": bool, "code": bool,
}  # fmt: skip
SPECIAL = "\\~=#{}:"
# Escaped characters become private-use placeholders while the structure is parsed (as
# Moodle does with its "&&058;" markers), then turn back into themselves.
_HOLD = {ch: chr(0xE000 + i) for i, ch in enumerate(SPECIAL + "n")}
_BACK = {v: ("\n" if k == "n" else k) for k, v in _HOLD.items()}
_WEIGHT = re.compile(r"%(-?\d+(?:\.\d*)?)%")
_FORMAT = re.compile(r"\[(moodle|html|plain|markdown)\]")


# Writing -------------------------------------------------------------------------------------


def escape(text: str) -> str:
    """Text as GIFT: special characters escaped, newlines as \\n, on one line."""
    out = "".join("\\" + ch if ch in SPECIAL else ch for ch in text.replace("\r", ""))
    return out.replace("\n", "\\n")


def _choice(text: str, kind: str) -> str:
    body = escape(text)
    if kind in ("ordering", "text"):  # "=" with "->" would read as a matching question
        body = body.replace("->", "-\\>")
    if kind == "code_output":
        return "[plain]" + body
    # A leading "[" could read as a format, a leading "%" as a weight: name the format.
    return "[markdown]" + body if text[:1] in ("[", "%") else body


def _weight(percent: float) -> str:
    return f"{percent:.5f}".rstrip("0").rstrip(".")


def fence_for(code: str) -> str:
    longest = max((len(run) for run in re.findall(r"`+", code)), default=0)
    return "`" * max(3, longest + 1)


def _answers(spec: Spec) -> list[str]:
    if spec.kind == "true_false":
        return ["T" if spec.choices[0][1] else "F"]
    if spec.kind == "text":
        return ["=" + _choice(t, "text") for t, _ in spec.choices]
    if spec.kind == "ordering":
        return [f"={_choice(t, 'ordering')} -> {n}" for n, (t, _) in enumerate(spec.choices, 1)]
    if spec.kind == "multiple":
        share = 100 / max(1, sum(1 for _, c in spec.choices if c))
        return [
            f"~%{_weight(share if c else -share)}%{_choice(t, spec.kind)}" for t, c in spec.choices
        ]
    return [("=" if c else "~") + _choice(t, spec.kind) for t, c in spec.choices]


def question_lines(spec: Spec, active: bool = True) -> list[str]:
    """One question: metadata comments, then ::name::[markdown]text{ answers ####feedback }."""
    meta = {
        "slug": spec.slug, "topic": spec.topic, "level": spec.level, "kind": spec.kind,
        "points": spec.points, "reference": spec.reference, "active": active,
    }  # fmt: skip
    text = spec.prompt
    if spec.code:
        meta["code"] = True
        fence = fence_for(spec.code)
        text = f"{text}\n\n{fence}python\n{spec.code}\n{fence}"
    out = [f"{META} {k} = {_toml(v)}" for k, v in meta.items()]
    out.append(f"::{escape(spec.slug)}::[markdown]{escape(text)}{{")
    out += ["\t" + a for a in _answers(spec)]
    if spec.explanation:
        out.append("\t####" + escape(spec.explanation))
    out.append("}")
    return out


def _toml(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v) if isinstance(v, int) else toml_string(v)


def dump(specs: Iterable[Spec]) -> str:
    """A GIFT document: a $CATEGORY per topic, questions in the given order."""
    specs = list(specs)
    topics = list(dict.fromkeys(s.topic for s in specs))
    out = [
        f"// Flask Quiz question bank in Moodle GIFT: {len(specs)} questions, "
        f"{len(topics)} topics.",
        "// The `// quiz:` lines keep what GIFT has no place for (see quiz/bank/gift.py).",
    ]
    topic = None
    for spec in specs:
        if spec.topic != topic:
            topic = spec.topic
            out += ["", f"$CATEGORY: {escape(topic)}"]
        out += ["", *question_lines(spec, True if spec.active is None else spec.active)]
    return "\n".join(out) + "\n"


# Reading -------------------------------------------------------------------------------------


def _blocks(text: str):
    """(meta lines, content lines) per blank-line separated block, each as (number, text)."""
    meta, content = [], []
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            if meta or content:
                yield meta, content
            meta, content = [], []
        elif line.startswith(META):
            meta.append((n, line[len(META) :].strip()))
        elif not line.startswith("//"):
            content.append((n, line))
    if meta or content:
        yield meta, content


def parse(text: str, source: str = "<gift>", check=None) -> list[Spec]:
    """Read a GIFT document; raises BankFileError listing every problem with its line,
    `check`'s findings (a function of the questions read) included."""
    issues: list[Issue] = []
    specs: list[Spec] = []
    category = ""
    for meta_lines, content in _blocks(text.lstrip("\ufeff")):
        line = content[0][0] if content else meta_lines[0][0]
        body = "\n".join(t for _, t in content)
        if body.startswith("$CATEGORY:"):
            category = _slugify(body[len("$CATEGORY:") :].strip().split("/")[-1])
            continue
        if not body:
            issues.append(Issue(line, "`// quiz:` lines without a question under them"))
            continue
        try:
            specs.append(_question(body, _meta(meta_lines), category, line))
        except _Problem as p:
            issues += [Issue(p.line or line, m) for m in p.messages]
    if not specs and not issues:
        issues.append(Issue(0, "no questions"))
    if check:
        issues += check(specs)
    if issues:
        raise BankFileError(source, issues)
    return specs


class _Problem(Exception):
    def __init__(self, *messages: str, line: int = 0):
        self.messages, self.line = messages, line


def _meta(lines: list[tuple[int, str]]) -> dict:
    meta: dict = {}
    for n, text in lines:
        try:
            pair = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise _Problem(f"bad `// quiz:` line ({e})", line=n) from None
        for key, value in pair.items():
            if key not in META_TYPES:
                raise _Problem(f"unknown `// quiz:` key {key!r}", line=n)
            if type(value) is not META_TYPES[key]:
                raise _Problem(f"`// quiz: {key}` has the wrong type", line=n)
            if key in meta:
                raise _Problem(f"`// quiz: {key}` given twice", line=n)
            if key == "kind" and value not in KINDS:
                raise _Problem(f"unknown kind {value!r} (one of: {', '.join(KINDS)})", line=n)
            meta[key] = value
    return meta


def _protect(text: str) -> str:
    if any(ch in _BACK for ch in text):
        raise _Problem("the text holds a private-use character (U+E000-U+E007)")
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text) and text[i + 1] in _HOLD:
            out.append(_HOLD[text[i + 1]])
            i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _restore(text: str) -> str:
    return "".join(_BACK.get(ch, ch) for ch in text)


def _text(held: str) -> tuple[str, str]:
    """(format, text) of a protected piece: an optional [format] prefix, then the text."""
    held = held.strip()
    found = _FORMAT.match(held)
    fmt, held = (found.group(1), held[found.end() :]) if found else ("", held)
    return fmt, _restore(held).strip()


def _slugify(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _question(body: str, meta: dict, category: str, line: int) -> Spec:
    held = _protect(body)
    name = ""
    if held.startswith("::"):
        end = held.find("::", 2)
        if end < 0:
            raise _Problem("the question name has no closing `::`")
        name, held = _restore(held[2:end]).strip(), held[end + 2 :].strip()
    start, finish = held.find("{"), held.find("}")
    if start < 0 and finish < 0:
        raise _Problem("no answer block `{...}` (descriptions are not imported)")
    if start < 0 or finish < start or "{" in held[finish:]:
        raise _Problem("unbalanced or repeated braces (write a literal { or } as \\{ or \\})")
    answers = held[start + 1 : finish].strip()
    blank = "" if held.endswith("}") else "_____"  # Moodle's "missing word" form
    _, prompt = _text(held[:start] + blank + held[finish + 1 :])
    explanation = ""
    if "####" in answers:
        cut = answers.rfind("####")
        answers, explanation = answers[:cut].strip(), _text(answers[cut + 4 :])[1]
    kind, choices = _choices(answers, meta.get("kind"))
    code = ""
    if meta.get("code"):
        prompt, code = _split_code(prompt)
    slug = meta.get("slug") or _slugify(name)
    topic = meta.get("topic") or category
    missing = [
        k for k, v in (("slug", slug), ("topic", topic), ("level", meta.get("level"))) if not v
    ]
    if missing:
        hint = ", ".join(f'`// quiz: {k} = "..."`' for k in missing)
        raise _Problem(f"question {name or slug or '?'!r} lacks {', '.join(missing)}: add {hint}")
    return Spec(
        slug=slug,
        topic=topic,
        level=meta["level"],
        kind=kind,
        prompt=prompt,
        code=code,
        explanation=explanation,
        reference=meta.get("reference", ""),
        points=meta.get("points", 1),
        choices=tuple(choices),
        active=meta.get("active"),
        line=line,
    ).normalised()


def _split_code(prompt: str) -> tuple[str, str]:
    """The prompt and the final ```python block that `code = true` announces."""
    closing = re.search(r"\n(`{3,})\Z", prompt)
    mark = closing.group(1) + "python\n" if closing else ""
    opening = prompt.rfind(mark, 0, closing.start() + 1) if closing else -1
    if opening < 0 or (opening and not prompt[:opening].endswith("\n\n")):
        raise _Problem("`code = true` but the text does not end with a ```python block")
    return prompt[:opening].rstrip("\n"), prompt[opening + len(mark) : closing.start()]


def _choices(answers: str, kind: str | None) -> tuple[str, list[tuple[str, bool]]]:
    """The kind and (text, correct) choices of a protected answer block."""
    if kind is not None and kind not in KINDS:
        raise _Problem(f"unknown kind {kind!r} (one of: {', '.join(KINDS)})")
    if not answers:
        raise _Problem("an empty answer block is an essay question, which is not imported")
    if answers.startswith("#"):
        raise _Problem("numerical questions are not imported")
    if "~" in answers:
        return _multichoice(answers, kind)
    if "=" in answers and "->" in answers:
        return _matching(answers, kind)
    verdict = answers.split("#", 1)[0].strip()
    if verdict in ("T", "TRUE", "F", "FALSE"):
        _expect(kind, "true_false", "a true/false answer")
        right = verdict in ("T", "TRUE")
        return "true_false", [("True", right), ("False", not right)]
    _expect(kind, "text", "a short answer")
    accepted = []
    for part in filter(None, (p.strip() for p in answers.split("="))):
        weight = _WEIGHT.match(part)
        if weight and float(weight.group(1)) != 100:
            raise _Problem("partial credit for a short answer is not imported")
        answer = part[weight.end() if weight else 0 :].split("#", 1)[0]
        accepted.append((_text(answer.replace("\\>", ">"))[1], True))
    return "text", accepted


def _expect(kind: str | None, wanted: str, what: str) -> None:
    if kind not in (None, wanted):
        raise _Problem(f"kind {kind!r} does not match the answer block ({what})")


def _multichoice(answers: str, kind: str | None) -> tuple[str, list[tuple[str, bool]]]:
    single = "=" in answers  # Moodle: one right answer when an "=" is present
    kind = kind or ("single" if single else "multiple")
    if kind not in ("single", "multiple", "code_output"):
        raise _Problem(f"kind {kind!r} does not match the answer block (multiple choice)")
    parts = answers.replace("=", "~=").split("~")
    choices = []
    for part in (p.strip() for p in parts):
        if not part:
            continue
        if part.startswith("="):
            weight, part = 100.0, part[1:]
        elif found := _WEIGHT.match(part):
            weight, part = float(found.group(1)), part[found.end() :]
        else:
            weight = 0.0
        if kind != "multiple" and 0 < weight < 100:
            raise _Problem("partial credit on a one-answer question is not imported")
        choices.append((_text(part.split("#", 1)[0])[1], weight > 0))
    return kind, choices


def _matching(answers: str, kind: str | None) -> tuple[str, list[tuple[str, bool]]]:
    """Only our ordering form: every item matched to its position 1..n."""
    _expect(kind, "ordering", "matching, read as ordering")
    pairs = []
    for part in filter(None, (p.strip() for p in answers.split("="))):
        if "->" not in part:
            raise _Problem(f"matching item without `->`: {_restore(part)!r}")
        left, right = part.split("->", 1)
        pairs.append((_restore(right).strip(), _text(left.replace("\\>", ">"))[1]))
    if sorted(p for p, _ in pairs) != sorted(str(n) for n in range(1, len(pairs) + 1)):
        raise _Problem("matching questions are imported only as ordering: match items to 1..n")
    return "ordering", [(text, False) for _, text in sorted(pairs, key=lambda p: int(p[0]))]
