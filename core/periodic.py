"""Periodic work goes on past one bad row: a step that fails for one clinic (or one time zone
group, or one request) is logged and skipped, and the others are done.

The log line names the task, what was skipped (an id, never a name or health data) and the
exception's class only: messages can quote SQL parameters or the offending value.

What is not one row's fault is not swallowed: a database outage (every later step would fail
too; the task fails as before and runs again on its next beat) and Celery's soft time limit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TypeVar

from billiard.exceptions import SoftTimeLimitExceeded

from core.faults import DATABASE_UNAVAILABLE

logger = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

NOT_ONE_ROWS_FAULT = (*DATABASE_UNAVAILABLE, SoftTimeLimitExceeded)


def each_isolated(items: Iterable[T], step: Callable[[T], R], *, task: str,
                  what: Callable[[T], str]) -> list[R]:
    """``step(item)`` for every item; the results of those that did not raise, in order.

    ``what(item)`` names an item in the log ("clinic 7"): ids only. Call it outside a
    transaction (as the tasks do): each step's writes are its services' own transactions.
    """
    done: list[R] = []
    for item in items:
        try:
            done.append(step(item))
        except NOT_ONE_ROWS_FAULT:
            raise
        except Exception as error:  # one row's fault: logged, and the rest go on
            logger.error("%s: %s skipped (%s)", task, what(item), type(error).__name__)
    return done
