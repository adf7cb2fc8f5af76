"""Raw prompt text becomes what a listener should hear: figures in words, the rest untouched."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audio.normalise import normalise

DUTCH = [
    # money, as written in templates and debtor files
    ("U heeft een openstaand bedrag van € 45,20.",
     "U heeft een openstaand bedrag van vijfenveertig euro twintig."),
    ("€45.20", "vijfenveertig euro twintig"),
    ("EUR 45,20", "vijfenveertig euro twintig"),
    ("45,20 euro", "vijfenveertig euro twintig"),
    ("45,20 EUR", "vijfenveertig euro twintig"),
    ("€ 1.250,00", "twaalfhonderdvijftig euro"),
    ("€ 1.250,-", "twaalfhonderdvijftig euro"),
    ("€1250", "twaalfhonderdvijftig euro"),
    ("€ 0,50", "vijftig cent"),
    ("€ 0,01", "één cent"),
    ("€ 21,00", "eenentwintig euro"),
    ("$ 5", "vijf dollar"),
    ("£5.20", "vijf pond twintig"),
    ("45 euro en 50 cent", "vijfenveertig euro en vijftig cent"),
    ("EUR45", "vijfenveertig euro"),
    ("€ 1.250.000,50", "één miljoen tweehonderdvijftigduizend euro vijftig"),
    ("€ 12.345,67", "twaalfduizend driehonderdvijfenveertig euro zevenenzestig"),
    ("een tegoed van € -5,00", "een tegoed van min vijf euro"),
    ("-€ 45,20", "min vijfenveertig euro twintig"),
    ("tussen 40-50 euro", "tussen veertig tot vijftig euro"),
    # IBANs and postcodes, character by character
    ("maak over naar NL91 ABNA 0417 1643 00.",
     "maak over naar N L negen één, A B N A, nul vier één zeven, één zes vier drie, nul nul."),
    ("NL91ABNA0417164300", "N L negen één, A B N A, nul vier één zeven, één zes vier drie, nul nul"),
    ("1234 AB Amsterdam", "één twee drie vier, A B Amsterdam"),
    # dates
    ("te betalen voor 15-12-2026.", "te betalen voor vijftien december tweeduizend zesentwintig."),
    ("15/12/2026", "vijftien december tweeduizend zesentwintig"),
    ("15.12.2026", "vijftien december tweeduizend zesentwintig"),
    ("op 2026-12-15", "op vijftien december tweeduizend zesentwintig"),
    ("op 15 december", "op vijftien december"),
    ("1 maart 2027", "één maart tweeduizend zevenentwintig"),
    ("15 dec 2026", "vijftien december tweeduizend zesentwintig"),
    ("uiterlijk 3 mrt.", "uiterlijk drie maart"),
    ("31-02-2026", "eenendertig twee tweeduizend zesentwintig"),
    # times
    ("om 14:30", "om veertien uur dertig"),
    ("om 14.30 uur", "om veertien uur dertig"),
    ("om 9:05 uur", "om negen uur vijf"),
    ("tussen 9:00 en 17:00", "tussen negen uur en zeventien uur"),
    ("om 14:30:00", "om veertien uur dertig"),
    # phone numbers
    ("Bel 06 12345678", "Bel nul zes, één twee, drie vier, vijf zes, zeven acht"),
    ("06-12345678", "nul zes, één twee, drie vier, vijf zes, zeven acht"),
    ("0612345678", "nul zes, één twee, drie vier, vijf zes, zeven acht"),
    ("bel 020 123 4567!", "bel nul twee nul, één twee drie, vier vijf zes zeven!"),
    ("Tel: (020) 1234567", "Tel: nul twee nul, één twee drie, vier vijf zes zeven"),
    ("+31 6 12345678", "plus drie één, zes, één twee, drie vier, vijf zes, zeven acht"),
    ("+31612345678", "plus drie één, zes, één twee, drie vier, vijf zes, zeven acht"),
    ("0031612345678", "plus drie één, zes, één twee, drie vier, vijf zes, zeven acht"),
    ("0800-1234", "nul acht nul nul, één twee drie vier"),
    # references and long digit runs
    ("factuur INV-2026-0042.", "factuur I N V, twee nul twee zes, nul nul vier twee."),
    ("kenmerk AB12345", "kenmerk A B, één twee drie, vier vijf"),
    ("referentie 2026001234", "referentie twee nul twee, zes nul nul, één twee drie vier"),
    ("dossier 2026-0042", "dossier twee nul twee zes, nul nul vier twee"),
    # other numbers and signs
    ("12,5% rente", "twaalf komma vijf procent rente"),
    ("3 % rente", "drie procent rente"),
    ("de 1e termijn", "de eerste termijn"),
    ("de 21ste", "de eenentwintigste"),
    ("3,75 keer", "drie komma vijfenzeventig keer"),
    ("45.000 klanten", "vijfenveertigduizend klanten"),
    ("1.250.000 klanten", "één miljoen tweehonderdvijftigduizend klanten"),
    ("code 0417", "code nul vier één zeven"),
    ("u heeft 3 facturen", "u heeft drie facturen"),
    ("van 9-17 uur", "van negen tot zeventien uur"),
    ("ma t/m vr", "ma tot en met vr"),
    ("Jansen & Zn", "Jansen en Zn"),
    ("in 2026", "in tweeduizend zesentwintig"),
    # whitespace and plain text
    ("Goedemiddag,\n  meneer\tJansen.", "Goedemiddag, meneer Jansen."),
    ("Geen cijfers hier.", "Geen cijfers hier."),
]

ENGLISH = [
    ("You owe €45.20.", "You owe forty-five euros and twenty cents."),
    ("EUR 45,20", "forty-five euros and twenty cents"),
    ("£5.20 or $ 1,250.00", "five pounds and twenty pence or one thousand two hundred and fifty dollars"),
    ("45 euros", "forty-five euros"),
    ("€1", "one euro"),
    ("due on 15/12/2026", "due on the fifteenth of December twenty twenty-six"),
    ("due 2026-12-15", "due the fifteenth of December twenty twenty-six"),
    ("by December 15, 2026", "by the fifteenth of December twenty twenty-six"),
    ("on 15 December", "on the fifteenth of December"),
    ("the 15th of December", "the fifteenth of December"),
    ("at 2:30 pm", "at two thirty in the afternoon"),
    ("at 9:05 a.m.", "at nine oh five in the morning"),
    ("at 14:30", "at two thirty in the afternoon"),
    ("call +31 6 12345678", "call plus three one, six, one two, three four, five six, seven eight"),
    ("call 06 12345678", "call zero six, one two, three four, five six, seven eight"),
    ("reference INV-2026-0042", "reference I N V, two zero two six, zero zero four two"),
    ("12.5% interest", "twelve point five percent interest"),
    ("3.75 times", "three point seven five times"),
    ("your 3rd payment", "your third payment"),
    ("the 21st", "the twenty-first"),
    ("e.g. 45 euros", "for example forty-five euros"),
    ("1,250 customers", "one thousand two hundred and fifty customers"),
    ("1,250,000 people", "one million two hundred and fifty thousand people"),
    ("-$5.00", "minus five dollars"),
    ("USD45", "forty-five dollars"),
    ("at 14:30:00", "at two thirty in the afternoon"),
    ("account GB29 NWBK 6016 1331 9268 19",
     "account G B two nine, N W B K, six zero one six, one three three one, nine two six eight, one nine"),
    ("open 9-17", "open nine to seventeen"),
    ("Smith & Sons", "Smith and Sons"),
]


@pytest.mark.parametrize(("raw", "spoken"), DUTCH)
def test_dutch_text_is_made_speakable(raw: str, spoken: str) -> None:
    assert normalise(raw, "nl") == spoken


@pytest.mark.parametrize(("raw", "spoken"), ENGLISH)
def test_english_text_is_made_speakable(raw: str, spoken: str) -> None:
    assert normalise(raw, "en") == spoken


def test_shell_syntax_and_quotes_stay_literal_text() -> None:
    text = "$(rm -rf x) `touch pwned` 'quote' \"dq\"; echo hi"
    assert normalise(text, "en") == "dollar (rm -rf x) `touch pwned` 'quote' \"dq\"; echo hi"


def test_region_decides_which_national_numbers_are_phone_numbers() -> None:
    # A Belgian mobile written nationally: a phone number for region BE, a digit run for NL.
    spoken = "nul vier zeven nul, één twee, drie vier, vijf zes"
    assert normalise("0470 12 34 56", "nl", region="BE") == spoken


def test_unknown_language_is_named() -> None:
    with pytest.raises(ValueError, match="unsupported language 'fr'"):
        normalise("€ 45,20", "fr")


_PIECES = st.sampled_from([*"0123456789 .,-/:€$£%+&()#aeNLxEURuvm\n'", " euro", " uur", " december", "EUR",
                           "+31", "06", " pm", "1e", "th", "INV-", "t/m"])


@settings(max_examples=500, deadline=None)
@given(st.lists(_PIECES, max_size=40).map("".join), st.sampled_from(["nl", "en"]))
def test_no_figure_is_left_for_the_engine_to_guess(text: str, language: str) -> None:
    """Whatever the text, no digit reaches the engine and normalisation never fails."""
    assert not re.search(r"\d", normalise(text, language))
