"""The study page's JSON-LD, escaped for a script element."""

import json

from immunoport.portal.study_page import script_json


def test_a_value_cannot_end_the_script_element():
    data = {"name": "</script><script>alert(1)</script> & <!-- more", "n": 1}
    text = script_json(data)
    assert "<" not in text
    assert ">" not in text
    assert "&" not in text
    assert json.loads(text) == data
