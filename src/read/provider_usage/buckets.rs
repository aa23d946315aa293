//! A usage report's buckets as read, for the checks that count each
//! provider's tokens once ([`super::once`]): a bucket's times, its content
//! and, per result, what it was grouped by, the organisation's ids it
//! names and its tokens. A JSON page's buckets are the API's; a CSV's
//! rows of one time are a bucket.

use chrono::{DateTime, Utc};

/// The fields a report's results may be grouped by (the APIs' `group_by`
/// values; the Console CSV's `model_version` is read as `model`).
pub const GROUPED_BY: [&str; 8] = [
    "model",
    "project_id",
    "user_id",
    "api_key_id",
    "workspace_id",
    "batch",
    "service_tier",
    "context_window",
];

/// The grouping fields whose values belong to one organisation: the same
/// value in two reports of one time is one organisation's usage twice.
const ORG_IDS: [&str; 4] = ["project_id", "user_id", "api_key_id", "workspace_id"];

/// A bucket read: its provider, times, content (to tell a bucket read
/// twice), the line it was read on, and its results.
#[derive(Clone, Debug)]
pub struct BucketRead {
    /// `openai` or `anthropic`.
    pub provider: &'static str,
    /// Its start and end, UTC (the end as its start where not given).
    pub times: (DateTime<Utc>, DateTime<Utc>),
    /// Its results as text (a page's JSON with keys in order, a CSV's rows).
    pub content: String,
    /// The line its page (or its first CSV row) was read on.
    pub line: u64,
    /// Its results.
    pub results: Vec<ResultRead>,
}

/// One result of a bucket: what it was grouped by, the organisation's ids
/// it names (`api_key_id key_x`) and its tokens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResultRead {
    /// The [`GROUPED_BY`] fields it has a value for, in that order.
    pub grouping: Vec<&'static str>,
    /// Its values of the organisation's ids, each `field value`.
    pub ids: Vec<String>,
    /// Its tokens, as [`super::ProviderUsage::tokens`].
    pub tokens: [u64; 5],
}

impl ResultRead {
    /// A result whose grouping field `name` has the value `value(name)`
    /// (empty or absent for none), with `tokens`.
    pub fn new(value: impl Fn(&str) -> Option<String>, tokens: [u64; 5]) -> ResultRead {
        let grouping: Vec<&'static str> = (GROUPED_BY.iter().copied())
            .filter(|name| value(name).is_some_and(|v| !v.is_empty()))
            .collect();
        let ids = (ORG_IDS.iter())
            .filter_map(|name| {
                value(name)
                    .filter(|v| !v.is_empty())
                    .map(|v| format!("{name} {v}"))
            })
            .collect();
        ResultRead {
            grouping,
            ids,
            tokens,
        }
    }
}

/// The value of a JSON result's field, as text (`null` for none).
pub fn json_value(
    result: &serde_json::Map<String, serde_json::Value>,
    name: &str,
) -> Option<String> {
    match result.get(name)? {
        serde_json::Value::Null => None,
        serde_json::Value::String(text) => Some(text.clone()),
        other => Some(other.to_string()),
    }
}
