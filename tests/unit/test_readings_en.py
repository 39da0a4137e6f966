"""English readings (``gsv_core.text.readings.en``): each rule with examples.

The issue's examples are the first rows; the expected words are written by hand.
"""

from __future__ import annotations

import pytest

from gsv_core.text import clean_text
from gsv_core.text.readings.en import read, read_number, read_year, rules_matched


@pytest.mark.parametrize(("text", "words"), [
    # the issue's examples
    ("Let's meet at 3:30 p.m. tomorrow.", "Let's meet at three thirty P M tomorrow."),
    ("The launch is at 10:00 AM EST.", "The launch is at ten A M EST."),
    ("Signed on 07/04/2023.", "Signed on July fourth, twenty twenty-three."),
    ("Revenue grew in Q3.", "Revenue grew in Q three."),
    ("A talk from TED2024.", "A talk from Ted twenty twenty-four."),
    ("Valued at $4.2B.", "Valued at four point two billion dollars."),
    ("Music from the 1990s.", "Music from the nineteen nineties."),
    ("Call (555) 123-4567.", "Call five five five, one two three, four five six seven."),
    ("A 50/50 chance.", "A fifty fifty chance."),
    ("Going 105 km/h.", "Going one hundred five kilometers per hour."),
    ("Dr. Smith is in.", "Doctor Smith is in."),
    ("Visit https://www.example.com/index.html today.",
     "Visit W W W dot example dot com slash index dot H T M L today."),
    ("Mail john.doe@gmail.com now.", "Mail john dot doe at G mail dot com now."),
])
def test_issue_examples(text: str, words: str) -> None:
    assert read(text) == words


@pytest.mark.parametrize(("text", "words"), [
    ("at 9:05", "at nine oh five"),
    ("at 13:00", "at thirteen hundred"),
    ("at 7:00", "at seven o'clock"),
    ("It is 12:00 p.m.", "It is twelve P M."),
    ("Meet at 3 p.m. Then go.", "Meet at three P M. Then go."),  # the dot also ends a sentence
    ("closes at 9pm.", "closes at nine P M."),
    ("at 7 a.m. today", "at seven A M today"),
    ("born on March 5, 1990.", "born on March fifth, 1990."),  # the year: upstream's rule
    ("due Sept. 3rd", "due September third"),
    ("Set it for 20 min.", "Set it for twenty minutes."),
    ("about 2 hrs later", "about two hours later"),
])
def test_times(text: str, words: str) -> None:
    assert read(text) == words


@pytest.mark.parametrize(("text", "words"), [
    ("Call 1-800-555-0199.", "Call one, eight hundred, five five five, oh one nine nine."),
    ("Call +1 555 123 4567.", "Call plus one, five five five, one two three, four five six seven."),
    ("It is -5°C.", "It is minus five degrees celsius."),
])
def test_phone_numbers_and_signs(text: str, words: str) -> None:
    assert read(text) == words


@pytest.mark.parametrize(("text", "words"), [
    ("They won 102-99.", "They won one hundred two to ninety-nine."),
    ("They lost the final 21:19.", "They lost the final twenty-one to nineteen."),
    ("Pages 10-15.", "Pages ten to fifteen."),
    ("It costs 50-80% less.", "It costs fifty to eighty percent less."),
    ("from 1990-2000", "from nineteen ninety to two thousand"),
])
def test_scores_and_ranges(text: str, words: str) -> None:
    assert read(text) == words


@pytest.mark.parametrize(("text", "words"), [
    ("I paid $19.99.", "I paid nineteen dollars and ninety-nine cents."),
    ("Worth $1.5 million.", "Worth one point five million dollars."),
    ("The budget is $5M.", "The budget is five million dollars."),
    ("Tickets cost €20 each.", "Tickets cost twenty euros each."),
    ("It was £12.50.", "It was twelve pounds and fifty pence."),
    ("only $1", "only one dollar"),
    ("just $0.50", "just fifty cents"),
])
def test_currencies(text: str, words: str) -> None:
    assert read(text) == words


@pytest.mark.parametrize(("text", "words"), [
    ("The battery is 5000mAh.", "The battery is five thousand milliamp hours."),
    ("It has 16GB of RAM.", "It has sixteen gigabytes of ram."),
    ("It weighs 2.5 kg.", "It weighs two point five kilograms."),
    ("just 1 km", "just one kilometer"),
    ("It was 100°F.", "It was one hundred degrees fahrenheit."),
    ("at 60fps", "at sixty frames per second"),
    ("a 65W charger", "a sixty-five watt charger"),  # before a noun: singular
    ("It has an 80GB card.", "It has an eighty gigabyte card."),
    ("Add 200 g of flour.", "Add two hundred grams of flour."),
    ("Add 200 g.", "Add 200 g."),  # a lone letter after a space is no unit without "of"
])
def test_units(text: str, words: str) -> None:
    assert read(text) == words


@pytest.mark.parametrize(("text", "words"), [
    ("The RTX 4090 is fast.", "The RTX forty ninety is fast."),
    ("COVID-19 cases", "Covid nineteen cases"),
    ("I bought a PS5.", "I bought a PS five."),
    ("in 4K and 5G", "in four K and five G"),
    ("3x faster", "three times faster"),
    ("Use GPT-4o now.", "Use GPT four O now."),  # a lone letter is its name
    ("A 4-3 win", "A 4-3 win"),  # "A 4" is no model number
    ("Python 3.12 is out.", "Python 3.12 is out."),  # left to upstream's decimal rule
])
def test_model_numbers(text: str, words: str) -> None:
    assert read(text) == words


@pytest.mark.parametrize(("text", "words"), [
    ("Mr. and Mrs. Brown", "Mister and Missus Brown"),
    ("France vs. Brazil", "France versus Brazil"),
    ("snacks, drinks, etc.", "snacks, drinks, et cetera."),
    ("Elm Dr. is closed.", "Elm Dr. is closed."),  # not before a name: a street, left alone
    ("The song was No. 1.", "The song was number one."),
    ("Please update to v2.1.", "Please update to version two point one."),
    ("Install 1.2.3 first.", "Install one point two point three first."),
    ("Over 1,234 people.", "Over one thousand two hundred thirty-four people."),
    ("open 24/7", "open twenty-four seven"),
    ("About 3/4 of them.", "About 3/4 of them."),  # a real fraction: upstream reads it
    ("Tom & Jerry", "Tom and Jerry"),
    ("100+ likes", "100 plus likes"),
    ("NASA and the FBI", "Nasa and the FBI"),
    ("Back in the '80s.", "Back in the eighties."),
])
def test_words_and_symbols(text: str, words: str) -> None:
    assert read(text) == words


@pytest.mark.parametrize("text", ["", "   ", "plain words only.", "I have 3 cats.",
                                  "She finished 2nd."])
def test_text_without_a_span_is_unchanged(text: str) -> None:
    assert read(text) == text


def test_numbers_have_no_and_or_commas() -> None:
    assert read_number("1234") == "one thousand two hundred thirty-four"
    assert read_number("0.75") == "zero point seven five"
    assert read_year("1987") == "nineteen eighty-seven"
    assert read_year("2005") == "two thousand five"
    assert read_year("1900") == "nineteen hundred"
    assert read_year("2000") == "two thousand"


def test_rules_matched_names_the_english_rules() -> None:
    assert rules_matched("Dr. Smith won 3-1 at 9pm & more") == (
        "en_score", "en_title", "en_hour_period", "en_ampersand")
    assert rules_matched("plain words") == ()


@pytest.mark.parametrize("text", ["Let's meet at 3:30 p.m.", "1990s", "TED2024", "$4.2B"])
def test_cleaner_reads_the_improved_words(text: str) -> None:
    improved = clean_text(text, "en", readings="improved").phones
    assert improved != clean_text(text, "en", readings="upstream").phones
    assert improved == clean_text(read(text), "en").phones
