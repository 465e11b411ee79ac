//! Operational metrics: named counters and gauges with a fixed, small set of labels, kept in one
//! process-wide registry, and the two ways they leave the process — CloudWatch's embedded
//! metric format (JSON log lines the Lambdas print at the end of each invocation, see
//! [`Registry::drain_emf`]) and the Prometheus text exposition `brokeros serve` answers at
//! `GET /metrics` ([`Registry::prometheus`]). No AWS types: the hosts decide where the text goes.
//!
//! Every metric is a `static` [`Metric`] of this module (the catalogue, [`ALL`]): its name, what it
//! counts, and the names of its labels. Callers give the label values in that order. Label values
//! are route templates, provider, task and error names — never ids, raw paths or personal data —
//! and each metric keeps at most [`MAX_SERIES_PER_METRIC`] label combinations: a value that would
//! exceed it is counted under `other`, so a bug that labels by id cannot grow memory or
//! CloudWatch's bill without bound.
//!
//! Counters are cumulative for Prometheus; the embedded metric format publishes what each counter
//! gained since the previous flush (CloudWatch sums the published values), and a gauge's value
//! when it was set since the previous flush.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde_json::{Map, Value, json};

/// The CloudWatch namespace of every metric; also the prefix of the Prometheus names
/// (`brokeros_<name>`).
pub const NAMESPACE: &str = "BrokerOS";

/// At most this many label combinations per metric; further ones are counted under `other`.
pub const MAX_SERIES_PER_METRIC: usize = 200;

/// A label value longer than this is cut (CloudWatch allows 1024; nothing we label with is long).
const MAX_LABEL_VALUE: usize = 128;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Only goes up; a rate is read from it.
    Counter,
    /// A value set from time to time (a queue's depth, an age).
    Gauge,
}

/// The CloudWatch unit of a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Seconds,
}

impl Unit {
    fn cloudwatch(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Seconds => "Seconds",
        }
    }
}

/// One metric of the catalogue.
#[derive(Debug)]
pub struct Metric {
    /// `snake_case`; counters end in `_total`.
    pub name: &'static str,
    /// What it measures (Prometheus `# HELP`).
    pub help: &'static str,
    pub kind: Kind,
    pub unit: Unit,
    /// The label names, in the order callers give their values.
    pub labels: &'static [&'static str],
    /// Also published to CloudWatch without dimensions: an alarm on a metric cannot sum its
    /// label values, so the metrics that alarms watch carry their total too.
    pub cloudwatch_total: bool,
}

impl Metric {
    /// Adds one to this counter, under `values` (one per label, in [`Metric::labels`]' order).
    pub fn inc(&'static self, values: &[&str]) {
        global().add(self, values, 1);
    }

    /// Sets this gauge, under `values`.
    pub fn set(&'static self, values: &[&str], value: f64) {
        global().set(self, values, value);
    }
}

/// HTTP requests answered, by method, route template (`/leads/{id}`, never the raw path) and
/// status class (`2xx`…`5xx`).
pub static HTTP_REQUESTS: Metric = Metric {
    name: "http_requests_total",
    help: "HTTP requests answered, by method, route template and status class.",
    kind: Kind::Counter,
    unit: Unit::Count,
    labels: &["method", "route", "status_class"],
    cloudwatch_total: false,
};

/// HTTP requests answered with a 5xx status, by method and route template.
pub static HTTP_SERVER_ERRORS: Metric = Metric {
    name: "http_server_errors_total",
    help: "HTTP requests answered with a 5xx status, by method and route template.",
    kind: Kind::Counter,
    unit: Unit::Count,
    labels: &["method", "route"],
    cloudwatch_total: true,
};

/// Workflow task invocations (a Lambda's invocation, or the local engine's call), by task
/// function.
pub static TASK_INVOCATIONS: Metric = Metric {
    name: "task_invocations_total",
    help: "Workflow task function invocations, by task function.",
    kind: Kind::Counter,
    unit: Unit::Count,
    labels: &["function"],
    cloudwatch_total: false,
};

/// Workflow task invocations that failed, by task function and the error name the state
/// machines match (`brokeros_kernel::workflow::error_name`).
pub static TASK_FAILURES: Metric = Metric {
    name: "task_failures_total",
    help: "Workflow task function invocations that failed, by task function and error name.",
    kind: Kind::Counter,
    unit: Unit::Count,
    labels: &["function", "error"],
    cloudwatch_total: true,
};

/// Provider webhooks refused because they did not authenticate (signature, signature header or
/// timestamp), by webhook (`kyc`, `psp`) and provider. Unknown providers are not counted (their
/// name would be whatever the caller typed).
pub static WEBHOOK_SIGNATURE_FAILURES: Metric = Metric {
    name: "webhook_signature_failures_total",
    help: "Provider webhooks refused for their signature or timestamp, by webhook and provider.",
    kind: Kind::Counter,
    unit: Unit::Count,
    labels: &["webhook", "provider"],
    cloudwatch_total: true,
};

/// Provider results applied to deposits, by provider and outcome (`credited`, `declined`,
/// `flagged`, `unmatched`). Repeated deliveries that change nothing are not counted.
pub static DEPOSITS: Metric = Metric {
    name: "deposits_total",
    help: "Provider results applied to deposits, by provider and outcome.",
    kind: Kind::Counter,
    unit: Unit::Count,
    labels: &["provider", "outcome"],
    cloudwatch_total: false,
};

/// Workflow executions running, by state machine (what the last sweep saw).
pub static WORKFLOW_RUNNING: Metric = Metric {
    name: "workflow_running_executions",
    help: "Workflow executions running, by state machine.",
    kind: Kind::Gauge,
    unit: Unit::Count,
    labels: &["machine"],
    cloudwatch_total: false,
};

/// The age of the oldest running execution, by state machine. Every wait of our definitions
/// has a deadline, so an execution older than the longest of them is stuck.
pub static WORKFLOW_OLDEST_RUNNING_AGE: Metric = Metric {
    name: "workflow_oldest_running_age_seconds",
    help: "Age of the oldest running workflow execution, by state machine.",
    kind: Kind::Gauge,
    unit: Unit::Seconds,
    labels: &["machine"],
    cloudwatch_total: false,
};

/// Messages waiting in the outbox (fed by the outbox relay: [`outbox`]).
pub static OUTBOX_PENDING: Metric = Metric {
    name: "outbox_pending",
    help: "Messages written to the outbox and not yet relayed.",
    kind: Kind::Gauge,
    unit: Unit::Count,
    labels: &[],
    cloudwatch_total: false,
};

/// The age of the oldest message not yet relayed: the relay's lag.
pub static OUTBOX_OLDEST_AGE: Metric = Metric {
    name: "outbox_oldest_age_seconds",
    help: "Age of the oldest outbox message not yet relayed (the relay's lag).",
    kind: Kind::Gauge,
    unit: Unit::Seconds,
    labels: &[],
    cloudwatch_total: false,
};

/// The catalogue: every metric Broker OS publishes.
pub static ALL: [&Metric; 10] = [
    &HTTP_REQUESTS,
    &HTTP_SERVER_ERRORS,
    &TASK_INVOCATIONS,
    &TASK_FAILURES,
    &WEBHOOK_SIGNATURE_FAILURES,
    &DEPOSITS,
    &WORKFLOW_RUNNING,
    &WORKFLOW_OLDEST_RUNNING_AGE,
    &OUTBOX_PENDING,
    &OUTBOX_OLDEST_AGE,
];

/// The outbox relay's report, once per relay round: how many messages wait and how old the
/// oldest is (0 when none waits). Published as `outbox_pending` and `outbox_oldest_age_seconds`;
/// the template alarms on the age.
pub fn outbox(pending: u32, oldest_age_seconds: i64) {
    OUTBOX_PENDING.set(&[], f64::from(pending));
    OUTBOX_OLDEST_AGE.set(&[], oldest_age_seconds.max(0) as f64);
}

/// A sweep's view of a state machine's running executions: how many, and the oldest's age.
pub fn workflow_running(machine: &str, running: u64, oldest_age_seconds: f64) {
    WORKFLOW_RUNNING.set(&[machine], running as f64);
    WORKFLOW_OLDEST_RUNNING_AGE.set(&[machine], oldest_age_seconds.max(0.0));
}

/// The status class of an HTTP status: `2xx`, `4xx`, …
pub fn status_class(status: u16) -> &'static str {
    match status / 100 {
        1 => "1xx",
        2 => "2xx",
        3 => "3xx",
        4 => "4xx",
        _ => "5xx",
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Reading {
    Counter { total: u64, published: u64 },
    Gauge { value: f64, changed: bool },
}

/// One series as the renderers see it.
struct Sample {
    metric: &'static Metric,
    values: Vec<String>,
    value: f64,
}

/// The series of every metric, by metric name and label values.
type SeriesMap = BTreeMap<(&'static str, Vec<String>), (&'static Metric, Reading)>;

/// The series of every metric: a map behind one mutex, held for a map lookup at a time.
pub struct Registry {
    series: Mutex<SeriesMap>,
}

static GLOBAL: Registry = Registry::new();

/// The process's registry, the one [`Metric::inc`] and [`Metric::set`] write to.
pub fn global() -> &'static Registry {
    &GLOBAL
}

impl Default for Registry {
    fn default() -> Self {
        Registry::new()
    }
}

impl Registry {
    pub const fn new() -> Registry {
        Registry {
            series: Mutex::new(BTreeMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SeriesMap> {
        // A panic while holding the lock left whole entries behind: keep counting.
        self.series.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The entry of `metric` under `values`, or of its `other` series when the metric already
    /// has its maximum of label combinations.
    fn entry<'a>(
        map: &'a mut SeriesMap,
        metric: &'static Metric,
        values: &[&str],
        initial: Reading,
    ) -> &'a mut Reading {
        let mut key = (metric.name, label_values(metric, values));
        if !map.contains_key(&key) {
            let existing = map
                .range((metric.name, Vec::new())..)
                .take_while(|((name, _), _)| *name == metric.name)
                .count();
            if existing >= MAX_SERIES_PER_METRIC {
                key.1 = vec!["other".to_string(); metric.labels.len()];
            }
        }
        &mut map.entry(key).or_insert((metric, initial)).1
    }

    /// Adds `n` to the counter `metric` under `values`.
    pub fn add(&self, metric: &'static Metric, values: &[&str], n: u64) {
        debug_assert_eq!(metric.kind, Kind::Counter, "{} is a gauge", metric.name);
        let mut map = self.lock();
        let initial = Reading::Counter {
            total: 0,
            published: 0,
        };
        if let Reading::Counter { total, .. } = Self::entry(&mut map, metric, values, initial) {
            *total = total.saturating_add(n);
        }
    }

    /// Sets the gauge `metric` under `values`.
    pub fn set(&self, metric: &'static Metric, values: &[&str], value: f64) {
        debug_assert_eq!(metric.kind, Kind::Gauge, "{} is a counter", metric.name);
        let mut map = self.lock();
        let initial = Reading::Gauge {
            value,
            changed: true,
        };
        *Self::entry(&mut map, metric, values, initial) = Reading::Gauge {
            value,
            changed: true,
        };
    }

    /// Every series in the Prometheus text exposition format (version 0.0.4): per metric a
    /// `# HELP` and a `# TYPE` line, then `brokeros_<name>{label="value",…} value` per series.
    pub fn prometheus(&self) -> String {
        let samples: Vec<Sample> = self
            .lock()
            .iter()
            .map(|((_, values), (metric, reading))| Sample {
                metric,
                values: values.clone(),
                value: match *reading {
                    Reading::Counter { total, .. } => total as f64,
                    Reading::Gauge { value, .. } => value,
                },
            })
            .collect();
        prometheus_text(&samples)
    }

    /// What changed since the previous drain, as embedded-metric-format documents (one JSON
    /// object per line, without the newline): each counter's gain and each gauge set since.
    /// `timestamp_ms` dates them; `properties` (a trace id, say) are added to every document as
    /// searchable log fields, never as dimensions.
    pub fn drain_emf(&self, timestamp_ms: i64, properties: &[(&str, &str)]) -> Vec<String> {
        let mut samples = Vec::new();
        for ((_, values), (metric, reading)) in self.lock().iter_mut() {
            let value = match reading {
                Reading::Counter { total, published } if *total > *published => {
                    let gained = *total - *published;
                    *published = *total;
                    gained as f64
                }
                Reading::Gauge { value, changed } if *changed => {
                    *changed = false;
                    *value
                }
                _ => continue,
            };
            samples.push(Sample {
                metric,
                values: values.clone(),
                value,
            });
        }
        emf_documents(&samples, timestamp_ms, properties)
            .into_iter()
            .map(|document| document.to_string())
            .collect()
    }
}

/// The values of `metric`'s labels from what a caller gave: as many as it has labels (missing
/// ones `none`), cut to a sane length, an empty one `none` (CloudWatch refuses empty dimension
/// values).
fn label_values(metric: &Metric, values: &[&str]) -> Vec<String> {
    debug_assert_eq!(
        values.len(),
        metric.labels.len(),
        "{} takes the labels {:?}",
        metric.name,
        metric.labels
    );
    (0..metric.labels.len())
        .map(|i| {
            let value = values.get(i).copied().unwrap_or("");
            if value.is_empty() {
                return "none".to_string();
            }
            let mut end = value.len().min(MAX_LABEL_VALUE);
            while !value.is_char_boundary(end) {
                end -= 1;
            }
            value[..end].to_string()
        })
        .collect()
}

/// The Prometheus name of a metric.
pub fn prometheus_name(metric: &Metric) -> String {
    format!("{}_{}", NAMESPACE.to_ascii_lowercase(), metric.name)
}

/// A label value as the text format writes it between quotes: `\`, `"` and line feeds escaped.
fn escape_label_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// A `# HELP` text: `\` and line feeds escaped (quotes are not, in help).
fn escape_help(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\n', "\\n")
}

/// A sample's value as the text format writes it (Go's float syntax: `+Inf`, `-Inf`, `NaN`).
fn prometheus_value(value: f64) -> String {
    if value.is_nan() {
        "NaN".into()
    } else if value.is_infinite() {
        if value > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        format!("{value}")
    }
}

fn prometheus_text(samples: &[Sample]) -> String {
    let mut out = String::new();
    let mut current: Option<&str> = None;
    for sample in samples {
        let metric = sample.metric;
        let name = prometheus_name(metric);
        if current != Some(metric.name) {
            current = Some(metric.name);
            let kind = match metric.kind {
                Kind::Counter => "counter",
                Kind::Gauge => "gauge",
            };
            out.push_str(&format!("# HELP {name} {}\n", escape_help(metric.help)));
            out.push_str(&format!("# TYPE {name} {kind}\n"));
        }
        out.push_str(&name);
        if !metric.labels.is_empty() {
            let labels: Vec<String> = metric
                .labels
                .iter()
                .zip(&sample.values)
                .map(|(label, value)| format!("{label}=\"{}\"", escape_label_value(value)))
                .collect();
            out.push('{');
            out.push_str(&labels.join(","));
            out.push('}');
        }
        out.push(' ');
        out.push_str(&prometheus_value(sample.value));
        out.push('\n');
    }
    out
}

/// One embedded-metric-format document being filled: its root members and its directives.
struct Document {
    root: Map<String, Value>,
    /// (dimension sets, metrics) per directive; metrics with the same dimension sets share one.
    directives: Vec<(Vec<Vec<&'static str>>, Vec<Value>)>,
}

impl Document {
    /// Whether `sample` fits: its metric is not in the document yet and every label it shares
    /// with the document has the same value (a root member has one value).
    fn fits(&self, sample: &Sample) -> bool {
        !self.root.contains_key(sample.metric.name)
            && sample
                .metric
                .labels
                .iter()
                .zip(&sample.values)
                .all(|(label, value)| match self.root.get(*label) {
                    None => true,
                    Some(existing) => existing.as_str() == Some(value.as_str()),
                })
    }

    fn add(&mut self, sample: &Sample) {
        let metric = sample.metric;
        for (label, value) in metric.labels.iter().zip(&sample.values) {
            self.root.insert(label.to_string(), json!(value));
        }
        self.root
            .insert(metric.name.to_string(), json!(sample.value));
        let mut dimensions = vec![metric.labels.to_vec()];
        if metric.cloudwatch_total && !metric.labels.is_empty() {
            dimensions.push(Vec::new());
        }
        let definition = json!({ "Name": metric.name, "Unit": metric.unit.cloudwatch() });
        match self.directives.iter_mut().find(|(d, _)| *d == dimensions) {
            // A directive holds at most 100 metrics; ours are far fewer.
            Some((_, metrics)) => metrics.push(definition),
            None => self.directives.push((dimensions, vec![definition])),
        }
    }
}

/// The samples as few embedded-metric-format documents as their label values allow: a
/// document's root holds one value per label, so two series of one metric go to two documents.
fn emf_documents(samples: &[Sample], timestamp_ms: i64, properties: &[(&str, &str)]) -> Vec<Value> {
    let mut documents: Vec<Document> = Vec::new();
    for sample in samples {
        match documents.iter_mut().find(|d| d.fits(sample)) {
            Some(document) => document.add(sample),
            None => {
                let mut document = Document {
                    root: Map::new(),
                    directives: Vec::new(),
                };
                document.add(sample);
                documents.push(document);
            }
        }
    }
    documents
        .into_iter()
        .map(|document| {
            let mut root = document.root;
            for (key, value) in properties {
                root.entry(key.to_string()).or_insert_with(|| json!(value));
            }
            let directives: Vec<Value> = document
                .directives
                .into_iter()
                .map(|(dimensions, metrics)| {
                    json!({ "Namespace": NAMESPACE, "Dimensions": dimensions, "Metrics": metrics })
                })
                .collect();
            root.insert(
                "_aws".into(),
                json!({ "Timestamp": timestamp_ms, "CloudWatchMetrics": directives }),
            );
            Value::Object(root)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    static TEST_COUNTER: Metric = Metric {
        name: "test_things_total",
        help: "Things, counted.\nWith a \\ in its help.",
        kind: Kind::Counter,
        unit: Unit::Count,
        labels: &["route", "outcome"],
        cloudwatch_total: true,
    };

    static TEST_GAUGE: Metric = Metric {
        name: "test_depth",
        help: "A depth.",
        kind: Kind::Gauge,
        unit: Unit::Seconds,
        labels: &[],
        cloudwatch_total: false,
    };

    #[test]
    fn prometheus_text_has_help_type_and_one_line_per_series() {
        let registry = Registry::new();
        registry.add(&TEST_COUNTER, &["/leads/{id}", "ok"], 1);
        registry.add(&TEST_COUNTER, &["/leads/{id}", "ok"], 2);
        registry.add(&TEST_COUNTER, &["/leads", "failed"], 1);
        registry.set(&TEST_GAUGE, &[], 1.5);
        assert_eq!(
            registry.prometheus(),
            "# HELP brokeros_test_depth A depth.\n\
             # TYPE brokeros_test_depth gauge\n\
             brokeros_test_depth 1.5\n\
             # HELP brokeros_test_things_total Things, counted.\\nWith a \\\\ in its help.\n\
             # TYPE brokeros_test_things_total counter\n\
             brokeros_test_things_total{route=\"/leads\",outcome=\"failed\"} 1\n\
             brokeros_test_things_total{route=\"/leads/{id}\",outcome=\"ok\"} 3\n"
        );
    }

    #[test]
    fn prometheus_label_values_are_escaped() {
        let registry = Registry::new();
        registry.add(&TEST_COUNTER, &["a\"b\\c\nd", ""], 1);
        let text = registry.prometheus();
        assert!(
            text.contains(r#"brokeros_test_things_total{route="a\"b\\c\nd",outcome="none"} 1"#),
            "{text}"
        );
        assert_eq!(prometheus_value(f64::INFINITY), "+Inf");
        assert_eq!(prometheus_value(f64::NEG_INFINITY), "-Inf");
        assert_eq!(prometheus_value(f64::NAN), "NaN");
        assert_eq!(prometheus_value(0.0), "0");
    }

    /// The required members of the specification: `_aws` with a millisecond `Timestamp` and
    /// `CloudWatchMetrics` directives (`Namespace`, `Dimensions` as arrays of root member
    /// names, `Metrics` with `Name` and a known `Unit`), every referenced member at the root,
    /// dimension values strings, metric values numbers.
    fn assert_emf(document: &Value) {
        let aws = &document["_aws"];
        assert!(aws["Timestamp"].is_i64(), "{document}");
        let directives = aws["CloudWatchMetrics"].as_array().expect("directives");
        assert!(!directives.is_empty());
        for directive in directives {
            assert_eq!(directive["Namespace"], NAMESPACE);
            for set in directive["Dimensions"].as_array().expect("dimension sets") {
                let set = set.as_array().expect("a dimension set");
                assert!(set.len() <= 30);
                for key in set {
                    let key = key.as_str().expect("a dimension key");
                    assert!(document[key].is_string(), "{key} in {document}");
                }
            }
            let metrics = directive["Metrics"].as_array().expect("metrics");
            assert!(!metrics.is_empty() && metrics.len() <= 100);
            for metric in metrics {
                let name = metric["Name"].as_str().expect("a name");
                assert!(document[name].is_number(), "{name} in {document}");
                assert!(["Count", "Seconds"].contains(&metric["Unit"].as_str().unwrap()));
            }
        }
    }

    #[test]
    fn emf_documents_follow_the_specification_and_publish_only_what_changed() {
        let registry = Registry::new();
        registry.add(&TEST_COUNTER, &["/leads", "ok"], 2);
        registry.set(&TEST_GAUGE, &[], 7.0);
        let lines = registry.drain_emf(1_795_000_000_123, &[("trace_id", "1-abc-def")]);
        assert_eq!(lines.len(), 1, "{lines:?}");
        let document: Value = serde_json::from_str(&lines[0]).unwrap();
        assert_emf(&document);
        assert_eq!(document["_aws"]["Timestamp"], 1_795_000_000_123i64);
        assert_eq!(document["test_things_total"], 2.0);
        assert_eq!(document["route"], "/leads");
        assert_eq!(document["test_depth"], 7.0);
        assert_eq!(document["trace_id"], "1-abc-def");
        let directives = document["_aws"]["CloudWatchMetrics"].as_array().unwrap();
        let counter = directives
            .iter()
            .find(|d| d["Metrics"][0]["Name"] == "test_things_total")
            .unwrap();
        // Its label set, and its total for alarms.
        assert_eq!(
            counter["Dimensions"],
            json!([["route", "outcome"], []]),
            "{document}"
        );
        assert_eq!(counter["Metrics"][0]["Unit"], "Count");

        // Nothing changed: nothing to publish. A counter publishes its gain, not its total.
        assert!(registry.drain_emf(0, &[]).is_empty());
        registry.add(&TEST_COUNTER, &["/leads", "ok"], 1);
        let lines = registry.drain_emf(0, &[]);
        let document: Value = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(document["test_things_total"], 1.0);
        assert!(document.get("test_depth").is_none());
        assert!(registry.prometheus().contains("outcome=\"ok\"} 3\n"));
    }

    #[test]
    fn two_series_of_one_metric_go_to_two_documents() {
        let registry = Registry::new();
        registry.add(&TEST_COUNTER, &["/leads", "ok"], 1);
        registry.add(&TEST_COUNTER, &["/leads", "failed"], 1);
        let lines = registry.drain_emf(0, &[]);
        assert_eq!(lines.len(), 2, "{lines:?}");
        for line in lines {
            assert_emf(&serde_json::from_str(&line).unwrap());
        }
    }

    #[test]
    fn label_combinations_beyond_the_bound_are_counted_as_other() {
        let registry = Registry::new();
        for i in 0..MAX_SERIES_PER_METRIC + 5 {
            registry.add(&TEST_COUNTER, &[&format!("/leads/{i}"), "ok"], 1);
        }
        let text = registry.prometheus();
        assert_eq!(
            text.lines()
                .filter(|l| l.starts_with("brokeros_test_things_total"))
                .count(),
            MAX_SERIES_PER_METRIC + 1
        );
        assert!(
            text.contains("brokeros_test_things_total{route=\"other\",outcome=\"other\"} 5\n"),
            "{text}"
        );
    }

    #[test]
    fn the_catalogue_has_valid_unique_names() {
        let mut names: Vec<&str> = ALL.iter().map(|m| m.name).collect();
        let valid = |s: &str| {
            s.chars().next().is_some_and(|c| c.is_ascii_lowercase())
                && s.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        };
        for metric in ALL {
            assert!(valid(metric.name), "{}", metric.name);
            assert_eq!(
                metric.kind == Kind::Counter,
                metric.name.ends_with("_total"),
                "{}: counters and only counters end in _total",
                metric.name
            );
            for label in metric.labels {
                assert!(valid(label), "{label}");
                assert!(!ALL.iter().any(|m| m.name == *label));
            }
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ALL.len());
    }

    #[test]
    fn status_classes() {
        assert_eq!(status_class(200), "2xx");
        assert_eq!(status_class(404), "4xx");
        assert_eq!(status_class(503), "5xx");
    }
}
