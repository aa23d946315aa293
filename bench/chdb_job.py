"""The tokenledger job as ClickHouse SQL in chDB (ClickHouse in-process),
for the benchmark's comparison: read OTLP JSON lines, rebuild each call's
inherited tenant with a recursive CTE, join the billed usage, price it and
group by tenant. The same job as duckdb_job.py.

Usage: chdb_job.py MONTH_DIR PRICING_CSV THREADS
Prints the total cost and the number of tenants, for checking against
tokenledger's summary.
"""
import sys

import chdb

month, pricing, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
session = chdb.session.Session()
session.query(f"SET max_threads = {threads}")
session.query("SET enable_analyzer = 1")

ATTRS = "Array(Tuple(key String, value Tuple(stringValue Nullable(String))))"
SPAN = f"Tuple(traceId String, spanId String, parentSpanId String, attributes {ATTRS})"
SCHEMA = f"resourceSpans Array(Tuple(scopeSpans Array(Tuple(spans Array({SPAN})))))"
SETTINGS = (
    "input_format_skip_unknown_fields = 1, input_format_json_ignore_unknown_keys_in_named_tuple = 1, "
    "input_format_json_defaults_for_missing_elements_in_named_tuple = 1"
)


def attr(key):
    return f"arrayFirst(a -> a.key = '{key}', span.attributes).value.stringValue"


session.query(f"""
CREATE TABLE spans ENGINE = Memory AS
SELECT
    lower(span.traceId) AS trace_id,
    lower(span.spanId) AS span_id,
    nullIf(lower(span.parentSpanId), '') AS parent_id,
    {attr('gen_ai.response.id')} AS response_id,
    {attr('tenant.id')} AS tenant,
    {attr('gen_ai.conversation.id')} AS conversation
FROM file('{month}/spans/*.jsonl', 'JSONEachRow', '{SCHEMA}')
ARRAY JOIN resourceSpans AS r
ARRAY JOIN r.scopeSpans AS s
ARRAY JOIN s.spans AS span
SETTINGS {SETTINGS}
""")

# Each call's nearest tenant.id, else nearest conversation id, up its ancestors.
session.query("""
CREATE TABLE calls ENGINE = Memory AS
WITH RECURSIVE walk AS (
    SELECT trace_id, span_id, response_id, parent_id AS parent, tenant, conversation, 0 AS depth
    FROM spans WHERE response_id IS NOT NULL
    UNION ALL
    SELECT w.trace_id, w.span_id, w.response_id, p.parent_id,
           coalesce(w.tenant, p.tenant), coalesce(w.conversation, p.conversation), w.depth + 1
    FROM walk w JOIN spans p ON p.trace_id = w.trace_id AND p.span_id = w.parent
)
SELECT response_id, argMax(coalesce(tenant, conversation, '(none)'), depth) AS tenant
FROM walk GROUP BY trace_id, span_id, response_id
""")

row = session.query(f"""
WITH usage AS (
    SELECT * FROM file('{month}/usage.csv', 'CSVWithNames',
        'request_id String, timestamp String, provider String, model String, uncached_input_tokens Int64,
         cache_read_tokens Int64, cache_write_5m_tokens Int64, cache_write_1h_tokens Int64,
         output_tokens Int64, batch Bool')
),
prices AS (
    SELECT * FROM file('{pricing}', 'CSVWithNames',
        'provider String, model String, effective_from Date, effective_to Date, input Decimal(18, 6),
         cache_read Decimal(18, 6), cache_write_5m Decimal(18, 6), cache_write_1h Decimal(18, 6),
         output Decimal(18, 6), batch_discount Decimal(18, 6), threshold Int64, lc_input Decimal(18, 6),
         lc_cache_read Decimal(18, 6), lc_cache_write_5m Decimal(18, 6), lc_cache_write_1h Decimal(18, 6),
         lc_output Decimal(18, 6)')
),
priced AS (
    SELECT u.*, p.*, toDate(parseDateTime64BestEffort(u.timestamp, 3)) AS day,
           u.uncached_input_tokens + u.cache_read_tokens + u.cache_write_5m_tokens + u.cache_write_1h_tokens AS prompt
    FROM usage u JOIN prices p ON p.provider = u.provider AND p.model = u.model
    WHERE day >= p.effective_from AND day < p.effective_to AND toYYYYMM(day) = 202506
),
cost AS (
    SELECT request_id,
        toDecimal128(if(prompt > threshold,
            uncached_input_tokens * lc_input + cache_read_tokens * lc_cache_read + cache_write_5m_tokens * lc_cache_write_5m
            + cache_write_1h_tokens * lc_cache_write_1h + output_tokens * lc_output,
            uncached_input_tokens * input + cache_read_tokens * cache_read + cache_write_5m_tokens * cache_write_5m
            + cache_write_1h_tokens * cache_write_1h + output_tokens * output), 12)
        / 1000000 * if(batch, batch_discount, 1) AS usd
    FROM priced
),
by_tenant AS (
    SELECT if(c.response_id = '', '(unattributed)', c.tenant) AS tenant, sum(cost.usd) AS usd
    FROM cost LEFT JOIN calls c ON c.response_id = cost.request_id
    GROUP BY 1
)
SELECT toString(round(sum(usd), 6)), count() FROM by_tenant
""", "TSV").bytes().decode().split()
print(f"total {row[0]} tenants {row[1]}")
