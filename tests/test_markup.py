"""Markdown and code rendering: inert against XSS, highlighted with classes, never inline styles."""

import re
from html.parser import HTMLParser
from urllib.parse import urlparse

import pytest
from conftest import TEST_BANK

from quiz.markup import TAGS, highlight, markdown, markdown_inline


class Elements(HTMLParser):
    """Every start tag and its attributes, as a browser would see them."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, dict]] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))


def assert_inert(html: str) -> None:
    for tag, attrs in Elements(html).found:
        assert tag in TAGS, f"unexpected <{tag}> in {html!r}"
        for name, value in attrs.items():
            assert not name.startswith(("on", "hx-", "data-", "style", "src")), (name, html)
            assert name in ("href", "title", "class", "rel"), (name, html)
            if name == "href":
                assert urlparse(value).scheme in ("http", "https", "mailto"), html
            assert "javascript" not in (value or "").lower().replace("\t", ""), html
    assert not re.search(r"<[^>]*\sstyle=", html)  # as text it is harmless, as an attribute not


ATTACKS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=https://evil.example/x.js></SCRIPT>",
    '<img src=x onerror="alert(1)">',
    "![x](javascript:alert(1))",
    "![x](https://evil.example/track.png)",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](java&#x09;script:alert(1))",
    "[click](vbscript:msgbox(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "<javascript:alert(1)>",
    '[ok](https://ok.example "t\\" onmouseover=\\"alert(1)")',
    "<svg onload=alert(1)><circle r=1 /></svg>",
    "<svg><script>alert(1)</script></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<div hx-get="/admin/users" hx-trigger="load" hx-swap="outerHTML">x</div>',
    '<a href="https://ok.example" onclick="alert(1)" hx-post="/x">x</a>',
    '<p style="background:url(javascript:alert(1))">styled</p>',
    "<iframe src=https://evil.example></iframe>",
    "<style>body { display: none }</style>",
    '<form action="https://evil.example"><input name=x></form>',
    "<!-- comment --><details open ontoggle=alert(1)>",
    "```html\n<script>alert(1)</script>\n```",
    "`<script>alert(1)</script>`",
    "| a | b |\n|:--|--:|\n| <b onclick=x>1</b> | 2 |",
]


@pytest.mark.parametrize("source", ATTACKS)
def test_xss_attempts_render_inert(source):
    for render in (markdown, markdown_inline):
        html = str(render(source))
        assert_inert(html)
        assert "<script" not in html.lower() and "<svg" not in html.lower()
        assert "<img" not in html and "<iframe" not in html and "<style" not in html


def test_raw_html_is_shown_as_text_not_dropped():
    html = str(markdown("Use <b>bold</b> & <script>x</script>."))
    assert "&lt;b&gt;bold&lt;/b&gt;" in html and "&lt;script&gt;" in html


def test_links_are_kept_with_rel_and_only_for_safe_schemes():
    html = str(markdown("[docs](https://flask.palletsprojects.com/) [mail](mailto:a@b.example)"))
    assert html.count('rel="noopener noreferrer"') == 2
    assert 'href="https://flask.palletsprojects.com/"' in html
    assert 'href="mailto:a@b.example"' in html
    relative = str(markdown("[admin](/admin) [ftp](ftp://x.example/)"))
    assert "href" not in relative and "admin" in relative


def test_fenced_code_is_highlighted_with_classes():
    html = str(markdown("Text\n\n```python\ndef f(x):\n    return {'a': 1}  # note\n```\n"))
    assert '<pre class="highlight"><code>' in html
    assert '<span class="k">def</span>' in html and '<span class="nf">f</span>' in html
    assert '<span class="c1"># note</span>' in html
    assert "\n    <span" in html  # indentation kept
    assert "style=" not in html
    assert_inert(html)


def test_python_is_the_default_and_a_named_language_is_used():
    plain = str(markdown("```\nimport os\n```"))
    assert '<span class="kn">import</span>' in plain
    html = str(markdown('```html\n<a href="x">y</a>\n```'))
    assert '<span class="nt">a</span> <span class="na">href</span>' in html
    assert "<a href" not in html
    unknown = str(markdown("```no-such-language\nimport <b>\n```"))
    assert "import &lt;b&gt;" in unknown and "<span" not in unknown


def test_highlight_filter_for_question_code():
    html = str(highlight('print("<b>")\n    x = 1'))
    assert html.startswith('<span class="highlight"><span class="nb">print</span>')
    assert "&lt;b&gt;" in html and "<b>" not in html and "style=" not in html
    assert "\n    <span" in html and not html.endswith("\n</span>")
    assert_inert(html)


def test_question_pages_link_the_stylesheet_and_highlight_code(candidate, tmp_path):
    assert "t-code-output" in (TEST_BANK / "flask.toml").read_text()
    pid = candidate.start()
    html = candidate.client.get(f"/attempts/{pid}?q=4").get_data(as_text=True)
    assert '<pre class="code"><code><span class="highlight"><span class="nb">print</span>' in html
    assert 'href="/static/css/code.css?v=' in html and "style=" not in html  # fingerprinted
    with candidate.client.get("/static/css/code.css") as css:
        assert css.status_code == 200 and b".highlight .k {" in css.data
        assert b"prefers-color-scheme: dark" in css.data
