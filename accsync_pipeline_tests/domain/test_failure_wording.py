"""A failed run is told by its root cause's own first line, without the class names wrapped around it."""

from __future__ import annotations

import pytest

from accsync_pipeline.domain.failures import (
    MAX_CAUSE_LENGTH,
    NO_MESSAGE,
    cause_in_words,
    exception_in_words,
    retries_text,
    root_cause,
    run_failure_description,
)


@pytest.mark.parametrize(
    ("message", "class_names", "words"),
    [
        (None, (), NO_MESSAGE),
        ("", (), NO_MESSAGE),
        (" \n\t\n", (), NO_MESSAGE),
        ("  disk full  \nTraceback (most recent call last):", (), "disk full"),
        ("\n\nsecond line first\nthird", (), "second line first"),
        ("Boom: disk full", (), "Boom: disk full"),
        ("Boom: disk full", ("Boom",), "disk full"),
        ("Boom:disk full", ("Boom",), "disk full"),
        ("app.jobs.Boom: disk full", ("Boom",), "disk full"),
        ("Boom: disk full", ("", "Other"), "Boom: disk full"),
        ("Boom: Boom: disk full", ("Boom",), "disk full"),
        ("(sqlite3.OperationalError) no such table: x", (), "no such table: x"),
        ("(a.B) (c.D) disk full", (), "disk full"),
        ("(OperationalError) disk full", (), "disk full"),
        (
            "sqlalchemy.exc.OperationalError: (sqlite3.OperationalError) no such table: x",
            (),
            "no such table: x",
        ),
        ("pkg.mod.OuterError: Boom: (sqlite3.OperationalError) disk full", ("Boom",), "disk full"),
        ("KeyError: 'HLF_BC_SECRET'", (), "'HLF_BC_SECRET'"),
        ("ValueError:", (), NO_MESSAGE),
        ("RuntimeError: ", (), NO_MESSAGE),
        ("dagster._core.errors.DagsterExecutionStepExecutionError: step failed", (), "step failed"),
        ("SystemExit: 2", (), "2"),
        ("KeyboardInterrupt: stop", (), "stop"),
        ("UserWarning: careful", (), "careful"),
        ("ConnectorFailure: ledger down", (), "ledger down"),
        ("BadException: x", (), "x"),
        (
            "Note: environment variable HLF_BC_SECRET_TYPO is not set",
            (),
            "Note: environment variable HLF_BC_SECRET_TYPO is not set",
        ),
        ("error: lower-case is not a class", (), "error: lower-case is not a class"),
        ("Error:no space is not Python's formatting", (), "Error:no space is not Python's formatting"),
        ("(not a driver prefix", (), "(not a driver prefix"),
        ("(sqlite3.OperationalError)no space", (), "(sqlite3.OperationalError)no space"),
        ("x (sqlite3.OperationalError) y", (), "x (sqlite3.OperationalError) y"),
    ],
)
def test_cause_in_words(message: str | None, class_names: tuple[str, ...], words: str) -> None:
    assert cause_in_words(message, class_names) == words


def test_a_long_cause_is_cut_to_the_limit_with_an_ellipsis() -> None:
    exactly = "x" * MAX_CAUSE_LENGTH
    assert cause_in_words(exactly) == exactly
    cut = cause_in_words("y" * (MAX_CAUSE_LENGTH + 1))
    assert cut == "y" * (MAX_CAUSE_LENGTH - 1) + "…"
    assert len(cut) == MAX_CAUSE_LENGTH == 500


@pytest.mark.parametrize(
    ("retries", "text"),
    [
        (-1, "without a retry"),
        (0, "without a retry"),
        (1, "after 1 retry"),
        (2, "after 2 retries"),
        (11, "after 11 retries"),
    ],
)
def test_retries_text(retries: int, text: str) -> None:
    assert retries_text(retries) == text


def test_run_failure_description() -> None:
    assert (
        run_failure_description("Business Central", "hlf", "environment variable X is not set", 1)
        == "The sync of hlf to Business Central failed after 1 retry: environment variable X is not set"
    )


class LedgerDown(Exception):
    """Stands for a connector's own error, worded for administrators."""


def raised_from(error: BaseException, cause: BaseException) -> BaseException:
    try:
        raise error from cause
    except BaseException as e:
        return e


def raised_during(error: BaseException, context: BaseException) -> BaseException:
    try:
        try:
            raise context
        except BaseException:
            raise error  # noqa: B904 - the implicit context is what is tested
    except BaseException as e:
        return e


def test_the_root_cause_is_the_innermost_explicit_cause() -> None:
    socket = OSError("connection reset")
    middle = raised_from(RuntimeError("step failed"), socket)
    outer = raised_from(ValueError("op failed"), middle)
    assert root_cause(outer) is socket
    assert root_cause(socket) is socket


def test_the_root_cause_follows_an_implicit_context_unless_suppressed() -> None:
    inner = KeyError("HLF_BC_SECRET")
    assert root_cause(raised_during(RuntimeError("op failed"), inner)) is inner
    suppressed = RuntimeError("op failed")
    suppressed.__context__ = inner
    suppressed.__suppress_context__ = True
    assert root_cause(suppressed) is suppressed


def test_the_cause_wins_over_the_context() -> None:
    cause, context = OSError("the cause"), KeyError("the context")
    error = RuntimeError("outer")
    error.__cause__, error.__context__ = cause, context
    assert root_cause(error) is cause


def test_the_first_worded_error_stops_the_search() -> None:
    socket = OSError("connection reset")
    worded = raised_from(LedgerDown("Business Central did not answer"), socket)
    outer = raised_from(RuntimeError("op failed"), worded)
    assert root_cause(outer, (LedgerDown,)) is worded
    assert root_cause(outer) is socket
    assert root_cause(worded, (LedgerDown,)) is worded


def test_a_cycle_in_the_chain_ends_the_search() -> None:
    a, b = RuntimeError("a"), RuntimeError("b")
    a.__cause__, b.__cause__ = b, a
    assert root_cause(a) is b
    c = RuntimeError("c")
    b.__cause__, c.__cause__ = c, b  # a loop that does not pass through the error asked about
    assert root_cause(a) is c
    itself = RuntimeError("self")
    itself.__cause__ = itself
    assert root_cause(itself) is itself


def test_an_exception_in_words_is_its_root_cause_without_its_class_name() -> None:
    class Boom(Exception):
        pass

    outer = raised_from(RuntimeError("RuntimeError: op failed"), Boom("Boom: disk full"))
    assert exception_in_words(outer) == "disk full"
    worded = raised_from(LedgerDown("Business Central did not answer"), OSError("reset"))
    assert exception_in_words(raised_from(RuntimeError("x"), worded), (LedgerDown,)) == (
        "Business Central did not answer"
    )
    assert exception_in_words(RuntimeError()) == NO_MESSAGE
