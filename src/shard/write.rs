//! A shard's resolved trees written as a partial directory.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{Meta, PartialCall, TRACES};
use crate::dimension::Dimension;
use crate::error::{Error, Result};
use crate::intern::{Interner, Sym};
use crate::pipeline::config::SpanConfig;
use crate::pipeline::intake::Intake;
use crate::read::InputKind;
use crate::tree::Resolved;
use crate::write::{OutDir, OutputKind};

/// Write a shard's resolved trees into `out` as a partial, with what
/// `intake` says the shard read and skipped (it read the spans only). The
/// shard, its keys and whether the span files held its traces only
/// (`--whole-traces`) come from `spans`; `inputs` are every input path,
/// which `out` may not touch.
pub fn write_partial(
    out: &Path,
    inputs: &[PathBuf],
    spans: &SpanConfig,
    (interner, intake): (&Interner, &Intake),
    resolved: &Resolved,
) -> Result<()> {
    let calls = calls_jsonl(resolved, interner)?;
    let meta = meta(spans, (interner, intake), resolved);
    let dir = OutDir::create(out, inputs, OutputKind::Partial)?;
    let mut json = serde_json::to_vec_pretty(&meta).map_err(|e| Error::fatal(e.to_string()))?;
    json.write_all(b"\n").expect("writing to memory");
    dir.write("partial.json", &json)?;
    dir.write("calls.jsonl", &calls)?;
    let mut traces = resolved.trace_ids.clone();
    traces.sort_unstable();
    let traces: String = traces.iter().map(|t| format!("{t:032x}\n")).collect();
    dir.write(TRACES, traces.as_bytes())?;
    dir.commit()
}

/// One JSON line per resolved call.
fn calls_jsonl(resolved: &Resolved, interner: &Interner) -> Result<Vec<u8>> {
    let name = |sym: Option<Sym>| sym.map(|s| interner.get(s).to_string());
    let mut calls = Vec::new();
    for call in &resolved.calls {
        let info = call.info();
        let line = PartialCall {
            trace: format!("{:032x}", call.trace_id),
            span: format!("{:016x}", call.span_id),
            name: interner.get(info.name).to_string(),
            join_key: info.join_key.as_deref().map(str::to_string),
            model: name(info.model),
            input_tokens: info.input_tokens,
            output_tokens: info.output_tokens,
            reasoning_tokens: info.reasoning_tokens,
            start_ns: info.start_ns,
            own_step: info.step,
            step: call.step,
            tenant: name(call.dims.values[Dimension::Tenant]),
            feature: name(call.dims.values[Dimension::Feature]),
            agent: name(call.dims.values[Dimension::Agent]),
            tool: name(call.dims.values[Dimension::Tool]),
            root_agent: name(call.dims.root_agent),
            agents: call.dims.agents.iter().map(name).collect(),
            file: call.origin.file,
            line: call.origin.line,
        };
        serde_json::to_writer(&mut calls, &line).map_err(|e| Error::fatal(e.to_string()))?;
        calls.push(b'\n');
    }
    Ok(calls)
}

/// `partial.json`: what the shard read, kept and skipped.
fn meta(spans: &SpanConfig, (interner, intake): (&Interner, &Intake), resolved: &Resolved) -> Meta {
    let keys = &spans.keys;
    let whole_traces = spans.whole_traces;
    let shard = keys.shard.expect("a shard's partial");
    let inputs_before = intake
        .inputs
        .iter()
        .filter(|i| i.kind != InputKind::Spans)
        .count();
    Meta {
        tokenledger_version: env!("CARGO_PKG_VERSION").to_string(),
        shard,
        tenant_attr: keys.tenant.clone(),
        feature_attr: keys.feature.clone(),
        join_attr: keys.join.clone(),
        outcome_attr: keys.outcome.clone(),
        inputs_before_spans: inputs_before,
        span_files: intake.inputs[inputs_before..]
            .iter()
            .map(|i| (i.path.clone(), i.format.to_string(), i.records))
            .collect(),
        span_file_skips: intake.inputs[inputs_before..]
            .iter()
            .map(|i| {
                if whole_traces || shard.index == 0 {
                    i.skipped
                } else {
                    0
                }
            })
            .collect(),
        whole_traces,
        span_file_sources: intake.inputs[inputs_before..]
            .iter()
            .map(|i| i.part_of.as_ref().map(|p| p.source.clone()))
            .collect(),
        span_file_fingerprints: intake.inputs[inputs_before..]
            .iter()
            .map(|i| i.fingerprint.clone())
            .collect(),
        spans: intake.counts.spans,
        traces: resolved.traces,
        orphan_spans: resolved.orphan_spans,
        duplicate_spans: resolved.duplicate_spans,
        wrapper_spans: resolved.wrapper_spans,
        ids_not_calls: resolved.ids_not_calls,
        skipped: intake.skips.by_kind.clone(),
        skipped_first: intake.skips.first.clone(),
        skipped_span_files: intake.skipped_files.clone(),
        outcomes: resolved
            .outcomes
            .iter()
            .map(|(t, o)| (format!("{t:032x}"), interner.get(o).to_string()))
            .collect(),
    }
}
