"""Markdown for prompts and explanations, and highlighted code: safe by construction.

markdown-it renders the Markdown (raw HTML is escaped, never passed through), Pygments
highlights fenced code and the question's `code` with CSS classes only (the CSP forbids inline
styles; the colours live in static/css/code.css), and nh3 sanitises the result: only the tags,
attributes and classes these two produce survive, links get rel="noopener noreferrer" and
may only point at http, https and mailto URLs.
"""

from functools import lru_cache

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup, escape
from pygments import highlight as pygmentize
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.token import STANDARD_TYPES
from pygments.util import ClassNotFound

DEFAULT_LANGUAGE = "python"
_formatter = HtmlFormatter(nowrap=True)  # <span class="k">...; we write the wrapper ourselves
_TOKEN_CLASSES = {c for c in STANDARD_TYPES.values() if c}

TAGS = {
    "p", "a", "code", "pre", "span", "div", "em", "strong", "ul", "ol", "li", "blockquote",
    "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td", "hr", "br",
}  # fmt: skip
ATTRIBUTES = {"a": {"href", "title"}}
CLASSES = {
    "span": _TOKEN_CLASSES | {"highlight"},
    "pre": {"highlight"},
    "div": {"highlight"},
}


def _spans(code: str, language: str) -> str:
    """Highlighted HTML (spans with token classes), or escaped text for unknown languages."""
    try:
        lexer = get_lexer_by_name(language or DEFAULT_LANGUAGE)
    except ClassNotFound:
        return str(escape(code))
    return pygmentize(code, lexer, _formatter)


def _fence(code: str, language: str, _attrs: str) -> str:
    return f'<pre class="highlight"><code>{_spans(code, language)}</code></pre>\n'


# Raw HTML off; markdown-it also refuses javascript:/vbscript:/data: link targets on its own.
_md = MarkdownIt("commonmark", {"html": False, "highlight": _fence}).enable("table")


def sanitise(html: str) -> str:
    """Keep only what our Markdown and highlighter produce; everything else goes."""
    return nh3.clean(
        html,
        tags=TAGS,
        clean_content_tags={"script", "style"},
        attributes=ATTRIBUTES,
        allowed_classes=CLASSES,
        url_schemes={"http", "https", "mailto"},
        url_relative="deny",
        link_rel="noopener noreferrer",
    )


@lru_cache(maxsize=4096)
def markdown(text: str) -> Markup:
    """Render Markdown to sanitised HTML that may be inserted into a page."""
    return Markup(sanitise(_md.render(text or "")))


@lru_cache(maxsize=4096)
def markdown_inline(text: str) -> Markup:
    """Render one line of Markdown (code spans, emphasis) without a paragraph around it."""
    return Markup(sanitise(_md.renderInline(text or "")))


@lru_cache(maxsize=1024)
def highlight(code: str, language: str = DEFAULT_LANGUAGE) -> Markup:
    """Highlight a snippet for inside an existing <pre><code> (token spans in a .highlight)."""
    spans = _spans(code or "", language).rstrip("\n")
    return Markup(sanitise(f'<span class="highlight">{spans}</span>'))


def init_app(app) -> None:
    app.jinja_env.filters["markdown"] = markdown
    app.jinja_env.filters["markdown_inline"] = markdown_inline
    app.jinja_env.filters["highlight"] = highlight
