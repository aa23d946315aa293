//! The model a cloud bill's line not charged per token names: a model's
//! provisioned throughput, reserved capacity, customization or cache
//! storage (`USE1-Claude4.5Sonnet-reserved-1-month-…`, `Gemini 3 Flash Text
//! Input Caching Storage`). Its meter's leading words are the candidates,
//! the longest run first; the table resolves them as it resolves a usage
//! meter's model, and the first it knows is the line's model.

use super::Cloud;

/// The most leading words a candidate holds.
const MOST_WORDS: usize = 12;

/// The names `meter` may give its model, longest first: an AWS usage
/// type's words after its region, joined by `-` (a Marketplace row's
/// model is its `product`'s name, `Claude Sonnet 4.6 (Amazon Bedrock
/// Edition)`, whatever its usage type); a Google SKU's or an Azure meter's words
/// (`AI Dev Tools: ` and a Claude SKU's ` — ` parts left out), by spaces.
pub fn model_names(cloud: Cloud, meter: &str, product: Option<&str>) -> Vec<String> {
    let (text, separators, joiner): (&str, &[char], &str) = match cloud {
        Cloud::Aws => {
            let rest = super::aws::strip_region(meter);
            // A Marketplace row (its tax too) names its model by product.
            let edition = product.is_some_and(|p| p.ends_with(" (Amazon Bedrock Edition)"));
            if super::aws::is_marketplace(rest) || edition {
                let model = product.map(|p| p.trim_end_matches(" (Amazon Bedrock Edition)").trim());
                return model
                    .filter(|m| !m.is_empty())
                    .map(str::to_string)
                    .into_iter()
                    .collect();
            }
            (rest, &['-'], "-")
        }
        Cloud::Gcp => {
            let sku = meter.trim();
            let sku = sku.strip_prefix("AI Dev Tools: ").unwrap_or(sku);
            (sku.split(" — ").next().unwrap_or(sku), &[' '], " ")
        }
        Cloud::Azure => (meter, &[' ', '-'], " "),
    };
    let words: Vec<&str> = text
        .split(separators)
        .filter(|w| !w.is_empty())
        .take(MOST_WORDS)
        .collect();
    (1..=words.len())
        .rev()
        .map(|n| words[..n].join(joiner))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_meters_leading_words_are_its_models_candidates() {
        assert_eq!(
            model_names(Cloud::Aws, "EU-Claude4.5Sonnet-reserved-1-month", None),
            [
                "Claude4.5Sonnet-reserved-1-month",
                "Claude4.5Sonnet-reserved-1",
                "Claude4.5Sonnet-reserved",
                "Claude4.5Sonnet"
            ]
        );
        let product = Some("Claude Sonnet 4.6 (Amazon Bedrock Edition)");
        assert_eq!(
            model_names(
                Cloud::Aws,
                "USE1-MP:USE1_ProvisionedThroughput_ModelUnits-Units",
                product
            ),
            ["Claude Sonnet 4.6"]
        );
        assert!(model_names(Cloud::Aws, "USE1-MP:USE1_search_units-Units", None).is_empty());
        assert_eq!(model_names(Cloud::Aws, "", product), ["Claude Sonnet 4.6"]);
        assert_eq!(
            model_names(Cloud::Gcp, "Gemini 3 Flash Caching Storage", None),
            [
                "Gemini 3 Flash Caching Storage",
                "Gemini 3 Flash Caching",
                "Gemini 3 Flash",
                "Gemini 3",
                "Gemini"
            ]
        );
        assert_eq!(
            model_names(
                Cloud::Gcp,
                "AI Dev Tools: Claude Opus 4.8 — Cache Storage — global",
                None
            )[0],
            "Claude Opus 4.8"
        );
        assert_eq!(
            model_names(Cloud::Azure, "gpt-4o PTU", None),
            ["gpt 4o PTU", "gpt 4o", "gpt"]
        );
    }
}
