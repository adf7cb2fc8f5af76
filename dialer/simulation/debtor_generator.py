"""Synthetic, realistic Dutch debtor lists for demos, load tests and the simulator.

Real debtor data may not leave the client (GDPR), so tests and benchmarks need
lists that look like the real thing: Dutch and migrant names, mobile numbers
typed in several ways, small amounts far more often than large ones, and a known
share of broken numbers. Everything is a pure function of ``seed`` (and
``today``), so a bug report can name the exact list that triggered it.

Numbers come from known-valid ranges (mobiles 061–065, landlines in the big
cities' area codes) instead of being checked one by one, so a million rows take
seconds; every debtor gets numbers no other debtor has.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import random
from collections.abc import Iterator
from pathlib import Path

from dialer.core.csv_cells import escape_row

COLUMNS = (
    "debtor_id", "name", "phone", "phone2", "language", "timezone", "amount_due", "currency",
    "invoice", "due_date", "risk_score", "segment", "contract",
)

# Numbers the importer must refuse (too short, premium rate, too long, not a number,
# unknown country code); rows carrying one are the intended invalid ones.
BROKEN_NUMBERS = ("06 1234", "0900 1234567", "+31 6 1234 56789", "onbekend", "+999 1234567", "06-00")

FIRST_NAMES = (
    "Jan", "Pieter", "Kees", "Henk", "Daan", "Sem", "Lucas", "Bram", "Thijs", "Ruben", "Jeroen", "Wouter",
    "Sanne", "Anouk", "Lisa", "Emma", "Julia", "Femke", "Marieke", "Ingrid", "Annelies", "Zoë", "Noor",
    "Fatima", "Mohamed", "Youssef", "Khadija", "Samira", "Ahmed", "Nadia", "Hamza", "Imane", "Bilal",
    "Mehmet", "Ayşe", "Emre", "Elif", "Murat", "Zeynep", "Priya", "Rajesh", "Sharon", "Rachelle",
    "Kevin", "Dewi", "Agus", "Tomasz", "Agnieszka", "Olena", "Andrzej", "Sven", "Maarten", "Joost",
)
SURNAMES = (
    "de Vries", "Jansen", "de Jong", "van den Berg", "Bakker", "Visser", "Smit", "Meijer", "de Boer",
    "Mulder", "de Groot", "Bos", "Vos", "Peters", "Hendriks", "van Dijk", "van Leeuwen", "Dekker",
    "Brouwer", "de Wit", "Dijkstra", "Smits", "de Graaf", "van der Meer", "van der Linden", "Kok",
    "Jacobs", "de Haan", "Vermeulen", "van den Heuvel", "van 't Hof", "El Amrani", "Bouzid", "El Idrissi",
    "Benali", "Aït Taleb", "Yılmaz", "Kaya", "Demir", "Çelik", "Öztürk", "Ramdin", "Sewnath",
    "Kromodikromo", "Nowak", "Kowalski", "Wiśniewska", "Kovalenko", "Pinas", "Doelwijt",
)
OTHER_TIMEZONES = (
    "Europe/Brussels", "Europe/Berlin", "Europe/London", "America/Paramaribo", "Europe/Istanbul",
    "Africa/Casablanca", "Europe/Warsaw",
)
CONTRACTS = ("energie", "telecom", "zorgverzekering", "huur", "abonnement", "webshop", "sportschool")

# Mobile national numbers 61..65 + 7 digits: 5e7 numbers, all valid mobiles.
_MOBILE_BASE = 610_000_000
_MOBILE_SPACE = 50_000_000
# Landlines: area code + 7 digits starting 2-9 (Rotterdam, Amsterdam, Utrecht, Eindhoven,
# Groningen, Den Haag).
_AREAS = ("10", "20", "30", "40", "50", "70")
_SUBSCRIBERS = 8_000_000
_LANDLINE_SPACE = len(_AREAS) * _SUBSCRIBERS


def _permute(index: int, space: int, mult: int, offset: int) -> int:
    """A bijection on range(space): distinct debtors get distinct numbers that still look random."""
    return (index * mult + offset) % space


def _coprime_multiplier(rng: random.Random, space: int) -> int:
    while True:
        mult = rng.randrange(space // 3, space)
        if math.gcd(mult, space) == 1:
            return mult


def _mobile_text(nsn: int, style: float) -> str:
    """Numbers as people type them; every style parses to the same E.164 number."""
    digits = str(nsn)  # 9 digits, "6xxxxxxxx"
    if style < 0.70:
        return f"+31{digits}"
    if style < 0.90:
        return f"0{digits[0]} {digits[1:]}"
    if style < 0.95:
        return f"0{digits[0]}-{digits[1:]}"
    return f"+31 {digits[0]} {digits[1:5]} {digits[5:]}"


def _landline_text(index: int, style: float) -> str:
    area, subscriber = divmod(index, _SUBSCRIBERS)
    code = _AREAS[area]
    number = str(2_000_000 + subscriber)
    if style < 0.6:
        return f"+31{code}{number}"
    return f"0{code} {number[:3]} {number[3:]}"


def generate_debtor_rows(
    n: int, seed: int = 1, *, invalid_share: float = 0.01, today: dt.date | None = None
) -> Iterator[dict[str, str]]:
    """``n`` debtor rows (column → text) as a debtor list would hold them."""
    if n > _MOBILE_SPACE // 2:
        raise ValueError(f"at most {_MOBILE_SPACE // 2} rows can get unique numbers")
    rng = random.Random(seed)
    today = today or dt.date.today()
    mobile_mult = _coprime_multiplier(rng, _MOBILE_SPACE)
    mobile_offset = rng.randrange(_MOBILE_SPACE)
    land_mult = _coprime_multiplier(rng, _LANDLINE_SPACE)
    land_offset = rng.randrange(_LANDLINE_SPACE)
    log_low, log_high = math.log(2500), math.log(500_000)
    # Due dates 1..60 days back; the 60 possible texts are made once.
    due_dates = [today - dt.timedelta(days=days) for days in range(1, 61)]
    due_texts = [(due.isoformat(), due.strftime("%d-%m-%Y"), due.year) for due in due_dates]
    random_ = rng.random
    choice = rng.choice

    def mobile(index: int) -> str:
        nsn = _MOBILE_BASE + _permute(index, _MOBILE_SPACE, mobile_mult, mobile_offset)
        return _mobile_text(nsn, random_())

    def landline(index: int) -> str:
        return _landline_text(_permute(index, _LANDLINE_SPACE, land_mult, land_offset), random_())

    for i in range(n):
        # Debtor i owns mobile slots i and n + i and landline slot i: no two debtors share a number.
        primary_is_mobile = random_() < 0.92
        phone = mobile(i) if primary_is_mobile else landline(i)
        phone2 = ""
        if random_() < 0.10:
            phone2 = landline(i) if primary_is_mobile and random_() < 0.6 else mobile(n + i)
        if random_() < invalid_share:
            # Half of the broken rows keep a good second number: imported with a flag.
            phone2 = phone if random_() < 0.5 else ""
            phone = choice(BROKEN_NUMBERS)

        # Amounts: log-uniform-ish skewed to small, whole cents 25.00–5000.00.
        cents = int(math.exp(log_low + (log_high - log_low) * random_() ** 1.8))
        language = "en" if random_() < 0.15 else "nl"
        timezone = choice(OTHER_TIMEZONES) if random_() < 0.04 else "Europe/Amsterdam"
        due_iso, due_dmy, due_year = due_texts[int(random_() * 60)]
        yield {
            "debtor_id": f"D{i + 1:08d}",
            "name": f"{choice(FIRST_NAMES)} {choice(SURNAMES)}",
            "phone": phone,
            "phone2": phone2,
            "language": language,
            "timezone": timezone,
            "amount_due": f"{cents // 100}.{cents % 100:02d}",
            "currency": "EUR",
            "invoice": f"F{due_year}-{i + 1:07d}",
            "due_date": due_iso if random_() < 0.9 else due_dmy,
            "risk_score": f"{random_():.3f}",
            "segment": "smb" if random_() < 0.2 else "consumer",
            "contract": f"{choice(CONTRACTS)}-{2018 + int(random_() * 8)}",
        }


def write_debtors_csv(
    path: str | Path,
    n: int,
    seed: int = 1,
    *,
    invalid_share: float = 0.01,
    today: dt.date | None = None,
    delimiter: str = ",",
) -> int:
    """Write a generated list as UTF-8 CSV with the columns read_debtors expects (cells escaped as every
    CSV callpact writes, dialer.core.csv_cells); returns the row count."""
    count = 0
    with open(path, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
        writer.writerow(COLUMNS)
        for row in generate_debtor_rows(n, seed, invalid_share=invalid_share, today=today):
            writer.writerow(escape_row(row.values()))
            count += 1
    return count
