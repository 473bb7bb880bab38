"""Behaviour behind the answers keyed in quiz/bank/templates.toml.

One test per question whose keyed answer can be demonstrated with the installed
Flask/Jinja2/MarkupSafe; each is named after the question slug.
"""

import pytest
from flask import (
    Flask,
    before_render_template,
    flash,
    redirect,
    render_template,
    render_template_string,
    template_rendered,
    url_for,
)
from jinja2 import (
    DictLoader,
    Environment,
    TemplateAssertionError,
    TemplatesNotFound,
    UndefinedError,
)


def make_app(root=None, **config):
    app = Flask(__name__, root_path=str(root)) if root is not None else Flask(__name__)
    app.config.update(config)
    return app


def write_templates(root, files):
    folder = root / "templates"
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def test_templates_folder_lookup(tmp_path, monkeypatch):
    app_root = tmp_path / "project"
    elsewhere = tmp_path / "elsewhere"
    write_templates(app_root, {"index.html": "from the app's templates folder"})
    write_templates(elsewhere, {"index.html": "from the working directory"})
    (app_root / "static").mkdir()
    (app_root / "static" / "index.html").write_text("from static", encoding="utf-8")
    monkeypatch.chdir(elsewhere)

    app = make_app(app_root)
    assert app.template_folder == "templates"
    with app.test_request_context():
        assert render_template("index.html") == "from the app's templates folder"


def test_templates_url_for_available():
    app = make_app()
    with app.test_request_context():
        out = render_template_string('{{ url_for("static", filename="style.css") }}')
    assert out == "/static/style.css"


def test_templates_safe_filter():
    app = make_app()
    body = "<p>Hello</p>"
    with app.test_request_context():
        assert render_template_string("{{ body|safe }}", body=body) == "<p>Hello</p>"
        assert render_template_string("{{ body }}", body=body) == "&lt;p&gt;Hello&lt;/p&gt;"
        assert render_template_string("{{ body|e }}", body=body) == "&lt;p&gt;Hello&lt;/p&gt;"
        wrapped = "{% autoescape true %}{{ body }}{% endautoescape %}"
        assert render_template_string(wrapped, body=body) == "&lt;p&gt;Hello&lt;/p&gt;"


def test_templates_render_kwargs(tmp_path):
    write_templates(tmp_path, {"profile.html": "Name: {{ user.name }}"})
    app = make_app(tmp_path)
    user = {"name": "Ada"}
    with app.test_request_context():
        assert render_template("profile.html", user=user) == "Name: Ada"
        with pytest.raises(TypeError):
            render_template("profile.html", {"user": user})


def test_templates_default_context():
    app = make_app(SECRET_KEY="test")
    names = ["request", "get_flashed_messages", "config", "current_app", "current_user"]
    source = ",".join(f"{{{{ {name} is defined }}}}" for name in names)
    with app.test_request_context():
        out = render_template_string(source)
    assert dict(zip(names, out.split(","), strict=True)) == {
        "request": "True",
        "get_flashed_messages": "True",
        "config": "True",
        "current_app": "False",
        "current_user": "False",
    }


def test_templates_builtin_filters():
    app = make_app()
    filters = app.jinja_env.filters
    assert {"default", "length", "truncate", "wordcount"} <= set(filters)
    assert app.jinja_env.from_string("{{ 'one two three'|wordcount }}").render() == "3"
    assert "currency" not in filters
    with pytest.raises(TemplateAssertionError):
        app.jinja_env.from_string("{{ price|currency }}")


def test_templates_custom_filter():
    app = make_app()

    @app.template_filter("reverse_words")
    def reverse_words(s):
        return " ".join(reversed(s.split()))

    with app.test_request_context():
        assert render_template_string("{{ title|reverse_words }}", title="a b c") == "c b a"

    # A context processor only provides a variable, not a filter.
    other = make_app()

    @other.context_processor
    def inject():
        return {"reverse_words": reverse_words}

    with other.test_request_context(), pytest.raises(TemplateAssertionError):
        render_template_string("{{ title|reverse_words }}", title="a b c")


def test_templates_flash_flow():
    app = make_app(SECRET_KEY="test")
    template = "{% for m in get_flashed_messages() %}[{{ m }}]{% endfor %}"

    @app.route("/save", methods=["POST"])
    def save():
        flash("Saved")
        return redirect(url_for("index"))

    @app.route("/")
    def index():
        return render_template_string(template)

    client = app.test_client()
    resp = client.post("/save")
    assert resp.status_code == 302
    assert "session=" in resp.headers["Set-Cookie"]
    with client.session_transaction() as session:
        assert session["_flashes"] == [("message", "Saved")]

    assert client.get("/").get_data(as_text=True) == "[Saved]"
    with client.session_transaction() as session:
        assert "_flashes" not in session
    assert client.get("/").get_data(as_text=True) == ""


def test_templates_trim_blocks_default():
    app = make_app()
    env = app.jinja_env
    assert env.trim_blocks is False
    assert env.lstrip_blocks is False
    assert env.from_string("{% if true %}\nx{% endif %}").render() == "\nx"
    assert env.from_string("{% if true -%}\nx{% endif %}").render() == "x"


def test_templates_select_list(tmp_path):
    write_templates(tmp_path, {"page.html": "plain page"})
    app = make_app(tmp_path)
    with app.test_request_context():
        assert render_template(["themes/dark/page.html", "page.html"]) == "plain page"
        with pytest.raises(TemplatesNotFound):
            render_template(["themes/dark/page.html", "themes/light/page.html"])


def test_templates_autoescape_extensions(tmp_path):
    names = ["email.txt", "feed.rss", "feed.xml", "page.html", "page.html.j2", "icon.svg"]
    write_templates(tmp_path, {name: "{{ value }}" for name in names})
    app = make_app(tmp_path)
    with app.test_request_context():
        rendered = {name: render_template(name, value="<b>") for name in names}
    assert rendered == {
        "email.txt": "<b>",
        "feed.rss": "<b>",  # XML content, but the name does not end in .xml
        "feed.xml": "&lt;b&gt;",
        "page.html": "&lt;b&gt;",
        "page.html.j2": "<b>",
        "icon.svg": "&lt;b&gt;",
    }


def test_templates_import_context():
    calls = []
    env = Environment(
        loader=DictLoader(
            {
                "forms.html": (
                    "FORMS-TEXT{% set _ = count() %}"
                    "{% macro field(name) %}[{{ name }}:{{ user is defined }}]{% endmacro %}"
                ),
                "plain.html": '{% import "forms.html" as forms %}{{ forms.field("email") }}',
                "ctx.html": (
                    '{% import "forms.html" as forms with context %}{{ forms.field("email") }}'
                ),
                "from.html": '{% from "forms.html" import field %}{{ field("email") }}',
            }
        )
    )
    env.globals["count"] = lambda: calls.append(1) or ""

    plain = env.get_template("plain.html")
    assert plain.render(user="ada") == "[email:False]"  # no context, and no FORMS-TEXT
    assert plain.render(user="ada") == "[email:False]"
    assert len(calls) == 1  # the imported module is cached, not re-rendered per import
    assert env.get_template("ctx.html").render(user="ada") == "[email:True]"
    assert env.get_template("from.html").render(user="ada") == "[email:False]"


def test_templates_render_sequence():
    events = []

    class RecordingLoader(DictLoader):
        def get_source(self, environment, template):
            events.append("load")
            return super().get_source(environment, template)

    app = make_app()
    app.jinja_loader = RecordingLoader({"page.html": "{{ mark() }}{{ title }}"})

    @app.context_processor
    def processor():
        events.append("context_processor")
        return {"title": "from processor", "mark": lambda: events.append("render") or ""}

    def before(sender, template, context, **extra):
        events.append(f"before_render_template {context['title']}")

    def after(sender, template, context, **extra):
        events.append("template_rendered")

    with (
        before_render_template.connected_to(before, app),
        template_rendered.connected_to(after, app),
        app.test_request_context(),
    ):
        out = render_template("page.html", title="Home")

    assert out == "Home"
    assert events == [
        "load",
        "context_processor",
        "before_render_template Home",
        "render",
        "template_rendered",
    ]


def test_templates_template_global():
    app = make_app()

    @app.template_global()
    def now_year():
        return 2024

    assert app.jinja_env.globals["now_year"] is now_year
    app.jinja_loader = DictLoader(
        {
            "helpers.html": "{% macro year() %}{{ now_year() }}{% endmacro %}",
            "page.html": '{% import "helpers.html" as h %}{{ now_year() }}/{{ h.year() }}',
        }
    )
    with app.test_request_context():
        assert render_template("page.html") == "2024/2024"


def test_templates_undefined_attribute():
    app = make_app()  # debug and testing off

    @app.route("/profile")
    def profile():
        return render_template_string("Hi {{ user.name }}")

    @app.route("/plain")
    def plain():
        return render_template_string("Hi [{{ user }}]")

    client = app.test_client()
    app.logger.disabled = True  # keep the expected traceback out of the test output
    assert client.get("/profile").status_code == 500
    assert client.get("/plain").get_data(as_text=True) == "Hi []"
    with app.test_request_context(), pytest.raises(UndefinedError):
        render_template_string("{{ user.name }}")
