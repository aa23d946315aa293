//! Integration tests. Every test runs the real `tokenledger` binary on files
//! in a fresh temporary directory and checks its exact output.

mod workdir;

mod allocation;
mod allocation_owners;
mod answers;
mod bad_spans;
mod bill_currency;
mod bill_overlap;
mod bill_shapes;
mod budgets;
mod choices;
mod cli;
mod cloud_bills;
mod cloud_meters;
mod coding_agent_logs;
mod config;
mod coverage;
mod diff;
mod errors;
mod formats;
mod gates;
mod handmade;
mod hardening;
mod inputs;
mod library_spans;
mod matrix;
mod model_calls;
mod model_splits;
mod month_to_date;
mod ownership;
mod paged_exports;
#[cfg(feature = "parquet")]
mod parquet;
mod partition;
mod pricing;
mod pricing_by_time;
mod pricing_modalities;
mod pricing_table;
mod property;
mod real_fixtures;
mod reconcile;
mod reconcile_month;
mod released_facts;
mod safety;
mod samples;
mod shard;
mod shipped_rates;
mod simulate;
mod spark;
mod spill;
mod spreadsheet_saved;
mod telemetry;
mod true_up_charges;
mod trust;
