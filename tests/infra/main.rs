//! The SAM template (`infra/template.yaml`) against the code it deploys: every crate in
//! `functions/` is a function of the template and every function of the template a crate; every
//! `${...}` of each state machine definition is supplied by that machine's
//! `DefinitionSubstitutions`, and every Lambda a definition calls exists and may be invoked by
//! that machine's role; functions that start a workflow carry its ARN and may start it; the
//! tables have the keys, indexes and TTL the store uses; only lead capture, the provider
//! webhooks and the published contests are public; no function has a wildcard action or
//! resource.
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
