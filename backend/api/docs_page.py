"""GET /docs: the OpenAPI document rendered as one plain HTML page, readable offline (no CDN, no script)."""

from __future__ import annotations

import json
from html import escape
from typing import Any

STYLE = """
body { font: 15px/1.5 system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
h2 { border-bottom: 1px solid #ccc; margin-top: 2.5rem; }
.op { border: 1px solid #ddd; border-radius: 6px; padding: .6rem 1rem; margin: .8rem 0; }
.method { display: inline-block; min-width: 4.5rem; font-weight: bold; text-transform: uppercase; }
.get { color: #2a6; } .post { color: #26a; } .delete { color: #a33; }
code, pre { background: #f4f4f4; padding: 0 .25rem; border-radius: 3px; }
pre { padding: .6rem; overflow-x: auto; }
table { border-collapse: collapse; } td, th { padding: .15rem .6rem; text-align: left; vertical-align: top; }
"""


def _schema_name(schema: dict[str, Any] | None) -> str:
    """A schema's component name, or a short description of an inline one."""
    if not schema:
        return "-"
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if schema.get("type") == "array":
        return f"array of {_schema_name(schema.get('items'))}"
    return str(schema.get("type", "object"))


def _link(name: str, doc: dict[str, Any]) -> str:
    """A schema name, linked to its definition further down when it is a component."""
    if name in doc["components"]["schemas"]:
        return f'<a href="#schema-{escape(name)}">{escape(name)}</a>'
    return escape(name)


def _content(entry: dict[str, Any], doc: dict[str, Any]) -> str:
    """'media type: schema name' for each content type of a request body or response."""
    if "$ref" in entry:
        entry = doc["components"]["responses"][entry["$ref"].rsplit("/", 1)[-1]]
    parts = [f"<code>{escape(kind)}</code> {_link(_schema_name(media.get('schema')), doc)}"
             for kind, media in entry.get("content", {}).items()]
    return ", ".join(parts) or "no body"


def _operation(method: str, path: str, op: dict[str, Any], doc: dict[str, Any]) -> str:
    """One operation's block."""
    rows = [f'<div class="op" id="{escape(op.get("operationId", ""))}">',
            f'<div><span class="method {escape(method)}">{escape(method)}</span> <code>{escape(path)}</code>'
            f'{" (no credentials)" if op.get("security") == [] else ""}</div>',
            f"<p>{escape(op.get('summary', ''))}</p>"]
    if op.get("description"):
        rows.append(f"<p>{escape(op['description'])}</p>")
    if op.get("parameters"):
        rows.append("<table><tr><th>Parameter</th><th>In</th><th>Type</th><th>Description</th></tr>")
        rows += [f"<tr><td><code>{escape(p['name'])}</code></td><td>{escape(p['in'])}</td>"
                 f"<td>{escape(_schema_name(p.get('schema')))}</td><td>{escape(p.get('description', ''))}</td></tr>"
                 for p in op["parameters"]]
        rows.append("</table>")
    if "requestBody" in op:
        required = "required" if op["requestBody"].get("required") else "optional"
        rows.append(f"<p>Body ({required}): {_content(op['requestBody'], doc)}</p>")
    rows.append("<table><tr><th>Status</th><th>Answer</th></tr>")
    rows += [f"<tr><td>{escape(status)}</td><td>{_content(response, doc)}</td></tr>"
             for status, response in op["responses"].items()]
    rows.append("</table></div>")
    return "\n".join(rows)


def _schemas(doc: dict[str, Any]) -> str:
    """Every component schema, as indented JSON."""
    blocks = [f'<h3 id="schema-{escape(name)}">{escape(name)}</h3><pre>{escape(json.dumps(schema, indent=2))}</pre>'
              for name, schema in doc["components"]["schemas"].items()]
    return "\n".join(blocks)


def render(doc: dict[str, Any]) -> str:
    """The HTML page of an OpenAPI document: operations by tag, then the schemas."""
    info = doc["info"]
    by_tag: dict[str, list[str]] = {}
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            tag = (op.get("tags") or ["other"])[0]
            by_tag.setdefault(tag, []).append(_operation(method, path, op, doc))
    sections = [f"<h2>{escape(tag)}</h2>\n" + "\n".join(ops) for tag, ops in by_tag.items()]
    schemes = ", ".join(f"<code>{escape(name)}</code> ({escape(s.get('name') or s.get('scheme', ''))}"
                        f" in {escape(s.get('in', 'Authorization header'))})"
                        for name, s in doc["components"]["securitySchemes"].items())
    return "\n".join([
        "<!doctype html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(info['title'])} API {escape(info['version'])}</title>", f"<style>{STYLE}</style></head><body>",
        f"<h1>{escape(info['title'])} API <small>{escape(info['version'])}</small></h1>",
        f"<p>{escape(info.get('description', ''))}</p>",
        f"<p>Credentials, any one of: {schemes}. The machine-readable contract: <a href=\"openapi.json\">"
        "openapi.json</a> (OpenAPI " + escape(doc["openapi"]) + ").</p>",
        *sections, "<h2>Schemas</h2>", _schemas(doc), "</body></html>",
    ])
