//! A simulated month's billed usage as each source would export it: the
//! canonical CSV, LiteLLM spend logs (JSON lines, with the cache split in
//! `metadata` and a failed, unbilled row now and then) or OpenRouter
//! generation records (JSON lines, joined through `upstream_id`).

use std::fmt::Write as _;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use crate::error::{Error, Result};
use crate::model::{Tier, Tokens};

/// The usage exports the simulator writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Export {
    /// tokenledger's canonical CSV (`usage.csv`).
    Canonical,
    /// LiteLLM spend logs as JSON lines (`spend-logs.jsonl`).
    Litellm,
    /// OpenRouter generation records as JSON lines (`generations.jsonl`).
    Openrouter,
}

/// One billed call, as the simulator knows it.
pub struct BilledCall<'a> {
    /// The provider's response id.
    pub id: &'a str,
    /// When the call ended (nanoseconds since the epoch).
    pub end_ns: i64,
    /// Provider as billed.
    pub provider: &'a str,
    /// Model as billed.
    pub model: &'a str,
    /// Model as requested (an alias).
    pub requested: &'a str,
    /// OpenRouter's slug for the model.
    pub openrouter: &'a str,
    /// Billed tokens.
    pub tokens: Tokens,
    /// Sent through a batch API.
    pub batch: bool,
    /// Reasoning tokens (a part of output).
    pub reasoning: u64,
    /// Web searches the call made.
    pub web_searches: u64,
    /// The service tier it was served in (batch is `batch`).
    pub tier: Tier,
    /// Its `inference_geo`, when not global.
    pub geo: Option<&'a str>,
    /// Its audio input and output tokens (parts of input and output).
    pub audio: (u64, u64),
    /// The cost at list price, for the sources that report one.
    pub cost: Option<Decimal>,
}

/// A usage file being written.
pub struct UsageExport {
    out: BufWriter<std::fs::File>,
    path: PathBuf,
    format: Export,
    rows: u64,
    /// LiteLLM's own request ids instead of the provider's.
    gateway_ids: bool,
    /// The canonical CSV's columns of the lines beyond tokens.
    charges: bool,
}

impl UsageExport {
    /// Create the export file in `dir`.
    pub fn create(
        dir: &Path,
        format: Export,
        gateway_ids: bool,
        charges: bool,
    ) -> Result<UsageExport> {
        let name = match format {
            Export::Canonical => "usage.csv",
            Export::Litellm => "spend-logs.jsonl",
            Export::Openrouter => "generations.jsonl",
        };
        let path = dir.join(name);
        let file = std::fs::File::create(&path).map_err(|e| Error::io(&path, e))?;
        let mut export = UsageExport {
            out: BufWriter::new(file),
            path,
            format,
            rows: 0,
            gateway_ids,
            charges,
        };
        if format == Export::Canonical {
            let extra = if charges {
                ",reasoning_tokens,web_search_requests,service_tier,inference_geo,audio_input_tokens,audio_output_tokens"
            } else {
                ""
            };
            writeln!(
                export.out,
                "request_id,timestamp,provider,model,uncached_input_tokens,cache_read_tokens,cache_write_5m_tokens,cache_write_1h_tokens,output_tokens,batch{extra}"
            )
            .map_err(|e| Error::io(&export.path, e))?;
        }
        Ok(export)
    }

    /// Write one billed call.
    pub fn write(&mut self, call: &BilledCall) -> std::io::Result<()> {
        self.rows += 1;
        let end = DateTime::<Utc>::from_timestamp_nanos(call.end_ns);
        let cost = call.cost.map_or("null".to_string(), |c| {
            c.round_dp(10).normalize().to_string()
        });
        match self.format {
            Export::Canonical => self.write_canonical(call, end),
            Export::Litellm => self.write_litellm(call, end, &cost),
            Export::Openrouter => self.write_openrouter(call, end, &cost),
        }
    }

    /// One call as a canonical CSV row.
    fn write_canonical(&mut self, call: &BilledCall, end: DateTime<Utc>) -> std::io::Result<()> {
        let [uncached, read, write_5m, write_1h, output] = call.tokens.counts();
        let extra = if self.charges {
            let searches = match call.web_searches {
                0 => String::new(),
                n => n.to_string(),
            };
            let (audio_in, audio_out) = call.audio;
            format!(
                ",{},{searches},{},{},{audio_in},{audio_out}",
                call.reasoning,
                call.tier.key(),
                call.geo.unwrap_or("")
            )
        } else {
            String::new()
        };
        writeln!(
            self.out,
            "{},{},{},{},{uncached},{read},{write_5m},{write_1h},{output},{}{extra}",
            call.id,
            end.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            call.provider,
            call.model,
            call.batch
        )
    }

    /// One call as a LiteLLM spend log (and, every 97th call, a failed
    /// attempt logged after it).
    fn write_litellm(
        &mut self,
        call: &BilledCall,
        end: DateTime<Utc>,
        cost: &str,
    ) -> std::io::Result<()> {
        let [_, read, write_5m, write_1h, output] = call.tokens.counts();
        // OpenAI-shaped: prompt_tokens includes every cached token.
        let prompt: u64 = call.tokens.counts()[..4].iter().sum();
        let usage = if call.provider == "anthropic" {
            format!(
                r#"{{"cache_read_input_tokens":{read},"cache_creation_input_tokens":{},"cache_creation":{{"ephemeral_5m_input_tokens":{write_5m},"ephemeral_1h_input_tokens":{write_1h}}}}}"#,
                write_5m + write_1h
            )
        } else {
            format!(r#"{{"prompt_tokens_details":{{"cached_tokens":{read}}}}}"#)
        };
        let provider = match call.provider {
            "google" => "vertex_ai",
            other => other,
        };
        let start = (end - chrono::Duration::milliseconds(800)).naive_utc();
        let own_id;
        let id = if self.gateway_ids {
            // LiteLLM's chatcmpl-<uuid>, derived from the provider's id.
            let h = call
                .id
                .bytes()
                .fold(0u64, |h, b| crate::hash::mix64(h ^ u64::from(b)));
            own_id = format!("chatcmpl-{:016x}{:016x}", crate::hash::mix64(h), h);
            own_id.as_str()
        } else {
            call.id
        };
        let mut line = format!(
            r#"{{"request_id":"{}","call_type":"acompletion","api_key":"88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4b","spend":{cost},"total_tokens":{},"prompt_tokens":{prompt},"completion_tokens":{output},"startTime":"{}","endTime":"{}","model":"{}","model_group":"{}","custom_llm_provider":"{provider}","team_id":null,"end_user":"","request_tags":[],"metadata":{{"additional_usage_values":{usage}}},"cache_hit":"False","status":"success"}}"#,
            id,
            prompt + output,
            start.format("%Y-%m-%dT%H:%M:%S%.6f"),
            end.naive_utc().format("%Y-%m-%dT%H:%M:%S%.6f"),
            call.model,
            call.requested,
        );
        // Every 97th call also logged a failed attempt, never billed.
        if self.rows.is_multiple_of(97) {
            let _ = write!(
                line,
                "\n{{\"request_id\":\"failed-{}\",\"call_type\":\"acompletion\",\"spend\":0.0,\"prompt_tokens\":0,\"completion_tokens\":0,\"startTime\":\"{}\",\"model\":\"{}\",\"custom_llm_provider\":\"{provider}\",\"metadata\":{{}},\"status\":\"failure\"}}",
                self.rows,
                start.format("%Y-%m-%dT%H:%M:%S%.6f"),
                call.model
            );
        }
        writeln!(self.out, "{line}")
    }

    /// One call as an OpenRouter generation record.
    fn write_openrouter(
        &mut self,
        call: &BilledCall,
        end: DateTime<Utc>,
        cost: &str,
    ) -> std::io::Result<()> {
        let [_, read, _, _, output] = call.tokens.counts();
        let provider_name = match call.provider {
            "anthropic" => "Anthropic",
            "openai" => "OpenAI",
            "google" => "Google",
            other => other,
        };
        let prompt = call.tokens.counts()[..4].iter().sum::<u64>();
        let generation: String = call
            .id
            .chars()
            .rev()
            .filter(char::is_ascii_alphanumeric)
            .take(24)
            .collect();
        writeln!(
            self.out,
            r#"{{"data":{{"id":"gen-{generation}","upstream_id":"{}","total_cost":{cost},"cache_discount":null,"upstream_inference_cost":{cost},"created_at":"{}","model":"{}","provider_name":"{provider_name}","streamed":true,"cancelled":false,"finish_reason":"stop","tokens_prompt":{prompt},"tokens_completion":{output},"native_tokens_prompt":{prompt},"native_tokens_completion":{output},"native_tokens_reasoning":0,"native_tokens_cached":{read},"is_byok":false,"latency":800}}}}"#,
            call.id,
            end.to_rfc3339_opts(chrono::SecondsFormat::Micros, false),
            call.openrouter,
        )
    }

    /// Flush the file.
    pub fn finish(&mut self) -> Result<()> {
        self.out.flush().map_err(|e| Error::io(&self.path, e))
    }
}
