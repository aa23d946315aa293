//! One span, whatever its dialect: the attribute keys the run looks for,
//! the [`Attributes`] a dialect reader exposes, and [`compact`], which
//! reduces a span to what attribution needs through the alias table of
//! [`super::semconv`]. The dialects ([`super::otlp`], [`super::jaeger`],
//! [`super::flat`]) build
//! on this; the driver ([`super::spans`]) builds on them.

use std::borrow::Cow;
use std::io::Read;
use std::path::Path;

use super::semconv::{self, CALL_OPERATIONS, NAME_PREFIXES, OPERATION_ALIASES, OPERATION_KINDS};
pub use super::span_ids::{parse_hex_id, Ids};
use crate::error::{Error, Result};
use crate::intern::Interner;
use crate::model::{bare_model, CallInfo, Origin, Role, Span, MAX_TOKENS};
use names::{agent_name, intern_name, tool_name};

mod names;

/// Which attribute keys carry the attribution dimensions.
#[derive(Clone, Debug)]
pub struct AttrKeys {
    /// Tenant keys, most preferred first (`--tenant-attr`).
    pub tenant: Vec<String>,
    /// Feature key (`--feature-attr`).
    pub feature: String,
    /// Span attributes holding the provider's request id (`--join-attr`),
    /// tried in order.
    pub join: Vec<String>,
    /// Root-span attribute naming the run's outcome (`--outcome-attr`).
    pub outcome: String,
    /// With `--shard`: only this shard's traces are kept; other spans are
    /// read and checked as any, then dropped.
    pub shard: Option<crate::model::Shard>,
}

/// The attribute numbering an agent's steps.
pub const STEP_ATTR: &str = "gen_ai.agent.step";

/// A scalar attribute value.
#[derive(Clone, Debug, PartialEq)]
pub enum Scalar<'a> {
    /// A string.
    Text(Cow<'a, str>),
    /// An integer.
    Int(i64),
    /// A floating-point number (never money: only ever read as a count).
    Float(f64),
    /// A boolean.
    Bool(bool),
}

impl<'a> Scalar<'a> {
    /// The value as text, for dimensions and ids: borrowed from the input
    /// where it was written as it reads; a double as its shortest decimal
    /// text that reads back as the same double (`42`, `1.5`), so a tenant
    /// exported as a `doubleValue` keeps its name rather than becoming
    /// `(none)`. A double past 2^53 (an integer id it cannot hold exactly),
    /// NaN or an infinity is no text: never a wrong id.
    pub(super) fn into_text(self) -> Option<Cow<'a, str>> {
        let text = match self {
            // Trimmed, as the usage labels are: `"acme "` is `acme`.
            Scalar::Text(Cow::Borrowed(s)) => Cow::Borrowed(s.trim()),
            Scalar::Text(Cow::Owned(s)) if s.trim().len() == s.len() => Cow::Owned(s),
            Scalar::Text(Cow::Owned(s)) => Cow::Owned(s.trim().to_string()),
            Scalar::Int(i) => Cow::Owned(i.to_string()),
            Scalar::Bool(b) => Cow::Owned(b.to_string()),
            Scalar::Float(f) if f.is_finite() && f.abs() < 9_007_199_254_740_992.0 => {
                Cow::Owned(f.to_string())
            }
            Scalar::Float(_) => return None,
        };
        (!text.is_empty()).then_some(text)
    }

    /// Whether it is text, a boolean or a finite number.
    fn is_number_or_text(&self) -> bool {
        !matches!(self, Scalar::Float(f) if !f.is_finite())
    }

    /// The value as a token count.
    fn count(&self) -> Option<u64> {
        match self {
            Scalar::Int(i) => u64::try_from(*i).ok(),
            Scalar::Text(s) => s.parse().ok(),
            Scalar::Float(f) => crate::model::whole_tokens(*f),
            _ => None,
        }
    }
}

impl std::fmt::Display for Scalar<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Scalar::Text(s) => write!(f, "\"{s}\""),
            Scalar::Int(i) => write!(f, "{i}"),
            Scalar::Float(x) => write!(f, "{x}"),
            Scalar::Bool(b) => write!(f, "{b}"),
        }
    }
}

/// Attributes read for a name or an id inside free text (a message, a
/// call's output): a string of them that is no text (a JavaScript
/// instrumentation cut it inside an emoji) is taken as absent, not as the
/// span's error, as the span's identity attributes are.
pub const FREE_TEXT_KEYS: [&str; 3] = ["output.value", "input.value", "logfire.msg"];

/// A span's attributes (its resource's included), by key.
pub trait Attributes {
    /// The scalar value under exactly `key`, if any.
    fn value(&self, key: &str) -> Option<Scalar<'_>>;

    /// The text under `key` or one of its aliases.
    fn text(&self, key: &str) -> Option<Cow<'_, str>> {
        semconv::names(key).find_map(|k| self.value(k).and_then(Scalar::into_text))
    }

    /// The count under `key` or one of its aliases.
    fn count(&self, key: &str) -> Option<u64> {
        semconv::names(key).find_map(|k| self.value(k).and_then(|v| v.count()))
    }

    /// [`Attributes::count`], for a call's token counts: where no name
    /// holds a count but one holds something else (negative, fractional,
    /// text, over [`MAX_TOKENS`]; NaN is none given), what is wrong with
    /// it. A count read wrong would mislead the fingerprint join and the
    /// unbilled report.
    fn token_count(&self, key: &str) -> std::result::Result<Option<u64>, String> {
        let mut bad = None;
        for name in semconv::names(key) {
            // NaN or an infinity is no count given (the Vercel AI SDK records
            // NaN where a provider reports none), not a bad one.
            let Some(value) = self.value(name).filter(|v| v.is_number_or_text()) else {
                continue;
            };
            match value.count() {
                Some(n) if n <= MAX_TOKENS => return Ok(Some(n)),
                _ => bad = bad.or(Some((name, value.to_string()))),
            }
        }
        match bad {
            None => Ok(None),
            Some((name, value)) => Err(format!(
                "{name}: expected a whole non-negative number of tokens, got {value}"
            )),
        }
    }
}

/// The span's GenAI operation: `gen_ai.operation.name`, else another
/// library's span kind, else a span-name prefix of [`NAME_PREFIXES`], else
/// the first word of the span name.
fn operation<'n>(attrs: &dyn Attributes, name: &str, name_op: &'n str) -> Cow<'n, str> {
    if let Some(op) = attrs.text("gen_ai.operation.name") {
        let alias = OPERATION_ALIASES
            .iter()
            .find(|(other, _)| op.eq_ignore_ascii_case(other));
        return alias.map_or_else(|| Cow::Owned(op.into_owned()), |(_, op)| Cow::Borrowed(*op));
    }
    OPERATION_KINDS
        .iter()
        .find(|(key, value, _)| {
            attrs
                .value(key)
                .and_then(|v| v.into_text().map(|t| t.eq_ignore_ascii_case(value)))
                == Some(true)
        })
        .map(|(_, _, op)| *op)
        .or_else(|| {
            NAME_PREFIXES
                .iter()
                .find(|(prefix, _)| name.starts_with(prefix))
                .map(|(_, op)| *op)
        })
        .map_or(Cow::Borrowed(name_op), Cow::Borrowed)
}

/// A response id kept only inside OpenInference's `output.value` (the
/// provider's response as JSON): its top-level `id`.
fn id_in_output(attrs: &dyn Attributes) -> Option<String> {
    let json = attrs.text("output.mime_type")?;
    if !json.eq_ignore_ascii_case("application/json") {
        return None;
    }
    let output = attrs.text("output.value")?;
    #[derive(serde::Deserialize)]
    struct Response {
        id: Option<String>,
    }
    serde_json::from_str::<Response>(&output)
        .ok()?
        .id
        .filter(|id| !id.is_empty())
}

/// Reduce one span to what attribution needs; `None` for a span of another
/// shard's trace (checked as any).
pub fn compact(
    name: &str,
    ids: Ids,
    attrs: &dyn Attributes,
    origin: Origin,
    keys: &AttrKeys,
    interner: &mut Interner,
) -> std::result::Result<Option<Span>, String> {
    let (trace_id, span_id, parent_id) = ids.parse(name)?;
    // A span of another shard's trace is read whole all the same, so every
    // shard meets what one run would refuse in it (a call's token counts,
    // an attribute given twice) and the first shard counts it; the names
    // it interned are forgotten.
    let ids = (trace_id, span_id, parent_id, ids.start_ns);
    if keys.shard.is_some_and(|shard| !shard.owns(trace_id)) {
        let mark = interner.mark();
        let read = span_of(name, ids, attrs, origin, keys, interner);
        interner.forget_since(mark);
        return read.map(|_| None);
    }
    span_of(name, ids, attrs, origin, keys, interner).map(Some)
}

/// The compact span of `name` with its parsed ids and start.
fn span_of(
    name: &str,
    (trace_id, span_id, parent_id, start_ns): (u128, u64, u64, u64),
    attrs: &dyn Attributes,
    origin: Origin,
    keys: &AttrKeys,
    interner: &mut Interner,
) -> std::result::Result<Span, String> {
    // Logfire writes its message template as the span name (`Agent run:
    // {name!r}`); the formatted message is `logfire.msg`.
    let formatted = name
        .contains('{')
        .then(|| attrs.text("logfire.msg"))
        .flatten();
    let name = formatted.as_deref().unwrap_or(name);
    let name_op = name.split_once(' ').map_or(name, |(op, _)| op);
    let op = operation(attrs, name, name_op);
    let (role, read_as_call, join_key) = role_of(attrs, &op, &keys.join);
    // Names taken from a span's name are trimmed as attributes are.
    let agent = (role == Role::Agent).then(|| agent_name(attrs, name, &op));
    let agent = intern_name(agent.flatten(), "the agent's name", interner)?;
    let tool = (role == Role::Tool).then(|| tool_name(attrs, name, &op));
    let tool = intern_name(tool.flatten(), "the tool's name", interner)?;
    let mut tenant = None;
    for (rank, key) in keys.tenant.iter().enumerate() {
        if let Some(value) = intern_name(attrs.text(key), key, interner)? {
            tenant = Some((rank as u8, value));
            break;
        }
    }
    let feature = intern_name(attrs.text(&keys.feature), &keys.feature, interner)?;
    let call = read_as_call.then(|| {
        let join_key = join_key.map(|k| k.into());
        let facts = (interner.intern(name), join_key, start_ns);
        call_info(attrs, &op, facts, interner).map_err(|bad| format!("span \"{name}\": {bad}"))
    });
    let call = call.transpose()?;
    let outcome = if parent_id == 0 {
        attrs.text(&keys.outcome).map(|v| interner.intern(&v))
    } else {
        None
    };
    Ok(Span {
        trace_id,
        span_id,
        parent_id,
        role,
        agent,
        tool,
        tenant,
        feature,
        outcome,
        call,
        origin,
    })
}

/// A span's role, whether it is read as a call (a model call, or an
/// agent span with usage of its own: a call where no inference span is
/// below it, which the tree decides), and then its join id. Only such a
/// span's id joins: an id on any other span (an AWS API call's
/// `aws.request_id`, an ADK event id in `output.value`) is no billed
/// request's.
fn role_of<'a>(
    attrs: &'a dyn Attributes,
    op: &str,
    join: &[String],
) -> (Role, bool, Option<Cow<'a, str>>) {
    let is_call = is_model_call(attrs, op);
    let role = match op {
        "invoke_agent" => Role::Agent,
        "execute_tool" => Role::Tool,
        // A span of no operation that names an agent, with a model and
        // usage (its run's sums), is that agent's.
        _ if is_call && !CALL_OPERATIONS.contains(&op) && names_agent(attrs) => Role::Agent,
        _ if is_call => Role::Call,
        // A span that names a tool or an agent is one, whatever else it is.
        _ if attrs.text("gen_ai.tool.name").is_some() => Role::Tool,
        _ if names_agent(attrs) => Role::Agent,
        _ if join.iter().any(|k| attrs.text(k).is_some()) => Role::IdOnly,
        _ => Role::Other,
    };
    let read_as_call = role == Role::Call || (role == Role::Agent && has_usage(attrs));
    let join_key = read_as_call
        .then(|| {
            join.iter()
                .find_map(|k| attrs.text(k))
                .or_else(|| id_in_output(attrs).map(Cow::Owned))
        })
        .flatten();
    (role, read_as_call, join_key)
}

fn names_agent(attrs: &dyn Attributes) -> bool {
    attrs.text("gen_ai.agent.name").is_some()
}

/// Whether a span states a model and its input and output counts.
fn has_usage(attrs: &dyn Attributes) -> bool {
    model_of(attrs).is_some()
        && attrs.count("gen_ai.usage.input_tokens").is_some()
        && attrs.count("gen_ai.usage.output_tokens").is_some()
}

/// What a call span of operation `op` says of its call: model, token
/// counts, step.
fn call_info(
    attrs: &dyn Attributes,
    op: &str,
    (name, join_key, start_ns): (crate::intern::Sym, Option<Box<str>>, u64),
    interner: &mut Interner,
) -> std::result::Result<Box<CallInfo>, String> {
    let model = model_of(attrs);
    let input = attrs.token_count("gen_ai.usage.input_tokens")?;
    let cached = attrs
        .token_count("gen_ai.usage.cache_read.input_tokens")?
        .unwrap_or(0)
        + attrs
            .token_count("gen_ai.usage.cache_write.input_tokens")?
            .unwrap_or(0);
    let input = input.map(|n| input_with_cached(attrs, model.as_deref(), n, cached));
    let (output, reasoning) = output_tokens(attrs, model.as_deref(), input)?;
    // An embeddings call outputs vectors, not tokens: the conventions (and
    // OpenLLMetry, Vercel's `ai.usage.tokens`, Spring AI) count its input
    // alone, and its billed record counts 0 output.
    let output = match op {
        "embeddings" if input.is_some() => output.or(Some(0)),
        _ => output,
    };
    Ok(Box::new(CallInfo {
        join_key,
        name,
        model: model.map(|m| interner.intern(bare_model(&m))),
        input_tokens: input,
        output_tokens: output,
        reasoning_tokens: reasoning,
        start_ns,
        step: attrs.count(STEP_ATTR).and_then(|s| u32::try_from(s).ok()),
    }))
}

/// The model a span names: its response model, else its request model; a
/// library's placeholder for none (Spring AI writes `none`) is none.
fn model_of<'a>(attrs: &'a dyn Attributes) -> Option<Cow<'a, str>> {
    ["gen_ai.response.model", "gen_ai.request.model"]
        .into_iter()
        .filter_map(|k| attrs.text(k))
        .find(|m| !m.eq_ignore_ascii_case("none"))
}

/// Whether a span is a model call: its operation says so (GenAI `chat`,
/// `text_completion`, `generate_content`, `embeddings`, or another
/// library's kind or AWS SDK method that means one), or, where no
/// operation is named at all, it names a model and counts its tokens.
fn is_model_call(attrs: &dyn Attributes, op: &str) -> bool {
    if CALL_OPERATIONS.contains(&op) {
        return true;
    }
    let named_op = attrs.text("gen_ai.operation.name").is_some()
        || OPERATION_KINDS
            .iter()
            .any(|(key, _, _)| attrs.value(key).is_some());
    !named_op && has_usage(attrs)
}

/// Read the rest of `reader` after `head` as text.
pub fn rest_of(path: &Path, mut reader: impl Read, mut head: Vec<u8>) -> Result<String> {
    reader
        .read_to_end(&mut head)
        .map_err(|e| Error::io(path, e))?;
    String::from_utf8(head).map_err(|e| {
        Error::fatal(format!(
            "{}: invalid UTF-8 at byte {}",
            path.display(),
            e.utf8_error().valid_up_to()
        ))
    })
}

/// The span's total token count, where it states one.
fn total_tokens(attrs: &dyn Attributes) -> Option<u64> {
    ["llm.token_count.total", "gen_ai.usage.total_tokens"]
        .into_iter()
        .find_map(|k| attrs.value(k).and_then(|v| v.count()))
}

/// The input count with the cached tokens in it. The conventions count
/// them inside `input_tokens`; some emitters report Anthropic's or
/// Bedrock's input, which excludes them (Strands writes Converse's
/// `inputTokens`). Cached tokens beyond the input count give that away,
/// and so does a total that counts them beside the input and output
/// (Converse's `totalTokens`; not a Gemini call's, whose total may hold
/// thinking tokens).
fn input_with_cached(attrs: &dyn Attributes, model: Option<&str>, input: u64, cached: u64) -> u64 {
    if cached == 0 {
        return input;
    }
    let output = [
        "gen_ai.usage.output_tokens",
        "gen_ai.usage.completion_tokens",
    ]
    .into_iter()
    .find_map(|k| attrs.value(k).and_then(|v| v.count()));
    let total_counts_cached = !is_gemini(model)
        && output.is_some_and(|o| total_tokens(attrs) == Some(input + cached + o));
    if cached > input || total_counts_cached {
        input + cached
    } else {
        input
    }
}

/// Whether a span's model is a Gemini model (its total may hold thinking
/// tokens no other count has).
fn is_gemini(model: Option<&str>) -> bool {
    model.is_some_and(|m| m.to_ascii_lowercase().contains("gemini"))
}

/// An output count that is the span's total while another output count
/// beside it makes the total with the input (google-adk 1.8 writes
/// `gen_ai.usage.output_tokens` = `total_token_count`, OpenInference's
/// `llm.token_count.completion` right beside it) is the total: the other
/// one is the output.
fn output_not_total(
    attrs: &dyn Attributes,
    output: Option<u64>,
    input: Option<u64>,
) -> Option<u64> {
    let completion = [
        "llm.token_count.completion",
        "gen_ai.usage.completion_tokens",
    ]
    .into_iter()
    .find_map(|k| attrs.value(k).and_then(|v| v.count()));
    match (output, completion, total_tokens(attrs), input) {
        (Some(o), Some(c), Some(t), Some(i)) if o == t && c != o && c + i == t => Some(c),
        _ => output,
    }
}

/// Gemini's thinking tokens where an instrumentation counts them nowhere
/// but in the total (OpenInference's Vertex AI and older google-genai
/// instrumentations: completion = candidates only): the total's excess
/// over prompt and completion is billed as output, and is the reasoning.
fn thinking_gap(
    attrs: &dyn Attributes,
    model: Option<&str>,
    (input, output, reasoning): (Option<u64>, Option<u64>, Option<u64>),
) -> (Option<u64>, Option<u64>) {
    match (
        is_gemini(model),
        reasoning,
        input,
        output,
        total_tokens(attrs),
    ) {
        (true, None, Some(i), Some(o), Some(t)) if t > i + o => (Some(t - i), Some(t - i - o)),
        _ => (output, reasoning),
    }
}

/// The ADK attribute holding the model's raw response, with Gemini's
/// `usage_metadata`.
const ADK_RESPONSE: &str = "gcp.vertex.agent.llm_response";

/// A call's output and reasoning tokens. Gemini bills thinking tokens as
/// output but counts them apart (`thoughts_token_count` is not part of
/// `candidates_token_count`): where ADK's raw response shows an output
/// count that leaves them out, they are added, so the span counts what is
/// billed.
fn output_tokens(
    attrs: &dyn Attributes,
    model: Option<&str>,
    input: Option<u64>,
) -> std::result::Result<(Option<u64>, Option<u64>), String> {
    let output = attrs.token_count("gen_ai.usage.output_tokens")?;
    let output = output_not_total(attrs, output, input);
    let reasoning = attrs.token_count("gen_ai.usage.reasoning.output_tokens")?;
    let Some(response) = attrs.text(ADK_RESPONSE) else {
        return Ok(thinking_gap(attrs, model, (input, output, reasoning)));
    };
    let Ok(response) = serde_json::from_str::<serde_json::Value>(&response) else {
        return Ok((output, reasoning));
    };
    let usage = &response["usage_metadata"];
    let field = |snake: &str, camel: &str| usage[snake].as_u64().or_else(|| usage[camel].as_u64());
    let thoughts = field("thoughts_token_count", "thoughtsTokenCount");
    let candidates = field("candidates_token_count", "candidatesTokenCount");
    Ok(match (output, thoughts) {
        (Some(n), Some(t)) if t > 0 && candidates == Some(n) => (Some(n + t), Some(t)),
        (_, Some(t)) if t > 0 => (output, reasoning.or(Some(t))),
        _ => (output, reasoning),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Names are read trimmed, as the usage labels are: a span's `"acme "`
    /// and a gateway's `acme` are one tenant; blank is no value.
    #[test]
    fn span_text_is_read_trimmed() {
        let text = |s: Scalar| s.into_text().map(Cow::into_owned);
        assert_eq!(
            text(Scalar::Text(Cow::Borrowed(" acme\u{a0}"))).as_deref(),
            Some("acme")
        );
        assert_eq!(
            text(Scalar::Text(Cow::Owned("acme\n".into()))).as_deref(),
            Some("acme")
        );
        assert_eq!(text(Scalar::Text(Cow::Borrowed("   "))), None);
    }
}
