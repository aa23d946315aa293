//! The simulated fleet: its models (with the ones they replaced and that
//! replaced them), features, tenants and tools, and what `--changes` and
//! `--charges` add to it.

use crate::model::Tier;

/// How a provider reports prompt caching.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Caching {
    /// Explicit cache writes (5-minute or 1-hour) and reads.
    Anthropic { one_hour: bool },
    /// Automatic: cached reads only, in 128-token steps above 1,024.
    OpenAi,
    /// No caching.
    None,
}

#[derive(Clone, Copy)]
pub(super) struct ModelSpec {
    pub(super) provider: &'static str,
    /// As requested (alias) on the span.
    pub(super) requested: &'static str,
    /// As billed and as `gen_ai.response.model`.
    pub(super) billed: &'static str,
    pub(super) operation: &'static str,
    pub(super) id_prefix: &'static str,
    pub(super) caching: Caching,
    /// Output tokens per call.
    pub(super) output: (u64, u64),
    /// OpenRouter's slug for the model.
    pub(super) openrouter: &'static str,
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
pub(super) const HAIKU: ModelSpec = ModelSpec {
    provider: "anthropic",
    requested: "claude-3-5-haiku-latest",
    billed: "claude-3-5-haiku-20241022",
    operation: "chat",
    id_prefix: "msg_01",
    caching: Caching::None,
    output: (80, 600),
    openrouter: "anthropic/claude-3.5-haiku",
};
pub(super) const GPT41: ModelSpec = ModelSpec {
    provider: "openai",
    requested: "gpt-4.1",
    billed: "gpt-4.1-2025-04-14",
    operation: "chat",
    id_prefix: "chatcmpl-",
    caching: Caching::OpenAi,
    output: (200, 1500),
    openrouter: "openai/gpt-4.1",
};
pub(super) const O3: ModelSpec = ModelSpec {
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
    pub(super) fn on(&self, start_ns: i64, successors: bool) -> ModelSpec {
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
pub(super) const US_TENANT: &str = "umbrella-health";
/// With `--charges`: the tenant whose interactive Claude calls go through
/// Amazon Bedrock.
pub(super) const BEDROCK_TENANT: &str = "wayne-fin";
/// Claude models on Bedrock: (Anthropic's id, the `us.` regional profile,
/// the `global.` profile or "" where there is none).
pub(super) const BEDROCK_IDS: [(&str, &str, &str); 4] = [
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
pub(super) struct Served {
    pub(super) provider: &'static str,
    pub(super) model: &'static str,
    pub(super) tier: Tier,
    pub(super) geo: Option<&'static str>,
    /// Audio input and output tokens.
    pub(super) audio: (u64, u64),
}

/// A product feature: its root agent, model, tools and shape.
pub(super) struct Feature {
    pub(super) name: &'static str,
    pub(super) agent: &'static str,
    pub(super) weight: u64,
    pub(super) model: ModelSpec,
    /// Model steps per run.
    pub(super) steps: (u64, u64),
    /// Tools the agent may call between steps.
    pub(super) tools: &'static [&'static str],
    /// Submitted through the batch API.
    pub(super) batch: bool,
    /// Per mille of calls with a long (over 200k-token) prompt.
    pub(super) long_prompt_per_mille: u64,
}

pub(super) const FEATURES: [Feature; 5] = [
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
pub(super) const VOICE: Feature = Feature {
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
pub(super) const LAUNCH: Feature = Feature {
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
pub(super) const LAUNCH_DAY: u64 = 9;
/// With `--changes`: the feature caught in a retry loop from [`RETRY_DAY`]
/// on, and how many times its steps are multiplied.
pub(super) const RETRY_FEATURE: &str = "code-review";
pub(super) const RETRY_DAY: u64 = 12;
pub(super) const RETRY_FACTOR: u64 = 3;
/// With `--changes`: the tenant each of whose runs is followed by a second.
pub(super) const BUSY_TENANT: &str = "acme-corp";

/// Tenants and their weights; runs of the last weight carry no tenant.
pub(super) const TENANTS: [(&str, u64); 7] = [
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
pub(super) fn tenants(count: u32) -> Vec<(&'static str, u64)> {
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
pub(super) fn tool_names(count: u32) -> Vec<(&'static str, Vec<&'static str>)> {
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
pub(super) const SUB_AGENT_TOOL: &str = "deep_research";
pub(super) const SUB_AGENT: &str = "research_worker";
