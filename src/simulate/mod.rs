//! A deterministic fleet simulator: a month of agent runs written as OTLP
//! JSON lines (as the Collector's file exporter writes them) plus the
//! canonical usage CSV that billing would hold for the same calls.
//!
//! The same seed and sizes always give the same bytes. It produces the
//! shapes the pipeline must handle: identity on the root, usage on `chat`
//! children, tools that invoke sub-agents, spans exported children-first and
//! split across lines and files, prompt caching with 5-minute and 1-hour
//! writes, long-context requests, batch requests, billed calls whose spans
//! were lost, calls never billed, and runs that began the month before.

use std::fmt::Write as _;
use std::io::{BufWriter, Write};
use std::path::Path;

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};

use crate::error::{Error, Result};
use crate::model::{Modality, Tier, TokenType, Tokens};
use crate::price::{PriceTable, Qualifiers};

mod export;
mod invoices;

pub use export::Export;

/// What to generate.
#[derive(Clone, Debug)]
pub struct Config {
    /// Agent runs (traces) in the month (with `changes`, plus one for each
    /// `acme-corp` run).
    pub runs: u64,
    /// PRNG seed.
    pub seed: u64,
    /// The UTC month: (year, month).
    pub month: (i32, u32),
    /// How many span files to spread the export over.
    pub span_files: u32,
    /// Typical size of the `gen_ai.input.messages` / `gen_ai.output.messages`
    /// strings on inference spans (0 leaves them out).
    pub message_bytes: usize,
    /// How the billed usage is exported.
    pub usage_format: Export,
    /// No batch requests and no cache writes: usage that every gateway
    /// export can carry (OpenRouter records have neither).
    pub plain: bool,
    /// Percent of inference spans exported without `gen_ai.response.id`
    /// (as libraries that record no provider id do).
    pub drop_ids: u32,
    /// LiteLLM spend logs under LiteLLM's own request ids (`chatcmpl-…`),
    /// not the provider's ids the spans carry.
    pub gateway_ids: bool,
    /// Three usage changes that a month-over-month comparison against a
    /// month generated without them should find. A run's start time (UTC)
    /// decides its day.
    ///
    /// 1. Tenant load: every `acme-corp` run is followed by a second
    ///    `acme-corp` run (of a feature drawn as usual), so acme-corp runs
    ///    twice as often all month and the month has more than `runs` runs;
    ///    the other tenants' runs stay as they were.
    /// 2. Retry loop: from the 12th day of the month on, `code-review` runs
    ///    (agent `review_agent`) make 3× the model calls: 6 to 15 steps
    ///    instead of 2 to 5. Each step's prompt carries the steps before it,
    ///    so a run costs about 6× as much.
    /// 3. Feature launch: a new feature `contract-analysis` (root agent
    ///    `contract_analyst` on Claude Sonnet 4, tools `clause_search` and
    ///    `fetch_contract`, weight 25 as code-review's) runs from the 9th day
    ///    of the month on, and never before.
    ///
    /// When false, the same seed and sizes give the same bytes as they did
    /// before this option existed.
    pub changes: bool,
    /// Heavy-tailed run costs: each run's starting context is multiplied
    /// by a Pareto draw (shape 1.2, at most 25×), so one long run costs as
    /// much as twenty short ones, as real agent runs do.
    pub heavy_tails: bool,
    /// One runaway run on this day of the month: the first run that starts
    /// on it makes 30× its steps.
    pub spike_day: Option<u32>,
    /// Lines of the bill beyond tokens (canonical usage only), each kept
    /// only where the pricing table prices it on the call's day:
    ///
    /// - o3 calls report their reasoning tokens (70 % of their output);
    /// - each `research-report` call to Claude makes 0 to 3 web searches,
    ///   billed per search and listed on Anthropic's cost report as
    ///   `web_search` lines;
    /// - o3 calls are served 3 in 10 in the flex tier and 1 in 10 in the
    ///   priority tier, `gpt-4.1` calls 1 in 10 in the priority tier;
    /// - [`US_TENANT`]'s calls to Anthropic ask for US-only inference
    ///   (`inference_geo` `us`, on the models that offer it);
    /// - [`BEDROCK_TENANT`]'s interactive Claude calls go through Amazon
    ///   Bedrock, under the `us.` regional inference profile or, for half of
    ///   them where the model has one, the `global.` profile, billed on
    ///   `bedrock-invoice.csv`;
    /// - a `voice-intake` feature on OpenAI's realtime model, 60 % of whose
    ///   input and 70 % of whose output tokens are audio.
    ///
    /// When false, the same bytes as without this option.
    pub charges: bool,
    /// Spread the runs over this many tenants (`tenant-0001` …, weighted
    /// 1/rank, plus the share without one) instead of [`TENANTS`]; 0 keeps
    /// the named ones and their bytes.
    pub tenants: u32,
    /// Give each tool this many variants (`kb_search-001` …), drawn per
    /// call; 0 keeps the plain names and their bytes.
    pub tools: u32,
}

/// What was generated.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Spans written.
    pub spans: u64,
    /// Inference calls made (billed or not, exported or not).
    pub calls: u64,
    /// Usage records written.
    pub usage_records: u64,
}

/// SplitMix64: small, fast and good enough for synthetic data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        crate::hash::mix64(self.0)
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }

    /// True with probability `percent` / 1000.
    fn per_mille(&mut self, per_mille: u64) -> bool {
        self.next() % 1000 < per_mille
    }

    /// An index drawn by integer weights.
    fn weighted(&mut self, weights: &[u64]) -> usize {
        let mut x = self.next() % weights.iter().sum::<u64>();
        for (i, &w) in weights.iter().enumerate() {
            if x < w {
                return i;
            }
            x -= w;
        }
        unreachable!("x is below the sum of weights")
    }

    fn token(&mut self, len: usize) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        (0..len)
            .map(|_| ALPHABET[(self.next() % ALPHABET.len() as u64) as usize] as char)
            .collect()
    }
}

/// How a provider reports prompt caching.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Caching {
    /// Explicit cache writes (5-minute or 1-hour) and reads.
    Anthropic { one_hour: bool },
    /// Automatic: cached reads only, in 128-token steps above 1,024.
    OpenAi,
    /// No caching.
    None,
}

#[derive(Clone, Copy)]
struct ModelSpec {
    provider: &'static str,
    /// As requested (alias) on the span.
    requested: &'static str,
    /// As billed and as `gen_ai.response.model`.
    billed: &'static str,
    operation: &'static str,
    id_prefix: &'static str,
    caching: Caching,
    /// Output tokens per call.
    output: (u64, u64),
    /// OpenRouter's slug for the model.
    openrouter: &'static str,
}

const SONNET: ModelSpec = ModelSpec {
    provider: "anthropic",
    requested: "claude-sonnet-4-0",
    billed: "claude-sonnet-4-20250514",
    operation: "chat",
    id_prefix: "msg_01",
    caching: Caching::Anthropic { one_hour: false },
    output: (150, 1200),
    openrouter: "anthropic/claude-sonnet-4",
};
const SONNET_1H: ModelSpec = ModelSpec {
    caching: Caching::Anthropic { one_hour: true },
    ..SONNET
};
const HAIKU: ModelSpec = ModelSpec {
    provider: "anthropic",
    requested: "claude-3-5-haiku-latest",
    billed: "claude-3-5-haiku-20241022",
    operation: "chat",
    id_prefix: "msg_01",
    caching: Caching::None,
    output: (80, 600),
    openrouter: "anthropic/claude-3.5-haiku",
};
const GPT41: ModelSpec = ModelSpec {
    provider: "openai",
    requested: "gpt-4.1",
    billed: "gpt-4.1-2025-04-14",
    operation: "chat",
    id_prefix: "chatcmpl-",
    caching: Caching::OpenAi,
    output: (200, 1500),
    openrouter: "openai/gpt-4.1",
};
const O3: ModelSpec = ModelSpec {
    provider: "openai",
    requested: "o3",
    billed: "o3-2025-04-16",
    operation: "chat",
    id_prefix: "chatcmpl-",
    caching: Caching::OpenAi,
    output: (1500, 9000),
    openrouter: "openai/o3",
};
const GEMINI_PRO: ModelSpec = ModelSpec {
    provider: "google",
    requested: "gemini-2.5-pro",
    billed: "gemini-2.5-pro",
    operation: "generate_content",
    id_prefix: "",
    caching: Caching::None,
    output: (300, 2500),
    openrouter: "google/gemini-2.5-pro",
};

/// OpenAI's realtime (speech-to-speech) model, with `--charges` only.
const REALTIME: ModelSpec = ModelSpec {
    provider: "openai",
    requested: "gpt-realtime",
    billed: "gpt-realtime-2025-08-28",
    operation: "chat",
    id_prefix: "resp_",
    caching: Caching::None,
    output: (100, 900),
    openrouter: "openai/gpt-realtime",
};

/// Models the fleet used before a model it uses was launched: (the later
/// model as billed, its launch as Unix seconds (UTC midnight), the earlier
/// model as requested, as billed, and its OpenRouter slug). Claude Sonnet 4
/// was launched on 2025-05-22; before it, the same calls went to Claude
/// Sonnet 3.7, at the same prices. `gpt-realtime` was launched on
/// 2025-08-28; before it, the realtime preview served.
const PREDECESSORS: [(&str, i64, &str, &str, &str); 2] = [
    (
        "claude-sonnet-4-20250514",
        1_747_872_000,
        "claude-3-7-sonnet-latest",
        "claude-3-7-sonnet-20250219",
        "anthropic/claude-3.7-sonnet",
    ),
    (
        "gpt-realtime-2025-08-28",
        1_756_339_200,
        "gpt-4o-realtime-preview",
        "gpt-4o-realtime-preview-2024-12-17",
        "openai/gpt-4o-realtime-preview",
    ),
];

/// With `--charges`: models the fleet moved to at their launch (the
/// earlier model as billed, the later one's launch as Unix seconds (UTC midnight), the later
/// model as requested, as billed, and its OpenRouter slug). Claude Sonnet
/// 4.6 was launched on 2026-02-17, at Sonnet 4's prices; its US-only
/// inference is one of the lines `--charges` bills.
const SUCCESSORS: [(&str, i64, &str, &str, &str); 1] = [(
    "claude-sonnet-4-20250514",
    1_771_286_400,
    "claude-sonnet-4-6",
    "claude-sonnet-4-6",
    "anthropic/claude-sonnet-4.6",
)];

impl ModelSpec {
    /// The model a call made at `start_ns` used: this one, the one it
    /// replaced if it was not launched yet, or (with `successors`, as
    /// `--charges` has) the one that replaced it.
    fn on(&self, start_ns: i64, successors: bool) -> ModelSpec {
        let before = PREDECESSORS
            .iter()
            .find(|p| p.0 == self.billed && start_ns < p.1 * 1_000_000_000);
        let after = SUCCESSORS
            .iter()
            .filter(|_| successors)
            .find(|p| p.0 == self.billed && start_ns >= p.1 * 1_000_000_000);
        match before.or(after) {
            Some(&(_, _, requested, billed, openrouter)) => ModelSpec {
                requested,
                billed,
                openrouter,
                ..*self
            },
            None => *self,
        }
    }
}

/// With `--charges`: the tenant whose Anthropic calls ask for US-only
/// inference.
const US_TENANT: &str = "umbrella-health";
/// With `--charges`: the tenant whose interactive Claude calls go through
/// Amazon Bedrock.
const BEDROCK_TENANT: &str = "wayne-fin";
/// Claude models on Bedrock: (Anthropic's id, the `us.` regional profile,
/// the `global.` profile or "" where there is none).
const BEDROCK_IDS: [(&str, &str, &str); 4] = [
    (
        "claude-sonnet-4-20250514",
        "us.anthropic.claude-sonnet-4-20250514-v1",
        "global.anthropic.claude-sonnet-4-20250514-v1",
    ),
    (
        "claude-3-7-sonnet-20250219",
        "us.anthropic.claude-3-7-sonnet-20250219-v1",
        "",
    ),
    (
        "claude-3-5-haiku-20241022",
        "us.anthropic.claude-3-5-haiku-20241022-v1",
        "",
    ),
    (
        "claude-sonnet-4-6",
        "us.anthropic.claude-sonnet-4-6",
        "global.anthropic.claude-sonnet-4-6",
    ),
];

/// Where and how a call was served, beyond its model's defaults.
struct Served {
    provider: &'static str,
    model: &'static str,
    tier: Tier,
    geo: Option<&'static str>,
    /// Audio input and output tokens.
    audio: (u64, u64),
}

/// A product feature: its root agent, model, tools and shape.
struct Feature {
    name: &'static str,
    agent: &'static str,
    weight: u64,
    model: ModelSpec,
    /// Model steps per run.
    steps: (u64, u64),
    /// Tools the agent may call between steps.
    tools: &'static [&'static str],
    /// Submitted through the batch API.
    batch: bool,
    /// Per mille of calls with a long (over 200k-token) prompt.
    long_prompt_per_mille: u64,
}

const FEATURES: [Feature; 5] = [
    Feature {
        name: "support-chat",
        agent: "support_agent",
        weight: 40,
        model: SONNET,
        steps: (2, 6),
        tools: &["kb_search", "create_ticket"],
        batch: false,
        long_prompt_per_mille: 0,
    },
    Feature {
        name: "code-review",
        agent: "review_agent",
        weight: 25,
        model: GPT41,
        steps: (2, 5),
        tools: &["fetch_diff", "run_linter"],
        batch: false,
        long_prompt_per_mille: 0,
    },
    Feature {
        name: "research-report",
        agent: "research_planner",
        weight: 15,
        model: SONNET_1H,
        steps: (2, 4),
        tools: &["deep_research", "web_search"],
        batch: false,
        long_prompt_per_mille: 0,
    },
    Feature {
        name: "doc-summarize",
        agent: "summarizer",
        weight: 12,
        model: GEMINI_PRO,
        steps: (1, 2),
        tools: &[],
        batch: false,
        long_prompt_per_mille: 150,
    },
    Feature {
        name: "nightly-eval",
        agent: "eval_grader",
        weight: 8,
        model: HAIKU,
        steps: (1, 1),
        tools: &[],
        batch: true,
        long_prompt_per_mille: 0,
    },
];

/// With `--charges`: a voice feature on [`REALTIME`].
const VOICE: Feature = Feature {
    name: "voice-intake",
    agent: "intake_agent",
    weight: 6,
    model: REALTIME,
    steps: (1, 3),
    tools: &["lookup_account"],
    batch: false,
    long_prompt_per_mille: 0,
};

/// With `--changes`: a feature launched on [`LAUNCH_DAY`].
const LAUNCH: Feature = Feature {
    name: "contract-analysis",
    agent: "contract_analyst",
    weight: 25,
    model: SONNET,
    steps: (2, 5),
    tools: &["clause_search", "fetch_contract"],
    batch: false,
    long_prompt_per_mille: 0,
};
/// With `--changes`: the day of the month [`LAUNCH`] runs from.
const LAUNCH_DAY: u64 = 9;
/// With `--changes`: the feature caught in a retry loop from [`RETRY_DAY`]
/// on, and how many times its steps are multiplied.
const RETRY_FEATURE: &str = "code-review";
const RETRY_DAY: u64 = 12;
const RETRY_FACTOR: u64 = 3;
/// With `--changes`: the tenant each of whose runs is followed by a second.
const BUSY_TENANT: &str = "acme-corp";

/// Tenants and their weights; runs of the last weight carry no tenant.
const TENANTS: [(&str, u64); 7] = [
    ("acme-corp", 30),
    ("globex", 20),
    ("initech", 15),
    ("umbrella-health", 12),
    ("stark-industries", 10),
    ("wayne-fin", 10),
    ("", 3),
];

/// The tenants runs are drawn from: [`TENANTS`], or `count` numbered ones
/// (at most 100,000) weighted 1/rank and the same 3 % share without a
/// tenant.
fn tenants(count: u32) -> Vec<(&'static str, u64)> {
    if count == 0 {
        return TENANTS.to_vec();
    }
    let mut tenants: Vec<(&'static str, u64)> = (1..=u64::from(count))
        .map(|rank| (leak(format!("tenant-{rank:04}")), 1_000_000 / rank))
        .collect();
    let named: u64 = tenants.iter().map(|t| t.1).sum();
    tenants.push(("", named * 3 / 97));
    tenants
}

/// With `count` > 0: each feature's tools with `count` variant names
/// (`kb_search-001` …).
fn tool_names(count: u32) -> Vec<(&'static str, Vec<&'static str>)> {
    let mut tools: Vec<&'static str> = FEATURES
        .iter()
        .chain([&LAUNCH, &VOICE])
        .flat_map(|f| f.tools.iter().copied())
        .collect();
    tools.sort_unstable();
    tools.dedup();
    tools
        .into_iter()
        .filter(|_| count > 0)
        .map(|tool| {
            let names = (1..=count)
                .map(|i| leak(format!("{tool}-{i:03}")))
                .collect();
            (tool, names)
        })
        .collect()
}

/// A generated name that lives as long as the simulation (the process):
/// a bounded few per tenant and tool variant, so the simulator's names
/// stay `&'static str` like the built-in ones.
fn leak(name: String) -> &'static str {
    Box::leak(name.into_boxed_str())
}

/// The tool that runs a sub-agent, and that sub-agent's model.
const SUB_AGENT_TOOL: &str = "deep_research";
const SUB_AGENT: &str = "research_worker";

/// One attribute value as written in OTLP JSON.
enum Val {
    Str(String),
    /// `intValue` as a decimal string, as the spec writes it.
    Int(u64),
    /// `intValue` as a bare number, as some exporters write it.
    IntNumber(u64),
}

struct SimSpan {
    trace_id: u128,
    span_id: u64,
    parent_id: u64,
    name: String,
    kind: u8,
    start_ns: i64,
    end_ns: i64,
    attrs: Vec<(&'static str, Val)>,
}

/// Where one run's spans and usage records go.
struct Month {
    rng: Rng,
    config: Config,
    spans: Vec<SimSpan>,
    span_files: Vec<SpanFile>,
    usage: export::UsageExport,
    stats: Stats,
    message: String,
    pricing: PriceTable,
    invoicer: invoices::Invoicer,
    /// With `--changes`: when they start.
    changes: Option<Changes>,
    /// The tenant of the run being simulated.
    tenant: &'static str,
    /// The tenants runs are drawn from.
    tenants: Vec<&'static str>,
    /// Their weights, for the draw.
    tenant_weights: Vec<u64>,
    /// With `--tools`: each tool's variant names.
    tool_names: Vec<(&'static str, Vec<&'static str>)>,
    /// With `--spike-day`: when that day starts and ends (Unix ns), until
    /// its runaway run is made.
    spike: Option<(i64, i64)>,
}

/// When `--changes` switches each change on, as Unix nanoseconds (UTC
/// midnight); a run that starts at or after it has the change.
#[derive(Clone, Copy)]
struct Changes {
    /// [`LAUNCH`] runs from here on.
    launch_ns: i64,
    /// [`RETRY_FEATURE`] is in a retry loop from here on.
    retry_ns: i64,
}

struct SpanFile {
    out: BufWriter<std::fs::File>,
    /// Spans waiting for the next line, by service.
    pending: Vec<SimSpan>,
    service: &'static str,
}

/// One inference call's context while a run is simulated.
struct Conversation {
    /// Tokens already in the conversation (system prompt and history).
    context: u64,
    /// Tokens of the context already in the provider's cache.
    cached: u64,
}

/// Generate a month into `dir`: `spans/part-N.jsonl`, the billed usage
/// (`usage.csv`, or the chosen export), and the providers' invoices for it
/// under `invoices/`, priced from `pricing`.
pub fn generate(config: &Config, pricing: &PriceTable, dir: &Path) -> Result<Stats> {
    let span_dir = dir.join("spans");
    std::fs::create_dir_all(&span_dir).map_err(|e| Error::io(&span_dir, e))?;
    let create = |p: &Path| {
        std::fs::File::create(p)
            .map(BufWriter::new)
            .map_err(|e| Error::io(p, e))
    };
    if config.tenants > 0 && (config.charges || config.changes) {
        return Err(Error::fatal(
            "--tenants replaces the named tenants that --changes and --charges act on (acme-corp, umbrella-health, wayne-fin): use one or the other",
        ));
    }
    if config.charges && config.usage_format != Export::Canonical {
        return Err(Error::fatal(
            "--charges writes its reasoning and web search counts into the canonical usage CSV: leave out --usage-format",
        ));
    }
    let usage =
        export::UsageExport::create(dir, config.usage_format, config.gateway_ids, config.charges)?;
    let services = ["agent-gateway", "agent-worker"];
    let mut span_files = Vec::new();
    for i in 0..config.span_files.max(1) {
        let path = span_dir.join(format!("part-{i}.jsonl"));
        span_files.push(SpanFile {
            out: create(&path)?,
            pending: Vec::new(),
            service: services[i as usize % 2],
        });
    }
    let (year, mon) = config.month;
    let start =
        NaiveDate::from_ymd_opt(year, mon, 1).ok_or_else(|| Error::fatal("invalid --month"))?;
    let next = start
        .checked_add_months(chrono::Months::new(1))
        .expect("a month after a valid date");
    let midnight = |date: NaiveDate| {
        Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0).expect("midnight"))
            .timestamp()
    };
    let month_start = midnight(start);
    let month_secs = (next - start).num_seconds();
    let day_ns = |day: u64| midnight(start + chrono::Days::new(day - 1)) * 1_000_000_000;
    let changes = config.changes.then(|| Changes {
        launch_ns: day_ns(LAUNCH_DAY),
        retry_ns: day_ns(RETRY_DAY),
    });
    let tenants = tenants(config.tenants);
    let mut month = Month {
        rng: Rng(config.seed),
        config: config.clone(),
        spans: Vec::new(),
        span_files,
        usage,
        stats: Stats::default(),
        message: String::new(),
        pricing: pricing.clone(),
        invoicer: invoices::Invoicer::default(),
        changes,
        tenant: "",
        tenant_weights: tenants.iter().map(|t| t.1).collect(),
        tenants: tenants.iter().map(|t| t.0).collect(),
        tool_names: tool_names(config.tools),
        spike: config
            .spike_day
            .map(|d| (day_ns(u64::from(d)), day_ns(u64::from(d) + 1))),
    };
    for run in 0..config.runs {
        // Runs spread evenly over the month; about 1 in 200 began in the
        // last hour of the month before (out of --period).
        let mut t = month_start + (run as i64 * month_secs) / config.runs.max(1) as i64;
        t += month.rng.range(0, 3_000) as i64;
        if month.rng.per_mille(5) {
            t = month_start - month.rng.range(60, 3_600) as i64;
        }
        month
            .runs_at(t)
            .map_err(|e| Error::fatal(format!("{}: {e}", dir.display())))?;
    }
    month
        .finish()
        .map_err(|e| Error::fatal(format!("{}: {e}", dir.display())))?;
    month.usage.finish()?;
    month.invoicer.write(&dir.join("invoices"), config.month)?;
    Ok(month.stats)
}

/// With `--spike-day`: how many times its steps the runaway run makes.
const SPIKE_FACTOR: u64 = 30;

impl Month {
    fn id64(&mut self) -> u64 {
        self.rng.next() | 1
    }

    /// `context` times a Pareto draw of shape 1.2, at most 25×.
    fn heavy(&mut self, context: u64) -> u64 {
        let u = (self.rng.next() >> 11) as f64 / (1u64 << 53) as f64;
        let factor = (1.0 - u).powf(-1.0 / 1.2).min(25.0);
        (context as f64 * factor) as u64
    }

    /// The run that starts at `t` (Unix seconds) and, with `--changes`, a
    /// second run of [`BUSY_TENANT`] a little later if it was one of theirs.
    fn runs_at(&mut self, t: i64) -> std::io::Result<()> {
        let tenant = self.run(t * 1_000_000_000, None)?;
        if self.changes.is_some() && tenant == BUSY_TENANT {
            let t = t + self.rng.range(60, 1_800) as i64;
            self.run(t * 1_000_000_000, Some(BUSY_TENANT))?;
        }
        Ok(())
    }

    /// One run starting at `start_ns`, of `tenant` if given (else drawn);
    /// returns its tenant. With `--changes`, the start decides whether
    /// [`LAUNCH`] can be drawn and whether [`RETRY_FEATURE`] is in its loop.
    fn run(
        &mut self,
        start_ns: i64,
        tenant: Option<&'static str>,
    ) -> std::io::Result<&'static str> {
        let trace_id = (u128::from(self.rng.next()) << 64) | u128::from(self.rng.next());
        // Weight 0 is never drawn and leaves the draw as it was without it.
        let launched = self.changes.is_some_and(|c| start_ns >= c.launch_ns);
        let mut weights = [0; FEATURES.len() + 2];
        for (w, f) in weights.iter_mut().zip(&FEATURES) {
            *w = f.weight;
        }
        weights[FEATURES.len()] = if launched { LAUNCH.weight } else { 0 };
        weights[FEATURES.len() + 1] = if self.config.charges { VOICE.weight } else { 0 };
        let feature = match self.rng.weighted(&weights) {
            i if i < FEATURES.len() => &FEATURES[i],
            i if i == FEATURES.len() => &LAUNCH,
            _ => &VOICE,
        };
        let tenant = match tenant {
            Some(tenant) => tenant,
            None => self.tenants[self.rng.weighted(&self.tenant_weights)],
        };
        self.tenant = tenant;
        let session = format!("sess-{}", self.rng.token(12));
        // A third of the runs enter through an HTTP span that carries the
        // tenant; the agent span below it carries the feature.
        let http_root = self.rng.per_mille(333);
        let root_id = self.id64();
        let agent_id = if http_root { self.id64() } else { root_id };
        let mut clock = start_ns + 2_000_000;
        let mut conversation = Conversation {
            context: self.rng.range(1_500, 6_000),
            cached: 0,
        };
        if self.config.heavy_tails {
            conversation.context = self.heavy(conversation.context);
        }
        let mut step_range = feature.steps;
        if feature.name == RETRY_FEATURE && self.changes.is_some_and(|c| start_ns >= c.retry_ns) {
            step_range = (step_range.0 * RETRY_FACTOR, step_range.1 * RETRY_FACTOR);
        }
        if self
            .spike
            .is_some_and(|(from, to)| (from..to).contains(&start_ns))
        {
            self.spike = None;
            step_range = (step_range.0 * SPIKE_FACTOR, step_range.1 * SPIKE_FACTOR);
        }
        let steps = self.rng.range(step_range.0, step_range.1);
        for step in 0..steps {
            let model = feature.model.on(clock, self.config.charges);
            clock = self.call(
                trace_id,
                agent_id,
                clock,
                &model,
                &mut conversation,
                feature,
            )?;
            if step + 1 < steps && !feature.tools.is_empty() {
                let tool = feature.tools[(self.rng.next() % feature.tools.len() as u64) as usize];
                let name = match self.tool_names.iter().find(|(base, _)| *base == tool) {
                    Some((_, names)) => names[(self.rng.next() % names.len() as u64) as usize],
                    None => tool,
                };
                clock = self.tool(trace_id, agent_id, clock, tool, name, &mut conversation)?;
            }
        }
        let mut agent_attrs = vec![
            ("gen_ai.operation.name", Val::Str("invoke_agent".into())),
            ("gen_ai.agent.name", Val::Str(feature.agent.into())),
            ("app.feature", Val::Str(feature.name.into())),
        ];
        // Runs without a tenant fall back to their conversation id, or,
        // for half of them, carry no identity at all.
        let mut identity = Vec::new();
        if !tenant.is_empty() || self.rng.per_mille(500) {
            identity.push(("gen_ai.conversation.id", Val::Str(session)));
        }
        if !tenant.is_empty() {
            identity.push(("tenant.id", Val::Str(tenant.into())));
        }
        // The outcome, on the root span: a run that used all its steps (of a
        // feature that can stop earlier) gave up; one in eight others failed (decided by trace id bits, so the
        // rest of the month does not change).
        let outcome = if steps == step_range.1 && step_range.0 < steps {
            "max_steps"
        } else if trace_id % 8 == 0 {
            "error"
        } else {
            "success"
        };
        let outcome = ("app.outcome", Val::Str(outcome.into()));
        if http_root {
            agent_attrs.push((
                "gen_ai.conversation.id",
                Val::Str(format!("sess-{}", self.rng.token(12))),
            ));
            let mut http_attrs = vec![("http.request.method", Val::Str("POST".into()))];
            http_attrs.extend(identity.into_iter().filter(|(k, _)| *k == "tenant.id"));
            http_attrs.push(outcome);
            self.span(
                trace_id,
                agent_id,
                root_id,
                format!("invoke_agent {}", feature.agent),
                1,
                start_ns + 1_000_000,
                clock,
                agent_attrs,
            );
            self.span(
                trace_id,
                root_id,
                0,
                "POST /v1/agent/run".into(),
                2,
                start_ns,
                clock + 1_000_000,
                http_attrs,
            );
        } else {
            agent_attrs.extend(identity);
            agent_attrs.push(outcome);
            self.span(
                trace_id,
                agent_id,
                0,
                format!("invoke_agent {}", feature.agent),
                1,
                start_ns,
                clock,
                agent_attrs,
            );
        }
        self.flush_run()?;
        Ok(tenant)
    }

    /// A call of `tool` (named `name` on its span) between steps;
    /// `deep_research` runs a sub-agent inside it.
    #[allow(clippy::too_many_arguments)]
    fn tool(
        &mut self,
        trace_id: u128,
        parent: u64,
        start: i64,
        tool: &'static str,
        name: &'static str,
        conversation: &mut Conversation,
    ) -> std::io::Result<i64> {
        let tool_id = self.id64();
        let mut clock = start + 1_000_000;
        if tool == SUB_AGENT_TOOL {
            let sub_id = self.id64();
            let sub_start = clock;
            let mut sub = Conversation {
                context: self.rng.range(2_000, 4_000),
                cached: 0,
            };
            for step in 0..self.rng.range(1, 3) {
                // The worker reasons with o3 and summarises with Haiku.
                let model = if step == 0 { O3 } else { HAIKU };
                clock = self.call(trace_id, sub_id, clock, &model, &mut sub, &FEATURES[2])?;
                let search_id = self.id64();
                let attrs = vec![
                    ("gen_ai.operation.name", Val::Str("execute_tool".into())),
                    ("gen_ai.tool.name", Val::Str("web_search".into())),
                ];
                self.span(
                    trace_id,
                    search_id,
                    sub_id,
                    "execute_tool web_search".into(),
                    1,
                    clock,
                    clock + 300_000_000,
                    attrs,
                );
                clock += 301_000_000;
            }
            let attrs = vec![
                ("gen_ai.operation.name", Val::Str("invoke_agent".into())),
                ("gen_ai.agent.name", Val::Str(SUB_AGENT.into())),
            ];
            self.span(
                trace_id,
                sub_id,
                tool_id,
                format!("invoke_agent {SUB_AGENT}"),
                1,
                sub_start,
                clock,
                attrs,
            );
        }
        clock += self.rng.range(50, 900) as i64 * 1_000_000;
        conversation.context += self.rng.range(200, 3_000);
        // Half the tool spans name the tool only in the span name.
        let mut attrs = vec![("gen_ai.operation.name", Val::Str("execute_tool".into()))];
        if self.rng.per_mille(500) {
            attrs.push(("gen_ai.tool.name", Val::Str(name.into())));
        }
        self.span(
            trace_id,
            tool_id,
            parent,
            format!("execute_tool {name}"),
            1,
            start,
            clock,
            attrs,
        );
        Ok(clock + 1_000_000)
    }

    /// One inference call: its span (unless lost) and its usage record
    /// (unless never billed).
    fn call(
        &mut self,
        trace_id: u128,
        parent: u64,
        start: i64,
        model: &ModelSpec,
        conversation: &mut Conversation,
        feature: &Feature,
    ) -> std::io::Result<i64> {
        self.stats.calls += 1;
        let rng = &mut self.rng;
        let new_input = rng.range(100, 1_200);
        let long = rng.per_mille(feature.long_prompt_per_mille);
        if long {
            conversation.context += rng.range(200_000, 400_000);
        }
        let prompt = conversation.context + new_input;
        let (mut uncached, mut read, mut write_5m, mut write_1h) = (prompt, 0, 0, 0);
        match model.caching {
            Caching::Anthropic { one_hour } => {
                read = conversation.cached;
                let write = conversation.context - conversation.cached;
                uncached = new_input;
                if self.config.plain {
                    uncached += write;
                } else if one_hour && conversation.cached == 0 {
                    write_1h = write;
                } else {
                    write_5m = write;
                }
                conversation.cached = conversation.context;
            }
            Caching::OpenAi if conversation.cached >= 1_024 => {
                read = conversation.cached / 128 * 128;
                uncached = prompt - read;
                conversation.cached = prompt;
            }
            Caching::OpenAi => conversation.cached = prompt,
            Caching::None => {}
        }
        let output = rng.range(model.output.0, model.output.1);
        conversation.context = prompt + output;
        let duration = (300 + output as i64 / 20 + rng.range(0, 2_000) as i64) * 1_000_000;
        let end = start + duration;
        let id = match model.id_prefix {
            "" => rng.token(22),
            prefix => format!("{prefix}{}", rng.token(22)),
        };
        let billed = !rng.per_mille(15);
        let exported = !rng.per_mille(20);
        // With --charges only (no draw otherwise): o3's reasoning, and the
        // research feature's web searches.
        let reasoning = match self.config.charges && model.billed == O3.billed {
            true => output * 7 / 10,
            false => 0,
        };
        let searching = feature.name == "research-report" && model.provider == "anthropic";
        let mut web_searches = match self.config.charges && searching {
            true => rng.range(0, 3),
            false => 0,
        };
        let ended = DateTime::<Utc>::from_timestamp_nanos(end);
        let served = match self.config.charges {
            true => self.served(model, feature, ended, uncached, output),
            false => Served {
                provider: model.provider,
                model: model.billed,
                tier: Tier::Standard,
                geo: None,
                audio: (0, 0),
            },
        };
        if served.provider != model.provider {
            web_searches = 0; // Anthropic's server tool; Bedrock has none
        }
        if billed {
            self.stats.usage_records += 1;
            let tokens = Tokens([uncached, read, write_5m, write_1h, output]);
            let batch = feature.batch && !self.config.plain;
            let tier = if batch { Tier::Batch } else { served.tier };
            let modalities: Vec<(Modality, u64)> = [
                (Modality::AudioInput, served.audio.0),
                (Modality::AudioOutput, served.audio.1),
            ]
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .collect();
            let qualifiers = Qualifiers {
                tier,
                geo: served.geo,
                ..Qualifiers::default()
            };
            let cost = self.invoicer.add(
                &self.pricing,
                served.provider,
                served.model,
                ended,
                &tokens,
                &modalities,
                &qualifiers,
                web_searches,
            );
            self.usage.write(&export::BilledCall {
                id: &id,
                end_ns: end,
                provider: served.provider,
                model: served.model,
                requested: model.requested,
                openrouter: model.openrouter,
                tokens,
                batch,
                reasoning,
                web_searches,
                tier,
                geo: served.geo,
                audio: served.audio,
                cost,
            })?;
        }
        if exported {
            // Span token counts follow the semconv: input includes cached.
            let input_total = uncached + read + write_5m + write_1h;
            let span_id = self.id64();
            let number = self.rng.per_mille(300);
            let count = |n: u64| {
                if number {
                    Val::IntNumber(n)
                } else {
                    Val::Int(n)
                }
            };
            let requested = match served.provider == model.provider {
                true => model.requested,
                false => served.model,
            };
            let mut attrs = vec![
                ("gen_ai.operation.name", Val::Str(model.operation.into())),
                ("gen_ai.provider.name", Val::Str(served.provider.into())),
                ("gen_ai.request.model", Val::Str(requested.into())),
                ("gen_ai.response.model", Val::Str(served.model.into())),
                ("gen_ai.response.id", Val::Str(id)),
                ("gen_ai.usage.input_tokens", count(input_total)),
                ("gen_ai.usage.output_tokens", count(output)),
            ];
            if read > 0 {
                attrs.push(("gen_ai.usage.cache_read.input_tokens", count(read)));
            }
            // Decided by the span id, not drawn, so the month is otherwise
            // the same bytes whatever the share dropped.
            let drops = u64::from(self.config.drop_ids.min(100));
            if crate::hash::mix64(span_id ^ 0x1d5) % 100 < drops {
                attrs.retain(|(key, _)| *key != "gen_ai.response.id");
            }
            if self.config.message_bytes > 0 {
                let n = self.config.message_bytes;
                let size = self.rng.range(n as u64 / 2, n as u64 * 3 / 2) as usize;
                attrs.push(("gen_ai.input.messages", Val::Str(self.message_of(size))));
                let size = self.rng.range(n as u64 / 4, n as u64) as usize;
                attrs.push(("gen_ai.output.messages", Val::Str(self.message_of(size))));
            }
            let name = format!("{} {requested}", model.operation);
            self.span(trace_id, span_id, parent, name, 3, start, end, attrs);
        }
        Ok(end + 1_000_000)
    }

    /// With `--charges`: where and how a call to `model` for `feature`,
    /// ending at `ended`, was served. A tier or region the pricing table does
    /// not price for the model on that day is not used.
    fn served(
        &mut self,
        model: &ModelSpec,
        feature: &Feature,
        ended: DateTime<Utc>,
        uncached: u64,
        output: u64,
    ) -> Served {
        let mut served = Served {
            provider: model.provider,
            model: model.billed,
            tier: Tier::Standard,
            geo: None,
            audio: (0, 0),
        };
        let draw = self.rng.range(0, 9);
        if model.billed == O3.billed {
            served.tier = match draw {
                0..=2 => Tier::Flex,
                3 => Tier::Priority,
                _ => Tier::Standard,
            };
        } else if model.billed == GPT41.billed && draw == 0 {
            served.tier = Tier::Priority;
        }
        if feature.name == VOICE.name {
            served.audio = (uncached * 6 / 10, output * 7 / 10);
        }
        let bedrock = BEDROCK_IDS.iter().find(|ids| ids.0 == model.billed);
        let global = self.rng.per_mille(500);
        match (model.provider, self.tenant) {
            ("anthropic", BEDROCK_TENANT) if !feature.batch => {
                if let Some(&(_, regional, global_id)) = bedrock {
                    served.provider = "aws.bedrock";
                    served.model = if global && !global_id.is_empty() {
                        global_id
                    } else {
                        regional
                    };
                }
            }
            ("anthropic", US_TENANT) => served.geo = Some("us"),
            _ => {}
        }
        let priced = |tier, geo| {
            let entry = self
                .pricing
                .find(served.provider, served.model, ended.date_naive());
            entry.is_some_and(|e| {
                let qualifiers = Qualifiers {
                    tier,
                    geo,
                    fast: false,
                    hours: e.hours_at(ended),
                };
                e.unit_price(TokenType::Input, &qualifiers, false).is_ok()
            })
        };
        if !priced(served.tier, None) {
            served.tier = Tier::Standard;
        }
        if !priced(Tier::Standard, served.geo) {
            served.geo = None;
        }
        served
    }

    /// A JSON-looking message body of about `size` bytes, with the quotes and
    /// escapes real message attributes carry.
    fn message_of(&mut self, size: usize) -> String {
        if self.message.len() < size {
            self.message.clear();
            while self.message.len() < size.max(4_096) {
                let len = self.rng.range(2, 9) as usize;
                let word = self.rng.token(len);
                let _ = write!(self.message, "{word} ");
            }
        }
        format!(
            "[{{\"role\":\"user\",\"parts\":[{{\"type\":\"text\",\"content\":\"{}\\n\"}}]}}]",
            &self.message[..size]
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn span(
        &mut self,
        trace_id: u128,
        span_id: u64,
        parent_id: u64,
        name: String,
        kind: u8,
        start_ns: i64,
        end_ns: i64,
        attrs: Vec<(&'static str, Val)>,
    ) {
        self.spans.push(SimSpan {
            trace_id,
            span_id,
            parent_id,
            name,
            kind,
            start_ns,
            end_ns,
            attrs,
        });
    }

    /// Hand a finished run's spans to the exporters in the order they ended
    /// (children first); each span goes to a random file, so a trace is
    /// split across lines and files.
    fn flush_run(&mut self) -> std::io::Result<()> {
        let mut spans = std::mem::take(&mut self.spans);
        spans.sort_by_key(|s| (s.end_ns, s.span_id));
        for span in spans {
            self.stats.spans += 1;
            let file = (self.rng.next() % self.span_files.len() as u64) as usize;
            let batch = self.rng.range(8, 40) as usize;
            let target = &mut self.span_files[file];
            target.pending.push(span);
            if target.pending.len() >= batch {
                write_line(target)?;
            }
        }
        Ok(())
    }

    fn finish(&mut self) -> std::io::Result<()> {
        for file in &mut self.span_files {
            if !file.pending.is_empty() {
                write_line(file)?;
            }
            file.out.flush()?;
        }
        Ok(())
    }
}

/// Write a file's pending spans as one OTLP `TracesData` line.
fn write_line(file: &mut SpanFile) -> std::io::Result<()> {
    let mut line = String::with_capacity(4_096);
    line.push_str(r#"{"resourceSpans":[{"resource":{"attributes":["#);
    push_attr(&mut line, "service.name", &Val::Str(file.service.into()));
    line.push(',');
    push_attr(
        &mut line,
        "deployment.environment.name",
        &Val::Str("production".into()),
    );
    line.push_str(
        r#"]},"scopeSpans":[{"scope":{"name":"tokenledger.simulate","version":"1"},"spans":["#,
    );
    for (i, s) in file.pending.drain(..).enumerate() {
        if i > 0 {
            line.push(',');
        }
        let _ = write!(
            line,
            r#"{{"traceId":"{:032x}","spanId":"{:016x}","parentSpanId":""#,
            s.trace_id, s.span_id
        );
        if s.parent_id != 0 {
            let _ = write!(line, "{:016x}", s.parent_id);
        }
        let _ = write!(
            line,
            r#"","name":{},"kind":{},"startTimeUnixNano":"{}","endTimeUnixNano":"{}","attributes":["#,
            json_string(&s.name),
            s.kind,
            s.start_ns,
            s.end_ns
        );
        for (j, (key, value)) in s.attrs.iter().enumerate() {
            if j > 0 {
                line.push(',');
            }
            push_attr(&mut line, key, value);
        }
        line.push_str(r#"],"status":{}}"#);
    }
    line.push_str("]}]}]}\n");
    file.out.write_all(line.as_bytes())
}

fn push_attr(line: &mut String, key: &str, value: &Val) {
    let _ = write!(line, r#"{{"key":{},"value":{{"#, json_string(key));
    let _ = match value {
        Val::Str(s) => write!(line, r#""stringValue":{}"#, json_string(s)),
        Val::Int(n) => write!(line, r#""intValue":"{n}""#),
        Val::IntNumber(n) => write!(line, r#""intValue":{n}"#),
    };
    line.push_str("}}");
}

fn json_string(s: &str) -> String {
    serde_json::to_string(s).expect("a string always serialises")
}

/// The month a `YYYY-MM` names, for `--month`.
pub fn parse_month(text: &str) -> std::result::Result<(i32, u32), String> {
    let date = NaiveDate::parse_from_str(&format!("{text}-01"), "%Y-%m-%d")
        .map_err(|_| format!("expected a month as YYYY-MM, got \"{text}\""))?;
    Ok((date.year(), date.month()))
}
