import pytest

from classifier.text import compose_text

DESCRIPTION = "Slim fit cotton shirt with a spread collar"


def test_it_normalises_whitespace_in_the_title():
    assert compose_text(title="  Men  Navy\n\tBlue Shirt ") == "Men Navy Blue Shirt"


def test_it_adds_the_selected_attributes_in_the_given_order():
    attributes = {"colour": "Navy Blue", "season": "Fall", "year": 2011}
    text = compose_text(
        title="Men Shirt", attributes=attributes, attribute_keys=["season", "colour"]
    )
    assert text == "Men Shirt. season: Fall; colour: Navy Blue"


def test_it_uses_all_attributes_sorted_by_key_and_skips_blank_values():
    attributes = {"usage": "Casual", "colour": None, "tags": ["cotton", " slim  fit"], "fit": " "}
    assert compose_text(title="Shirt", attributes=attributes) == (
        "Shirt. tags: cotton, slim fit; usage: Casual"
    )


def test_it_does_not_depend_on_the_order_of_the_attribute_dict():
    one = compose_text(title="Shirt", attributes={"a": 1, "b": 2})
    assert one == compose_text(title="Shirt", attributes={"b": 2, "a": 1}) == "Shirt. a: 1; b: 2"


def test_it_cuts_the_description_at_a_word_boundary():
    text = compose_text(title="Shirt", description=DESCRIPTION, max_description_chars=20)
    assert text == "Shirt. Slim fit cotton"


def test_it_keeps_a_word_that_ends_exactly_at_the_limit():
    assert compose_text(title="Shirt", description=DESCRIPTION, max_description_chars=21) == (
        "Shirt. Slim fit cotton shirt"
    )


def test_it_keeps_a_short_description_whole_and_does_not_double_full_stops():
    text = compose_text(title="Shirt.", description="Blue  cotton.", attributes={"fit": "slim"})
    assert text == "Shirt. fit: slim. Blue cotton."


def test_it_drops_the_description_when_the_limit_is_zero_and_rejects_negative_limits():
    assert compose_text(title="Shirt", description=DESCRIPTION, max_description_chars=0) == "Shirt"
    with pytest.raises(ValueError, match="max_description_chars"):
        compose_text(title="Shirt", max_description_chars=-1)
