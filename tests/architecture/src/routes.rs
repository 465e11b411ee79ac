//! Rule 13: the http adapter registers a route only through `utoipa_axum::routes!`, from the
//! `#[utoipa::path]` attribute of its handler, so every route is an operation of the API's
//! contract (`brokeros_http::api_doc`) with the same method and path. Outside its tests
//! (`#[cfg(test)]` modules), no file of `shared/adapters/http/src` names axum's own ways to
//! add a route: `.route(`, `.route_service(`, `.nest(`, `.nest_service(`,
//! `.fallback_service(`.

use std::collections::BTreeMap;

use crate::source::{code_lines_outside_tests, names_word};

/// The crate the rule applies to.
pub const HTTP_ADAPTER: &str = "shared/adapters/http";

/// axum's calls that register a route or a service at a path.
const REGISTRATIONS: &[&str] = &[
    ".route(",
    ".route_service(",
    ".nest(",
    ".nest_service(",
    ".fallback_service(",
];

/// Every route registered other than through `routes!`: `(file, line, call)`.
pub fn undocumented_registrations(
    files: &BTreeMap<String, String>,
) -> Vec<(String, usize, &'static str)> {
    let mut found = Vec::new();
    for (file, text) in files {
        for (number, line) in code_lines_outside_tests(text) {
            for call in REGISTRATIONS {
                if names_word(&line, call) {
                    found.push((file.clone(), number, *call));
                }
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::files;

    #[test]
    fn routes_added_by_axum_are_found_and_routes_macro_comments_and_tests_are_not() {
        let found = undocumented_registrations(&files(&[
            (
                "src/routes.rs",
                "fn crm() -> OpenApiRouter<S> {\n    OpenApiRouter::new()\n        \
                 .routes(routes!(get_lead))\n        .route(\"/x\", get(x))\n        \
                 .route_layer(l)\n}\n// never .route( here\n\
                 #[cfg(test)]\nmod tests { fn t() { Router::new().route(\"/t\", get(t)); } }\n",
            ),
            (
                "src/metrics.rs",
                "fn m(r: Router) -> Router {\n    r.nest(\"/m\", other).fallback(f)\n}\n",
            ),
        ]));
        let calls: Vec<(&str, usize, &str)> =
            found.iter().map(|(f, l, c)| (f.as_str(), *l, *c)).collect();
        assert_eq!(
            calls,
            vec![
                ("src/metrics.rs", 2, ".nest("),
                ("src/routes.rs", 4, ".route(")
            ]
        );
    }
}
