"""Round trip through the Python client that openapi-python-client generates from
openapi/openapi.json (tests/contract/run.sh generates it, then runs this against a live server).

Every call goes through the generated functions and models: a response the client cannot parse
into its model comes back as None and fails here."""

import sys
import uuid

from moodring_client import AuthenticatedClient, Client
from moodring_client.api.analytics import export_events, get_mood_aggregate, get_mood_analytics, get_mood_timeseries
from moodring_client.api.health import get_health
from moodring_client.api.keys import generate_key, issue_key, revoke_current_key
from moodring_client.api.sessions import (
    delete_session,
    get_mood,
    get_session_mood_history,
    get_session_state,
    post_events,
    post_feedback,
)
from moodring_client.api.users import delete_user, get_user_mood, get_user_mood_history, get_user_sessions
from moodring_client.models import (
    ApiError,
    Event,
    EventType,
    FeedbackRequest,
    GenerateKeyRequest,
    GenerateKeyRequestPlan,
    HistoryResponse,
    MoodAggregate,
    MoodAnalytics,
    MoodResponse,
    PostEventsRequest,
    PostEventsResponse,
    StateResponse,
    TimeSeries,
    UserMood,
    UserSessions,
)


def expect(value, kind):
    assert isinstance(value, kind), f"expected {kind.__name__}, got {value!r}"
    return value


def main(base_url: str) -> None:
    anonymous = Client(base_url=base_url, raise_on_unexpected_status=True)
    assert get_health.sync(client=anonymous).status.value == "ok"

    key = generate_key.sync(
        client=anonymous,
        body=GenerateKeyRequest(customer_name="Python Client", email="py@example.com", plan=GenerateKeyRequestPlan.GROWTH),
    )
    assert key.api_key.startswith("sm_") and key.plan.value == "growth", key
    # The documented header scheme for this client; the TypeScript round trip uses Bearer.
    client = AuthenticatedClient(
        base_url=base_url, token=key.api_key, prefix="", auth_header_name="X-Api-Key", raise_on_unexpected_status=True
    )

    session = f"py-{uuid.uuid4()}"
    burst = [Event(type_=EventType.ERROR, message="Payment failed", event_id=f"e{i}") for i in range(3)] + [
        Event(type_=EventType.RAGE_CLICK, x=10.0, y=20.0, event_id=f"r{i}") for i in range(4)
    ]
    posted = expect(
        post_events.sync(session, client=client, body=PostEventsRequest(events=burst, user_id="py-user")),
        PostEventsResponse,
    )
    assert (posted.events_stored, posted.current_mood.value) == (7, "frustrated"), posted
    again = expect(post_events.sync(session, client=client, body=PostEventsRequest(events=burst[:2])), PostEventsResponse)
    assert (again.events_stored, again.duplicates, again.total_events) == (0, 2, 7), again

    mood = expect(get_mood.sync(session, client=client), MoodResponse)
    assert mood.mood.value == "frustrated" and 0 < mood.confidence <= 1 and mood.event_count == 7, mood
    assert mood.suggested_action.value == "show_live_chat", mood
    state = expect(get_session_state.sync(session, client=client), StateResponse)
    assert state.mood.event_count == 7, state
    history = expect(get_session_mood_history.sync(session, client=client, limit=5), HistoryResponse)
    assert len(history.entries) == 5 and history.next_cursor, history
    rest = expect(get_session_mood_history.sync(session, client=client, before=history.next_cursor), HistoryResponse)
    assert len(rest.entries) == 2, rest

    feedback = post_feedback.sync(session, client=client, body=FeedbackRequest(action_taken="show_live_chat", was_helpful=True))
    assert feedback.feedback_recorded is True, feedback

    person = expect(get_user_mood.sync("py-user", client=client), UserMood)
    assert person.user_id == "py-user" and person.summary and len(person.recent_sessions) == 1, person
    assert expect(get_user_sessions.sync("py-user", client=client), UserSessions).sessions[0].session_id == session
    assert len(expect(get_user_mood_history.sync("py-user", client=client), HistoryResponse).entries) == 7

    analytics = expect(get_mood_analytics.sync(client=client), MoodAnalytics)
    assert analytics.total_sessions == 1 and analytics.feedback_count == 1, analytics
    aggregate = expect(get_mood_aggregate.sync(client=client, days=1), MoodAggregate)
    assert aggregate.session_count == 1 and aggregate.user_count == 1, aggregate
    series = expect(get_mood_timeseries.sync(client=client), TimeSeries)
    assert sum(b.events for b in series.buckets) == 7, series
    exported = export_events.sync(client=client)
    assert isinstance(exported, str) and len(exported.strip().splitlines()) == 7, exported

    # An error comes back as the documented model, not an exception or None.
    missing = expect(get_mood.sync("no-such-session", client=client), ApiError)
    assert missing.error == "Session not found", missing

    assert delete_session.sync(session, client=client).deleted is True
    assert isinstance(get_mood.sync(session, client=client), ApiError)
    assert delete_user.sync("py-user", client=client).deleted is True

    # Rotation: a second key works, then the first one is revoked and stops working.
    second = issue_key.sync(client=client)
    assert second.api_key != key.api_key
    assert revoke_current_key.sync(client=client).revoked is True
    assert isinstance(get_mood_analytics.sync(client=client), ApiError)
    rotated = AuthenticatedClient(base_url=base_url, token=second.api_key, raise_on_unexpected_status=True)
    assert expect(get_mood_analytics.sync(client=rotated), MoodAnalytics).total_sessions == 0
    print("python client round trip: ok")


if __name__ == "__main__":
    main(sys.argv[1])
