//! The record shapes that flow between pipeline stages. Every reader
//! normalises its format into these, so later stages never see a format.

use rust_decimal::Decimal;

use crate::intern::{LabelSet, Renumbered, Sym};

mod costs;
mod ids;
mod refs;
mod time;
mod tokens;

pub use costs::Costs;
pub use ids::{RequestIds, MAX_ID_BYTES};
pub use refs::Refs;
pub use time::{unix_nanos, unix_seconds, Timestamp, UNIX_SECONDS};
pub use tokens::{whole_tokens, Tokens, MAX_TOKENS};

/// The five billable token types, in report column order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TokenType {
    /// Input tokens that were neither read from nor written to a cache.
    Input,
    /// Input tokens read from the prompt cache.
    CacheRead,
    /// Input tokens written to a cache with a 5-minute lifetime.
    CacheWrite5m,
    /// Input tokens written to a cache with a 1-hour lifetime.
    CacheWrite1h,
    /// Output tokens, reasoning included.
    Output,
}

impl TokenType {
    /// Every token type, in column order.
    pub const ALL: [TokenType; 5] = [
        TokenType::Input,
        TokenType::CacheRead,
        TokenType::CacheWrite5m,
        TokenType::CacheWrite1h,
        TokenType::Output,
    ];

    /// Position in [`TokenType::ALL`] and in per-type arrays.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The name used in `pricing.toml` and `summary.json`.
    pub fn key(self) -> &'static str {
        match self {
            TokenType::Input => "input",
            TokenType::CacheRead => "cache_read",
            TokenType::CacheWrite5m => "cache_write_5m",
            TokenType::CacheWrite1h => "cache_write_1h",
            TokenType::Output => "output",
        }
    }

    /// The CSV column holding this type's token count (usage input and reports).
    pub fn tokens_column(self) -> &'static str {
        match self {
            TokenType::Input => "uncached_input_tokens",
            TokenType::CacheRead => "cache_read_tokens",
            TokenType::CacheWrite5m => "cache_write_5m_tokens",
            TokenType::CacheWrite1h => "cache_write_1h_tokens",
            TokenType::Output => "output_tokens",
        }
    }
}

/// A model id as billed, without a provider prefix or a resource path:
/// `anthropic/claude-sonnet-4` (gateways),
/// `projects/p/locations/l/publishers/google/models/gemini-2.0-flash`
/// (Vertex AI) → the last segment. The one place model names lose their
/// path.
pub fn bare_model(model: &str) -> &str {
    model.rsplit_once('/').map_or(model, |(_, m)| m).trim()
}

/// A model id without a Bedrock `:N` version (`anthropic.claude-3-haiku-
/// 20240307-v1:0` → `…-v1`), as Bedrock's invocation logs and bills are
/// read: the names a span and a record give one model then meet.
pub fn without_version(model: &str) -> &str {
    match model.rsplit_once(':') {
        Some((name, version))
            if !name.is_empty()
                && !version.is_empty()
                && version.bytes().all(|b| b.is_ascii_digit()) =>
        {
            name
        }
        _ => model,
    }
}

/// The column of reasoning tokens (a part of `output_tokens`), beside it in
/// usage inputs and reports.
pub const REASONING_COLUMN: &str = "reasoning_tokens";

/// Tokens of a modality priced apart: parts of the input or output count.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Modality {
    /// Audio input tokens.
    AudioInput,
    /// Audio output tokens.
    AudioOutput,
    /// Image input tokens.
    ImageInput,
    /// Image output tokens.
    ImageOutput,
}

impl Modality {
    /// Every modality, in column order.
    pub const ALL: [Modality; 4] = [
        Modality::AudioInput,
        Modality::AudioOutput,
        Modality::ImageInput,
        Modality::ImageOutput,
    ];

    /// The rate's key in `pricing.toml` and the charge in `ledger.csv`.
    pub fn key(self) -> &'static str {
        match self {
            Modality::AudioInput => "input_audio",
            Modality::AudioOutput => "output_audio",
            Modality::ImageInput => "input_image",
            Modality::ImageOutput => "output_image",
        }
    }

    /// The usage and report column counting these tokens.
    pub fn column(self) -> &'static str {
        match self {
            Modality::AudioInput => "audio_input_tokens",
            Modality::AudioOutput => "audio_output_tokens",
            Modality::ImageInput => "image_input_tokens",
            Modality::ImageOutput => "image_output_tokens",
        }
    }

    /// The count these tokens are a part of: uncached input or output.
    pub fn part_of(self) -> TokenType {
        match self {
            Modality::AudioInput | Modality::ImageInput => TokenType::Input,
            Modality::AudioOutput | Modality::ImageOutput => TokenType::Output,
        }
    }

    /// Position in [`Modality::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

/// Exact cost of one request or group, in USD: per token type, and the
/// per-request fees (web searches, …).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cost {
    /// Per token type, indexed by [`TokenType::index`].
    pub tokens: [Decimal; 5],
    /// Per-request charges (`[model.requests]`), all together.
    pub fees: Decimal,
}

impl Cost {
    /// A cost of tokens only.
    pub fn of_tokens(tokens: [Decimal; 5]) -> Cost {
        Cost {
            tokens,
            fees: Decimal::ZERO,
        }
    }

    /// The cost of all token types and fees together.
    pub fn total(&self) -> Decimal {
        self.tokens.iter().sum::<Decimal>() + self.fees
    }
}

impl std::ops::AddAssign for Cost {
    fn add_assign(&mut self, other: Cost) {
        for (a, b) in self.tokens.iter_mut().zip(other.tokens) {
            *a += b;
        }
        self.fees += other.fees;
    }
}

/// The suffix of a usage column counting a per-request charge
/// (`web_search_requests`: the charge `web_search`).
pub const REQUESTS_SUFFIX: &str = "_requests";

/// What a per-request charge's free requests are called:
/// `web_search_free`, priced at 0 by an entry with an allowance for
/// `web_search`; made by the table's allowance, never read from usage.
pub const FREE_SUFFIX: &str = "_free";

/// The service tier a request was served in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tier {
    /// The standard, synchronous tier.
    #[default]
    Standard,
    /// A batch API.
    Batch,
    /// OpenAI's flex processing: cheaper, slower.
    Flex,
    /// Priority processing: dearer, faster.
    Priority,
}

impl Tier {
    /// Every tier, in column order.
    pub const ALL: [Tier; 4] = [Tier::Standard, Tier::Batch, Tier::Flex, Tier::Priority];

    /// The name in `service_tier` columns and `[model.tiers.<name>]`.
    pub fn key(self) -> &'static str {
        match self {
            Tier::Standard => "standard",
            Tier::Batch => "batch",
            Tier::Flex => "flex",
            Tier::Priority => "priority",
        }
    }

    /// The tier called `name` (case-insensitive).
    pub fn parse(name: &str) -> Option<Tier> {
        Tier::ALL
            .into_iter()
            .find(|t| t.key().eq_ignore_ascii_case(name))
    }
}

/// The region of unconfined requests, in `inference_geo` columns.
pub const GLOBAL: &str = "global";

/// How a request was served, beyond its model and tokens: what its rate
/// depends on. Packed to 6 bytes (a record holds one: 80 bytes, not 88);
/// read its fields by value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[repr(C, packed(2))]
pub struct Service {
    /// The region it was confined to (`inference_geo`); `None` is `global`.
    pub geo: Option<Sym>,
    /// The service tier.
    pub tier: Tier,
    /// Whether it ran in a fast mode (`speed = fast`).
    pub fast: bool,
}

/// Where a record came from: an index into the run's input file list and a
/// 1-based line number. Packed to 12 bytes (a `Call` holds one: 80 bytes,
/// not 96, over millions of calls); read its fields by value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C, packed(4))]
pub struct Origin {
    /// Index into the list of input files.
    pub file: u32,
    /// 1-based line (or row) number.
    pub line: u64,
}

/// A month's billed records and, apart, their request ids (in the same
/// order).
pub type Billed<'a> = (&'a [UsageRecord], &'a RequestIds);

/// A billed request as a reader gives it: its request id and its record.
#[derive(Clone, Debug, PartialEq)]
pub struct BilledRequest {
    /// The provider's request/response id, the join key (held apart from
    /// the record once read: [`RequestIds`]).
    pub request_id: Box<str>,
    /// The rest of the request.
    pub record: UsageRecord,
}

/// One billed request, normalised from any usage source. Tokens and money
/// always come from here, never from spans. Its request id is held apart
/// ([`RequestIds`], in the same order as the records).
#[derive(Clone, Debug, PartialEq)]
pub struct UsageRecord {
    /// When the request was billed (UTC).
    pub timestamp: Timestamp,
    /// Provider as billed (`anthropic`, `openai`, …).
    pub provider: Sym,
    /// Model name as billed, often a dated snapshot.
    pub model: Sym,
    /// Billed token counts, input split into uncached, cache read and
    /// writes, and the reasoning (thinking) tokens: a part of the output
    /// count, billed as output, shown apart.
    pub tokens: Tokens,
    /// The service tier, region and speed it was billed at.
    pub service: Service,
    /// A tenant hint from the usage source (a gateway's team, end user or
    /// tag), listed for records that join no span.
    pub tenant_hint: Option<Sym>,
    /// The source's owner-like fields (a gateway's team and key, the
    /// caller's IAM identity, request metadata): (name, value), sorted by
    /// name, for allocation rules, interned ([`crate::intern::Interner::labels`] gives
    /// them). Empty for most sources.
    pub labels: LabelSet,
    /// Where the record was read.
    pub origin: Origin,
    /// Its rarer parts, behind one pointer: `None` for most records
    /// (set with [`Rare::boxed`]).
    pub rare: Option<Box<Rare>>,
}

/// A usage record's rarer parts, held out of line: a month holds millions
/// of records, most with none of them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rare {
    /// Another id the same request is known by (OpenRouter's `upstream_id`,
    /// Bedrock's `requestId`): a span carrying it joins too.
    pub alt_request_id: Option<Box<str>>,
    /// Per-request charges: (charge name, count), sorted by name, e.g.
    /// (`web_search`, 3).
    pub requests: Box<[(Sym, u64)]>,
    /// Audio and image tokens priced apart, parts of the uncached input or
    /// output counts: (modality, count), in [`Modality::ALL`] order.
    pub modalities: Box<[(Modality, u64)]>,
    /// The cost the source itself reported, kept for comparison only.
    pub reported_cost_usd: Option<rust_decimal::Decimal>,
}

impl Rare {
    /// Boxed, or `None` when it holds nothing.
    pub fn boxed(self) -> Option<Box<Rare>> {
        (self != Rare::default()).then(|| Box::new(self))
    }
}

impl UsageRecord {
    /// Its names and labels renumbered by `renumbered` (another
    /// interner's, absorbed).
    pub fn remap(&mut self, renumbered: &Renumbered) {
        let map = &renumbered.syms;
        self.provider = self.provider.remap(map);
        self.model = self.model.remap(map);
        self.service.geo = self.service.geo.map(|g| g.remap(map));
        self.tenant_hint = self.tenant_hint.map(|t| t.remap(map));
        self.labels = self.labels.remap(renumbered);
        if let Some(rare) = &mut self.rare {
            for (charge, _) in rare.requests.iter_mut() {
                *charge = charge.remap(map);
            }
        }
    }

    /// Another id the same request is known by.
    pub fn alt_request_id(&self) -> Option<&str> {
        self.rare.as_ref()?.alt_request_id.as_deref()
    }

    /// Every id the request is known by: its request id (`id`, from its
    /// [`RequestIds`]), then its alternative id if it has one.
    pub fn ids<'a>(&'a self, id: &'a str) -> impl Iterator<Item = &'a str> + Clone {
        std::iter::once(id).chain(self.alt_request_id())
    }

    /// Per-request charges: (charge name, count), sorted by name; empty for
    /// most records.
    pub fn requests(&self) -> &[(Sym, u64)] {
        self.rare.as_ref().map_or(&[], |r| &r.requests)
    }

    /// Audio and image tokens priced apart: (modality, count), in
    /// [`Modality::ALL`] order; empty for most records.
    pub fn modalities(&self) -> &[(Modality, u64)] {
        self.rare.as_ref().map_or(&[], |r| &r.modalities)
    }

    /// The cost the source itself reported, kept for comparison only.
    pub fn reported_cost_usd(&self) -> Option<rust_decimal::Decimal> {
        self.rare.as_ref()?.reported_cost_usd
    }

    /// Replace the per-request charges (free allowances take counts off).
    pub fn set_requests(&mut self, requests: Box<[(Sym, u64)]>) {
        let mut rare = self.rare.take().map_or_else(Rare::default, |r| *r);
        rare.requests = requests;
        self.rare = rare.boxed();
    }
}

/// What a span is for attribution purposes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// An `invoke_agent` span: names the agent of everything below it.
    Agent,
    /// An `execute_tool` span: names the tool of everything below it.
    Tool,
    /// An inference call: the thing that is billed.
    Call,
    /// Any other span: only passes identity down.
    Other,
    /// A span that carries a join attribute (`--join-attr`) but is no
    /// model call (an AWS API call's `aws.request_id`): passes identity
    /// down, and is counted, never joined.
    IdOnly,
}

/// What an inference span itself says about its call, kept only for calls:
/// the join key and the span's own token report (listed when unbilled).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallInfo {
    /// The join attribute's value (`gen_ai.response.id` by default).
    pub join_key: Option<Box<str>>,
    /// The span name, for the unbilled listing.
    pub name: Sym,
    /// `gen_ai.response.model`, else `gen_ai.request.model`.
    pub model: Option<Sym>,
    /// `gen_ai.usage.input_tokens` as the span reported it.
    pub input_tokens: Option<u64>,
    /// `gen_ai.usage.output_tokens` as the span reported it.
    pub output_tokens: Option<u64>,
    /// `gen_ai.usage.reasoning.output_tokens` as the span reported it.
    pub reasoning_tokens: Option<u64>,
    /// The span's start, in nanoseconds since the Unix epoch (0 when the
    /// span gave none): orders the calls of one agent invocation.
    pub start_ns: u64,
    /// `gen_ai.agent.step`, when the span numbers its own step.
    pub step: Option<u32>,
}

/// A span reduced to what attribution needs. Ids are integers; strings that
/// repeat are interned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Span {
    /// Trace id (128 bits).
    pub trace_id: u128,
    /// Span id (64 bits, never 0).
    pub span_id: u64,
    /// Parent span id; 0 for a root.
    pub parent_id: u64,
    /// What the span is for attribution.
    pub role: Role,
    /// The agent name, on [`Role::Agent`] spans.
    pub agent: Option<Sym>,
    /// The tool name, on [`Role::Tool`] spans.
    pub tool: Option<Sym>,
    /// The tenant found on this span: the value and the rank of the
    /// `--tenant-attr` key it came from (0 = most preferred).
    pub tenant: Option<(u8, Sym)>,
    /// The feature found on this span.
    pub feature: Option<Sym>,
    /// The run's outcome (`--outcome-attr`), read on root spans only.
    pub outcome: Option<Sym>,
    /// Present on [`Role::Call`] spans only.
    pub call: Option<Box<CallInfo>>,
    /// Where the span was read.
    pub origin: Origin,
}

impl Span {
    /// Rewrite the span's symbols into the interner that absorbed its own.
    pub fn remap(&mut self, map: &[Sym]) {
        let remap = |s: &mut Option<Sym>| *s = s.map(|s| s.remap(map));
        remap(&mut self.agent);
        remap(&mut self.tool);
        remap(&mut self.feature);
        remap(&mut self.outcome);
        if let Some((_, tenant)) = &mut self.tenant {
            *tenant = tenant.remap(map);
        }
        if let Some(call) = &mut self.call {
            remap(&mut call.model);
            call.name = call.name.remap(map);
        }
    }
}

/// Shard `index` of `count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Shard {
    /// 0-based.
    pub index: u32,
    /// How many shards the month is split into.
    pub count: u32,
}

impl Shard {
    /// Parse `I/N` with 0 ≤ I < N.
    pub fn parse(text: &str) -> std::result::Result<Shard, String> {
        let bad = || format!("expected I/N with 0 <= I < N (e.g. 0/4), got \"{text}\"");
        let (i, n) = text.split_once('/').ok_or_else(bad)?;
        let (index, count) = (i.parse().map_err(|_| bad())?, n.parse().map_err(|_| bad())?);
        if index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    /// Whether the trace belongs to this shard: a mix of its id's bits
    /// (SplitMix64's finaliser), modulo the shard count.
    pub fn owns(&self, trace: u128) -> bool {
        Shard::index_of(trace, self.count) == self.index
    }

    /// The shard of `count` the trace belongs to (what [`Shard::owns`]
    /// tests): SplitMix64's finaliser of the id's two halves XORed, modulo
    /// `count`.
    pub fn index_of(trace: u128, count: u32) -> u32 {
        (crate::hash::trace_hash(trace) % u64::from(count)) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_counts_come_back_up_to_the_most_a_record_holds() {
        let counts = [0, 1, MAX_TOKENS, 255, (1 << 32) + 7];
        let tokens = Tokens::new(counts).expect("within range");
        assert_eq!(tokens.counts(), counts);
        assert_eq!(tokens.get(TokenType::CacheRead), 1);
        assert_eq!(tokens.prompt(), 1 + MAX_TOKENS + 255);
        assert_eq!(Tokens::new([0, 0, 0, MAX_TOKENS + 1, 0]), None);
        assert_eq!(Tokens::default().counts(), [0; 5]);
    }
}
