//! The HTTP client deliveries go out with. Receivers' names are resolved by [`Checked`], which
//! refuses a name if any address it resolves to is not allowed ([`super::address`]), and the
//! connection goes to exactly the addresses it returned: a name cannot pass the check and then
//! resolve elsewhere (DNS rebinding). IP literals are checked with the URL. No redirects (a
//! receiver cannot send a delivery on to an address we did not check) and no proxies.

use super::address::Policy;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::sync::Arc;
use std::time::Duration;

/// How long an attempt may take, from connecting to the end of the answer.
pub const TIMEOUT: Duration = Duration::from_secs(15);
/// Bytes of a receiver's answer kept with the attempt.
pub const KEPT_BODY_BYTES: usize = 1024;

/// A resolver that hands out only allowed addresses.
struct Checked(Policy);

impl Resolve for Checked {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.0;
        Box::pin(async move {
            let addresses = policy.resolve_name(name.as_str(), 0).await?;
            Ok(Box::new(addresses.into_iter()) as Addrs)
        })
    }
}

/// Makes ring the process's TLS provider, for any HTTPS client built without one (ours bring
/// theirs). Idempotent.
pub fn use_ring() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The client every delivery of this replica uses (it pools connections per receiver).
pub fn build(policy: Policy) -> reqwest::Client {
    let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports TLS 1.2 and 1.3")
        .with_root_certificates(roots)
        .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .dns_resolver(Arc::new(Checked(policy)))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(TIMEOUT)
        .connect_timeout(Duration::from_secs(5))
        .pool_idle_timeout(Duration::from_secs(30))
        .user_agent(concat!("moodring-webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("a valid client configuration")
}

/// What a receiver answered, or why it did not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    Response { status: u16, body: String },
    Error(String),
}

/// Posts `body` with the Standard Webhooks headers.
pub async fn post(
    client: &reqwest::Client,
    url: &str,
    id: &str,
    timestamp: i64,
    signature: &str,
    body: String,
) -> Answer {
    let sent = client
        .post(url)
        .header("content-type", "application/json")
        .header("webhook-id", id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(body)
        .send()
        .await;
    let mut response = match sent {
        Ok(response) => response,
        Err(e) => return Answer::Error(describe(&e)),
    };
    let status = response.status().as_u16();
    let mut kept = Vec::new();
    // Read only as much of the answer as is kept; the rest is never downloaded.
    while kept.len() < KEPT_BODY_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => kept.extend_from_slice(&chunk[..chunk.len().min(KEPT_BODY_BYTES - kept.len())]),
            Ok(None) | Err(_) => break,
        }
    }
    Answer::Response { status, body: String::from_utf8_lossy(&kept).into_owned() }
}

/// A failed request in a sentence, with its cause (the refused address, the timeout).
fn describe(e: &reqwest::Error) -> String {
    let mut text = if e.is_timeout() {
        format!("no answer within {} s", TIMEOUT.as_secs())
    } else if e.is_connect() {
        "could not connect".to_owned()
    } else {
        "request failed".to_owned()
    };
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
