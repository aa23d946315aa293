//! How cloud bills name a model's usage, read into (model, token type,
//! rate qualifiers). Each cloud spells its meters in a grammar of its own
//! (an AWS usage type, a Google Cloud SKU description, an Azure meter
//! name); the grammar is code here, the model names are data: a bill's
//! model name is resolved by the pricing table's `[[meter]]` entries, else
//! by its slug (`Gemini 2.5 Flash` → `gemini-2.5-flash`) where the table
//! prices that name ([`ModelNames`]).
//!
//! A meter reads as per-token usage, a per-request charge, a fixed charge
//! of a model service (provisioned throughput, capacity, storage, custom
//! models: not per token), or nothing this grammar knows. A fixed
//! charge, or a credit on a model's row, names its model by its meter's
//! leading words ([`model_names`]).

use chrono::NaiveDate;

use super::Meter;

/// A cloud that bills models under its own meter names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Cloud {
    /// Amazon Web Services (Bedrock).
    Aws,
    /// Google Cloud (Vertex AI).
    Gcp,
    /// Microsoft Azure (Azure OpenAI, AI Foundry).
    Azure,
}

impl Cloud {
    /// Every cloud.
    pub const ALL: [Cloud; 3] = [Cloud::Aws, Cloud::Gcp, Cloud::Azure];

    /// Its name in `[[meter]]` entries.
    pub fn name(self) -> &'static str {
        match self {
            Cloud::Aws => "aws",
            Cloud::Gcp => "gcp",
            Cloud::Azure => "azure",
        }
    }

    /// The provider its model usage is billed as (usage records name it so).
    pub fn provider(self) -> &'static str {
        match self {
            Cloud::Aws => "aws.bedrock",
            Cloud::Gcp => "google",
            Cloud::Azure => "azure",
        }
    }

    /// The cloud called `name`, in any case (a hand-written bill's `AWS`).
    pub fn parse(name: &str) -> Option<Cloud> {
        Cloud::ALL
            .into_iter()
            .find(|c| c.name().eq_ignore_ascii_case(name))
    }

    /// The provider whose usage a bill line of `provider` is of: a cloud's
    /// credits and tax (`aws`) its model usage's (`aws.bedrock`), any
    /// other provider itself.
    pub fn usage_provider(provider: &str) -> &str {
        match Cloud::parse(provider) {
            Some(cloud) => cloud.provider(),
            None => provider,
        }
    }
}

/// What resolves a bill's model name to a model the pricing table prices.
pub trait ModelNames {
    /// The (provider, model) `name` (as `cloud`'s bill spells it, with the
    /// rate's `qualifiers` its meter states) means on `day`, if the table
    /// knows it.
    fn resolve(
        &self,
        cloud: Cloud,
        name: &str,
        qualifiers: &[String],
        day: NaiveDate,
    ) -> Option<(String, String)>;
}

/// A bill's meter, read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Read {
    /// Tokens (or requests) of a model: its name as the bill spells it,
    /// what is charged, and the rate's qualifiers the meter states.
    Usage {
        /// The model as the bill names it (`Claude4.6Sonnet`,
        /// `anthropic.claude-opus-4-8`, `Gemini 2.5 Flash`, `gpt 4o 0513`).
        model: String,
        /// Token type (or request charge).
        meter: Meter,
        /// Tier, scope and context band words (`batch global`).
        qualifiers: Vec<String>,
    },
    /// Requests of a per-request charge (`web_search`) of every model the
    /// cloud bills as its provider: the line names no model.
    Requests(String),
    /// A model service's charge that is not per token.
    Fixed,
    /// Not a meter of this grammar.
    Unknown,
}

mod aws;
mod azure;
pub mod gcp;
mod named;

pub use aws::aws;
pub use azure::azure;
pub use gcp::gcp;
pub use named::model_names;

/// A meter read as usage of `model`.
fn usage(model: &str, meter: Meter, qualifiers: Vec<String>) -> Read {
    Read::Usage {
        model: model.trim().to_string(),
        meter,
        qualifiers,
    }
}

/// A bill's model name as a model id might spell it: lower case, words and
/// dots joined by `-` (`Gemini 2.5 Flash` → `gemini-2.5-flash`, `Claude
/// Sonnet 4.6` → `claude-sonnet-4-6` by [`slug_dashed`], `gpt 4o mini 0718` →
/// `gpt-4o-mini-0718`); Azure's bare GPT versions (`5.4 mini`) gain `gpt-`.
pub fn slug(cloud: Cloud, name: &str) -> String {
    let slug = name
        .split_whitespace()
        .collect::<Vec<_>>()
        .join("-")
        .to_ascii_lowercase();
    match cloud {
        Cloud::Azure if slug.starts_with(|c: char| c.is_ascii_digit()) => format!("gpt-{slug}"),
        _ => slug,
    }
}

/// [`slug`] with dots as dashes too (`claude-sonnet-4-6`).
pub fn slug_dashed(cloud: Cloud, name: &str) -> String {
    slug(cloud, name).replace('.', "-")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TokenType;

    /// What a meter of `model`'s `token` with `qualifiers` reads as: the
    /// expectation each cloud's tests build.
    pub(super) fn read(model: &str, token: TokenType, qualifiers: &[&str]) -> Read {
        Read::Usage {
            model: model.into(),
            meter: Meter::Tokens(token),
            qualifiers: qualifiers.iter().map(|q| q.to_string()).collect(),
        }
    }

    #[test]
    fn slugs_meet_the_tables_names() {
        assert_eq!(slug(Cloud::Gcp, "Gemini 2.5 Flash"), "gemini-2.5-flash");
        assert_eq!(
            slug_dashed(Cloud::Gcp, "Claude Sonnet 4.6"),
            "claude-sonnet-4-6"
        );
        assert_eq!(
            slug_dashed(Cloud::Gcp, "Claude Opus 4 8"),
            "claude-opus-4-8"
        );
        assert_eq!(slug(Cloud::Azure, "5.4 mini"), "gpt-5.4-mini");
        assert_eq!(slug(Cloud::Azure, "gpt 4.1 mini"), "gpt-4.1-mini");
    }
}
