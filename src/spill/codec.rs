//! A span's binary form in a spill file: fixed-width little-endian
//! fields, symbols as their integers, optional counts behind a bit set.

use crate::intern::Sym;
use crate::model::{CallInfo, Origin, Role, Span};

const ROLES: [Role; 5] = [
    Role::Agent,
    Role::Tool,
    Role::Call,
    Role::Other,
    Role::IdOnly,
];

/// Append `span`'s binary form to `out`: fixed-width little-endian fields,
/// symbols as their integers, optional counts behind a bit set.
pub fn encode(span: &Span, out: &mut Vec<u8>) {
    out.extend_from_slice(&span.trace_id.to_le_bytes());
    out.extend_from_slice(&span.span_id.to_le_bytes());
    out.extend_from_slice(&span.parent_id.to_le_bytes());
    let role = ROLES.iter().position(|&r| r == span.role).expect("a role") as u8;
    out.push(role);
    for sym in [span.agent, span.tool, span.feature, span.outcome] {
        out.extend_from_slice(&Sym::to_raw(sym).to_le_bytes());
    }
    let (rank, tenant) = span.tenant.map_or((0, None), |(r, t)| (r + 1, Some(t)));
    out.push(rank);
    out.extend_from_slice(&Sym::to_raw(tenant).to_le_bytes());
    out.extend_from_slice(&span.origin.file.to_le_bytes());
    out.extend_from_slice(&span.origin.line.to_le_bytes());
    match &span.call {
        None => out.push(0),
        Some(call) => {
            out.push(1);
            encode_call(call, out);
        }
    }
}

fn encode_call(call: &CallInfo, out: &mut Vec<u8>) {
    let counts = [call.input_tokens, call.output_tokens, call.reasoning_tokens];
    let mut present = 0u8;
    for (bit, count) in counts.iter().enumerate() {
        present |= u8::from(count.is_some()) << bit;
    }
    present |= u8::from(call.step.is_some()) << 3;
    present |= u8::from(call.join_key.is_some()) << 4;
    out.push(present);
    out.extend_from_slice(&Sym::to_raw(Some(call.name)).to_le_bytes());
    out.extend_from_slice(&Sym::to_raw(call.model).to_le_bytes());
    for count in counts.into_iter().flatten() {
        out.extend_from_slice(&count.to_le_bytes());
    }
    out.extend_from_slice(&call.start_ns.to_le_bytes());
    if let Some(step) = call.step {
        out.extend_from_slice(&step.to_le_bytes());
    }
    if let Some(key) = &call.join_key {
        out.extend_from_slice(&(key.len() as u32).to_le_bytes());
        out.extend_from_slice(key.as_bytes());
    }
}

/// Take `N` bytes off the front of `bytes`.
fn take<const N: usize>(bytes: &mut &[u8]) -> [u8; N] {
    let (head, rest) = bytes.split_at(N);
    *bytes = rest;
    head.try_into().expect("N bytes")
}

fn u32_of(bytes: &mut &[u8]) -> u32 {
    u32::from_le_bytes(take(bytes))
}

fn u64_of(bytes: &mut &[u8]) -> u64 {
    u64::from_le_bytes(take(bytes))
}

/// Read back one span [`encode`] wrote at the front of `bytes`.
pub fn decode(bytes: &mut &[u8]) -> Span {
    let trace_id = u128::from_le_bytes(take(bytes));
    let span_id = u64_of(bytes);
    let parent_id = u64_of(bytes);
    let role = ROLES[usize::from(take::<1>(bytes)[0])];
    let [agent, tool, feature, outcome] = [(); 4].map(|()| Sym::from_raw(u32_of(bytes)));
    let rank = take::<1>(bytes)[0];
    let tenant = Sym::from_raw(u32_of(bytes)).map(|t| (rank.wrapping_sub(1), t));
    let origin = Origin {
        file: u32_of(bytes),
        line: u64_of(bytes),
    };
    let call = (take::<1>(bytes)[0] == 1).then(|| Box::new(decode_call(bytes)));
    Span {
        trace_id,
        span_id,
        parent_id,
        role,
        agent,
        tool,
        tenant,
        feature,
        outcome,
        call,
        origin,
    }
}

fn decode_call(bytes: &mut &[u8]) -> CallInfo {
    let present = take::<1>(bytes)[0];
    let has = |bit: u8| present & (1 << bit) != 0;
    let name = Sym::from_raw(u32_of(bytes)).expect("a call's name");
    let model = Sym::from_raw(u32_of(bytes));
    let [input_tokens, output_tokens, reasoning_tokens] =
        [0, 1, 2].map(|bit| has(bit).then(|| u64_of(bytes)));
    let start_ns = u64_of(bytes);
    let step = has(3).then(|| u32_of(bytes));
    let join_key = has(4).then(|| {
        let len = u32_of(bytes) as usize;
        let (key, rest) = bytes.split_at(len);
        *bytes = rest;
        Box::from(std::str::from_utf8(key).expect("a key spilled as UTF-8"))
    });
    CallInfo {
        join_key,
        name,
        model,
        input_tokens,
        output_tokens,
        reasoning_tokens,
        start_ns,
        step,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intern::Interner;

    fn span(interner: &mut Interner, trace_id: u128, call: bool) -> Span {
        Span {
            trace_id,
            span_id: 7,
            parent_id: 3,
            role: if call { Role::Call } else { Role::Tool },
            agent: None,
            tool: Some(interner.intern("search")),
            tenant: Some((0, interner.intern("acme"))),
            feature: None,
            outcome: Some(interner.intern("ok")),
            call: call.then(|| {
                Box::new(CallInfo {
                    join_key: Some("resp_é1".into()),
                    name: interner.intern("chat"),
                    model: Some(interner.intern("gpt-4o")),
                    input_tokens: Some(12),
                    output_tokens: None,
                    reasoning_tokens: Some(3),
                    start_ns: 99,
                    step: Some(2),
                })
            }),
            origin: Origin { file: 4, line: 123 },
        }
    }

    #[test]
    fn a_span_reads_back_as_written() {
        let mut interner = Interner::default();
        let spans = [
            span(&mut interner, 1 << 100, true),
            span(&mut interner, 5, false),
        ];
        let mut bytes = Vec::new();
        for s in &spans {
            encode(s, &mut bytes);
        }
        let mut rest = bytes.as_slice();
        assert_eq!(decode(&mut rest), spans[0]);
        assert_eq!(decode(&mut rest), spans[1]);
        assert!(rest.is_empty());
    }
}
