//! Thinking tokens a wrapper inference span counted and the call inside it
//! left out, passed down to that call (what the request was billed).

use crate::model::Span;

/// An inference span inside a wrapper that counted thinking tokens its own
/// output count leaves out (ADK's `call_llm`, whose raw Gemini response has
/// `thoughts_token_count`, around google-genai's `generate_content`) takes
/// the wrapper's output and reasoning counts: what the request was billed.
/// Wrappers inside wrappers pass their counts down outermost first, so the
/// innermost call gets them whatever order the spans were read in.
pub(super) fn pass_down(spans: &mut [Span], wrapped_by: &[Option<u32>]) {
    // Each span's count of wrappers above it, each chain climbed once.
    let mut depth: Vec<Option<u32>> = vec![None; spans.len()];
    let mut chain = Vec::new();
    for start in 0..spans.len() {
        let mut i = start;
        while depth[i].is_none() {
            chain.push(i);
            match wrapped_by[i] {
                Some(outer) => i = outer as usize,
                None => break,
            }
        }
        let mut above = depth[i].map_or(0, |d| d + 1);
        while let Some(node) = chain.pop() {
            above = if wrapped_by[node].is_some() { above } else { 0 };
            depth[node] = Some(above);
            above += 1;
        }
    }
    let mut outermost_first: Vec<(Option<u32>, usize)> = (0..spans.len())
        .filter(|&i| wrapped_by[i].is_some())
        .map(|i| (depth[i], i))
        .collect();
    outermost_first.sort_unstable();
    for (_, inner) in outermost_first {
        let outer = wrapped_by[inner].expect("wrapped") as usize;
        let Some(wrapper) = spans[outer].call.as_ref() else {
            continue;
        };
        let (Some(thoughts), Some(output)) = (wrapper.reasoning_tokens, wrapper.output_tokens)
        else {
            continue;
        };
        if let Some(call) = spans[inner].call.as_mut() {
            if call.reasoning_tokens.is_none()
                && call.output_tokens.map(|n| n + thoughts) == Some(output)
            {
                call.output_tokens = Some(output);
                call.reasoning_tokens = Some(thoughts);
            }
        }
    }
}
