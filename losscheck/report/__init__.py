"""Report writers, one module per format: text (terminal), md, json, html. Each exposes render(result) -> str."""
from losscheck.report import html, jsonreport, markdown, text

WRITERS = {"text": text.render, "md": markdown.render, "json": jsonreport.render, "html": html.render}


def render(result, fmt: str) -> str:
    return WRITERS[fmt](result)
