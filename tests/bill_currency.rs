//! A bill in another currency than the pricing table's: converted at the
//! rate the bill states (Google's, an Azure MCA export's), else at the
//! `--fx` rate given, one per currency; never at an implausible one.

use crate::cloud_bills::{cloud, reconcile};

#[test]
fn a_bill_in_another_currency_needs_the_rate_it_was_billed_at() {
    let wd = cloud("cloud-bills-currency");
    let stderr = wd.fail(&reconcile("usage/azure.csv", "azure-ea-eur.csv", &[]), 2);
    assert!(
        stderr.contains("azure-ea-eur.csv:2") && stderr.contains("--fx EUR="),
        "{stderr}"
    );
    wd.run(&reconcile(
        "usage/azure.csv",
        "azure-ea-eur.csv",
        &["--fx", "EUR=0.92"],
    ));
    let stderr = wd.fail(
        &reconcile("usage/azure.csv", "azure-ea-eur.csv", &["--fx", "EUR"]),
        2,
    );
    assert!(stderr.contains("expected CUR=RATE"), "{stderr}");
    // Two rates for one currency, or one no dollar amount can hold: refused
    // whatever the order (the second once panicked in the diagnosis).
    let stderr = wd.fail(
        &reconcile(
            "usage/azure.csv",
            "azure-ea-eur.csv",
            &["--fx", "EUR=0.5", "--fx", "EUR=0.92"],
        ),
        2,
    );
    assert!(stderr.contains("two rates, 0.5 and 0.92"), "{stderr}");
    let tiny = ["--fx", "EUR=0.0000000000000000000000000001"];
    let stderr = wd.fail(&reconcile("usage/azure.csv", "azure-ea-eur.csv", &tiny), 2);
    assert!(stderr.contains("beyond the plausible maximum"), "{stderr}");
}

#[test]
fn an_azure_mca_export_is_converted_at_the_rate_it_states() {
    // Billed in EUR, priced in USD at 0.92 EUR per USD: each row's
    // CostInPricingCurrency, as with --fx EUR=0.92 (1.695 USD in all).
    // Refused before, as stating no rate.
    let wd = cloud("cloud-bills-mca-rate");
    let header = "BillingAccountId,BillingPeriodStartDate,BillingPeriodEndDate,SubscriptionId,Date,ProductName,MeterCategory,MeterSubCategory,MeterName,Quantity,CostInBillingCurrency,CostInPricingCurrency,ExchangeRatePricingToBilling,ExchangeRateDate,BillingCurrencyCode,PricingCurrencyCode,ConsumedService,ChargeType,PublisherType,UnitOfMeasure\n";
    let rows = "\
         acct,2026-11-01,2026-11-30,sub-1,11/02/2026,Azure OpenAI,Foundry Models,Azure OpenAI,gpt-4o-mini-0718-Inp-glbl Tokens,1,0.276,0.30,0.92,2026-11-01,EUR,USD,Microsoft.CognitiveServices,Usage,Azure,1K\n\
         acct,2026-11-01,2026-11-30,sub-1,11/02/2026,Azure OpenAI,Foundry Models,Azure OpenAI,gpt 4o mini 0718 cached Inp glbl Tokens,1,0.069,0.075,0.92,2026-11-01,EUR,USD,Microsoft.CognitiveServices,Usage,Azure,1K\n\
         acct,2026-11-01,2026-11-30,sub-1,11/02/2026,Azure OpenAI,Foundry Models,Azure OpenAI,gpt-4o-mini-0718-Outp-glbl Tokens,1,0.1104,0.12,0.92,2026-11-01,EUR,USD,Microsoft.CognitiveServices,Usage,Azure,1K\n\
         acct,2026-11-01,2026-11-30,sub-1,11/03/2026,Azure OpenAI,Foundry Models,Azure OpenAI,5.4 mini Inp Gl 1M Tokens,1,0.69,0.75,0.92,2026-11-01,EUR,USD,Microsoft.CognitiveServices,Usage,Azure,1M\n\
         acct,2026-11-01,2026-11-30,sub-1,11/03/2026,Azure OpenAI,Foundry Models,Azure OpenAI,5.4 mini Opt Gl 1M Tokens,1,0.414,0.45,0.92,2026-11-01,EUR,USD,Microsoft.CognitiveServices,Usage,Azure,1M\n";
    wd.write("mca.csv", &format!("{header}{rows}"));
    wd.run(&reconcile("usage/azure.csv", "mca.csv", &[]));
    let csv = wd.read("out/reconciliation.csv");
    assert!(
        csv.contains("(usage total),,,,1.695000,1.695000,0.000000,0.00,ok,"),
        "{csv}"
    );
    // A rate of 0 where nothing is converted is no rate: read (refused once).
    let usd = rows.replace(",0.92,2026-11-01,EUR,USD,", ",0,2026-11-01,USD,USD,");
    assert_ne!(usd, rows);
    wd.write("mca.csv", &format!("{header}{usd}"));
    wd.run(&reconcile("usage/azure.csv", "mca.csv", &[]));
    // A rate from another pricing currency than the table's is no rate into
    // dollars: --fx is needed.
    wd.write(
        "mca.csv",
        &format!("{header}{}", rows.replace(",EUR,USD,", ",EUR,EUR,")),
    );
    let stderr = wd.fail(&reconcile("usage/azure.csv", "mca.csv", &[]), 2);
    assert!(stderr.contains("no exchange rate into USD"), "{stderr}");
}

/// A Gemini month of one record (1M input, 100k output tokens) and its
/// Google bill rows (0.30 and 0.25 USD, at Google's rate of 1.0 USD per
/// USD), with a table in EUR.
fn gcp_in_usd_priced_in_eur(name: &str) -> crate::workdir::Workdir {
    let wd = crate::workdir::Workdir::new(name);
    wd.write(
        "u.csv",
        "request_id,timestamp,provider,model,uncached_input_tokens,cache_read_tokens,cache_write_5m_tokens,cache_write_1h_tokens,output_tokens,batch\n\
         gc-1,2026-11-02T09:30:00Z,google,gemini-2.5-flash,1000000,0,0,0,100000,false\n",
    );
    wd.write(
        "eur.toml",
        "version = \"t\"\ncurrency = \"EUR\"\n[[model]]\nprovider = \"google\"\nmatch = [\"gemini-2.5-flash\"]\n\
         effective_from = 2025-01-01\ninput = 0.276\noutput = 2.30\ncache_read = 0.03\n\
         cache_write_5m = 0.30\ncache_write_1h = 0.30\n",
    );
    let row = |sku: &str, cost: &str| {
        format!(
            "{{\"service\":{{\"description\":\"Vertex AI\"}},\"sku\":{{\"description\":\"Gemini 2.5 Flash GA Text {sku} - Predictions\"}},\"usage_start_time\":\"2026-11-02 09:00:00 UTC\",\"usage_end_time\":\"2026-11-02 10:00:00 UTC\",\"cost\":{cost},\"currency\":\"USD\",\"currency_conversion_rate\":1.0,\"credits\":[],\"invoice\":{{\"month\":\"202611\"}},\"cost_type\":\"regular\"}}\n"
        )
    };
    wd.write(
        "bill.jsonl",
        &(row("Input", "0.30") + &row("Output", "0.25")),
    );
    wd
}

#[test]
fn googles_rate_is_per_us_dollar_so_a_table_in_another_currency_needs_fx() {
    // Google's currency_conversion_rate is the bill currency's per USD: it
    // was once taken as per EUR, reading 0.55 USD as 0.55 EUR and passing
    // over --fx USD=.
    let wd = gcp_in_usd_priced_in_eur("gcp-rate-eur-table");
    let args = [
        "reconcile",
        "--usage",
        "u.csv",
        "--invoice",
        "bill.jsonl",
        "--pricing",
        "eur.toml",
        "--period",
        "2026-11",
        "--out",
        "out",
    ];
    let stderr = wd.fail(&args, 2);
    assert!(stderr.contains("--fx USD="), "{stderr}");
    wd.run(&[&args[..], &["--fx", "USD=1.087"]].concat());
    let csv = wd.read("out/reconciliation.csv");
    assert!(
        csv.contains(",input,2026-11-02,0.276000,0.275989,")
            && csv.contains(",output,2026-11-02,0.230000,0.229991,"),
        "0.30 / 1.087 and 0.25 / 1.087 EUR: {csv}"
    );
}

#[test]
fn a_flattened_google_bill_without_its_credits_or_currency_is_refused() {
    // cost is before credits: a query that dropped them (or summed them
    // into a column of another name) would read the bill high, in silence.
    let wd = gcp_in_usd_priced_in_eur("gcp-csv-columns");
    let head = "service_description,sku_description,usage_start_time,usage_end_time,cost,currency,cost_type,invoice_month";
    let row = "Vertex AI,Gemini 2.5 Flash GA Text Input - Predictions,2026-11-02 09:00:00 UTC,2026-11-02 10:00:00 UTC,0.30,USD,regular,202611";
    let args = [
        "reconcile",
        "--usage",
        "u.csv",
        "--invoice",
        "bill.csv",
        "--period",
        "2026-11",
        "--out",
        "out",
    ];
    wd.write("bill.csv", &format!("{head},credits_amount\n{row},-0.30\n"));
    let stderr = wd.fail(&args, 2);
    assert!(
        stderr.contains("bill.csv:2") && stderr.contains("no credits column"),
        "{stderr}"
    );
    wd.write("bill.csv", &format!("{head},credits\n{row},[]\n"));
    // Read: the bill's input line alone drifts from the record's output.
    let stderr = wd.fail(&args, 1);
    assert!(stderr.contains("reconciliation drift"), "{stderr}");
    let no_currency = format!("{head},credits\n{row},[]\n")
        .replace(",currency,", ",")
        .replace(",USD,", ",");
    wd.write("bill.csv", &no_currency);
    let stderr = wd.fail(&args, 2);
    assert!(stderr.contains("currency"), "{stderr}");
}
