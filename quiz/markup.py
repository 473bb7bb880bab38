"""Markdown for prompts and explanations, safe by construction."""

from functools import lru_cache

from markdown_it import MarkdownIt
from markupsafe import Markup

# Raw HTML is escaped, not passed through; markdown-it refuses javascript:/vbscript:/data:
# link targets on its own.
_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})


@lru_cache(maxsize=4096)
def markdown(text: str) -> Markup:
    """Render Markdown to HTML that may be inserted into a page."""
    return Markup(_md.render(text or ""))


@lru_cache(maxsize=4096)
def markdown_inline(text: str) -> Markup:
    """Render one line of Markdown (code spans, emphasis) without a paragraph around it."""
    return Markup(_md.renderInline(text or ""))


def init_app(app) -> None:
    app.jinja_env.filters["markdown"] = markdown
    app.jinja_env.filters["markdown_inline"] = markdown_inline
