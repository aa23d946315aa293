//! Bedrock's cross-region inference profiles: a model id under one
//! (`global.…`, `us.…`) and the in-region model it is priced as.

/// Bedrock's geographic cross-region inference profiles, whose prefix
/// costs what the model costs in one region.
const GEO_PROFILES: [&str; 6] = ["us.", "eu.", "apac.", "jp.", "au.", "us-gov."];

/// Bedrock's global cross-region inference profile: priced apart (for
/// recent Claude models about 10 % below a region).
pub const GLOBAL_PROFILE: &str = "global.";

/// A Bedrock model id under a cross-region inference profile, as the
/// in-region model it is priced as when the table names no entry for the
/// profile itself, and whether the profile is `global.`: a geographic
/// profile (`us.…`) costs what the region costs, a global one the
/// in-region entry's rates times its `[model.geo.global]` (pricing stops,
/// naming it, when the entry has none).
pub(super) fn profile_model<'m>(provider: &str, model: &'m str) -> Option<(&'m str, bool)> {
    if provider != "aws.bedrock" {
        return None;
    }
    if let Some(in_region) = model.strip_prefix(GLOBAL_PROFILE) {
        return Some((in_region, true));
    }
    GEO_PROFILES
        .iter()
        .find_map(|p| model.strip_prefix(p))
        .map(|m| (m, false))
}

/// A Bedrock model id under a cross-region profile, as its in-region
/// model's id (`global.anthropic.claude-sonnet-4-6-v1` is
/// `anthropic.claude-sonnet-4-6-v1`); `None` for a model under none.
pub fn in_region_name<'m>(provider: &str, model: &'m str) -> Option<&'m str> {
    profile_model(provider, model).map(|(in_region, _)| in_region)
}
