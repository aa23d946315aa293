//! Real telemetry: span exports of real instrumentation libraries attribute
//! as a person reading the spans would (fixtures in tests/fixtures/real/).
