//! A `TracesData` line read down to each span's JSON text in one pass,
//! every other member kept as it was written.

use std::marker::PhantomData;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

/// The members of an OTLP object that lead to spans (`K::KEYS`), parsed
/// as `N`; its other members kept as they were written, in order.
pub(super) struct Obj<'a, N, K> {
    members: Vec<(String, Member<'a, N>)>,
    keys: PhantomData<K>,
}

pub(super) enum Member<'a, N> {
    Raw(&'a RawValue),
    /// `None` for `null`.
    Parsed(Option<N>),
}

/// The member names that lead down to spans.
pub(super) trait Keys {
    const KEYS: &'static [&'static str];
}

/// A resource's scopes (`instrumentationLibrarySpans` before OTLP 1.0).
pub(super) struct ResourceKeys;
impl Keys for ResourceKeys {
    const KEYS: &'static [&'static str] = &["scopeSpans", "instrumentationLibrarySpans"];
}

/// A scope's spans.
pub(super) struct ScopeKeys;
impl Keys for ScopeKeys {
    const KEYS: &'static [&'static str] = &["spans"];
}

pub(super) type Scope<'a> = Obj<'a, Vec<&'a RawValue>, ScopeKeys>;
pub(super) type Resource<'a> = Obj<'a, Vec<Scope<'a>>, ResourceKeys>;

/// A `TracesData` line, down to each span's JSON text, in one pass over the
/// line. Members that hold no spans (`resourceLogs`) are skipped.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Top<'a> {
    #[serde(borrow)]
    pub(super) resource_spans: Option<Vec<Resource<'a>>>,
    #[serde(borrow)]
    pub(super) batches: Option<Vec<Resource<'a>>>,
    #[serde(borrow)]
    pub(super) trace: Option<Box<Top<'a>>>,
    #[serde(borrow)]
    pub(super) result: Option<Box<Top<'a>>>,
}

impl<'de: 'a, 'a, N: Deserialize<'de>, K: Keys> Deserialize<'de> for Obj<'a, N, K> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V<'a, N, K>(PhantomData<(&'a (), N, K)>);
        impl<'de: 'a, 'a, N: Deserialize<'de>, K: Keys> Visitor<'de> for V<'a, N, K> {
            type Value = Obj<'a, N, K>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Self::Value, A::Error> {
                let mut members = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    let value = if K::KEYS.contains(&key.as_str()) {
                        Member::Parsed(map.next_value()?)
                    } else {
                        Member::Raw(map.next_value::<&'a RawValue>()?)
                    };
                    members.push((key, value));
                }
                Ok(Obj {
                    members,
                    keys: PhantomData,
                })
            }
        }
        d.deserialize_map(V(PhantomData))
    }
}

impl<N, K> Obj<'_, N, K> {
    /// The member leading to spans, and its place.
    pub(super) fn nested(&self) -> Option<(usize, &N)> {
        self.members
            .iter()
            .enumerate()
            .find_map(|(i, (_, m))| match m {
                Member::Parsed(Some(n)) => Some((i, n)),
                _ => None,
            })
    }

    /// The object as written, with member `at` replaced by `key` and what
    /// `value` writes.
    pub(super) fn write_with(
        &self,
        at: usize,
        key: &str,
        out: &mut Vec<u8>,
        value: impl FnOnce(&mut Vec<u8>),
    ) {
        out.push(b'{');
        let mut value = Some(value);
        for (i, (k, m)) in self.members.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            let k = if i == at { key } else { k.as_str() };
            serde_json::to_writer(&mut *out, k).expect("writing to memory");
            out.push(b':');
            match m {
                _ if i == at => (value.take().expect("one member replaced"))(out),
                Member::Raw(raw) => out.extend_from_slice(raw.get().as_bytes()),
                Member::Parsed(_) => out.extend_from_slice(b"null"),
            }
        }
        out.push(b'}');
    }
}
