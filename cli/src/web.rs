//! The web app on `brokeros serve`: the files of `web/` (embedded in the binary by `build.rs`)
//! at `/` (the page) and `/ui/…` (its modules and styles), how it signs in at `/config.json`,
//! the dev sign-in at `/dev/sign-in`, and the simulated payment providers' page. `/config.json`
//! is the dev sign-in's unless `serve --web-config FILE` gives another (the app against a
//! deployed stack's Cognito and API): the page's policy then lets it reach the origins that file
//! names. None of these
//! paths is an API path: every other request goes to the API router, which stays the documented
//! API surface.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use brokeros_http::{ApiError, JsonBody};
use brokeros_kernel::Error;
use brokeros_kernel::principal::Role;
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/web_files.rs"));
}

/// How long a token from the dev sign-in lives; past it the app asks to sign in again, keeping
/// what was typed.
const DEV_SIGN_IN_TTL_SECONDS: i64 = 8 * 3600;

/// The one `web/` file at `/`; every other is under `/ui/`.
const INDEX: &str = "index.html";

/// The page's policy: its own scripts, styles and images only, never framed.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/// What `/config.json` answers and the page's policy that goes with it.
pub struct WebConfig {
    config: Value,
    policy: HeaderValue,
}

impl WebConfig {
    /// The dev sign-in, the API at this origin.
    pub fn dev() -> WebConfig {
        WebConfig {
            config: json!({ "sign_in": "dev" }),
            policy: HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        }
    }

    /// `serve --web-config FILE`: the app's configuration as `infra/deploy-web.sh` writes it
    /// (`sign_in` "dev" or "cognito" with the hosted UI's `domain`, `client_id`, `redirect_uri`
    /// and `logout_uri`; `api` when the API is elsewhere). The page may then connect to the
    /// Cognito domain and the API origin it names (the token exchange and the API calls).
    pub fn from_file(path: &std::path::Path) -> Result<WebConfig, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        WebConfig::from_json(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    fn from_json(text: &str) -> Result<WebConfig, String> {
        let config: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        let text_at = |pointer: &str| config.pointer(pointer).and_then(Value::as_str);
        let mut origins = Vec::new();
        match text_at("/sign_in") {
            Some("dev") => {}
            Some("cognito") => {
                for field in ["client_id", "redirect_uri", "logout_uri"] {
                    text_at(&format!("/cognito/{field}"))
                        .filter(|v| !v.is_empty())
                        .ok_or_else(|| {
                            format!("cognito.{field} is required with sign_in cognito")
                        })?;
                }
                let domain = text_at("/cognito/domain")
                    .ok_or("cognito.domain is required with sign_in cognito")?;
                origins.push(origin("cognito.domain", domain)?);
            }
            _ => return Err(r#"sign_in must be "dev" or "cognito""#.into()),
        }
        if let Some(api) = config.get("api") {
            origins.push(origin("api", api.as_str().ok_or("api must be a URL")?)?);
        }
        let policy = if origins.is_empty() {
            CONTENT_SECURITY_POLICY.to_string()
        } else {
            format!(
                "{CONTENT_SECURITY_POLICY}; connect-src 'self' {}",
                origins.join(" ")
            )
        };
        Ok(WebConfig {
            config,
            policy: HeaderValue::from_str(&policy).map_err(|e| e.to_string())?,
        })
    }
}

/// The origin (`https://host[:port]`) of `url`, the value of `field`: http or https, without
/// anything a policy reads specially.
fn origin(field: &str, url: &str) -> Result<String, String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| format!("{field} must be an http(s) URL"))?;
    let host = rest.split('/').next().unwrap_or_default();
    let plain = |c: char| c.is_ascii_alphanumeric() || ".-:[]".contains(c);
    if host.is_empty() || !host.chars().all(plain) {
        return Err(format!("{field} must be an http(s) URL with a host"));
    }
    Ok(format!("{}{host}", &url[..url.len() - rest.len()]))
}

struct WebFile {
    bytes: &'static [u8],
    content_type: &'static str,
    /// A digest of the bytes: a browser revalidates each file (`no-cache`) and gets 304 while
    /// the binary serves the same one.
    etag: HeaderValue,
}

/// Who may sign in locally and with which key; offered only by a `serve` on a loopback address.
pub struct DevSignIn {
    pub secret: Vec<u8>,
    pub loopback: bool,
    /// The configured sales agents (the lead assignment's pools), offered as sales subjects.
    pub sales_agents: Vec<String>,
}

#[derive(Clone)]
struct WebApp {
    files: Arc<HashMap<&'static str, WebFile>>,
    dev: Arc<DevSignIn>,
    config: Arc<WebConfig>,
}

/// The web app's routes in front of `api`, which answers every other path.
pub fn router(api: Router, dev: DevSignIn, config: WebConfig) -> Router {
    let files = embedded::WEB_FILES
        .iter()
        .map(|(path, bytes)| {
            let digest = hex::encode(&Sha256::digest(bytes)[..12]);
            let file = WebFile {
                bytes,
                content_type: content_type(path),
                etag: HeaderValue::from_str(&format!("\"{digest}\""))
                    .expect("hex is a valid header"),
            };
            (*path, file)
        })
        .collect();
    let app = WebApp {
        files: Arc::new(files),
        dev: Arc::new(dev),
        config: Arc::new(config),
    };
    let page = format!(
        "{}/{{provider}}/{{reference}}",
        brokeros_local::SIMULATED_PAYMENT_PAGE
    );
    Router::new()
        .route("/", get(index))
        .route("/ui/{*path}", get(asset))
        .route("/config.json", get(app_config))
        .route("/dev/sign-in", get(dev_subjects).post(dev_sign_in))
        .route(&page, get(payment_page))
        .route_layer(axum::middleware::from_fn(brokeros_http::access_log))
        .route_layer(axum::middleware::map_response(
            brokeros_http::errors_as_json,
        ))
        .with_state(app)
        .fallback_service(api)
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        _ => "application/octet-stream",
    }
}

async fn index(State(app): State<WebApp>, headers: HeaderMap) -> Response {
    serve_file(&app, INDEX, &headers)
}

async fn asset(
    State(app): State<WebApp>,
    Path(path): Path<String>,
    headers: HeaderMap,
) -> Response {
    serve_file(&app, &path, &headers)
}

fn serve_file(app: &WebApp, path: &str, headers: &HeaderMap) -> Response {
    let Some(file) = app.files.get(path) else {
        return ApiError(Error::NotFound {
            entity: "file",
            id: path.to_string(),
        })
        .into_response();
    };
    let cached = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| {
            tags.split(',')
                .any(|tag| tag.trim() == "*" || tag.trim().as_bytes() == file.etag.as_bytes())
        });
    let mut response = if cached {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut response = file.bytes.into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(file.content_type),
        );
        response
    };
    let headers = response.headers_mut();
    headers.insert(header::ETAG, file.etag.clone());
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if path == INDEX {
        headers.insert(header::CONTENT_SECURITY_POLICY, app.config.policy.clone());
    }
    response
}

/// How the app signs in: locally, the dev sign-in (the API is this origin), unless
/// `--web-config` says otherwise.
async fn app_config(State(app): State<WebApp>) -> axum::Json<Value> {
    axum::Json(app.config.config.clone())
}

fn dev_sign_in_offered(app: &WebApp) -> Result<(), ApiError> {
    if app.dev.loopback {
        Ok(())
    } else {
        Err(ApiError(Error::forbidden(
            "the dev sign-in is offered only by a serve listening on a loopback address",
        )))
    }
}

/// The roles and, for each, subjects to suggest: the configured sales agents for sales, and
/// the names the README uses for the others (two in finance, for maker-checker).
async fn dev_subjects(State(app): State<WebApp>) -> Result<axum::Json<Value>, ApiError> {
    dev_sign_in_offered(&app)?;
    let roles: Vec<Value> = Role::ALL
        .iter()
        .map(|role| {
            let subjects: Vec<String> = match role {
                Role::Sales => app.dev.sales_agents.clone(),
                Role::Client => vec!["portal-ann".into()],
                Role::Ib => vec!["portal-ldn".into()],
                Role::Compliance => vec!["compliance-1".into()],
                Role::Finance => vec!["finance-1".into(), "finance-2".into()],
                Role::Partners => vec!["pm-1".into()],
                Role::Marketing => vec!["mkt-1".into()],
                Role::Admin => vec!["admin-1".into()],
            };
            json!({ "role": role.as_str(), "subjects": subjects })
        })
        .collect();
    Ok(axum::Json(json!({ "roles": roles })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DevSignInRequest {
    role: String,
    sub: String,
}

/// A token for the chosen role and subject, minted as `brokeros token` mints it.
async fn dev_sign_in(
    State(app): State<WebApp>,
    body: JsonBody<DevSignInRequest>,
) -> Result<axum::Json<Value>, ApiError> {
    dev_sign_in_offered(&app)?;
    let role: Role = body.value.role.parse()?;
    let sub = brokeros_kernel::normalize::code("sub", &body.value.sub, 128)?;
    let token =
        crate::local::mint_dev_token(&app.dev.secret, &[role], &sub, DEV_SIGN_IN_TTL_SECONDS)?;
    Ok(axum::Json(json!({ "token": token })))
}

/// A simulated provider's payment page: what it was asked to collect and the way back to the
/// deposit in the app. Its result reaches Broker OS by signed webhook, whatever the page shows.
async fn payment_page(
    Path((provider, reference)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let param = |name: &str| query.get(name).map(String::as_str).unwrap_or("");
    let deposit_id = param("deposit_id");
    let back = format!("/#/client/deposits/{}", url_path_segment(deposit_id));
    let html = format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{provider} · simulated payment page</title>
<link rel="stylesheet" href="/ui/style.css"></head>
<body class="provider-page"><main id="main" class="card">
<p class="eyebrow">Simulated payment provider</p>
<h1>{provider}</h1>
<dl class="facts">
<dt>Amount</dt><dd data-testid="amount">{amount} {currency}</dd>
<dt>Deposit</dt><dd>{deposit}</dd>
<dt>Payment</dt><dd>{reference}</dd>
</dl>
<p>This provider is played by <code>brokeros serve</code>: it decides the payment on its own
(locally it approves) and tells Broker OS by a signed webhook, as a real one does after you pay.</p>
<p><a class="button" href="{back}">Return to Broker OS</a></p>
</main></body></html>"#,
        provider = escape(&provider),
        reference = escape(&reference),
        amount = escape(param("amount")),
        currency = escape(param("currency")),
        deposit = escape(deposit_id),
        back = escape(&back),
    );
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response()
}

/// `text` safe inside HTML text and quoted attributes.
fn escape(text: &str) -> String {
    text.chars()
        .fold(String::with_capacity(text.len()), |mut out, c| {
            match c {
                '&' => out.push_str("&amp;"),
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                '"' => out.push_str("&quot;"),
                '\'' => out.push_str("&#39;"),
                c => out.push(c),
            }
            out
        })
}

/// `text` as one path segment: anything but letters, digits, `-`, `_` and `.` percent-encoded.
fn url_path_segment(text: &str) -> String {
    text.bytes().fold(String::new(), |mut out, b| {
        if b.is_ascii_alphanumeric() || b"-_.".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_web_file_has_a_known_content_type() {
        for (path, _) in embedded::WEB_FILES {
            assert_ne!(
                content_type(path),
                "application/octet-stream",
                "{path}: add its type to content_type"
            );
        }
        assert!(embedded::WEB_FILES.iter().any(|(path, _)| *path == INDEX));
    }

    use axum::body::Body;
    use axum::http::Request;
    use brokeros_http::auth::{JwtVerifier, LOCAL_AUDIENCE, LOCAL_ISSUER};
    use tower::ServiceExt;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    /// The web routes in front of an API that answers every path `418 api`.
    fn web(loopback: bool) -> Router {
        let api = Router::new().fallback(|| async { (StatusCode::IM_A_TEAPOT, "api") });
        router(
            api,
            DevSignIn {
                secret: SECRET.to_vec(),
                loopback,
                sales_agents: vec!["sales-1".into()],
            },
            WebConfig::dev(),
        )
    }

    async fn send(router: Router, request: Request<Body>) -> (StatusCode, HeaderMap, Vec<u8>) {
        let response = router.oneshot(request).await.unwrap();
        let (parts, body) = response.into_parts();
        let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap();
        (parts.status, parts.headers, bytes.to_vec())
    }

    fn sign_in(body: &str) -> Request<Body> {
        Request::post("/dev/sign-in")
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap()
    }

    #[tokio::test]
    async fn the_dev_sign_in_mints_a_token_serve_accepts_on_loopback_only() {
        let (status, _, body) = send(
            web(true),
            sign_in(r#"{"role":"finance","sub":"finance-1"}"#),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let token: Value = serde_json::from_slice(&body).unwrap();
        let principal = JwtVerifier::new(SECRET, LOCAL_ISSUER, LOCAL_AUDIENCE)
            .verify(token["token"].as_str().unwrap())
            .unwrap();
        assert_eq!(principal.sub, "finance-1");
        assert!(principal.has(Role::Finance));

        let (status, _, body) = send(web(true), sign_in(r#"{"role":"boss","sub":"x"}"#)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(
            serde_json::from_slice::<Value>(&body).unwrap()["field"],
            "role"
        );

        for request in [
            sign_in(r#"{"role":"admin","sub":"admin-1"}"#),
            Request::get("/dev/sign-in").body(Body::empty()).unwrap(),
        ] {
            let (status, _, body) = send(web(false), request).await;
            assert_eq!(status, StatusCode::FORBIDDEN);
            assert_eq!(
                serde_json::from_slice::<Value>(&body).unwrap()["code"],
                "forbidden"
            );
        }
    }

    #[tokio::test]
    async fn files_are_served_with_their_type_and_revalidated_by_etag_and_the_rest_goes_to_the_api()
    {
        let (status, headers, body) =
            send(web(true), Request::get("/").body(Body::empty()).unwrap()).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
        assert!(String::from_utf8(body).unwrap().contains("/ui/app.js"));
        let etag = headers[header::ETAG].clone();

        let again = Request::get("/")
            .header(header::IF_NONE_MATCH, etag)
            .body(Body::empty())
            .unwrap();
        let (status, _, body) = send(web(true), again).await;
        assert_eq!(status, StatusCode::NOT_MODIFIED);
        assert!(body.is_empty());

        let (status, headers, _) = send(
            web(true),
            Request::get("/ui/app.js").body(Body::empty()).unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            headers[header::CONTENT_TYPE],
            "text/javascript; charset=utf-8"
        );

        let (status, _, body) = send(
            web(true),
            Request::get("/ui/missing.js").body(Body::empty()).unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(
            serde_json::from_slice::<Value>(&body).unwrap()["code"],
            "not_found"
        );

        let (status, _, body) = send(
            web(true),
            Request::get("/clients").body(Body::empty()).unwrap(),
        )
        .await;
        assert_eq!(
            (status, body.as_slice()),
            (StatusCode::IM_A_TEAPOT, &b"api"[..])
        );
    }

    #[test]
    fn a_web_config_file_opens_the_policy_to_the_origins_it_names_only() {
        let cognito = r#"{"sign_in":"cognito","api":"https://api.example.com/prod",
            "cognito":{"domain":"https://auth.example.com","client_id":"c","redirect_uri":"https://app/","logout_uri":"https://app/"}}"#;
        let config = WebConfig::from_json(cognito).unwrap();
        assert_eq!(config.config["cognito"]["client_id"], "c");
        assert!(
            config
                .policy
                .to_str()
                .unwrap()
                .ends_with("; connect-src 'self' https://auth.example.com https://api.example.com")
        );
        assert_eq!(
            WebConfig::from_json(r#"{"sign_in":"dev"}"#).unwrap().policy,
            CONTENT_SECURITY_POLICY
        );
        for (bad, says) in [
            (r#"{"sign_in":"sso"}"#, "sign_in"),
            (
                r#"{"sign_in":"cognito","cognito":{"domain":"https://a"}}"#,
                "cognito.client_id",
            ),
            (
                r#"{"sign_in":"cognito","cognito":{"domain":"https://a; script-src *","client_id":"c","redirect_uri":"r","logout_uri":"l"}}"#,
                "cognito.domain",
            ),
            (r#"{"sign_in":"dev","api":"javascript:alert(1)"}"#, "api"),
        ] {
            let error = WebConfig::from_json(bad).err().unwrap();
            assert!(error.contains(says), "{bad}: {error}");
        }
    }

    #[test]
    fn the_payment_page_escapes_what_the_url_carries() {
        assert_eq!(
            escape(r#"<a href="x">'&"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;"
        );
        assert_eq!(url_path_segment("dep-1_a.b"), "dep-1_a.b");
        assert_eq!(url_path_segment("a/b c"), "a%2Fb%20c");
    }
}
