//! The API's contract: an OpenAPI 3.1 document generated from the handlers' `#[utoipa::path]`
//! attributes and the types they read and answer ([`crate::api_doc`], built from the complete
//! router in `routes.rs`), served at `GET /openapi.json`.
//!
//! The routes are registered only through `utoipa_axum::routes!` from those attributes (the
//! architecture test holds the http adapter to it), so a route's method and path are its
//! operation's. What every operation of a kind shares is added here once rather than in each
//! attribute: the security requirement (a JWT bearer token unless the route is public), and the
//! error responses the operation can give by what it reads — a body, path parameters, a query,
//! an `Idempotency-Key` — and by who may call it.

use axum::http::Method;
use utoipa::openapi::path::{Operation, ParameterIn, PathItem};
use utoipa::openapi::schema::{AdditionalProperties, Object, Schema, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, Content, Info, OpenApi, Ref, RefOr, ResponseBuilder, SecurityRequirement,
};

/// The document's schemas by name.
type Schemas = std::collections::BTreeMap<String, RefOr<Schema>>;
use utoipa::{IntoParams, PartialSchema, ToSchema};

use crate::IdempotencyHeader;
use brokeros_kernel::error::ErrorBody;

/// The security scheme of a JWT bearer token (Cognito's in AWS, `brokeros token` locally).
pub const BEARER: &str = "bearer";

/// The providers' webhook signatures, each an HMAC over the raw body sent in its provider's
/// header: (scheme, header, whose).
pub const WEBHOOK_SIGNATURES: &[(&str, &str, &str)] = &[
    (
        "kyc_signature",
        // The simulated KYC provider's (`brokeros_local::kyc::SIGNATURE_HEADER`; the http
        // adapter may not depend on the local one: `tests/api` checks the two agree).
        "x-simulated-signature",
        "the KYC provider's (`POST /webhooks/kyc/{provider}`)",
    ),
    (
        "card_signature",
        brokeros_payments::model::webhook::CARD_SIGNATURE_HEADER,
        "the card acquirer's (`POST /webhooks/psp/{provider}`)",
    ),
    (
        "crypto_signature",
        brokeros_payments::model::webhook::CRYPTO_SIGNATURE_HEADER,
        "the crypto processor's (`POST /webhooks/psp/{provider}`)",
    ),
];

/// The error responses operations share, by status: (status, component name, when).
const ERRORS: &[(&str, &str, &str)] = &[
    (
        "400",
        "BadRequest",
        "invalid input (`invalid_body`, `invalid_query`, `unsupported_media_type`, a field's own code), `field` naming it",
    ),
    (
        "401",
        "Unauthenticated",
        "no credentials, or credentials that do not verify",
    ),
    ("403", "Forbidden", "the caller's roles do not allow this"),
    ("404", "NotFound", "what the path names does not exist"),
    (
        "408",
        "RequestTimeout",
        "the body did not arrive in time (`brokeros serve`)",
    ),
    (
        "409",
        "Conflict",
        "the change conflicts with the state (an invalid transition, a duplicate)",
    ),
    ("413", "PayloadTooLarge", "the body is over 256 KiB"),
    (
        "422",
        "IdempotencyMismatch",
        "the `Idempotency-Key` was used with another request",
    ),
    (
        "429",
        "RateLimited",
        "too many requests from this source to the public routes (`brokeros serve`; `Retry-After` says when to retry)",
    ),
    (
        "503",
        "Unavailable",
        "storage or a provider is unavailable for a moment (`Retry-After` says when to retry)",
    ),
];

/// Adds to the operations the router collected what is said once for all of them.
pub(crate) fn describe(doc: &mut OpenApi) {
    doc.info = Info::builder()
        .title("Broker OS")
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some(
            "The operating layer of a retail FX/CFD brokerage. Every error is JSON \
             `{code, message, field?}` (the `Error` schema). Amounts are decimal strings \
             (`\"1000.00\"`).",
        ))
        .build();
    let mut components = ComponentsBuilder::new()
        .schema(ErrorBody::name(), ErrorBody::schema())
        .security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A JWT whose groups are the caller's roles (Cognito in AWS; \
                         `brokeros token --role R --sub S` locally)",
                    ))
                    .build(),
            ),
        );
    for (scheme, header, whose) in WEBHOOK_SIGNATURES {
        let description = format!("HMAC-SHA256 signature of the raw body: {whose}");
        components = components.security_scheme(
            *scheme,
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                header.to_string(),
                description,
            ))),
        );
    }
    for (_, name, when) in ERRORS {
        let error = Content::new(Some(Ref::from_schema_name(ErrorBody::name())));
        components = components.response(
            *name,
            ResponseBuilder::new()
                .description(*when)
                .content("application/json", error),
        );
    }
    let mut built = components.build();
    if let Some(collected) = doc.components.take() {
        built.schemas.extend(collected.schemas);
    }
    merge_closed_compositions(&mut built.schemas);
    doc.components = Some(built);
    for (path, item) in doc.paths.paths.iter_mut() {
        for (method, operation) in operations_mut(item) {
            complete(path, &method, operation);
        }
    }
}

/// Whether `schema` is an object that refuses unknown properties (a `deny_unknown_fields` type).
fn is_closed(schema: &Schema) -> bool {
    matches!(schema, Schema::Object(o) if matches!(
        o.additional_properties.as_deref(),
        Some(AdditionalProperties::FreeForm(false))
    ))
}

/// The object `schema` names: itself, or the component its reference names.
fn object_of<'a>(schema: &'a RefOr<Schema>, all: &'a Schemas) -> Option<&'a Object> {
    let schema = match schema {
        RefOr::T(schema) => schema,
        RefOr::Ref(r) => match all.get(r.ref_location.rsplit('/').next()?)? {
            RefOr::T(schema) => schema,
            RefOr::Ref(_) => return None,
        },
    };
    match schema {
        Schema::Object(object) => Some(object),
        _ => None,
    }
}

/// A type that flattens a `deny_unknown_fields` type (`#[serde(flatten)]`) is an `allOf` of the
/// two, each refusing the other's properties: no value could match. Such a composition becomes
/// the one object serde reads and writes: every part's properties and required ones, closed
/// when the outer type is.
fn merge_closed_compositions(all: &mut Schemas) {
    let snapshot = all.clone();
    for schema in all.values_mut() {
        let RefOr::T(Schema::AllOf(composition)) = schema else {
            continue;
        };
        let parts: Vec<&Object> = composition
            .items
            .iter()
            .filter_map(|part| object_of(part, &snapshot))
            .collect();
        let flattens_a_closed_type = composition.items.iter().any(|part| match part {
            RefOr::Ref(_) => {
                object_of(part, &snapshot).is_some_and(|o| is_closed(&Schema::Object(o.clone())))
            }
            RefOr::T(_) => false,
        });
        if parts.len() != composition.items.len() || !flattens_a_closed_type {
            continue;
        }
        let outer_closed = composition
            .items
            .iter()
            .any(|part| matches!(part, RefOr::T(inline) if is_closed(inline)));
        let mut merged = Object::with_type(Type::Object);
        for part in parts {
            merged.properties.extend(part.properties.clone());
            merged.required.extend(part.required.clone());
        }
        merged.description = composition.description.clone();
        if outer_closed {
            merged.additional_properties = Some(Box::new(AdditionalProperties::FreeForm(false)));
        }
        *schema = RefOr::T(Schema::Object(merged));
    }
}

/// Every operation of a path, with its method.
pub(crate) fn operations_mut(item: &mut PathItem) -> Vec<(Method, &mut Operation)> {
    [
        (Method::GET, item.get.as_mut()),
        (Method::PUT, item.put.as_mut()),
        (Method::POST, item.post.as_mut()),
        (Method::DELETE, item.delete.as_mut()),
        (Method::OPTIONS, item.options.as_mut()),
        (Method::HEAD, item.head.as_mut()),
        (Method::PATCH, item.patch.as_mut()),
        (Method::TRACE, item.trace.as_mut()),
    ]
    .into_iter()
    .filter_map(|(method, operation)| operation.map(|o| (method, o)))
    .collect()
}

/// Whether anyone may call `method path` without a token: the routes limited per source
/// ([`crate::is_public_route`]) and the health check.
fn is_open(method: &Method, path: &str) -> bool {
    crate::is_public_route(method, path) || (method == Method::GET && path == "/health")
}

/// One operation's security, tag and shared error responses.
fn complete(path: &str, method: &Method, operation: &mut Operation) {
    if operation.security.is_none() && !is_open(method, path) {
        operation.security = Some(vec![SecurityRequirement::new(BEARER, Vec::<String>::new())]);
    }
    let requirements = operation.security.clone().unwrap_or_default();
    let bearer = SecurityRequirement::new(BEARER, Vec::<String>::new());
    let authenticated = !requirements.is_empty();
    let by_token = requirements.contains(&bearer);
    let tag = path.split('/').nth(1).unwrap_or_default().to_string();
    operation.tags.get_or_insert_with(Vec::new).push(tag);

    let parameters = operation.parameters.iter().flatten();
    let has = |location: ParameterIn, name: Option<&str>| {
        parameters.clone().any(|p| match p {
            RefOr::T(p) => {
                p.parameter_in == location && name.is_none_or(|n| p.name.eq_ignore_ascii_case(n))
            }
            RefOr::Ref(_) => false,
        })
    };
    let idempotent = has(ParameterIn::Header, Some(IdempotencyHeader::NAME));
    let in_path = has(ParameterIn::Path, None);
    let in_query = has(ParameterIn::Query, None);
    let body = operation.request_body.is_some();
    let reads_store = !matches!(path, "/health" | "/openapi.json" | "/metrics");
    let changes = [Method::POST, Method::PUT, Method::DELETE, Method::PATCH].contains(method);

    for (status, response) in operation.responses.responses.iter_mut() {
        if let RefOr::T(response) = response
            && response.description.is_empty()
        {
            let reason = status.parse().ok().and_then(|s: u16| {
                axum::http::StatusCode::from_u16(s)
                    .ok()
                    .and_then(|s| s.canonical_reason())
            });
            response.description = reason.unwrap_or("answered").to_string();
        }
    }
    let errors = [
        ("400", body || in_path || in_query || idempotent),
        ("401", authenticated),
        ("403", by_token),
        ("404", in_path),
        ("408", body),
        ("409", changes && reads_store),
        ("413", body),
        ("422", idempotent),
        ("429", crate::is_public_route(method, path)),
        ("503", reads_store),
    ];
    for (status, applies) in errors {
        if !applies || operation.responses.responses.contains_key(status) {
            continue;
        }
        let (_, name, _) = ERRORS
            .iter()
            .find(|(s, _, _)| *s == status)
            .expect("every shared error is described");
        operation.responses.responses.insert(
            status.to_string(),
            RefOr::Ref(Ref::new(format!("#/components/responses/{name}"))),
        );
    }
}

impl IdempotencyHeader {
    /// The header's name, as the operations document it.
    pub const NAME: &'static str = "Idempotency-Key";
}

impl IntoParams for IdempotencyHeader {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<utoipa::openapi::path::Parameter> {
        vec![
            utoipa::openapi::path::ParameterBuilder::new()
                .name(Self::NAME)
                .parameter_in(ParameterIn::Header)
                .required(utoipa::openapi::Required::False)
                .description(Some(
                    "Makes a retry safe: the same key with the same request answers what the first \
                     answered, with another request 422. A public route's key must be random (a \
                     UUID, or 16+ random bytes as base64url).",
                ))
                .schema(Some(String::schema()))
                .build(),
        ]
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::PathBuf;

    use super::*;
    use crate::api_doc;

    fn workspace_root() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../..")
    }

    fn operations() -> Vec<(String, Method, Operation)> {
        let mut all = Vec::new();
        for (path, item) in api_doc().paths.paths.clone() {
            let mut item = item;
            for (method, operation) in operations_mut(&mut item) {
                all.push((path.clone(), method, operation.clone()));
            }
        }
        all
    }

    #[test]
    fn every_operation_has_its_own_id_a_success_and_described_errors() {
        let doc = serde_json::to_value(api_doc()).unwrap();
        let mut ids = BTreeSet::new();
        for (path, method, operation) in operations() {
            let id = operation.operation_id.clone().unwrap_or_default();
            assert!(
                ids.insert(id.clone()),
                "{method} {path}: operationId {id} twice"
            );
            let statuses: Vec<&String> = operation.responses.responses.keys().collect();
            assert!(
                statuses.iter().any(|s| s.starts_with('2') || *s == "304"),
                "{method} {path}: no success among {statuses:?}"
            );
            for status in statuses.iter().filter(|s| s.starts_with(['4', '5'])) {
                let response = &doc["paths"][&path][method.as_str().to_lowercase()]["responses"]
                    [status.as_str()];
                let schema = match response["$ref"].as_str() {
                    Some(at) => {
                        let name = at.rsplit('/').next().unwrap();
                        &doc["components"]["responses"][name]["content"]["application/json"]["schema"]
                    }
                    None => &response["content"]["application/json"]["schema"],
                };
                assert_eq!(
                    schema["$ref"], "#/components/schemas/Error",
                    "{method} {path} {status}: every error is an Error"
                );
            }
        }
        assert!(ids.len() > 100, "{} operations", ids.len());
    }

    #[test]
    fn public_routes_need_no_credentials_and_the_others_a_token_or_a_signature() {
        let bearer = SecurityRequirement::new(BEARER, Vec::<String>::new());
        for (path, method, operation) in operations() {
            let security = operation.security.clone().unwrap_or_default();
            if path.starts_with("/webhooks/") {
                assert!(
                    !security.is_empty() && !security.contains(&bearer),
                    "{path}"
                );
            } else if is_open(&method, &path) {
                assert!(security.is_empty(), "{method} {path} is public");
            } else {
                assert!(security.contains(&bearer), "{method} {path} needs a token");
            }
        }
    }

    /// Every `ToSchema` derive of the workspace's shared crates: its schema's name (the type's,
    /// or its `#[schema(as = …)]`), its file, and a struct's body (the text between its braces;
    /// empty for an enum or a tuple struct).
    fn schema_types() -> Vec<(String, PathBuf, String)> {
        let derive = regex::Regex::new(
            r"#\[derive\(([^\]]*)\)\]\s*((?:#\[[^\]]*\]\s*)*)(?:pub(?:\([a-z]+\))? )?(struct|enum) (\w+)",
        )
        .unwrap();
        let renamed = regex::Regex::new(r"#\[schema\(as = (\w+)\)\]").unwrap();
        let mut found = Vec::new();
        let mut dirs = vec![workspace_root().join("shared")];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let text = std::fs::read_to_string(&path).unwrap();
                    for derived in derive.captures_iter(&text) {
                        if !derived[1].contains("ToSchema") {
                            continue;
                        }
                        let name = renamed
                            .captures(&derived[2])
                            .map_or(derived[4].to_string(), |r| r[1].to_string());
                        let rest = &text[derived.get(0).unwrap().end()..];
                        let body = match (rest.find('{'), rest.find(';')) {
                            (Some(open), semicolon)
                                if &derived[3] == "struct"
                                    && semicolon.is_none_or(|s| open < s) =>
                            {
                                let body = &rest[open + 1..];
                                body[..body.find("\n}").unwrap_or(body.len())].to_string()
                            }
                            _ => String::new(),
                        };
                        found.push((name, path.clone(), body));
                    }
                }
            }
        }
        found
    }

    /// The contract's schemas are named by their type's name (or its `#[schema(as = …)]`) and
    /// collected into one map: two types of one name would silently share one schema. Reads
    /// every `ToSchema` derive of the workspace's shared crates.
    #[test]
    fn no_two_schema_types_share_a_name() {
        let mut named: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        for (name, path, _) in schema_types() {
            named
                .entry(name)
                .or_default()
                .push(path.display().to_string());
        }
        let shared: Vec<_> = named.iter().filter(|(_, files)| files.len() > 1).collect();
        assert!(
            shared.is_empty(),
            "schema names used by more than one type (name one with #[schema(as = …)]): {shared:?}"
        );
        assert!(named.len() > 50, "{} schema types found", named.len());
    }

    /// The component schemas `roots` name, and those they name in turn.
    fn named_schemas(doc: &serde_json::Value, roots: Vec<&serde_json::Value>) -> BTreeSet<String> {
        let mut named = BTreeSet::new();
        let mut pending = roots;
        while let Some(value) = pending.pop() {
            match value {
                serde_json::Value::Object(map) => {
                    if let Some(name) = map
                        .get("$ref")
                        .and_then(|r| r.as_str())
                        .and_then(|r| r.strip_prefix("#/components/schemas/"))
                        && named.insert(name.to_string())
                    {
                        pending.push(&doc["components"]["schemas"][name]);
                    }
                    pending.extend(map.values());
                }
                serde_json::Value::Array(items) => pending.extend(items),
                _ => {}
            }
        }
        named
    }

    /// A field an answer always carries is required in its schema, so the typed client does not
    /// make the web app test for its absence: an `Option` or a `#[serde(default)]` field that
    /// nothing skips (`skip_serializing_if`) carries `#[schema(required)]` (utoipa would make it
    /// optional). Types that requests also use are left out: there a defaulted field may be
    /// missing (see ARCHITECTURE.md, "The API contract").
    #[test]
    fn fields_answers_always_carry_are_required() {
        let doc = serde_json::to_value(api_doc()).unwrap();
        let mut request_parts = Vec::new();
        for item in doc["paths"].as_object().unwrap().values() {
            for operation in item.as_object().unwrap().values() {
                request_parts.push(&operation["requestBody"]);
                request_parts.push(&operation["parameters"]);
            }
        }
        let requested = named_schemas(&doc, request_parts);
        let field = regex::Regex::new(r"^(?:pub(?:\([a-z]+\))? )?(?:r#)?(\w+): (.*),$").unwrap();
        let renamed = regex::Regex::new(r#"rename = "([^"]+)""#).unwrap();
        let mut optional = Vec::new();
        let mut checked = 0;
        for (name, path, body) in schema_types() {
            let schema = &doc["components"]["schemas"][&name];
            if requested.contains(&name) || schema["properties"].is_null() {
                continue;
            }
            let required: Vec<&str> = schema["required"]
                .as_array()
                .map(|r| r.iter().filter_map(|f| f.as_str()).collect())
                .unwrap_or_default();
            let mut attributes = String::new();
            for line in body.lines().map(str::trim) {
                if line.is_empty() || line.starts_with("//") {
                    continue;
                }
                let Some(found) = field.captures(line) else {
                    attributes.push_str(line);
                    continue;
                };
                let property = renamed
                    .captures(&attributes)
                    .map_or(found[1].to_string(), |r| r[1].to_string());
                // `schema(required = false)`: absent by the type's own account (a
                // `ReferredClient` without its client record is only `client_id`).
                let skipped = [
                    "skip_serializing",
                    "schema(ignore",
                    "flatten",
                    "schema(required",
                ]
                .iter()
                .any(|a| attributes.contains(a));
                let optional_to_utoipa =
                    found[2].starts_with("Option<") || attributes.contains("default");
                if !skipped
                    && optional_to_utoipa
                    && schema["properties"].get(&property).is_some()
                    && !required.contains(&property.as_str())
                {
                    optional.push(format!("{name}.{property} ({})", path.display()));
                }
                checked += 1;
                attributes.clear();
            }
        }
        assert!(
            optional.is_empty(),
            "fields every answer carries but the contract calls optional (add \
             #[schema(required)]): {optional:#?}"
        );
        assert!(checked > 300, "{checked} fields of answers read");
    }

    /// A client's document flattens the closed `DocumentRef` (found by the contract fuzzing:
    /// as `allOf` of the two, no answer could match): one object with the properties of both.
    #[test]
    fn a_type_flattening_a_closed_type_is_one_object() {
        let doc = serde_json::to_value(api_doc()).unwrap();
        let document = &doc["components"]["schemas"]["ClientDocument"];
        assert!(document.get("allOf").is_none(), "{document}");
        for field in ["id", "added_at", "type", "issuing_country", "number"] {
            assert!(
                document["properties"].get(field).is_some(),
                "{field}: {document}"
            );
        }
        let reference = &doc["components"]["schemas"]["DocumentRef"];
        assert_eq!(reference["additionalProperties"], false, "{reference}");
    }

    /// Schemas the document leaves free-form, each with why: (where, reason).
    const FREE_FORM: &[(&str, &str)] = &[
        (
            "#/paths/~1openapi.json/get/responses/200/content/application~1json/schema",
            "the OpenAPI document itself, whose schema is the OpenAPI specification's",
        ),
        (
            "#/paths/~1webhooks~1kyc~1{provider}/post/requestBody/content/application~1json/schema",
            "a KYC provider's own payload, verified by its signature over the raw body and read by that provider's adapter",
        ),
        (
            "#/paths/~1webhooks~1psp~1{provider}/post/requestBody/content/application~1json/schema",
            "a payment provider's own payload, verified by its signature over the raw body and read by that provider's adapter",
        ),
    ];

    /// Every schema in `value` that says nothing of its shape: `{}` where a body is, or an
    /// `object` with no properties, no `additionalProperties` and no composition.
    fn shapeless(value: &serde_json::Value, at: &str, found: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                let is_object = match map.get("type") {
                    Some(serde_json::Value::String(t)) => t == "object",
                    Some(serde_json::Value::Array(types)) => types.iter().any(|t| t == "object"),
                    _ => false,
                };
                let described = [
                    "properties",
                    "additionalProperties",
                    "oneOf",
                    "anyOf",
                    "allOf",
                    "$ref",
                ]
                .iter()
                .any(|k| map.contains_key(*k));
                let a_body = at.ends_with("/schema") && map.is_empty();
                if (is_object && !described) || a_body {
                    found.push(at.to_string());
                }
                for (key, inner) in map {
                    let key = key.replace('~', "~0").replace('/', "~1");
                    shapeless(inner, &format!("{at}/{key}"), found);
                }
            }
            serde_json::Value::Array(items) => {
                for (i, inner) in items.iter().enumerate() {
                    shapeless(inner, &format!("{at}/{i}"), found);
                }
            }
            _ => {}
        }
    }

    /// Every answer and body has a shape the typed client and the fuzzing can hold it to: no
    /// plain `object` (a `json!` answer is built from a typed struct that derives `ToSchema`),
    /// except the few that are free-form by nature, each with its reason.
    #[test]
    fn no_schema_is_a_plain_object_but_the_free_form_ones() {
        let doc = serde_json::to_value(api_doc()).unwrap();
        let mut found = Vec::new();
        shapeless(&doc, "#", &mut found);
        let allowed: BTreeSet<&str> = FREE_FORM.iter().map(|(at, _)| *at).collect();
        let plain: Vec<&String> = found
            .iter()
            .filter(|at| !allowed.contains(at.as_str()))
            .collect();
        assert!(
            plain.is_empty(),
            "schemas with no shape (derive ToSchema on the type the answer serializes, or add \
             the place to FREE_FORM with why): {plain:#?}"
        );
        for (at, _) in FREE_FORM {
            assert!(
                found.iter().any(|f| f == at),
                "{at} is allowed to be free-form but is not (drop it from FREE_FORM)"
            );
        }
    }

    /// `openapi-spec-validator` (tools/requirements.txt, in the tests' virtualenv) checks the
    /// document against the OpenAPI 3.1 specification's schema.
    #[test]
    fn the_document_is_valid_openapi_3_1() {
        let validator = workspace_root().join(".tools/venv/bin/openapi-spec-validator");
        assert!(
            validator.exists(),
            "{} is missing: run `bash tools/python-venv.sh` (it installs tools/requirements.txt \
             into .tools/venv; tests/run.sh does it)",
            validator.display()
        );
        let file =
            std::env::temp_dir().join(format!("brokeros-openapi-{}.json", std::process::id()));
        std::fs::write(&file, serde_json::to_vec(api_doc()).unwrap()).unwrap();
        let output = std::process::Command::new(&validator).arg(&file).output();
        std::fs::remove_file(&file).ok();
        let output = output.expect("openapi-spec-validator runs");
        // The validator quotes the whole document after its finding: the finding is enough.
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            output.status.success(),
            "the contract is not valid OpenAPI 3.1:\n{}",
            said.split(" within {").next().unwrap_or_default()
        );
        assert_eq!(serde_json::to_value(api_doc()).unwrap()["openapi"], "3.1.0");
    }
}
