//! Server-Sent Events: `GET /v1/stream` (a tenant's changes) and
//! `GET /v1/sessions/{id}/mood/stream` (one session's), and the short-lived tokens that let a
//! browser's `EventSource`, which cannot send headers, open them. Messages come from this
//! replica's hub ([`crate::push`]); a stream that resumes (`Last-Event-ID`) or falls behind
//! reads what it missed from the outbox, so nothing placed in the window is lost.

use super::Tag;
use super::auth::{Auth, SessionStreamAuth, TenantStreamAuth};
use super::body::JsonBody;
use super::error::{ApiError, Fails, Failures};
use super::params::ClientIdParam;
use super::wire::{MoodLabel, UiAction, iso8601, session_id};
use crate::auth::StreamGrant;
use crate::domain::{SessionId, Tenant};
use crate::engine::Mood;
use crate::push::{Kind, Message, Subscription, Topic};
use crate::state::AppState;
use crate::store::{Store, outbox};
use futures_util::stream::{BoxStream, StreamExt};
use poem::IntoResponse;
use poem::web::Data;
use poem::web::sse::Event;
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::{Json, Payload};
use poem_openapi::registry::{MetaSchema, MetaSchemaRef, Registry};
use poem_openapi::types::{Example, Type};
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use serde::Deserialize;
use std::collections::VecDeque;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

/// A comment line this often keeps proxies from closing a quiet stream.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// Messages read from the outbox at a time when resuming.
const REPLAY_BATCH: u64 = 500;
/// Stream token lifetimes, in seconds.
const DEFAULT_STREAM_TTL_S: i64 = 3600;

/// What a message announces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum, Deserialize)]
#[oai(rename = "PushEventType")]
pub enum PushEventType {
    /// A session's label changed.
    #[oai(rename = "mood.changed")]
    #[serde(rename = "mood.changed")]
    MoodChanged,
    /// A session's first events were stored.
    #[oai(rename = "session.started")]
    #[serde(rename = "session.started")]
    SessionStarted,
}

impl PushEventType {
    pub fn kind(self) -> Kind {
        match self {
            Self::MoodChanged => Kind::MoodChanged,
            Self::SessionStarted => Kind::SessionStarted,
        }
    }

    pub fn of(kind: Kind) -> Self {
        match kind {
            Kind::MoodChanged => Self::MoodChanged,
            Kind::SessionStarted => Self::SessionStarted,
        }
    }
}

/// The session as the event that changed its label (or its first event) left it.
#[derive(Debug, Object, Deserialize)]
pub struct MoodChange {
    pub session_id: String,
    /// The person the session is linked to, if any.
    #[oai(nullable)]
    pub user_id: Option<String>,
    /// The label before the change; null for `session.started`.
    #[oai(nullable)]
    pub previous_mood: Option<MoodLabel>,
    pub mood: MoodLabel,
    /// Confidence in the label, 0–1, to 4 decimals.
    pub confidence: f64,
    /// Signals behind the label, strongest first.
    pub signals: Vec<String>,
    pub suggested_action: UiAction,
    /// The session's events up to and including the one that made the change.
    pub event_count: i64,
    /// That event's time (your client's clock), ISO 8601.
    pub event_time: String,
}

/// A pushed message: an SSE event's `data`, and a webhook's body (Standard Webhooks' shape).
#[derive(Debug, Object, Deserialize)]
#[oai(example)]
pub struct PushMessage {
    /// The message's id: its place in commit order, the same for every stream and endpoint that
    /// gets it (the SSE `id:` and the `webhook-id` header). Ids grow; they are not contiguous
    /// for a tenant or a session.
    pub id: i64,
    #[oai(rename = "type")]
    #[serde(rename = "type")]
    pub kind: PushEventType,
    /// When moodring received the change, ISO 8601.
    pub timestamp: String,
    pub data: MoodChange,
}

impl Example for PushMessage {
    fn example() -> Self {
        Self {
            id: 1042,
            kind: PushEventType::MoodChanged,
            timestamp: "2026-05-04T10:00:01.250Z".into(),
            data: MoodChange {
                session_id: "user_abc".into(),
                user_id: Some("u_8f3k2a".into()),
                previous_mood: Some(MoodLabel::Browsing),
                mood: MoodLabel::Frustrated,
                confidence: 0.89,
                signals: vec!["rage_click_detected".into(), "repeated_errors".into()],
                suggested_action: UiAction::ShowLiveChat,
                event_count: 6,
                event_time: "2026-05-04T10:00:00.000Z".into(),
            },
        }
    }
}

/// A stream's messages as `text/event-stream` (documented as an array of [`PushMessage`], as
/// poem-openapi documents its `EventStream`). Written here rather than with poem's SSE, which
/// reads the events back through a 4 KiB buffer per stream (benches/RESULTS.md, session 24).
pub struct MessageStream(BoxStream<'static, Arc<Message>>);

impl Payload for MessageStream {
    const CONTENT_TYPE: &'static str = "text/event-stream";

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            items: Some(Box::new(PushMessage::schema_ref())),
            ..MetaSchema::new_with_format("array", "event-stream")
        }))
    }

    fn register(registry: &mut Registry) {
        PushMessage::register(registry);
    }
}

impl IntoResponse for MessageStream {
    fn into_response(self) -> poem::Response {
        let Self(mut messages) = self;
        let mut quiet = tokio::time::interval_at(tokio::time::Instant::now() + KEEP_ALIVE, KEEP_ALIVE);
        let frames = futures_util::stream::poll_fn(move |cx| {
            if let Poll::Ready(message) = messages.poll_next_unpin(cx) {
                quiet.reset();
                return Poll::Ready(message.map(|m| {
                    let event = Event::message(m.body()).id(m.seq.to_string()).event_type(m.kind.as_str());
                    Ok::<_, std::io::Error>(event.to_string())
                }));
            }
            quiet.poll_tick(cx).map(|_| Some(Ok(":\n\n".to_owned())))
        });
        poem::Response::builder()
            .content_type(Self::CONTENT_TYPE)
            .header("Cache-Control", "no-cache")
            // Tells nginx not to buffer the stream.
            .header("X-Accel-Buffering", "no")
            .body(poem::Body::from_bytes_stream(frames))
    }
}

/// An open stream: `text/event-stream`, one event per message (`id:` its id, `event:` its
/// type, `data:` the [`PushMessage`]), a comment every 15 s while quiet.
#[derive(ApiResponse)]
pub enum StreamResponse {
    /// The stream. Send `Last-Event-ID` (EventSource does when it reconnects) to receive first
    /// what was placed after that id, as far as the outbox keeps it (3 days).
    #[oai(status = 200)]
    Ok(MessageStream),
}

/// A stream token to ask for.
#[derive(Debug, Default, Deserialize, Object)]
#[oai(example, deny_unknown_fields, skip_serializing_if_is_none)]
#[serde(deny_unknown_fields)]
pub struct StreamTokenRequest {
    /// Only this session's changes (its stream, `GET /v1/sessions/{id}/mood/stream`); omit for
    /// every session's (`GET /v1/stream`). The session need not exist yet.
    #[oai(validator(min_length = 1, max_length = 256, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$"))]
    #[serde(default, deserialize_with = "super::body::not_null")]
    pub session_id: Option<String>,
    /// Only changes to these moods; omit for all.
    #[serde(default, deserialize_with = "super::body::not_null")]
    pub moods: Option<Vec<MoodLabel>>,
    /// Lifetime in seconds, 60–86400 (default 3600). Checked when a stream opens: an open stream
    /// outlives its token; reconnecting needs a valid one.
    #[oai(validator(minimum(value = "60"), maximum(value = "86400")))]
    #[serde(default, deserialize_with = "super::body::not_null")]
    pub ttl_seconds: Option<i64>,
}

impl Example for StreamTokenRequest {
    fn example() -> Self {
        Self { session_id: None, moods: Some(vec![MoodLabel::Frustrated]), ttl_seconds: Some(3600) }
    }
}

/// A stream token: put it in the stream's URL as `?token=…`.
#[derive(Debug, Object)]
#[oai(example)]
pub struct StreamTokenResponse {
    pub token: String,
    /// ISO 8601.
    pub expires_at: String,
    /// The stream's path with the token, ready for `new EventSource(…)` on this host.
    pub url: String,
}

impl Example for StreamTokenResponse {
    fn example() -> Self {
        Self {
            token: "eyJhbGciOiJIUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiIqIn0.c2ln".into(),
            expires_at: "2026-05-04T11:00:00.000Z".into(),
            url: "/v1/stream?token=eyJhbGciOiJIUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiIqIn0.c2ln".into(),
        }
    }
}

#[derive(ApiResponse)]
pub enum TokenCreated {
    #[oai(status = 201)]
    Created(Json<StreamTokenResponse>),
}

pub struct OnStream;
impl Failures for OnStream {
    const STATUSES: &'static [u16] = &[400, 401, 403, 429, 500];
}

pub struct OnStreamToken;
impl Failures for OnStreamToken {
    const STATUSES: &'static [u16] = &[400, 401, 403, 413, 415, 429, 500];
}

pub struct StreamsApi;

#[OpenApi(tag = "Tag::Streams")]
impl StreamsApi {
    /// Stream your mood changes
    ///
    /// Server-Sent Events: `mood.changed` when a session's label changes and `session.started`
    /// when one begins, across your sessions, in commit order, within about a second. Secret
    /// key in a header, or a stream token as `?token=` (for `EventSource`). Changes written
    /// through any replica reach every replica's streams.
    #[oai(path = "/v1/stream", method = "get", operation_id = "streamMoods")]
    async fn stream(
        &self,
        state: Data<&Arc<AppState>>,
        auth: TenantStreamAuth,
        /// Only changes to these moods (repeat the parameter for several).
        mood: Query<Vec<MoodLabel>>,
        /// Resume after this message id, a non-negative integer (what `EventSource` sends when it
        /// reconnects).
        #[oai(name = "Last-Event-ID")]
        last_event_id: Header<Option<String>>,
    ) -> Result<StreamResponse, Fails<OnStream>> {
        let holder = auth.holder();
        if holder.session.is_some() {
            let why = "This token grants one session's stream: use GET /v1/sessions/{id}/mood/stream";
            return Err(ApiError::Forbidden(why).into());
        }
        let moods = narrowed(holder.moods, &mood.0);
        open(&state, holder.tenant, None, moods, last_event_id.0.as_deref()).await
    }

    /// Stream a session's mood changes
    ///
    /// As `GET /v1/stream`, for one session (which need not have events yet). Secret key, the
    /// session's own session token (as the bearer, or as `?token=` for `EventSource`), or a
    /// stream token for it.
    #[oai(path = "/v1/sessions/:id/mood/stream", method = "get", operation_id = "streamSessionMood")]
    async fn session_stream(
        &self,
        state: Data<&Arc<AppState>>,
        auth: SessionStreamAuth,
        /// Your session identifier.
        id: Path<ClientIdParam>,
        /// Only changes to these moods (repeat the parameter for several).
        mood: Query<Vec<MoodLabel>>,
        /// Resume after this message id, a non-negative integer (what `EventSource` sends when it
        /// reconnects).
        #[oai(name = "Last-Event-ID")]
        last_event_id: Header<Option<String>>,
    ) -> Result<StreamResponse, Fails<OnStream>> {
        let id = session_id(&id)?;
        let holder = auth.holder();
        if holder.session.as_ref().is_some_and(|granted| granted != &id) {
            return Err(ApiError::Forbidden("This token grants access to its own session only").into());
        }
        let moods = narrowed(holder.moods, &mood.0);
        open(&state, holder.tenant, Some(id), moods, last_event_id.0.as_deref()).await
    }

    /// Create a stream token
    ///
    /// A short-lived token that opens streams and does nothing else, for a browser's
    /// `EventSource` (which cannot send headers): never put your secret key in a URL.
    #[oai(path = "/v1/stream/tokens", method = "post", operation_id = "createStreamToken")]
    async fn token(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Auth,
        body: JsonBody<StreamTokenRequest>,
    ) -> Result<TokenCreated, Fails<OnStreamToken>> {
        let request = body.0;
        let session = request.session_id.as_deref().map(session_id).transpose().map_err(|e| match e {
            ApiError::InvalidSessionId(why) => ApiError::invalid("session_id", format!("session id {why}")),
            other => other,
        })?;
        let ttl = request.ttl_seconds.unwrap_or(DEFAULT_STREAM_TTL_S);
        if !(60..=86_400).contains(&ttl) {
            return Err(ApiError::invalid("ttl_seconds", "must be between 60 and 86400").into());
        }
        let now = state.clock.now();
        let grant = StreamGrant {
            tenant: auth.tenant().id,
            session: session.clone(),
            moods: request.moods.map(|m| m.into_iter().map(Mood::from).collect()),
            expires_at: now,
        };
        let (token, expires_at) = state.tokens.issue_stream(&grant, ttl, now).await?;
        let path = match &session {
            Some(id) => {
                let id = percent_encoding::utf8_percent_encode(id.as_str(), percent_encoding::NON_ALPHANUMERIC);
                format!("/v1/sessions/{id}/mood/stream")
            }
            None => "/v1/stream".to_owned(),
        };
        Ok(TokenCreated::Created(Json(StreamTokenResponse {
            url: format!("{path}?token={token}"),
            token,
            expires_at: iso8601(expires_at.timestamp_millis()),
        })))
    }
}

/// The moods a stream shows: those the grant allows, narrowed to those asked for.
fn narrowed(granted: Option<Vec<Mood>>, asked: &[MoodLabel]) -> Option<Vec<Mood>> {
    let asked: Vec<Mood> = asked.iter().map(|m| Mood::from(*m)).collect();
    match (granted, asked.is_empty()) {
        (granted, true) => granted,
        (None, false) => Some(asked),
        (Some(granted), false) => Some(granted.into_iter().filter(|m| asked.contains(m)).collect()),
    }
}

/// Subscribes, then answers with the stream: first what was placed after `last_event_id` (if
/// given), then what is placed from now on.
async fn open(
    state: &Arc<AppState>,
    tenant: Tenant,
    session: Option<SessionId>,
    moods: Option<Vec<Mood>>,
    last_event_id: Option<&str>,
) -> Result<StreamResponse, Fails<OnStream>> {
    let resume = match last_event_id.map(str::trim) {
        None | Some("") => None,
        Some(raw) => Some(raw.parse::<i64>().ok().filter(|id| *id >= 0).ok_or_else(|| ApiError::InvalidParameter {
            param: "Last-Event-ID".into(),
            message: "must be the id of a message (a non-negative integer)".into(),
        })?),
    };
    let topic = match &session {
        Some(id) => Topic::Session(tenant.id.get(), id.as_str().to_owned()),
        None => Topic::Tenant(tenant.id.get()),
    };
    // Subscribed before reading the head, so nothing placed after it is missed.
    let subscription = state.hub.subscribe(topic);
    let head = outbox::head(&state.store).await?;
    let follower = Follower {
        store: state.store.clone(),
        tenant,
        session,
        moods,
        subscription,
        // An id from the future (another deployment's) cannot skip what comes next.
        seen: resume.map_or(head, |id| id.min(head)),
        replay: resume.is_some(),
        pending: VecDeque::new(),
    };
    let mut draining = state.draining.subscribe();
    let stream = futures_util::stream::unfold(follower, |mut f| async move {
        match f.next().await {
            Ok(message) => Some((message, f)),
            Err(e) => {
                tracing::warn!(error = %e, "a stream could not read the outbox; closing it");
                None
            }
        }
    })
    // Ended when the server stops, so that clients reconnect (to another replica) at once.
    .take_until(async move {
        let _ = draining.wait_for(|draining| *draining).await;
    })
    .boxed();
    Ok(StreamResponse::Ok(MessageStream(stream)))
}

/// A stream's reader: the hub's messages in order, from the outbox when it resumes or falls
/// behind.
struct Follower {
    store: Store,
    tenant: Tenant,
    session: Option<SessionId>,
    moods: Option<Vec<Mood>>,
    subscription: Subscription,
    /// The last message's id this stream has passed (sent or filtered out).
    seen: i64,
    /// Whether to read the outbox before the hub.
    replay: bool,
    pending: VecDeque<Arc<Message>>,
}

impl Follower {
    async fn next(&mut self) -> Result<Arc<Message>, crate::store::StoreError> {
        loop {
            if let Some(message) = self.pending.pop_front() {
                if let Some(message) = self.pass(message) {
                    return Ok(message);
                }
                continue;
            }
            if self.replay {
                // Boxed: a stream waits on the hub almost all its life, and its future should
                // not be as large as a database query's all that time.
                let missed =
                    Box::pin(outbox::replay(&self.store, &self.tenant, self.session.as_ref(), self.seen, REPLAY_BATCH))
                        .await?;
                self.replay = missed.len() as u64 == REPLAY_BATCH;
                self.pending.extend(missed.into_iter().map(Arc::new));
                continue;
            }
            match self.subscription.next().await {
                Ok(message) => {
                    if let Some(message) = self.pass(message) {
                        return Ok(message);
                    }
                }
                // Fell behind the hub: what it dropped is in the outbox.
                Err(_) => self.replay = true,
            }
        }
    }

    /// The message, if this stream has not passed it yet and wants it.
    fn pass(&mut self, message: Arc<Message>) -> Option<Arc<Message>> {
        if message.seq <= self.seen {
            return None;
        }
        self.seen = message.seq;
        self.moods.as_ref().is_none_or(|moods| moods.contains(&message.mood)).then_some(message)
    }
}
