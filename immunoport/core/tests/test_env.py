import pytest
from django.core.exceptions import ImproperlyConfigured

from immunoport.core.env import env_bool, env_choice, env_int, env_list


def test_defaults_apply_when_unset(monkeypatch):
    monkeypatch.delenv("IMMUNOPORT_X", raising=False)
    assert env_bool("IMMUNOPORT_X", True) is True
    assert env_int("IMMUNOPORT_X", 7) == 7
    assert env_list("IMMUNOPORT_X", ["a"]) == ["a"]
    assert env_choice("IMMUNOPORT_X", "database", ("database", "immediate")) == "database"


def test_values_are_parsed(monkeypatch):
    monkeypatch.setenv("IMMUNOPORT_X", " Yes ")
    assert env_bool("IMMUNOPORT_X", False) is True
    monkeypatch.setenv("IMMUNOPORT_X", "a.example, b.example,")
    assert env_list("IMMUNOPORT_X", []) == ["a.example", "b.example"]


@pytest.mark.parametrize(
    ("reader", "raw", "message"),
    [
        (lambda: env_bool("IMMUNOPORT_X", False), "maybe", "is not a boolean"),
        (lambda: env_int("IMMUNOPORT_X", 1), "ten", "is not an integer"),
        (lambda: env_int("IMMUNOPORT_X", 1, minimum=1), "0", "must be at least 1"),
        (lambda: env_choice("IMMUNOPORT_X", "a", ("a", "b")), "c", "must be one of: a, b"),
    ],
)
def test_a_wrong_value_fails_loudly_naming_the_variable(monkeypatch, reader, raw, message):
    monkeypatch.setenv("IMMUNOPORT_X", raw)
    with pytest.raises(ImproperlyConfigured, match=f"IMMUNOPORT_X.*{message}"):
        reader()
