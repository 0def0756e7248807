//! JSON bodies. The request extractor: poem-openapi's own parser answers in plain text and
//! never names the field at fault; this one parses with serde, names the field by its path
//! (`events[2].duration_ms`), and fails with the documented [`ApiError`]s. The response
//! payload: poem-openapi's builds a `serde_json::Value` tree and then writes it; this one
//! writes the body type with serde directly. Either way the schema in the spec still comes from
//! the body type's `Object` derive.

use super::error::ApiError;
use poem::error::ReadBodyError;
use poem::{IntoResponse, Request, RequestBody, Response};
use poem_openapi::payload::{Json, ParsePayload, Payload};
use poem_openapi::registry::{MetaMediaType, MetaRequest, MetaResponse, MetaResponses, MetaSchemaRef, Registry};
use poem_openapi::types::Type;
use poem_openapi::{ApiExtractor, ApiExtractorType, ApiResponse, ExtractParamOptions};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::error::Category;

/// The largest body any endpoint reads (a full 1,000-event batch with long URLs fits).
#[derive(Clone, Copy, Debug)]
pub struct BodyLimit(pub usize);

impl Default for BodyLimit {
    fn default() -> Self {
        Self(4 * 1024 * 1024)
    }
}

const JSON: &str = "application/json; charset=utf-8";

/// A JSON body parsed into `T`.
pub struct JsonBody<T>(pub T);

impl<T: Type> Payload for JsonBody<T> {
    const CONTENT_TYPE: &'static str = JSON;

    fn check_content_type(content_type: &str) -> bool {
        Json::<T>::check_content_type(content_type)
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: Type + DeserializeOwned> ParsePayload for JsonBody<T> {
    const IS_REQUIRED: bool = true;

    async fn from_request(req: &Request, body: &mut RequestBody) -> poem::Result<Self> {
        let limit = req.data::<BodyLimit>().copied().unwrap_or_default().0;
        let declared = req.header("content-length").and_then(|v| v.parse::<usize>().ok());
        if declared.is_some_and(|n| n > limit) {
            return Err(ApiError::PayloadTooLarge(limit).into());
        }
        let bytes = body.take()?.into_bytes_limit(limit).await.map_err(|e| match e {
            ReadBodyError::PayloadTooLarge => ApiError::PayloadTooLarge(limit),
            other => ApiError::MalformedJson(other.to_string()),
        })?;
        Ok(Self(parse(&bytes)?))
    }
}

impl<'a, T: Type + DeserializeOwned> ApiExtractor<'a> for JsonBody<T> {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        <Self as Payload>::register(registry);
    }

    fn request_meta() -> Option<MetaRequest> {
        Some(MetaRequest {
            description: None,
            content: vec![MetaMediaType { content_type: Self::CONTENT_TYPE, schema: Self::schema_ref() }],
            required: true,
        })
    }

    async fn from_request(
        request: &'a Request,
        body: &mut RequestBody,
        _param_opts: ExtractParamOptions<()>,
    ) -> poem::Result<Self> {
        match request.content_type() {
            Some(ct) if Self::check_content_type(ct) => <Self as ParsePayload>::from_request(request, body).await,
            _ => Err(ApiError::UnsupportedMediaType.into()),
        }
    }
}

/// A 200 response with a JSON body, written by `T`'s serde `Serialize`, documented by its
/// `Object` derive: the two must agree, which `tests::replies_write_what_poem_openapi_writes`
/// checks for every type answered this way. For the answers clients ask for all the time
/// (`POST …/events`, a session's or a person's mood and state, `GET /v1/analytics/moods`):
/// building poem-openapi's `Value` tree first was up to 40 % of such a request's CPU.
pub struct JsonReply<T>(pub T);

impl<T: Serialize + Send> IntoResponse for JsonReply<T> {
    fn into_response(self) -> Response {
        // serde_json fails only on maps with non-string keys, which no body type has.
        let body = serde_json::to_vec(&self.0).expect("response bodies serialise");
        Response::builder().content_type(JSON).body(body)
    }
}

impl<T: Type + Serialize + Send> ApiResponse for JsonReply<T> {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: vec![MetaResponse {
                description: "",
                status: Some(200),
                status_range: None,
                content: vec![MetaMediaType { content_type: JSON, schema: T::schema_ref() }],
                headers: vec![],
            }],
        }
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

/// Parses a whole JSON document into `T`, naming the field at fault on failure.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // serde would build a struct from a JSON array too; bodies are objects.
    if bytes.trim_ascii_start().first() != Some(&b'{') {
        return Err(ApiError::MalformedJson("the body must be a JSON object".into()));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    // Tracking the path costs an allocation per key read, so only a body that fails is parsed
    // again to name the field at fault (the same parse fails at the same place).
    let value = T::deserialize(&mut de).map_err(|first| {
        let mut de = serde_json::Deserializer::from_slice(bytes);
        match serde_path_to_error::deserialize::<_, T>(&mut de) {
            Err(e) => classify(&e.path().to_string(), e.inner()),
            Ok(_) => classify(".", &first),
        }
    })?;
    de.end().map_err(|e| ApiError::MalformedJson(e.to_string()))?;
    Ok(value)
}

/// For an optional field whose schema is an enum: absent is `None`, `null` is an error (the
/// spec's enum has no null; other optional fields are documented nullable and take it).
/// Use with `#[serde(default, deserialize_with = "not_null")]`.
pub fn not_null<'de, D, T>(de: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    match <Option<T> as serde::Deserialize>::deserialize(de)? {
        Some(value) => Ok(Some(value)),
        None => Err(serde::de::Error::custom("must not be null; omit the field instead")),
    }
}

fn classify(path: &str, err: &serde_json::Error) -> ApiError {
    if matches!(err.classify(), Category::Syntax | Category::Eof | Category::Io) {
        return ApiError::MalformedJson(err.to_string());
    }
    // serde reports the line and column after its message; the field path says more.
    let message = err.to_string();
    let message = message.split(" at line ").next().unwrap_or_default().to_owned();
    if let Some(name) = message.strip_prefix("missing field `").and_then(|m| m.strip_suffix('`')) {
        let field = if path == "." { name.to_owned() } else { format!("{path}.{name}") };
        return ApiError::MissingField(field);
    }
    ApiError::InvalidField { field: path.to_owned(), message }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Batch {
        events: Vec<Item>,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Item {
        r#type: String,
        duration_ms: Option<f64>,
    }

    fn err(body: &str) -> String {
        match parse::<Batch>(body.as_bytes()) {
            Err(e) => format!("{:?}", e.body("")),
            Ok(_) => "ok".into(),
        }
    }

    #[test]
    fn failures_name_the_field() {
        assert!(
            err(r#"{"events":[{"type":"click"},{"type":"idle","duration_ms":"5"}]}"#)
                .contains(r#"field: Some("events[1].duration_ms")"#)
        );
        assert!(err(r#"{"events":[{"duration_ms":5}]}"#).contains(r#"field: Some("events[0].type")"#));
        assert!(err(r#"{}"#).contains(r#"error: "Missing required field", message: None, field: Some("events")"#));
        assert!(err(r#"{"events":[{"type":5}]}"#).contains(r#"field: Some("events[0].type")"#));
    }

    #[test]
    fn broken_documents_are_malformed() {
        for body in ["", "{", r#"{"events":[]} x"#, "[1,2]", r#"[[{"type":"click"}]]"#, "null", &"{\"a\":".repeat(200)]
        {
            assert!(err(body).contains("Malformed JSON body"), "{body}: {}", err(body));
        }
    }
}
