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
