//! The smoke test of the staging endpoint: the repository's requests sent through
//! InvokeEndpoint, each answer held to what deployment.json says (status 200, the number of
//! records, a regex, a p95 latency budget). Checks are pure; only `run` calls the endpoint.

use std::time::{Duration, Instant};

use aws_sdk_sagemakerruntime::error::ProvideErrorMetadata;
use aws_sdk_sagemakerruntime::operation::invoke_endpoint::InvokeEndpointError;
use aws_sdk_sagemakerruntime::primitives::Blob;
use regex::Regex;

use crate::config::SmokeTest;

/// How much of an answer a failure message quotes.
const EXCERPT: usize = 300;

/// One request of the smoke test, its body read from the repository.
#[derive(Debug, Clone)]
pub struct Request {
    pub file: String,
    pub body: String,
    pub content_type: String,
    pub accept: Option<String>,
}

/// What the endpoint answered.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    Ok {
        body: String,
        content_type: String,
    },
    /// The model's own error (ModelError) or the service's.
    Error {
        status: Option<u16>,
        message: String,
    },
}

/// The smoke test passed: what a person reads in the summary.
#[derive(Debug, Clone, PartialEq)]
pub struct Passed {
    pub line: String,
}

/// Runs every request (`Latency.Invocations` times when a budget is set, else once) and
/// checks the answers; the error lists every rule that did not hold.
pub async fn run(
    runtime: &aws_sdk_sagemakerruntime::Client,
    endpoint: &str,
    smoke: &SmokeTest,
    requests: &[Request],
) -> Result<Passed, String> {
    let invocations = smoke.latency.as_ref().map_or(1, |l| l.invocations);
    let regex = match &smoke.body_regex {
        Some(pattern) => Some(Regex::new(pattern).map_err(|e| e.to_string())?),
        None => None,
    };
    let mut problems = Vec::new();
    let mut latencies = Vec::new();
    for request in requests {
        for i in 0..invocations {
            let started = Instant::now();
            let answer = invoke(runtime, endpoint, request).await;
            latencies.push(started.elapsed());
            let found = check(request, &answer, smoke.same_record_count, regex.as_ref());
            if !found.is_empty() {
                problems.extend(found);
                break;
            }
            if i == 0 {
                tracing::info!(file = request.file, "smoke request answered");
            }
        }
    }
    let p95 = percentile(&mut latencies, 0.95);
    if let (Some(budget), Some(p95)) = (&smoke.latency, p95) {
        let millis = p95.as_secs_f64() * 1000.0;
        if millis > budget.p95_milliseconds && problems.is_empty() {
            problems.push(format!(
                "latency: p95 {millis:.0} ms over {} invocations is above the budget of {} ms",
                latencies.len(),
                budget.p95_milliseconds
            ));
        }
    }
    if !problems.is_empty() {
        return Err(problems.join("\n"));
    }
    let p95 = p95.map_or(String::new(), |p| {
        format!("; p95 {:.0} ms", p.as_secs_f64() * 1000.0)
    });
    Ok(Passed {
        line: format!(
            "smoke test passed: {} request(s), {} invocation(s), all 200{p95}",
            requests.len(),
            latencies.len()
        ),
    })
}

async fn invoke(
    runtime: &aws_sdk_sagemakerruntime::Client,
    endpoint: &str,
    request: &Request,
) -> Answer {
    let sent = runtime
        .invoke_endpoint()
        .endpoint_name(endpoint)
        .content_type(&request.content_type)
        .set_accept(request.accept.clone())
        .body(Blob::new(request.body.as_bytes()))
        .send()
        .await;
    match sent {
        Ok(output) => Answer::Ok {
            body: output
                .body()
                .map(|b| String::from_utf8_lossy(b.as_ref()).into_owned())
                .unwrap_or_default(),
            content_type: output.content_type().unwrap_or_default().to_owned(),
        },
        Err(error) => match error.as_service_error() {
            Some(InvokeEndpointError::ModelError(model)) => Answer::Error {
                status: model
                    .original_status_code()
                    .and_then(|s| u16::try_from(s).ok()),
                message: model
                    .original_message()
                    .or(model.message())
                    .unwrap_or_default()
                    .to_owned(),
            },
            Some(other) => Answer::Error {
                status: None,
                message: format!(
                    "{}: {}",
                    other.code().unwrap_or("error"),
                    other.message().unwrap_or_default()
                ),
            },
            None => Answer::Error {
                status: None,
                message: aws_sdk_sagemakerruntime::error::DisplayErrorContext(&error).to_string(),
            },
        },
    }
}

/// What does not hold of one answer.
pub fn check(
    request: &Request,
    answer: &Answer,
    same_record_count: bool,
    regex: Option<&Regex>,
) -> Vec<String> {
    let file = &request.file;
    let (body, content_type) = match answer {
        Answer::Error { status, message } => {
            let status = status.map_or("no status".to_owned(), |s| format!("status {s}"));
            return vec![format!(
                "{file}: the model answered {status}, not 200: {}",
                excerpt(message)
            )];
        }
        Answer::Ok { body, content_type } => (body, content_type),
    };
    let mut problems = Vec::new();
    if same_record_count {
        let sent = records(&request.body, &request.content_type);
        let answered = records(body, content_type);
        if sent != answered {
            problems.push(format!(
                "{file}: {} record(s) sent, {} answered: {}",
                count(sent),
                count(answered),
                excerpt(body)
            ));
        }
    }
    if let Some(regex) = regex
        && !regex.is_match(body)
    {
        problems.push(format!(
            "{file}: the answer does not match BodyRegex `{}`: {}",
            regex.as_str(),
            excerpt(body)
        ));
    }
    problems
}

fn count(records: Option<usize>) -> String {
    records.map_or("an unknown number of".to_owned(), |n| n.to_string())
}

/// Records of a body by its type: CSV and JSON Lines lines, a JSON array's items (a JSON
/// object is one record); `None` when it cannot be read as its type says.
pub fn records(body: &str, content_type: &str) -> Option<usize> {
    let media = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let lines = || body.lines().filter(|l| !l.trim().is_empty()).count();
    match media.as_str() {
        "application/json" => match serde_json::from_str::<serde_json::Value>(body).ok()? {
            serde_json::Value::Array(items) => Some(items.len()),
            _ => Some(1),
        },
        "text/csv" | "application/jsonlines" | "application/x-jsonlines" | "text/plain" => {
            Some(lines())
        }
        _ => None,
    }
}

/// The `q` quantile by the nearest-rank method.
pub fn percentile(values: &mut [Duration], q: f64) -> Option<Duration> {
    if values.is_empty() {
        return None;
    }
    values.sort();
    let rank = (q * values.len() as f64).ceil() as usize;
    values.get(rank.clamp(1, values.len()) - 1).copied()
}

fn excerpt(text: &str) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= EXCERPT {
        return format!("`{one_line}`");
    }
    let cut: String = one_line.chars().take(EXCERPT).collect();
    format!("`{cut}...`")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(body: &str, content_type: &str) -> Request {
        Request {
            file: "tests/smoke.csv".into(),
            body: body.into(),
            content_type: content_type.into(),
            accept: None,
        }
    }

    fn ok(body: &str, content_type: &str) -> Answer {
        Answer::Ok {
            body: body.into(),
            content_type: content_type.into(),
        }
    }

    #[test]
    fn records_are_counted_by_type() {
        assert_eq!(records("a,1\nb,2\n\n", "text/csv"), Some(2));
        assert_eq!(
            records("[1, 2, 3]", "application/json; charset=utf-8"),
            Some(3)
        );
        assert_eq!(records("{\"a\": 1}", "application/json"), Some(1));
        assert_eq!(records("not json", "application/json"), None);
        assert_eq!(records("\u{0}", "image/png"), None);
    }

    #[test]
    fn answers_are_held_to_the_rules() {
        let sent = request("Gentoo,1\nAdelie,2\n", "text/csv");
        let regex = Regex::new("^(male|female),").unwrap();
        assert!(
            check(
                &sent,
                &ok("male,0.9\nfemale,0.8\n", "text/csv"),
                true,
                Some(&regex)
            )
            .is_empty()
        );
        let short = check(&sent, &ok("male,0.9\n", "text/csv"), true, None);
        assert!(
            short[0].contains("2 record(s) sent, 1 answered"),
            "{short:?}"
        );
        let garbage = check(
            &sent,
            &ok("<html>oops</html>", "text/html"),
            true,
            Some(&regex),
        );
        assert_eq!(garbage.len(), 2, "{garbage:?}");
        assert!(garbage[1].contains("does not match BodyRegex") && garbage[1].contains("oops"));
        let error = Answer::Error {
            status: Some(500),
            message: "boom\ntraceback".into(),
        };
        let failed = check(&sent, &error, false, None);
        assert!(
            failed[0].contains("status 500, not 200: `boom traceback`"),
            "{failed:?}"
        );
    }

    #[test]
    fn the_p95_is_the_nearest_rank() {
        let mut values: Vec<Duration> = (1..=20).map(Duration::from_millis).collect();
        assert_eq!(
            percentile(&mut values, 0.95),
            Some(Duration::from_millis(19))
        );
        assert_eq!(
            percentile(&mut [Duration::from_millis(7)], 0.95),
            Some(Duration::from_millis(7))
        );
        assert_eq!(percentile(&mut [], 0.95), None);
    }

    #[test]
    fn long_answers_are_cut() {
        let long = "x".repeat(1000);
        assert!(excerpt(&long).len() < 320);
    }
}
