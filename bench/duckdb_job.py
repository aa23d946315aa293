"""The tokenledger job as DuckDB SQL, for the benchmark's comparison:
read OTLP JSON lines, rebuild each call's inherited tenant with a recursive
CTE, join the billed usage, price it and group by tenant.

Usage: duckdb_job.py MONTH_DIR PRICING_CSV THREADS
Prints the total cost and the number of tenants, for checking against
tokenledger's summary.
"""
import sys

import duckdb

month, pricing, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
con = duckdb.connect()
con.execute(f"SET threads = {threads}")

ATTRS = "STRUCT(key VARCHAR, value STRUCT(stringValue VARCHAR))[]"
SPAN = f"STRUCT(traceId VARCHAR, spanId VARCHAR, parentSpanId VARCHAR, name VARCHAR, attributes {ATTRS})"
COLUMNS = (
    "{'resourceSpans': 'STRUCT(resource STRUCT(attributes "
    + ATTRS
    + "), scopeSpans STRUCT(spans "
    + SPAN
    + "[])[])[]'}"
)

con.execute(f"""
CREATE TABLE spans AS
WITH lines AS (
    SELECT resourceSpans FROM read_ndjson('{month}/spans/*.jsonl', columns = {COLUMNS}, maximum_object_size = 1073741824)
),
rs AS (SELECT unnest(resourceSpans) AS r FROM lines),
ss AS (SELECT unnest(r.scopeSpans) AS s FROM rs),
sp AS (SELECT unnest(s.spans) AS span FROM ss)
SELECT
    lower(span.traceId) AS trace_id,
    lower(span.spanId) AS span_id,
    nullif(lower(span.parentSpanId), '') AS parent_id,
    list_filter(span.attributes, lambda a: a.key = 'gen_ai.operation.name')[1].value.stringValue AS op,
    list_filter(span.attributes, lambda a: a.key = 'gen_ai.response.id')[1].value.stringValue AS response_id,
    list_filter(span.attributes, lambda a: a.key = 'tenant.id')[1].value.stringValue AS tenant,
    list_filter(span.attributes, lambda a: a.key = 'gen_ai.conversation.id')[1].value.stringValue AS conversation
FROM sp
""")

# Each call's nearest tenant.id, else nearest conversation id, up its ancestors.
con.execute("""
CREATE TABLE calls AS
WITH RECURSIVE walk(trace_id, span_id, response_id, parent, tenant, conversation, depth) AS (
    SELECT trace_id, span_id, response_id, parent_id, tenant, conversation, 0
    FROM spans WHERE response_id IS NOT NULL
    UNION ALL
    SELECT w.trace_id, w.span_id, w.response_id, p.parent_id,
           coalesce(w.tenant, p.tenant), coalesce(w.conversation, p.conversation), w.depth + 1
    FROM walk w JOIN spans p ON p.trace_id = w.trace_id AND p.span_id = w.parent
)
SELECT response_id, arg_max(coalesce(tenant, conversation, '(none)'), depth) AS tenant
FROM walk GROUP BY trace_id, span_id, response_id
""")

con.execute(f"CREATE TABLE prices AS SELECT * FROM read_csv('{pricing}', header = true)")
row = con.execute(f"""
WITH usage AS (SELECT * FROM read_csv('{month}/usage.csv', header = true, timestampformat = '%Y-%m-%dT%H:%M:%S.%gZ')),
priced AS (
    SELECT u.request_id, u.timestamp,
           u.uncached_input_tokens + u.cache_read_tokens + u.cache_write_5m_tokens + u.cache_write_1h_tokens AS prompt,
           u.*, p.*
    FROM usage u JOIN prices p
      ON p.provider = u.provider AND p.model = u.model
     AND CAST(u.timestamp AS DATE) >= p.effective_from AND CAST(u.timestamp AS DATE) < p.effective_to
    WHERE strftime(u.timestamp, '%Y-%m') = '2025-06'
),
cost AS (
    SELECT request_id,
        (CASE WHEN prompt > threshold THEN
            uncached_input_tokens * lc_input + cache_read_tokens * lc_cache_read + cache_write_5m_tokens * lc_cache_write_5m
            + cache_write_1h_tokens * lc_cache_write_1h + output_tokens * lc_output
         ELSE
            uncached_input_tokens * input + cache_read_tokens * cache_read + cache_write_5m_tokens * cache_write_5m
            + cache_write_1h_tokens * cache_write_1h + output_tokens * output
         END) / 1000000 * (CASE WHEN batch THEN batch_discount ELSE 1 END) AS usd
    FROM priced
),
by_tenant AS (
    SELECT coalesce(c.tenant, '(unattributed)') AS tenant, sum(cost.usd) AS usd
    FROM cost LEFT JOIN calls c ON c.response_id = cost.request_id
    GROUP BY 1
)
SELECT sum(usd), count(*) FROM by_tenant
""").fetchone()
print(f"total {row[0]:.6f} tenants {row[1]}")
