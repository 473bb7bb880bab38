"""Read a CSV of candidates (name, email, optional quiz): every row checked first (no Flask)."""

import csv
import io
import re
from dataclasses import dataclass

EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
MAX_ROWS = 1000


@dataclass(frozen=True)
class Row:
    line: int
    name: str
    email: str
    quiz: str  # a slug


def parse(
    data: bytes, quiz_slugs: set[str], default_quiz: str | None
) -> tuple[list[Row], list[str]]:
    """The candidate rows, or line-numbered errors (then no rows should be created)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return [], ["The file is not UTF-8 text. Save it as CSV (UTF-8) and try again."]
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [h.strip().lower() for h in next(reader, [])]
    if "name" not in header or "email" not in header:
        return [], [
            "Line 1: the first line must name the columns: name, email (and optionally quiz)."
        ]
    col = {name: header.index(name) for name in ("name", "email", "quiz") if name in header}
    rows, errors, seen = [], [], {}
    for values in reader:
        line = reader.line_num
        if not any(v.strip() for v in values):
            continue
        if len(rows) + len(errors) >= MAX_ROWS:
            errors.append(f"Line {line}: more than {MAX_ROWS} candidates; split the file.")
            break

        def get(name, values=values):
            i = col.get(name)
            return values[i].strip() if i is not None and i < len(values) else ""

        name, email, quiz = get("name"), get("email").lower(), get("quiz") or default_quiz
        problems = []
        if not name or len(name) > 200:
            problems.append("a name is required (up to 200 characters)")
        if not EMAIL.match(email) or len(email) > 254:
            problems.append(f"{email or 'the e-mail'!r} is not an e-mail address")
        elif email in seen:
            problems.append(f"{email} already appears on line {seen[email]}")
        if not quiz:
            problems.append("no quiz: add a quiz column or choose a default quiz")
        elif quiz not in quiz_slugs:
            problems.append(f"there is no quiz {quiz!r}")
        if problems:
            errors.append(f"Line {line}: " + "; ".join(problems) + ".")
        else:
            seen[email] = line
            rows.append(Row(line, name, email, quiz))
    if not rows and not errors:
        errors.append("The file has no candidates below its header line.")
    return rows, errors
