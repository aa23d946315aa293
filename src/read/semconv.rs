//! The OpenTelemetry GenAI attribute names tokenledger reads, and the older
//! or other libraries' names for the same thing: one table, as data.
//!
//! Canonical names follow the GenAI semantic conventions **v1.41**, plus
//! `gen_ai.usage.cache_write.input_tokens` from the `semantic-conventions-genai`
//! development releases. A canonical name is tried first, then its aliases
//! in order; a fleet may mix versions and libraries freely.

/// Canonical attribute → aliases (older GenAI versions, OpenLLMetry,
/// OpenInference, Pydantic AI/Logfire, Vercel AI SDK, Langfuse, Traceloop).
pub const ALIASES: &[(&str, &[&str])] = &[
    ("gen_ai.operation.name", &[]),
    (
        "gen_ai.provider.name",
        &["gen_ai.system", "llm.system", "llm.provider"],
    ),
    (
        "gen_ai.request.model",
        &[
            "llm.request.model_name",
            "llm.model_name",
            "embedding.model_name",
            "ai.model.id",
            "langfuse.observation.model.name",
        ],
    ),
    (
        "gen_ai.response.model",
        &[
            "llm.response.model_name",
            "ai.response.model",
            "llm.model_name",
        ],
    ),
    (
        "gen_ai.response.id",
        &[
            "ai.response.id",
            "llm.openai.id",
            "response_id",
            "gen_ai.response_id",
        ],
    ),
    (
        "gen_ai.conversation.id",
        &["session.id", "langfuse.session.id"],
    ),
    ("gen_ai.agent.name", &["agent.name", "agent_name"]),
    (
        "gen_ai.tool.name",
        &["tool.name", "ai.toolCall.name", "tool_name"],
    ),
    (
        "gen_ai.usage.input_tokens",
        &[
            "gen_ai.usage.prompt_tokens",
            "gen_ai.response.prompt_tokens",
            "llm.token_count.prompt",
            "ai.usage.promptTokens",
            "ai.usage.inputTokens",
            "ai.usage.tokens",
            "gen_ai.usage.partial.input_tokens",
        ],
    ),
    (
        "gen_ai.usage.output_tokens",
        &[
            "gen_ai.usage.completion_tokens",
            "gen_ai.response.completion_tokens",
            "llm.token_count.completion",
            "ai.usage.completionTokens",
            "ai.usage.outputTokens",
            "gen_ai.usage.partial.output_tokens",
        ],
    ),
    (
        "gen_ai.usage.reasoning.output_tokens",
        &[
            "gen_ai.usage.reasoning_tokens",
            "llm.token_count.completion_details.reasoning",
            "ai.usage.reasoningTokens",
        ],
    ),
    (
        "gen_ai.usage.cache_read.input_tokens",
        &[
            "gen_ai.usage.cache_read_input_tokens",
            "llm.token_count.prompt_details.cache_read",
            "gen_ai.usage.details.cache_read_tokens",
            "ai.usage.cachedInputTokens",
            "gen_ai.usage.partial.cache_read.input_tokens",
        ],
    ),
    (
        "gen_ai.usage.cache_write.input_tokens",
        &[
            "gen_ai.usage.cache_creation.input_tokens",
            "gen_ai.usage.cache_creation_input_tokens",
            "gen_ai.usage.cache_write_input_tokens",
            "llm.token_count.prompt_details.cache_write",
            "gen_ai.usage.details.cache_write_tokens",
            "gen_ai.usage.partial.cache_creation.input_tokens",
        ],
    ),
];

/// Where a span's operation is named when `gen_ai.operation.name` is not
/// set: (attribute, its value, the GenAI operation it means). Values compare
/// without regard to case.
pub const OPERATION_KINDS: &[(&str, &str, &str)] = &[
    ("llm.request.type", "chat", "chat"),
    ("llm.request.type", "completion", "text_completion"),
    ("llm.request.type", "embedding", "embeddings"),
    ("openinference.span.kind", "llm", "chat"),
    ("openinference.span.kind", "embedding", "embeddings"),
    ("openinference.span.kind", "tool", "execute_tool"),
    ("openinference.span.kind", "agent", "invoke_agent"),
    ("traceloop.span.kind", "agent", "invoke_agent"),
    ("traceloop.span.kind", "tool", "execute_tool"),
    ("ai.operationId", "ai.generateText.doGenerate", "chat"),
    ("ai.operationId", "ai.streamText.doStream", "chat"),
    ("ai.operationId", "ai.generateObject.doGenerate", "chat"),
    ("ai.operationId", "ai.streamObject.doStream", "chat"),
    ("ai.operationId", "ai.embed.doEmbed", "embeddings"),
    ("ai.operationId", "ai.embedMany.doEmbed", "embeddings"),
    ("langfuse.observation.type", "generation", "chat"),
    ("langfuse.observation.type", "agent", "invoke_agent"),
    ("langfuse.observation.type", "tool", "execute_tool"),
    // The AWS SDK's own spans of a Bedrock Runtime model call (botocore,
    // and ADOT's), when no GenAI attribute names the operation.
    ("rpc.method", "InvokeModel", "chat"),
    ("rpc.method", "InvokeModelWithResponseStream", "chat"),
    ("rpc.method", "Converse", "chat"),
    ("rpc.method", "ConverseStream", "chat"),
];

/// Other libraries' `gen_ai.operation.name` values for the GenAI
/// operations (Semantic Kernel's model diagnostics before its 1.19 Python
/// and 1.47 .NET releases): (their value, the operation it means).
pub const OPERATION_ALIASES: &[(&str, &str)] = &[
    ("chat.completions", "chat"),
    ("chat.streaming_completions", "chat"),
    ("text.completions", "text_completion"),
    ("text.streaming_completions", "text_completion"),
    ("text_completions", "text_completion"),
    // Spring AI's name for an embedding model's call.
    ("embedding", "embeddings"),
];

/// Spans that name an agent or a tool by their name alone, whatever their
/// attributes: (span-name prefix, the GenAI operation it means). The rest
/// of the name, without quotes, is the agent's or tool's name when no
/// `gen_ai.agent.name` / `gen_ai.tool.name` (or alias) says it.
/// - Logfire's OpenAI Agents integration: `Agent run: 'Assistant'`,
///   `Function: get_weather`;
/// - Vercel AI SDK: `ai.toolCall` (the name in `ai.toolCall.name`);
/// - Pydantic AI: `running tool` (the name in `gen_ai.tool.name`),
///   `<agent> run` spans carry `gen_ai.agent.name`, which names an agent
///   on any span that is not a call.
pub const NAME_PREFIXES: &[(&str, &str)] = &[
    ("Agent run: ", "invoke_agent"),
    ("Function: ", "execute_tool"),
    ("ai.toolCall", "execute_tool"),
    ("running tool", "execute_tool"),
    // ADK's span around each model call (google-genai's `generate_content`
    // inside it, when instrumented, is the call; this one then wraps it).
    ("call_llm", "chat"),
    // The AWS SDK's span of a Bedrock Runtime model call, named
    // `{service}.{operation}` (botocore): `InvokeModel`,
    // `InvokeModelWithResponseStream`, `Converse`, `ConverseStream`.
    ("Bedrock Runtime.InvokeModel", "chat"),
    ("Bedrock Runtime.Converse", "chat"),
    // ADK's (and OpenInference's ADK) agent span: `agent_run [hello_agent]`.
    ("agent_run [", "invoke_agent"),
];

/// `gen_ai.operation.name` values (or span-name prefixes) of inference calls.
pub const CALL_OPERATIONS: [&str; 4] =
    ["chat", "text_completion", "generate_content", "embeddings"];

/// The key `key` is an alias of, or `key` itself: `--join-attr
/// gen_ai.response_id` reads `gen_ai.response.id` and every alias of it,
/// as the default does (it read that one alias alone).
pub fn canonical(key: &str) -> &str {
    ALIASES
        .iter()
        .find(|(_, aliases)| aliases.contains(&key))
        .map_or(key, |(k, _)| k)
}

/// The names to try for `key`: itself, then its aliases.
pub fn names(key: &str) -> impl Iterator<Item = &str> {
    let aliases = ALIASES
        .iter()
        .find(|(k, _)| *k == key)
        .map_or(&[][..], |(_, a)| *a);
    std::iter::once(key).chain(aliases.iter().copied())
}
