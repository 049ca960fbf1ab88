"""When an event happens: its occurrences, and the checks of its dates, times and rule.

A non-recurring event happens once, from ``start_date start_time`` to ``end_date
end_time``. A recurring event (event type Recurring) happens on every day between
``start_date`` and ``end_date`` (both included) whose weekday is in ``recurring_days``, each
time from ``start_time`` to ``end_time``: Django-CRM stored one row per such day; here the
rule is stored and the days are computed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time, timedelta

WEEKDAYS: tuple[str, ...] = (
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
)
RECURRING = "Recurring"
# The most occurrences one range query returns per event, and the widest window (days).
MAX_WINDOW_DAYS = 366


@dataclass(frozen=True, slots=True)
class Rule:
    event_type: str
    start_date: date
    start_time: time
    end_date: date
    end_time: time | None
    recurring_days: tuple[str, ...]

    @property
    def recurring(self) -> bool:
        return self.event_type == RECURRING


def problems(rule: Rule) -> list[tuple[str, str]]:
    """What is wrong with a schedule, as (field, message) pairs; empty when it is sound."""
    found: list[tuple[str, str]] = []
    if rule.end_date < rule.start_date:
        found.append(("end_date", "The end date cannot be before the start date"))
    if rule.recurring:
        if not rule.recurring_days:
            found.append(("recurring_days", "Choose atleast one recurring day"))
        if rule.end_date == rule.start_date:
            found.append(("end_date", "A recurring event ends on a later day than it starts"))
        if rule.end_time is not None and rule.end_time < rule.start_time:
            found.append(("end_time", "The end time cannot be before the start time"))
        elif rule.recurring_days and first_day(rule) is None:
            found.append(("recurring_days", "No chosen weekday falls between the dates"))
    elif (
        rule.end_time is not None
        and rule.end_date == rule.start_date
        and rule.end_time < rule.start_time
    ):
        found.append(("end_time", "The event cannot end before it starts"))
    return found


def days_of(rule: Rule, first: date | None = None, last: date | None = None) -> list[date]:
    """The days the event happens on within [first, last] (default: all of them)."""
    low = max(rule.start_date, first) if first else rule.start_date
    high = min(rule.end_date, last) if last else rule.end_date
    if not rule.recurring:
        return [rule.start_date] if rule.start_date <= high and rule.end_date >= low else []
    wanted = {WEEKDAYS.index(day) for day in rule.recurring_days}
    days = []
    day = low
    while day <= high:
        if day.weekday() in wanted:
            days.append(day)
        day += timedelta(days=1)
    return days


def first_day(rule: Rule) -> date | None:
    """The first day the event happens on: within a week of its start, if at all."""
    week = days_of(rule, last=rule.start_date + timedelta(days=6))
    return week[0] if week else None


def normalise_days(values: list[str]) -> list[str]:
    """Weekday names in week order, each once, matched regardless of case ("mon" is not a
    weekday: full names only, as Django-CRM takes them)."""
    by_key = {day.lower(): day for day in WEEKDAYS}
    chosen = set()
    for value in values:
        if not isinstance(value, str):
            raise ValueError(f"Weekdays are names, not {value!r}")
        day = by_key.get(value.strip().lower())
        if day is None:
            raise ValueError(f"Unknown weekday {value!r}; use one of: {', '.join(WEEKDAYS)}")
        chosen.add(day)
    return [day for day in WEEKDAYS if day in chosen]
