"""Report writers, one module per format: text (terminal), md, json, html. Each exposes render(result) -> str."""
from losscheck.report import html, jsonreport, junit, markdown, text

WRITERS = {"text": text.render, "md": markdown.render, "json": jsonreport.render, "html": html.render,
           "junit": junit.render}
EXTENSIONS = {"text": "txt", "md": "md", "json": "json", "html": "html", "junit": "xml"}


def render(result, fmt: str) -> str:
    return WRITERS[fmt](result)
