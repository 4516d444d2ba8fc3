"""Console log-in sessions: what a cookie value opens, and when it stops opening it."""

from __future__ import annotations

from gateway.console.sessions import Sessions


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_session_is_found_by_its_id_only_until_it_expires() -> None:
    clock = Clock()
    sessions = Sessions(lifetime=60, clock=clock)
    session_id, session = sessions.open()
    assert sessions.find(session_id) is session
    assert sessions.find(session_id + "x") is None and sessions.find(None) is None
    # The id itself is kept nowhere: only its digest.
    assert session_id.encode() not in session.digest and session.csrf != session_id
    clock.now = 60
    assert sessions.find(session_id) is None


def test_closing_forgets_the_session_and_the_oldest_goes_first_past_the_cap() -> None:
    sessions = Sessions(max_sessions=2)
    first, _ = sessions.open()
    second, _ = sessions.open()
    third, _ = sessions.open()
    assert sessions.find(first) is None
    assert sessions.find(second) is not None and sessions.find(third) is not None
    sessions.close(second)
    assert sessions.find(second) is None and sessions.find(third) is not None


def test_csrf_tokens_differ_per_session_and_compare_exactly() -> None:
    sessions = Sessions()
    _, one = sessions.open()
    _, other = sessions.open()
    assert one.csrf != other.csrf
    assert one.csrf_ok(one.csrf) and not one.csrf_ok(other.csrf)
    assert not one.csrf_ok(None) and not one.csrf_ok("")
