//! The SAM template (`infra/template.yaml`) against the code it deploys: every crate in
//! `functions/` is a function of the template and every function of the template a crate; every
//! `${...}` of each state machine definition is supplied by that machine's
//! `DefinitionSubstitutions`, and every Lambda a definition calls exists and may be invoked by
//! that machine's role; functions that start a workflow carry its ARN and may start it; the
//! tables have the keys, indexes and TTL the store uses; only lead capture, the provider
//! webhooks and the published contests are public; no function has a wildcard action or
//! resource. The web app: its bucket is private and read only by its CloudFront distribution,
//! which sends the security headers; its Cognito client signs in with the code flow back to the
//! site; the API accepts that client and the site's origin; `infra/deploy-web.sh` publishes
//! `web/` and `config.json` from the stack's outputs (run against a stub `aws`).
//!
//! The template is read as JSON through cfn-lint's own decoder (`tools/template-json.py`), from
//! the deploy virtualenv that `bash tools/python-venv.sh deploy` makes (the test command does).
//! cfn-lint and `sam validate --lint` themselves run in `tests/run.sh`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};

use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the repository")
        .to_path_buf()
}

/// The template as JSON, decoded once per test binary.
fn template() -> &'static Value {
    static TEMPLATE: OnceLock<Value> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let root = root();
        let venv = std::env::var_os("BROKEROS_DEPLOY_VENV")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join(".tools/deploy-venv"));
        let python = venv.join("bin/python");
        assert!(
            python.exists(),
            "{} not found: the infra tests read infra/template.yaml with cfn-lint's decoder from the \
             deploy virtualenv. Make it with `bash tools/python-venv.sh deploy` (tests/run.sh does), \
             or point BROKEROS_DEPLOY_VENV at a virtualenv with tools/requirements-deploy.txt installed.",
            python.display()
        );
        let output = Command::new(&python)
            .arg(root.join("tools/template-json.py"))
            .arg(root.join("infra/template.yaml"))
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
        assert!(
            output.status.success(),
            "tools/template-json.py could not read infra/template.yaml:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).expect("template-json.py prints JSON")
    })
}

fn resources() -> &'static serde_json::Map<String, Value> {
    template()["Resources"]
        .as_object()
        .expect("the template has Resources")
}

fn of_type(kind: &str) -> BTreeMap<&'static str, &'static Value> {
    resources()
        .iter()
        .filter(|(_, r)| r["Type"] == kind)
        .map(|(name, r)| (name.as_str(), r))
        .collect()
}

const FUNCTION: &str = "AWS::Serverless::Function";
const STATE_MACHINE: &str = "AWS::Serverless::StateMachine";

/// The logical id of `{"Ref": X}`, `{"Fn::GetAtt": [X, "Arn"]}` or `{"Fn::Sub": "${X.Arn}..."}`.
fn referenced(value: &Value) -> Option<String> {
    if let Some(name) = value.get("Ref").and_then(Value::as_str) {
        return Some(name.to_string());
    }
    if let Some(parts) = value.get("Fn::GetAtt").and_then(Value::as_array) {
        return parts.first().and_then(Value::as_str).map(str::to_string);
    }
    if let Some(text) = value.get("Fn::Sub").and_then(Value::as_str) {
        // A state machine's ARN built from its name: a function the machine invokes cannot
        // `!Ref` the machine (the definition already refers to the function: a cycle).
        if let Some((_, name)) = text.split_once(":stateMachine:") {
            return of_type(STATE_MACHINE)
                .into_iter()
                .find(|(_, m)| m["Properties"]["Name"]["Fn::Sub"].as_str() == Some(name))
                .map(|(id, _)| id.to_string());
        }
        let start = text.find("${")? + 2;
        let end = start + text[start..].find('}')?;
        return Some(text[start..end].split('.').next()?.to_string());
    }
    None
}

fn as_list(value: &Value) -> Vec<&Value> {
    match value {
        Value::Array(items) => items.iter().collect(),
        Value::Null => Vec::new(),
        other => vec![other],
    }
}

/// The `${Name}` placeholders of a definition's text.
fn placeholders(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        match after.find('}') {
            Some(end) => {
                names.insert(after[..end].to_string());
                rest = &after[end + 1..];
            }
            None => break,
        }
    }
    names
}

/// The IAM statements of a SAM resource's `Policies` (inline `Statement` lists only).
fn statements(resource: &Value) -> Vec<&Value> {
    as_list(&resource["Properties"]["Policies"])
        .into_iter()
        .flat_map(|policy| as_list(&policy["Statement"]))
        .collect()
}

/// The logical ids a resource's statements allow `action` on.
fn allowed(resource: &Value, action: &str) -> BTreeSet<String> {
    statements(resource)
        .into_iter()
        .filter(|s| s["Effect"] == "Allow")
        .filter(|s| as_list(&s["Action"]).iter().any(|a| *a == action))
        .flat_map(|s| as_list(&s["Resource"]))
        .filter_map(referenced)
        .collect()
}

/// The crates in `functions/`: directory name → package name.
fn function_crates() -> BTreeMap<String, String> {
    let mut crates = BTreeMap::new();
    for entry in std::fs::read_dir(root().join("functions")).expect("functions/ exists") {
        let path = entry.unwrap().path();
        let manifest = path.join("Cargo.toml");
        if !manifest.exists() {
            continue;
        }
        let text = std::fs::read_to_string(&manifest).unwrap();
        let name = text
            .lines()
            .find_map(|l| {
                l.trim()
                    .strip_prefix("name")
                    .map(|r| r.trim_start_matches([' ', '=']).trim().trim_matches('"'))
            })
            .unwrap_or_else(|| panic!("{} has no package name", manifest.display()))
            .to_string();
        crates.insert(
            path.file_name().unwrap().to_string_lossy().to_string(),
            name,
        );
    }
    crates
}

/// Template function logical id → the binary it builds (`Metadata.BuildProperties.Binary`).
fn template_functions() -> BTreeMap<&'static str, String> {
    of_type(FUNCTION)
        .into_iter()
        .map(|(id, f)| {
            let binary = f["Metadata"]["BuildProperties"]["Binary"]
                .as_str()
                .unwrap_or_else(|| panic!("{id}: no Metadata.BuildProperties.Binary"))
                .to_string();
            (id, binary)
        })
        .collect()
}

fn problems_or_ok(problems: Vec<String>) {
    assert!(
        problems.is_empty(),
        "infra/template.yaml:\n  - {}",
        problems.join("\n  - ")
    );
}

#[test]
fn every_function_crate_is_in_the_template_and_every_template_function_is_a_crate() {
    let crates = function_crates();
    let functions = template_functions();
    let workspace = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let globals = &template()["Globals"]["Function"];
    let mut problems = Vec::new();
    let in_template: BTreeSet<&str> = functions.values().map(String::as_str).collect();
    for (dir, package) in &crates {
        if dir != package {
            problems.push(format!(
                "functions/{dir} builds package {package}: name the directory after its binary"
            ));
        }
        if !in_template.contains(dir.as_str()) {
            problems.push(format!(
                "functions/{dir} has no AWS::Serverless::Function (Metadata.BuildProperties.Binary: {dir})"
            ));
        }
        if !workspace.contains(&format!("\"functions/{dir}\"")) {
            problems.push(format!(
                "functions/{dir} is not a member of the workspace (Cargo.toml)"
            ));
        }
    }
    for (id, binary) in &functions {
        let f = &resources()[*id];
        let props = &f["Properties"];
        if !crates.contains_key(binary) {
            problems.push(format!(
                "{id} builds {binary}, but there is no crate functions/{binary}"
            ));
        }
        if props["CodeUri"] != format!("../functions/{binary}") {
            problems.push(format!(
                "{id}: CodeUri must be ../functions/{binary} (cargo-lambda builds the crate there), found {}",
                props["CodeUri"]
            ));
        }
        if f["Metadata"]["BuildMethod"] != "rust-cargolambda" {
            problems.push(format!(
                "{id}: Metadata.BuildMethod must be rust-cargolambda"
            ));
        }
        let effective = |key: &str| {
            if props[key].is_null() {
                globals[key].clone()
            } else {
                props[key].clone()
            }
        };
        for (key, wanted) in [
            ("Runtime", serde_json::json!("provided.al2023")),
            ("Handler", serde_json::json!("bootstrap")),
            ("Architectures", serde_json::json!(["arm64"])),
        ] {
            if effective(key) != wanted {
                problems.push(format!("{id}: {key} must be {wanted}"));
            }
        }
        // Its own log group, with a retention.
        match referenced(&props["LoggingConfig"]["LogGroup"]).and_then(|g| resources().get(&g)) {
            Some(group)
                if group["Type"] == "AWS::Logs::LogGroup"
                    && !group["Properties"]["RetentionInDays"].is_null() => {}
            _ => problems.push(format!(
                "{id}: LoggingConfig.LogGroup must name an AWS::Logs::LogGroup with RetentionInDays"
            )),
        }
    }
    problems_or_ok(problems);
}

/// Every state of a definition, nested ones (Parallel branches, Map processors) included.
fn states(definition: &Value) -> Vec<(&String, &Value)> {
    let mut all = Vec::new();
    if let Some(map) = definition["States"].as_object() {
        for (name, state) in map {
            all.push((name, state));
            for branch in as_list(&state["Branches"]) {
                all.extend(states(branch));
            }
            for key in ["ItemProcessor", "Iterator"] {
                if state[key].is_object() {
                    all.extend(states(&state[key]));
                }
            }
        }
    }
    all
}

#[test]
fn every_state_machine_is_deployed_with_its_substitutions_and_may_invoke_its_lambdas() {
    let machines = of_type(STATE_MACHINE);
    let functions = of_type(FUNCTION);
    let mut problems = Vec::new();

    let mut definitions = BTreeSet::new();
    for entry in std::fs::read_dir(root().join("statemachines")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().to_string();
        if name.ends_with(".asl.json") {
            definitions.insert(format!("../statemachines/{name}"));
        }
    }
    let deployed: BTreeSet<String> = machines
        .values()
        .filter_map(|m| {
            m["Properties"]["DefinitionUri"]
                .as_str()
                .map(str::to_string)
        })
        .collect();
    for missing in definitions.difference(&deployed) {
        problems.push(format!(
            "{} has no AWS::Serverless::StateMachine (DefinitionUri)",
            missing.trim_start_matches("../")
        ));
    }

    for (id, machine) in &machines {
        let props = &machine["Properties"];
        let Some(uri) = props["DefinitionUri"].as_str() else {
            problems.push(format!(
                "{id}: DefinitionUri must name a file in statemachines/ (no inline Definition)"
            ));
            continue;
        };
        let path = root().join("infra").join(uri);
        let Ok(text) = std::fs::read_to_string(&path) else {
            problems.push(format!("{id}: DefinitionUri {uri}: no such file"));
            continue;
        };
        let definition: Value = match serde_json::from_str(&text) {
            Ok(d) => d,
            Err(e) => {
                problems.push(format!("{id}: {uri} is not JSON: {e}"));
                continue;
            }
        };
        let file = uri.trim_start_matches("../");

        // ${...} of the file == the keys of DefinitionSubstitutions.
        let wanted = placeholders(&text);
        let substitutions = props["DefinitionSubstitutions"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        let supplied: BTreeSet<String> = substitutions.keys().cloned().collect();
        for name in wanted.difference(&supplied) {
            problems.push(format!(
                "{id}: {file} uses ${{{name}}}, which its DefinitionSubstitutions do not supply"
            ));
        }
        for name in supplied.difference(&wanted) {
            problems.push(format!(
                "{id}: DefinitionSubstitutions.{name} is not used by {file}"
            ));
        }

        // Every Lambda the definition calls is a function of the template, through a placeholder.
        let mut called = BTreeSet::new();
        for (state_name, state) in states(&definition) {
            let Some(resource) = state["Resource"].as_str() else {
                continue;
            };
            let target = if resource.starts_with("arn:aws:states:::lambda:invoke") {
                let parameters = if state["Parameters"].is_object() {
                    &state["Parameters"]
                } else {
                    &state["Arguments"]
                };
                parameters["FunctionName"].as_str().unwrap_or_default()
            } else if resource.starts_with("${") || resource.contains(":lambda:") {
                resource
            } else {
                continue;
            };
            let names = placeholders(target);
            let Some(name) = names.first() else {
                problems.push(format!(
                    "{id}: {file} state {state_name} calls {target:?}: use a ${{...FunctionArn}} placeholder"
                ));
                continue;
            };
            let value = substitutions.get(name).unwrap_or(&Value::Null);
            match referenced(value) {
                Some(function) if functions.contains_key(function.as_str()) => {
                    called.insert(function);
                }
                Some(other) => problems.push(format!(
                    "{id}: {file} state {state_name} calls ${{{name}}} = {other}, which is not an {FUNCTION} of the template"
                )),
                None if value.is_null() => {} // reported above as not supplied
                None => problems.push(format!(
                    "{id}: ${{{name}}} (called by state {state_name}) must be !GetAtt <Function>.Arn, found {value}"
                )),
            }
        }

        // The role may invoke exactly the functions it calls.
        let mut invokable: BTreeSet<String> = as_list(&props["Policies"])
            .into_iter()
            .filter_map(|p| p.get("LambdaInvokePolicy"))
            .filter_map(|p| referenced(&p["FunctionName"]))
            .collect();
        invokable.extend(allowed(machine, "lambda:InvokeFunction"));
        for function in called.difference(&invokable) {
            problems.push(format!(
                "{id}: {file} calls {function}, but the machine's Policies do not allow invoking it (LambdaInvokePolicy: {{FunctionName: !Ref {function}}})"
            ));
        }
        for function in invokable.difference(&called) {
            problems.push(format!(
                "{id}: may invoke {function}, which {file} never calls (least privilege)"
            ));
        }

        // Logging, with a retention on its log group.
        let logging = &props["Logging"];
        let group = as_list(&logging["Destinations"])
            .first()
            .and_then(|d| referenced(&d["CloudWatchLogsLogGroup"]["LogGroupArn"]));
        let retained = group
            .and_then(|g| resources().get(&g))
            .is_some_and(|g| !g["Properties"]["RetentionInDays"].is_null());
        if logging["Level"].is_null() || logging["Level"] == "OFF" || !retained {
            problems.push(format!(
                "{id}: Logging needs a Level (not OFF) and a destination log group with RetentionInDays"
            ));
        }
    }
    problems_or_ok(problems);
}

/// A machine's name in its environment variable, as the Step Functions adapter reads it:
/// `commission-payout` → `COMMISSION_PAYOUT`.
fn env_name(stem: &str) -> String {
    stem.to_uppercase().replace('-', "_")
}

#[test]
fn functions_that_start_or_answer_workflows_name_them_and_may_do_exactly_that() {
    let machines = of_type(STATE_MACHINE);
    let stem = |machine: &str| -> String {
        let uri = machines[machine]["Properties"]["DefinitionUri"]
            .as_str()
            .unwrap_or_default();
        uri.rsplit('/')
            .next()
            .unwrap_or_default()
            .trim_end_matches(".asl.json")
            .to_string()
    };
    let mut problems = Vec::new();
    for (id, function) in of_type(FUNCTION) {
        let variables = function["Properties"]["Environment"]["Variables"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        let mut named = BTreeSet::new();
        for (var, value) in &variables {
            let Some(name) = var
                .strip_prefix("BROKEROS_")
                .and_then(|v| v.strip_suffix("_STATE_MACHINE_ARN"))
            else {
                continue;
            };
            match referenced(value).filter(|m| machines.contains_key(m.as_str())) {
                Some(machine) if env_name(&stem(&machine)) == name => {
                    named.insert(machine);
                }
                _ => problems.push(format!(
                    "{id}: {var} must be !Ref of the state machine of statemachines/{}.asl.json",
                    name.to_lowercase().replace('_', "-")
                )),
            }
        }
        let startable = allowed(function, "states:StartExecution");
        for machine in named.difference(&startable) {
            problems.push(format!(
                "{id}: has the ARN of {machine} but no states:StartExecution on it"
            ));
        }
        for machine in startable.difference(&named) {
            let var = format!("BROKEROS_{}_STATE_MACHINE_ARN", env_name(&stem(machine)));
            problems.push(format!(
                "{id}: may start {machine} but has no {var} (the Step Functions adapter reads it)"
            ));
        }
        // Task tokens are answered with all three calls, on named machines only.
        let token_sets: Vec<BTreeSet<String>> = [
            "states:SendTaskSuccess",
            "states:SendTaskFailure",
            "states:SendTaskHeartbeat",
        ]
        .iter()
        .map(|action| allowed(function, action))
        .collect();
        if token_sets.iter().any(|s| *s != token_sets[0]) {
            problems.push(format!(
                "{id}: SendTaskSuccess, SendTaskFailure and SendTaskHeartbeat must be allowed on the same machines"
            ));
        }
        for machine in &token_sets[0] {
            if !machines.contains_key(machine.as_str()) {
                problems.push(format!(
                    "{id}: answers task tokens of {machine}, which is not a state machine of the template"
                ));
            }
        }
    }
    problems_or_ok(problems);
}

#[test]
fn no_function_or_machine_has_wildcard_actions_or_data_resources() {
    // Step Functions' log delivery actions accept no resource ARN (AWS documents "*" for them).
    let log_delivery = |action: &str| action.starts_with("logs:");
    let mut problems = Vec::new();
    for (id, resource) in resources() {
        if resource["Type"] != FUNCTION && resource["Type"] != STATE_MACHINE {
            continue;
        }
        for policy in as_list(&resource["Properties"]["Policies"]) {
            if policy.is_string() {
                problems.push(format!(
                    "{id}: managed policy {policy} (name resources in an inline Statement instead)"
                ));
            }
        }
        for statement in statements(resource) {
            let actions: Vec<&str> = as_list(&statement["Action"])
                .into_iter()
                .filter_map(Value::as_str)
                .collect();
            for action in &actions {
                if action.contains('*') {
                    problems.push(format!("{id}: wildcard action {action}"));
                }
            }
            let any_resource = as_list(&statement["Resource"])
                .iter()
                .any(|r| r.as_str().is_some_and(|r| r == "*" || r.ends_with(":*")));
            if any_resource && !actions.iter().all(|a| log_delivery(a)) {
                problems.push(format!(
                    "{id}: statement {} allows {actions:?} on every resource",
                    statement["Sid"]
                ));
            }
        }
    }
    problems_or_ok(problems);
}

#[test]
fn tables_have_the_keys_indexes_and_ttl_the_store_uses() {
    use brokeros_store::Table;
    let globals = &template()["Globals"]["Function"]["Environment"]["Variables"];
    let mut problems = Vec::new();
    for (table, var) in [
        (Table::Main, "BROKEROS_TABLE"),
        (Table::Audit, "BROKEROS_AUDIT_TABLE"),
    ] {
        let Some(id) = referenced(&globals[var]) else {
            problems.push(format!(
                "Globals.Function.Environment.Variables.{var} must be !Ref of a table"
            ));
            continue;
        };
        let props = &resources()[&id]["Properties"];
        let key_names = |schema: &Value| -> Vec<String> {
            as_list(schema)
                .iter()
                .map(|k| k["AttributeName"].as_str().unwrap_or_default().to_string())
                .collect()
        };
        if key_names(&props["KeySchema"]) != ["pk", "sk"] {
            problems.push(format!("{id}: KeySchema must be pk (HASH), sk (RANGE)"));
        }
        let indexes: BTreeMap<String, &Value> = as_list(&props["GlobalSecondaryIndexes"])
            .into_iter()
            .map(|gsi| {
                (
                    gsi["IndexName"].as_str().unwrap_or_default().to_string(),
                    gsi,
                )
            })
            .collect();
        let wanted: BTreeSet<String> = table
            .indexes()
            .iter()
            .map(|i| i.name().to_string())
            .collect();
        if indexes.keys().cloned().collect::<BTreeSet<_>>() != wanted {
            problems.push(format!(
                "{id}: GSIs must be {wanted:?} (brokeros_store::Table::indexes), found {:?}",
                indexes.keys().collect::<Vec<_>>()
            ));
        }
        for (name, gsi) in &indexes {
            if key_names(&gsi["KeySchema"]) != [format!("{name}pk"), format!("{name}sk")]
                || gsi["Projection"]["ProjectionType"] != "ALL"
            {
                problems.push(format!(
                    "{id}: GSI {name} must be keyed {name}pk/{name}sk and project ALL"
                ));
            }
        }
        if props["BillingMode"] != "PAY_PER_REQUEST" {
            problems.push(format!("{id}: BillingMode must be PAY_PER_REQUEST"));
        }
        if props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] != true {
            problems.push(format!("{id}: point-in-time recovery must be enabled"));
        }
        if props["DeletionProtectionEnabled"] != true {
            problems.push(format!("{id}: deletion protection must be enabled"));
        }
        let ttl = &props["TimeToLiveSpecification"];
        match table {
            // Idempotency records and dedupe windows expire (shared/lib/store-dynamodb codec).
            Table::Main if ttl["AttributeName"] != "expires_at" || ttl["Enabled"] != true => {
                problems.push(format!("{id}: TTL must be enabled on expires_at"))
            }
            Table::Audit if !ttl.is_null() => {
                problems.push(format!("{id}: the audit trail never expires: no TTL"))
            }
            _ => {}
        }
    }
    problems_or_ok(problems);
}

#[test]
fn only_lead_capture_webhooks_and_published_contests_are_public_and_every_route_exists() {
    let public_routes: BTreeSet<(&str, &str)> = [
        ("POST", "/leads"),
        ("POST", "/leads/consent/confirm"),
        ("POST", "/webhooks/kyc/{provider}"),
        ("POST", "/webhooks/psp/{provider}"),
        ("GET", "/contests"),
        ("GET", "/contests/{id}"),
        ("GET", "/contests/{id}/leaderboard"),
        ("GET", "/openapi.json"),
    ]
    .into();
    // Every route of the HTTP adapter is a documented operation of its contract.
    let documented = brokeros_http::documented_operations();
    let mut problems = Vec::new();
    let mut seen_public = BTreeSet::new();
    let apis = of_type("AWS::Serverless::HttpApi");
    for (api_id, api) in &apis {
        if api["Properties"]["Auth"]["DefaultAuthorizer"].is_null() {
            problems.push(format!(
                "{api_id}: needs Auth.DefaultAuthorizer (the Cognito JWT authorizer)"
            ));
        }
    }
    for (id, function) in of_type(FUNCTION) {
        let Some(events) = function["Properties"]["Events"].as_object() else {
            continue;
        };
        for (event_id, event) in events {
            if event["Type"] != "HttpApi" {
                continue;
            }
            let props = &event["Properties"];
            let method = props["Method"].as_str().unwrap_or("ANY").to_uppercase();
            let path = props["Path"].as_str().unwrap_or("$default").to_string();
            let is_documented = documented
                .iter()
                .any(|(m, p)| m.as_str() == method && *p == path);
            if path != "$default" && !is_documented {
                problems.push(format!(
                    "{id}.{event_id}: {method} {path} is not an operation of the API's contract (brokeros_http::api_doc)"
                ));
            }
            let public = props["Auth"]["Authorizer"] == "NONE";
            let key = (method.as_str(), path.as_str());
            let should_be_public = public_routes.iter().any(|r| *r == key);
            if public && !should_be_public {
                problems.push(format!(
                    "{id}.{event_id}: {method} {path} has no authorizer; only lead capture, provider webhooks, published contests and the contract are public"
                ));
            }
            if should_be_public && !public {
                problems.push(format!(
                    "{id}.{event_id}: {method} {path} is public (Auth.Authorizer: NONE)"
                ));
            }
            if !props["Auth"]["Authorizer"].is_null() && !public {
                problems.push(format!(
                    "{id}.{event_id}: uses another authorizer than the API's default"
                ));
            }
            if public {
                seen_public.insert((method, path));
            }
        }
    }
    for (method, path) in &public_routes {
        if !seen_public.contains(&(method.to_string(), path.to_string())) {
            problems.push(format!(
                "no function serves the public route {method} {path}"
            ));
        }
    }
    problems_or_ok(problems);
}

/// Every public route is throttled by a route setting of its own, below the stage's default
/// (anyone can call it), and `serve`'s per-source limiter covers the same routes.
#[test]
fn public_routes_are_throttled_per_route_below_the_default() {
    let mut problems = Vec::new();
    for (api_id, api) in of_type("AWS::Serverless::HttpApi") {
        let props = &api["Properties"];
        let default = &props["DefaultRouteSettings"];
        let limit = |settings: &Value, key: &str| settings[key].as_f64();
        for (id, function) in of_type(FUNCTION) {
            let Some(events) = function["Properties"]["Events"].as_object() else {
                continue;
            };
            for (event_id, event) in events {
                let p = &event["Properties"];
                if event["Type"] != "HttpApi" || p["Auth"]["Authorizer"] != "NONE" {
                    continue;
                }
                let method = p["Method"].as_str().unwrap_or("ANY").to_uppercase();
                let path = p["Path"].as_str().unwrap_or("$default");
                let route_key = format!("{method} {path}");
                let settings = &props["RouteSettings"][&route_key];
                for key in ["ThrottlingBurstLimit", "ThrottlingRateLimit"] {
                    match (limit(settings, key), limit(default, key)) {
                        (Some(route), Some(stage)) if route > 0.0 && route < stage => {}
                        _ => problems.push(format!(
                            "{api_id}.RouteSettings[{route_key}] ({id}.{event_id}): {key} must be set, above 0 and below DefaultRouteSettings'"
                        )),
                    }
                }
                let method = method.parse::<axum::http::Method>().unwrap();
                if !brokeros_http::is_public_route(&method, path) {
                    problems.push(format!(
                        "{route_key} is public but serve's limiter does not cover it (brokeros_http::is_public_route)"
                    ));
                }
            }
        }
    }
    problems_or_ok(problems);
}

#[test]
fn the_payment_event_queue_is_fifo_with_a_dead_letter_queue_and_a_partial_batch_consumer() {
    let queue_env = brokeros_aws::queue::QUEUE_URL_ENV;
    let mut problems = Vec::new();
    let mut queues = BTreeSet::new();
    for (id, function) in of_type(FUNCTION) {
        let value = &function["Properties"]["Environment"]["Variables"][queue_env];
        if value.is_null() {
            continue;
        }
        let Some(queue) = referenced(value) else {
            problems.push(format!("{id}: {queue_env} must be !Ref of the queue"));
            continue;
        };
        if !allowed(function, "sqs:SendMessage").contains(&queue) {
            problems.push(format!(
                "{id}: has {queue_env} but no sqs:SendMessage on {queue}"
            ));
        }
        queues.insert(queue);
    }
    if queues.is_empty() {
        problems.push(format!("no function has {queue_env}"));
    }
    for queue in &queues {
        let props = &resources()[queue]["Properties"];
        if props["FifoQueue"] != true {
            problems.push(format!("{queue}: must be a FIFO queue"));
        }
        let dlq = referenced(&props["RedrivePolicy"]["deadLetterTargetArn"]);
        if dlq.is_none() || props["RedrivePolicy"]["maxReceiveCount"].is_null() {
            problems.push(format!(
                "{queue}: needs a RedrivePolicy to a dead-letter queue"
            ));
        }
        let mappings: Vec<&Value> = of_type("AWS::Lambda::EventSourceMapping")
            .into_values()
            .filter(|m| referenced(&m["Properties"]["EventSourceArn"]).as_ref() == Some(queue))
            .collect();
        if mappings.is_empty() {
            problems.push(format!("{queue}: no event source mapping consumes it"));
        }
        for mapping in mappings {
            let props = &mapping["Properties"];
            if !as_list(&props["FunctionResponseTypes"])
                .iter()
                .any(|t| *t == "ReportBatchItemFailures")
            {
                problems.push(format!(
                    "{queue}: its event source mapping needs FunctionResponseTypes [ReportBatchItemFailures]"
                ));
            }
            let consumer = referenced(&props["FunctionName"]).unwrap_or_default();
            if let Some(function) = resources().get(&consumer)
                && !allowed(function, "sqs:ReceiveMessage").contains(queue)
            {
                problems.push(format!(
                    "{consumer}: consumes {queue} without sqs:ReceiveMessage on it"
                ));
            }
        }
        if let Some(dlq) = dlq {
            let alarmed = of_type("AWS::CloudWatch::Alarm").values().any(|a| {
                as_list(&a["Properties"]["Dimensions"])
                    .iter()
                    .any(|d| referenced(&d["Value"]).as_deref() == Some(dlq.as_str()))
            });
            if !alarmed {
                problems.push(format!("{dlq}: no alarm on its depth"));
            }
        }
    }
    problems_or_ok(problems);
}

#[test]
fn secrets_come_from_the_secret_store_never_from_plain_environment_values() {
    let mut problems = Vec::new();
    for (id, function) in of_type(FUNCTION) {
        let variables = function["Properties"]["Environment"]["Variables"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        for (var, value) in variables {
            let upper = var.to_uppercase();
            if !(upper.contains("SECRET") || upper.contains("PASSWORD") || upper.contains("KEY")) {
                continue;
            }
            let store = referenced(&value)
                .and_then(|r| resources().get(&r))
                .and_then(|r| r["Type"].as_str());
            if !matches!(
                store,
                Some("AWS::SecretsManager::Secret" | "AWS::SSM::Parameter")
            ) {
                problems.push(format!(
                    "{id}: {var} must name a Secrets Manager secret or SSM parameter (!Ref), not hold a value"
                ));
            }
        }
    }
    problems_or_ok(problems);
}

#[test]
fn the_placeholder_scanner_finds_every_name() {
    assert_eq!(
        placeholders(r#"{"a": "${One}", "b": "x${Two}y", "c": "$notone", "d": "${Three}"}"#),
        BTreeSet::from(["One".to_string(), "Two".to_string(), "Three".to_string()])
    );
    assert_eq!(
        referenced(&serde_json::json!({"Fn::Sub": "${Queue.Arn}/x"})),
        Some("Queue".into())
    );
}

/// The task handlers that park a task token and answer it themselves when the result came
/// first (`TaskFunction::answers_its_own_tokens`) may answer tokens of the
/// machine that hands them one; the others (the token is answered elsewhere, e.g. by a
/// compliance decision through crm-api) may not.
#[test]
fn functions_handed_a_task_token_may_answer_it_exactly_when_their_handler_does() {
    use brokeros_app::workflow_tasks::TaskFunction;
    let functions = of_type(FUNCTION);
    let mut problems = Vec::new();
    let mut handed = 0;
    for (id, machine) in of_type(STATE_MACHINE) {
        let props = &machine["Properties"];
        let Some(uri) = props["DefinitionUri"].as_str() else {
            continue;
        };
        let Ok(text) = std::fs::read_to_string(root().join("infra").join(uri)) else {
            continue;
        };
        let definition: Value = serde_json::from_str(&text).unwrap_or_default();
        for (state_name, state) in states(&definition) {
            let resource = state["Resource"].as_str().unwrap_or_default();
            if !resource.ends_with(".waitForTaskToken") {
                continue;
            }
            let target = state["Parameters"]["FunctionName"]
                .as_str()
                .unwrap_or_default();
            let Some(placeholder) = placeholders(target).into_iter().next() else {
                continue;
            };
            let Some(function) = referenced(&props["DefinitionSubstitutions"][&placeholder]) else {
                continue;
            };
            let Some(resource) = functions.get(function.as_str()) else {
                continue;
            };
            handed += 1;
            let binary = resource["Metadata"]["BuildProperties"]["Binary"]
                .as_str()
                .unwrap_or_default();
            let answers = TaskFunction::from_name(binary)
                .map(TaskFunction::answers_its_own_tokens)
                .unwrap_or(false);
            let may = allowed(resource, "states:SendTaskSuccess").contains(id);
            if answers && !may {
                problems.push(format!(
                    "{function}: {id} hands it a task token (state {state_name}) that its handler may answer, but it has no states:SendTaskSuccess/Failure/Heartbeat on {id} (arn:...:stateMachine:<its Name>)"
                ));
            }
            if may && !answers {
                problems.push(format!(
                    "{function}: may answer task tokens of {id}, which its handler never does (least privilege)"
                ));
            }
        }
    }
    assert!(
        handed >= 3,
        "the definitions hand out task tokens: {handed}"
    );
    problems_or_ok(problems);
}

/// Every function's environment (the Globals merged with its own) names an adapter for every
/// port, one this build has: the Lambda composes at start-up instead of failing there (or
/// running an adapter nobody chose). Files a setting names under `/opt` are read from the
/// function's layers (their ContentUri here), as the Lambda would find them.
#[test]
fn every_function_names_an_adapter_for_every_port() {
    use brokeros_aws::compose::{Unconfigured, fx_rates_from, ports_from};
    let globals = &template()["Globals"]["Function"];
    let mut problems = Vec::new();
    for (id, function) in of_type(FUNCTION) {
        let mut variables = globals["Environment"]["Variables"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        if let Some(own) = function["Properties"]["Environment"]["Variables"].as_object() {
            variables.extend(own.clone());
        }
        let opt = layer_contents(globals, function);
        let lookup = |name: &str| {
            let value = variables.get(name).and_then(Value::as_str)?;
            Some(match (value.strip_prefix("dir:/opt/"), &opt) {
                (Some(path), Some(layer)) => format!("dir:{}", layer.join(path).display()),
                _ => value.to_string(),
            })
        };
        if let Err(e) = ports_from(&lookup, Arc::new(Unconfigured("queue"))) {
            problems.push(format!("{id}: {e}"));
        }
        if let Err(e) = fx_rates_from(&lookup) {
            problems.push(format!("{id}: {e}"));
        }
    }
    problems_or_ok(problems);
}

/// What a function finds under `/opt`: the content of its one layer (the Globals' or its own),
/// by the layer's ContentUri relative to the template.
fn layer_contents(globals: &Value, function: &Value) -> Option<PathBuf> {
    let layers = function["Properties"]["Layers"]
        .as_array()
        .or_else(|| globals["Layers"].as_array())?;
    let [layer] = layers.as_slice() else {
        panic!("one layer per function is what this test reads: {layers:?}");
    };
    let name = referenced(layer)?;
    let content = resources()[&name]["Properties"]["ContentUri"].as_str()?;
    Some(root().join("infra").join(content))
}

// ─── Operability (issue 11): tracing, alarms, the dashboard ─────────────────────────────────

const ALARM: &str = "AWS::CloudWatch::Alarm";

/// The metrics an alarm watches: (namespace, metric name, dimensions as name → value), from its
/// top-level metric or from each `Metrics[].MetricStat`.
type WatchedMetric = (String, String, Vec<(String, &'static Value)>);

fn alarm_metrics(alarm: &'static Value) -> Vec<WatchedMetric> {
    let dimensions = |list: &'static Value| -> Vec<(String, &'static Value)> {
        as_list(list)
            .into_iter()
            .map(|d| {
                (
                    d["Name"].as_str().unwrap_or_default().to_string(),
                    &d["Value"],
                )
            })
            .collect()
    };
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let props = &alarm["Properties"];
    let mut found = Vec::new();
    if !props["MetricName"].is_null() {
        found.push((
            text(&props["Namespace"]),
            text(&props["MetricName"]),
            dimensions(&props["Dimensions"]),
        ));
    }
    for query in as_list(&props["Metrics"]) {
        let metric = &query["MetricStat"]["Metric"];
        if !metric.is_null() {
            found.push((
                text(&metric["Namespace"]),
                text(&metric["MetricName"]),
                dimensions(&metric["Dimensions"]),
            ));
        }
    }
    found
}

#[test]
fn every_function_and_state_machine_is_traced_with_x_ray() {
    let globals = &template()["Globals"]["Function"]["Tracing"];
    let mut problems = Vec::new();
    for (id, function) in of_type(FUNCTION) {
        let tracing = &function["Properties"]["Tracing"];
        let tracing = if tracing.is_null() { globals } else { tracing };
        if *tracing != "Active" {
            problems.push(format!("{id}: Tracing must be Active (Globals or its own)"));
        }
    }
    for (id, machine) in of_type(STATE_MACHINE) {
        if machine["Properties"]["Tracing"]["Enabled"] != true {
            problems.push(format!("{id}: needs Tracing: {{Enabled: true}}"));
        }
    }
    problems_or_ok(problems);
}

#[test]
fn every_dead_letter_queue_has_a_depth_alarm() {
    // Dead-letter queues: every queue some queue's RedrivePolicy sends to.
    let dlqs: BTreeSet<String> = of_type("AWS::SQS::Queue")
        .values()
        .filter_map(|q| referenced(&q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]))
        .collect();
    let mut problems = Vec::new();
    if dlqs.is_empty() {
        problems.push("no dead-letter queue found (the payment-event queue has one)".into());
    }
    for dlq in &dlqs {
        let alarmed = of_type(ALARM).values().any(|alarm| {
            let props = &alarm["Properties"];
            let depth = alarm_metrics(alarm).iter().any(|(ns, name, dims)| {
                ns == "AWS/SQS"
                    && name == "ApproximateNumberOfMessagesVisible"
                    && dims.iter().any(|(d, v)| {
                        d == "QueueName" && referenced(v).as_deref() == Some(dlq.as_str())
                    })
            });
            // Any message at all: a dead letter is a payment event nobody applied.
            depth
                && props["Threshold"] == 0
                && props["ComparisonOperator"] == "GreaterThanThreshold"
        });
        if !alarmed {
            problems.push(format!(
                "{dlq}: no alarm on ApproximateNumberOfMessagesVisible > 0"
            ));
        }
    }
    problems_or_ok(problems);
}

#[test]
fn every_state_machine_has_failure_timeout_and_stuck_execution_alarms() {
    let machines = of_type(STATE_MACHINE);
    // The sweep publishing the stuck-execution metric, and the machines it watches.
    let watched: BTreeSet<String> = of_type(FUNCTION)
        .values()
        .flat_map(|f| {
            let value = &f["Properties"]["Environment"]["Variables"]
                [brokeros_aws::sweep::WATCHED_MACHINES_ENV];
            let listed = &value["Fn::Join"][1];
            as_list(listed)
                .into_iter()
                .filter_map(referenced)
                .filter(|m| allowed(f, "states:ListExecutions").contains(m))
                .collect::<Vec<_>>()
        })
        .collect();
    let mut problems = Vec::new();
    for (id, machine) in &machines {
        let stem = machine["Properties"]["DefinitionUri"]
            .as_str()
            .unwrap_or_default()
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .trim_end_matches(".asl.json")
            .to_string();
        let watches = |metric: &str| {
            of_type(ALARM).values().any(|alarm| {
                alarm_metrics(alarm).iter().any(|(ns, name, dims)| {
                    ns == "AWS/States"
                        && name == metric
                        && dims.iter().any(|(d, v)| {
                            d == "StateMachineArn" && referenced(v).as_deref() == Some(*id)
                        })
                })
            })
        };
        for metric in ["ExecutionsFailed", "ExecutionsTimedOut"] {
            if !watches(metric) {
                problems.push(format!("{id}: no alarm on {metric}"));
            }
        }
        if !watched.contains(*id) {
            problems.push(format!(
                "{id}: not in any function's {} with states:ListExecutions on it",
                brokeros_aws::sweep::WATCHED_MACHINES_ENV
            ));
        }
        let stuck = brokeros_kernel::metrics::WORKFLOW_OLDEST_RUNNING_AGE.name;
        let alarmed = of_type(ALARM).values().any(|alarm| {
            alarm_metrics(alarm).iter().any(|(ns, name, dims)| {
                ns == brokeros_kernel::metrics::NAMESPACE
                    && name == stuck
                    && dims.iter().any(|(d, v)| d == "machine" && **v == stem)
            })
        });
        if !alarmed {
            problems.push(format!(
                "{id}: no alarm on {stuck} with the dimension machine={stem}"
            ));
        }
    }
    problems_or_ok(problems);
}

#[test]
fn alarms_notify_the_alarm_topic_and_watch_only_metrics_the_code_publishes() {
    let published: BTreeSet<&str> = brokeros_kernel::metrics::ALL
        .iter()
        .map(|m| m.name)
        .collect();
    let mut problems = Vec::new();
    for (id, alarm) in of_type(ALARM) {
        let actions: Vec<Option<String>> = as_list(&alarm["Properties"]["AlarmActions"])
            .into_iter()
            .map(referenced)
            .collect();
        if !actions.contains(&Some("AlarmTopic".into())) {
            problems.push(format!(
                "{id}: its AlarmActions must include the AlarmTopic"
            ));
        }
        for (namespace, name, _) in alarm_metrics(alarm) {
            if namespace == brokeros_kernel::metrics::NAMESPACE
                && !published.contains(name.as_str())
            {
                problems.push(format!(
                    "{id}: watches {namespace}/{name}, which brokeros_kernel::metrics does not publish"
                ));
            }
        }
    }
    for required in [
        brokeros_kernel::metrics::OUTBOX_OLDEST_AGE.name,
        brokeros_kernel::metrics::WEBHOOK_SIGNATURE_FAILURES.name,
    ] {
        let watched = of_type(ALARM).values().any(|alarm| {
            alarm_metrics(alarm)
                .iter()
                .any(|(ns, name, _)| ns == brokeros_kernel::metrics::NAMESPACE && name == required)
        });
        if !watched {
            problems.push(format!("no alarm on {required}"));
        }
    }
    problems_or_ok(problems);
}

#[test]
fn the_dashboard_is_valid_json_and_shows_every_alarm() {
    let dashboards = of_type("AWS::CloudWatch::Dashboard");
    assert_eq!(dashboards.len(), 1, "one operations dashboard");
    let body = dashboards.values().next().unwrap()["Properties"]["DashboardBody"]["Fn::Sub"]
        .as_str()
        .expect("the dashboard body is a !Sub string");
    // What !Sub fills in is a string inside the JSON; any placeholder keeps it valid.
    let mut filled = String::new();
    let mut rest = body;
    while let Some(start) = rest.find("${") {
        filled.push_str(&rest[..start]);
        let end = rest[start..].find('}').expect("a closed placeholder") + start;
        filled.push_str("placeholder");
        rest = &rest[end + 1..];
    }
    filled.push_str(rest);
    let dashboard: Value = serde_json::from_str(&filled).expect("the dashboard body is JSON");
    assert!(!dashboard["widgets"].as_array().unwrap().is_empty());
    let shown = placeholders(body);
    let missing: Vec<&str> = of_type(ALARM)
        .keys()
        .copied()
        .filter(|id| !shown.contains(&format!("{id}.Arn")))
        .collect();
    assert!(
        missing.is_empty(),
        "alarms not on the dashboard: {missing:?}"
    );
}

// ─── The web app in AWS (issue 14): S3 + CloudFront, Cognito's hosted sign-in ───────────────

const DISTRIBUTION: &str = "AWS::CloudFront::Distribution";
const USER_POOL_CLIENT: &str = "AWS::Cognito::UserPoolClient";

/// The alternatives of a value: both branches of an `Fn::If`, or the value itself.
fn alternatives(value: &Value) -> Vec<&Value> {
    match value
        .get("Fn::If")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
    {
        Some([_, when, otherwise]) => vec![when, otherwise],
        _ => vec![value],
    }
}

/// The text of a `!Sub` (or of a plain string).
fn sub_text(value: &Value) -> Option<&str> {
    value
        .get("Fn::Sub")
        .and_then(Value::as_str)
        .or_else(|| value.as_str())
}

fn output_text(key: &str) -> &'static str {
    sub_text(&template()["Outputs"][key]["Value"])
        .unwrap_or_else(|| panic!("the template has no output {key} (a !Sub or a string)"))
}

/// The one CloudFront distribution: the web app's.
fn site_distribution() -> (&'static str, &'static Value) {
    let distributions = of_type(DISTRIBUTION);
    assert_eq!(
        distributions.len(),
        1,
        "one CloudFront distribution, the web app's: {:?}",
        distributions.keys()
    );
    distributions.into_iter().next().unwrap()
}

/// The URL of the site's root as the template writes it: what Cognito redirects to and what
/// the SiteUrl output (and so config.json's redirect_uri) says.
fn site_root(distribution: &str) -> String {
    format!("https://${{{distribution}.DomainName}}/")
}

/// The web app's client: the one client with OAuth flows.
fn web_client() -> (&'static str, &'static Value) {
    let oauth: Vec<_> = of_type(USER_POOL_CLIENT)
        .into_iter()
        .filter(|(_, c)| c["Properties"]["AllowedOAuthFlowsUserPoolClient"] == true)
        .collect();
    assert_eq!(
        oauth.len(),
        1,
        "one user pool client with OAuth flows, the web app's"
    );
    oauth[0]
}

/// `directive → sources` of a Content-Security-Policy.
fn csp_directives(policy: &str) -> BTreeMap<String, Vec<String>> {
    policy
        .split(';')
        .filter_map(|directive| {
            let mut words = directive.split_whitespace();
            let name = words.next()?.to_ascii_lowercase();
            Some((name, words.map(str::to_string).collect()))
        })
        .collect()
}

/// Whether a CSP host source (`https://host`, `https://*.suffix`) allows `url`'s origin.
fn csp_allows(source: &str, url: &str) -> bool {
    let origin = |u: &str| -> Option<(String, String)> {
        let (scheme, rest) = u.split_once("://")?;
        Some((scheme.to_string(), rest.split('/').next()?.to_string()))
    };
    let (Some((scheme, host)), Some((wanted_scheme, wanted_host))) = (origin(source), origin(url))
    else {
        return false;
    };
    if scheme != wanted_scheme {
        return false;
    }
    match host.strip_prefix("*.") {
        Some(suffix) => wanted_host
            .strip_suffix(suffix)
            .and_then(|label| label.strip_suffix('.'))
            .is_some_and(|label| !label.is_empty()),
        None => host == wanted_host,
    }
}

#[test]
fn the_csp_source_matcher_follows_the_wildcard_rule() {
    let api = "https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}";
    assert!(csp_allows(
        "https://*.execute-api.${AWS::Region}.${AWS::URLSuffix}",
        api
    ));
    assert!(csp_allows(api, &format!("{api}/leads")));
    assert!(!csp_allows(
        "https://*.execute-api.${AWS::Region}.${AWS::URLSuffix}",
        "https://execute-api.${AWS::Region}.${AWS::URLSuffix}"
    ));
    assert!(!csp_allows(
        "https://*.execute-api.us-east-1.${AWS::URLSuffix}",
        api
    ));
    assert!(!csp_allows(
        "http://*.execute-api.${AWS::Region}.${AWS::URLSuffix}",
        api
    ));
}

#[test]
fn the_site_bucket_is_private_and_only_the_distribution_reads_it() {
    let (distribution_id, distribution) = site_distribution();
    let config = &distribution["Properties"]["DistributionConfig"];
    let mut problems = Vec::new();
    let origins = as_list(&config["Origins"]);
    if origins.is_empty() {
        problems.push(format!("{distribution_id}: no origin"));
    }
    for origin in origins {
        let origin_id = origin["Id"].as_str().unwrap_or_default();
        let Some(bucket_id) = referenced(&origin["DomainName"]).filter(|b| {
            resources()
                .get(b)
                .is_some_and(|r| r["Type"] == "AWS::S3::Bucket")
        }) else {
            problems.push(format!(
                "{distribution_id} origin {origin_id}: DomainName must be !GetAtt <bucket>.RegionalDomainName"
            ));
            continue;
        };
        // Origin access control (SigV4 on every request), not the legacy origin access identity.
        if !matches!(
            &origin["S3OriginConfig"]["OriginAccessIdentity"],
            Value::Null
        ) && origin["S3OriginConfig"]["OriginAccessIdentity"] != ""
        {
            problems.push(format!(
                "{distribution_id} origin {origin_id}: no legacy OriginAccessIdentity (use an OriginAccessControl)"
            ));
        }
        match referenced(&origin["OriginAccessControlId"]).and_then(|id| resources().get(&id)) {
            Some(oac) if oac["Type"] == "AWS::CloudFront::OriginAccessControl" => {
                let oac = &oac["Properties"]["OriginAccessControlConfig"];
                if oac["OriginAccessControlOriginType"] != "s3"
                    || oac["SigningBehavior"] != "always"
                    || oac["SigningProtocol"] != "sigv4"
                {
                    problems.push(format!(
                        "{distribution_id} origin {origin_id}: its origin access control must sign every request (s3, always, sigv4)"
                    ));
                }
            }
            _ => problems.push(format!(
                "{distribution_id} origin {origin_id}: OriginAccessControlId must be !GetAtt <OriginAccessControl>.Id"
            )),
        }

        let bucket = &resources()[&bucket_id]["Properties"];
        let block = &bucket["PublicAccessBlockConfiguration"];
        for setting in [
            "BlockPublicAcls",
            "BlockPublicPolicy",
            "IgnorePublicAcls",
            "RestrictPublicBuckets",
        ] {
            if block[setting] != true {
                problems.push(format!(
                    "{bucket_id}: PublicAccessBlockConfiguration.{setting} must be true"
                ));
            }
        }
        if !bucket["WebsiteConfiguration"].is_null() {
            problems.push(format!(
                "{bucket_id}: no website hosting (a public endpoint): CloudFront reads it through S3's API"
            ));
        }
        if as_list(&bucket["OwnershipControls"]["Rules"])
            .iter()
            .all(|r| r["ObjectOwnership"] != "BucketOwnerEnforced")
        {
            problems.push(format!(
                "{bucket_id}: ObjectOwnership must be BucketOwnerEnforced (no ACLs)"
            ));
        }
        if bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"].is_null() {
            problems.push(format!("{bucket_id}: needs BucketEncryption"));
        }
        if bucket["VersioningConfiguration"]["Status"] != "Enabled" {
            problems.push(format!("{bucket_id}: versioning must be Enabled"));
        }

        // Its policy: reads by CloudFront on behalf of this distribution only, TLS only.
        let policies: Vec<&Value> = of_type("AWS::S3::BucketPolicy")
            .into_values()
            .filter(|p| {
                referenced(&p["Properties"]["Bucket"]).as_deref() == Some(bucket_id.as_str())
            })
            .collect();
        let statements: Vec<&Value> = policies
            .iter()
            .flat_map(|p| as_list(&p["Properties"]["PolicyDocument"]["Statement"]))
            .collect();
        let source_arn = format!(":distribution/${{{distribution_id}}}");
        let allows: Vec<&&Value> = statements
            .iter()
            .filter(|s| s["Effect"] == "Allow")
            .collect();
        if allows.is_empty() {
            problems.push(format!(
                "{bucket_id}: its policy lets the distribution read nothing"
            ));
        }
        for statement in allows {
            let sid = &statement["Sid"];
            if statement["Principal"] != serde_json::json!({"Service": "cloudfront.amazonaws.com"})
            {
                problems.push(format!(
                    "{bucket_id} statement {sid}: only cloudfront.amazonaws.com may be allowed, found {}",
                    statement["Principal"]
                ));
            }
            let actions: Vec<&Value> = as_list(&statement["Action"]);
            if actions != [&Value::from("s3:GetObject")] {
                problems.push(format!(
                    "{bucket_id} statement {sid}: CloudFront needs s3:GetObject only, found {}",
                    statement["Action"]
                ));
            }
            let condition = &statement["Condition"]["StringEquals"]["AWS:SourceArn"];
            if !sub_text(condition).is_some_and(|arn| arn.ends_with(&source_arn)) {
                problems.push(format!(
                    "{bucket_id} statement {sid}: needs Condition StringEquals AWS:SourceArn = arn:…:distribution/${{{distribution_id}}}, found {condition}"
                ));
            }
        }
        let tls_only = statements.iter().any(|s| {
            s["Effect"] == "Deny" && s["Condition"]["Bool"]["aws:SecureTransport"] == "false"
        });
        if !tls_only {
            problems.push(format!(
                "{bucket_id}: its policy must deny requests without TLS"
            ));
        }
    }
    problems_or_ok(problems);
}

#[test]
fn the_site_is_https_only_compressed_cached_by_origin_headers_and_sends_security_headers() {
    let (distribution_id, distribution) = site_distribution();
    let config = &distribution["Properties"]["DistributionConfig"];
    let mut problems = Vec::new();
    if config["DefaultRootObject"] != "index.html" {
        problems.push(format!(
            "{distribution_id}: DefaultRootObject must be index.html"
        ));
    }
    let mut behaviors = vec![&config["DefaultCacheBehavior"]];
    behaviors.extend(as_list(&config["CacheBehaviors"]));
    let mut header_policies = BTreeSet::new();
    for behavior in behaviors {
        let path = behavior["PathPattern"].as_str().unwrap_or("default");
        if !matches!(
            behavior["ViewerProtocolPolicy"].as_str(),
            Some("redirect-to-https" | "https-only")
        ) {
            problems.push(format!(
                "{distribution_id} behavior {path}: ViewerProtocolPolicy must be redirect-to-https"
            ));
        }
        if behavior["Compress"] != true {
            problems.push(format!(
                "{distribution_id} behavior {path}: Compress must be true"
            ));
        }
        let cache = referenced(&behavior["CachePolicyId"]).and_then(|id| resources().get(&id));
        match cache.filter(|c| c["Type"] == "AWS::CloudFront::CachePolicy") {
            Some(cache) => {
                let cache = &cache["Properties"]["CachePolicyConfig"];
                let key = &cache["ParametersInCacheKeyAndForwardedToOrigin"];
                // A MinTTL above 0 would keep the no-cache index.html and config.json at the edge.
                if cache["MinTTL"] != 0 {
                    problems.push(format!(
                        "{distribution_id} behavior {path}: its cache policy's MinTTL must be 0 (index.html and config.json are no-cache)"
                    ));
                }
                if key["EnableAcceptEncodingGzip"] != true
                    || key["EnableAcceptEncodingBrotli"] != true
                {
                    problems.push(format!(
                        "{distribution_id} behavior {path}: its cache policy must accept gzip and brotli"
                    ));
                }
            }
            None => problems.push(format!(
                "{distribution_id} behavior {path}: CachePolicyId must be !Ref <CachePolicy>"
            )),
        }
        match referenced(&behavior["ResponseHeadersPolicyId"]) {
            Some(id)
                if resources()
                    .get(&id)
                    .is_some_and(|p| p["Type"] == "AWS::CloudFront::ResponseHeadersPolicy") =>
            {
                header_policies.insert(id);
            }
            _ => problems.push(format!(
                "{distribution_id} behavior {path}: ResponseHeadersPolicyId must be !Ref <ResponseHeadersPolicy>"
            )),
        }
    }

    let api = output_text("ApiUrl");
    let cognito = output_text("CognitoDomain");
    for id in header_policies {
        let security =
            &resources()[&id]["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"];
        let hsts = &security["StrictTransportSecurity"];
        if hsts["AccessControlMaxAgeSec"].as_u64().unwrap_or(0) < 31_536_000 {
            problems.push(format!("{id}: StrictTransportSecurity for a year at least"));
        }
        if security["ContentTypeOptions"].is_null() {
            problems.push(format!("{id}: needs ContentTypeOptions (nosniff)"));
        }
        let Some(policy) = sub_text(&security["ContentSecurityPolicy"]["ContentSecurityPolicy"])
        else {
            problems.push(format!("{id}: needs a ContentSecurityPolicy"));
            continue;
        };
        let csp = csp_directives(policy);
        let sources = |directive: &str| csp.get(directive).cloned().unwrap_or_default();
        if sources("frame-ancestors") != ["'none'"] {
            problems.push(format!("{id}: CSP frame-ancestors must be 'none'"));
        }
        if sources("default-src") != ["'self'"] {
            problems.push(format!("{id}: CSP default-src must be 'self'"));
        }
        let script = sources("script-src");
        if script.is_empty() || script.iter().any(|s| s.starts_with("'unsafe")) {
            problems.push(format!(
                "{id}: CSP script-src must be set, without 'unsafe-…'"
            ));
        }
        let connect = sources("connect-src");
        for (what, url) in [
            ("'self'", "'self'"),
            ("the API (ApiUrl)", api),
            ("Cognito (CognitoDomain)", cognito),
        ] {
            let allowed = connect
                .iter()
                .any(|source| source == url || csp_allows(source, url));
            if !allowed {
                problems.push(format!("{id}: CSP connect-src must allow {what}: {url}"));
            }
        }
        // The region's API Gateway hosts are the widest the template may allow (see the
        // template's comment on the dependency cycle); nothing wider.
        for source in &connect {
            if source.contains('*')
                && !source.ends_with(".execute-api.${AWS::Region}.${AWS::URLSuffix}")
            {
                problems.push(format!(
                    "{id}: CSP connect-src {source} is wider than the API"
                ));
            }
        }
    }
    problems_or_ok(problems);
}

#[test]
fn the_web_client_signs_in_with_the_code_flow_and_returns_to_the_site() {
    let (distribution_id, _) = site_distribution();
    let (client_id, client) = web_client();
    let props = &client["Properties"];
    let root = site_root(distribution_id);
    let mut problems = Vec::new();
    if props["AllowedOAuthFlows"] != serde_json::json!(["code"]) {
        problems.push(format!(
            "{client_id}: AllowedOAuthFlows must be [code] (no implicit flow)"
        ));
    }
    if props["GenerateSecret"] == true {
        problems.push(format!(
            "{client_id}: a browser keeps no secret: GenerateSecret false (PKCE)"
        ));
    }
    let scopes: BTreeSet<&str> = as_list(&props["AllowedOAuthScopes"])
        .into_iter()
        .filter_map(Value::as_str)
        .collect();
    if !scopes.contains("openid") {
        problems.push(format!(
            "{client_id}: AllowedOAuthScopes must include openid"
        ));
    }
    if props["SupportedIdentityProviders"] != serde_json::json!(["COGNITO"]) {
        problems.push(format!(
            "{client_id}: SupportedIdentityProviders must be [COGNITO]"
        ));
    }
    // Cognito redirects only to a registered URL, compared exactly: the site's root, which
    // deploy-web.sh writes into config.json from the SiteUrl output. A developer's origin is
    // registered only when WebDevOrigin is set.
    if output_text("SiteUrl") != root {
        problems.push(format!(
            "the SiteUrl output must be {root}, the registered redirect"
        ));
    }
    for key in ["CallbackURLs", "LogoutURLs"] {
        let branches = alternatives(&props[key]);
        for (n, branch) in branches.iter().enumerate() {
            let urls: Vec<Option<&str>> = as_list(branch).into_iter().map(sub_text).collect();
            let conditional = branches.len() == 2 && n == 0;
            let expected: Vec<Option<&str>> = if conditional {
                vec![Some(root.as_str()), Some("${WebDevOrigin}/")]
            } else {
                vec![Some(root.as_str())]
            };
            if urls != expected {
                problems.push(format!(
                    "{client_id}: {key} must be {expected:?} (the developer's origin only under the WebDevOrigin condition), found {urls:?}"
                ));
            }
        }
    }
    // The hosted pages on a domain of the API's user pool, named as CognitoDomain says.
    let pool = referenced(&props["UserPoolId"]).unwrap_or_default();
    let domains: Vec<&Value> = of_type("AWS::Cognito::UserPoolDomain")
        .into_values()
        .filter(|d| referenced(&d["Properties"]["UserPoolId"]).as_deref() == Some(pool.as_str()))
        .collect();
    match domains.as_slice() {
        [domain] => {
            let prefix = sub_text(&domain["Properties"]["Domain"]).unwrap_or_default();
            let url = format!("https://{prefix}.auth.${{AWS::Region}}.amazoncognito.com");
            if output_text("CognitoDomain") != url {
                problems.push(format!("the CognitoDomain output must be {url}"));
            }
        }
        _ => problems.push(format!(
            "{pool}: needs one UserPoolDomain (the hosted sign-in pages)"
        )),
    }
    problems_or_ok(problems);
}

/// The HTTP methods the router routes: the method routers (`get(…)`, `axum::routing::put(…)`)
/// inside each `.route(…)` of the HTTP adapter.
fn routed_methods() -> BTreeSet<String> {
    let mut methods = BTreeSet::new();
    for entry in std::fs::read_dir(root().join("shared/adapters/http/src")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(path).unwrap();
        for (start, _) in text.match_indices(".route(") {
            let mut depth = 0;
            let mut end = start;
            for (offset, c) in text[start..].char_indices() {
                match c {
                    '(' => depth += 1,
                    ')' => {
                        depth -= 1;
                        if depth == 0 {
                            end = start + offset;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let call = &text[start..end];
            for method in ["get", "post", "put", "patch", "delete"] {
                let routed = call.match_indices(&format!("{method}(")).any(|(i, _)| {
                    !call[..i]
                        .chars()
                        .next_back()
                        .is_some_and(|c| c.is_alphanumeric() || c == '_')
                });
                if routed {
                    methods.insert(method.to_uppercase());
                }
            }
        }
    }
    methods
}

#[test]
fn the_api_accepts_the_web_clients_tokens_and_the_sites_origin_only() {
    let (distribution_id, _) = site_distribution();
    let (web_client_id, _) = web_client();
    let origin = site_root(distribution_id).trim_end_matches('/').to_string();
    let routed = routed_methods();
    assert!(
        routed.contains("GET") && routed.contains("POST"),
        "the route scan found {routed:?}"
    );
    let mut problems = Vec::new();
    for (api_id, api) in of_type("AWS::Serverless::HttpApi") {
        let props = &api["Properties"];
        let default = props["Auth"]["DefaultAuthorizer"]
            .as_str()
            .unwrap_or_default();
        let jwt = &props["Auth"]["Authorizers"][default]["JwtConfiguration"];
        let audience: BTreeSet<String> = as_list(&jwt["audience"])
            .into_iter()
            .filter_map(referenced)
            .collect();
        // Every client of the pool signs people in whose tokens the API must accept.
        for client in of_type(USER_POOL_CLIENT).keys() {
            if !audience.contains(*client) {
                problems.push(format!(
                    "{api_id}: the {default} authorizer's audience must include {client}"
                ));
            }
        }
        if !audience.contains(web_client_id) {
            problems.push(format!(
                "{api_id}: the authorizer must accept {web_client_id}'s tokens"
            ));
        }

        let branches = alternatives(&props["CorsConfiguration"]);
        for (n, cors) in branches.iter().enumerate() {
            let origins: Vec<&Value> = as_list(&cors["AllowOrigins"]);
            let conditional = branches.len() == 2 && n == 0;
            let site_first = origins.first().and_then(|o| sub_text(o)) == Some(origin.as_str());
            let others_are_the_dev_origin = origins
                .iter()
                .skip(1)
                .all(|o| conditional && referenced(o).as_deref() == Some("WebDevOrigin"));
            if !site_first || !others_are_the_dev_origin || (!conditional && origins.len() != 1) {
                problems.push(format!(
                    "{api_id}: CORS AllowOrigins must be the site's origin {origin} (and WebDevOrigin only under its condition), found {:?}",
                    cors["AllowOrigins"]
                ));
            }
            if cors["AllowCredentials"] == true {
                problems.push(format!(
                    "{api_id}: CORS AllowCredentials: bearer tokens, no cookies"
                ));
            }
            let list = |key: &str| -> BTreeSet<String> {
                as_list(&cors[key])
                    .into_iter()
                    .filter_map(Value::as_str)
                    .map(str::to_ascii_lowercase)
                    .collect()
            };
            let methods = list("AllowMethods");
            for method in &routed {
                if !methods.contains(&method.to_ascii_lowercase()) {
                    problems.push(format!(
                        "{api_id}: CORS AllowMethods lacks {method}, which the router routes"
                    ));
                }
            }
            let headers = list("AllowHeaders");
            for header in [
                "authorization",
                "content-type",
                "idempotency-key",
                "x-correlation-id",
            ] {
                if !headers.contains(header) {
                    problems.push(format!(
                        "{api_id}: CORS AllowHeaders lacks {header}, which the API reads"
                    ));
                }
            }
        }
    }
    problems_or_ok(problems);
}

// ─── infra/deploy-web.sh, against a stub `aws` that records its calls ───────────────────────

/// An `aws` on PATH that appends each call's arguments (separated by \x1f) to `$STUB_DIR/calls`,
/// answers `cloudformation describe-stacks` with `$STUB_DIR/outputs`, keeps what `s3 cp`
/// uploads as `$STUB_DIR/uploaded/<name>` and names an invalidation.
const STUB_AWS: &str = r#"#!/usr/bin/env bash
{ printf '%s\037' "$@"; printf '\n'; } >> "$STUB_DIR/calls"
case "$1 $2" in
  "cloudformation describe-stacks") cat "$STUB_DIR/outputs" ;;
  "s3 cp") mkdir -p "$STUB_DIR/uploaded" && cp "$3" "$STUB_DIR/uploaded/$(basename "$4")" ;;
  "cloudfront create-invalidation") echo I2J3K4L5 ;;
esac
"#;

struct DeployRun {
    status: std::process::ExitStatus,
    stderr: String,
    calls: Vec<Vec<String>>,
    stub: tempfile::TempDir,
}

/// Runs infra/deploy-web.sh with `args` against the stub, the stack answering `outputs`.
fn deploy_web(outputs: &[(&str, &str)], args: &[&str]) -> DeployRun {
    use std::os::unix::fs::PermissionsExt;
    let stub = tempfile::tempdir().unwrap();
    let bin = stub.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::write(bin.join("aws"), STUB_AWS).unwrap();
    std::fs::set_permissions(bin.join("aws"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let answer: String = outputs.iter().map(|(k, v)| format!("{k}\t{v}\n")).collect();
    std::fs::write(stub.path().join("outputs"), answer).unwrap();
    let web = stub.path().join("web");
    std::fs::create_dir_all(web.join("lib")).unwrap();
    std::fs::write(
        web.join("index.html"),
        "<!doctype html><script type=module src=lib/app.js></script>",
    )
    .unwrap();
    std::fs::write(web.join("lib/app.js"), "export const app = 1;\n").unwrap();

    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let output = Command::new("bash")
        .arg(root().join("infra/deploy-web.sh"))
        .args(args)
        .arg("--web-dir")
        .arg(&web)
        .env("PATH", path)
        .env("STUB_DIR", stub.path())
        .output()
        .expect("bash runs infra/deploy-web.sh");
    let calls = std::fs::read_to_string(stub.path().join("calls"))
        .unwrap_or_default()
        .lines()
        .map(|line| {
            line.split('\x1f')
                .filter(|a| !a.is_empty())
                .map(str::to_string)
                .collect()
        })
        .collect();
    DeployRun {
        status: output.status,
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        calls,
        stub,
    }
}

/// A value of `flag` in a call (`--flag value`).
fn flag<'a>(call: &'a [String], name: &str) -> Option<&'a str> {
    call.iter()
        .position(|a| a == name)
        .and_then(|i| call.get(i + 1))
        .map(String::as_str)
}

/// Stack outputs as a deployed stack would answer them, for every output the template has:
/// the script can read nothing the template does not output.
fn stack_outputs() -> Vec<(&'static str, &'static str)> {
    let realistic = [
        (
            "ApiUrl",
            "https://a1b2c3d4e5.execute-api.eu-west-2.amazonaws.com",
        ),
        ("SiteUrl", "https://d111111abcdef8.cloudfront.net/"),
        ("SiteBucketName", "brokeros-test-web-123456789012-eu-west-2"),
        ("SiteDistributionId", "E2QWRUHEXAMPLE"),
        (
            "CognitoDomain",
            "https://brokeros-test-123456789012.auth.eu-west-2.amazoncognito.com",
        ),
        ("WebUserPoolClientId", "4p1ed0gd3hcnf2h7t2e1example"),
    ];
    let outputs = template()["Outputs"]
        .as_object()
        .expect("the template has Outputs");
    outputs
        .keys()
        .map(|key| {
            let value = realistic
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| *v)
                .unwrap_or("value-of-another-output");
            (key.as_str(), value)
        })
        .collect()
}

#[test]
fn deploy_web_uploads_the_app_and_a_config_from_the_stack_outputs_then_invalidates() {
    let outputs = stack_outputs();
    let value = |key: &str| outputs.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
    for key in [
        "ApiUrl",
        "SiteUrl",
        "SiteBucketName",
        "SiteDistributionId",
        "CognitoDomain",
        "WebUserPoolClientId",
    ] {
        assert!(value(key).is_some(), "the template has no output {key}");
    }
    let run = deploy_web(
        &outputs,
        &["--stack-name", "brokeros-test", "--region", "eu-west-2"],
    );
    assert!(
        run.status.success(),
        "deploy-web.sh failed:\n{}",
        run.stderr
    );
    let bucket = format!("s3://{}/", value("SiteBucketName").unwrap());
    let commands: Vec<String> = run
        .calls
        .iter()
        .map(|c| c[..2.min(c.len())].join(" "))
        .collect();
    assert_eq!(
        commands,
        [
            "cloudformation describe-stacks",
            "s3 sync",
            "s3 cp",
            "s3 cp",
            "s3 sync",
            "cloudfront create-invalidation"
        ],
        "calls: {:?}",
        run.calls
    );
    for call in &run.calls {
        assert_eq!(flag(call, "--region"), Some("eu-west-2"), "{call:?}");
    }
    assert_eq!(flag(&run.calls[0], "--stack-name"), Some("brokeros-test"));

    // The layout of `brokeros serve`: the page at /, the other files of web/ under /ui/. The
    // modules first (without index.html and config.json, whose headers differ), then
    // index.html, then config.json, and the files no longer in web/ removed last. The type
    // checker's settings and declarations are no part of the site.
    let (first_sync, index, config, last_sync) =
        (&run.calls[1], &run.calls[2], &run.calls[3], &run.calls[4]);
    for sync in [first_sync, last_sync] {
        assert!(sync[2].ends_with("/web/"), "{sync:?}");
        assert_eq!(sync[3], format!("{bucket}ui/"), "{sync:?}");
        let excluded: BTreeSet<&str> = sync
            .windows(2)
            .filter(|w| w[0] == "--exclude")
            .map(|w| w[1].as_str())
            .collect();
        assert_eq!(
            excluded,
            BTreeSet::from([
                "index.html",
                "config.json",
                ".*",
                "*/.*",
                "jsconfig.json",
                "*.d.ts"
            ]),
            "{sync:?}"
        );
        let cache = flag(sync, "--cache-control").unwrap_or_default();
        assert!(
            cache.contains("must-revalidate") && !cache.contains("immutable"),
            "modules carry no content hash: {cache}"
        );
    }
    assert!(
        !first_sync.contains(&"--delete".to_string()),
        "nothing is removed before the new index.html is up"
    );
    assert!(
        last_sync.contains(&"--delete".to_string()),
        "files no longer in web/ are removed"
    );
    assert!(
        index[2].ends_with("/web/index.html") && index[3] == format!("{bucket}index.html"),
        "{index:?}"
    );
    assert_eq!(config[3], format!("{bucket}config.json"));
    for entry in [index, config] {
        assert_eq!(
            flag(entry, "--cache-control"),
            Some("no-cache"),
            "{entry:?}"
        );
    }
    assert_eq!(flag(config, "--content-type"), Some("application/json"));

    let invalidation = &run.calls[5];
    assert_eq!(
        flag(invalidation, "--distribution-id"),
        value("SiteDistributionId")
    );
    assert_eq!(flag(invalidation, "--paths"), Some("/*"));

    // config.json: the contract with web/ (its app reads it at start).
    let written = std::fs::read_to_string(run.stub.path().join("uploaded/config.json")).unwrap();
    let config: Value = serde_json::from_str(&written).expect("config.json is JSON");
    assert_eq!(
        config,
        serde_json::json!({
            "sign_in": "cognito",
            "api": value("ApiUrl").unwrap(),
            "cognito": {
                "domain": value("CognitoDomain").unwrap(),
                "client_id": value("WebUserPoolClientId").unwrap(),
                "redirect_uri": value("SiteUrl").unwrap(),
                "logout_uri": value("SiteUrl").unwrap(),
            }
        })
    );
}

/// The stack and region of `sam deploy --config-env dev`, from samconfig.toml.
fn samconfig_dev(key: &str) -> String {
    let text = std::fs::read_to_string(root().join("samconfig.toml")).unwrap();
    let section = text
        .split("[dev.deploy.parameters]")
        .nth(1)
        .expect("samconfig.toml has [dev.deploy.parameters]");
    section
        .lines()
        .take_while(|l| !l.starts_with('['))
        .find_map(|l| {
            let (k, v) = l.split_once('=')?;
            (k.trim() == key).then(|| v.trim().trim_matches('"').to_string())
        })
        .unwrap_or_else(|| panic!("[dev.deploy.parameters] has no {key}"))
}

#[test]
fn deploy_web_reads_the_dev_stack_by_default_and_publishes_nothing_without_its_outputs() {
    // A stack deployed before the web app existed: no web client output.
    let outputs: Vec<(&str, &str)> = stack_outputs()
        .into_iter()
        .filter(|(k, _)| *k != "WebUserPoolClientId")
        .collect();
    let run = deploy_web(&outputs, &[]);
    assert!(
        !run.status.success(),
        "deploy-web.sh succeeded without WebUserPoolClientId"
    );
    assert!(run.stderr.contains("WebUserPoolClientId"), "{}", run.stderr);
    assert_eq!(
        run.calls.len(),
        1,
        "only the stack was read: {:?}",
        run.calls
    );
    assert_eq!(
        flag(&run.calls[0], "--stack-name"),
        Some(samconfig_dev("stack_name").as_str())
    );
    assert_eq!(
        flag(&run.calls[0], "--region"),
        Some(samconfig_dev("region").as_str())
    );

    // An output that would break out of its JSON string is refused, not written.
    let outputs: Vec<(&str, &str)> = stack_outputs()
        .into_iter()
        .map(|(k, v)| {
            if k == "ApiUrl" {
                (k, "https://x\",\"sign_in\":\"dev")
            } else {
                (k, v)
            }
        })
        .collect();
    let run = deploy_web(&outputs, &["--stack-name", "brokeros-test"]);
    assert!(!run.status.success());
    assert!(run.stderr.contains("ApiUrl"), "{}", run.stderr);
    assert_eq!(run.calls.len(), 1, "nothing uploaded: {:?}", run.calls);
}
