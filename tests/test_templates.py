"""Templates (issue 17 §1): rendering (variables, defaults, alternatives, a missing variable, sandbox escapes,
the length cap), the store across a restart, and the service's checks; no browser. The store's tests run on
both backends: the data folder's templates.db, and the cluster's PostgreSQL (issue 20, store/pg_templates.py)."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator

import pytest

from backend.errors import InvalidInput, InvalidMedia, InvalidText
from backend.store.pg_db import PgDatabase
from backend.store.pg_templates import PgTemplateStore
from backend.store.templates import TemplateStore
from backend.templates import TemplatesService
from backend.templates.errors import (TemplateNameTaken, TemplateNotAllowed, TemplateNotFound, TemplateSyntax,
                                      TemplateVariableMissing)
from backend.templates.render import parse, render
from backend.validation import MAX_TEXT_CHARS
from tests.desktop_support import png_base64

RNG = random.Random(7)
# Ways out of a Jinja sandbox seen in the wild: attributes, items, calls, globals, statements, other filters.
ESCAPES = ["{{ ''.__class__ }}", "{{ cycler.__init__.__globals__.os }}", "{{ nome.__class__.__mro__ }}",
           "{{ nome['__class__'] }}", "{{ lipsum() }}", "{{ range(10) }}", "{% for x in nome %}{{ x }}{% endfor %}",
           "{% set a = 1 %}", "{% import 'os' as os %}", "{{ nome|attr('__class__') }}", "{{ nome|upper }}",
           "{{ _private }}", "{{ nome|default(cycler) }}", "{{ 7 * 7 }}", "{{ nome ~ pedido }}",
           "{% macro m() %}{% endmacro %}", "{{ config }}x{{ self._TemplateReference__context }}"]


def test_variables_are_filled_and_defaults_used_when_a_value_is_missing_or_empty():
    text = 'Olá {{nome|default("cliente")}}, seu pedido {{ pedido }} saiu. {{nome}}!'

    assert render(text, {"nome": "Ana", "pedido": "123"}, RNG) == "Olá Ana, seu pedido 123 saiu. Ana!"
    assert render('Olá {{nome|default("cliente")}}', {}, RNG) == "Olá cliente"
    assert render('Olá {{nome|default("cliente")}}', {"nome": ""}, RNG) == "Olá cliente"
    assert parse(text).variables == ["nome", "pedido"]
    assert parse(text).defaults == {"nome": "cliente"}
    assert parse(text).required == ["pedido", "nome"]  # nome is also written without its default


def test_a_missing_variable_is_refused_by_name_never_sent_with_braces():
    with pytest.raises(TemplateVariableMissing) as caught:
        render("Pedido {{pedido}} de {{nome}}", {"nome": "Ana"}, RNG)

    assert caught.value.status == 422 and caught.value.details == {"variables": ["pedido"]}


def test_values_are_text_never_template_code():
    out = render("Oi {{nome}}", {"nome": "{{ ''.__class__ }} {a|b} <b>x</b>"}, RNG)

    assert out == "Oi {{ ''.__class__ }} {a|b} <b>x</b>"  # as given: no second rendering, no HTML escaping


def test_alternatives_are_chosen_at_random_per_message_and_may_hold_variables():
    text = '{Olá|Oi|Bom dia} {{nome}}, {obrigado|valeu {{nome}}}!'
    seen = {render(text, {"nome": "Ana"}, random.Random(seed)) for seed in range(60)}

    assert seen == {f"{a} Ana, {b}!" for a in ("Olá", "Oi", "Bom dia") for b in ("obrigado", "valeu Ana")}
    assert render("chaves {sem escolha} e {aberta", {}, RNG) == "chaves {sem escolha} e {aberta"


def test_nested_alternatives_are_a_syntax_error_naming_the_line():
    with pytest.raises(TemplateSyntax) as caught:
        parse("linha um\n{Olá|{Oi|Hey}}")

    assert caught.value.details == {"line": 2, "reason": "nested alternatives"}


def test_a_syntax_error_names_its_line_and_reason():
    with pytest.raises(TemplateSyntax) as caught:
        parse("Olá\n\n{{ nome ")

    assert caught.value.status == 422 and caught.value.details["line"] == 3 and caught.value.details["reason"]


@pytest.mark.parametrize("text", ESCAPES)
def test_sandbox_escapes_and_anything_beyond_variables_are_refused_at_save(text):
    with pytest.raises((TemplateNotAllowed, TemplateSyntax)) as caught:
        parse(text)

    assert caught.value.status == 422


def test_the_output_is_capped_at_whatsapps_text_limit():
    text = "x" * (MAX_TEXT_CHARS - 10) + "{{a}}"

    assert len(render(text, {"a": "z" * 10}, RNG)) == MAX_TEXT_CHARS
    with pytest.raises(InvalidText) as caught:
        render(text, {"a": "z" * 11}, RNG)
    assert caught.value.details == {"length": MAX_TEXT_CHARS + 1, "limit": MAX_TEXT_CHARS}
    with pytest.raises(TemplateSyntax):
        parse("x" * (MAX_TEXT_CHARS + 1))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def open_store(request: pytest.FixtureRequest, tmp_path) -> Iterator[Callable[[], TemplateStore]]:
    """Opens the template store of each kind, again at each call as a restart (or another node) does."""
    opened: list[TemplateStore | PgDatabase] = []

    def open_one() -> TemplateStore:
        if request.param == "sqlite":
            store = TemplateStore(tmp_path / "templates.db")
            opened.append(store)
            return store
        db = PgDatabase(request.getfixturevalue("pg_url")).open()
        opened.append(db)
        return PgTemplateStore(db)  # type: ignore[return-value] - TemplateStore's interface

    yield open_one
    for each in opened:
        each.close()


@pytest.fixture
def service(open_store):
    return TemplatesService(open_store(), random.Random(1))


def test_templates_are_kept_across_a_restart_with_unique_names(open_store):
    first = TemplatesService(open_store())
    made = first.create({"name": "Boas-vindas", "text": "Oi {{nome}}"})
    with pytest.raises(TemplateNameTaken):
        first.create({"name": "boas-vindas", "text": "outro"})

    again = TemplatesService(open_store())

    assert again.get(made["id"]) == made
    assert [t["name"] for t in again.list()] == ["Boas-vindas"]


def test_change_delete_and_not_found(service):
    made = service.create({"name": "A", "text": "um"})
    changed = service.update(made["id"], {"text": "dois {{x}}"}, partial=True)

    assert (changed["name"], changed["text"], changed["variables"]) == ("A", "dois {{x}}", ["x"])
    with pytest.raises(TemplateNotAllowed):
        service.update(made["id"], {"name": "A", "text": "{{ x.__class__ }}"}, partial=False)
    assert service.get(made["id"])["text"] == "dois {{x}}"  # a refused change changes nothing
    service.delete(made["id"])
    with pytest.raises(TemplateNotFound):
        service.get(made["id"])
    with pytest.raises(InvalidInput):
        service.create({"name": " ", "text": "x"})
    other = service.create({"name": "b", "text": "dois"})
    service.create({"name": "C", "text": "três"})
    with pytest.raises(TemplateNameTaken):  # renamed onto another's name, in another case
        service.update(other["id"], {"name": "c"}, partial=True)
    assert [t["name"] for t in service.list()] == ["b", "C"]  # by name without regard to case


def test_media_is_checked_as_post_messages_checks_it_and_sent_with_the_text_as_caption(service):
    made = service.create({"name": "Cardápio", "text": "Oi {{nome}}",
                           "media": {"data": png_base64(), "mimetype": "image/png", "filename": "menu.png"}})

    assert made["media"]["mimetype"] == "image/png" and "data" not in made["media"]
    fields = service.message_fields(made["id"], {"nome": "Ana"})
    assert fields["media"]["caption"] == "Oi Ana" and fields["media"]["data"] == png_base64()
    with pytest.raises(InvalidMedia):
        service.create({"name": "X", "text": "x", "media": {"data": "%%%", "mimetype": "image/png"}})
