//! The keys that sign session tokens, kept in the database so that every replica signs and
//! verifies with the same ones, without configuration. Not tenant data: one set per deployment.

use super::{Store, StoreError};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use entity::signing_key;
use rand::RngCore;
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::sea_query::OnConflict;
use sea_orm::{EntityTrait, QueryOrder};

/// A signing key: the newest generation signs; every key verifies while tokens it signed may
/// still be alive.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKey {
    pub generation: i64,
    /// The JWT `kid` tokens name it by.
    pub kid: String,
    pub secret: Vec<u8>,
    pub created_at_ms: i64,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey").field("generation", &self.generation).field("kid", &self.kid).finish()
    }
}

/// Every signing key, oldest first; creates the first one if there is none. Replicas starting
/// at once on a new database agree on one: each inserts generation 1 unless it exists.
pub async fn all(store: &Store, now: DateTime<Utc>) -> Result<Vec<SigningKey>, StoreError> {
    let keys = read(store).await?;
    if !keys.is_empty() {
        return Ok(keys);
    }
    insert(store, 1, now).await?;
    read(store).await
}

/// Adds the next generation, which signs from then on (on other replicas once they reload
/// their keys, within a minute); the older ones keep verifying.
pub async fn rotate(store: &Store, now: DateTime<Utc>) -> Result<SigningKey, StoreError> {
    loop {
        let next = all(store, now).await?.last().map_or(1, |k| k.generation + 1);
        insert(store, next, now).await?;
        if let Some(key) = read(store).await?.into_iter().find(|k| k.generation == next) {
            return Ok(key);
        }
    }
}

async fn insert(store: &Store, generation: i64, now: DateTime<Utc>) -> Result<(), StoreError> {
    let mut secret = [0u8; 32];
    rand::rng().fill_bytes(&mut secret);
    let mut kid = [0u8; 8];
    rand::rng().fill_bytes(&mut kid);
    let row = signing_key::ActiveModel {
        id: NotSet,
        generation: Set(generation),
        kid: Set(format!("k{generation}-{}", hex::encode(kid))),
        secret: Set(STANDARD.encode(secret)),
        created_at_ms: Set(now.timestamp_millis()),
    };
    signing_key::Entity::insert(row)
        .on_conflict(OnConflict::column(signing_key::Column::Generation).do_nothing().to_owned())
        .exec_without_returning(&store.writer)
        .await?;
    Ok(())
}

async fn read(store: &Store) -> Result<Vec<SigningKey>, StoreError> {
    let rows = signing_key::Entity::find().order_by_asc(signing_key::Column::Generation).all(&store.writer).await?;
    rows.into_iter()
        .map(|r| {
            let secret = STANDARD.decode(&r.secret).map_err(|e| StoreError::Corrupt(format!("signing key: {e}")))?;
            Ok(SigningKey { generation: r.generation, kid: r.kid, secret, created_at_ms: r.created_at_ms })
        })
        .collect()
}
