//! Billed usage, one record per request, from every source a fleet has.
//! Each adapter normalises its source into the same [`crate::model::UsageRecord`]: input
//! split into uncached, cache read and cache writes (OpenAI-shaped sources
//! count cached tokens inside their prompt count; Anthropic-shaped ones do
//! not), the provider and model as priced, and the ids a span may carry.
//!
//! - [`canonical`]: tokenledger's usage CSV;
//! - [`litellm`]: LiteLLM proxy spend logs (`/spend/logs` JSON, JSON lines,
//!   or a CSV dump of `LiteLLM_SpendLogs`);
//! - [`openrouter`]: OpenRouter generation records (`/api/v1/generation`);
//! - [`bedrock`]: Amazon Bedrock model invocation logs;
//! - [`claude_code`]: coding-agent telemetry (Claude Code's and Codex's
//!   OTLP log events, `coding-agent-logs`).

pub mod bedrock;
pub mod canonical;
pub mod claude_code;
mod json_records;
pub mod labels;
pub mod litellm;
pub mod openrouter;
pub mod pages;
mod time;

use std::io::BufRead;
use std::path::Path;

use rust_decimal::Decimal;

use json_records::for_each_in_array;
pub use json_records::for_each_json;
pub use time::{parse_timestamp, parse_utc_timestamp};

use crate::error::{Error, Result, Skips};
use crate::intern::{Interner, Sym};
use crate::model::{
    bare_model, whole_tokens, BilledRequest, Modality, TokenType, Tokens, MAX_TOKENS,
};
use crate::money::parse_amount;

/// The usage formats tokenledger reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum UsageFormat {
    /// tokenledger's canonical usage CSV.
    Canonical,
    /// LiteLLM proxy spend logs (JSON array, JSON lines or CSV).
    Litellm,
    /// OpenRouter generation records (JSON or JSON lines).
    Openrouter,
    /// Amazon Bedrock model invocation logs (JSON lines, usually gzipped).
    Bedrock,
    /// Coding agents' OpenTelemetry log events (OTLP JSON logs): Claude
    /// Code's, Codex CLI's and Gemini CLI's.
    #[value(name = "coding-agent-logs", aliases = ["claude-code", "claude-code-logs", "codex", "codex-logs", "gemini-cli", "gemini-cli-logs"])]
    ClaudeCode,
}

impl UsageFormat {
    /// The name shown in the summary.
    pub fn name(self) -> &'static str {
        match self {
            UsageFormat::Canonical => "canonical-csv",
            UsageFormat::Litellm => "litellm-spend-logs",
            UsageFormat::Openrouter => "openrouter-generations",
            UsageFormat::Bedrock => "bedrock-invocation-logs",
            UsageFormat::ClaudeCode => "coding-agent-logs",
        }
    }

    /// The format a summary names (`canonical-csv`, …).
    pub fn from_name(name: &str) -> Option<UsageFormat> {
        [
            UsageFormat::Canonical,
            UsageFormat::Litellm,
            UsageFormat::Openrouter,
            UsageFormat::Bedrock,
            UsageFormat::ClaudeCode,
        ]
        .into_iter()
        .find(|f| f.name() == name)
    }

    /// The token classes this source can tell apart, by
    /// [`TokenType::index`]: a class it cannot is counted as uncached input
    /// (OpenRouter has no cache writes; Bedrock's logs no 1-hour ones).
    pub fn expresses(self) -> [bool; 5] {
        match self {
            UsageFormat::Canonical | UsageFormat::Litellm => [true; 5],
            UsageFormat::Bedrock | UsageFormat::ClaudeCode => [true, true, true, false, true],
            UsageFormat::Openrouter => [true, true, false, false, true],
        }
    }

    /// Between two sources of one request that tell the same detail, the
    /// one kept: the user's own CSV, then the provider's log (Bedrock),
    /// then the gateways (LiteLLM, OpenRouter).
    pub fn precedence(self) -> u8 {
        match self {
            UsageFormat::Canonical => 0,
            UsageFormat::Bedrock => 1,
            UsageFormat::Litellm => 2,
            UsageFormat::Openrouter => 3,
            UsageFormat::ClaudeCode => 4,
        }
    }

    /// How many bytes of a file [`UsageFormat::detect`] looks at.
    pub const HEAD: usize = 8192;

    /// Detect a file's format from its CSV header or its JSON keys, in the
    /// first [`UsageFormat::HEAD`] bytes of its text.
    pub fn detect(path: &Path, head: &[u8]) -> Result<UsageFormat> {
        let head = String::from_utf8_lossy(head);
        let trimmed = head.trim_start();
        if trimmed.is_empty() {
            return Err(super::empty(path));
        }
        let has = |key: &str| head.contains(&format!("\"{key}\""));
        if trimmed.starts_with(['{', '[']) {
            let agents = ["claude_code", "codex.", "gemini_cli."];
            if has("resourceLogs") && agents.iter().any(|a| head.contains(a)) {
                return Ok(UsageFormat::ClaudeCode);
            }
            if has("schemaType") || has("inputTokenCount") {
                return Ok(UsageFormat::Bedrock);
            }
            if has("native_tokens_prompt") || has("upstream_id") {
                return Ok(UsageFormat::Openrouter);
            }
            // A v2 page, perhaps of no logs (an idle day, a loop's last).
            let v2_page = has("total_pages") && has("page_size") && has("data");
            if has("request_id") && has("prompt_tokens") || v2_page {
                return Ok(UsageFormat::Litellm);
            }
        } else {
            let header: Vec<&str> = head
                .lines()
                .next()
                .unwrap_or("")
                .split(',')
                .map(|h| h.trim().trim_matches('"').trim())
                .collect();
            let column = |name: &str| header.contains(&name);
            if column("request_id") && column("uncached_input_tokens") {
                return Ok(UsageFormat::Canonical);
            }
            if column("request_id") && column("prompt_tokens") {
                return Ok(UsageFormat::Litellm);
            }
        }
        Err(Error::fatal(format!(
            "{}: not a usage file tokenledger knows (canonical CSV, LiteLLM spend logs, OpenRouter \
             generations, Bedrock invocation logs, coding agents' log events); use --usage-format to \
             force one",
            path.display()
        )))
    }
}

/// What one usage file held.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReadStats {
    /// Billed records read.
    pub records: u64,
    /// Rows the source logged but that were not billed (failed calls).
    pub not_billed: u64,
    /// The LiteLLM v2 pages read, each with whether it held no logs
    /// (checked whole across files by [`pages::check_listings`]).
    pub pages: Vec<(pages::PageNumber, bool)>,
}

/// Read every usage record of one file, passing each to `sink`: in
/// `format`, or the format detected from its first bytes. The file is
/// opened once, so a pipe works.
pub fn read_file(
    path: &Path,
    format: Option<UsageFormat>,
    at: (u32, usize),
    interner: &mut Interner,
    skips: &mut Skips,
    sink: &mut (dyn FnMut(BilledRequest) + Send),
) -> Result<(UsageFormat, ReadStats)> {
    let (head, source) = super::open_with_head(path, UsageFormat::HEAD)?;
    let format = match format {
        Some(format) => format,
        None => UsageFormat::detect(path, &head)?,
    };
    let stats = read_from(source, path, format, at, interner, skips, sink)?;
    Ok((format, stats))
}

/// Read usage records in `format` from `source`; `path` names it in errors.
/// `(file, threads)`: the file's index among the run's inputs, and the
/// threads that may parse it (the canonical CSV's blocks of lines).
pub fn read_from(
    source: impl BufRead + Send,
    path: &Path,
    format: UsageFormat,
    (file, threads): (u32, usize),
    interner: &mut Interner,
    skips: &mut Skips,
    sink: &mut (dyn FnMut(BilledRequest) + Send),
) -> Result<ReadStats> {
    let mut stats = ReadStats::default();
    let mut pages = Vec::new();
    let mut keep = |record: Option<BilledRequest>| match record {
        Some(r) => {
            stats.records += 1;
            sink(r)
        }
        None => stats.not_billed += 1,
    };
    let mut row = |line: u64, result: Result<Option<BilledRequest>, RowError>| match result {
        Ok(record) => {
            keep(record);
            Ok(())
        }
        Err((kind, message)) => skips.handle(Error::record(path, line, kind, message)),
    };
    match format {
        UsageFormat::Canonical => {
            canonical::read(source, path, (file, threads), interner, &mut row)?
        }
        UsageFormat::Litellm => pages = litellm::read(source, path, file, interner, &mut row)?,
        UsageFormat::Openrouter => for_each_json(source, path, &mut |line, json| {
            row(
                line,
                json.and_then(|json| openrouter::parse(json, file, line, interner)),
            )
        })?,
        UsageFormat::Bedrock => for_each_json(source, path, &mut |line, json| {
            row(
                line,
                json.and_then(|json| bedrock::parse(json, file, line, interner)),
            )
        })?,
        UsageFormat::ClaudeCode => for_each_json(source, path, &mut |line, json| match json
            .and_then(|json| claude_code::parse(json, file, line, interner))
        {
            Ok(records) => records.into_iter().try_for_each(|r| row(line, r.map(Some))),
            Err(e) => row(line, Err(e)),
        })?,
    }
    stats.pages = pages;
    Ok(stats)
}

/// A record-level problem: its kind (counted under `--lenient`) and message.
pub type RowError = (&'static str, String);

/// Where an adapter sends each row: its line and what it made of it (`None`
/// for a row that was not billed).
pub type RowSink<'s> =
    dyn FnMut(u64, Result<Option<BilledRequest>, RowError>) -> Result<()> + Send + 's;

/// Where [`for_each_json`] sends each record: its line and its JSON text (or
/// what was wrong with it).
pub type JsonSink<'s> = dyn FnMut(u64, Result<&str, RowError>) -> Result<()> + 's;

/// A record's token counts, indexed by [`TokenType::index`], each within
/// the plausible range (the readers check each count they read with
/// [`count`] or [`parse_count`], naming its field; a count derived from
/// them is checked here).
pub fn tokens(counts: [u64; 5]) -> Result<Tokens, RowError> {
    Tokens::new(counts).ok_or_else(|| {
        (
            "bad-token-count",
            format!("token counts {counts:?}: one is beyond the plausible maximum of {MAX_TOKENS}"),
        )
    })
}

/// A token count from text: a whole, non-negative, plausible number;
/// empty means 0.
pub fn parse_count(value: &str, name: &str) -> Result<u64, RowError> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(0);
    }
    match value.parse::<u64>() {
        Ok(n) => count(Some(n), name),
        Err(_) => Err((
            "bad-token-count",
            format!("{name}: expected a whole non-negative number of tokens, got \"{value}\""),
        )),
    }
}

/// A record's per-request charges when a source counts one: `count`
/// requests of `charge`, none when it is 0.
pub fn requests_of(interner: &mut Interner, charge: &str, count: u64) -> Box<[(Sym, u64)]> {
    match count {
        0 => Box::default(),
        n => Box::new([(interner.intern(charge), n)]),
    }
}

/// A token count from a JSON value, strictly: a whole non-negative number,
/// written as an integer, an integral float (`2000.0`) or a string
/// (`"2000"`); `null` or absent is `None`. Anything else is an error, never
/// a count quietly dropped.
pub fn json_count(value: Option<&serde_json::Value>, name: &str) -> Result<Option<u64>, RowError> {
    use serde_json::Value;
    let bad = |shown: String| {
        Err((
            "bad-token-count",
            format!("{name}: expected a whole non-negative number of tokens, got {shown}"),
        ))
    };
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => match text.trim() {
            "" => bad("\"\"".into()),
            t => parse_count(t.strip_suffix(".0").unwrap_or(t), name).map(Some),
        },
        Some(Value::Number(n)) => match (n.as_u64(), n.as_f64()) {
            (Some(whole), _) => count(Some(whole), name).map(Some),
            (None, Some(f)) => whole_tokens(f).map_or_else(|| bad(n.to_string()), |c| Ok(Some(c))),
            _ => bad(n.to_string()),
        },
        Some(other) => bad(other.to_string()),
    }
}

/// A record's billable input and output counts, both required (each within
/// the plausible range): a billed request without them cannot be priced,
/// and pricing it at $0 would lose its cost without a word.
pub fn billable(
    input: (Option<u64>, &str),
    output: (Option<u64>, &str),
) -> Result<(u64, u64), RowError> {
    match (input.0, output.0) {
        (Some(i), Some(o)) => Ok((count(Some(i), input.1)?, count(Some(o), output.1)?)),
        _ => {
            let missing: Vec<&str> = [input, output]
                .iter()
                .filter(|(n, _)| n.is_none())
                .map(|(_, name)| *name)
                .collect();
            Err((
                "missing-token-count",
                format!(
                    "{} missing or null: a billed request without its token counts cannot be priced",
                    missing.join(" and ")
                ),
            ))
        }
    }
}

/// A token count from a number field (absent means 0), within the plausible range.
pub fn count(value: Option<u64>, name: &str) -> Result<u64, RowError> {
    match value.unwrap_or(0) {
        n if n <= MAX_TOKENS => Ok(n),
        n => {
            let unit = if name.contains("requests") {
                "requests"
            } else {
                "tokens"
            };
            let why = format!(
                "{name}: {n} {unit} in one request is beyond the plausible maximum of {MAX_TOKENS}"
            );
            Err(("bad-token-count", why))
        }
    }
}

/// Reasoning tokens are a part of the output count (`output`, named
/// `name` in the source): more reasoning than output is a bad record. The
/// counts with the reasoning count added.
pub fn reasoning_within_output(
    reasoning: u64,
    tokens: &Tokens,
    name: &str,
) -> Result<Tokens, RowError> {
    let output = tokens.get(TokenType::Output);
    if reasoning > output {
        return Err((
            "bad-token-count",
            format!(
                "reasoning_tokens is {reasoning}, more than the {output} output tokens ({name}) it is a part of"
            ),
        ));
    }
    Ok(tokens.with_reasoning(reasoning))
}

/// Audio and image counts (`(modality, count)` pairs) from `count_of`, kept
/// where non-zero; together they must fit in the uncached input or the
/// output count they are parts of.
pub fn modalities(
    tokens: &Tokens,
    mut count_of: impl FnMut(Modality) -> Result<u64, RowError>,
) -> Result<Box<[(Modality, u64)]>, RowError> {
    let mut found = Vec::new();
    let mut parts = [0u64; 5];
    for m in Modality::ALL {
        let n = count_of(m)?;
        if n > 0 {
            found.push((m, n));
            parts[m.part_of().index()] += n;
        }
    }
    for t in [TokenType::Input, TokenType::Output] {
        let (part, whole) = (parts[t.index()], tokens.get(t));
        if part > whole {
            return Err((
                "bad-token-count",
                format!(
                    "{part} audio and image tokens, more than the {whole} {} they are a part of",
                    t.tokens_column()
                ),
            ));
        }
    }
    Ok(found.into())
}

/// `total` minus the cached parts it includes, for sources whose prompt
/// count includes cache reads and writes.
pub fn uncached(total: u64, cached: u64, name: &str) -> Result<u64, RowError> {
    total.checked_sub(cached).ok_or_else(|| {
        (
            "bad-token-count",
            format!("{name} is {total}, fewer than the {cached} cached tokens it includes"),
        )
    })
}

/// A money amount from a JSON number or string's literal text, exactly.
pub fn parse_usd(raw: &str, name: &str) -> Result<Decimal, RowError> {
    parse_amount(raw.trim().trim_matches('"')).ok_or_else(|| {
        (
            "bad-cost",
            format!("{name}: expected a decimal number of USD, got {raw}"),
        )
    })
}

/// A usage record's service tier as its source writes it (OpenAI's
/// `default` is standard; absent or empty too); anything else a bad record,
/// never a silent standard price.
pub fn service_tier(name: Option<&str>) -> Result<crate::model::Tier, RowError> {
    use crate::model::Tier;
    match name.map(str::trim) {
        None | Some("" | "default") => Ok(Tier::Standard),
        Some(name) => Tier::parse(name).ok_or_else(|| {
            let message = format!(
                "service_tier: expected standard, default, batch, flex or priority, got \"{name}\""
            );
            ("bad-service-tier", message)
        }),
    }
}

/// The model as `provider` bills it: a Bedrock id without its `:N`
/// version (as the invocation logs' are read), any other without a path.
pub fn billed_model<'m>(provider: &str, model: &'m str) -> &'m str {
    match provider {
        "aws.bedrock" => bedrock::model_of(model.trim()),
        _ => bare_model(model),
    }
}

/// The provider name pricing uses, from the names gateways write.
pub fn provider_name(raw: &str) -> String {
    let lower = raw.trim().to_ascii_lowercase();
    match lower.as_str() {
        "vertex_ai" | "vertex_ai_beta" | "gemini" | "google ai studio" | "google vertex"
        | "gcp.gemini" | "gcp.vertex_ai" => "google".into(),
        "bedrock" | "amazon bedrock" | "aws.bedrock" => "aws.bedrock".into(),
        "azure" | "azure openai" | "azure.ai.openai" | "az.ai.openai" | "azure_ai"
        | "azure.ai.inference" | "az.ai.inference" => "azure".into(),
        "x_ai" | "x-ai" | "xai" => "xai".into(),
        "mistral_ai" | "mistralai" | "mistral" => "mistral".into(),
        _ => lower,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_name_of_azures_model_service_is_azure() {
        let names = ["azure", "Azure OpenAI", "azure.ai.openai", "az.ai.openai"];
        let inference = ["azure_ai", "azure.ai.inference", "az.ai.inference"];
        for name in names.into_iter().chain(inference) {
            assert_eq!(super::provider_name(name), "azure", "{name}");
        }
    }
}
