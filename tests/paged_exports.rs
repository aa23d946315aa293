//! A paged export is read whole and once: a LiteLLM `/spend/logs/v2`
//! listing missing a page is refused (its logs would be lost), an empty
//! page is a page; a cost report's bucket given again in another file is
//! refused (summed, it doubles its day); a provider usage report's day given
//! twice is refused rather than blamed on the gateway.

use crate::workdir::Workdir;

/// A LiteLLM v2 page `page` of a listing of `pages` pages of one log each.
fn litellm_page(page: u32, pages: u32) -> String {
    format!(
        r#"{{"data": [{{"request_id": "chatcmpl-{page}", "startTime": "2025-09-0{page}T10:00:00",
  "model": "gpt-4.1-2025-04-14", "custom_llm_provider": "openai", "prompt_tokens": 1000,
  "completion_tokens": 100, "spend": 0.0028, "status": "success"}}],
 "total": {pages}, "page": {page}, "page_size": 1, "total_pages": {pages}}}
"#
    )
}

const CHECK: [&str; 6] = [
    "pricing", "check", "--period", "2025-09", "--usage", "pages",
];

#[test]
fn a_litellm_listing_missing_a_page_is_refused_and_an_empty_page_read() {
    let wd = Workdir::new("paged-litellm");
    wd.write("pages/p1.json", &litellm_page(1, 3));
    wd.write("pages/p3.json", &litellm_page(3, 3));
    let stderr = wd.fail(&CHECK, 2);
    assert!(
        stderr.contains(
            "LiteLLM /spend/logs/v2 listing of 3 logs (3 pages of 1): page 2 of 3 was not given \
             (1 missing; read: 1 (pages/p1.json), 3 (pages/p3.json))"
        ),
        "{stderr}"
    );
    wd.write("pages/p2.json", &litellm_page(2, 3));
    // Another team's listing of no logs, and a loop's empty last page.
    wd.write(
        "pages/empty.json",
        r#"{"data": [], "total": 0, "page": 1, "page_size": 50, "total_pages": 0}"#,
    );
    wd.write(
        "pages/p4.json",
        r#"{"data": [], "total": 3, "page": 4, "page_size": 1, "total_pages": 3}"#,
    );
    let stdout = wd.run(&CHECK);
    assert!(stdout.contains("0 gap(s), 0 differing rate(s)"), "{stdout}");
}
