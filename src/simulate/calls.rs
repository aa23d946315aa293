//! One run's model and tool calls: the tokens each inference call draws
//! against its conversation's cache, where it was served, its usage record
//! and its span.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use super::export;
use super::fleet::{
    Caching, Feature, ModelSpec, Served, BEDROCK_IDS, BEDROCK_TENANT, FEATURES, GPT41, HAIKU, O3,
    SUB_AGENT, SUB_AGENT_TOOL, US_TENANT, VOICE,
};
use super::spans::Val;
use super::Conversation;
use crate::model::{Modality, Tier, TokenType, Tokens};
use crate::price::Qualifiers;

/// One inference call once drawn: what its usage record and span carry.
struct Drawn {
    /// The provider's response id.
    id: String,
    /// When it ended (Unix ns), and as a time.
    end: i64,
    ended: DateTime<Utc>,
    served: Served,
    /// As billed: uncached input, cache reads, 5-minute and 1-hour cache
    /// writes, output.
    tokens: Tokens,
    /// With `--charges`: o3's reasoning tokens (a part of output).
    reasoning: u64,
    /// With `--charges`: the call's web searches.
    web_searches: u64,
}

impl super::Month {
    /// A call of `tool` (named `name` on its span) between steps;
    /// `deep_research` runs a sub-agent inside it.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn tool(
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
    pub(super) fn call(
        &mut self,
        trace_id: u128,
        parent: u64,
        start: i64,
        model: &ModelSpec,
        conversation: &mut Conversation,
        feature: &Feature,
    ) -> std::io::Result<i64> {
        self.stats.calls += 1;
        let (prompt, [uncached, read, write_5m, write_1h]) =
            self.prompt(model, conversation, feature);
        let rng = &mut self.rng;
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
        let call = Drawn {
            id,
            end,
            ended,
            served,
            tokens: Tokens::new([uncached, read, write_5m, write_1h, output])
                .expect("simulated counts are far below MAX_TOKENS"),
            reasoning,
            web_searches,
        };
        if billed {
            self.bill(&call, model, feature)?;
        }
        if exported {
            self.export_span(trace_id, parent, start, model, call);
        }
        Ok(end + 1_000_000)
    }

    /// A call's prompt: the new input drawn (with, now and then, a long
    /// document) on top of the conversation, read from and written to its
    /// cache as `model` caches. Returns the prompt's tokens and their split:
    /// uncached, cache read, 5-minute and 1-hour cache writes.
    fn prompt(
        &mut self,
        model: &ModelSpec,
        conversation: &mut Conversation,
        feature: &Feature,
    ) -> (u64, [u64; 4]) {
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
        (prompt, [uncached, read, write_5m, write_1h])
    }

    /// A drawn call's usage record, priced onto its provider's invoice.
    fn bill(&mut self, call: &Drawn, model: &ModelSpec, feature: &Feature) -> std::io::Result<()> {
        self.stats.usage_records += 1;
        let served = &call.served;
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
            call.ended,
            &call.tokens,
            &modalities,
            &qualifiers,
            call.web_searches,
        );
        self.usage.write(&export::BilledCall {
            id: &call.id,
            end_ns: call.end,
            provider: served.provider,
            model: served.model,
            requested: model.requested,
            openrouter: model.openrouter,
            tokens: call.tokens,
            batch,
            reasoning: call.reasoning,
            web_searches: call.web_searches,
            tier,
            geo: served.geo,
            audio: served.audio,
            cost,
        })
    }

    /// A drawn call's inference span, under `parent`.
    fn export_span(
        &mut self,
        trace_id: u128,
        parent: u64,
        start: i64,
        model: &ModelSpec,
        call: Drawn,
    ) {
        let [uncached, read, write_5m, write_1h, output] = call.tokens.counts();
        let served = call.served;
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
            ("gen_ai.response.id", Val::Str(call.id)),
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
        self.span(trace_id, span_id, parent, name, 3, start, call.end, attrs);
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
}
