//! A small JSON tree for the OCDS export: objects keep their keys in the order written, so
//! the same ledger gives the same bytes, and numbers are kept as their decimal text, so an
//! amount never passes through a binary float (`serde_json` without `arbitrary_precision`
//! would round it through f64).

use crate::money::Money;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum J {
    Null,
    Bool(bool),
    /// A JSON number as written: decimal text such as `1200.50` or `-3`.
    Num(String),
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
}

impl J {
    pub fn obj() -> J {
        J::Obj(Vec::new())
    }

    pub fn s(text: impl Into<String>) -> J {
        J::Str(text.into())
    }

    pub fn int(n: i64) -> J {
        J::Num(n.to_string())
    }

    /// Yuan with two decimals, exact (`Money`'s own text).
    pub fn money(m: Money) -> J {
        J::Num(m.to_string())
    }

    /// Adds (or replaces) a key, keeping the order keys were first written in.
    pub fn set(&mut self, key: &str, value: J) -> &mut J {
        let J::Obj(fields) = self else {
            panic!("set on a non-object")
        };
        match fields.iter().position(|(k, _)| k == key) {
            Some(i) => fields[i].1 = value,
            None => fields.push((key.to_string(), value)),
        }
        self
    }

    /// `set` in a builder chain.
    pub fn with(mut self, key: &str, value: J) -> J {
        self.set(key, value);
        self
    }

    /// `with` when there is a value.
    pub fn with_opt(self, key: &str, value: Option<J>) -> J {
        match value {
            Some(v) => self.with(key, v),
            None => self,
        }
    }

    pub fn get(&self, key: &str) -> Option<&J> {
        match self {
            J::Obj(fields) => fields.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            J::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Compact JSON text.
    pub fn write(&self, out: &mut String) {
        match self {
            J::Null => out.push_str("null"),
            J::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            J::Num(n) => out.push_str(n),
            J::Str(s) => write_str(s, out),
            J::Arr(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    v.write(out);
                }
                out.push(']');
            }
            J::Obj(fields) => {
                out.push('{');
                for (i, (k, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_str(k, out);
                    out.push(':');
                    v.write(out);
                }
                out.push('}');
            }
        }
    }

    pub fn to_text(&self) -> String {
        let mut s = String::new();
        self.write(&mut s);
        s
    }
}

fn write_str(s: &str, out: &mut String) {
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Merges `release` into `compiled` by the OCDS 1.1 merge rules: objects field by field, a
/// `null` removes the field, an array whose items are all objects with an `id` is merged item
/// by item on the `id`, any other array or value replaces what was there.
pub fn merge(compiled: &mut J, release: &J) {
    let (J::Obj(_), J::Obj(fields)) = (&*compiled, release) else {
        *compiled = release.clone();
        return;
    };
    for (k, v) in fields {
        merge_field(compiled, k, v);
    }
}

fn merge_field(target: &mut J, key: &str, value: &J) {
    let J::Obj(fields) = target else {
        return;
    };
    let pos = fields.iter().position(|(k, _)| k == key);
    match (value, pos) {
        (J::Null, Some(i)) => {
            fields.remove(i);
        }
        (J::Null, None) => {}
        (J::Obj(_), Some(i)) if matches!(fields[i].1, J::Obj(_)) => merge(&mut fields[i].1, value),
        (J::Arr(items), Some(i))
            if identified(items) && matches!(&fields[i].1, J::Arr(old) if identified(old)) =>
        {
            let J::Arr(old) = &mut fields[i].1 else {
                unreachable!()
            };
            for item in items {
                let id = item.get("id");
                match old.iter_mut().find(|o| o.get("id") == id) {
                    Some(o) => merge(o, item),
                    None => {
                        let mut fresh = J::obj();
                        merge(&mut fresh, item);
                        old.push(fresh);
                    }
                }
            }
        }
        (_, Some(i)) => fields[i].1 = strip_nulls(value),
        (_, None) => fields.push((key.to_string(), strip_nulls(value))),
    }
}

fn identified(items: &[J]) -> bool {
    items
        .iter()
        .all(|i| matches!(i, J::Obj(_)) && i.get("id").is_some())
}

fn strip_nulls(v: &J) -> J {
    match v {
        J::Obj(_) => {
            let mut fresh = J::obj();
            merge(&mut fresh, v);
            fresh
        }
        other => other.clone(),
    }
}
