//! The names a span gives its agent or tool, read as each library writes
//! them: the GenAI attributes, then the libraries' own (OpenLLMetry's
//! `traceloop.entity.name`, OpenInference's `graph.node.id`, CrewAI's role),
//! then the span's name.

use std::borrow::Cow;

use super::Attributes;
use crate::dimension::{MIXED, NONE, PLACEHOLDERS};
use crate::intern::{Interner, Sym};
use crate::read::semconv::NAME_PREFIXES;

/// A tenant, feature, agent or tool as a span names it (`field`), trimmed
/// and interned: an empty name, or `(none)`, the reports' row of no value,
/// is no value; another row label ((unattributed), (mixed), (unallocated),
/// (invoice only)) is refused: its spend would merge with that row in some
/// answers (forecast.csv, by_outcome.csv, diff) and stand apart in others
/// (by_tenant.csv, budget.csv).
pub(super) fn intern_name(
    name: Option<Cow<'_, str>>,
    field: &str,
    interner: &mut Interner,
) -> Result<Option<Sym>, String> {
    let Some(name) = name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty() && *n != NONE)
    else {
        return Ok(None);
    };
    if PLACEHOLDERS.contains(&name) || name == MIXED {
        return Err(format!(
            "{field}: \"{name}\" is a name the reports give to a row of their own (spend no \
             span names, or runs that mix values): rename it where the spans are made"
        ));
    }
    Ok(Some(interner.intern(name)))
}

/// The attribute naming an OpenLLMetry span's kind (`agent`, `tool`, …);
/// such a span is named `{entity}.{kind}` (`researcher.agent`,
/// `web_search.tool`), the entity also in `traceloop.entity.name`.
const TRACELOOP_KIND: &str = "traceloop.span.kind";

/// The entity an OpenLLMetry span of `kind` (`agent`, `tool`) names:
/// `traceloop.entity.name`, else its span name without `.{kind}`. None
/// for any other span.
fn traceloop_entity<'a>(
    attrs: &'a dyn Attributes,
    name: &'a str,
    kind: &str,
) -> Option<Cow<'a, str>> {
    let of_kind = attrs
        .text(TRACELOOP_KIND)
        .is_some_and(|k| k.eq_ignore_ascii_case(kind));
    if !of_kind {
        return None;
    }
    let bare = name
        .strip_suffix(kind)
        .and_then(|n| n.strip_suffix('.'))
        .filter(|n| !n.is_empty());
    attrs
        .text("traceloop.entity.name")
        .or_else(|| bare.map(Cow::Borrowed))
}

/// A tool span's tool: `gen_ai.tool.name` (or an alias), else OpenLLMetry's
/// entity, else what the span's name says.
pub(super) fn tool_name<'a>(
    attrs: &'a dyn Attributes,
    name: &'a str,
    op: &str,
) -> Option<Cow<'a, str>> {
    attrs
        .text("gen_ai.tool.name")
        .or_else(|| traceloop_entity(attrs, name, "tool"))
        .or_else(|| name_target(name, op).map(Cow::Borrowed))
}

/// An agent span's agent: `gen_ai.agent.name` (or an alias), else
/// OpenLLMetry's entity (CrewAI's role under OpenLLMetry: `{role}.agent`),
/// else OpenInference's `graph.node.id`, else the role CrewAI writes into the
/// span's `input.value` or its name (`Researcher.research-task._execute_core`),
/// else what the span's name says (`invoke_agent Planner`).
pub(super) fn agent_name<'a>(
    attrs: &'a dyn Attributes,
    name: &'a str,
    op: &str,
) -> Option<Cow<'a, str>> {
    attrs
        .text("gen_ai.agent.name")
        .or_else(|| traceloop_entity(attrs, name, "agent"))
        .or_else(|| attrs.text("graph.node.id"))
        .or_else(|| {
            attrs
                .text("input.value")
                .and_then(|v| crew_role(&v))
                .map(Cow::Owned)
        })
        .or_else(|| crew_name_role(name).map(Cow::Borrowed))
        .or_else(|| name_target(name, op).map(Cow::Borrowed))
}

/// CrewAI's agent role inside an AGENT span's `input.value`: the agent's
/// repr, `role='Senior Researcher' goal=…`, or a serialised agent's
/// `"role": "…"`.
fn crew_role(input: &str) -> Option<String> {
    if let Some(at) = input.find("role='") {
        let rest = &input[at + 6..];
        return rest
            .find('\'')
            .map(|end| rest[..end].to_string())
            .filter(|r| !r.is_empty());
    }
    let value: serde_json::Value = serde_json::from_str(input).ok()?;
    let agent = value.get("agent").unwrap_or(&value);
    agent
        .get("role")?
        .as_str()
        .filter(|r| !r.is_empty())
        .map(str::to_string)
}

/// The role in CrewAI's span names: `{role}.{task}._execute_core`,
/// `{role}._execute_core`, `{role}.{task}.execute`, `{role}.kickoff`; not
/// the class of older versions' `Task._execute_core`.
fn crew_name_role(name: &str) -> Option<&str> {
    let body = ["._execute_core", ".execute", ".kickoff"]
        .iter()
        .find_map(|suffix| name.strip_suffix(suffix))?;
    let role = body.split('.').next()?;
    (!role.is_empty() && !matches!(role, "Task" | "Crew" | "Agent")).then_some(role)
}

/// The name a span's own name gives its agent or tool: after a
/// [`NAME_PREFIXES`] prefix (quotes dropped), after the operation word
/// (`invoke_agent Planner`), or, for a span whose kind attribute made it an
/// agent or tool (OpenInference), the whole name.
fn name_target<'n>(name: &'n str, op: &str) -> Option<&'n str> {
    let from_prefix = NAME_PREFIXES
        .iter()
        .find(|(prefix, o)| *o == op && name.starts_with(prefix))
        .map(|(prefix, _)| name[prefix.len()..].trim().trim_matches(['\'', '"', ']']));
    let target = match from_prefix {
        Some(rest) => rest,
        None => match name.split_once(' ') {
            Some((first, rest)) if first == op => rest,
            _ if name.split(' ').next() == Some(op) => "",
            _ => name,
        },
    };
    (!target.is_empty()).then_some(target)
}
