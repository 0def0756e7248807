//! This replica's streams and the messages they wait for: one broadcast channel per topic (a
//! tenant, or one session of a tenant) that has subscribers, so a message wakes only the
//! streams that want it.

use super::Message;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;

/// Messages a topic holds for a subscriber that has not taken them yet; one that falls further
/// behind reads what it missed from the outbox. A channel allocates its slots up front, and a
/// session's stream (a browser page each) rarely has more than a few messages waiting.
const TENANT_BACKLOG: usize = 256;
const SESSION_BACKLOG: usize = 16;

/// What a stream listens to.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Topic {
    Tenant(i64),
    /// A tenant's session, by the client's id.
    Session(i64, String),
}

#[derive(Default)]
pub struct Hub {
    topics: Mutex<HashMap<Topic, broadcast::Sender<Arc<Message>>>>,
}

impl Hub {
    /// Starts listening to `topic`: messages handed to the hub from now on.
    pub fn subscribe(self: &Arc<Self>, topic: Topic) -> Subscription {
        let mut topics = self.topics.lock().unwrap_or_else(|p| p.into_inner());
        let backlog = match topic {
            Topic::Tenant(_) => TENANT_BACKLOG,
            Topic::Session(..) => SESSION_BACKLOG,
        };
        let receiver = topics.entry(topic.clone()).or_insert_with(|| broadcast::channel(backlog).0).subscribe();
        Subscription { receiver, topic, hub: self.clone() }
    }

    /// Hands a message to the streams of its tenant and of its session.
    pub fn publish(&self, message: Arc<Message>) {
        let topics = self.topics.lock().unwrap_or_else(|p| p.into_inner());
        let session = Topic::Session(message.tenant_id, message.session_id.clone());
        for topic in [Topic::Tenant(message.tenant_id), session] {
            if let Some(sender) = topics.get(&topic) {
                let _ = sender.send(message.clone());
            }
        }
    }

    /// Open subscriptions.
    pub fn subscribers(&self) -> usize {
        self.topics.lock().unwrap_or_else(|p| p.into_inner()).values().map(|s| s.receiver_count()).sum()
    }

    /// Whether no stream listens (the relay then need not read the messages).
    pub fn is_idle(&self) -> bool {
        self.topics.lock().unwrap_or_else(|p| p.into_inner()).is_empty()
    }
}

/// A stream's place in the hub; leaving drops the topic once nobody listens to it.
pub struct Subscription {
    receiver: broadcast::Receiver<Arc<Message>>,
    topic: Topic,
    hub: Arc<Hub>,
}

impl Subscription {
    /// The next message; `Err(n)` if `n` were dropped because this subscriber fell behind.
    pub async fn next(&mut self) -> Result<Arc<Message>, u64> {
        loop {
            match self.receiver.recv().await {
                Ok(message) => return Ok(message),
                Err(broadcast::error::RecvError::Lagged(n)) => return Err(n),
                // The hub keeps the sender while anyone subscribes: cannot happen.
                Err(broadcast::error::RecvError::Closed) => std::future::pending::<()>().await,
            }
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let mut topics = self.hub.topics.lock().unwrap_or_else(|p| p.into_inner());
        // This subscription's receiver is still counted until it is dropped after this.
        if topics.get(&self.topic).is_some_and(|s| s.receiver_count() <= 1) {
            topics.remove(&self.topic);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Mood;
    use crate::push::Kind;

    fn message(seq: i64, tenant_id: i64, session: &str) -> Arc<Message> {
        Arc::new(Message {
            seq,
            kind: Kind::MoodChanged,
            tenant_id,
            session_id: session.into(),
            mood: Mood::Frustrated,
            created_at_ms: 0,
            data: "{}".into(),
        })
    }

    #[tokio::test]
    async fn a_message_reaches_its_tenant_and_its_session_only() {
        let hub = Arc::new(Hub::default());
        let mut tenant = hub.subscribe(Topic::Tenant(1));
        let mut session = hub.subscribe(Topic::Session(1, "a".into()));
        let mut other_session = hub.subscribe(Topic::Session(1, "b".into()));
        let mut other_tenant = hub.subscribe(Topic::Tenant(2));
        hub.publish(message(1, 1, "a"));
        hub.publish(message(2, 2, "a"));
        assert_eq!(tenant.next().await.unwrap().seq, 1);
        assert_eq!(session.next().await.unwrap().seq, 1);
        assert_eq!(other_tenant.next().await.unwrap().seq, 2);
        assert!(other_session.receiver.try_recv().is_err());
        assert_eq!(hub.subscribers(), 4);
    }

    #[tokio::test]
    async fn topics_go_with_their_last_subscriber_and_laggards_are_told() {
        let hub = Arc::new(Hub::default());
        let first = hub.subscribe(Topic::Tenant(1));
        let mut second = hub.subscribe(Topic::Tenant(1));
        drop(first);
        assert!(!hub.is_idle());
        for seq in 0..TENANT_BACKLOG as i64 + 3 {
            hub.publish(message(seq, 1, "a"));
        }
        assert_eq!(second.next().await.unwrap_err(), 3);
        drop(second);
        assert!(hub.is_idle());
    }
}
