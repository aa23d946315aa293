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

use std::path::Path;

use chrono::{Datelike, NaiveDate, TimeZone, Utc};

use crate::error::{Error, Result};
use crate::price::PriceTable;

mod calls;
mod export;
mod fleet;
mod invoices;
mod spans;

use fleet::{
    tenants, tool_names, Feature, BUSY_TENANT, FEATURES, LAUNCH, LAUNCH_DAY, RETRY_DAY,
    RETRY_FACTOR, RETRY_FEATURE, VOICE,
};
use spans::{SimSpan, SpanFile, Val};

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
    ///
    /// [`US_TENANT`]: fleet::US_TENANT
    /// [`BEDROCK_TENANT`]: fleet::BEDROCK_TENANT
    pub charges: bool,
    /// Spread the runs over this many tenants (`tenant-0001` …, weighted
    /// 1/rank, plus the share without one) instead of [`TENANTS`]; 0 keeps
    /// the named ones and their bytes.
    ///
    /// [`TENANTS`]: fleet::TENANTS
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
    check(config)?;
    let usage =
        export::UsageExport::create(dir, config.usage_format, config.gateway_ids, config.charges)?;
    let span_files = spans::create(&span_dir, config.span_files)?;
    let (year, mon) = config.month;
    let start =
        NaiveDate::from_ymd_opt(year, mon, 1).ok_or_else(|| Error::fatal("invalid --month"))?;
    let next = start
        .checked_add_months(chrono::Months::new(1))
        .expect("a month after a valid date");
    let month_start = midnight(start);
    let month_secs = (next - start).num_seconds();
    let mut month = Month::new(config, pricing, usage, span_files, start);
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

/// Refuse the options that cannot go together.
fn check(config: &Config) -> Result<()> {
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
    Ok(())
}

/// The UTC midnight that starts `date`, as Unix seconds.
fn midnight(date: NaiveDate) -> i64 {
    Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0).expect("midnight"))
        .timestamp()
}

/// With `--spike-day`: how many times its steps the runaway run makes.
const SPIKE_FACTOR: u64 = 30;

/// A run's ids and times, for [`Month::root_spans`].
struct Root {
    trace_id: u128,
    /// The root span: the HTTP span when there is one, else the agent span.
    root_id: u64,
    agent_id: u64,
    /// The run entered through an HTTP span.
    http_root: bool,
    start_ns: i64,
    /// When its last step ended.
    end_ns: i64,
}

impl Month {
    /// A month starting on `start`, before its first run.
    fn new(
        config: &Config,
        pricing: &PriceTable,
        usage: export::UsageExport,
        span_files: Vec<SpanFile>,
        start: NaiveDate,
    ) -> Month {
        let day_ns = |day: u64| midnight(start + chrono::Days::new(day - 1)) * 1_000_000_000;
        let changes = config.changes.then(|| Changes {
            launch_ns: day_ns(LAUNCH_DAY),
            retry_ns: day_ns(RETRY_DAY),
        });
        let tenants = tenants(config.tenants);
        Month {
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
        }
    }

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
        let feature = self.feature(start_ns);
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
        let mut conversation = Conversation {
            context: self.rng.range(1_500, 6_000),
            cached: 0,
        };
        if self.config.heavy_tails {
            conversation.context = self.heavy(conversation.context);
        }
        let step_range = self.step_range(feature, start_ns);
        let steps = self.rng.range(step_range.0, step_range.1);
        let clock = start_ns + 2_000_000;
        let clock = self.steps(trace_id, agent_id, clock, feature, steps, &mut conversation)?;
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
        let root = Root {
            trace_id,
            root_id,
            agent_id,
            http_root,
            start_ns,
            end_ns: clock,
        };
        self.root_spans(&root, feature, identity, outcome);
        self.flush_run()?;
        Ok(tenant)
    }

    /// The feature of a run starting at `start_ns`, drawn by weight.
    fn feature(&mut self, start_ns: i64) -> &'static Feature {
        // Weight 0 is never drawn and leaves the draw as it was without it.
        let launched = self.changes.is_some_and(|c| start_ns >= c.launch_ns);
        let mut weights = [0; FEATURES.len() + 2];
        for (w, f) in weights.iter_mut().zip(&FEATURES) {
            *w = f.weight;
        }
        weights[FEATURES.len()] = if launched { LAUNCH.weight } else { 0 };
        weights[FEATURES.len() + 1] = if self.config.charges { VOICE.weight } else { 0 };
        match self.rng.weighted(&weights) {
            i if i < FEATURES.len() => &FEATURES[i],
            i if i == FEATURES.len() => &LAUNCH,
            _ => &VOICE,
        }
    }

    /// The range a run of `feature` starting at `start_ns` draws its steps
    /// from: the feature's, times [`RETRY_FACTOR`] in the retry loop and
    /// times [`SPIKE_FACTOR`] for `--spike-day`'s runaway run (this one, if
    /// it is the first on that day).
    fn step_range(&mut self, feature: &Feature, start_ns: i64) -> (u64, u64) {
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
        step_range
    }

    /// A run's `steps` model calls from `clock` on, with a tool call
    /// between each two; returns the clock after the last.
    fn steps(
        &mut self,
        trace_id: u128,
        agent_id: u64,
        mut clock: i64,
        feature: &Feature,
        steps: u64,
        conversation: &mut Conversation,
    ) -> std::io::Result<i64> {
        for step in 0..steps {
            let model = feature.model.on(clock, self.config.charges);
            clock = self.call(trace_id, agent_id, clock, &model, conversation, feature)?;
            if step + 1 < steps && !feature.tools.is_empty() {
                let tool = feature.tools[(self.rng.next() % feature.tools.len() as u64) as usize];
                let name = match self.tool_names.iter().find(|(base, _)| *base == tool) {
                    Some((_, names)) => names[(self.rng.next() % names.len() as u64) as usize],
                    None => tool,
                };
                clock = self.tool(trace_id, agent_id, clock, tool, name, conversation)?;
            }
        }
        Ok(clock)
    }

    /// A run's agent span, carrying its `identity` and `outcome` or, when
    /// it entered through HTTP, under an HTTP span that carries its tenant
    /// and outcome.
    fn root_spans(
        &mut self,
        root: &Root,
        feature: &Feature,
        identity: Vec<(&'static str, Val)>,
        outcome: (&'static str, Val),
    ) {
        let Root {
            trace_id,
            root_id,
            agent_id,
            http_root,
            start_ns,
            end_ns: clock,
        } = *root;
        let mut agent_attrs = vec![
            ("gen_ai.operation.name", Val::Str("invoke_agent".into())),
            ("gen_ai.agent.name", Val::Str(feature.agent.into())),
            ("app.feature", Val::Str(feature.name.into())),
        ];
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
    }
}

/// The month a `YYYY-MM` names, for `--month`.
pub fn parse_month(text: &str) -> std::result::Result<(i32, u32), String> {
    let date = NaiveDate::parse_from_str(&format!("{text}-01"), "%Y-%m-%d")
        .map_err(|_| format!("expected a month as YYYY-MM, got \"{text}\""))?;
    Ok((date.year(), date.month()))
}
